"""The customer app: ``/app`` (mobile first, Chinese or English)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError
from huoqi.fund import registry, statements
from huoqi.fund.calendar import default_calendar
from huoqi.fund.statements import SHANGHAI
from huoqi.identity.service import Principal
from huoqi.money import InvalidAmount, format_amount
from huoqi.service import customer as customer_service
from huoqi.web import api_account, api_identity
from huoqi.web.charts import bar_chart, line_chart
from huoqi.web.context import Services, client_address
from huoqi.web.pages import (
    PageError,
    end_session,
    error_text,
    form_of,
    page_principal,
    percent,
    render,
    safe_next,
    start_session,
    translator,
)
from huoqi.web.schemas import AmountIn, PasswordChangeIn, RedeemIn, SignUpIn, SwitchIn

router = APIRouter(prefix="/app", include_in_schema=False)


def _ctx(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _home_for(principal: Principal) -> str:
    return "/app" if principal.user.role == "customer" else "/console"


def _amount(text: str) -> AmountIn:
    try:
        return AmountIn(amount=text)
    except ValidationError:
        raise InvalidAmount(
            f"'{text[:20]}' is not an amount: use digits with up to two decimals, e.g. 100.00"
        ) from None


# --- signing in and out ---------------------------------------------------------------


@router.get("/sign-in")
def sign_in_page(request: Request, expired: int = 0, next: str = "") -> Response:
    return render(request, "app/sign_in.html", {"expired": bool(expired), "next": safe_next(next)})


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await form_of(request)
    t = translator(request)
    try:
        new = api_identity.sign_in(
            _ctx(request),
            form.get("phone", ""),
            form.get("password", ""),
            kind="cookie",
            address=client_address(request),
        )
    except HuoqiError as error:
        return render(
            request,
            "app/sign_in.html",
            {"error": error_text(t, error), "phone": form.get("phone", ""),
             "next": safe_next(form.get("next", ""))},
            status=error.status,
        )  # fmt: skip
    back = safe_next(form.get("next", "")) if new.principal.user.role == "customer" else ""
    response = RedirectResponse(back or _home_for(new.principal), status_code=303)
    start_session(request, response, new.token, new.expires_at)
    return response


@router.get("/sign-up")
def sign_up_page(request: Request) -> Response:
    with read_transaction(_ctx(request).engine) as connection:
        funds = registry.list_funds(connection)
    return render(request, "app/sign_up.html", {"funds": funds})


@router.post("/sign-up")
async def sign_up(request: Request) -> Response:
    form = await form_of(request)
    ctx = _ctx(request)
    t = translator(request)
    try:
        body = SignUpIn(
            phone=form.get("phone", ""),
            password=form.get("password", ""),
            display_name=form.get("display_name", ""),
            fund_code=form.get("fund_code", "HQ001"),
        )
        api_identity.sign_up_customer(ctx, body, client_address(request))
        new = api_identity.sign_in(
            ctx, body.phone, body.password, kind="cookie", address=client_address(request)
        )
    except (HuoqiError, ValidationError) as error:
        message = (
            error_text(t, error)
            if isinstance(error, HuoqiError)
            else t.error("weak_password", "check the phone number and the password")
        )
        with read_transaction(ctx.engine) as connection:
            funds = registry.list_funds(connection)
        return render(
            request,
            "app/sign_up.html",
            {"error": message, "funds": funds, "phone": form.get("phone", "")},
            status=422,
        )
    response = RedirectResponse("/app", status_code=303)
    start_session(request, response, new.token, new.expires_at)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    await form_of(request)
    principal = page_principal(request)
    api_identity.sign_out(_ctx(request), principal, client_address(request))
    response = RedirectResponse("/app/sign-in", status_code=303)
    end_session(response)
    return response


# --- home, charts, movements ------------------------------------------------------------


@router.get("")
def home(request: Request, days: Annotated[int, Query(ge=7, le=90)] = 30) -> Response:
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    t = translator(request)
    today = ctx.clock().astimezone(SHANGHAI).date()
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        summary = statements.summary(connection, holder, now=ctx.clock())
        yields = statements.fund_yields(
            connection, summary.fund, start=today - timedelta(days=days), end=today
        )
        income = statements.income_by_day(
            connection, holder, today - timedelta(days=days), today - timedelta(days=1)
        )
        recent = statements.orders_page(connection, holder, before_id=None, limit=5)
    yield_points = [(row.date, row.yield_7d) for row in yields if row.yield_7d is not None]
    return render(
        request,
        "app/home.html",
        {
            "summary": summary,
            "recent": recent,
            "days": days,
            "yield_chart": line_chart(
                yield_points, label=lambda v: f"{Decimal(v):.3f}", title=t("chart.yield7")
            ),
            "income_chart": bar_chart(
                income, label=lambda v: format_amount(int(v)), title=t("chart.income")
            ),
            "yield_text": percent(summary.yield_7d),
        },
        principal=principal,
    )


@router.get("/orders")
def orders(request: Request, before: Annotated[int | None, Query(ge=1)] = None) -> Response:
    principal = page_principal(request, "customer")
    with read_transaction(_ctx(request).engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        page = statements.orders_page(connection, holder, before_id=before, limit=21)
        codes = {fund.id: fund.code for fund in registry.list_funds(connection)}
    return render(
        request,
        "app/orders.html",
        {
            "orders": page[:20],
            "older": page[19].id if len(page) > 20 else None,
            "codes": codes,
        },
        principal=principal,
    )


@router.get("/orders/{order_id}")
def order(request: Request, order_id: int) -> Response:
    principal = page_principal(request, "customer")
    with read_transaction(_ctx(request).engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        found = statements.order_of(connection, holder, order_id)
        codes = {fund.id: fund.code for fund in registry.list_funds(connection)}
    if found is None:
        raise PageError(404, "error.not_found")
    return render(request, "app/order.html", {"order": found, "codes": codes}, principal=principal)


@router.get("/income")
def income(request: Request, days: Annotated[int, Query(ge=7, le=366)] = 30) -> Response:
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    t = translator(request)
    end = ctx.clock().astimezone(SHANGHAI).date() - timedelta(days=1)
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        rows = statements.income_by_day(connection, holder, end - timedelta(days=days - 1), end)
        fund = registry.fund_by_id(connection, holder.fund_id)
        published = statements.fund_yields(
            connection, fund, start=end - timedelta(days=days - 1), end=end
        )
    figures = {row.date: row for row in published}
    return render(
        request,
        "app/income.html",
        {
            "fund": fund,
            "figures": figures,
            "rows": list(reversed(rows)),
            "days": days,
            "total": sum(v for _, v in rows),
            "chart": bar_chart(
                rows, label=lambda v: format_amount(int(v)), title=t("chart.income")
            ),
        },
        principal=principal,
    )


# --- money movements ---------------------------------------------------------------------


def _order_id(response: Response) -> int:
    return int(json.loads(bytes(response.body))["id"])


@router.get("/buy")
def buy_page(request: Request) -> Response:
    principal = page_principal(request, "customer")
    dates = default_calendar().purchase_dates(_ctx(request).clock())
    return render(request, "app/buy.html", {"dates": dates}, principal=principal)


@router.post("/buy")
async def buy(request: Request) -> Response:
    form = await form_of(request)
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    try:
        answer = api_account.purchase(
            ctx,
            request,
            principal,
            form.get("idempotency_key", ""),
            _amount(form.get("amount", "")),
        )
    except HuoqiError as error:
        dates = default_calendar().purchase_dates(ctx.clock())
        return render(
            request,
            "app/buy.html",
            {
                "dates": dates,
                "error": error_text(translator(request), error),
                "amount": form.get("amount", ""),
            },
            status=error.status,
            principal=principal,
        )
    return RedirectResponse(f"/app/orders/{_order_id(answer)}?new=1", status_code=303)


def _redeem_form(
    request: Request,
    principal: Principal,
    *,
    mode: str = "instant",
    amount: str = "",
    error: HuoqiError | None = None,
) -> Response:
    """The redemption form with the balance and instant limit left, and why it was refused."""
    ctx = _ctx(request)
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        summary = statements.summary(connection, holder, now=ctx.clock())
    context = {"summary": summary, "mode": mode, "amount": amount}
    if error is not None:
        context["error"] = error_text(translator(request), error)
    return render(
        request,
        "app/redeem.html",
        context,
        principal=principal,
        status=error.status if error else 200,
    )


@router.get("/redeem")
def redeem_page(request: Request) -> Response:
    return _redeem_form(request, page_principal(request, "customer"))


@router.post("/redeem/review")
async def redeem_review(request: Request) -> Response:
    form = await form_of(request)
    principal = page_principal(request, "customer")
    mode = "instant" if form.get("mode") == "instant" else "normal"
    try:
        fen = _amount(form.get("amount", "")).fen()
        quote = api_account.quote(_ctx(request), principal, fen, instant=mode == "instant")
    except HuoqiError as error:
        return _redeem_form(
            request, principal, mode=mode, amount=form.get("amount", ""), error=error
        )
    return render(
        request,
        "app/redeem_review.html",
        {"quote": quote, "amount": form.get("amount", "")},
        principal=principal,
    )


@router.post("/redeem")
async def redeem(request: Request) -> Response:
    form = await form_of(request)
    principal = page_principal(request, "customer")
    mode: Literal["instant", "normal"] = "instant" if form.get("mode") == "instant" else "normal"
    try:
        amount = _amount(form.get("amount", ""))
        answer = api_account.redemption(
            _ctx(request),
            request,
            principal,
            form.get("idempotency_key", ""),
            RedeemIn(amount=amount.amount, mode=mode),
        )
    except HuoqiError as error:
        return _redeem_form(
            request, principal, mode=mode, amount=form.get("amount", ""), error=error
        )
    return RedirectResponse(f"/app/orders/{_order_id(answer)}?new=1", status_code=303)


@router.get("/switch")
def switch_page(request: Request) -> Response:
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    today = ctx.clock().astimezone(SHANGHAI).date()
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        current = registry.fund_by_id(connection, holder.fund_id)
        funds = []
        for fund in registry.list_funds(connection):
            rows = statements.fund_yields(
                connection, fund, start=today - timedelta(days=10), end=today
            )
            funds.append((fund, rows[-1].yield_7d if rows else None))
    return render(
        request, "app/switch.html", {"current": current, "funds": funds}, principal=principal
    )


@router.post("/switch")
async def switch(request: Request) -> Response:
    form = await form_of(request)
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    try:
        body = SwitchIn(fund_code=form.get("fund_code", ""))
        api_account.switch(ctx, request, principal, form.get("idempotency_key", ""), body)
    except (HuoqiError, ValidationError) as error:
        message = (
            error_text(translator(request), error)
            if isinstance(error, HuoqiError)
            else "unknown fund"
        )
        return render(request, "error.html", {"message": message}, status=422, principal=principal)
    return RedirectResponse("/app/orders", status_code=303)


@router.get("/settings")
def settings_page(request: Request, saved: int = 0) -> Response:
    principal = page_principal(request)
    return render(request, "app/settings.html", {"saved": bool(saved)}, principal=principal)


@router.post("/password")
async def change_password(request: Request) -> Response:
    form = await form_of(request)
    principal = page_principal(request)
    try:
        body = PasswordChangeIn(
            current_password=form.get("current_password", ""),
            new_password=form.get("new_password", ""),
        )
        api_identity.change_password(_ctx(request), principal, body, client_address(request))
    except (HuoqiError, ValidationError) as error:
        t = translator(request)
        message = (
            error_text(t, error)
            if isinstance(error, HuoqiError)
            else t.error("weak_password", t("auth.password_rule"))
        )
        return render(
            request, "app/settings.html", {"error": message}, status=422, principal=principal
        )
    return RedirectResponse("/app/settings?saved=1", status_code=303)
