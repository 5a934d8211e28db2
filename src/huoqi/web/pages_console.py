"""The operator console: ``/console``. Operators change things; auditors only look."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from huoqi.audit import log as audit
from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError
from huoqi.fund import close, registry, statements
from huoqi.fund.limits import instant_limits
from huoqi.fund.statements import SHANGHAI
from huoqi.identity import service as identity
from huoqi.money import format_amount, parse_amount
from huoqi.service import operator as ops
from huoqi.web import api_ops
from huoqi.web.charts import bar_chart, line_chart
from huoqi.web.context import Services, actor
from huoqi.web.pages import (
    PageError,
    checked_form,
    error_text,
    form_of,
    page_principal,
    parse_day,
    render,
    start_session,
    translator,
)

router = APIRouter(prefix="/console", include_in_schema=False)
STAFF = ("operator", "auditor")


def _ctx(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _today(ctx: Services) -> date:
    return ctx.clock().astimezone(SHANGHAI).date()


@router.get("")
def overview(
    request: Request, fund: str | None = None, days: Annotated[int, Query(ge=7, le=366)] = 30
) -> Response:
    principal = page_principal(request, *STAFF)
    ctx = _ctx(request)
    t = translator(request)
    today = _today(ctx)
    with read_transaction(ctx.engine) as connection:
        funds = registry.list_funds(connection)
        if not funds:
            return render(
                request, "console/overview.html", {"funds": [], "status": []}, principal=principal
            )
        chosen = next((f for f in funds if f.code == fund), funds[0])
        rows = ops.daily_reports(
            connection, fund_code=chosen.code, start=today - timedelta(days=days), end=today
        )
        yields = {}
        for each in funds:
            found = statements.fund_yields(
                connection, each, start=today - timedelta(days=10), end=today
            )
            yields[each.code] = found[-1].yield_7d if found else None
        users = ops.count_users(connection)
    status = close.status(ctx.engine)
    points = [(date.fromisoformat(r["date"]), int(r["aum_shares"])) for r in rows]
    flows = [
        (
            date.fromisoformat(r["date"]),
            int(r["purchases_confirmed"])
            + int(r["redemptions_confirmed"])
            + int(r["instant_redemptions"]),
        )
        for r in rows
    ]
    return render(
        request,
        "console/overview.html",
        {
            "funds": funds,
            "chosen": chosen,
            "rows": list(reversed(rows)),
            "days": days,
            "status": status,
            "yields": yields,
            "users": users,
            "aum_chart": line_chart(
                points, label=lambda v: format_amount(int(v), grouped=True), title=t("console.aum")
            ),
            "flow_chart": bar_chart(
                flows, label=lambda v: format_amount(int(v), grouped=True), title=t("console.flows")
            ),
        },
        principal=principal,
    )


@router.get("/income")
def income_page(request: Request) -> Response:
    principal = page_principal(request, *STAFF)
    with read_transaction(_ctx(request).engine) as connection:
        funds = registry.list_funds(connection)
    return render(request, "console/income.html", {"funds": funds}, principal=principal)


@router.post("/income")
async def upload_income(request: Request) -> Response:
    principal = page_principal(request, "operator")
    form = await checked_form(request)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("file")
    text = fields.get("text", "")
    if upload is not None and not isinstance(upload, str):
        raw = await upload.read()
        if raw:
            text = raw.decode("utf-8", errors="replace")
    ctx = _ctx(request)
    answer = api_ops.income_report(
        ctx, fields.get("fund_code", ""), text, actor(request, principal)
    )
    report = json.loads(bytes(answer.body))
    with read_transaction(ctx.engine) as connection:
        funds = registry.list_funds(connection)
    return render(
        request,
        "console/income.html",
        {"funds": funds, "report": report, "chosen": fields.get("fund_code")},
        status=answer.status_code,
        principal=principal,
    )


@router.get("/close")
def close_page(request: Request) -> Response:
    principal = page_principal(request, *STAFF)
    ctx = _ctx(request)
    with read_transaction(ctx.engine) as connection:
        funds = registry.list_funds(connection)
    return render(
        request,
        "console/close.html",
        {
            "funds": funds,
            "status": close.status(ctx.engine),
            "jobs": ctx.jobs.recent(),
            "yesterday": _today(ctx) - timedelta(days=1),
            "now": ctx.clock(),
        },
        principal=principal,
    )


@router.post("/close")
async def start_close(request: Request) -> Response:
    form = await form_of(request)
    principal = page_principal(request, "operator")
    ctx = _ctx(request)
    through = parse_day(form.get("through")) or _today(ctx) - timedelta(days=1)
    fund = form.get("fund_code") or None
    try:
        job = ctx.jobs.start_close(through=through, fund=fund, actor=actor(request, principal))
    except HuoqiError as error:
        return render(
            request,
            "error.html",
            {"message": error_text(translator(request), error)},
            status=error.status,
            principal=principal,
        )
    return RedirectResponse(f"/console/close/{job.id}", status_code=303)


@router.get("/close/{job_id}")
def close_job(request: Request, job_id: int) -> Response:
    principal = page_principal(request, *STAFF)
    try:
        job = _ctx(request).jobs.get(job_id)
    except HuoqiError:
        raise PageError(404, "error.not_found") from None
    return render(request, "console/close_job.html", {"job": job}, principal=principal)


@router.post("/demo-clock")
async def move_clock(request: Request) -> Response:
    await form_of(request)
    principal = page_principal(request, "operator")
    ctx = _ctx(request)
    if ctx.demo_clock is None:
        raise PageError(404, "error.not_found")
    now = ctx.demo_clock.advance(timedelta(days=1))
    # A day later the operator's own 12-hour cookie session has expired, so this click
    # would sign them out: swap it for a fresh one. Other sessions age as they would.
    who = actor(request, principal)

    def renew(connection: Connection) -> identity.NewSession:
        identity.sign_out(connection, principal.session_id, now=now)
        new = identity.open_session(
            connection, principal.user, kind="cookie", address=who.address, now=now
        )
        audit.record(
            connection,
            who,
            "demo_clock.move",
            now=now,
            object_type="session",
            object_id=new.principal.session_id,
            detail={"now": now.isoformat()},
        )
        return new

    fresh = ctx.writer.run(renew)
    response = RedirectResponse("/console/close", status_code=303)
    start_session(request, response, fresh.token, fresh.expires_at)
    return response


@router.get("/limits")
def limits_page(request: Request, saved: int = 0) -> Response:
    principal = page_principal(request, *STAFF)
    with read_transaction(_ctx(request).engine) as connection:
        limits = instant_limits(connection)
    return render(
        request,
        "console/limits.html",
        {"limits": limits, "saved": bool(saved)},
        principal=principal,
    )


@router.post("/limits")
async def save_limits(request: Request) -> Response:
    form = await form_of(request)
    principal = page_principal(request, "operator")
    ctx = _ctx(request)
    who = actor(request, principal)
    try:
        per_holder = parse_amount(form.get("per_customer", ""), allow_zero=True)
        platform = parse_amount(form.get("platform", ""), allow_zero=True)
        ctx.writer.run(
            lambda c: ops.change_limits(
                c, per_holder_daily=per_holder, platform_daily=platform, actor=who, now=ctx.clock()
            ),
        )
    except HuoqiError as error:
        with read_transaction(ctx.engine) as connection:
            limits = instant_limits(connection)
        return render(
            request,
            "console/limits.html",
            {"limits": limits, "error": error_text(translator(request), error)},
            status=error.status,
            principal=principal,
        )
    return RedirectResponse("/console/limits?saved=1", status_code=303)


@router.get("/audit")
def audit_page(
    request: Request,
    before: Annotated[int | None, Query(ge=1)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    principal = page_principal(request, *STAFF)
    with read_transaction(_ctx(request).engine) as connection:
        rows = audit.read(connection, before_id=before, limit=51, action=action or None)
    return render(
        request,
        "console/audit.html",
        {
            "rows": rows[:50],
            "older": rows[49].id if len(rows) > 50 else None,
            "action": action or "",
        },
        principal=principal,
    )


@router.get("/users")
def users_page(
    request: Request,
    phone: Annotated[str | None, Query(max_length=20)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    principal = page_principal(request, *STAFF)
    ctx = _ctx(request)
    error = None
    cards: list[ops.UserCard] = []
    try:
        with read_transaction(ctx.engine) as connection:
            cards = ops.find_users(
                connection, phone=phone or None, before_id=before, limit=31, now=ctx.clock()
            )
    except HuoqiError as refused:
        error = error_text(translator(request), refused)
    return render(
        request,
        "console/users.html",
        {
            "cards": cards[:30],
            "older": cards[29].id if len(cards) > 30 else None,
            "phone": phone or "",
            "error": error,
        },
        principal=principal,
    )
