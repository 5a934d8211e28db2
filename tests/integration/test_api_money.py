"""Money-moving requests through the HTTP API, on SQLite and on PostgreSQL.

Every refusal is a problem document and changes nothing: no order, no posting, no stored
answer, no audit row. A retry with the same ``Idempotency-Key`` and body answers the first
answer again and moves no more money.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from api_client import Api, Headers, assert_problem, count, open_api, snapshot

PURCHASES = "/api/v1/account/purchases"
REDEMPTIONS = "/api/v1/account/redemptions"


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with open_api(db_url) as opened:
        yield opened


def post(api: Api, url: str, headers: Headers, key: str | None, body: Any) -> Any:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return api.client.post(url, headers={**headers, **extra}, json=body)


def test_purchase_is_listed_with_its_dates(api: Api) -> None:
    customer = api.demo("customer")
    order = api.buy(customer, "100.00", "first")
    assert order["kind"] == "purchase"
    assert order["amount"] == {"fen": 10000, "cny": "100.00"}
    # Thursday 10:00 in Shanghai: trade date today, confirmed on Friday
    assert (order["trade_date"], order["confirm_date"]) == ("2025-06-05", "2025-06-06")
    assert order["payout_date"] is None
    listed = api.client.get("/api/v1/account/orders", headers=customer).json()
    assert [item["id"] for item in listed["items"]] == [order["id"]]
    assert listed["next_cursor"] is None
    one = api.client.get(f"/api/v1/account/orders/{order['id']}", headers=customer).json()
    assert one["status"] == "requested"  # the bank has paid it
    assert {k: one[k] for k in ("trade_date", "confirm_date")} == {
        "trade_date": "2025-06-05",
        "confirm_date": "2025-06-06",
    }
    summary = api.summary(customer)
    assert summary["pending_purchases"]["cny"] == "100.00"
    assert summary["total"]["fen"] == 0  # no shares before confirmation


def test_idempotency_key_missing_malformed_reused(api: Api) -> None:
    customer = api.demo("customer")
    before = snapshot(api.engine)
    assert_problem(
        post(api, PURCHASES, customer, None, {"amount": "10.00"}), 400, "idempotency_key_missing"
    )
    assert_problem(
        post(api, PURCHASES, customer, "has space", {"amount": "10.00"}),
        400,
        "invalid_idempotency_key",
    )
    assert_problem(
        post(api, PURCHASES, customer, "k" * 129, {"amount": "10.00"}),
        400,
        "invalid_idempotency_key",
    )
    assert snapshot(api.engine) == before

    first = post(api, PURCHASES, customer, "buy-1", {"amount": "10.00"})
    assert first.status_code == 201
    assert first.headers["Idempotent-Replayed"] == "false"
    after_first = snapshot(api.engine)
    again = post(api, PURCHASES, customer, "buy-1", {"amount": "10.00"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert count(api.engine, "fund_orders") == 1
    assert count(api.engine, "api_requests") == 1
    assert count(api.engine, "audit_log", "action = 'order.purchase'") == 1
    assert snapshot(api.engine) == after_first

    conflict = assert_problem(
        post(api, PURCHASES, customer, "buy-1", {"amount": "11.00"}), 409, "idempotency_conflict"
    )
    assert "buy-1" in conflict["detail"]
    assert_problem(
        post(api, REDEMPTIONS, customer, "buy-1", {"amount": "10.00"}), 409, "idempotency_conflict"
    )
    assert snapshot(api.engine) == after_first


def test_keys_belong_to_their_customer(api: Api) -> None:
    mine = api.demo("customer")
    theirs = api.new_customer("13600000003")
    first = post(api, PURCHASES, mine, "same-key", {"amount": "10.00"})
    second = post(api, PURCHASES, theirs, "same-key", {"amount": "10.00"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "false"
    assert first.json()["id"] != second.json()["id"]
    assert count(api.engine, "fund_orders") == 2


# Refused by the body's schema (text of digits, at most two decimals, at most 13 whole
# digits), or as text that is no amount (zero).
MALFORMED: list[object] = ["-1", "1.001", "abc", "1e5", 12.5, 100, "99999999999999", "",
                           None, "1,000", "NaN", "+5", "5.", ".5", "１２", "12.٣"]  # fmt: skip
ZERO = ["0", "0.00"]


def test_malformed_amounts_are_refused_and_change_nothing(api: Api) -> None:
    customer = api.demo("customer")
    before = snapshot(api.engine)
    cases = [(amount, "invalid_input") for amount in MALFORMED]
    cases += [(amount, "invalid_amount") for amount in ZERO]
    for n, (amount, code) in enumerate(cases):
        for url, extra in (
            (PURCHASES, {}),
            (REDEMPTIONS, {"mode": "instant"}),
            (REDEMPTIONS, {"mode": "normal"}),
        ):
            answer = post(api, url, customer, f"bad-{n}-{url}", {"amount": amount, **extra})
            body = assert_problem(answer, 422, code)
            if code == "invalid_input":
                assert [e["field"] for e in body["errors"]] == ["amount"], body
        if isinstance(amount, str):  # the quote takes the amount as query text
            quote = api.client.get(
                "/api/v1/account/redemption-quote", headers=customer, params={"amount": amount}
            )
            assert quote.status_code == 422, (amount, quote.text)
    for body in ({}, {"amount": "5.00", "extra": 1}, {"amount": "5.00", "mode": "fast"}):
        assert_problem(post(api, REDEMPTIONS, customer, "shape", body), 422, "invalid_input")
    assert snapshot(api.engine) == before


def test_below_the_minimum_purchase(api: Api) -> None:
    customer = api.demo("customer")
    before = snapshot(api.engine)
    body = assert_problem(
        post(api, PURCHASES, customer, "small", {"amount": "0.50"}), 422, "below_minimum"
    )
    assert "1.00" in body["detail"]
    assert snapshot(api.engine) == before
    assert post(api, PURCHASES, customer, "small", {"amount": "1.00"}).status_code == 201


def test_an_oversized_body_is_refused_before_it_is_read(api: Api) -> None:
    customer = api.demo("customer")
    before = snapshot(api.engine)
    padding = "x" * (65 * 1024)
    answer = api.client.post(
        PURCHASES,
        headers={**customer, "Idempotency-Key": "big", "Content-Type": "application/json"},
        content=f'{{"amount": "5.00", "pad": "{padding}"}}',
    )
    assert_problem(answer, 413, "body_too_large")
    anonymous = api.client.post(
        "/api/v1/users", content=padding, headers={"Content-Type": "application/json"}
    )
    assert_problem(anonymous, 413, "body_too_large")
    assert snapshot(api.engine) == before


def test_switch_to_an_unknown_fund_or_the_same_fund(api: Api) -> None:
    customer = api.demo("customer")
    api.buy(customer, "50.00", "buy")
    before = snapshot(api.engine)
    answer = post(api, "/api/v1/account/switch", customer, "sw-1", {"fund_code": "HQ999"})
    assert assert_problem(answer, 404, "unknown_fund")["context"] == {"fund": "HQ999"}
    assert_problem(
        post(api, "/api/v1/account/switch", customer, "sw-2", {"fund_code": "HQ001"}),
        422,
        "already_in_fund",
    )
    assert_problem(
        post(api, "/api/v1/account/switch", customer, "sw-3", {"fund_code": "HQ-1"}),
        422,
        "invalid_input",
    )
    assert snapshot(api.engine) == before


def test_switch_moves_the_account_to_another_fund(api: Api) -> None:
    customer = api.demo("customer")
    api.buy(customer, "300.00", "buy")
    api.confirm_first_purchases(api.demo("operator"))
    total = api.summary(customer)["total"]
    moved = post(api, "/api/v1/account/switch", customer, "sw", {"fund_code": "HQ002"})
    assert moved.status_code == 201, moved.text
    body = moved.json()
    assert body["redemption"]["fund_code"] == "HQ001"
    assert body["purchase"]["fund_code"] == "HQ002"
    assert body["redemption"]["amount"] == body["purchase"]["amount"] == total
    assert api.summary(customer)["fund_code"] == "HQ002"
    replay = post(api, "/api/v1/account/switch", customer, "sw", {"fund_code": "HQ002"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == moved.content


def test_instant_redemption_beyond_the_remaining_limit(api: Api) -> None:
    customer = api.demo("customer")
    operator = api.demo("operator")
    api.buy(customer, "100.00", "buy")
    api.confirm_first_purchases(operator)
    limits = api.client.put(
        "/api/v1/ops/instant-limits", headers=operator, json={"per_customer_daily": "5.00"}
    )
    assert limits.json()["per_customer_daily"]["cny"] == "5.00"
    assert api.summary(customer)["instant_remaining"]["cny"] == "5.00"
    first = post(api, REDEMPTIONS, customer, "i-1", {"amount": "2.00", "mode": "instant"})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "paid"
    assert api.summary(customer)["instant_remaining"]["cny"] == "3.00"

    before = snapshot(api.engine)
    body = assert_problem(
        post(api, REDEMPTIONS, customer, "i-2", {"amount": "3.01", "mode": "instant"}),
        422,
        "instant_limit_reached",
    )
    assert "normal" in body["detail"]  # the user is offered the normal route
    quote = api.client.get(
        "/api/v1/account/redemption-quote",
        headers=customer,
        params={"amount": "3.01", "mode": "instant"},
    ).json()
    assert quote["allowed"] is False
    assert quote["instant_remaining"]["cny"] == "3.00"
    assert snapshot(api.engine) == before
    assert api.summary(customer)["instant_remaining"]["cny"] == "3.00"
    # the normal route is open for the same amount
    normal = post(api, REDEMPTIONS, customer, "n-1", {"amount": "3.01", "mode": "normal"})
    assert normal.status_code == 201, normal.text
    assert normal.json()["payout_date"] == "2025-06-10"  # Saturday: T is Monday, paid Tuesday


def test_redeeming_more_than_the_balance(api: Api) -> None:
    customer = api.demo("customer")
    api.buy(customer, "100.00", "buy")
    api.confirm_first_purchases(api.demo("operator"))
    available = api.summary(customer)["available"]["fen"]
    too_much = f"{(available + 1) // 100}.{(available + 1) % 100:02d}"
    before = snapshot(api.engine)
    for mode in ("instant", "normal"):
        assert_problem(
            post(api, REDEMPTIONS, customer, f"all-{mode}", {"amount": too_much, "mode": mode}),
            422,
            "insufficient_shares",
        )
    quote = api.client.get(
        "/api/v1/account/redemption-quote", headers=customer, params={"amount": too_much}
    ).json()
    assert quote["allowed"] is False
    assert quote["available"]["fen"] == available
    assert snapshot(api.engine) == before


def test_pagination_visits_every_order_once(api: Api) -> None:
    customer = api.demo("customer")
    made = [api.buy(customer, f"{n + 1}.00", f"page-{n}")["id"] for n in range(7)]
    api.buy(api.new_customer("13600000004"), "9.00", "other")  # not on my pages
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/v1/account/orders", headers=customer, params=params).json()
        pages += 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(made, reverse=True)
    huge = base64.urlsafe_b64encode(b"order:99999999999999999999").decode()
    for bad in ("garbage", "YXVkaXQ6MTA", huge):  # not a cursor; an audit cursor; no such id
        assert_problem(
            api.client.get("/api/v1/account/orders", headers=customer, params={"cursor": bad}),
            400,
            "invalid_cursor",
        )
    assert (
        api.client.get("/api/v1/account/orders", headers=customer, params={"limit": 0}).status_code
        == 422
    )


def test_the_longest_key_the_api_allows_is_usable(api: Api) -> None:
    """The layers below add prefixes to the key; a 128-character key must still fit."""
    customer = api.demo("customer")
    operator = api.demo("operator")
    api.buy(customer, "100.00", "buy")
    api.confirm_first_purchases(operator)
    for n, (url, extra) in enumerate(
        ((PURCHASES, {}), (REDEMPTIONS, {"mode": "normal"}), (REDEMPTIONS, {"mode": "instant"}))
    ):
        key = str(n) * 128
        answer = post(api, url, customer, key, {"amount": "1.00", **extra})
        assert answer.status_code == 201, answer.text
        again = post(api, url, customer, key, {"amount": "1.00", **extra})
        assert again.headers["Idempotent-Replayed"] == "true" and again.content == answer.content
