"""Payments as the web app, the CLI and the benchmarks use them.

Each function takes a connection and never commits (the caller's unit of work does), and
writes the audit log for the state changes people make: merchant decisions, payments,
refunds, closes. `pay_many_with_balance` is the bulk path: many payments in one
transaction, each in a savepoint of its own so one refusal does not undo the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, delete, text

from huoqi.audit.log import Actor, record
from huoqi.db.engine import write_transaction
from huoqi.db.metadata import UtcDateTime
from huoqi.errors import InvalidInput
from huoqi.fund import registry
from huoqi.identity.service import User
from huoqi.payments import merchants, orders, paying, paying_bulk, refunds
from huoqi.payments.merchants import Merchant
from huoqi.payments.orders import PaymentOrder
from huoqi.payments.paying import Payer
from huoqi.payments.paying_bulk import Paid
from huoqi.payments.refunds_model import Refund
from huoqi.payments.signing import (
    WINDOW_SECONDS,
    MerchantInactive,
    ReplayedNonce,
    SignedRequest,
    UnknownMerchant,
    check_signature,
)
from huoqi.payments.tables import gateway_nonces
from huoqi.service.customer import holder_of

METHODS = ("balance", "card")


def payer_of(connection: Connection, user: User) -> Payer:
    holder = holder_of(connection, user)
    return Payer(user.id, holder, registry.fund_by_id(connection, holder.fund_id))


def apply_merchant(
    connection: Connection, user: User, *, name: str, callback_url: str, actor: Actor,
    now: datetime,
) -> Merchant:  # fmt: skip
    merchant = merchants.apply(
        connection, name=name, callback_url=callback_url, owner_user_id=user.id, now=now
    )
    record(connection, actor, "merchant.apply", now=now, object_type="merchant",
           object_id=merchant.code, detail={"name": merchant.name})  # fmt: skip
    return merchant


def decide_merchant(
    connection: Connection, code: str, *, approve: bool, fee_rate_bp: int | None,
    actor: Actor, now: datetime, note: str = "",
) -> tuple[Merchant, str | None]:  # fmt: skip
    """Approve (answering the secret) or reject an application."""
    merchant = merchants.decide(
        connection, code, approve=approve, fee_rate_bp=fee_rate_bp, now=now, note=note
    )
    record(connection, actor, "merchant.approve" if approve else "merchant.reject", now=now,
           object_type="merchant", object_id=code,
           detail={"fee_rate_bp": merchant.fee_rate_bp} if approve else {"note": note})  # fmt: skip
    return merchant, merchants.secret_of(merchant) if approve else None


# --- the gateway's signed requests ----------------------------------------------------

_REMEMBER_NONCE = text(
    "INSERT INTO gateway_nonces (merchant_id, nonce, seen_at) VALUES (:merchant, :nonce, :at) "
    "ON CONFLICT DO NOTHING RETURNING 1"
).bindparams(bindparam("at", type_=UtcDateTime()))


def verified_merchant(
    connection: Connection, request: SignedRequest, *, method: str, path: str, query: str,
    body: bytes, now: datetime,
) -> Merchant:  # fmt: skip
    """The merchant a signed request comes from, with its signature checked (no writes)."""
    merchant = merchants.find_merchant(connection, request.merchant)
    if merchant is None:
        raise UnknownMerchant(f"no merchant has id {request.merchant!r}")
    check_signature(
        request, merchants.secret_of(merchant), method=method, path=path, query=query,
        body=body, now=int(now.timestamp()),
    )  # fmt: skip
    return merchant


def remember_nonce(
    connection: Connection, merchant: Merchant, nonce: str, *, now: datetime
) -> None:
    """Record an accepted request's nonce, refusing one seen before (in this transaction,
    so a refused request records nothing)."""
    fresh = connection.execute(
        _REMEMBER_NONCE, {"merchant": merchant.id, "nonce": nonce, "at": now}
    ).first()
    if fresh is None:
        raise ReplayedNonce(f"nonce {nonce!r} was already used; sign each request anew")
    if not merchant.active:
        raise MerchantInactive(f"merchant {merchant.code} is {merchant.status}")


def forget_old_nonces(connection: Connection, *, now: datetime) -> int:
    """Nonces older than three windows can no longer be replayed (the timestamp is stale)."""
    cutoff = now - timedelta(seconds=3 * WINDOW_SECONDS)
    return int(
        connection.execute(
            delete(gateway_nonces).where(gateway_nonces.c.seen_at < bindparam("cutoff")),
            {"cutoff": cutoff},
        ).rowcount
    )


# --- paying and refunding -------------------------------------------------------------


def pay(
    connection: Connection, user: User, *, order_no: str, method: str, actor: Actor,
    now: datetime,
) -> PaymentOrder:  # fmt: skip
    """The customer confirms a payment; a card payment still needs the bank afterwards."""
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}")
    if method == "balance":
        order = paying.pay_with_balance(
            connection, order_no=order_no, payer=payer_of(connection, user), now=now
        )
    else:
        holder_of(connection, user)  # only customers with a current account pay here
        order = paying.start_card_payment(
            connection, order_no=order_no, payer_user_id=user.id, now=now
        )
    record(connection, actor, f"payment.{method}", now=now, object_type="payment_order",
           object_id=order.order_no, detail={"amount": order.amount,
                                             "status": order.status})  # fmt: skip
    return order


def refund(
    connection: Connection, merchant: Merchant, *, out_trade_no: str, out_refund_no: str,
    amount: int, reason: str, now: datetime,
) -> tuple[Refund, bool]:  # fmt: skip
    order = orders.find_by_number(connection, merchant, out_trade_no)
    made, new = refunds.refund(
        connection, merchant=merchant, order=order, out_refund_no=out_refund_no,
        amount=amount, reason=reason, now=now,
    )  # fmt: skip
    if new:
        record(connection, Actor(None, f"merchant:{merchant.code}"), "payment.refund", now=now,
               object_type="payment_order", object_id=order.order_no,
               detail={"amount": amount, "refund_no": made.refund_no})  # fmt: skip
    return made, new


def pay_many_with_balance(
    engine: Engine, payments: Sequence[tuple[str, Payer]], *, clock: Callable[[], datetime]
) -> list[Paid]:
    """Many payments from the balance in one transaction (`paying_bulk`): booked together,
    or, when any of them cannot be, one by one, each refusal undoing only itself."""
    with write_transaction(engine) as connection:
        return paying_bulk.pay_many_with_balance(connection, payments, now=clock())
