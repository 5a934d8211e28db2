"""Refunds: partial and repeated up to the paid amount, back to the original method.

The merchant's refund number (``out_refund_no``) is unique per merchant and is the
idempotency key. The order's refunded total grows by a conditional update that also checks
the limit, so refunds racing each other (or a refund racing the payment) never exceed what
was paid. The money comes from the merchant's payable account (which may not go below
zero): to the card (payable → bank), or to the balance as a purchase of fund shares paid
by the merchant (payable → the fund's subscriptions), confirmed at the next close like any
purchase.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, case, insert, select, update

from huoqi.errors import Conflict, RuleViolation
from huoqi.fund import orders as fund_orders_module
from huoqi.fund import registry
from huoqi.fund.calendar import default_calendar
from huoqi.ledger.domain import fingerprint, transfer
from huoqi.ledger.errors import InsufficientFunds
from huoqi.ledger.posting import post_entries
from huoqi.money import check_amount, format_amount
from huoqi.payments import outbox
from huoqi.payments.fees import fee_returned
from huoqi.payments.merchants import Merchant
from huoqi.payments.orders import (
    PAID_STATES,
    PaymentOrder,
    check_merchant_number,
    get_by_id,
    new_number,
)
from huoqi.payments.payloads import order_payload, refund_payload
from huoqi.payments.refunds_model import Refund, refund_from_row
from huoqi.payments.tables import payment_orders, payment_refunds


class RefundConflict(Conflict):
    code = "refund_conflict"
    title = "Refund number already used for another refund"


class OrderNotPaid(Conflict):
    code = "order_not_paid"
    title = "Order is not paid"


class RefundExceedsPayment(RuleViolation):
    code = "refund_exceeds_payment"
    title = "Refund exceeds what is left of the payment"


class MerchantBalanceShort(RuleViolation):
    code = "merchant_balance_short"
    title = "Merchant balance too low for the refund"


_BY_NUMBER = select(payment_refunds).where(
    payment_refunds.c.merchant_id == bindparam("merchant"),
    payment_refunds.c.out_refund_no == bindparam("number"),
)
_ADD = (
    update(payment_orders)
    .where(
        payment_orders.c.id == bindparam("order_id"),
        payment_orders.c.status.in_(("paid", "partially_refunded")),
        payment_orders.c.refunded_amount + bindparam("more") <= payment_orders.c.amount,
    )
    .values(
        refunded_amount=payment_orders.c.refunded_amount + bindparam("more"),
        status=case(
            (
                payment_orders.c.refunded_amount + bindparam("more") == payment_orders.c.amount,
                "refunded",
            ),
            else_="partially_refunded",
        ),
        updated_at=bindparam("at"),
    )
    .returning(payment_orders.c.refunded_amount)
)
_INSERT = insert(payment_refunds).returning(*payment_refunds.c)


def refunds_of(connection: Connection, order_id: int) -> list[Refund]:
    rows = connection.execute(
        select(payment_refunds)
        .where(payment_refunds.c.order_id == order_id)
        .order_by(payment_refunds.c.id)
    )
    return [refund_from_row(row) for row in rows]


def find_refund(connection: Connection, merchant: Merchant, out_refund_no: str) -> Refund | None:
    check_merchant_number(out_refund_no, what="out_refund_no")
    row = connection.execute(_BY_NUMBER, {"merchant": merchant.id, "number": out_refund_no}).first()
    return None if row is None else refund_from_row(row)


def refund(
    connection: Connection,
    *,
    merchant: Merchant,
    order: PaymentOrder,
    out_refund_no: str,
    amount: int,
    reason: str = "",
    now: datetime,
) -> tuple[Refund, bool]:
    """Refund ``amount`` fen of a paid order; returns the refund and whether it is new."""
    check_merchant_number(out_refund_no, what="out_refund_no")
    check_amount(amount, shown=format_amount(amount) if isinstance(amount, int) else None)
    reason = reason.strip()[:128]
    digest = fingerprint("refund", order.id, amount, reason)
    prior = find_refund(connection, merchant, out_refund_no)
    if prior is not None:
        if bytes(connection.execute(
            select(payment_refunds.c.fingerprint).where(payment_refunds.c.id == prior.id)
        ).scalar_one()) != digest:  # fmt: skip
            raise RefundConflict(
                f"refund number {out_refund_no!r} was already used for a different refund",
                out_refund_no=out_refund_no,
            )
        return prior, False
    if order.status not in PAID_STATES:
        raise OrderNotPaid(f"order {order.out_trade_no} is {order.status}; nothing to refund")
    total = connection.execute(_ADD, {"order_id": order.id, "more": amount, "at": now}).first()
    if total is None:
        current = get_by_id(connection, order.id)
        raise RefundExceedsPayment(
            f"a refund of {format_amount(amount, grouped=True)} CNY exceeds the "
            f"{format_amount(current.refundable, grouped=True)} CNY left of order "
            f"{order.out_trade_no}",
            left=current.refundable,
        )
    before = int(total[0]) - amount
    fund_order_id = _send_back(connection, merchant, order, out_refund_no, amount, now=now)
    row = connection.execute(
        _INSERT,
        {
            "refund_no": new_number("RF", now), "order_id": order.id,
            "merchant_id": merchant.id, "out_refund_no": out_refund_no, "amount": amount,
            "fee_returned": fee_returned(paid=order.amount, refunded_before=before,
                                         refund=amount, fee_rate_bp=merchant.fee_rate_bp),
            "reason": reason, "fingerprint": digest, "fund_order_id": fund_order_id,
            "created_at": now,
        },
    ).one()  # fmt: skip
    made = refund_from_row(row)
    outbox.enqueue(
        connection, merchant_id=merchant.id, event="refund.succeeded", url=order.notify_url,
        payload={
            "order": order_payload(get_by_id(connection, order.id),
                                   merchant_code=merchant.code, now=now),
            "refund": refund_payload(made, out_trade_no=order.out_trade_no),
        },
        now=now,
    )  # fmt: skip
    return made, True


def _send_back(
    connection: Connection, merchant: Merchant, order: PaymentOrder, number: str, amount: int,
    *, now: datetime,
) -> int | None:  # fmt: skip
    """Book the money back to the original method; the fund order id for the balance."""
    assert merchant.payable_account_id is not None
    key = f"refund:{merchant.code}:{number}"
    fund_order_id = None
    if order.method == "card":
        destination = registry.platform_account(connection, registry.BANK)
    else:
        paid_with = fund_orders_module.get_order(connection, order.fund_order_id or 0)
        fund = registry.fund_by_id(connection, paid_with.fund_id)
        destination = fund.pending_account_id
        dates = default_calendar().purchase_dates(now)
        fund_order_id = fund_orders_module.insert_order(
            connection,
            holder_id=paid_with.holder_id, fund_id=fund.id, kind="purchase", amount=amount,
            status="requested", idempotency_key=key,
            fingerprint=fingerprint("refund-purchase", order.id, number, amount),
            requested_at=now, trade_date=dates.trade_date, confirm_date=dates.confirm_date,
            payout_date=None, updated_at=now,
            note=f"refund from {merchant.name}, order {order.order_no}"[:300],
        ).id  # fmt: skip
    try:
        post_entries(
            connection,
            [transfer(key, debit=merchant.payable_account_id, credit=destination,
                      amount=amount, memo=f"refund {order.order_no}", kind="payment_refund")],
            now=now, atomic=True,
        )  # fmt: skip
    except InsufficientFunds as short:
        raise MerchantBalanceShort(
            f"the merchant's balance with Huoqi is less than the refund of "
            f"{format_amount(amount, grouped=True)} CNY (it was settled already)"
        ) from short
    return fund_order_id
