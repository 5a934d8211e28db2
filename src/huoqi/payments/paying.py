"""Paying an order: from the current-account balance, or by card through the bank gateway.

**From the balance**, in one transaction: the order is claimed (``created`` → ``paid``, a
conditional update, so a second attempt, the expiry sweep or a refund racing it cannot
also win); the customer's shares are retired, exactly like an instant redemption (a fund
order of that kind records it, so the daily close has the fund repay the platform on the
next trading day); the platform's advance pool advances the cash into the platform's bank
account, where it is owed to the merchant (``merchant:<id>:payable``); the day's use is
counted against the customer's own payment limit; the merchant's notification is written
to the outbox.

**By card**: the order is claimed for the bank (``created`` → ``paying``) and, once that is
committed, the bank gateway is asked for the debit. The bank's answer arrives later (a
signed callback): success books bank → merchant payable and writes the notification; a
decline puts the order back to ``created``. A repeated answer changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Connection, Date, bindparam, select, text, update

from huoqi.errors import InvalidInput, RuleViolation
from huoqi.fund import orders as fund_orders_module
from huoqi.fund import registry
from huoqi.fund.calendar import default_calendar
from huoqi.fund.registry import Fund, Holder
from huoqi.fund.tables import settings
from huoqi.ledger.domain import EntryRequest, Posting, fingerprint, transfer
from huoqi.ledger.errors import InsufficientFunds
from huoqi.ledger.posting import post_entries
from huoqi.money import check_amount, format_amount
from huoqi.payments import outbox
from huoqi.payments.fees import fee_for
from huoqi.payments.merchants import Merchant, merchant_by_id
from huoqi.payments.orders import (
    OrderNotPayable,
    PaymentOrder,
    get_by_order_no,
    order_from_row,
)
from huoqi.payments.payloads import order_payload
from huoqi.payments.tables import payment_orders

LIMIT_KEY = "payment_daily_limit"
DEFAULT_DAILY_LIMIT = 5_000_000  # 50,000.00 CNY per customer and day


class PaymentLimitReached(RuleViolation):
    code = "payment_limit_reached"
    title = "Daily limit for paying from the balance reached"


class BalanceShort(RuleViolation):
    code = "balance_short"
    title = "Balance too low"


class BalancePaymentsPaused(RuleViolation):
    code = "balance_payments_paused"
    title = "Paying from the balance is unavailable right now"


@dataclass(frozen=True, slots=True)
class Payer:
    """Who pays: the signed-in customer and their current account."""

    user_id: int
    holder: Holder
    fund: Fund


_LIMIT = select(settings.c.value).where(settings.c.key == LIMIT_KEY)


def daily_limit(connection: Connection) -> int:
    value = connection.execute(_LIMIT).scalar_one_or_none()
    return DEFAULT_DAILY_LIMIT if value is None else int(value)


def set_daily_limit(connection: Connection, amount: int) -> int:
    """Change the per-customer daily limit (fen; zero switches paying from the balance off)."""
    check_amount(amount, allow_zero=True)
    changed = connection.execute(
        settings.update().where(settings.c.key == LIMIT_KEY).values(value=str(amount))
    ).rowcount
    if not changed:
        connection.execute(settings.insert().values(key=LIMIT_KEY, value=str(amount)))
    return amount


_USE = text(
    "INSERT INTO payment_usage (usage_date, user_id, amount) VALUES (:day, :user, :amount) "
    "ON CONFLICT (usage_date, user_id) DO UPDATE "
    "SET amount = payment_usage.amount + excluded.amount "
    "WHERE payment_usage.amount + excluded.amount <= :limit RETURNING amount"
).bindparams(bindparam("day", type_=Date))
_USED = text(
    "SELECT amount FROM payment_usage WHERE usage_date = :day AND user_id = :user"
).bindparams(bindparam("day", type_=Date))


def used_today(connection: Connection, *, user_id: int, day: date) -> int:
    return int(connection.execute(_USED, {"day": day, "user": user_id}).scalar_one_or_none() or 0)


def _take_allowance(connection: Connection, *, user_id: int, day: date, amount: int) -> None:
    limit = daily_limit(connection)
    taken = (
        amount <= limit
        and connection.execute(
            _USE, {"day": day, "user": user_id, "amount": amount, "limit": limit}
        ).first()
    )
    if not taken:
        left = max(0, limit - used_today(connection, user_id=user_id, day=day))
        raise PaymentLimitReached(
            f"paying {format_amount(amount, grouped=True)} CNY from the balance exceeds your "
            f"daily limit: {format_amount(left, grouped=True)} of "
            f"{format_amount(limit, grouped=True)} CNY left today; pay by card instead"
        )


_CLAIM = (
    update(payment_orders)
    .where(
        payment_orders.c.id == bindparam("order_id"),
        payment_orders.c.status == "created",
        payment_orders.c.expires_at > bindparam("at"),
    )
    .values(
        status=bindparam("status"),
        method=bindparam("method"),
        payer_user_id=bindparam("payer"),
        paid_at=bindparam("paid_at"),
        fee=bindparam("fee"),
        fund_order_id=bindparam("fund_order"),
        bank_reference=bindparam("reference"),
        updated_at=bindparam("at"),
    )
    .returning(*payment_orders.c)
)


def _refuse(order: PaymentOrder, *, now: datetime) -> OrderNotPayable:
    status = order.status_at(now)
    reason = {
        "closed": "it expired or the merchant closed it",
        "paying": "a card payment for it is waiting for the bank",
    }.get(status, "it is already paid")
    return OrderNotPayable(f"order {order.order_no} cannot be paid: {reason}", status=status)


def _claim(
    connection: Connection, order: PaymentOrder, *, now: datetime, **values: object
) -> PaymentOrder:
    row = connection.execute(_CLAIM, {"order_id": order.id, "at": now, **values}).first()
    if row is None:  # another change won: the transaction is undone by the caller
        raise _refuse(get_by_order_no(connection, order.order_no), now=now)
    return order_from_row(row)


def _already_mine(order: PaymentOrder, payer_id: int, method: str) -> bool:
    """A repeated request of the payer's own payment answers it again (no second charge)."""
    return order.payer_user_id == payer_id and order.method == method and order.paid_at is not None


def pay_with_balance(
    connection: Connection, *, order_no: str, payer: Payer, now: datetime
) -> PaymentOrder:
    order = get_by_order_no(connection, order_no)
    if order.status != "created" or order.status_at(now) != "created":
        if _already_mine(order, payer.user_id, "balance"):
            return order
        raise _refuse(order, now=now)
    merchant = merchant_by_id(connection, order.merchant_id)
    _check_active(merchant)
    fund, amount = payer.fund, order.amount
    dates = default_calendar().instant_redemption_dates(now)
    holding = registry.holding_account(connection, holder_id=payer.holder.id, fund=fund, now=now)
    paid = _claim(
        connection, order, now=now, status="paid", method="balance", payer=payer.user_id,
        paid_at=now, fee=fee_for(amount, merchant.fee_rate_bp), fund_order=None,
        reference=None,
    )  # fmt: skip
    fund_order = fund_orders_module.insert_order(
        connection,
        holder_id=payer.holder.id, fund_id=fund.id, kind="instant_redemption", amount=amount,
        status="paid", idempotency_key=f"payment:{order.order_no}",
        fingerprint=fingerprint("payment", order.order_no, amount), requested_at=now,
        trade_date=dates.limit_date, confirm_date=dates.settlement_date,
        payout_date=dates.limit_date, updated_at=now,
        note=f"paid {merchant.name} order {order.order_no}"[:300],
    )  # fmt: skip
    connection.execute(_LINK_FUND_ORDER, {"order_id": order.id, "fund_order": fund_order.id})
    paid = replace(paid, fund_order_id=fund_order.id)
    _take_allowance(connection, user_id=payer.user_id, day=dates.limit_date, amount=amount)
    pool = registry.platform_account(connection, registry.ADVANCE_POOL)
    bank = registry.platform_account(connection, registry.BANK)
    assert merchant.payable_account_id is not None  # active merchants have one
    try:
        post_entries(
            connection,
            [
                transfer(
                    f"payment:{order.order_no}:shares", debit=holding,
                    credit=fund.issued_account_id, amount=amount,
                    memo=f"pay {order.order_no}", kind="payment_shares",
                ),
                EntryRequest(
                    f"payment:{order.order_no}:cash",
                    (
                        Posting(fund.advance_account_id, amount),
                        Posting(pool, -amount),
                        Posting(bank, amount),
                        Posting(merchant.payable_account_id, -amount),
                    ),
                    f"pay {order.order_no}",
                    "payment_balance",
                ),
            ],
            now=now,
            atomic=True,
        )  # fmt: skip
    except InsufficientFunds as short:
        if short.context.get("account") == registry.ADVANCE_POOL:
            raise BalancePaymentsPaused(
                "paying from the balance is unavailable right now; pay by card instead"
            ) from short
        raise BalanceShort(
            f"your balance is less than {format_amount(amount, grouped=True)} CNY "
            "(amounts being redeemed are not available)"
        ) from short
    _notify_paid(connection, paid, merchant, now=now)
    return paid


def _check_active(merchant: Merchant) -> None:
    if not merchant.active:
        raise OrderNotPayable(f"merchant {merchant.code} takes no payments ({merchant.status})")


def _notify_paid(
    connection: Connection, order: PaymentOrder, merchant: Merchant, *, now: datetime
) -> None:
    outbox.enqueue(
        connection, merchant_id=merchant.id, event="order.paid", url=order.notify_url,
        payload={"order": order_payload(order, merchant_code=merchant.code, now=now)}, now=now,
    )  # fmt: skip


def card_reference(order: PaymentOrder) -> str:
    return f"PC{order.order_no}"


def start_card_payment(
    connection: Connection, *, order_no: str, payer_user_id: int, now: datetime
) -> PaymentOrder:
    """Claim the order for a card payment; the caller asks the bank once this commits."""
    order = get_by_order_no(connection, order_no)
    if order.status != "created" or order.status_at(now) != "created":
        if order.payer_user_id == payer_user_id and order.method == "card":
            return order
        raise _refuse(order, now=now)
    _check_active(merchant_by_id(connection, order.merchant_id))
    return _claim(
        connection, order, now=now, status="paying", method="card", payer=payer_user_id,
        paid_at=None, fee=0, fund_order=None, reference=card_reference(order),
    )  # fmt: skip


_LINK_FUND_ORDER = (
    update(payment_orders)
    .where(payment_orders.c.id == bindparam("order_id"))
    .values(fund_order_id=bindparam("fund_order"))
)
_BY_REFERENCE = select(payment_orders).where(payment_orders.c.bank_reference == bindparam("ref"))
_CARD_PAID = (
    update(payment_orders)
    .where(payment_orders.c.id == bindparam("order_id"), payment_orders.c.status == "paying")
    .values(status="paid", paid_at=bindparam("at"), fee=bindparam("fee"),
            updated_at=bindparam("at"))
    .returning(*payment_orders.c)
)  # fmt: skip
_CARD_DECLINED = (
    update(payment_orders)
    .where(payment_orders.c.id == bindparam("order_id"), payment_orders.c.status == "paying")
    .values(status="created", method=None, payer_user_id=None, bank_reference=None,
            updated_at=bindparam("at"))
)  # fmt: skip


def is_card_reference(reference: str) -> bool:
    return reference.startswith("PC")


def card_answer(
    connection: Connection, *, reference: str, succeeded: bool, amount: int | None, now: datetime
) -> PaymentOrder | None:
    """The bank's answer for a card payment; a repeated or unknown answer changes nothing."""
    row = connection.execute(_BY_REFERENCE, {"ref": reference}).first()
    if row is None:
        return None
    order = order_from_row(row)
    if order.status != "paying":
        return order
    if amount is not None and amount != order.amount:
        raise InvalidInput(
            f"the bank answered {format_amount(amount)} CNY for {reference}, "
            f"the order is for {format_amount(order.amount)} CNY"
        )
    if not succeeded:
        connection.execute(_CARD_DECLINED, {"order_id": order.id, "at": now})
        return get_by_order_no(connection, order.order_no)
    merchant = merchant_by_id(connection, order.merchant_id)
    fee = fee_for(order.amount, merchant.fee_rate_bp)
    paid = order_from_row(
        connection.execute(_CARD_PAID, {"order_id": order.id, "at": now, "fee": fee}).one()
    )
    bank = registry.platform_account(connection, registry.BANK)
    assert merchant.payable_account_id is not None
    post_entries(
        connection,
        [transfer(f"payment:{order.order_no}:card", debit=bank,
                  credit=merchant.payable_account_id, amount=order.amount,
                  memo=f"card {reference}", kind="payment_card")],
        now=now, atomic=True,
    )  # fmt: skip
    _notify_paid(connection, paid, merchant, now=now)
    return paid
