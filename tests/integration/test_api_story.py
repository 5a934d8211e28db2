"""A customer's first week through the HTTP API, with the operator who runs the fund.

Sign up on Thursday 2025-06-05 at 10:00, buy, see the order with its dates; the operator
publishes the fund's income, moves the demo clock to Saturday and closes through Friday;
the customer then sees Friday's income and the 7-day yield, redeems instantly within the
day's limit, and the operator's audit log and user look-up show what happened and who did
it, with phone numbers masked. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from api_client import PASSWORD, Api, open_api

PHONE = "13600000005"


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with open_api(db_url) as opened:
        yield opened


def test_first_week(api: Api) -> None:
    client = api.client
    signed_up = client.post(
        "/api/v1/users", json={"phone": PHONE, "password": PASSWORD, "display_name": "Wang Fang"}
    )
    assert signed_up.status_code == 201, signed_up.text
    me = signed_up.json()
    customer = api.sign_in(PHONE, PASSWORD)
    operator = api.demo("operator")
    auditor = api.demo("auditor")

    order = api.buy(customer, "1000.00", "week-1")
    listed = client.get("/api/v1/account/orders", headers=customer).json()["items"]
    assert [(o["id"], o["trade_date"], o["confirm_date"]) for o in listed] == [
        (order["id"], "2025-06-05", "2025-06-06")
    ]

    # the operator publishes a week of income per 10,000 shares for every fund
    week = {date(2025, 5, 31) + timedelta(days=n): f"0.{6500 + n}" for n in range(7)}
    for code in ("HQ001", "HQ002", "HQ003"):
        report = api.upload_income(operator, code, week)
        assert report.status_code == 200, report.text
        assert report.json() | {"fund": code} == {
            "fund": code,
            "accepted": True,
            "rows": 7,
            "inserted": 7,
            "unchanged": 0,
            "corrected": 0,
            "first": "2025-05-31",
            "last": "2025-06-06",
            "problem": None,
        }
    assert api.summary(customer)["last_income_date"] is None

    now = api.move_clock(operator, 2)
    assert now.date() == date(2025, 6, 7)
    job = api.close_through(operator, date(2025, 6, 6))
    assert job["status"] == "done", job
    assert {(c["fund"], c["date"]) for c in job["closed"]} >= {("HQ001", "2025-06-06")}

    summary = api.summary(customer)
    income = summary["last_income"]["fen"]
    # 100,000 shares earn Friday's 0.6506 per 10,000: 6.506 fen, truncated
    assert income == 6
    assert summary["last_income_date"] == "2025-06-06"
    assert summary["cumulative_income"]["fen"] == income
    assert summary["total"]["fen"] == 100_000 + income
    assert summary["pending_purchases"]["fen"] == 0
    assert summary["yield_7d"] is not None
    assert Decimal(summary["yield_7d"]) > 0
    assert summary["yield_date"] == "2025-06-06"
    confirmed = client.get(f"/api/v1/account/orders/{order['id']}", headers=customer).json()
    assert confirmed["status"] == "confirmed"
    days = client.get("/api/v1/account/income", headers=customer, params={"days": 2}).json()
    assert days == [
        {"date": "2025-06-05", "income": {"fen": 0, "cny": "0.00"}},
        {"date": "2025-06-06", "income": {"fen": income, "cny": f"0.{income:02d}"}},
    ]
    funds = {f["code"]: f for f in client.get("/api/v1/funds").json()}
    assert funds["HQ001"]["yield_7d"] == summary["yield_7d"]
    yields = client.get("/api/v1/funds/HQ001/yields", params={"days": 7}).json()
    assert yields[-1]["date"] == "2025-06-06"
    assert yields[-1]["income_per_10k"] == "0.6506"

    # instant redemption within the day's limit
    remaining = summary["instant_remaining"]["fen"]
    quote = client.get(
        "/api/v1/account/redemption-quote",
        headers=customer,
        params={"amount": "10.00", "mode": "instant"},
    ).json()
    assert quote["allowed"] is True
    assert quote["payout_date"] == "2025-06-07"
    paid = client.post(
        "/api/v1/account/redemptions",
        json={"amount": "10.00", "mode": "instant"},
        headers={**customer, "Idempotency-Key": "week-2"},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "paid"
    after = api.summary(customer)
    assert after["instant_remaining"]["fen"] == remaining - 1000
    assert after["total"]["fen"] == 100_000 + income - 1000

    # the operator's view: reports, audit log, user look-up
    reports = client.get("/api/v1/ops/funds/HQ001/reports", headers=auditor).json()
    friday = next(r for r in reports if r["date"] == "2025-06-06")
    assert friday["purchases"]["fen"] == 100_000
    assert friday["income"]["fen"] == income
    assert friday["accounts_earning"] == 1
    status = {s["fund"]: s for s in client.get("/api/v1/ops/close-status", headers=auditor).json()}
    assert status["HQ001"]["last_closed"] == "2025-06-06"

    audit = client.get(
        "/api/v1/ops/audit", headers=auditor, params={"actor_id": me["id"], "limit": 200}
    ).json()["items"]
    actions = [row["action"] for row in reversed(audit)]
    assert actions[:4] == [
        "user.sign_up",
        "current_account.open",
        "session.sign_in",
        "order.purchase",
    ]
    assert actions[-1] == "order.instant_redemption"
    for row in audit:
        assert (row["actor_id"], row["actor"], row["address"]) == (
            me["id"],
            "customer",
            "testclient",
        )
    purchase = next(row for row in audit if row["action"] == "order.purchase")
    assert purchase["object_id"] == str(order["id"])
    assert purchase["detail"]["amount"] == "1000.00"
    close_rows = client.get(
        "/api/v1/ops/audit", headers=auditor, params={"action": "close.finish"}
    ).json()["items"]
    assert [row["outcome"] for row in close_rows] == ["ok"]
    assert close_rows[0]["actor"] == "operator"

    users = client.get("/api/v1/ops/users", headers=auditor)
    assert PHONE not in users.text
    assert "13800000001" not in users.text
    cards = {card["phone"]: card for card in users.json()["items"]}
    assert cards["136****0005"]["fund_code"] == "HQ001"
    assert cards["138****0001"]["role"] == "customer"
    one = client.get("/api/v1/ops/users", headers=auditor, params={"phone": PHONE}).json()
    assert [card["id"] for card in one["items"]] == [me["id"]]
