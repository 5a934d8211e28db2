"""Who may call what: every API route, classified, tried by every kind of caller.

The table `ACCESS` names each route's audience; `test_every_route_is_classified` reads the
routes from the app itself, so a new route fails the suite until someone decides who may
call it. Then each caller tries every route it may not call and must be refused without
changing a single row: anonymous callers get 401, customers 403 on operator routes,
auditors 403 on changing operator routes, staff 403 on a customer's account. Another
customer's order answers 404 exactly like an order that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from enum import Enum
from typing import Any

import pytest
from api_client import Api, Headers, assert_problem, open_api, snapshot
from fastapi.routing import iter_route_contexts


class Audience(Enum):
    PUBLIC = "anyone, signed in or not"
    SIGNED_IN = "any signed-in user"
    CUSTOMER = "customers, on their own account"
    STAFF = "operators and auditors (reading)"
    OPERATOR = "operators only (changing)"


A = Audience
ACCESS: dict[tuple[str, str], Audience] = {
    ("GET", "/openapi.json"): A.PUBLIC,
    ("GET", "/api/docs"): A.PUBLIC,
    ("GET", "/docs/oauth2-redirect"): A.PUBLIC,
    ("GET", "/healthz"): A.PUBLIC,
    ("GET", "/readyz"): A.PUBLIC,
    ("GET", "/metrics"): A.PUBLIC,
    ("POST", "/api/v1/users"): A.PUBLIC,
    ("POST", "/api/v1/sessions"): A.PUBLIC,
    ("GET", "/api/v1/funds"): A.PUBLIC,
    ("GET", "/api/v1/funds/{fund_code}/yields"): A.PUBLIC,
    ("DELETE", "/api/v1/sessions/current"): A.SIGNED_IN,
    ("GET", "/api/v1/me"): A.SIGNED_IN,
    ("POST", "/api/v1/me/password"): A.SIGNED_IN,
    ("GET", "/api/v1/account"): A.CUSTOMER,
    ("GET", "/api/v1/account/income"): A.CUSTOMER,
    ("GET", "/api/v1/account/orders"): A.CUSTOMER,
    ("GET", "/api/v1/account/orders/{order_id}"): A.CUSTOMER,
    ("GET", "/api/v1/account/redemption-quote"): A.CUSTOMER,
    ("POST", "/api/v1/account/purchases"): A.CUSTOMER,
    ("POST", "/api/v1/account/redemptions"): A.CUSTOMER,
    ("POST", "/api/v1/account/switch"): A.CUSTOMER,
    ("POST", "/api/v1/ops/funds/{fund_code}/income"): A.OPERATOR,
    ("POST", "/api/v1/ops/funds"): A.OPERATOR,
    ("GET", "/api/v1/ops/advance-pool"): A.STAFF,
    ("POST", "/api/v1/ops/advance-pool"): A.OPERATOR,
    ("POST", "/api/v1/ops/close-jobs"): A.OPERATOR,
    ("GET", "/api/v1/ops/close-jobs"): A.STAFF,
    ("GET", "/api/v1/ops/close-jobs/{job_id}"): A.STAFF,
    ("GET", "/api/v1/ops/close-status"): A.STAFF,
    ("GET", "/api/v1/ops/funds/{fund_code}/reports"): A.STAFF,
    ("GET", "/api/v1/ops/instant-limits"): A.STAFF,
    ("PUT", "/api/v1/ops/instant-limits"): A.OPERATOR,
    ("GET", "/api/v1/ops/audit"): A.STAFF,
    ("GET", "/api/v1/ops/users"): A.STAFF,
    ("POST", "/api/v1/ops/demo-clock"): A.OPERATOR,
    ("POST", "/api/v1/ops/reconciliation/{source}"): A.OPERATOR,
    ("GET", "/api/v1/ops/reconciliation"): A.STAFF,
    ("GET", "/api/v1/ops/reconciliation/{run_id}"): A.STAFF,
    ("GET", "/api/v1/checkout/{order_no}"): A.CUSTOMER,
    ("POST", "/api/v1/checkout/{order_no}/pay"): A.CUSTOMER,
    ("POST", "/api/v1/merchants"): A.SIGNED_IN,
    ("GET", "/api/v1/merchants"): A.SIGNED_IN,
    ("GET", "/api/v1/ops/merchants"): A.STAFF,
    ("POST", "/api/v1/ops/merchants/{merchant_id}/approve"): A.OPERATOR,
    ("POST", "/api/v1/ops/merchants/{merchant_id}/reject"): A.OPERATOR,
    ("GET", "/api/v1/ops/payment-limit"): A.STAFF,
    ("PUT", "/api/v1/ops/payment-limit"): A.OPERATOR,
    ("GET", "/api/v1/ops/notifications"): A.STAFF,
    ("POST", "/api/v1/ops/notifications/{event_id}/resend"): A.OPERATOR,
    ("POST", "/api/v1/ops/settlements/{business_date}"): A.OPERATOR,
    ("GET", "/api/v1/credit/consents"): A.CUSTOMER,
    ("POST", "/api/v1/credit/consents"): A.CUSTOMER,
    ("DELETE", "/api/v1/credit/consents/{purpose}"): A.CUSTOMER,
    ("POST", "/api/v1/credit/events"): A.CUSTOMER,
    ("GET", "/api/v1/credit/events"): A.CUSTOMER,
    ("DELETE", "/api/v1/credit/events"): A.CUSTOMER,
    ("POST", "/api/v1/credit/score"): A.CUSTOMER,
    ("GET", "/api/v1/credit/decisions"): A.CUSTOMER,
    ("POST", "/api/v1/credit/decisions/{decision_id}/review"): A.CUSTOMER,
    ("GET", "/api/v1/ops/credit/models"): A.STAFF,
    ("PUT", "/api/v1/ops/credit/models/{version}/status"): A.OPERATOR,
    ("GET", "/api/v1/ops/credit/reviews"): A.STAFF,
    ("GET", "/api/v1/ops/credit/monitoring"): A.STAFF,
    ("POST", "/api/v1/ops/credit/reviews/{review_id}"): A.OPERATOR,
}
# Outside /api/ the web app's HTML pages live; they have tests of their own.
OPERATIONS = {"/openapi.json", "/docs/oauth2-redirect", "/healthz", "/readyz", "/metrics"}


def api_routes(api: Api) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(api.app.routes):
        path = route.path or ""
        if not (path.startswith("/api/") or path in OPERATIONS):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, path))
    return found


# One request per route, valid in every other respect, so the only reason to refuse it
# is who sends it. ``ids`` holds the objects the requests name.
Sample = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]
CSV = "date,income_per_10k\n2025-06-05,0.6512\n"
ORDER_NO = "HQ250605" + "0" * 12
CREDIT_EVENT = {
    "kind": "app_session",
    "event_id": "access-1",
    "at": "2025-06-05T01:00:00Z",
    "app_category": "tools",
    "minutes": 3,
}


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f"access-{name}"}


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/openapi.json"): lambda ids: ("/openapi.json", {}),
    ("GET", "/api/docs"): lambda ids: ("/api/docs", {}),
    ("GET", "/docs/oauth2-redirect"): lambda ids: ("/docs/oauth2-redirect", {}),
    ("GET", "/healthz"): lambda ids: ("/healthz", {}),
    ("GET", "/readyz"): lambda ids: ("/readyz", {}),
    ("GET", "/metrics"): lambda ids: ("/metrics", {}),
    ("POST", "/api/v1/users"): lambda ids: (
        "/api/v1/users",
        {"json": {"phone": "13600000042", "password": "a good long password 7"}},
    ),
    ("POST", "/api/v1/sessions"): lambda ids: (
        "/api/v1/sessions",
        {"json": {"phone": "13800000001", "password": "huoqi-demo-customer"}},
    ),
    ("GET", "/api/v1/funds"): lambda ids: ("/api/v1/funds", {}),
    ("GET", "/api/v1/funds/{fund_code}/yields"): lambda ids: ("/api/v1/funds/HQ001/yields", {}),
    ("DELETE", "/api/v1/sessions/current"): lambda ids: ("/api/v1/sessions/current", {}),
    ("GET", "/api/v1/me"): lambda ids: ("/api/v1/me", {}),
    ("POST", "/api/v1/me/password"): lambda ids: (
        "/api/v1/me/password",
        {"json": {"current_password": "huoqi-demo-customer", "new_password": "another one 99"}},
    ),
    ("GET", "/api/v1/account"): lambda ids: ("/api/v1/account", {}),
    ("GET", "/api/v1/account/income"): lambda ids: ("/api/v1/account/income", {}),
    ("GET", "/api/v1/account/orders"): lambda ids: ("/api/v1/account/orders", {}),
    ("GET", "/api/v1/account/orders/{order_id}"): lambda ids: (
        f"/api/v1/account/orders/{ids['order']}",
        {},
    ),
    ("GET", "/api/v1/account/redemption-quote"): lambda ids: (
        "/api/v1/account/redemption-quote",
        {"params": {"amount": "1.00"}},
    ),
    ("POST", "/api/v1/account/purchases"): lambda ids: (
        "/api/v1/account/purchases",
        {"json": {"amount": "5.00"}, "headers": _key("buy")},
    ),
    ("POST", "/api/v1/account/redemptions"): lambda ids: (
        "/api/v1/account/redemptions",
        {"json": {"amount": "1.00", "mode": "normal"}, "headers": _key("redeem")},
    ),
    ("POST", "/api/v1/account/switch"): lambda ids: (
        "/api/v1/account/switch",
        {"json": {"fund_code": "HQ002"}, "headers": _key("switch")},
    ),
    ("POST", "/api/v1/ops/funds/{fund_code}/income"): lambda ids: (
        "/api/v1/ops/funds/HQ001/income",
        {"content": CSV.encode(), "headers": {"Content-Type": "text/csv"}},
    ),
    ("POST", "/api/v1/ops/funds"): lambda ids: (
        "/api/v1/ops/funds",
        {"json": {"code": "HQ009", "name": "Huoqi Test Fund"}},
    ),
    ("GET", "/api/v1/ops/advance-pool"): lambda ids: ("/api/v1/ops/advance-pool", {}),
    ("POST", "/api/v1/ops/advance-pool"): lambda ids: (
        "/api/v1/ops/advance-pool",
        {"json": {"amount": "100.00"}, "headers": _key("pool")},
    ),
    ("POST", "/api/v1/ops/close-jobs"): lambda ids: (
        "/api/v1/ops/close-jobs",
        {"json": {"through": "2025-06-04"}},
    ),
    ("GET", "/api/v1/ops/close-jobs"): lambda ids: ("/api/v1/ops/close-jobs", {}),
    ("GET", "/api/v1/ops/close-jobs/{job_id}"): lambda ids: (
        f"/api/v1/ops/close-jobs/{ids['job']}",
        {},
    ),
    ("GET", "/api/v1/ops/close-status"): lambda ids: ("/api/v1/ops/close-status", {}),
    ("GET", "/api/v1/ops/funds/{fund_code}/reports"): lambda ids: (
        "/api/v1/ops/funds/HQ001/reports",
        {},
    ),
    ("GET", "/api/v1/ops/instant-limits"): lambda ids: ("/api/v1/ops/instant-limits", {}),
    ("PUT", "/api/v1/ops/instant-limits"): lambda ids: (
        "/api/v1/ops/instant-limits",
        {"json": {"per_customer_daily": "1.00"}},
    ),
    ("GET", "/api/v1/ops/audit"): lambda ids: ("/api/v1/ops/audit", {}),
    ("GET", "/api/v1/ops/users"): lambda ids: ("/api/v1/ops/users", {}),
    ("POST", "/api/v1/ops/demo-clock"): lambda ids: (
        "/api/v1/ops/demo-clock",
        {"json": {"days": 1}},
    ),
    ("POST", "/api/v1/ops/reconciliation/{source}"): lambda ids: (
        "/api/v1/ops/reconciliation/bank",
        {
            "content": b"value_date,direction,amount,reference,memo\n2025-06-05,CR,1.00,R1,\n",
            "headers": {"Content-Type": "text/csv"},
        },
    ),
    ("GET", "/api/v1/ops/reconciliation"): lambda ids: ("/api/v1/ops/reconciliation", {}),
    ("GET", "/api/v1/ops/reconciliation/{run_id}"): lambda ids: (
        f"/api/v1/ops/reconciliation/{ids.get('run', 1)}",
        {},
    ),
    ("GET", "/api/v1/checkout/{order_no}"): lambda ids: (f"/api/v1/checkout/{ORDER_NO}", {}),
    ("POST", "/api/v1/checkout/{order_no}/pay"): lambda ids: (
        f"/api/v1/checkout/{ORDER_NO}/pay",
        {"json": {"method": "balance"}, "headers": _key("pay")},
    ),
    ("POST", "/api/v1/merchants"): lambda ids: (
        "/api/v1/merchants",
        {"json": {"name": "Tea House", "callback_url": "http://127.0.0.1:9/notify"}},
    ),
    ("GET", "/api/v1/merchants"): lambda ids: ("/api/v1/merchants", {}),
    ("GET", "/api/v1/ops/merchants"): lambda ids: ("/api/v1/ops/merchants", {}),
    ("POST", "/api/v1/ops/merchants/{merchant_id}/approve"): lambda ids: (
        "/api/v1/ops/merchants/M00000001/approve",
        {"json": {}},
    ),
    ("POST", "/api/v1/ops/merchants/{merchant_id}/reject"): lambda ids: (
        "/api/v1/ops/merchants/M00000001/reject",
        {"json": {}},
    ),
    ("GET", "/api/v1/ops/payment-limit"): lambda ids: ("/api/v1/ops/payment-limit", {}),
    ("PUT", "/api/v1/ops/payment-limit"): lambda ids: (
        "/api/v1/ops/payment-limit",
        {"json": {"payment_daily_limit": "1.00"}},
    ),
    ("GET", "/api/v1/ops/notifications"): lambda ids: ("/api/v1/ops/notifications", {}),
    ("POST", "/api/v1/ops/notifications/{event_id}/resend"): lambda ids: (
        f"/api/v1/ops/notifications/EV{'0' * 24}/resend",
        {},
    ),
    ("POST", "/api/v1/ops/settlements/{business_date}"): lambda ids: (
        "/api/v1/ops/settlements/2025-06-04",
        {},
    ),
    ("GET", "/api/v1/credit/consents"): lambda ids: ("/api/v1/credit/consents", {}),
    ("POST", "/api/v1/credit/consents"): lambda ids: (
        "/api/v1/credit/consents",
        {"json": {"purpose": "location", "policy_version": 1}},
    ),
    ("DELETE", "/api/v1/credit/consents/{purpose}"): lambda ids: (
        "/api/v1/credit/consents/location",
        {},
    ),
    ("POST", "/api/v1/credit/events"): lambda ids: (
        "/api/v1/credit/events",
        {"json": {"events": [CREDIT_EVENT]}},
    ),
    ("GET", "/api/v1/credit/events"): lambda ids: ("/api/v1/credit/events", {}),
    ("DELETE", "/api/v1/credit/events"): lambda ids: ("/api/v1/credit/events", {}),
    ("POST", "/api/v1/credit/score"): lambda ids: ("/api/v1/credit/score", {}),
    ("GET", "/api/v1/credit/decisions"): lambda ids: ("/api/v1/credit/decisions", {}),
    ("POST", "/api/v1/credit/decisions/{decision_id}/review"): lambda ids: (
        "/api/v1/credit/decisions/1/review",
        {"json": {"reason": "please look again"}},
    ),
    ("GET", "/api/v1/ops/credit/models"): lambda ids: ("/api/v1/ops/credit/models", {}),
    ("PUT", "/api/v1/ops/credit/models/{version}/status"): lambda ids: (
        "/api/v1/ops/credit/models/scorecard-1/status",
        {"json": {"status": "retired"}},
    ),
    ("GET", "/api/v1/ops/credit/reviews"): lambda ids: ("/api/v1/ops/credit/reviews", {}),
    ("GET", "/api/v1/ops/credit/monitoring"): lambda ids: ("/api/v1/ops/credit/monitoring", {}),
    ("POST", "/api/v1/ops/credit/reviews/{review_id}"): lambda ids: (
        "/api/v1/ops/credit/reviews/1",
        {"json": {"changed": False, "outcome": "the score stands"}},
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two customers with orders, the demo staff, and a finished close job.

    Module-scoped: every test here only sends requests that must be refused or only
    read, and checks that the database is unchanged afterwards.
    """
    from huoqi.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('access')}/huoqi.db"
    upgrade(url)
    with open_api(url) as api:
        a = api.new_customer("13600000001")
        b = api.new_customer("13600000002")
        a_orders = [api.buy(a, "10.00", f"a{n}")["id"] for n in range(2)]
        b_orders = [api.buy(b, "20.00", f"b{n}")["id"] for n in range(2)]
        operator = api.demo("operator")
        job = api.close_through(operator, date(2025, 6, 4))  # nothing to close yet
        reconciled = api.client.post(  # run 1, which the reconciliation samples read
            "/api/v1/ops/reconciliation/fund",
            content=b"confirm_date,fund_code,kind,reference,amount\n",
            params={"business_date": "2025-06-05"},
            headers={**operator, "Content-Type": "text/csv"},
        )
        assert reconciled.status_code == 201 and reconciled.json()["id"] == 1, reconciled.text
        yield {
            "api": api,
            "a": a,
            "b": b,
            "a_orders": a_orders,
            "b_orders": b_orders,
            "operator": operator,
            "auditor": api.demo("auditor"),
            "job": job["id"],
        }


def send(api: Api, route: tuple[str, str], headers: Headers, ids: dict[str, Any]) -> Any:
    method, _path = route
    url, options = SAMPLES[route](ids)
    options = dict(options)
    options["headers"] = {**options.get("headers", {}), **headers}
    return api.client.request(method, url, **options)


def routes_for(*audiences: Audience) -> list[tuple[str, str]]:
    return sorted(route for route, audience in ACCESS.items() if audience in audiences)


def test_every_route_is_classified(world: dict[str, Any]) -> None:
    found = api_routes(world["api"])
    assert found - ACCESS.keys() == set(), "classify these routes in ACCESS"
    assert ACCESS.keys() - found == set(), "these classified routes no longer exist"
    assert SAMPLES.keys() == ACCESS.keys()


def test_anonymous_is_refused_everywhere_but_the_public_routes(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    api.client.cookies.clear()
    before = snapshot(api.engine)
    ids = {"order": world["a_orders"][0], "job": world["job"]}
    for route in routes_for(A.SIGNED_IN, A.CUSTOMER, A.STAFF, A.OPERATOR):
        assert_problem(send(api, route, {}, ids), 401, "unauthenticated")
        # a token that was never issued is no better than none
        bogus = {"Authorization": "Bearer not-a-token-we-gave-out"}
        assert_problem(send(api, route, bogus, ids), 401, "unauthenticated")
        assert_problem(
            send(api, route, {"Authorization": "Basic eDp5"}, ids), 401, "unauthenticated"
        )
    assert snapshot(api.engine) == before


def test_public_routes_answer_without_signing_in(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    api.client.cookies.clear()
    ids = {"order": 0, "job": 0}
    for route in routes_for(A.PUBLIC):
        answer = send(api, route, {}, ids)
        assert answer.status_code in (200, 201), (route, answer.text)


def test_customers_are_refused_every_operator_route(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    before = snapshot(api.engine)
    ids = {"order": world["a_orders"][0], "job": world["job"]}
    for route in routes_for(A.STAFF, A.OPERATOR):
        body = assert_problem(send(api, route, world["a"], ids), 403, "forbidden")
        assert "operator" in body["detail"]
    assert snapshot(api.engine) == before


def test_auditors_read_but_do_not_change(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    before = snapshot(api.engine)
    ids = {"order": world["a_orders"][0], "job": world["job"]}
    for route in routes_for(A.STAFF):
        answer = send(api, route, world["auditor"], ids)
        assert answer.status_code == 200, (route, answer.text)
    for route in routes_for(A.OPERATOR):
        assert route[0] in ("POST", "PUT")
        assert_problem(send(api, route, world["auditor"], ids), 403, "forbidden")
    assert snapshot(api.engine) == before


def test_staff_have_no_current_account(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    before = snapshot(api.engine)
    ids = {"order": world["a_orders"][0], "job": world["job"]}
    for who in ("operator", "auditor"):
        for route in routes_for(A.CUSTOMER):
            assert_problem(send(api, route, world[who], ids), 403, "forbidden")
    assert snapshot(api.engine) == before


def test_every_signed_in_role_may_ask_who_it_is(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    for who, role in (("a", "customer"), ("operator", "operator"), ("auditor", "auditor")):
        answer = api.client.get("/api/v1/me", headers=world[who])
        assert answer.status_code == 200
        assert answer.json()["role"] == role


def _shape(body: dict[str, Any], order_id: int) -> dict[str, Any]:
    """The body with the asked-for id taken out: what tells one refusal from another."""
    shown = re.sub(rf"\b{order_id}\b", "ID", repr(body))
    return {"keys": sorted(body), "text": shown}


def test_another_customers_order_is_not_found_like_a_missing_one(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    before = snapshot(api.engine)
    missing = 999_999
    absent = assert_problem(
        api.client.get(f"/api/v1/account/orders/{missing}", headers=world["a"]),
        404,
        "unknown_order",
    )
    for theirs in world["b_orders"]:
        answer = api.client.get(f"/api/v1/account/orders/{theirs}", headers=world["a"])
        body = assert_problem(answer, 404, "unknown_order")
        assert _shape(body, theirs) == _shape(absent, missing)
        assert "20.00" not in answer.text
    for huge in (2**63, 10**20):  # larger than any id a database column holds
        assert_problem(
            api.client.get(f"/api/v1/account/orders/{huge}", headers=world["a"]),
            422,
            "invalid_input",
        )
    for mine in world["a_orders"]:
        assert (
            api.client.get(f"/api/v1/account/orders/{mine}", headers=world["a"]).status_code == 200
        )
    listed = api.client.get("/api/v1/account/orders", headers=world["a"]).json()["items"]
    assert sorted(item["id"] for item in listed) == sorted(world["a_orders"])
    assert snapshot(api.engine) == before


def test_a_staff_read_of_an_unknown_job_is_404(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    assert_problem(
        api.client.get("/api/v1/ops/close-jobs/424242", headers=world["auditor"]),
        404,
        "unknown_job",
    )
    assert_problem(
        api.client.get("/api/v1/ops/funds/NOPE/reports", headers=world["auditor"]),
        404,
        "unknown_fund",
    )
