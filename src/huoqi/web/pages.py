"""Server-rendered pages: the customer app (``/app``) and the operator console (``/console``).

Pages are Jinja templates over the same service functions as the API, with no front-end
framework: they work without JavaScript, load fast on a phone, and every form carries its
CSRF token and, where it moves money, an idempotency key made when the form was drawn, so
a double-clicked or resent form cannot buy twice.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from huoqi.errors import HuoqiError
from huoqi.fund.statements import SHANGHAI
from huoqi.identity.service import Principal, SessionExpired, Unauthenticated
from huoqi.money import format_amount
from huoqi.web.context import CSRF_COOKIE, SESSION_COOKIE, check_csrf, principal_of
from huoqi.web.i18n import LANGUAGES, Translator, pick_language
from huoqi.web.problems import problem_response

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}


class SignInNeeded(Exception):
    def __init__(self, expired: bool = False, next_page: str = "") -> None:
        self.expired = expired
        self.next_page = next_page


def safe_next(path: str) -> str:
    """A page to go back to after signing in: a path on this site, never another site."""
    ok = path.startswith("/app/") and not path.startswith("//") and "\\" not in path
    return path if ok and len(path) <= 200 else ""


class PageError(Exception):
    def __init__(self, status: int, message_key: str) -> None:
        self.status = status
        self.message_key = message_key


def cny(fen: int) -> str:
    return format_amount(fen, grouped=True)


def shanghai(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.3f}%"


def translator(request: Request) -> Translator:
    return Translator(
        pick_language(request.cookies.get("lang"), request.headers.get("accept-language"))
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    t = translator(request)
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    values = {
        "t": t,
        "lang": t.language,
        "csrf": csrf,
        "principal": principal,
        "cny": cny,
        "shanghai": shanghai,
        "percent": percent,
        "new_key": secrets.token_hex(16),
        "path": request.url.path,
        "demo_clock": request.app.state.services.demo_clock,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, values, status_code=status)
    if CSRF_COOKIE not in request.cookies:
        _set_csrf_cookie(request, response, csrf)
    response.headers.update(SECURITY_HEADERS)
    return response


def _set_csrf_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        value,
        httponly=False,
        samesite="strict",
        path="/",
        secure=request.app.state.services.secure_cookies,
    )


def start_session(request: Request, response: Response, token: str, expires: datetime) -> None:
    """The session cookie (HttpOnly: scripts never see it) and a fresh CSRF token.

    The cookie's lifetime is relative (Max-Age): the server's clock may be a demo clock
    far from the browser's."""
    services = request.app.state.services
    lifetime = int((expires - services.clock()).total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=services.secure_cookies,
        max_age=max(lifetime, 0),
    )
    _set_csrf_cookie(request, response, secrets.token_urlsafe(24))


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def page_principal(request: Request, *roles: str) -> Principal:
    """The signed-in user of a page, or a redirect to sign in; wrong role → 403 page."""
    try:
        principal = principal_of(request)
    except SessionExpired:
        raise SignInNeeded(expired=True) from None
    except Unauthenticated:
        raise SignInNeeded() from None
    if principal is None:
        back = request.url.path if request.method == "GET" else ""
        raise SignInNeeded(next_page=safe_next(back))
    if roles and principal.user.role not in roles:
        raise PageError(403, "error.forbidden")
    return principal


async def checked_form(request: Request) -> FormData:
    """The posted form, files included, after its CSRF token is checked."""
    form = await request.form()
    token = form.get("csrf_token")
    check_csrf(request, token if isinstance(token, str) else None)
    return form


async def form_of(request: Request) -> dict[str, str]:
    """The posted form's text fields, after its CSRF token is checked."""
    form = await checked_form(request)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def error_text(t: Translator, error: HuoqiError) -> str:
    return t.error(error.code, error.detail)


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def install(app: FastAPI) -> None:
    from huoqi.web import (
        pages_checkout,
        pages_console,
        pages_credit,
        pages_customer,
        pages_payments_console,
        pages_reconcile,
    )

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages_customer.router)
    app.include_router(pages_credit.customer_router)
    app.include_router(pages_credit.console_router)
    app.include_router(pages_checkout.router)
    app.include_router(pages_payments_console.router)
    app.include_router(pages_console.router)
    app.include_router(pages_reconcile.router)

    @app.exception_handler(SignInNeeded)
    async def to_sign_in(request: Request, error: SignInNeeded) -> Response:
        query = {"expired": "1"} if error.expired else {}
        if error.next_page:
            query["next"] = error.next_page
        target = "/app/sign-in" + (f"?{urlencode(query)}" if query else "")
        response = RedirectResponse(target, status_code=303)
        if error.expired:
            end_session(response)
        return response

    @app.exception_handler(HuoqiError)
    async def refused(request: Request, error: HuoqiError) -> Response:
        if request.url.path.startswith(("/app", "/console")):
            return render(
                request,
                "error.html",
                {"message": error_text(translator(request), error)},
                status=error.status,
            )
        return problem_response(error)

    @app.exception_handler(PageError)
    async def page_error(request: Request, error: PageError) -> Response:
        return render(
            request, "error.html", {"message_key": error.message_key}, status=error.status
        )

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/app", status_code=303)

    @app.get("/lang/{language}", include_in_schema=False)
    def switch_language(language: str, request: Request) -> Response:
        back = request.headers.get("referer", "/app")
        target = back if back.startswith(str(request.base_url)) else "/app"
        response = RedirectResponse(target, status_code=303)
        if language in LANGUAGES:
            response.set_cookie("lang", language, samesite="lax", path="/", max_age=31536000)
        return response
