"""Purchases and redemptions of the current account, each with its status and dates.

Every request carries the caller's idempotency key: the same key with the same request
returns the first order; with another request it is refused. Amounts are fen, and a share
unit is 0.01 share (NAV 1.00), so an amount of cash buys the same number of share units.

* **Purchase**: the order waits for the bank (``awaiting_payment``); when the bank confirms
  the debit the cash is booked (bank → fund subscriptions) and the order's dates are fixed
  from the moment of payment (``requested``). The daily close of the confirmation day
  issues the shares (``confirmed``); they earn income from that day on.
* **Normal redemption** (T+1): the shares are held at once, so they cannot be spent twice;
  the close of the trade date retires them (they earn nothing from T on) and the close of
  the payout date marks the cash paid.
* **Instant redemption** (T+0): within the daily limits, the shares are retired and the
  platform's advance pool pays the customer at once; the fund repays the advance at the
  close of the next trading day. Its trade date is the calendar day of the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, insert, select, update

from huoqi.errors import Conflict, InvalidInput, NotFound, RuleViolation
from huoqi.fund import registry
from huoqi.fund.calendar import default_calendar
from huoqi.fund.limits import take_instant_allowance
from huoqi.fund.registry import Fund, Holder
from huoqi.fund.tables import fund_orders
from huoqi.ledger import holds
from huoqi.ledger.domain import HoldRequest, check_key, fingerprint, transfer
from huoqi.ledger.errors import InsufficientFunds
from huoqi.ledger.posting import post_entries
from huoqi.money import check_amount, format_amount

MINIMUM_PURCHASE = 100  # 1.00 CNY


class UnknownOrder(NotFound):
    code = "unknown_order"
    title = "Unknown order"


class OrderKeyConflict(Conflict):
    code = "idempotency_conflict"
    title = "Idempotency key reused"


class BelowMinimum(InvalidInput):
    code = "below_minimum"
    title = "Amount below the minimum"


class NotEnoughShares(RuleViolation):
    code = "insufficient_shares"
    title = "Not enough shares"


class AdvancePoolEmpty(RuleViolation):
    code = "advance_pool_empty"
    title = "Instant redemption unavailable"


class FundClosed(RuleViolation):
    code = "fund_closed"
    title = "Fund not open"


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    holder_id: int
    fund_id: int
    kind: str
    amount: int
    status: str
    requested_at: datetime
    trade_date: date
    confirm_date: date
    payout_date: date | None
    hold_id: int | None
    bank_reference: str | None
    note: str


class BankGateway(Protocol):
    """Where purchase cash comes from. It answers later, through `payment_result`."""

    def request_debit(self, *, reference: str, amount: int) -> None: ...


def order_from_row(row: Any) -> Order:
    return Order(
        row.id,
        row.holder_id,
        row.fund_id,
        row.kind,
        row.amount,
        row.status,
        row.requested_at,
        row.trade_date,
        row.confirm_date,
        row.payout_date,
        row.hold_id,
        row.bank_reference,
        row.note,
    )


# Built once (a statement object keeps its cache key): a purchase and the bank's answer
# each run these, and building them anew cost more than running them.
_ORDER_BY_ID = select(fund_orders).where(fund_orders.c.id == bindparam("id"))
_ORDER_BY_KEY = select(fund_orders).where(fund_orders.c.idempotency_key == bindparam("key"))
_ORDER_BY_REFERENCE = select(fund_orders).where(
    fund_orders.c.bank_reference == bindparam("reference")
)
_INSERT_ORDER = insert(fund_orders).returning(*fund_orders.c)  # the new row, as stored


def get_order(connection: Connection, order_id: int) -> Order:
    row = connection.execute(_ORDER_BY_ID, {"id": order_id}).first()
    if row is None:
        raise UnknownOrder(f"order {order_id} does not exist", order=order_id)
    return order_from_row(row)


def orders_of(connection: Connection, holder_id: int, *, limit: int = 50) -> list[Order]:
    rows = connection.execute(
        select(fund_orders)
        .where(fund_orders.c.holder_id == holder_id)
        .order_by(fund_orders.c.id.desc())
        .limit(limit)
    )
    return [order_from_row(row) for row in rows]


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput("the request time must carry a time zone")
    return at


def _screen(
    connection: Connection, kind: str, *, holder: Holder, fund: Fund, amount: int, key: str
) -> tuple[bytes, Order | None]:
    """Check a request's key and amount; return its fingerprint and the first order made
    with the same key (a replay), refusing the key if it was used for another request."""
    check_key(key)
    check_amount(
        amount, shown=format_amount(amount, grouped=True) if isinstance(amount, int) else None
    )
    digest = fingerprint(kind, holder.id, fund.id, amount)
    return digest, _replay(connection, key, digest)


def _replay(connection: Connection, key: str, digest: bytes) -> Order | None:
    row = connection.execute(_ORDER_BY_KEY, {"key": key}).first()
    if row is None:
        return None
    if bytes(row.fingerprint) != digest:
        raise OrderKeyConflict(
            f"idempotency key {key!r} was already used for a different request", key=key
        )
    return order_from_row(row)


def insert_order(connection: Connection, **values: Any) -> Order:
    return order_from_row(connection.execute(_INSERT_ORDER, values).one())


def check_open(fund: Fund) -> None:
    if fund.status != "open":
        raise FundClosed(f"fund {fund.code} is {fund.status}; it takes no new requests")


def purchase(
    connection: Connection,
    *,
    holder: Holder,
    fund: Fund,
    amount: int,
    key: str,
    at: datetime,
) -> Order:
    """Record a purchase of ``amount`` fen of ``fund``; it awaits the bank's payment.

    The caller asks the bank gateway for the money once this order is committed.
    """
    digest, prior = _screen(
        connection, "purchase", holder=holder, fund=fund, amount=amount, key=key
    )
    if prior is not None:
        return prior
    if amount < MINIMUM_PURCHASE:
        raise BelowMinimum(
            f"a purchase must be at least {format_amount(MINIMUM_PURCHASE, grouped=True)} CNY, "
            f"not {format_amount(amount, grouped=True)}"
        )
    check_open(fund)
    registry.holding_account(connection, holder_id=holder.id, fund=fund, now=at)
    dates = default_calendar().purchase_dates(_aware(at))
    return insert_order(
        connection,
        holder_id=holder.id,
        fund_id=fund.id,
        kind="purchase",
        amount=amount,
        status="awaiting_payment",
        idempotency_key=key,
        fingerprint=digest,
        requested_at=at,
        trade_date=dates.trade_date,
        confirm_date=dates.confirm_date,
        payout_date=None,
        bank_reference="HQ" + fingerprint("bank", holder.id, key).hex(),
        updated_at=at,
    )


def payment_result(
    connection: Connection, *, reference: str, succeeded: bool, at: datetime
) -> Order:
    """The bank's answer for a purchase. A repeated answer changes nothing."""
    row = connection.execute(_ORDER_BY_REFERENCE, {"reference": reference}).first()
    if row is None:
        raise UnknownOrder(f"no purchase has bank reference {reference!r}", reference=reference)
    order = order_from_row(row)
    if order.status != "awaiting_payment":
        return order
    if not succeeded:
        connection.execute(
            update(fund_orders)
            .where(fund_orders.c.id == order.id)
            .values(status="failed", note="the bank declined the payment", updated_at=at)
        )
        return get_order(connection, order.id)
    payments_received(connection, references=[reference], at=at)
    return get_order(connection, order.id)


_AWAITING_BY_REFERENCES = select(fund_orders).where(
    fund_orders.c.bank_reference.in_(bindparam("references", expanding=True)),
    fund_orders.c.status == "awaiting_payment",
)
_MARK_PAID = (
    update(fund_orders)
    .where(fund_orders.c.id == bindparam("order_id"))
    .values(
        status="requested",
        trade_date=bindparam("trade"),
        confirm_date=bindparam("confirm"),
        updated_at=bindparam("at"),
    )
)


def payments_received(connection: Connection, *, references: list[str], at: datetime) -> list[int]:
    """Many of the bank's approvals at once, the way a gateway's batch arrives: one ledger
    write (bank → each fund's subscriptions) and one update for all the purchases still
    awaiting payment among ``references``; the rest (answered before) change nothing.
    Returns the ids of the purchases now paid."""
    rows = [
        order_from_row(row)
        for row in connection.execute(_AWAITING_BY_REFERENCES, {"references": references})
    ]
    if not rows:
        return []
    dates = default_calendar().purchase_dates(_aware(at))  # T counts from the payment
    bank = registry.platform_account(connection, registry.BANK)
    pending = {
        fund_id: registry.fund_by_id(connection, fund_id).pending_account_id
        for fund_id in {order.fund_id for order in rows}
    }
    post_entries(
        connection,
        [
            transfer(
                f"fund-order:{order.id}:paid",
                debit=bank,
                credit=pending[order.fund_id],
                amount=order.amount,
                memo=f"purchase {order.id}",
                kind="purchase_paid",
            )
            for order in rows
        ],
        now=at,
        atomic=True,
    )
    connection.execute(
        _MARK_PAID,
        [
            {
                "order_id": order.id,
                "trade": dates.trade_date,
                "confirm": dates.confirm_date,
                "at": at,
            }
            for order in rows
        ],
    )
    return [order.id for order in rows]


def redeem(
    connection: Connection, *, holder: Holder, fund: Fund, amount: int, key: str, at: datetime
) -> Order:
    """A normal (T+1) redemption: the shares are held now and retired at the close of T."""
    digest, prior = _screen(
        connection, "redemption", holder=holder, fund=fund, amount=amount, key=key
    )
    if prior is not None:
        return prior
    account = registry.holding_account(connection, holder_id=holder.id, fund=fund, now=at)
    dates = default_calendar().redemption_dates(_aware(at))
    try:
        hold = holds.place_hold(
            connection,
            HoldRequest(
                f"fund-order:{key}:hold",
                account,
                fund.issued_account_id,
                amount,
                memo="normal redemption",
            ),
            now=at,
        )
    except InsufficientFunds as short:
        raise _not_enough_shares(amount) from short
    return insert_order(
        connection,
        holder_id=holder.id,
        fund_id=fund.id,
        kind="redemption",
        amount=amount,
        status="requested",
        idempotency_key=key,
        fingerprint=digest,
        requested_at=at,
        trade_date=dates.trade_date,
        confirm_date=dates.trade_date,
        payout_date=dates.payout_date,
        hold_id=hold.id,
        updated_at=at,
    )


def instant_redeem(
    connection: Connection, *, holder: Holder, fund: Fund, amount: int, key: str, at: datetime
) -> Order:
    """A T+0 redemption within the daily limits, advanced by the platform at once."""
    digest, prior = _screen(
        connection, "instant_redemption", holder=holder, fund=fund, amount=amount, key=key
    )
    if prior is not None:
        return prior
    dates = default_calendar().instant_redemption_dates(_aware(at))
    day = dates.limit_date
    account = registry.holding_account(connection, holder_id=holder.id, fund=fund, now=at)
    take_instant_allowance(connection, day=day, fund_id=fund.id, holder_id=holder.id, amount=amount)
    pool = registry.platform_account(connection, registry.ADVANCE_POOL)
    shares = transfer(
        f"fund-order:{key}:shares",
        debit=account,
        credit=fund.issued_account_id,
        amount=amount,
        memo="instant redemption",
        kind="instant_redemption",
    )
    cash = transfer(
        f"fund-order:{key}:advance",
        debit=fund.advance_account_id,
        credit=pool,
        amount=amount,
        memo="instant redemption advance",
        kind="instant_advance",
    )
    try:
        post_entries(connection, [shares, cash], now=at, atomic=True)
    except InsufficientFunds as short:
        if short.context.get("account") == registry.ADVANCE_POOL:
            raise AdvancePoolEmpty(
                "instant redemption is unavailable right now; a normal redemption "
                "(paid on the next trading day) is open"
            ) from short
        raise _not_enough_shares(amount) from short
    return insert_order(
        connection,
        holder_id=holder.id,
        fund_id=fund.id,
        kind="instant_redemption",
        amount=amount,
        status="paid",
        idempotency_key=key,
        fingerprint=digest,
        requested_at=at,
        trade_date=day,
        confirm_date=dates.settlement_date,
        payout_date=day,
        updated_at=at,
    )


def _not_enough_shares(amount: int) -> NotEnoughShares:
    return NotEnoughShares(
        f"not enough shares to redeem {format_amount(amount, grouped=True)} CNY "
        "(shares already being redeemed are not available)"
    )
