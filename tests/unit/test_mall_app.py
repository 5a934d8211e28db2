"""The Mall against a hand-written fake Huoqi gateway: shop → cart → checkout → paid by a
signed notification → refund from the shop admin.

The fake checks every request with Huoqi's own signature functions
(`huoqi.payments.signing`), so a Mall request the real gateway would refuse fails here too.
It signs its notifications the way docs/payments.md says Huoqi does.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from huoqi.mall import store
from huoqi.mall.app import create_app
from huoqi.mall.config import MallSettings
from huoqi.mall.gateway import Credentials, Gateway
from huoqi.money import format_amount, parse_amount
from huoqi.payments.signing import SignatureRefused, check_signature, read_headers, sign

MERCHANT, SECRET = "M00000001", "s3cret-of-the-mall"
HUOQI = "http://huoqi.test"


def money(fen: int) -> dict[str, Any]:
    return {"fen": fen, "cny": format_amount(fen)}


class FakeHuoqi:
    """The gateway's contract, in memory: signed requests only, idempotent numbers."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.nonces: set[str] = set()
        self.balance_fen = 0
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        try:
            signed = read_headers(request.headers)
            if signed.merchant != MERCHANT:
                raise SignatureRefused("unknown merchant")
            check_signature(
                signed, SECRET, method=request.method, path=request.url.path,
                query=request.url.query.decode(), body=request.content, now=int(time.time()),
            )  # fmt: skip
            if signed.nonce in self.nonces:
                raise SignatureRefused("replayed nonce")
        except SignatureRefused as refused:
            return httpx.Response(401, json={"code": refused.code, "detail": refused.detail})
        self.nonces.add(signed.nonce)
        payload = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, payload))
        return self.route(request.method, request.url.path.removeprefix("/gateway/v1"), payload)

    def route(self, method: str, path: str, payload: Any) -> httpx.Response:
        if (method, path) == ("POST", "/orders"):
            number = payload["out_trade_no"]
            order = self.orders.setdefault(number, {
                "order_no": f"HQ{len(self.orders) + 1:013d}", "merchant_id": MERCHANT,
                "out_trade_no": number, "amount": money(parse_amount(payload["amount"])),
                "description": payload["description"], "status": "created",
                "refunded": money(0), "checkout_url": f"/pay/HQ{len(self.orders) + 1:013d}",
                "refunds": [], "notify_url": payload["notify_url"],
                "return_url": payload["return_url"],
            })  # fmt: skip
            return httpx.Response(201, json=order)
        if (method, path) == ("GET", "/balance"):
            return httpx.Response(200, json={"balance": money(self.balance_fen)})
        found = re.fullmatch(r"/orders/([^/]+)(/refunds)?", path)
        if found is None or found[1] not in self.orders:
            return httpx.Response(404, json={"code": "not_found", "detail": "no such order"})
        order = self.orders[found[1]]
        if method == "GET":
            return httpx.Response(200, json=order)
        return self.refund(order, payload)

    def refund(self, order: dict[str, Any], payload: Any) -> httpx.Response:
        amount = parse_amount(payload["amount"])
        if any(r["out_refund_no"] == payload["out_refund_no"] for r in order["refunds"]):
            return httpx.Response(200, json=order["refunds"][-1])
        if amount > order["amount"]["fen"] - order["refunded"]["fen"]:
            return httpx.Response(
                422, json={"code": "refund_exceeds_payment", "detail": "more than is left"}
            )
        refund = {"out_refund_no": payload["out_refund_no"], "amount": money(amount)}
        order["refunds"].append(refund)
        order["refunded"] = money(order["refunded"]["fen"] + amount)
        left = order["amount"]["fen"] - order["refunded"]["fen"]
        order["status"] = "refunded" if left == 0 else "partially_refunded"
        self.balance_fen -= amount
        return httpx.Response(201, json=refund)

    def pay(self, number: str) -> None:
        self.orders[number]["status"] = "paid"
        self.balance_fen += self.orders[number]["amount"]["fen"]

    def notification(
        self, event: str, number: str, *, secret: str = SECRET, **extra: Any
    ) -> tuple[bytes, dict[str, str]]:
        event_id = "EV" + secrets.token_hex(12).upper()
        order = {k: v for k, v in self.orders[number].items() if k not in ("notify_url",)}
        body = json.dumps({"event_id": event_id, "event": event, "order": order, **extra}).encode()
        stamp = int(time.time())
        signature = sign(
            secret, method="POST", path="/notify", timestamp=stamp, nonce=event_id, body=body
        )
        headers = {
            "Huoqi-Timestamp": str(stamp), "Huoqi-Nonce": event_id,
            "Huoqi-Signature": signature, "Huoqi-Event-Id": event_id,
            "Content-Type": "application/json",
        }  # fmt: skip
        return body, headers


@pytest.fixture
def huoqi() -> FakeHuoqi:
    return FakeHuoqi()


def mall_for(huoqi: FakeHuoqi, folder: Path, **settings: Any) -> TestClient:
    config = MallSettings(
        huoqi_url=HUOQI, merchant_id=MERCHANT, secret=SECRET,
        public_url="http://mall.test", database=str(folder / "mall.db"), **settings,
    )  # fmt: skip
    gateway = Gateway(
        HUOQI, Credentials(MERCHANT, SECRET), transport=httpx.MockTransport(huoqi.handle)
    )
    return TestClient(create_app(config, gateway=gateway), headers={"Accept-Language": "en"})


@pytest.fixture
def mall(huoqi: FakeHuoqi, tmp_path: Path) -> Iterator[TestClient]:
    with mall_for(huoqi, tmp_path) as client:
        client.get("/")  # the CSRF cookie
        yield client


def csrf(client: TestClient) -> str:
    return str(client.cookies["mall_csrf"])


def checkout(mall: TestClient, cart: dict[str, int]) -> tuple[str, httpx.Response]:
    for sku, count in cart.items():
        for _ in range(count):
            mall.post("/cart/add", data={"csrf_token": csrf(mall), "sku": sku})
    answer = mall.post("/checkout", data={"csrf_token": csrf(mall)}, follow_redirects=False)
    number = answer.headers.get("location", "").rsplit("/", 1)[-1]
    return number, answer


def number_of(huoqi: FakeHuoqi, order_no: str) -> str:
    return next(n for n, o in huoqi.orders.items() if o["order_no"] == order_no)


def test_the_shop_shows_a_dozen_products_in_both_languages(mall: TestClient) -> None:
    page = mall.get("/")
    assert page.status_code == 200
    assert page.text.count("Add to cart") == 12
    assert "Longjing green tea 250 g" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert f"form-action 'self' {HUOQI}" in page.headers["content-security-policy"]
    chinese = mall.get("/", headers={"Accept-Language": "zh-CN"})
    assert chinese.text.count("加入购物车") == 12


def test_checkout_creates_a_signed_order_and_sends_the_browser_to_huoqi(
    mall: TestClient, huoqi: FakeHuoqi
) -> None:
    mall.post("/cart/add", data={"csrf_token": csrf(mall), "sku": "T01"})
    mall.post("/cart/add", data={"csrf_token": csrf(mall), "sku": "T01"})
    mall.post("/cart/add", data={"csrf_token": csrf(mall), "sku": "C02"})
    cart = mall.get("/cart")
    assert "¥175.00" in cart.text
    answer = mall.post("/checkout", data={"csrf_token": csrf(mall)}, follow_redirects=False)
    assert answer.status_code == 303
    assert re.fullmatch(rf"{HUOQI}/pay/HQ\d{{13}}", answer.headers["location"])
    [(method, path, payload)] = huoqi.requests
    assert (method, path) == ("POST", "/gateway/v1/orders")
    assert payload["amount"] == "175.00"
    assert payload["description"] == "Longjing green tea 250 g ×2, White porcelain mug"
    assert payload["notify_url"] == "http://mall.test/notify"
    number = payload["out_trade_no"]
    assert payload["return_url"] == f"http://mall.test/orders/{number}"
    assert "Your cart is empty." in mall.get("/cart").text
    page = mall.get(f"/orders/{number}")
    assert 'data-test="order-status">Awaiting payment' in page.text
    huoqi.pay(number)  # the customer paid in Huoqi and came back
    page = mall.get(f"/orders/{number}")
    assert 'data-test="order-status">Paid' in page.text
    assert store.get_order(mall.app.state.services.engine, number).status == "paid"  # type: ignore[attr-defined]


def test_a_forged_form_changes_nothing(mall: TestClient, huoqi: FakeHuoqi) -> None:
    mall.post("/cart/add", data={"csrf_token": csrf(mall), "sku": "E04"})
    cookie_before = mall.cookies["mall_cart"]
    forged = mall.post("/cart/add", data={"csrf_token": "forged", "sku": "T01"})
    assert forged.status_code == 403
    assert mall.cookies["mall_cart"] == cookie_before
    refused = mall.post("/checkout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert huoqi.requests == []


def test_checkout_with_huoqi_down_keeps_the_cart_and_says_so(
    mall: TestClient, huoqi: FakeHuoqi
) -> None:
    huoqi.down = True
    _, answer = checkout(mall, {"N06": 1})
    assert answer.status_code == 502
    assert "Huoqi could not take the order" in answer.text
    assert "¥15.00" in mall.get("/cart").text  # the cart is still there


def test_wrong_credentials_are_refused_by_the_gateway_and_shown(
    huoqi: FakeHuoqi, tmp_path: Path
) -> None:
    config = MallSettings(
        huoqi_url=HUOQI, merchant_id=MERCHANT, secret="not-the-secret",
        database=str(tmp_path / "mall.db"),
    )  # fmt: skip
    gateway = Gateway(
        HUOQI, Credentials(MERCHANT, "not-the-secret"), transport=httpx.MockTransport(huoqi.handle)
    )
    with TestClient(create_app(config, gateway=gateway), headers={"Accept-Language": "en"}) as mall:
        mall.get("/")
        _, answer = checkout(mall, {"N06": 1})
    assert answer.status_code == 502
    assert "the signature does not match the request" in answer.text
    assert huoqi.orders == {}


def notifications(mall: TestClient) -> list[Any]:
    return store.list_notifications(mall.app.state.services.engine)  # type: ignore[attr-defined]


def test_a_signed_notification_marks_the_order_paid_once(
    mall: TestClient, huoqi: FakeHuoqi
) -> None:
    number, _ = checkout(mall, {"A12": 1})
    number = number_of(huoqi, number)
    huoqi.pay(number)
    body, headers = huoqi.notification("order.paid", number)
    first = mall.post("/notify", content=body, headers=headers)
    assert first.status_code == 200
    assert first.json()["duplicate"] is False
    again = mall.post("/notify", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    [note] = notifications(mall)
    assert (note.event, note.deliveries, note.order_status) == ("order.paid", 2, "paid")
    engine = mall.app.state.services.engine  # type: ignore[attr-defined]
    assert store.get_order(engine, number).status == "paid"
    admin = mall.get("/admin")
    assert 'data-test="notification-order.paid"' in admin.text


@pytest.mark.parametrize("tamper", ["secret", "body", "nonce", "event_id", "missing"])
def test_a_notification_not_signed_by_huoqi_changes_nothing(
    mall: TestClient, huoqi: FakeHuoqi, tamper: str
) -> None:
    number, _ = checkout(mall, {"A12": 1})
    number = number_of(huoqi, number)
    huoqi.pay(number)
    body, headers = huoqi.notification(
        "order.paid", number, secret="guessed" if tamper == "secret" else SECRET
    )
    if tamper == "body":
        body = body.replace(b'"paid"', b'"refunded"', 1)
    elif tamper == "nonce":
        headers["Huoqi-Nonce"] = "EV" + "0" * 24
    elif tamper == "event_id":
        body = body.replace(headers["Huoqi-Event-Id"].encode(), b"EV" + b"1" * 24)
        headers["Huoqi-Signature"] = sign(
            SECRET, method="POST", path="/notify", timestamp=headers["Huoqi-Timestamp"],
            nonce=headers["Huoqi-Nonce"], body=body,
        )  # fmt: skip
    elif tamper == "missing":
        del headers["Huoqi-Signature"]
    answer = mall.post("/notify", content=body, headers=headers)
    assert answer.status_code in (401, 422)
    assert answer.headers["content-type"].startswith("application/json")
    assert notifications(mall) == []
    engine = mall.app.state.services.engine  # type: ignore[attr-defined]
    assert store.get_order(engine, number).status == "created"


def test_a_partial_refund_from_the_shop_admin(mall: TestClient, huoqi: FakeHuoqi) -> None:
    number, _ = checkout(mall, {"S11": 1})  # 229.00
    number = number_of(huoqi, number)
    huoqi.pay(number)
    mall.post("/notify", content=(sent := huoqi.notification("order.paid", number))[0],
              headers=sent[1])  # fmt: skip
    admin = mall.get("/admin")
    assert 'data-test="merchant-balance">¥229.00' in admin.text
    refund_no = re.search(r'name="out_refund_no" value="([^"]+)"', admin.text)
    assert refund_no is not None
    form = {"csrf_token": csrf(mall), "out_trade_no": number, "out_refund_no": refund_no[1],
            "amount": "29.00", "reason": "scratched"}  # fmt: skip
    done = mall.post("/admin/refunds", data=form)
    assert f"Refund {refund_no[1]} accepted by Huoqi." in done.text
    again = mall.post("/admin/refunds", data=form)  # the same form sent twice
    assert again.status_code == 200
    assert len(huoqi.orders[number]["refunds"]) == 1
    assert 'data-test="merchant-balance">¥200.00' in again.text
    assert 'data-test="admin-status">Partly refunded' in again.text
    refund = {"out_refund_no": refund_no[1], "amount": money(2900)}
    body, headers = huoqi.notification("refund.succeeded", number, refund=refund)
    assert mall.post("/notify", content=body, headers=headers).status_code == 200
    page = mall.get("/admin")
    assert 'data-test="notification-refund.succeeded"' in page.text
    assert 'data-test="refund-status">Refunded' in page.text
    too_much = {**form, "out_refund_no": "R-SECOND", "amount": "500.00"}
    refused = mall.post("/admin/refunds", data=too_much)
    assert "Refund refused: more than is left" in refused.text
    assert len(huoqi.orders[number]["refunds"]) == 1
    bad_amount = mall.post(
        "/admin/refunds", data={**form, "out_refund_no": "R-3", "amount": "1.001"}
    )
    assert "Refund refused" in bad_amount.text
    engine = mall.app.state.services.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        kept = connection.execute(select(func.count()).select_from(store.mall_refunds)).scalar()
    assert kept == 2  # the accepted one and the refused one; the malformed one never left


def test_the_shop_admin_can_ask_for_a_password(huoqi: FakeHuoqi, tmp_path: Path) -> None:
    with mall_for(huoqi, tmp_path, admin_password="open-sesame") as mall:
        assert mall.get("/admin").status_code == 401
        assert mall.get("/admin", auth=("admin", "wrong")).status_code == 401
        assert mall.get("/admin", auth=("admin", "open-sesame")).status_code == 200


def test_settings_need_the_merchant_credentials() -> None:
    from huoqi.errors import InvalidInput

    with pytest.raises(InvalidInput, match="MALL_MERCHANT_ID"):
        MallSettings.from_env({})
    with pytest.raises(InvalidInput, match="MALL_HUOQI_URL"):
        MallSettings.from_env(
            {"MALL_MERCHANT_ID": "M1", "MALL_SECRET": "x", "MALL_HUOQI_URL": "ftp:x"}
        )
    settings = MallSettings.from_env({"MALL_MERCHANT_ID": "M1", "MALL_SECRET": "x"})
    assert (settings.huoqi_url, settings.public_url) == (
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8001",
    )
    assert settings.notify_url == "http://127.0.0.1:8001/notify"


def test_an_unknown_order_is_a_404_page(mall: TestClient) -> None:
    answer = mall.get("/orders/MALL-000000-00000000")
    assert answer.status_code == 404
    assert "There is no such page." in answer.text


def test_the_order_page_shows_the_shops_copy_when_huoqi_is_down(
    mall: TestClient, huoqi: FakeHuoqi
) -> None:
    number, _ = checkout(mall, {"K08": 1})
    number = number_of(huoqi, number)
    huoqi.down = True
    page = mall.get(f"/orders/{number}")
    assert page.status_code == 200
    assert "Huoqi cannot be reached right now" in page.text
    assert 'data-test="order-amount">¥169.00' in page.text


def test_the_language_switch_is_a_cookie(mall: TestClient) -> None:
    mall.get("/lang/zh", headers={"Referer": "/cart"}, follow_redirects=False)
    assert mall.cookies["lang"] == "zh"
    assert "购物车" in mall.get("/cart").text
    assert mall.get("/lang/fr", follow_redirects=False).status_code == 404
