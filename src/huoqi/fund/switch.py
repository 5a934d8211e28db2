"""Switching the fund behind a current account: redeem everything, subscribe the proceeds.

The switch is two linked orders. The redemption from the old fund is a normal one (T+1):
its shares are held at once and stop earning on its trade date. The purchase in the new
fund waits for that cash (``awaiting_payment``, linked by ``switch_order_id``); the close
that pays the redemption out books the cash into the new fund's subscriptions and the
purchase then confirms like any other, the next trading day. New purchases go to the new
fund from the moment of the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select, update

from huoqi.errors import InvalidInput
from huoqi.fund import orders, registry
from huoqi.fund.calendar import default_calendar
from huoqi.fund.orders import Order
from huoqi.fund.registry import Fund, Holder
from huoqi.fund.tables import fund_orders, holders
from huoqi.ledger import repository as ledger_repo
from huoqi.ledger.domain import check_key, fingerprint, transfer
from huoqi.ledger.posting import post_entries


class AlreadyInFund(InvalidInput):
    code = "already_in_fund"
    title = "Already backed by this fund"


@dataclass(frozen=True, slots=True)
class Switch:
    redemption: Order | None  # None when there were no shares to move
    purchase: Order | None


def switch_fund(
    connection: Connection, *, holder: Holder, to_fund: Fund, key: str, at: datetime
) -> Switch:
    """Move a holder's current account to ``to_fund`` with all its available shares."""
    check_key(key)
    prior = connection.execute(
        select(fund_orders.c.id, fund_orders.c.kind).where(
            fund_orders.c.idempotency_key.in_([key, f"{key}:buy"])
        )
    ).all()
    if prior:
        found = {kind: orders.get_order(connection, order_id) for order_id, kind in prior}
        return Switch(found.get("redemption"), found.get("purchase"))
    if to_fund.id == holder.fund_id:
        raise AlreadyInFund(f"this current account is already backed by fund {to_fund.code}")
    orders.check_open(to_fund)
    old = registry.fund_by_id(connection, holder.fund_id)
    account = registry.holding_account(connection, holder_id=holder.id, fund=old, now=at)
    registry.holding_account(connection, holder_id=holder.id, fund=to_fund, now=at)
    connection.execute(update(holders).where(holders.c.id == holder.id).values(fund_id=to_fund.id))
    balance = ledger_repo.read_balance(connection, account)
    available = 0 if balance is None else (
        balance.credits_posted - balance.debits_posted - balance.debits_pending
    )  # fmt: skip
    if available <= 0:
        return Switch(None, None)
    redemption = orders.redeem(
        connection, holder=holder, fund=old, amount=available, key=key, at=at
    )
    assert redemption.payout_date is not None
    calendar = default_calendar()
    purchase = orders.insert_order(
        connection, holder_id=holder.id, fund_id=to_fund.id, kind="purchase",
        amount=available, status="awaiting_payment", idempotency_key=f"{key}:buy",
        fingerprint=fingerprint("switch", holder.id, old.id, to_fund.id, available),
        requested_at=at, trade_date=redemption.payout_date,
        confirm_date=calendar.next_trading_day(redemption.payout_date),
        switch_order_id=redemption.id, note=f"switch from fund {old.code}", updated_at=at,
    )  # fmt: skip
    connection.execute(
        update(fund_orders)
        .where(fund_orders.c.id == redemption.id)
        .values(note=f"switch to fund {to_fund.code}")
    )
    return Switch(orders.get_order(connection, redemption.id), purchase)


def pay_switch_purchases(
    connection: Connection, *, redemption_ids: list[int], day: date, now: datetime
) -> int:
    """The redemptions just paid out fund their switch purchases; returns how many."""
    if not redemption_ids:
        return 0
    waiting = connection.execute(
        select(fund_orders.c.id, fund_orders.c.fund_id, fund_orders.c.amount).where(
            fund_orders.c.switch_order_id.in_(redemption_ids),
            fund_orders.c.status == "awaiting_payment",
        )
    ).all()
    if not waiting:
        return 0
    bank = registry.platform_account(connection, registry.BANK)
    requests = []
    for order_id, fund_id, amount in waiting:
        fund = registry.fund_by_id(connection, int(fund_id))
        requests.append(transfer(
            f"fund-order:{order_id}:paid", debit=bank, credit=fund.pending_account_id,
            amount=int(amount), memo=f"switch purchase {order_id} paid by its redemption",
            kind="purchase_paid",
        ))  # fmt: skip
    post_entries(connection, requests, now=now, atomic=True)
    connection.execute(
        update(fund_orders)
        .where(fund_orders.c.id.in_([int(row.id) for row in waiting]))
        .values(status="requested", updated_at=now)
    )
    return len(waiting)
