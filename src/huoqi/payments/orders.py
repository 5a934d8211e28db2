"""Payment orders: created by a merchant through the gateway, paid by a customer, refunded.

The merchant's own order number (``out_trade_no``) is unique per merchant and is the
idempotency key of creation: the same number with the same request answers the first
order, with another request it is refused. An order left unpaid past ``expires_at``
(15 minutes by default) is closed; every state change is a conditional update
(``WHERE status = …``), so of two racing changes exactly one wins.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from huoqi.errors import Conflict, InvalidInput, NotFound
from huoqi.ledger.domain import fingerprint
from huoqi.money import check_amount, format_amount
from huoqi.payments.merchants import Merchant, check_url
from huoqi.payments.tables import payment_orders

MERCHANT_NUMBER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEFAULT_EXPIRY = timedelta(minutes=15)
MIN_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS = 60, 86_400
PAID_STATES = ("paid", "partially_refunded", "refunded")


class UnknownPaymentOrder(NotFound):
    code = "unknown_order"
    title = "Unknown order"


class OrderConflict(Conflict):
    code = "order_conflict"
    title = "Order number already used for another order"


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    title = "Order cannot be paid"


class OrderPaid(Conflict):
    code = "order_paid"
    title = "Order already paid"


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    id: int
    order_no: str
    merchant_id: int
    out_trade_no: str
    amount: int
    description: str
    status: str
    method: str | None
    notify_url: str
    return_url: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None
    payer_user_id: int | None
    fund_order_id: int | None
    bank_reference: str | None
    refunded_amount: int
    fee: int
    settlement_id: int | None

    def status_at(self, now: datetime) -> str:
        """The status as a reader should see it: an unpaid order past expiry is closed
        even before the sweep has written so."""
        if self.status == "created" and now >= self.expires_at:
            return "closed"
        return self.status

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.status in PAID_STATES else 0


def order_from_row(row: Any) -> PaymentOrder:
    return PaymentOrder(
        row.id, row.order_no, row.merchant_id, row.out_trade_no, row.amount, row.description,
        row.status, row.method, row.notify_url, row.return_url, row.created_at,
        row.expires_at, row.paid_at, row.closed_at,
        row.payer_user_id, row.fund_order_id, row.bank_reference, row.refunded_amount, row.fee,
        row.settlement_id,
    )  # fmt: skip


def check_merchant_number(value: str, *, what: str = "out_trade_no") -> str:
    if not isinstance(value, str) or not MERCHANT_NUMBER.match(value):
        raise InvalidInput(f"{what} must be 1 to 64 characters of A-Z a-z 0-9 _ - .")
    return value


def new_number(prefix: str, now: datetime) -> str:
    """Huoqi's own number: a prefix, the UTC date and 12 random hex digits (unique column)."""
    return f"{prefix}{now.astimezone(UTC):%y%m%d}{secrets.token_hex(6).upper()}"


_INSERT = insert(payment_orders).returning(*payment_orders.c)
_BY_MERCHANT_NUMBER = select(payment_orders).where(
    payment_orders.c.merchant_id == bindparam("merchant"),
    payment_orders.c.out_trade_no == bindparam("number"),
)
_BY_ORDER_NO = select(payment_orders).where(payment_orders.c.order_no == bindparam("order_no"))
_BY_ID = select(payment_orders).where(payment_orders.c.id == bindparam("id"))


def create_order(
    connection: Connection,
    *,
    merchant: Merchant,
    out_trade_no: str,
    amount: int,
    description: str,
    expires_in: int | None = None,
    notify_url: str | None = None,
    return_url: str = "",
    now: datetime,
) -> tuple[PaymentOrder, bool]:
    """Create an order, or answer the one made before with the same number and request.
    Returns the order and whether it was created now."""
    check_merchant_number(out_trade_no)
    check_amount(amount, shown=format_amount(amount) if isinstance(amount, int) else None)
    description = description.strip()
    if not 1 <= len(description) <= 128:
        raise InvalidInput("description must be 1 to 128 characters")
    seconds = DEFAULT_EXPIRY.seconds if expires_in is None else expires_in
    if not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS:
        raise InvalidInput(
            f"expires_in must be {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS} seconds"
        )
    notify = check_url(notify_url, what="notify_url") if notify_url else merchant.callback_url
    back = check_url(return_url, what="return_url") if return_url else ""
    digest = fingerprint("order", amount, description, seconds, notify, back)
    prior = connection.execute(
        _BY_MERCHANT_NUMBER, {"merchant": merchant.id, "number": out_trade_no}
    ).first()
    if prior is not None:
        if bytes(prior.fingerprint) != digest:
            raise OrderConflict(
                f"order number {out_trade_no!r} was already used for a different order",
                out_trade_no=out_trade_no,
            )
        return order_from_row(prior), False
    row = connection.execute(
        _INSERT,
        {
            "order_no": new_number("HQ", now), "merchant_id": merchant.id,
            "out_trade_no": out_trade_no, "amount": amount, "description": description,
            "status": "created", "fingerprint": digest, "notify_url": notify,
            "return_url": back, "created_at": now, "expires_at": now + timedelta(seconds=seconds),
            "updated_at": now,
        },
    ).one()  # fmt: skip
    return order_from_row(row), True


def find_by_number(connection: Connection, merchant: Merchant, out_trade_no: str) -> PaymentOrder:
    check_merchant_number(out_trade_no)
    row = connection.execute(
        _BY_MERCHANT_NUMBER, {"merchant": merchant.id, "number": out_trade_no}
    ).first()
    if row is None:
        raise UnknownPaymentOrder(f"no order numbered {out_trade_no!r} for {merchant.code}")
    return order_from_row(row)


def get_by_order_no(connection: Connection, order_no: str) -> PaymentOrder:
    row = connection.execute(_BY_ORDER_NO, {"order_no": order_no}).first()
    if row is None:
        raise UnknownPaymentOrder(f"no order {order_no!r}")
    return order_from_row(row)


def get_by_id(connection: Connection, order_id: int) -> PaymentOrder:
    return order_from_row(connection.execute(_BY_ID, {"id": order_id}).one())


_CLOSE = (
    update(payment_orders)
    .where(payment_orders.c.id == bindparam("order_id"), payment_orders.c.status == "created")
    .values(status="closed", closed_at=bindparam("at"), updated_at=bindparam("at"))
)


def close_order(connection: Connection, order: PaymentOrder, *, now: datetime) -> PaymentOrder:
    """The merchant closes an unpaid order; closing a closed one changes nothing."""
    if order.status != "closed":
        closed = connection.execute(_CLOSE, {"order_id": order.id, "at": now}).rowcount
        if not closed:
            current = get_by_id(connection, order.id)
            if current.status != "closed":
                raise OrderPaid(
                    f"order {order.out_trade_no} is {current.status}; a paid order is "
                    "refunded, not closed"
                )
    return get_by_id(connection, order.id)


_EXPIRE = (
    update(payment_orders)
    .where(payment_orders.c.status == "created", payment_orders.c.expires_at <= bindparam("at"))
    .values(status="closed", closed_at=payment_orders.c.expires_at, updated_at=bindparam("at"))
)


def expire_due(connection: Connection, *, now: datetime) -> int:
    """Close every unpaid order past its expiry; returns how many."""
    return int(connection.execute(_EXPIRE, {"at": now}).rowcount)


def orders_of_merchant(
    connection: Connection, merchant_id: int, *, limit: int = 50
) -> list[PaymentOrder]:
    query = (
        select(payment_orders)
        .where(payment_orders.c.merchant_id == merchant_id)
        .order_by(payment_orders.c.id.desc())
        .limit(limit)
    )
    return [order_from_row(row) for row in connection.execute(query)]


def orders_paid_by(connection: Connection, user_id: int, *, limit: int = 50) -> list[PaymentOrder]:
    query = (
        select(payment_orders)
        .where(payment_orders.c.payer_user_id == user_id)
        .order_by(payment_orders.c.id.desc())
        .limit(limit)
    )
    return [order_from_row(row) for row in connection.execute(query)]
