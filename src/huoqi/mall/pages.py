"""The customer's pages: the shop, the cart, checkout through Huoqi and the order page.

Checkout records the shop's order, asks the gateway for it and sends the browser to
Huoqi's checkout page (an absolute URL: Huoqi's base URL and the order's
``checkout_url``). Huoqi sends the customer back to ``/orders/{out_trade_no}``, which asks
the gateway how the order stands and keeps the answer (never going backwards).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from huoqi.mall import catalog, store
from huoqi.mall.events import order_view
from huoqi.mall.gateway import GatewayRefused, GatewayUnavailable
from huoqi.mall.web import back_to, cart_of, form_of, render, services, texts_of

router = APIRouter()


def new_trade_number(now: datetime) -> str:
    """The shop's order number (the gateway's idempotency key): ``MALL-261125-1A2B3C4D``."""
    return f"MALL-{now.astimezone(UTC):%y%m%d}-{secrets.token_hex(4).upper()}"


@router.get("/", response_class=HTMLResponse)
def shop(request: Request, added: str = "") -> Response:
    return render(request, "shop.html", {"products": catalog.PRODUCTS, "added": added})


@router.post("/cart/add")
async def add(request: Request) -> Response:
    form = await form_of(request)
    sku = form.get("sku", "")
    return back_to(f"/?added={sku}", cart=catalog.add_to_cart(cart_of(request), sku))


@router.post("/cart/set")
async def set_quantity(request: Request) -> Response:
    form = await form_of(request)
    quantity = form.get("quantity", "0").strip()
    cart = catalog.set_quantity(
        cart_of(request), form.get("sku", ""), int(quantity) if quantity.isdigit() else 0
    )
    return back_to("/cart", cart=cart)


def cart_page(request: Request, *, error: str = "", status: int = 200) -> Response:
    lines = catalog.cart_lines(cart_of(request))
    context = {"lines": lines, "total": catalog.total_fen(lines), "error": error}
    return render(request, "cart.html", context, status=status)


@router.get("/cart", response_class=HTMLResponse)
def cart(request: Request) -> Response:
    return cart_page(request)


@router.post("/checkout")
async def checkout(request: Request) -> Response:
    await form_of(request)
    lines = catalog.cart_lines(cart_of(request))
    if not lines:
        return back_to("/cart")
    mall = services(request)
    texts = texts_of(request)
    now = mall.clock()
    number = new_trade_number(now)
    description = catalog.describe(lines, texts.language)
    store.record_order(
        mall.engine, out_trade_no=number, lines=lines, description=description, now=now
    )
    try:
        answer = mall.gateway.create_order(
            out_trade_no=number,
            amount=catalog.amount_text(catalog.total_fen(lines)),
            description=description,
            notify_url=mall.settings.notify_url,
            return_url=mall.settings.return_url(number),
        )
    except (GatewayRefused, GatewayUnavailable) as error:
        message = texts("checkout.failed", detail=error.detail)
        return cart_page(request, error=message, status=502)
    store.follow(mall.engine, order_view(answer), now=mall.clock())
    return back_to(mall.gateway.absolute(answer["checkout_url"]), cart={})


@router.get("/orders/{out_trade_no}", response_class=HTMLResponse)
def order(out_trade_no: str, request: Request) -> Response:
    mall = services(request)
    kept = store.get_order(mall.engine, out_trade_no)
    answer: Any = None
    try:
        answer = mall.gateway.order(out_trade_no)
        kept = store.follow(mall.engine, order_view(answer), now=mall.clock())
    except (GatewayRefused, GatewayUnavailable):
        answer = None  # the page shows the shop's last copy and says so
    context = {
        "order": kept,
        "remote": answer,
        "checkout_url": mall.gateway.absolute(answer["checkout_url"]) if answer else "",
    }
    return render(request, "order.html", context)
