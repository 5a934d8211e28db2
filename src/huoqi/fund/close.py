"""The daily close (end of day) of one fund for one calendar day, exactly once.

For fund F and day D, in order (MISSION §3):

0. check that D's income per 10,000 shares is there and that D-1 is closed;
1. ``confirm_purchases`` — issue the shares of purchases confirmed on D (they earn from D);
2. ``confirm_redemptions`` — retire the shares of redemptions with trade date D (they earn
   nothing from D on) and mark the cash of redemptions paid out on D;
3. ``plan`` / 4. ``distribute_income`` — see `huoqi.fund.income_sql`;
5. ``settle_advances`` — the fund repays the instant redemptions it confirms on D;
6. ``report`` — AUM, flows, income and instant use, and the reconciliation: the fund's
   issued shares equal the sum of its holders' shares, and the ledger balances.

``eod_runs`` records the last finished step; every step's writes and that record are in
one transaction (or, for the partitioned steps, each partition and its mark are), so a
close killed at any point resumes where it stopped, and a closed day is never redone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from huoqi.db.engine import read_transaction, write_transaction
from huoqi.errors import RuleViolation
from huoqi.fund import income_sql, registry, switch
from huoqi.fund.income import IncomePlan
from huoqi.fund.registry import Fund
from huoqi.fund.tables import eod_runs, fund_orders, fund_rates, funds, holdings
from huoqi.ledger import holds
from huoqi.ledger import queries as ledger_queries
from huoqi.ledger.domain import transfer
from huoqi.ledger.posting import post_entries
from huoqi.ledger.tables import accounts

SHANGHAI = ZoneInfo("Asia/Shanghai")
STEPS = (
    "confirm_purchases", "confirm_redemptions", "plan", "distribute_income", "settle_advances",
    "report",
)  # fmt: skip
CHUNK = 1_000

# step number (1-based), total units of work, units done
Progress = Callable[[str, int, int], None]


class IncomeMissing(RuleViolation):
    code = "income_missing"
    title = "Income not imported"


class OutOfOrder(RuleViolation):
    code = "close_out_of_order"
    title = "Days are closed in order"


class DayNotOver(RuleViolation):
    code = "day_not_over"
    title = "The day is not over"


class ReconciliationFailed(RuleViolation):
    code = "reconciliation_failed"
    title = "Reconciliation failed"


@dataclass(frozen=True, slots=True)
class DayClosed:
    fund: str
    day: date
    report: dict[str, Any]
    already_closed: bool


def _no_progress(step: str, total: int, done: int) -> None:
    return None


_LAST_CLOSED = select(func.max(eod_runs.c.business_date)).where(
    eod_runs.c.fund_id == bindparam("fund"), eod_runs.c.status == "closed"
)


def last_closed(connection: Connection, fund: Fund) -> date | None:
    value = connection.execute(_LAST_CLOSED, {"fund": fund.id}).scalar_one()
    return _as_date(value) if value is not None else None


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def first_day(connection: Connection, fund: Fund) -> date:
    """The first day a fund can be closed: the day it was registered (Asia/Shanghai)."""
    created: datetime | str = connection.execute(
        select(funds.c.created_at).where(funds.c.id == fund.id)
    ).scalar_one()
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(SHANGHAI).date()


def days_to_close(connection: Connection, fund: Fund, through: date) -> list[date]:
    """The days still open up to ``through``, oldest first."""
    last = last_closed(connection, fund)
    start = last + timedelta(days=1) if last else first_day(connection, fund)
    return [start + timedelta(days=n) for n in range((through - start).days + 1)]


def close_through(
    engine: Engine, fund_code: str, through: date, *, now: datetime,
    progress: Progress = _no_progress,
) -> list[DayClosed]:  # fmt: skip
    """Close every open day of a fund up to ``through``, in order (catch-up)."""
    with read_transaction(engine) as connection:
        fund = registry.get_fund(connection, fund_code)
        last = last_closed(connection, fund)
        days = days_to_close(connection, fund, through)
    if not days and last is not None and through <= last:
        return [close_day(engine, fund_code, through, now=now, progress=progress)]
    return [close_day(engine, fund_code, day, now=now, progress=progress) for day in days]


def close_day(
    engine: Engine, fund_code: str, day: date, *, now: datetime,
    progress: Progress = _no_progress,
) -> DayClosed:  # fmt: skip
    """Close ``day`` for one fund; a closed day returns its stored report unchanged."""
    today = now.astimezone(SHANGHAI).date()
    if day >= today:
        raise DayNotOver(
            f"{day} is not over yet in Asia/Shanghai (it is {today}); "
            "a day is closed once it has ended"
        )
    with write_transaction(engine) as connection:
        fund = registry.get_fund(connection, fund_code)
        run = connection.execute(
            select(eod_runs).where(eod_runs.c.fund_id == fund.id, eod_runs.c.business_date == day)
        ).first()
        if run is not None and run.status == "closed":
            return DayClosed(fund.code, day, json.loads(run.report), already_closed=True)
        rate = _rate(connection, fund, day)
        if run is None:
            _check_order(connection, fund, day)
            connection.execute(
                insert(eod_runs).values(
                    fund_id=fund.id, business_date=day, status="running", step=0, started_at=now
                )
            )
            step = 0
        else:
            step = int(run.step)
    if step < 1:
        _confirm_purchases(engine, fund, day, now, progress)
    if step < 2:
        _confirm_redemptions(engine, fund, day, now, progress)
    if step < 3:
        income_plan = income_sql.plan(engine, fund, day, rate, _counter(progress, "plan"))
        _finish_step(engine, fund, day, 3, extra={"plan": json.dumps(income_plan.to_dict())})
    with read_transaction(engine) as connection:
        stored = connection.execute(
            select(eod_runs.c.plan).where(
                eod_runs.c.fund_id == fund.id, eod_runs.c.business_date == day
            )
        ).scalar_one()
    income_plan = IncomePlan.from_dict(json.loads(stored))
    if step < 4:
        income_sql.distribute(
            engine, fund, day, income_plan, now=now,
            progress=_counter(progress, "distribute_income"),
        )  # fmt: skip
        _finish_step(engine, fund, day, 4)
    if step < 5:
        _settle_advances(engine, fund, day, now)
    report = _report(engine, fund, day, income_plan)
    with write_transaction(engine) as connection:
        connection.execute(
            update(eod_runs)
            .where(eod_runs.c.fund_id == fund.id, eod_runs.c.business_date == day)
            .values(status="closed", step=len(STEPS), report=json.dumps(report), finished_at=now)
        )
    progress("report", 1, 1)
    return DayClosed(fund.code, day, report, already_closed=False)


def _counter(progress: Progress, step: str) -> Callable[[int], None]:
    done = [0]

    def advance(units: int) -> None:
        done[0] += units
        progress(step, 0, done[0])

    return advance


def _rate(connection: Connection, fund: Fund, day: date) -> int:
    rate = connection.execute(
        select(fund_rates.c.rate_e4).where(
            fund_rates.c.fund_id == fund.id, fund_rates.c.rate_date == day
        )
    ).scalar_one_or_none()
    if rate is None:
        raise IncomeMissing(
            f"fund {fund.code} has no income per 10,000 shares for {day}; import it with "
            f"`huoqi fund income import --code {fund.code} FILE` and run the close again",
            fund=fund.code,
            day=day.isoformat(),
        )
    return int(rate)


def _check_order(connection: Connection, fund: Fund, day: date) -> None:
    last = last_closed(connection, fund)
    expected = last + timedelta(days=1) if last else None
    if expected is not None and day != expected:
        raise OutOfOrder(
            f"fund {fund.code} was last closed for {last}; close {expected} next "
            f"(`huoqi eod run --date {day}` catches up day by day)",
            fund=fund.code,
        )
    if expected is None and day < first_day(connection, fund):
        raise OutOfOrder(f"fund {fund.code} did not exist yet on {day}", fund=fund.code)
    running = connection.execute(
        select(eod_runs.c.business_date).where(
            eod_runs.c.fund_id == fund.id, eod_runs.c.status == "running"
        )
    ).scalar_one_or_none()
    if running is not None:
        raise OutOfOrder(f"the close of {running} for fund {fund.code} must finish first")


def _finish_step(
    engine: Engine, fund: Fund, day: date, step: int, *, extra: dict[str, Any] | None = None,
    connection: Connection | None = None,
) -> None:  # fmt: skip
    values: dict[str, Any] = {"step": step, **(extra or {})}
    statement = (
        update(eod_runs)
        .where(eod_runs.c.fund_id == fund.id, eod_runs.c.business_date == day)
        .values(**values)
    )
    if connection is not None:
        connection.execute(statement)
        return
    with write_transaction(engine) as own:
        own.execute(statement)


def _holding_ids(connection: Connection, fund: Fund, holder_ids: list[int]) -> dict[int, int]:
    rows = connection.execute(
        select(holdings.c.holder_id, holdings.c.account_id).where(
            holdings.c.fund_id == fund.id, holdings.c.holder_id.in_(holder_ids)
        )
    )
    return {int(h): int(a) for h, a in rows}


def _due(
    connection: Connection, fund: Fund, kind: str, due_on: Any, day: date, *columns: Any
) -> list[Any]:
    """The next chunk of ``kind`` orders still ``requested`` whose ``due_on`` date has come."""
    return list(
        connection.execute(
            select(fund_orders.c.id, *columns)
            .where(
                fund_orders.c.fund_id == fund.id,
                fund_orders.c.kind == kind,
                fund_orders.c.status == "requested",
                due_on <= day,
            )
            .order_by(fund_orders.c.id)
            .limit(CHUNK)
        ).all()
    )


def _confirm_purchases(
    engine: Engine, fund: Fund, day: date, now: datetime, progress: Progress
) -> None:
    """Step 1: purchases paid and due by ``day`` get their shares, in chunks."""
    done = 0
    while True:
        with write_transaction(engine) as connection:
            due = _due(
                connection, fund, "purchase", fund_orders.c.confirm_date, day,
                fund_orders.c.holder_id, fund_orders.c.amount,
            )  # fmt: skip
            if not due:
                _finish_step(engine, fund, day, 1, connection=connection)
                return
            owners = _holding_ids(connection, fund, [int(row.holder_id) for row in due])
            bank = registry.platform_account(connection, registry.BANK)
            requests = []
            for order_id, holder_id, amount in due:
                requests.append(transfer(
                    f"fund-order:{order_id}:shares", debit=fund.issued_account_id,
                    credit=owners[int(holder_id)], amount=int(amount),
                    memo=f"purchase {order_id} confirmed", kind="purchase_confirmed",
                ))  # fmt: skip
                requests.append(transfer(
                    f"fund-order:{order_id}:to-fund", debit=fund.pending_account_id,
                    credit=bank, amount=int(amount), memo=f"purchase {order_id} paid to fund",
                    kind="subscription_settled",
                ))  # fmt: skip
            post_entries(connection, requests, now=now, atomic=True)
            connection.execute(
                update(fund_orders)
                .where(fund_orders.c.id.in_([int(row.id) for row in due]))
                .values(status="confirmed", confirm_date=day, updated_at=now)
            )
        done += len(due)
        progress("confirm_purchases", 0, done)


def _confirm_redemptions(
    engine: Engine, fund: Fund, day: date, now: datetime, progress: Progress
) -> None:
    """Step 2: retire shares redeemed with trade date ``day``; pay out what is due."""
    done = 0
    while True:
        with write_transaction(engine) as connection:
            due = _due(
                connection, fund, "redemption", fund_orders.c.trade_date, day,
                fund_orders.c.hold_id,
            )  # fmt: skip
            for order_id, hold_id in due:
                holds.post_hold(
                    connection, key=f"fund-order:{order_id}:retire", hold_id=int(hold_id),
                    amount=None, now=now,
                )  # fmt: skip
            if due:
                connection.execute(
                    update(fund_orders)
                    .where(fund_orders.c.id.in_([int(row.id) for row in due]))
                    .values(status="confirmed", updated_at=now)
                )
            else:
                paying = [
                    int(order_id)
                    for order_id in connection.execute(
                        select(fund_orders.c.id).where(
                            fund_orders.c.fund_id == fund.id,
                            fund_orders.c.kind == "redemption",
                            fund_orders.c.status == "confirmed",
                            fund_orders.c.payout_date <= day,
                        )
                    ).scalars()
                ]
                if paying:
                    connection.execute(
                        update(fund_orders)
                        .where(fund_orders.c.id.in_(paying))
                        .values(status="paid", updated_at=now)
                    )
                    switch.pay_switch_purchases(connection, redemption_ids=paying, day=day, now=now)
                _finish_step(engine, fund, day, 2, connection=connection)
                return
        done += len(due)
        progress("confirm_redemptions", 0, done)


def _settle_advances(engine: Engine, fund: Fund, day: date, now: datetime) -> None:
    """Step 5: the fund repays the platform the instant redemptions it confirms on ``day``."""
    with write_transaction(engine) as connection:
        total = connection.execute(
            select(func.coalesce(func.sum(fund_orders.c.amount), 0)).where(
                fund_orders.c.fund_id == fund.id,
                fund_orders.c.kind == "instant_redemption",
                fund_orders.c.status == "paid",
                fund_orders.c.confirm_date == day,
            )
        ).scalar_one()
        if total:
            pool = registry.platform_account(connection, registry.ADVANCE_POOL)
            post_entries(
                connection,
                [transfer(
                    f"close:{fund.code}:{day.isoformat()}:advances", debit=pool,
                    credit=fund.advance_account_id, amount=int(total),
                    memo=f"{fund.code} repays instant redemptions confirmed {day}",
                    kind="advance_repaid",
                )],
                now=now, atomic=True,
            )  # fmt: skip
        _finish_step(engine, fund, day, 5, connection=connection)


def _flows(connection: Connection, fund: Fund, day: date) -> dict[str, int]:
    def total(kind: str, column: Any) -> int:
        return int(
            connection.execute(
                select(func.coalesce(func.sum(fund_orders.c.amount), 0)).where(
                    fund_orders.c.fund_id == fund.id,
                    fund_orders.c.kind == kind,
                    fund_orders.c.status != "failed",
                    column == day,
                )
            ).scalar_one()
        )

    return {
        "purchases_confirmed": total("purchase", fund_orders.c.confirm_date),
        "redemptions_confirmed": total("redemption", fund_orders.c.trade_date),
        "instant_redemptions": total("instant_redemption", fund_orders.c.trade_date),
        "advances_repaid": total("instant_redemption", fund_orders.c.confirm_date),
    }


def _report(engine: Engine, fund: Fund, day: date, income_plan: IncomePlan) -> dict[str, Any]:
    """Step 6: the day's figures and the reconciliation; refuses to close if it fails."""
    with read_transaction(engine) as connection:
        count, units, income = income_sql.income_totals(connection, fund, day)
        issued = connection.execute(
            select(accounts.c.debits_posted - accounts.c.credits_posted).where(
                accounts.c.id == fund.issued_account_id
            )
        ).scalar_one()
        held = connection.execute(
            select(func.coalesce(func.sum(accounts.c.credits_posted - accounts.c.debits_posted), 0))
            .select_from(holdings.join(accounts, accounts.c.id == holdings.c.account_id))
            .where(holdings.c.fund_id == fund.id)
        ).scalar_one()
        balance = ledger_queries.trial_balance(connection)
        flows = _flows(connection, fund, day)
    problems = []
    if int(issued) != int(held):
        problems.append(f"issued shares {issued} differ from the holders' shares {held}")
    if income != income_plan.distributable_total:
        problems.append(
            f"income distributed {income} differs from the plan's {income_plan.distributable_total}"
        )
    if not balance.ok:
        problems.extend(balance.problems)
    if problems:
        raise ReconciliationFailed(
            f"fund {fund.code}, {day}: " + "; ".join(problems), fund=fund.code
        )
    return {
        "fund": fund.code,
        "date": day.isoformat(),
        "income_per_10k_e4": income_plan.rate_e4,
        "accounts_earning": count,
        "shares_earning": int(units),
        "income_distributed": int(income),
        "aum_shares": int(issued),
        **flows,
        "reconciled": True,
    }


def status(engine: Engine) -> list[dict[str, Any]]:
    """Per fund: the last closed day, a close in progress, and the next day to close."""
    with read_transaction(engine) as connection:
        result = []
        for fund in registry.list_funds(connection):
            last = last_closed(connection, fund)
            running = connection.execute(
                select(eod_runs.c.business_date, eod_runs.c.step).where(
                    eod_runs.c.fund_id == fund.id, eod_runs.c.status == "running"
                )
            ).first()
            result.append(
                {
                    "fund": fund.code,
                    "last_closed": last.isoformat() if last else None,
                    "running": (
                        f"{_as_date(running[0])} at step {int(running[1]) + 1} "
                        f"({STEPS[min(int(running[1]), len(STEPS) - 1)]})"
                        if running
                        else None
                    ),
                    "next": (
                        (last + timedelta(days=1)) if last else first_day(connection, fund)
                    ).isoformat(),
                }
            )
        return result


def reports(engine: Engine, day: date, fund_code: str | None = None) -> list[dict[str, Any]]:
    """The stored reports of ``day``'s closes (one fund or all), in fund code order."""
    with read_transaction(engine) as connection:
        query = (
            select(eod_runs.c.report)
            .select_from(eod_runs.join(funds, funds.c.id == eod_runs.c.fund_id))
            .where(eod_runs.c.business_date == day, eod_runs.c.status == "closed")
            .order_by(funds.c.code)
        )
        if fund_code is not None:
            query = query.where(funds.c.id == registry.get_fund(connection, fund_code).id)
        return [json.loads(text) for text in connection.execute(query).scalars()]
