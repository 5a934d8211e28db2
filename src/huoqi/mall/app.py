"""The Mall's web app: the pages (`pages`, `admin`) and ``POST /notify``, where Huoqi's
signed notifications arrive.

``/notify`` checks Huoqi's signature over the exact body, reads the event, and records it
once by its event id (a repeat is answered 2xx too, so Huoqi stops sending it); anything
unsigned or malformed is refused with a problem document and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from huoqi.errors import HuoqiError, NotFound
from huoqi.mall import admin, pages, store
from huoqi.mall.config import MallSettings
from huoqi.mall.events import BadNotification, parse_event
from huoqi.mall.gateway import Credentials, Gateway, NotificationRefused, verify_notification
from huoqi.mall.i18n import LANGUAGES
from huoqi.mall.web import Services, render, services

HERE = Path(__file__).parent


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: MallSettings,
    *,
    gateway: Gateway | None = None,
    clock: Callable[[], datetime] = _now,
) -> FastAPI:
    """The Mall for ``settings``; tests hand in a gateway over a fake transport."""
    app = FastAPI(title="Huoqi demo Mall", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = Services(
        settings=settings,
        engine=store.open_store(settings.database),
        gateway=gateway
        or Gateway(settings.huoqi_url, Credentials(settings.merchant_id, settings.secret)),
        clock=clock,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.add_exception_handler(HuoqiError, refused)  # type: ignore[arg-type]
    app.add_api_route("/notify", notify, methods=["POST"])
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/lang/{language}", switch_language, methods=["GET"])
    return app


def refused(request: Request, error: HuoqiError) -> Response:
    """Refusals: a problem document for ``/notify``, an error page for people."""
    if request.url.path == "/notify":
        return JSONResponse(error.as_problem(), status_code=error.status)
    key = {404: "error.not_found", 403: "error.csrf"}.get(error.status)
    answer = render(
        request, "error.html", {"message_key": key, "detail": error.detail}, status=error.status
    )
    if error.status == 401:
        answer.headers["WWW-Authenticate"] = 'Basic realm="shop admin"'
    return answer


async def notify(request: Request) -> Response:
    mall = services(request)
    body = await request.body()
    try:
        verify_notification(
            mall.settings.secret,
            headers=request.headers,
            path=request.url.path,
            query=request.url.query,
            body=body,
        )
        event = parse_event(body)
        if event.event_id != request.headers.get("huoqi-event-id"):
            raise BadNotification("the body's event_id is not the signed Huoqi-Event-Id")
    except (NotificationRefused, BadNotification) as error:
        return JSONResponse(error.as_problem(), status_code=error.status)
    new = store.record_notification(mall.engine, event, body, now=mall.clock())
    return JSONResponse({"received": event.event_id, "duplicate": not new})


def healthz() -> dict[str, str]:
    return {"status": "ok"}


def switch_language(language: str, request: Request) -> Response:
    if language not in LANGUAGES:
        raise NotFound(f"no language {language}")
    back = request.headers.get("referer") or "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie("lang", language, samesite="lax", path="/", max_age=365 * 86400)
    return response


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory huoqi.mall.app:app_from_env``."""
    return create_app(MallSettings.from_env())
