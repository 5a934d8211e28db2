"""What operations and API clients rely on: health, readiness, metrics, the OpenAPI file,
request ids, and problem documents for FastAPI's own refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_client import Api, assert_problem, open_api
from test_api_access import ACCESS


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    with open_api(sqlite_url) as opened:
        yield opened


def test_healthz_and_readyz(api: Api) -> None:
    health = api.client.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    ready = api.client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready")


def test_readyz_refuses_a_database_without_the_schema(tmp_path: Path) -> None:
    with open_api(f"sqlite:///{tmp_path}/empty.db", prepare_demo=False) as api:
        assert api.client.get("/healthz").status_code == 200
        ready = api.client.get("/readyz")
        assert ready.status_code == 503
        assert "database unavailable" in ready.text


def test_metrics_count_requests_by_route_template(api: Api) -> None:
    customer = api.demo("customer")
    order = api.buy(customer, "5.00", "m-1")
    for _ in range(2):
        api.client.get(f"/api/v1/account/orders/{order['id']}", headers=customer)
    api.client.get("/api/v1/account/orders/424242", headers=customer)
    api.client.get("/no/such/path")
    text = api.client.get("/metrics").text
    template = 'route="/api/v1/account/orders/{order_id}"'

    def requests(status: str) -> float:
        pattern = (
            rf'huoqi_http_requests_total\{{method="GET",{re.escape(template)},'
            rf'status="{status}"\}} (\S+)'
        )
        found = re.search(pattern, text)
        assert found, text
        return float(found[1])

    assert requests("200") == 2
    assert requests("404") == 1
    assert f"/api/v1/account/orders/{order['id']}" not in text  # never the raw path
    assert 'route="unmatched"' in text
    assert "huoqi_http_request_duration_seconds_bucket" in text


def test_every_answer_carries_a_request_id(api: Api) -> None:
    ids = {api.client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_framework_refusals_are_problem_documents(api: Api) -> None:
    assert_problem(api.client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_problem(api.client.delete("/api/v1/funds"), 405, "method_not_allowed")
    broken = api.client.post(
        "/api/v1/sessions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(broken, 422, "invalid_input")
    undecodable = api.client.post(
        "/api/v1/sessions", content=b"\xff\xfe\x0b", headers={"Content-Type": "application/json"}
    )
    assert_problem(undecodable, 400, "bad_request")


def test_openapi_describes_every_api_route(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Huoqi"
    described = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    wanted = {route for route in ACCESS if route[1].startswith("/api/v1/")}
    assert wanted <= described
    paths = spec["paths"]
    money_moving = paths["/api/v1/account/purchases"]["post"]
    headers = [p["name"] for p in money_moving["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
    statuses = set(money_moving["responses"])
    assert statuses == {"201", "400", "401", "403", "409", "413", "422"}
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and path.startswith("/api/"):
                    assert response["content"], (method, path, status)
    problem = {"$ref": "#/components/schemas/Problem"}
    assert money_moving["responses"]["422"]["content"] == {
        "application/problem+json": {"schema": problem}
    }
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    # who can be refused with what follows from each route's dependencies
    assert "401" not in paths["/api/v1/funds"]["get"]["responses"]
    assert "403" not in paths["/api/v1/me"]["get"]["responses"]
    assert {"401", "403"} <= set(paths["/api/v1/sessions/current"]["delete"]["responses"])
    assert {"401", "403"} <= set(paths["/api/v1/ops/audit"]["get"]["responses"])
    assert {"401", "423", "429"} <= set(paths["/api/v1/sessions"]["post"]["responses"])
    assert "404" in paths["/api/v1/account/orders/{order_id}"]["get"]["responses"]
    income_refused = paths["/api/v1/ops/funds/{fund_code}/income"]["post"]["responses"]["422"]
    assert income_refused["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IncomeReportOut"
    }
