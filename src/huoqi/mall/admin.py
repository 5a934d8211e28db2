"""The shop admin: orders, the notifications Huoqi sent, the merchant balance, refunds.

A refund's number is made when the form is drawn, so a form sent twice asks the gateway
twice with one number, and Huoqi refunds once. With ``MALL_ADMIN_PASSWORD`` set the page
asks for HTTP Basic credentials (user ``admin``); without, it is open (a local demo).
"""

from __future__ import annotations

import base64
import hmac
import secrets
from contextlib import suppress
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from huoqi.errors import HuoqiError, InvalidInput
from huoqi.mall import store
from huoqi.mall.events import order_view
from huoqi.mall.gateway import GatewayRefused, GatewayUnavailable
from huoqi.mall.web import back_to, form_of, render, services
from huoqi.money import format_amount, parse_amount

router = APIRouter()


class AdminOnly(HuoqiError):
    status = 401
    code = "admin_only"
    title = "The shop admin needs its password"


def check_admin(request: Request) -> None:
    password = services(request).settings.admin_password
    if not password:
        return
    given = request.headers.get("authorization", "")
    expected = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise AdminOnly("sign in as admin with the password in MALL_ADMIN_PASSWORD")


def new_refund_number() -> str:
    return f"R-{secrets.token_hex(6).upper()}"


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, refunded: str = "", error: str = "") -> Response:
    check_admin(request)
    mall = services(request)
    balance: Any = None
    balance_error = ""
    try:
        balance = mall.gateway.balance()["balance"]
    except (GatewayRefused, GatewayUnavailable) as failure:
        balance_error = failure.detail
    context = {
        "balance": balance,
        "balance_error": balance_error,
        "orders": store.list_orders(mall.engine),
        "notifications": store.list_notifications(mall.engine),
        "refunds": store.list_refunds(mall.engine),
        "refunded": refunded,
        "error": error,
        "new_refund_no": new_refund_number,
    }
    return render(request, "admin.html", context)


@router.post("/admin/refunds")
async def refund(request: Request) -> Response:
    check_admin(request)
    form = await form_of(request)
    mall = services(request)
    number, refund_no = form.get("out_trade_no", ""), form.get("out_refund_no", "")
    reason = form.get("reason", "").strip()[:128]
    try:
        amount_fen = parse_amount(form.get("amount", ""))
        if not refund_no:
            raise InvalidInput("the form has no refund number; reload the page")
        store.get_order(mall.engine, number)
    except HuoqiError as failure:
        return back_to("/admin?" + urlencode({"error": failure.detail}))
    now = mall.clock()
    store.record_refund(
        mall.engine,
        out_refund_no=refund_no,
        out_trade_no=number,
        amount_fen=amount_fen,
        reason=reason,
        now=now,
    )
    try:
        mall.gateway.refund(
            number, out_refund_no=refund_no, amount=format_amount(amount_fen), reason=reason
        )
    except (GatewayRefused, GatewayUnavailable) as failure:
        store.mark_refund(mall.engine, refund_no, "refused")
        return back_to("/admin?" + urlencode({"error": failure.detail}))
    store.mark_refund(mall.engine, refund_no, "accepted")
    # the refund stands either way; the notification brings the order up to date too
    with suppress(GatewayRefused, GatewayUnavailable):
        store.follow(mall.engine, order_view(mall.gateway.order(number)), now=now)
    return back_to("/admin?" + urlencode({"refunded": refund_no}))
