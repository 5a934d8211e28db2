"""The Huoqi web service: the API, the customer app, the operator console, operations.

`create_app` wires one `Services` (engine, clock, bank, close jobs) into FastAPI. Every
route is a thin layer over `huoqi.service` and the feature packages; nothing here holds
business rules.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from huoqi import __version__
from huoqi.db.engine import make_engine
from huoqi.fund.calendar import default_calendar
from huoqi.ledger.service import utc_now
from huoqi.payments.notify import Notifier
from huoqi.web import (
    api_account,
    api_credit,
    api_funds,
    api_gateway,
    api_identity,
    api_ops,
    api_payments,
    api_reconcile,
    problems,
)
from huoqi.web.bank import AnsweringBank
from huoqi.web.clock import DemoClock
from huoqi.web.context import Ctx, Operator, Services
from huoqi.web.jobs import Jobs
from huoqi.web.observability import Metrics, ServiceMiddleware
from huoqi.web.problems import ApiProblem
from huoqi.web.writer import Writer

MAX_BODY = 64 * 1024
DESCRIPTION = """
Huoqi's HTTP API: a money-market-fund current account on a double-entry ledger.

* Amounts are decimal text in CNY (`"100.00"`); answers also give exact integer fen.
* Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`.
* Money-moving POSTs need an `Idempotency-Key` header: the same key and body answer the
  first response again (header `Idempotent-Replayed: true`); the same key with another
  body answers 409.
* Sign in with `POST /api/v1/sessions` and send `Authorization: Bearer <token>`.
* Lists are paged with `?cursor=` from the previous page's `next_cursor`.
"""


@dataclass(frozen=True)
class WebSettings:
    database_url: str | None = None
    bank_delay: float = 0.2
    demo_clock_start: datetime | None = None
    secure_cookies: bool = False
    prepare_demo: bool = False  # register the demo funds and logins at start
    notify_poll: float = 1.0  # seconds between outbox checks; 0 sends no notifications

    @classmethod
    def from_env(cls) -> WebSettings:
        start = os.environ.get("HUOQI_DEMO_CLOCK_START", "").strip()
        demo = os.environ.get("HUOQI_DEMO_CLOCK", "") == "1" or bool(start)
        return cls(
            bank_delay=float(os.environ.get("HUOQI_BANK_DELAY", "0.2")),
            demo_clock_start=(datetime.fromisoformat(start) if start else utc_now())
            if demo
            else None,
            secure_cookies=os.environ.get("HUOQI_SECURE_COOKIES", "") == "1",
            prepare_demo=os.environ.get("HUOQI_DEMO_SETUP", "") == "1",
            notify_poll=float(os.environ.get("HUOQI_NOTIFY_POLL", "1.0")),
        )


class ClockMove(BaseModel):
    days: int = Field(ge=1, le=31)


def create_app(settings: WebSettings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or WebSettings.from_env()
    engine = engine or make_engine(settings.database_url)
    demo_clock = DemoClock(settings.demo_clock_start) if settings.demo_clock_start else None
    clock = demo_clock or utc_now
    default_calendar()  # built now, not inside the first purchase (it takes a second or two)
    writer = Writer(engine)
    services = Services(
        engine=engine,
        clock=clock,
        bank=AnsweringBank(writer.run, clock, settings.bank_delay),
        jobs=Jobs(engine, clock),
        secure_cookies=settings.secure_cookies,
        demo_clock=demo_clock,
        writer=writer,
    )
    services.bank.wake_after_card_answers = services.notifier_wake
    if settings.notify_poll > 0:
        services.notifier = Notifier(writer.run, clock, poll=settings.notify_poll)
        services.notifier.start()
    if settings.prepare_demo:
        from huoqi.service.demo_setup import prepare_fresh_platform, seed_demo_logins

        prepare_fresh_platform(engine, clock)
        seed_demo_logins(engine, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if os.environ.get("HUOQI_SERVING") == "1":
            # A served process keeps what it built at start for good: move it out of the
            # collector's sight and collect the young generation less often, so a request
            # does not pay for a full collection of the whole heap (tens of ms) now and then.
            gc.collect()
            gc.freeze()
            gc.set_threshold(20_000, 20, 20)
        yield
        if services.notifier is not None:
            services.notifier.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Huoqi",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    metrics = Metrics()
    app.state.metrics = metrics
    problems.install(app)
    problems.document(app)
    # routes are matched in order: the busiest (paying, the account) first
    for router in (
        api_payments.router, api_account.router, api_gateway.router, api_identity.router,
        api_funds.router, api_ops.router, api_reconcile.router, api_credit.router,
    ):  # fmt: skip
        app.include_router(router)
    _operations(app, engine, metrics)
    if demo_clock is not None:
        _demo_clock(app)
    from huoqi.web import pages

    pages.install(app)
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body=MAX_BODY,
        large_body_paths=(
            "/api/v1/ops/funds/",
            "/console/income",
            "/api/v1/ops/reconciliation/",
            "/console/reconciliation",
        ),
    )
    return app


def _operations(app: FastAPI, engine: Engine, metrics: Metrics) -> None:
    @app.get(
        "/healthz",
        tags=["operations"],
        summary="The process answers",
        response_class=PlainTextResponse,
    )
    def healthz() -> str:
        return "ok"

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The database answers, schema at head",
        response_class=PlainTextResponse,
        responses={"503": {"description": "not ready"}},
    )
    def readyz() -> Response:
        from huoqi.db.migrate import head

        try:
            with engine.connect() as connection:
                current = connection.execute(
                    text("SELECT version_num FROM alembic_version")
                ).scalar_one_or_none()
        except Exception as error:
            return PlainTextResponse(f"database unavailable: {type(error).__name__}", 503)
        if current != head():
            return PlainTextResponse(f"schema at {current}, expected {head()}", 503)
        return PlainTextResponse("ready")

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
    )
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _demo_clock(app: FastAPI) -> None:
    @app.post(
        "/api/v1/ops/demo-clock",
        tags=["operations"],
        summary="Demo only: move the clock forward by whole days",
    )
    def move_clock(body: ClockMove, principal: Operator, ctx: Ctx) -> dict[str, str]:
        if ctx.demo_clock is None:
            raise ApiProblem(404, "not_found", "the demo clock is off")
        now = ctx.demo_clock.advance(timedelta(days=body.days))
        return {"now": now.isoformat()}
