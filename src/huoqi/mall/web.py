"""What every Mall page shares: the services on the app, rendering, forms and redirects.

The services hang on ``app.state`` (settings, engine, gateway, clock) so the routers stay
plain functions. Every form carries a CSRF token checked against a SameSite=Strict cookie
(double submit); the cart cookie only ever names products and quantities.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from huoqi.errors import HuoqiError
from huoqi.mall import catalog
from huoqi.mall.config import MallSettings
from huoqi.mall.gateway import Gateway
from huoqi.mall.i18n import Texts, pick_language
from huoqi.money import format_amount

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
CART_COOKIE = "mall_cart"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CSRF_COOKIE = "mall_csrf"


class CsrfFailed(HuoqiError):
    status = 403
    code = "csrf_failed"
    title = "CSRF token missing or wrong"


@dataclass(frozen=True, slots=True)
class Services:
    settings: MallSettings
    engine: Engine
    gateway: Gateway
    clock: Callable[[], datetime]


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def cny(fen: int) -> str:
    return format_amount(fen, grouped=True)


def shanghai(value: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as people in the shop's time zone read it (stored times are UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).strftime(pattern)


def texts_of(request: Request) -> Texts:
    return Texts(pick_language(request.cookies.get("lang"), request.headers.get("accept-language")))


def cart_of(request: Request) -> catalog.Cart:
    return catalog.parse_cart(request.cookies.get(CART_COOKIE))


def security_headers(settings: MallSettings) -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        # checkout's form answers with a redirect to Huoqi: form-action must allow it
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
            f"frame-ancestors 'none'; form-action 'self' {settings.huoqi_origin}"
        ),
    }


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> Response:
    texts = texts_of(request)
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    values = {
        "t": texts,
        "lang": texts.language,
        "csrf": csrf,
        "cny": cny,
        "shanghai": shanghai,
        "cart_count": sum(cart_of(request).values()),
        "path": request.url.path,
        "by_sku": catalog.BY_SKU,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, values, status_code=status)
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(CSRF_COOKIE, csrf, samesite="strict", httponly=True, path="/")
    response.headers.update(security_headers(services(request).settings))
    return response


async def form_of(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token matches the browser's cookie."""
    form = await request.form()
    token = str(form.get("csrf_token", ""))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(token.encode(), cookie.encode()):
        raise CsrfFailed("the form's CSRF token does not match this browser's")
    return {key: str(value) for key, value in form.items()}


def back_to(location: str, *, cart: catalog.Cart | None = None) -> Response:
    """A 303 to ``location``, with the cart cookie rewritten when ``cart`` is given."""
    response = RedirectResponse(location, status_code=303)
    if cart is not None:
        response.set_cookie(
            CART_COOKIE, catalog.format_cart(cart), samesite="lax", httponly=True, path="/"
        )
    return response
