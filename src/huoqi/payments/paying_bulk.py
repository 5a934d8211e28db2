"""Paying many orders from the balance at once: the same bookings as `paying.pay_with_balance`,
set-based.

One batch is a handful of statements whatever its size: the orders, merchants, holding
accounts and the day's use are read together; the orders are claimed, the fund orders
inserted and linked, the use counted, the ledger entries posted (one `post_entries` call,
atomic) and the notifications written, each with one ``executemany``. Anything the checks
in Python cannot promise (an order claimed by someone else meanwhile, shares or the pool
running short) makes the batch fall back to paying one by one, each payment in a savepoint,
with the single path's errors: a batch is never partly booked.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, insert, select, text, update

from huoqi.errors import HuoqiError
from huoqi.fund import registry
from huoqi.fund.calendar import InstantRedemptionDates, default_calendar
from huoqi.fund.tables import fund_orders
from huoqi.ledger import repository as ledger_repo
from huoqi.ledger.domain import EntryRequest, Posting, fingerprint, transfer
from huoqi.ledger.posting import post_entries
from huoqi.payments import paying
from huoqi.payments.fees import fee_for
from huoqi.payments.merchants import Merchant, merchant_from_row
from huoqi.payments.orders import PaymentOrder, order_from_row
from huoqi.payments.paying import Payer
from huoqi.payments.payloads import order_payload
from huoqi.payments.tables import merchant_notifications, merchants, payment_orders


@dataclass(frozen=True, slots=True)
class Paid:
    order_no: str
    order: PaymentOrder | None
    error: HuoqiError | None


class _Fallback(Exception):
    """The batch cannot be booked at once; pay one by one."""


_ORDERS = select(payment_orders).where(
    payment_orders.c.order_no.in_(bindparam("numbers", expanding=True))
)
_MERCHANTS = select(merchants).where(merchants.c.id.in_(bindparam("ids", expanding=True)))
_CLAIM = (
    update(payment_orders)
    .where(
        payment_orders.c.id == bindparam("b_id"),
        payment_orders.c.status == "created",
        payment_orders.c.expires_at > bindparam("b_at"),
    )
    .values(status="paid", method="balance", payer_user_id=bindparam("b_payer"),
            paid_at=bindparam("b_at"), fee=bindparam("b_fee"),
            fund_order_id=bindparam("b_fund_order"), updated_at=bindparam("b_at"))
)  # fmt: skip
_INSERT_FUND_ORDERS = insert(fund_orders).returning(fund_orders.c.id, sort_by_parameter_order=True)
_USE = text(
    "INSERT INTO payment_usage (usage_date, user_id, amount) VALUES (:day, :user, :amount) "
    "ON CONFLICT (usage_date, user_id) DO UPDATE "
    "SET amount = payment_usage.amount + excluded.amount"
)
_USED = text(
    "SELECT user_id, amount FROM payment_usage WHERE usage_date = :day AND user_id IN :users"
).bindparams(bindparam("users", expanding=True))
_NOTIFY = insert(merchant_notifications)


def pay_many_with_balance(
    connection: Connection, payments: Sequence[tuple[str, Payer]], *, now: datetime
) -> list[Paid]:
    """Pay ``payments`` (order number, payer) in the open transaction; one outcome each."""
    if not payments:
        return []
    savepoint = connection.begin_nested()
    try:
        paid = _at_once(connection, payments, now)
    except _Fallback:
        savepoint.rollback()
        return _one_by_one(connection, payments, now)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return paid


def _one_by_one(
    connection: Connection, payments: Sequence[tuple[str, Payer]], now: datetime
) -> list[Paid]:
    outcomes = []
    for order_no, payer in payments:
        savepoint = connection.begin_nested()
        try:
            order = paying.pay_with_balance(connection, order_no=order_no, payer=payer, now=now)
        except HuoqiError as refused:
            savepoint.rollback()
            outcomes.append(Paid(order_no, None, refused))
        else:
            savepoint.commit()
            outcomes.append(Paid(order_no, order, None))
    return outcomes


def _at_once(
    connection: Connection, payments: Sequence[tuple[str, Payer]], now: datetime
) -> list[Paid]:
    numbers = [order_no for order_no, _ in payments]
    if len(set(numbers)) != len(numbers):
        raise _Fallback
    found = {row.order_no: order_from_row(row)
             for row in connection.execute(_ORDERS, {"numbers": numbers})}  # fmt: skip
    if len(found) != len(numbers):
        raise _Fallback
    owners = {row.id: merchant_from_row(row) for row in connection.execute(
        _MERCHANTS, {"ids": sorted({order.merchant_id for order in found.values()})})}  # fmt: skip
    orders = [found[number] for number in numbers]
    if any(o.status_at(now) != "created" or not owners[o.merchant_id].active for o in orders):
        raise _Fallback
    dates = default_calendar().instant_redemption_dates(now)
    _check_allowance(connection, payments, orders, dates.limit_date)
    holding = _holding_accounts(connection, [payer for _, payer in payments])
    pool = registry.platform_account(connection, registry.ADVANCE_POOL)
    bank = registry.platform_account(connection, registry.BANK)
    fund_order_ids = _insert_fund_orders(
        connection, payments, orders, owners=owners, dates=dates, now=now
    )
    fees = [fee_for(o.amount, owners[o.merchant_id].fee_rate_bp) for o in orders]
    claimed = connection.execute(_CLAIM, [
        {"b_id": o.id, "b_at": now, "b_payer": payer.user_id, "b_fee": fee, "b_fund_order": f}
        for o, (_, payer), fee, f in zip(orders, payments, fees, fund_order_ids, strict=True)
    ]).rowcount  # fmt: skip
    if claimed != len(orders):
        raise _Fallback
    entries = []
    for order, (_, payer) in zip(orders, payments, strict=True):
        merchant = owners[order.merchant_id]
        account = holding.get((payer.holder.id, payer.fund.id))
        if account is None or merchant.payable_account_id is None:
            raise _Fallback
        entries += _entries(order, payer, merchant, holding=account, pool=pool, bank=bank)
    try:
        post_entries(connection, entries, now=now, atomic=True)
    except HuoqiError:
        raise _Fallback from None
    totals: dict[int, int] = defaultdict(int)
    for order, (_, payer) in zip(orders, payments, strict=True):
        totals[payer.user_id] += order.amount
    connection.execute(_USE, [{"day": dates.limit_date, "user": user, "amount": amount}
                              for user, amount in totals.items()])  # fmt: skip
    paid = [
        replace(o, status="paid", method="balance", payer_user_id=payer.user_id, paid_at=now,
                fee=fee, fund_order_id=f)
        for o, (_, payer), fee, f in zip(orders, payments, fees, fund_order_ids, strict=True)
    ]  # fmt: skip
    _notify(connection, paid, owners, now)
    return [Paid(order.order_no, order, None) for order in paid]


def _check_allowance(
    connection: Connection, payments: Sequence[tuple[str, Payer]], orders: list[PaymentOrder],
    day: object,
) -> None:  # fmt: skip
    limit = paying.daily_limit(connection)
    users = sorted({payer.user_id for _, payer in payments})
    used: dict[int, int] = {
        int(user): int(amount)
        for user, amount in connection.execute(_USED, {"day": day, "users": users})
    }
    for order, (_, payer) in zip(orders, payments, strict=True):
        used[payer.user_id] = used.get(payer.user_id, 0) + order.amount
        if used[payer.user_id] > limit:
            raise _Fallback


def _holding_accounts(connection: Connection, payers: list[Payer]) -> dict[tuple[int, int], int]:
    codes = {registry.holding_account_code(p.holder.id, p.fund.code): (p.holder.id, p.fund.id)
             for p in payers}  # fmt: skip
    ids = ledger_repo.account_ids_by_code(connection, list(codes))
    return {codes[code]: account_id for code, account_id in ids.items()}


def _insert_fund_orders(
    connection: Connection, payments: Sequence[tuple[str, Payer]], orders: list[PaymentOrder],
    *, owners: dict[int, Merchant], dates: InstantRedemptionDates, now: datetime,
) -> list[int]:  # fmt: skip
    rows = [
        {
            "holder_id": payer.holder.id, "fund_id": payer.fund.id,
            "kind": "instant_redemption", "amount": order.amount, "status": "paid",
            "idempotency_key": f"payment:{order.order_no}",
            "fingerprint": fingerprint("payment", order.order_no, order.amount),
            "requested_at": now, "trade_date": dates.limit_date,
            "confirm_date": dates.settlement_date,
            "payout_date": dates.limit_date,
            "note": f"paid {owners[order.merchant_id].name} order {order.order_no}"[:300],
            "updated_at": now,
        }
        for order, (_, payer) in zip(orders, payments, strict=True)
    ]  # fmt: skip
    return [row.id for row in connection.execute(_INSERT_FUND_ORDERS, rows)]


def _entries(
    order: PaymentOrder, payer: Payer, merchant: Merchant, *, holding: int, pool: int, bank: int
) -> list[EntryRequest]:
    assert merchant.payable_account_id is not None
    return [
        transfer(f"payment:{order.order_no}:shares", debit=holding,
                 credit=payer.fund.issued_account_id, amount=order.amount,
                 memo=f"pay {order.order_no}", kind="payment_shares"),
        EntryRequest(
            f"payment:{order.order_no}:cash",
            (Posting(payer.fund.advance_account_id, order.amount), Posting(pool, -order.amount),
             Posting(bank, order.amount), Posting(merchant.payable_account_id, -order.amount)),
            f"pay {order.order_no}", "payment_balance",
        ),
    ]  # fmt: skip


def _notify(
    connection: Connection, paid: list[PaymentOrder], owners: dict[int, Merchant], now: datetime
) -> None:
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    for order in paid:
        merchant = owners[order.merchant_id]
        event_id = "EV" + secrets.token_hex(12).upper()
        body = {"event_id": event_id, "event": "order.paid", "created_at": stamp,
                "order": order_payload(order, merchant_code=merchant.code, now=now)}  # fmt: skip
        rows.append({
            "event_id": event_id, "merchant_id": merchant.id, "event": "order.paid",
            "url": order.notify_url,
            "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
        })  # fmt: skip
    connection.execute(_NOTIFY, rows)
