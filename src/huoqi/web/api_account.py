"""``/api/v1/account``: a customer's own current account. Nothing here takes another
customer's ids: every object is looked up through the signed-in customer, so someone
else's order id answers 404, exactly like an id that does not exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, bindparam, select

from huoqi.db.engine import read_transaction
from huoqi.fund import statements
from huoqi.fund.orders import Order, UnknownOrder
from huoqi.fund.statements import SHANGHAI
from huoqi.fund.tables import funds
from huoqi.identity.service import Principal
from huoqi.money import format_amount
from huoqi.service import customer as customer_service
from huoqi.web.context import Ctx, Customer, Services, actor
from huoqi.web.idempotency import run_idempotent, run_idempotent_async
from huoqi.web.schemas import (
    AMOUNT_PATTERN,
    MAX_ID,
    AmountIn,
    IncomeDay,
    Money,
    OrderOut,
    OrderPage,
    QuoteOut,
    RedeemIn,
    SummaryOut,
    SwitchIn,
    SwitchOut,
    decode_cursor,
    encode_cursor,
)

router = APIRouter(prefix="/api/v1/account", tags=["current account"])
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="new for each new request; repeat it to retry safely",
    ),
]
MONEY_MOVING: dict[int | str, dict[str, Any]] = {
    "400": {"description": "missing or malformed Idempotency-Key"},
    "409": {"description": "the key was used for another request"},
    "422": {"description": "invalid amount, or a business rule refused it"},
}


_FUND_CODE = select(funds.c.code).where(funds.c.id == bindparam("id"))


_FUND_CODES: dict[tuple[str, int], str] = {}  # a fund's code never changes


def order_out(connection: Connection, order: Order) -> OrderOut:
    key = (str(connection.engine.url), order.fund_id)
    code = _FUND_CODES.get(key)
    if code is None:
        code = connection.execute(_FUND_CODE, {"id": order.fund_id}).scalar_one()
        _FUND_CODES[key] = code
    return OrderOut.of(order, code)


def summary_out(summary: statements.Summary) -> SummaryOut:
    return SummaryOut(
        fund_code=summary.fund.code,
        fund_name=summary.fund.name,
        total=Money.of(summary.total),
        available=Money.of(summary.available),
        pending_purchases=Money.of(summary.pending_purchases),
        pending_redemptions=Money.of(summary.pending_redemptions),
        last_income_date=summary.last_income_date,
        last_income=Money.of(summary.last_income),
        cumulative_income=Money.of(summary.cumulative_income),
        yield_7d=str(summary.yield_7d) if summary.yield_7d is not None else None,
        yield_date=summary.yield_date,
        instant_limit=Money.of(summary.instant_limit),
        instant_remaining=Money.of(summary.instant_remaining),
    )


@router.get("", response_model=SummaryOut, summary="Balance, income, yield and limits")
async def get_summary(principal: Customer, ctx: Ctx) -> SummaryOut:
    # On the event loop: a few indexed reads cost less than the hop into the thread pool
    # (and the interpreter lock passed between the two) that a plain ``def`` would take.
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        return summary_out(statements.summary(connection, holder, now=ctx.clock()))


@router.get("/income", response_model=list[IncomeDay], summary="Daily income, oldest first")
def get_income(
    principal: Customer, ctx: Ctx, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[IncomeDay]:
    end = ctx.clock().astimezone(SHANGHAI).date() - timedelta(days=1)
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        rows = statements.income_by_day(connection, holder, end - timedelta(days=days - 1), end)
    return [IncomeDay(date=day, income=Money.of(income)) for day, income in rows]


@router.get("/orders", response_model=OrderPage, summary="Movements, newest first")
def get_orders(
    principal: Customer,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> OrderPage:
    before = decode_cursor("order", cursor)
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        found = statements.orders_page(connection, holder, before_id=before, limit=limit + 1)
        items = [order_out(connection, order) for order in found[:limit]]
    more = len(found) > limit
    return OrderPage(
        items=items, next_cursor=encode_cursor("order", items[-1].id) if more else None
    )


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    summary="One of my orders",
    responses={"404": {"description": "no such order of yours"}},
)
def get_order(
    order_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: Customer, ctx: Ctx
) -> OrderOut:
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        order = statements.order_of(connection, holder, order_id)
        if order is None:
            raise UnknownOrder(f"you have no order {order_id}", order=order_id)
        return order_out(connection, order)


@router.get(
    "/redemption-quote",
    response_model=QuoteOut,
    summary="What a redemption would do now: dates and limits, before confirming",
)
def get_quote(
    principal: Customer,
    ctx: Ctx,
    amount: Annotated[str, Query(pattern=AMOUNT_PATTERN, max_length=16)],
    mode: Annotated[str, Query(pattern="^(instant|normal)$")] = "normal",
) -> QuoteOut:
    return quote(ctx, principal, AmountIn(amount=amount).fen(), instant=mode == "instant")


def quote(ctx: Services, principal: Principal, fen: int, *, instant: bool) -> QuoteOut:
    """Dates and limits of a redemption requested now, and whether it can go through."""
    with read_transaction(ctx.engine) as connection:
        holder = customer_service.holder_of(connection, principal.user)
        found = statements.redemption_quote(
            connection, holder, amount=fen, instant=instant, now=ctx.clock()
        )
    reason = None
    if fen > found.available:
        reason = f"only {format_amount(found.available, grouped=True)} CNY can be redeemed now"
    elif instant and fen > found.instant_remaining:
        reason = (
            f"{format_amount(found.instant_remaining, grouped=True)} CNY of instant "
            "redemption is left today; a normal redemption has no such limit"
        )
    return QuoteOut(
        mode="instant" if instant else "normal",
        amount=Money.of(fen),
        available=Money.of(found.available),
        trade_date=found.trade_date,
        payout_date=found.payout_date,
        last_income_date=found.last_income_date,
        instant_remaining=Money.of(found.instant_remaining),
        allowed=reason is None,
        reason=reason,
    )


@router.post(
    "/purchases",
    status_code=201,
    response_model=OrderOut,
    responses=MONEY_MOVING,
    summary="Buy shares; the bank is asked for the money",
)
async def post_purchase(
    body: AmountIn, request: Request, principal: Customer, ctx: Ctx, key: IdempotencyKey
) -> Response:
    # async: the event loop waits for the writer thread, with no thread-pool hop
    return await run_idempotent_async(
        ctx, principal, key=key, **_purchase_plan(ctx, request, principal, key, body)
    )


def purchase(
    ctx: Services, request: Request, principal: Principal, key: str, body: AmountIn
) -> Response:
    """Buy, once per key; the bank is asked for the money after the order is committed."""
    return run_idempotent(
        ctx, principal, key=key, **_purchase_plan(ctx, request, principal, key, body)
    )


def _purchase_plan(
    ctx: Services, request: Request, principal: Principal, key: str, body: AmountIn
) -> dict[str, Any]:
    fen = body.fen()
    who = actor(request, principal)
    references: list[tuple[str, int]] = []

    def work(connection: Connection) -> tuple[int, Any]:
        order = customer_service.buy(
            connection, principal.user, amount=fen, key=key, actor=who, now=ctx.clock()
        )
        if order.status == "awaiting_payment" and order.bank_reference:
            references.append((order.bank_reference, order.amount))
        return 201, order_out(connection, order)

    def ask_bank(_payload: Any) -> None:
        for reference, amount in references[-1:]:
            ctx.bank.request_debit(reference=reference, amount=amount)

    return {
        "route": "POST /account/purchases",
        "body": body,
        "work": work,
        "after_commit": ask_bank,
    }


@router.post(
    "/redemptions",
    status_code=201,
    response_model=OrderOut,
    responses=MONEY_MOVING,
    summary="Redeem: instant (cash now, within limits) or normal (next trading day)",
)
async def post_redemption(
    body: RedeemIn, request: Request, principal: Customer, ctx: Ctx, key: IdempotencyKey
) -> Response:
    return await run_idempotent_async(
        ctx, principal, key=key, **_redemption_plan(ctx, request, principal, key, body)
    )


def redemption(
    ctx: Services, request: Request, principal: Principal, key: str, body: RedeemIn
) -> Response:
    return run_idempotent(
        ctx, principal, key=key, **_redemption_plan(ctx, request, principal, key, body)
    )


def _redemption_plan(
    ctx: Services, request: Request, principal: Principal, key: str, body: RedeemIn
) -> dict[str, Any]:
    fen = body.fen()
    who = actor(request, principal)

    def work(connection: Connection) -> tuple[int, Any]:
        order = customer_service.redeem(
            connection,
            principal.user,
            amount=fen,
            key=key,
            instant=body.mode == "instant",
            actor=who,
            now=ctx.clock(),
        )
        return 201, order_out(connection, order).model_dump(mode="json")

    return {"route": "POST /account/redemptions", "body": body, "work": work}


@router.post(
    "/switch",
    status_code=201,
    response_model=SwitchOut,
    responses={**MONEY_MOVING, "404": {"description": "unknown fund"}},
    summary="Move the account to another fund (redeem all, subscribe the proceeds)",
)
def post_switch(
    body: SwitchIn, request: Request, principal: Customer, ctx: Ctx, key: IdempotencyKey
) -> Response:
    return switch(ctx, request, principal, key, body)


def switch(
    ctx: Services, request: Request, principal: Principal, key: str, body: SwitchIn
) -> Response:
    who = actor(request, principal)

    def work(connection: Connection) -> tuple[int, Any]:
        moved = customer_service.switch(
            connection,
            principal.user,
            fund_code=body.fund_code,
            key=key,
            actor=who,
            now=ctx.clock(),
        )
        out = SwitchOut(
            redemption=order_out(connection, moved.redemption) if moved.redemption else None,
            purchase=order_out(connection, moved.purchase) if moved.purchase else None,
        )
        return 201, out.model_dump(mode="json")

    return run_idempotent(
        ctx, principal, key=key, route="POST /account/switch", body=body, work=work
    )
