"""Payments over HTTP: the signed gateway, checkout, the bank's callbacks, notifications,
refunds and settlement, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from api_client import Api, Headers, assert_problem, count, open_api, snapshot
from merchant_endpoint import Endpoint, merchant_endpoint

from huoqi.db.engine import run_in_write_transaction
from huoqi.payments import paying
from huoqi.payments.signing import signed_headers
from huoqi.web.api_payments import bank_signature


@dataclass
class World:
    api: Api
    customer: Headers
    operator: Headers
    merchant: str
    secret: str
    endpoint: Endpoint

    def gateway(
        self, method: str, path: str, body: dict[str, Any] | None = None, *,
        secret: str | None = None, timestamp: int | None = None, nonce: str | None = None,
        tamper: bytes | None = None,
    ) -> Any:  # fmt: skip
        raw = json.dumps(body).encode() if body is not None else b""
        path_only, _, query = path.partition("?")
        headers = signed_headers(
            secret or self.secret, merchant=self.merchant, method=method, path=path_only,
            query=query, timestamp=int(time.time()) if timestamp is None else timestamp,
            nonce=nonce or secrets.token_hex(12), body=raw,
        )  # fmt: skip
        if raw:
            headers["Content-Type"] = "application/json"
        return self.api.client.request(method, path, content=tamper or raw, headers=headers)

    def order(self, number: str, amount: str = "19.99", **extra: Any) -> dict[str, Any]:
        answer = self.gateway(
            "POST",
            "/gateway/v1/orders",
            {"out_trade_no": number, "amount": amount, "description": f"tea {number}", **extra},
        )
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def pay(self, order_no: str, method: str = "balance", key: str | None = None) -> Any:
        return self.api.client.post(
            f"/api/v1/checkout/{order_no}/pay", json={"method": method},
            headers={**self.customer, "Idempotency-Key": key or secrets.token_hex(8)},
        )  # fmt: skip


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_api(db_url) as api, merchant_endpoint() as endpoint:
        operator = api.demo("operator")
        customer = api.new_customer("13600000011")
        api.buy(customer, "1000.00", "fund-it")
        api.confirm_first_purchases(operator)
        applied = api.client.post(
            "/api/v1/merchants",
            headers=customer,
            json={"name": "Tea House", "callback_url": endpoint.url},
        )
        assert applied.status_code == 201, applied.text
        code = applied.json()["merchant_id"]
        approved = api.client.post(f"/api/v1/ops/merchants/{code}/approve", headers=operator,
                                   json={"fee_rate_bp": 60})  # fmt: skip
        assert approved.status_code == 200, approved.text
        endpoint.secret = approved.json()["secret"]
        yield World(api, customer, operator, code, endpoint.secret, endpoint)


def test_refused_signatures_change_nothing(world: World) -> None:
    body = {"out_trade_no": "S-1", "amount": "5.00", "description": "one cup"}
    before = snapshot(world.api.engine)
    assert_problem(world.gateway("POST", "/gateway/v1/orders", body, secret="not-the-key"),
                   401, "bad_signature")  # fmt: skip
    altered = json.dumps({**body, "amount": "0.01"}).encode()
    assert_problem(world.gateway("POST", "/gateway/v1/orders", body, tamper=altered),
                   401, "bad_signature")  # fmt: skip
    stale = int(time.time()) - 301
    assert_problem(world.gateway("POST", "/gateway/v1/orders", body, timestamp=stale),
                   401, "stale_timestamp")  # fmt: skip
    answer = world.api.client.post("/gateway/v1/orders", json=body)
    assert_problem(answer, 401, "signature_missing")
    assert snapshot(world.api.engine) == before
    nonce = secrets.token_hex(12)
    first = world.gateway("POST", "/gateway/v1/orders", body, nonce=nonce)
    assert first.status_code == 201, first.text
    after_first = snapshot(world.api.engine)
    assert_problem(world.gateway("POST", "/gateway/v1/orders", body, nonce=nonce),
                   401, "replayed_nonce")  # fmt: skip
    assert snapshot(world.api.engine) == after_first


def test_order_pay_query_refund_close_through_the_gateway(world: World) -> None:
    order = world.order("A-1", "19.99", return_url="http://127.0.0.1:8001/orders/A-1")
    assert order["status"] == "created" and order["amount"] == {"fen": 1999, "cny": "19.99"}
    again = world.gateway("POST", "/gateway/v1/orders", {
        "out_trade_no": "A-1", "amount": "19.99", "description": "tea A-1",
        "return_url": "http://127.0.0.1:8001/orders/A-1"})  # fmt: skip
    assert (again.status_code, again.json()["order_no"]) == (200, order["order_no"])
    other = world.gateway("POST", "/gateway/v1/orders", {
        "out_trade_no": "A-1", "amount": "20.00", "description": "tea A-1"})  # fmt: skip
    assert_problem(other, 409, "order_conflict")
    before = world.api.summary(world.customer)["total"]["fen"]
    paid = world.pay(order["order_no"])
    assert paid.status_code == 201, paid.text
    assert world.api.summary(world.customer)["total"]["fen"] == before - 1999
    seen = world.gateway("GET", "/gateway/v1/orders/A-1").json()
    assert (seen["status"], seen["method"]) == ("paid", "balance")
    assert world.gateway("GET", "/gateway/v1/balance").json()["balance"]["fen"] == 1999
    refund = world.gateway(
        "POST",
        "/gateway/v1/orders/A-1/refunds",
        {"out_refund_no": "R-1", "amount": "5.00", "reason": "spilt"},
    )
    assert refund.status_code == 201, refund.text
    repeat = world.gateway(
        "POST",
        "/gateway/v1/orders/A-1/refunds",
        {"out_refund_no": "R-1", "amount": "5.00", "reason": "spilt"},
    )
    assert (repeat.status_code, repeat.json()["refund_no"]) == (200, refund.json()["refund_no"])
    too_much = world.gateway("POST", "/gateway/v1/orders/A-1/refunds",
                             {"out_refund_no": "R-2", "amount": "15.00"})  # fmt: skip
    assert_problem(too_much, 422, "refund_exceeds_payment")
    seen = world.gateway("GET", "/gateway/v1/orders/A-1").json()
    assert seen["status"] == "partially_refunded"
    assert [r["out_refund_no"] for r in seen["refunds"]] == ["R-1"]
    assert_problem(world.gateway("POST", "/gateway/v1/orders/A-1/close"), 409, "order_paid")
    unpaid = world.order("A-2")
    closed = world.gateway("POST", "/gateway/v1/orders/A-2/close")
    assert closed.json()["status"] == "closed"
    assert_problem(world.pay(unpaid["order_no"]), 409, "order_not_payable")
    events = world.endpoint.wait_for(2)
    assert [e["event"] for e in events] == ["order.paid", "refund.succeeded"]
    assert world.endpoint.bad_signatures == 0


def test_a_repeated_pay_request_is_answered_once(world: World) -> None:
    order = world.order("K-1", "3.00")
    first = world.pay(order["order_no"], key="same-key")
    second = world.pay(order["order_no"], key="same-key")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.content == second.content
    assert count(world.api.engine, "merchant_notifications") == 1


def test_bank_callbacks_are_signed_and_repeats_change_nothing(world: World) -> None:
    order = world.order("C-1", "88.00")
    user = world.api.client.get("/api/v1/me", headers=world.customer).json()["id"]
    started = run_in_write_transaction(
        world.api.engine,
        lambda c: paying.start_card_payment(c, order_no=order["order_no"], payer_user_id=user,
                                            now=world.api.app.state.services.clock()),
    )  # fmt: skip
    body = json.dumps({"reference": started.bank_reference, "status": "succeeded",
                       "amount": "88.00"}).encode()  # fmt: skip
    before = snapshot(world.api.engine)
    forged = world.api.client.post("/bank/v1/callbacks", content=body, headers={
        "Content-Type": "application/json", "Bank-Signature": "v1=" + "0" * 64})  # fmt: skip
    assert_problem(forged, 401, "bad_signature")
    assert snapshot(world.api.engine) == before
    headers = {"Content-Type": "application/json", "Bank-Signature": bank_signature(body)}
    for _ in range(3):
        answer = world.api.client.post("/bank/v1/callbacks", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["order_status"] == "paid"
    assert count(world.api.engine, "merchant_notifications") == 1
    assert world.gateway("GET", "/gateway/v1/balance").json()["balance"]["fen"] == 8800


def test_card_payment_through_the_simulated_bank(world: World) -> None:
    order = world.order("C-2", "12.00")
    answer = world.pay(order["order_no"], method="card")
    assert answer.status_code == 201, answer.text
    # the test app's bank answers at once, before the response goes out
    assert world.gateway("GET", "/gateway/v1/orders/C-2").json()["status"] == "paid"


def test_a_merchant_down_for_a_while_gets_its_notifications_when_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUOQI_NOTIFY_FIRST_RETRY", "0.2")
    world.endpoint.down = True
    for n in range(3):
        assert world.pay(world.order(f"D-{n}", "1.00")["order_no"]).status_code == 201
    deadline = time.monotonic() + 10
    while world.endpoint.refused < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert world.endpoint.refused >= 3 and not world.endpoint.received
    world.endpoint.down = False
    events = world.endpoint.wait_for(3)
    time.sleep(1.5)  # any duplicate would have arrived by now
    assert len(events) == 3
    assert len(set(world.endpoint.events())) == 3
    assert count(world.api.engine, "merchant_notifications", "status = 'delivered'") == 3


def test_settlement_over_the_api(world: World) -> None:
    for n, amount in enumerate(["100.00", "50.00"]):
        assert world.pay(world.order(f"T-{n}", amount)["order_no"]).status_code == 201
    assert world.gateway("POST", "/gateway/v1/orders/T-0/refunds",
                         {"out_refund_no": "TR", "amount": "20.00"}).status_code == 201  # fmt: skip
    today = world.api.app.state.services.clock().date()
    early = world.api.client.post(f"/api/v1/ops/settlements/{today}", headers=world.operator)
    assert_problem(early, 422, "day_not_over")
    world.api.move_clock(world.operator, 1)
    made = world.api.client.post(f"/api/v1/ops/settlements/{today}", headers=world.operator)
    assert made.status_code == 200, made.text
    [report] = made.json()
    fees = 60 + 30 - 12  # 0.6% of 100.00 and 50.00, less 0.6% of the 20.00 refunded
    assert (report["gross"]["fen"], report["refunded"]["fen"]) == (15_000, 2_000)
    assert (report["fees"]["fen"], report["net"]["fen"]) == (fees, 13_000 - fees)
    seen = world.gateway("GET", f"/gateway/v1/settlements/{today}").json()
    assert seen["net"] == report["net"]
    text = world.gateway("GET", f"/gateway/v1/settlement-files/{today}").text
    assert text.splitlines()[-1].split(",")[5] == f"{(13_000 - fees) / 100:.2f}"
    assert world.gateway("GET", "/gateway/v1/balance").json()["balance"]["fen"] == 0


def test_the_checkout_page_pays_with_the_balance(world: World) -> None:
    order = world.order("P-1", "7.50", return_url="http://127.0.0.1:8001/orders/P-1")
    client = world.api.client
    bounce = client.get(f"/pay/{order['order_no']}", follow_redirects=False)
    assert bounce.headers["location"] == f"/app/pay/{order['order_no']}"
    anonymous = client.get(f"/app/pay/{order['order_no']}", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/app/sign-in?next=%2Fapp%2Fpay%2F")
    csrf = world.api.cookie_session("13600000011")
    page = client.get(f"/app/pay/{order['order_no']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Tea House" in page.text and "7.50" in page.text
    done = client.post(f"/app/pay/{order['order_no']}", follow_redirects=False, data={
        "csrf_token": csrf, "idempotency_key": "page-pay-1", "method": "balance"})  # fmt: skip
    assert done.status_code == 303, done.text
    receipt = client.get(done.headers["location"], headers={"Accept-Language": "en"})
    assert "Paid." in receipt.text and "http://127.0.0.1:8001/orders/P-1" in receipt.text
    assert world.gateway("GET", "/gateway/v1/orders/P-1").json()["status"] == "paid"
    client.cookies.clear()


def test_many_customers_paying_at_once_are_booked_together_and_exactly(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Payments that reach the writer together go through the bulk path: the same answers,
    stored keys and audit rows as one by one, and each order paid once."""
    from concurrent.futures import ThreadPoolExecutor

    from huoqi.web import api_payments

    sizes: list[int] = []
    together = api_payments.pay_together

    def counted(connection: Any, works: list[Any]) -> list[Any]:
        sizes.append(len(works))
        return together(connection, works)

    monkeypatch.setattr(api_payments, "pay_together", counted)

    orders = [world.order(f"M-{n}", "2.00")["order_no"] for n in range(24)]
    plan = [(number, f"k-{n}") for n, number in enumerate(orders)]
    # a replay of a key, and the same customer paying an order again under a new key
    plan += [(orders[0], "k-0"), (orders[1], "k-other")]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda job: world.pay(job[0], key=job[1]), plan))
    statuses = [a.status_code for a in answers]
    assert statuses[:24] == [201] * 24
    assert statuses[24] == 201 and answers[24].content == answers[0].content
    assert answers[25].status_code == 201 and answers[25].json()["status"] == "paid"
    assert world.gateway("GET", "/gateway/v1/balance").json()["balance"]["fen"] == 24 * 200
    engine = world.api.engine
    assert count(engine, "api_requests", "route LIKE 'POST /checkout/%'") == 25
    assert count(engine, "audit_log", "action = 'payment.balance'") == 25  # the repeat too
    assert count(engine, "merchant_notifications") == 24
    assert count(engine, "payment_orders", "status = 'paid'") == 24
    if engine.dialect.name == "sqlite":  # PostgreSQL runs each request on its own
        assert sizes and max(sizes) >= 2, sizes  # some did reach the writer together
