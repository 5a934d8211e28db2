"""The console's payments page: ``/console/payments``.

Merchants and their applications (approve with a fee rate, which shows the secret once, or
reject), the daily limit for paying from the balance, running a day's settlement, and the
notification outbox (resend what was not delivered). Operators change; auditors look.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from huoqi.audit.log import record
from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError, InvalidInput, NotFound
from huoqi.money import parse_amount
from huoqi.payments import merchants, outbox, paying, service, settlement
from huoqi.web.context import Services, actor
from huoqi.web.pages import error_text, form_of, page_principal, parse_day, render, translator

router = APIRouter(prefix="/console/payments", include_in_schema=False)
STAFF = ("operator", "auditor")


def _ctx(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _page(request: Request, *, status: int = 200, **extra: object) -> Response:
    principal = page_principal(request, *STAFF)
    ctx = _ctx(request)
    with read_transaction(ctx.engine) as connection:
        listed = merchants.list_merchants(connection)
        balances = {m.id: settlement.unsettled_balance(connection, m) for m in listed if m.active}
        notifications = outbox.notifications_of(connection, limit=30)
        limit = paying.daily_limit(connection)
    codes = {m.id: m.code for m in listed}
    yesterday = (ctx.clock() - timedelta(days=1)).date()
    values = {
        "merchants": listed, "balances": balances, "notifications": notifications,
        "codes": codes, "limit": limit, "yesterday": yesterday, **extra,
    }  # fmt: skip
    return render(request, "console/payments.html", values, status=status, principal=principal)


@router.get("")
def payments_page(request: Request, done: str = "") -> Response:
    return _page(request, done=done)


async def _operator_action(request: Request, work: object, done: str) -> Response:
    principal = page_principal(request, "operator")
    ctx = _ctx(request)
    try:
        result = ctx.writer.run(lambda c: work(c, actor(request, principal), ctx.clock()))  # type: ignore[operator]
    except HuoqiError as error:
        return _page(request, status=error.status, error=error_text(translator(request), error))
    if isinstance(result, str):  # a secret to show once
        return _page(request, done=done, secret=result)
    return RedirectResponse(f"/console/payments?done={done}", status_code=303)


@router.post("/merchants/{code}/approve")
async def approve(request: Request, code: str) -> Response:
    form = await form_of(request)
    text = form.get("fee_rate_bp", "").strip()
    if not text.isdigit():
        return _page(request, status=422, error=translator(request)("payments.fee_invalid"))
    rate = int(text)

    def work(connection, who, now):  # type: ignore[no-untyped-def]
        merchant, secret = service.decide_merchant(
            connection, code, approve=True, fee_rate_bp=rate, actor=who, now=now
        )
        return f"{merchant.code}: {secret}"

    return await _operator_action(request, work, "approved")


@router.post("/merchants/{code}/reject")
async def reject(request: Request, code: str) -> Response:
    form = await form_of(request)

    def work(connection, who, now):  # type: ignore[no-untyped-def]
        service.decide_merchant(connection, code, approve=False, fee_rate_bp=None, actor=who,
                                now=now, note=form.get("note", ""))  # fmt: skip

    return await _operator_action(request, work, "rejected")


@router.post("/limit")
async def save_limit(request: Request) -> Response:
    form = await form_of(request)

    def work(connection, who, now):  # type: ignore[no-untyped-def]
        fen = parse_amount(form.get("limit", ""), allow_zero=True)
        paying.set_daily_limit(connection, fen)
        record(connection, who, "payment.limit", now=now, object_type="setting",
               object_id=paying.LIMIT_KEY, detail={"fen": fen})  # fmt: skip

    return await _operator_action(request, work, "limit")


@router.post("/settle")
async def settle(request: Request) -> Response:
    form = await form_of(request)
    day = parse_day(form.get("date"))

    def work(connection, who, now):  # type: ignore[no-untyped-def]
        if day is None:
            raise InvalidInput("choose a business day (YYYY-MM-DD)")
        made = settlement.settle_all(connection, day, now=now)
        record(connection, who, "settlement.run", now=now, object_type="business_date",
               object_id=day.isoformat(), detail={"settlements": len(made)})  # fmt: skip

    return await _operator_action(request, work, "settled")


@router.post("/notifications/{event_id}/resend")
async def resend(request: Request, event_id: str) -> Response:
    await form_of(request)

    def work(connection, who, now):  # type: ignore[no-untyped-def]
        if not outbox.resend(connection, event_id, now=now):
            raise NotFound(f"no undelivered notification {event_id}")
        record(connection, who, "notification.resend", now=now, object_type="notification",
               object_id=event_id)  # fmt: skip

    response = await _operator_action(request, work, "resent")
    _ctx(request).notifier_wake()
    return response
