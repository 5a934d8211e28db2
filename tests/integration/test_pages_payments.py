"""The console's payments page: operators approve merchants (the secret shows once), set
the limit and settle; auditors only look; forged forms change nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_client import Api, open_api, snapshot


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    with open_api(sqlite_url) as api:
        yield api


def _apply(api: Api) -> str:
    customer = api.new_customer("13600000021")
    answer = api.client.post(
        "/api/v1/merchants",
        headers=customer,
        json={"name": "Noodle Bar", "callback_url": "http://127.0.0.1:9/n"},
    )
    assert answer.status_code == 201, answer.text
    code: str = answer.json()["merchant_id"]
    return code


def test_an_operator_approves_an_application_and_sees_the_secret_once(api: Api) -> None:
    code = _apply(api)
    csrf = api.cookie_session("13900000001")
    page = api.client.get("/console/payments", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Noodle Bar" in page.text and f"approve-{code}" in page.text
    forged = api.client.post(
        f"/console/payments/merchants/{code}/approve",
        data={"csrf_token": "forged", "fee_rate_bp": "60"},
    )
    assert forged.status_code == 403
    bad = api.client.post(
        f"/console/payments/merchants/{code}/approve",
        data={"csrf_token": csrf, "fee_rate_bp": "6%"},
    )
    assert bad.status_code == 422
    done = api.client.post(
        f"/console/payments/merchants/{code}/approve",
        data={"csrf_token": csrf, "fee_rate_bp": "45"},
        headers={"Accept-Language": "en"},
    )
    assert done.status_code == 200 and "shown once" in done.text
    secret = done.text.split(f"{code}: ")[1].split("<")[0]
    listed = api.client.get("/api/v1/ops/merchants", headers=api.demo("operator")).json()
    assert [(m["merchant_id"], m["status"], m["fee_rate_bp"]) for m in listed] == [
        (code, "active", 45)
    ]
    again = api.client.get("/console/payments")
    assert secret not in again.text
    limit = api.client.post(
        "/console/payments/limit",
        data={"csrf_token": csrf, "limit": "123.45"},
        follow_redirects=False,
    )
    assert limit.status_code == 303
    shown = api.client.get("/api/v1/ops/payment-limit", headers=api.demo("operator")).json()
    assert shown["payment_daily_limit"]["fen"] == 12_345


def test_auditors_see_the_page_but_change_nothing(api: Api) -> None:
    code = _apply(api)
    csrf = api.cookie_session("13700000001")
    page = api.client.get("/console/payments")
    assert page.status_code == 200 and "Noodle Bar" in page.text
    assert f"approve-{code}" not in page.text
    before = snapshot(api.engine)
    for path, data in (
        (f"/console/payments/merchants/{code}/approve", {"fee_rate_bp": "60"}),
        ("/console/payments/limit", {"limit": "1.00"}),
        ("/console/payments/settle", {"date": "2025-06-04"}),
    ):
        answer = api.client.post(path, data={"csrf_token": csrf, **data})
        assert answer.status_code == 403, path
    assert snapshot(api.engine) == before
