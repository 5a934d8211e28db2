"""Merchant settlement, T+1: each business day's payments and refunds paid out the next day.

For business day D (China time), every payment and refund of a merchant up to the end of D
that no settlement has taken yet is settled together: ``net = gross − refunded − fees``,
where the fees are the payments' fees less the fees the refunds gave back. The ledger entry
debits the merchant's payable account (gross − refunded) and credits the platform's bank
(net, paid out to the merchant) and its fee income (fees). When the net is not positive
(a day of refunds only) nothing is paid and the items wait for the next day. Settling a
day twice changes nothing (one settlement per merchant and day).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, func, insert, select, update

from huoqi.errors import RuleViolation
from huoqi.fund import registry
from huoqi.fund.calendar import SHANGHAI
from huoqi.ledger.domain import EntryRequest, Posting
from huoqi.ledger.posting import post_entries
from huoqi.money import format_amount
from huoqi.payments.merchants import FEE_INCOME, Merchant
from huoqi.payments.orders import PaymentOrder, order_from_row
from huoqi.payments.payloads import moment
from huoqi.payments.refunds_model import Refund, refund_from_row
from huoqi.payments.tables import merchant_settlements, payment_orders, payment_refunds


class DayNotOver(RuleViolation):
    code = "day_not_over"
    title = "Business day not over"


@dataclass(frozen=True, slots=True)
class Settlement:
    id: int
    merchant_id: int
    business_date: date
    settle_date: date
    payments: int
    refunds: int
    gross: int
    refunded: int
    fees: int
    net: int

    @property
    def reference(self) -> str:
        return f"ST{self.id}"


def end_of_day(day: date) -> datetime:
    """The first instant after business day ``day`` in China time."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=SHANGHAI)


def _unsettled(
    connection: Connection, merchant_id: int, day: date
) -> tuple[list[PaymentOrder], list[Refund]]:
    cutoff = end_of_day(day)
    orders = [
        order_from_row(row)
        for row in connection.execute(
            select(payment_orders).where(
                payment_orders.c.merchant_id == merchant_id,
                payment_orders.c.settlement_id.is_(None),
                payment_orders.c.paid_at.is_not(None),
                payment_orders.c.paid_at < cutoff,
            )
        )
    ]
    refunds = [
        refund_from_row(row)
        for row in connection.execute(
            select(payment_refunds).where(
                payment_refunds.c.merchant_id == merchant_id,
                payment_refunds.c.settlement_id.is_(None),
                payment_refunds.c.created_at < cutoff,
            )
        )
    ]
    return orders, refunds


def _settlement(row: object) -> Settlement:
    return Settlement(*(getattr(row, name) for name in Settlement.__slots__))


def find_settlement(connection: Connection, merchant_id: int, day: date) -> Settlement | None:
    row = connection.execute(
        select(merchant_settlements).where(
            merchant_settlements.c.merchant_id == merchant_id,
            merchant_settlements.c.business_date == day,
        )
    ).first()
    return None if row is None else _settlement(row)


def settle(
    connection: Connection, merchant: Merchant, day: date, *, now: datetime
) -> Settlement | None:
    """Settle ``merchant``'s business day ``day``; None when there is nothing to pay."""
    if now < end_of_day(day):
        raise DayNotOver(f"business day {day} has not ended yet; settle it from the next day")
    done = find_settlement(connection, merchant.id, day)
    if done is not None:
        return done
    orders, refunds = _unsettled(connection, merchant.id, day)
    gross = sum(order.amount for order in orders)
    refunded = sum(refund.amount for refund in refunds)
    fees = sum(order.fee for order in orders) - sum(refund.fee_returned for refund in refunds)
    net = gross - refunded - fees
    if net <= 0:
        return None
    settlement_id = connection.execute(
        insert(merchant_settlements)
        .values(
            merchant_id=merchant.id, business_date=day, settle_date=day + timedelta(days=1),
            payments=len(orders), refunds=len(refunds), gross=gross, refunded=refunded,
            fees=fees, net=net, created_at=now,
        )
        .returning(merchant_settlements.c.id)
    ).scalar_one()  # fmt: skip
    if orders:
        connection.execute(
            update(payment_orders)
            .where(payment_orders.c.id.in_([order.id for order in orders]))
            .values(settlement_id=settlement_id)
        )
    if refunds:
        connection.execute(
            update(payment_refunds)
            .where(payment_refunds.c.id.in_([refund.id for refund in refunds]))
            .values(settlement_id=settlement_id)
        )
    assert merchant.payable_account_id is not None
    bank = registry.platform_account(connection, registry.BANK)
    fee_income = registry.platform_account(connection, FEE_INCOME)
    postings = [Posting(merchant.payable_account_id, gross - refunded), Posting(bank, -net)]
    if fees:
        postings.append(Posting(fee_income, -fees))
    post_entries(
        connection,
        [EntryRequest(f"settlement:{merchant.code}:{day.isoformat()}", tuple(postings),
                      f"settlement of {day} for {merchant.code}", "merchant_settlement")],
        now=now, atomic=True,
    )  # fmt: skip
    return find_settlement(connection, merchant.id, day)


def settle_all(connection: Connection, day: date, *, now: datetime) -> list[Settlement]:
    from huoqi.payments.merchants import list_merchants

    made = []
    for merchant in list_merchants(connection, status="active"):
        settlement = settle(connection, merchant, day, now=now)
        if settlement is not None:
            made.append(settlement)
    return made


def settlement_file(connection: Connection, settlement: Settlement) -> str:
    """The settlement file: one line per payment and refund, then the totals."""
    orders = [
        order_from_row(row)
        for row in connection.execute(
            select(payment_orders)
            .where(payment_orders.c.settlement_id == settlement.id)
            .order_by(payment_orders.c.paid_at, payment_orders.c.id)
        )
    ]
    refunds = connection.execute(
        select(payment_refunds, payment_orders.c.out_trade_no, payment_orders.c.order_no)
        .join(payment_orders, payment_orders.c.id == payment_refunds.c.order_id)
        .where(payment_refunds.c.settlement_id == settlement.id)
        .order_by(payment_refunds.c.created_at, payment_refunds.c.id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["type", "huoqi_no", "order_no", "out_no", "time", "amount", "fee"])
    for order in orders:
        writer.writerow(["payment", order.order_no, order.order_no, order.out_trade_no,
                         moment(order.paid_at), format_amount(order.amount),
                         format_amount(order.fee)])  # fmt: skip
    for row in refunds:
        writer.writerow(["refund", row.refund_no, row.order_no, row.out_refund_no,
                         moment(refund_from_row(row).created_at), format_amount(-row.amount),
                         format_amount(-row.fee_returned)])  # fmt: skip
    writer.writerow(["total", settlement.reference, "", "", settlement.business_date.isoformat(),
                     format_amount(settlement.gross - settlement.refunded),
                     format_amount(settlement.fees)])  # fmt: skip
    writer.writerow(["net", settlement.reference, "", "", settlement.settle_date.isoformat(),
                     format_amount(settlement.net), ""])  # fmt: skip
    return out.getvalue()


def unsettled_balance(connection: Connection, merchant: Merchant) -> int:
    """What Huoqi owes the merchant now: payments less refunds not yet paid out."""
    paid = connection.execute(
        select(func.coalesce(func.sum(payment_orders.c.amount), 0)).where(
            payment_orders.c.merchant_id == merchant.id,
            payment_orders.c.settlement_id.is_(None),
            payment_orders.c.paid_at.is_not(None),
        )
    ).scalar_one()
    back = connection.execute(
        select(func.coalesce(func.sum(payment_refunds.c.amount), 0)).where(
            payment_refunds.c.merchant_id == merchant.id,
            payment_refunds.c.settlement_id.is_(None),
        )
    ).scalar_one()
    return int(paid) - int(back)
