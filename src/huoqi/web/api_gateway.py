"""``/gateway/v1``: the merchant gateway. Every request is signed (``docs/payments.md``).

The signature is checked before anything else (a dependency, so an unsigned request is
refused before its body is even validated); the nonce is remembered in the same write
transaction as the request's own change, so a refused request leaves no trace and a
replayed one is refused. The signature's time window is checked against the wall clock,
not the demo clock, because merchants sign with real time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import Connection

from huoqi.db.engine import read_transaction
from huoqi.payments import orders, refunds, service, settlement
from huoqi.payments.merchants import Merchant
from huoqi.payments.payloads import money, order_payload, refund_payload
from huoqi.payments.signing import read_headers
from huoqi.web.context import Ctx, Services, services
from huoqi.web.schemas_payments import (
    MERCHANT_NUMBER,
    BalanceOut,
    GatewayOrderIn,
    GatewayOrderOut,
    RefundIn,
    RefundOut,
    SettlementOut,
)

router = APIRouter(prefix="/gateway/v1", tags=["merchant gateway"])
SIGNED: dict[int | str, dict[str, Any]] = {
    "401": {"description": "signature missing or refused, stale timestamp, replayed nonce"},
    "403": {"description": "the merchant is not active"},
}
Number = Annotated[str, Path(pattern=MERCHANT_NUMBER)]


@dataclass(frozen=True, slots=True)
class SignedCall:
    merchant: Merchant
    nonce: str


async def signed_call(request: Request, ctx: Annotated[Services, Depends(services)]) -> SignedCall:
    signed = read_headers(request.headers)
    body = await request.body()

    def verify() -> Merchant:
        with read_transaction(ctx.engine) as connection:
            return service.verified_merchant(
                connection, signed, method=request.method, path=request.url.path,
                query=request.url.query, body=body, now=datetime.fromtimestamp(time.time(), UTC),
            )  # fmt: skip

    return SignedCall(await asyncio.to_thread(verify), signed.nonce)


Signed = Annotated[SignedCall, Depends(signed_call)]


async def _write(ctx: Services, call: SignedCall, work: Any) -> Any:
    def unit(connection: Connection) -> Any:
        service.remember_nonce(connection, call.merchant, call.nonce, now=ctx.clock())
        return work(connection)

    return await ctx.writer.run_async(unit)


def _order_json(connection: Connection, merchant: Merchant, order: Any, now: datetime) -> Any:
    return order_payload(
        order, merchant_code=merchant.code, now=now,
        refunds=refunds.refunds_of(connection, order.id),
    )  # fmt: skip


@router.post(
    "/orders", status_code=201, response_model=GatewayOrderOut, responses=SIGNED,
    summary="Create an order (the merchant's number is the idempotency key)",
)  # fmt: skip
async def create_order(body: GatewayOrderIn, call: Signed, ctx: Ctx) -> Response:
    def work(connection: Connection) -> tuple[int, Any]:
        now = ctx.clock()
        order, new = orders.create_order(
            connection, merchant=call.merchant, out_trade_no=body.out_trade_no,
            amount=body.fen(), description=body.description, expires_in=body.expires_in,
            notify_url=body.notify_url, return_url=body.return_url or "", now=now,
        )  # fmt: skip
        return (201 if new else 200), _order_json(connection, call.merchant, order, now)

    status, payload = await _write(ctx, call, work)
    return JSONResponse(payload, status_code=status)


@router.get(
    "/orders/{out_trade_no}", response_model=GatewayOrderOut, responses=SIGNED,
    summary="An order with its refunds",
)  # fmt: skip
async def get_order(out_trade_no: Number, call: Signed, ctx: Ctx) -> Any:
    def work(connection: Connection) -> Any:
        order = orders.find_by_number(connection, call.merchant, out_trade_no)
        return _order_json(connection, call.merchant, order, ctx.clock())

    return await _write(ctx, call, work)


@router.post(
    "/orders/{out_trade_no}/close", response_model=GatewayOrderOut, responses=SIGNED,
    summary="Close an unpaid order",
)  # fmt: skip
async def close_order(out_trade_no: Number, call: Signed, ctx: Ctx) -> Any:
    def work(connection: Connection) -> Any:
        now = ctx.clock()
        order = orders.find_by_number(connection, call.merchant, out_trade_no)
        closed = orders.close_order(connection, order, now=now)
        return _order_json(connection, call.merchant, closed, now)

    return await _write(ctx, call, work)


@router.post(
    "/orders/{out_trade_no}/refunds", status_code=201, response_model=RefundOut,
    responses=SIGNED, summary="Refund part or all of a paid order (idempotent by refund number)",
)  # fmt: skip
async def refund_order(out_trade_no: Number, body: RefundIn, call: Signed, ctx: Ctx) -> Response:
    def work(connection: Connection) -> tuple[int, Any]:
        made, new = service.refund(
            connection, call.merchant, out_trade_no=out_trade_no,
            out_refund_no=body.out_refund_no, amount=body.fen(), reason=body.reason,
            now=ctx.clock(),
        )  # fmt: skip
        return (201 if new else 200), refund_payload(made, out_trade_no=out_trade_no)

    status, payload = await _write(ctx, call, work)
    ctx.notifier_wake()  # the refund's notification is waiting in the outbox
    return JSONResponse(payload, status_code=status)


@router.get(
    "/orders/{out_trade_no}/refunds/{out_refund_no}", response_model=RefundOut,
    responses=SIGNED, summary="One refund",
)  # fmt: skip
async def get_refund(out_trade_no: Number, out_refund_no: Number, call: Signed, ctx: Ctx) -> Any:
    def work(connection: Connection) -> Any:
        order = orders.find_by_number(connection, call.merchant, out_trade_no)
        found = refunds.find_refund(connection, call.merchant, out_refund_no)
        if found is None or found.order_id != order.id:
            raise orders.UnknownPaymentOrder(f"no refund {out_refund_no!r} of {out_trade_no!r}")
        return refund_payload(found, out_trade_no=out_trade_no)

    return await _write(ctx, call, work)


@router.get("/balance", response_model=BalanceOut, responses=SIGNED,
            summary="The merchant's balance with Huoqi (not yet settled)")  # fmt: skip
async def get_balance(call: Signed, ctx: Ctx) -> Any:
    def work(connection: Connection) -> Any:
        return {"balance": money(settlement.unsettled_balance(connection, call.merchant))}

    return await _write(ctx, call, work)


def settlement_json(merchant: Merchant, made: settlement.Settlement) -> dict[str, Any]:
    return {
        "reference": made.reference, "merchant_id": merchant.code,
        "business_date": made.business_date.isoformat(),
        "settle_date": made.settle_date.isoformat(), "payments": made.payments,
        "refunds": made.refunds, "gross": money(made.gross), "refunded": money(made.refunded),
        "fees": money(made.fees), "net": money(made.net),
    }  # fmt: skip


def _settlement_of(connection: Connection, merchant: Merchant, day: date) -> settlement.Settlement:
    made = settlement.find_settlement(connection, merchant.id, day)
    if made is None:
        raise orders.UnknownPaymentOrder(f"no settlement of {day} for {merchant.code} (yet)")
    return made


@router.get("/settlements/{business_date}", response_model=SettlementOut, responses=SIGNED,
            summary="A business day's settlement")  # fmt: skip
async def get_settlement(business_date: date, call: Signed, ctx: Ctx) -> Any:
    def work(connection: Connection) -> Any:
        return settlement_json(call.merchant, _settlement_of(connection, call.merchant,
                                                             business_date))  # fmt: skip

    return await _write(ctx, call, work)


@router.get(
    "/settlement-files/{business_date}", response_class=PlainTextResponse,
    responses={**SIGNED, "200": {"content": {"text/csv": {}}}},
    summary="A business day's settlement file (CSV)",
)  # fmt: skip
async def get_settlement_file(business_date: date, call: Signed, ctx: Ctx) -> Response:
    def work(connection: Connection) -> str:
        made = _settlement_of(connection, call.merchant, business_date)
        return settlement.settlement_file(connection, made)

    return Response(await _write(ctx, call, work), media_type="text/csv")
