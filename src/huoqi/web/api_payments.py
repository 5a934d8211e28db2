"""Payments seen by customers (checkout), merchants' owners (applications), operators, and
the bank (its signed callbacks).

Paying is money-moving: it needs an ``Idempotency-Key`` like every other such POST. A card
payment asks the bank only after the claim is committed; the bank answers later through
``POST /bank/v1/callbacks``, signed with the bank's key (HMAC-SHA256 over the body).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from huoqi import config
from huoqi.audit.log import Actor, record
from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError, NotFound
from huoqi.identity.service import Principal
from huoqi.payments import merchants, orders, outbox, paying, paying_bulk, service, settlement
from huoqi.payments.merchants import Merchant
from huoqi.payments.payloads import moment, money
from huoqi.payments.signing import SignatureRefused
from huoqi.web.api_account import MONEY_MOVING, IdempotencyKey
from huoqi.web.api_gateway import settlement_json
from huoqi.web.context import Ctx, Customer, Operator, SignedIn, Staff, actor
from huoqi.web.idempotency import run_idempotent_async, store_answers
from huoqi.web.schemas_payments import (
    ApprovedOut,
    BankCallbackIn,
    BankCallbackOut,
    CheckoutOut,
    DecisionIn,
    MerchantApplicationIn,
    MerchantOut,
    NotificationOut,
    PayIn,
    PaymentLimitIn,
    PaymentLimitOut,
    SettlementOut,
)

router = APIRouter(tags=["payments"])
OrderNo = Annotated[str, Path(pattern=r"^HQ[0-9A-F]{18}$")]
MerchantId = Annotated[str, Path(pattern=r"^M[0-9]{8}$")]
BANK = Actor(None, "bank")


def checkout_out(connection: Connection, order: orders.PaymentOrder, now: Any) -> CheckoutOut:
    merchant = merchants.merchant_by_id(connection, order.merchant_id)
    return CheckoutOut(
        order_no=order.order_no, merchant=merchant.name, description=order.description,
        amount=money(order.amount), status=order.status_at(now),  # type: ignore[arg-type]
        method=order.method, expires_at=moment(order.expires_at) or "",  # type: ignore[arg-type]
        return_url=order.return_url,
    )  # fmt: skip


@router.get("/api/v1/checkout/{order_no}", response_model=CheckoutOut,
            summary="An order waiting for the customer's confirmation")  # fmt: skip
def get_checkout(order_no: OrderNo, principal: Customer, ctx: Ctx) -> CheckoutOut:
    with read_transaction(ctx.engine) as connection:
        order = orders.get_by_order_no(connection, order_no)
        return checkout_out(connection, order, ctx.clock())


@router.post(
    "/api/v1/checkout/{order_no}/pay", status_code=201, response_model=CheckoutOut,
    responses=MONEY_MOVING, summary="Pay an order from the balance or by card",
)  # fmt: skip
async def post_pay(  # noqa: PLR0917 (FastAPI passes them by name)
    order_no: OrderNo, body: PayIn, request: Request, principal: Customer, ctx: Ctx,
    key: IdempotencyKey,
) -> Response:  # fmt: skip
    batch = (pay_together, PayItem(ctx, principal, order_no, actor(request, principal)))
    return await run_idempotent_async(
        ctx, principal, key=key, **pay_plan(ctx, request, principal, order_no, body.method),
        batch=batch if body.method == "balance" else None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PayItem:
    ctx: Any
    principal: Principal
    order_no: str
    who: Actor


class _NotTogether(Exception):
    """These payments cannot be booked together; the writer runs each alone."""


def pay_together(connection: Connection, works: list[Any]) -> list[Any]:
    """Payments from the balance that reached the writer together, booked with the bulk
    path (`paying_bulk`): the same answers, stored keys and audit rows as one by one."""
    items: list[PayItem] = [work.batch_item for work in works]
    now = items[0].ctx.clock()
    outcomes: list[Any] = [None] * len(works)
    todo: list[int] = []
    for i, work in enumerate(works):
        try:
            outcomes[i] = work.keyed.stored(connection)
        except HuoqiError as refused:
            outcomes[i] = refused
        if outcomes[i] is None:
            todo.append(i)
    if len({(works[i].keyed.user_id, works[i].keyed.key) for i in todo}) < len(todo):
        raise _NotTogether
    payers = {}
    for i in todo:
        user = items[i].principal.user
        if user.id not in payers:
            try:
                payers[user.id] = service.payer_of(connection, user)
            except HuoqiError as refused:
                raise _NotTogether from refused
    paid = paying_bulk.pay_many_with_balance(
        connection, [(items[i].order_no, payers[items[i].principal.user.id]) for i in todo],
        now=now,
    )  # fmt: skip
    rows = []
    for i, result in zip(todo, paid, strict=True):
        if result.error is not None or result.order is None:
            outcomes[i] = result.error
            continue
        order = result.order
        detail = {"amount": order.amount, "status": order.status}
        record(connection, items[i].who, "payment.balance", now=now,
               object_type="payment_order", object_id=order.order_no, detail=detail)  # fmt: skip
        outcome, row = works[i].keyed.answer_row(201, checkout_out(connection, order, now), now)
        outcomes[i] = outcome
        rows.append(row)
    store_answers(connection, rows)
    return outcomes


def pay_plan(
    ctx: Any, request: Request, principal: Principal, order_no: str, method: str
) -> dict[str, Any]:
    """The unit of work for one payment; the pages' form uses it too."""
    who = actor(request, principal)
    asks: list[tuple[str, int]] = []

    def work(connection: Connection) -> tuple[int, Any]:
        order = service.pay(connection, principal.user, order_no=order_no, method=method,
                            actor=who, now=ctx.clock())  # fmt: skip
        if order.status == "paying" and order.bank_reference:
            asks.append((order.bank_reference, order.amount))
        return 201, checkout_out(connection, order, ctx.clock())

    def ask_bank(_payload: Any) -> None:
        for reference, amount in asks[-1:]:
            ctx.bank.request_debit(reference=reference, amount=amount)
        ctx.notifier_wake()  # a payment from the balance has its notification waiting

    return {"route": f"POST /checkout/{order_no}/pay",
            "body": PayIn(method=method),  # type: ignore[arg-type]
            "work": work, "after_commit": ask_bank}  # fmt: skip


# --- merchants' owners -----------------------------------------------------------------


def merchant_out(merchant: Merchant, balance: int | None = None) -> MerchantOut:
    return MerchantOut(
        merchant_id=merchant.code, name=merchant.name, callback_url=merchant.callback_url,
        fee_rate_bp=merchant.fee_rate_bp, status=merchant.status,  # type: ignore[arg-type]
        applied_at=moment(merchant.applied_at) or "",
        balance=None if balance is None else money(balance),  # type: ignore[arg-type]
    )  # fmt: skip


@router.post("/api/v1/merchants", status_code=201, response_model=MerchantOut,
             summary="Apply to take payments as a merchant")  # fmt: skip
def post_merchant(
    body: MerchantApplicationIn, request: Request, principal: SignedIn, ctx: Ctx
) -> MerchantOut:
    merchant = ctx.writer.run(
        lambda c: service.apply_merchant(
            c, principal.user, name=body.name, callback_url=body.callback_url,
            actor=actor(request, principal), now=ctx.clock(),
        )
    )  # fmt: skip
    return merchant_out(merchant)


@router.get("/api/v1/merchants", response_model=list[MerchantOut],
            summary="The merchants this user applied for, with their balances")  # fmt: skip
def get_my_merchants(principal: SignedIn, ctx: Ctx) -> list[MerchantOut]:
    with read_transaction(ctx.engine) as connection:
        return [
            merchant_out(m, settlement.unsettled_balance(connection, m))
            for m in merchants.merchants_of_user(connection, principal.user.id)
        ]


# --- operators -------------------------------------------------------------------------


@router.get("/api/v1/ops/merchants", response_model=list[MerchantOut],
            summary="Merchants and applications")  # fmt: skip
def get_merchants(principal: Staff, ctx: Ctx) -> list[MerchantOut]:
    with read_transaction(ctx.engine) as connection:
        return [
            merchant_out(m, settlement.unsettled_balance(connection, m) if m.active else None)
            for m in merchants.list_merchants(connection)
        ]


@router.post("/api/v1/ops/merchants/{merchant_id}/approve", response_model=ApprovedOut,
             summary="Approve an application; answers the merchant's secret once")  # fmt: skip
def post_approve(
    merchant_id: MerchantId, body: DecisionIn, request: Request, principal: Operator, ctx: Ctx
) -> ApprovedOut:
    merchant, secret = ctx.writer.run(
        lambda c: service.decide_merchant(
            c, merchant_id, approve=True, fee_rate_bp=body.fee_rate_bp,
            actor=actor(request, principal), now=ctx.clock(), note=body.note,
        )
    )  # fmt: skip
    return ApprovedOut(**merchant_out(merchant).model_dump(), secret=secret or "")


@router.post("/api/v1/ops/merchants/{merchant_id}/reject", response_model=MerchantOut,
             summary="Reject an application")  # fmt: skip
def post_reject(
    merchant_id: MerchantId, body: DecisionIn, request: Request, principal: Operator, ctx: Ctx
) -> MerchantOut:
    merchant, _ = ctx.writer.run(
        lambda c: service.decide_merchant(
            c, merchant_id, approve=False, fee_rate_bp=None,
            actor=actor(request, principal), now=ctx.clock(), note=body.note,
        )
    )  # fmt: skip
    return merchant_out(merchant)


@router.get("/api/v1/ops/payment-limit", response_model=PaymentLimitOut,
            summary="Daily limit per customer for paying from the balance")  # fmt: skip
def get_payment_limit(principal: Staff, ctx: Ctx) -> PaymentLimitOut:
    with read_transaction(ctx.engine) as connection:
        return PaymentLimitOut(payment_daily_limit=money(paying.daily_limit(connection)))  # type: ignore[arg-type]


@router.put("/api/v1/ops/payment-limit", response_model=PaymentLimitOut,
            summary="Change the daily limit for paying from the balance")  # fmt: skip
def put_payment_limit(
    body: PaymentLimitIn, request: Request, principal: Operator, ctx: Ctx
) -> PaymentLimitOut:
    from huoqi.money import parse_amount

    fen = parse_amount(body.payment_daily_limit, allow_zero=True)

    def work(connection: Connection) -> int:
        paying.set_daily_limit(connection, fen)
        record(connection, actor(request, principal), "payment.limit", now=ctx.clock(),
               object_type="setting", object_id=paying.LIMIT_KEY, detail={"fen": fen})  # fmt: skip
        return fen

    return PaymentLimitOut(payment_daily_limit=money(ctx.writer.run(work)))  # type: ignore[arg-type]


@router.get("/api/v1/ops/notifications", response_model=list[NotificationOut],
            summary="Merchant notifications, newest first")  # fmt: skip
def get_notifications(
    principal: Staff, ctx: Ctx, status: str | None = None
) -> list[NotificationOut]:
    with read_transaction(ctx.engine) as connection:
        codes = {m.id: m.code for m in merchants.list_merchants(connection)}
        return [
            NotificationOut(
                event_id=n.event_id, merchant_id=codes.get(n.merchant_id, ""), event=n.event,
                url=n.url, status=n.status,  # type: ignore[arg-type]
                attempts=n.attempts, next_attempt_at=moment(n.next_attempt_at) or "",
                last_error=n.last_error,
            )
            for n in outbox.notifications_of(
                connection, status=status if status in ("pending", "delivered", "failed") else None
            )
        ]  # fmt: skip


@router.post("/api/v1/ops/notifications/{event_id}/resend", status_code=204,
             summary="Send an undelivered notification again now")  # fmt: skip
def post_resend(
    event_id: Annotated[str, Path(pattern=r"^EV[0-9A-F]{24}$")], request: Request,
    principal: Operator, ctx: Ctx,
) -> Response:  # fmt: skip
    def work(connection: Connection) -> None:
        if not outbox.resend(connection, event_id, now=ctx.clock()):
            raise NotFound(f"no undelivered notification {event_id}")
        record(connection, actor(request, principal), "notification.resend", now=ctx.clock(),
               object_type="notification", object_id=event_id)  # fmt: skip

    ctx.writer.run(work)
    ctx.notifier_wake()
    return Response(status_code=204)


@router.post("/api/v1/ops/settlements/{business_date}", response_model=list[SettlementOut],
             summary="Settle every merchant's business day (T+1)")  # fmt: skip
def post_settlements(
    business_date: date, request: Request, principal: Operator, ctx: Ctx
) -> list[SettlementOut]:
    def work(connection: Connection) -> list[SettlementOut]:
        made = settlement.settle_all(connection, business_date, now=ctx.clock())
        record(connection, actor(request, principal), "settlement.run", now=ctx.clock(),
               object_type="business_date", object_id=business_date.isoformat(),
               detail={"settlements": len(made)})  # fmt: skip
        codes = {m.id: m for m in merchants.list_merchants(connection)}
        return [SettlementOut(**settlement_json(codes[s.merchant_id], s)) for s in made]

    return ctx.writer.run(work)


# --- the bank --------------------------------------------------------------------------


def bank_signature(body: bytes) -> str:
    return "v1=" + hmac.new(config.bank_callback_key(), body, hashlib.sha256).hexdigest()


@router.post(
    "/bank/v1/callbacks", response_model=BankCallbackOut,
    responses={"401": {"description": "the bank's signature is missing or wrong"}},
    summary="The bank's answer to a card debit (signed; repeated answers change nothing)",
)  # fmt: skip
async def post_bank_callback(
    request: Request, ctx: Ctx, body: BankCallbackIn,
    signature: Annotated[str, Header(alias="Bank-Signature", max_length=100)] = "",
) -> BankCallbackOut:  # fmt: skip
    raw = await request.body()
    if not signature or not hmac.compare_digest(signature, bank_signature(raw)):
        raise SignatureRefused("the bank's callback signature does not match its body")
    from huoqi.money import parse_amount

    fen = parse_amount(body.amount)

    def work(connection: Connection) -> str | None:
        order = paying.card_answer(
            connection, reference=body.reference, succeeded=body.status == "succeeded",
            amount=fen, now=ctx.clock(),
        )  # fmt: skip
        record(connection, BANK, "bank.callback", now=ctx.clock(), object_type="bank_reference",
               object_id=body.reference, outcome=body.status)  # fmt: skip
        return None if order is None else order.status

    status = await ctx.writer.run_async(work)
    ctx.notifier_wake()
    return BankCallbackOut(reference=body.reference, order_status=status)
