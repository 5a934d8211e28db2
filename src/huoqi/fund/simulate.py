"""``huoqi simulate``: a realistic current-account history, closed day by day.

The story: a few money funds publish a daily income figure that drifts slowly around a
yield of about 2.4% a year. Customers arrive over the period, each opening an account with a
first purchase (log-normal: most put in hundreds to thousands of CNY, a few much more); on
any day some buy more, some redeem normally, and some take money out instantly within the
daily limit. The bank declines a small share of card payments. Every calendar day is
closed by the real daily close, in order, so the result is indistinguishable from a
platform that ran for those days: income history, orders in every status, ledger entries.
Everything is drawn from one seeded generator, so the same seed gives the same history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, select

from huoqi.db.engine import write_transaction
from huoqi.errors import HuoqiError
from huoqi.fund.bank import SimulatedBank
from huoqi.fund.calendar import default_calendar
from huoqi.fund.registry import Carry
from huoqi.fund.service import FundDesk
from huoqi.ledger import repository as ledger_repo
from huoqi.ledger.service import Ledger
from huoqi.ledger.tables import entries

SHANGHAI = ZoneInfo("Asia/Shanghai")
FUNDS = (
    ("HQ001", "Huoqi Cash Fund A", "Jade River Asset Management", "daily", 0.62),
    ("HQ002", "Huoqi Cash Fund B", "Mountain Gate Fund Management", "daily", 0.58),
    ("HQ003", "Huoqi Treasury Money Fund", "East Harbour Asset Management", "monthly", 0.55),
)


@dataclass
class Summary:
    users: int = 0
    purchases: int = 0
    declined: int = 0
    redemptions: int = 0
    instant: int = 0
    refused: int = 0
    days_closed: int = 0
    first_day: date | None = None
    last_day: date | None = None
    refusals: dict[str, int] = field(default_factory=dict)


# Requests late on the last simulated day need the next trading days' dates.
CALENDAR_MARGIN = timedelta(days=14)


def default_end() -> date:
    """Yesterday (Shanghai), or earlier if the trading calendar does not reach that far yet:
    a history is only simulated over days whose trading days are known."""
    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    return min(yesterday, default_calendar().last_day - CALENDAR_MARGIN)


def income_series(rng: np.random.Generator, base: float, days: int) -> list[str]:
    """Income per 10,000 shares per day, 4 decimals: a slow random walk with small noise."""
    level = base
    figures = []
    for _ in range(days):
        level = max(0.30, min(1.20, level + rng.normal(0, 0.006) + (base - level) * 0.03))
        figures.append(f"{max(0.0, level + rng.normal(0, 0.01)):.4f}")
    return figures


def simulate(
    engine: Engine, *, users: int, days: int, seed: int = 1, end: date | None = None,
    progress: Callable[[date], None] | None = None,
) -> Summary:  # fmt: skip
    """Build ``days`` days of history ending on ``end`` (default: yesterday, Shanghai)."""
    if users < 1 or days < 1:
        raise ValueError("users and days must be at least 1")
    rng = np.random.default_rng(seed)
    last = end or default_end()
    first = last - timedelta(days=days - 1)
    clock = _Clock(datetime.combine(first, time(8, 0), SHANGHAI))
    bank = SimulatedBank(decline_rate=0.02, seed=seed)
    desk = FundDesk(engine, clock=clock, bank=bank)
    dated = _start_business_dates(engine, first)
    summary = Summary(first_day=first, last_day=last)
    for code, name, manager, carry, base in FUNDS:
        desk.add_fund(code=code, name=name, manager=manager, carry=Carry(carry))
        lines = "\n".join(
            f"{first + timedelta(days=n)},{figure}"
            for n, figure in enumerate(income_series(rng, base, days))
        )
        desk.import_income(code, f"date,income_per_10k\n{lines}\n")
    desk.fund_advance_pool(max(10_000_000, users * 2_000_000), key="simulate:advance-pool")
    arrivals = np.sort(rng.integers(0, max(1, days - 1), size=users))
    fund_of = rng.choice(len(FUNDS), size=users, p=[0.6, 0.3, 0.1])
    joined = 0
    for offset in range(days):
        day = first + timedelta(days=offset)
        if dated:
            Ledger(engine).advance_business_date(day)
        events: list[tuple[float, int, str]] = []
        while joined < users and arrivals[joined] <= offset:
            events.append((rng.uniform(8, 23), joined, "join"))
            joined += 1
        for user in range(joined):
            roll = rng.random()
            if roll < 0.03:
                events.append((rng.uniform(7, 23.9), user, "buy"))
            elif roll < 0.04:
                events.append((rng.uniform(7, 23.9), user, "redeem"))
            elif roll < 0.06:
                events.append((rng.uniform(7, 23.9), user, "instant"))
        for hour, user, kind in sorted(events):
            clock.now = datetime.combine(day, time(0), SHANGHAI) + timedelta(hours=hour)
            _act(
                desk,
                bank,
                rng,
                summary,
                user=user,
                kind=kind,
                fund=FUNDS[fund_of[user]][0],
                day=day,
            )
        clock.now = datetime.combine(day + timedelta(days=1), time(0, 30), SHANGHAI)
        summary.days_closed += len(desk.close(day))
        if progress is not None:
            progress(day)
    if dated:  # the last day is closed: the platform is on the next business day
        Ledger(engine).advance_business_date(last + timedelta(days=1))
    summary.users = joined
    return summary


def _start_business_dates(engine: Engine, first: date) -> bool:
    """On a ledger with no entries yet, start its business date on the first simulated day,
    so each day's entries carry that day's date and past balances read as they were. A
    ledger that already has entries keeps its date (business dates never go back)."""
    with write_transaction(engine) as connection:
        if connection.execute(select(entries.c.id).limit(1)).first() is not None:
            return False
        ledger_repo.set_business_date(connection, first)
    return True


def _act(
    desk: FundDesk, bank: SimulatedBank, rng: np.random.Generator, summary: Summary, *,
    user: int, kind: str, fund: str, day: date,
) -> None:  # fmt: skip
    customer = f"sim:{user:06d}"
    key = f"{customer}:{day.isoformat()}:{kind}:{rng.integers(1 << 30)}"
    try:
        if kind == "join":
            desk.open_holder(customer, fund)
            amount = int(np.clip(rng.lognormal(np.log(300_000), 1.3), 100, 50_000_000))
            _buy(desk, bank, summary, customer=customer, amount=amount, key=key)
        elif kind == "buy":
            amount = int(np.clip(rng.lognormal(np.log(100_000), 1.2), 100, 20_000_000))
            _buy(desk, bank, summary, customer=customer, amount=amount, key=key)
        else:
            amount = int(np.clip(rng.lognormal(np.log(50_000), 1.0), 1, 5_000_000))
            desk.redeem(customer, amount, key=key, instant=kind == "instant")
            if kind == "instant":
                summary.instant += 1
            else:
                summary.redemptions += 1
    except HuoqiError as refused:  # not enough shares, limits: customers get told no
        summary.refused += 1
        summary.refusals[refused.code] = summary.refusals.get(refused.code, 0) + 1


def _buy(
    desk: FundDesk, bank: SimulatedBank, summary: Summary, *, customer: str, amount: int, key: str
) -> None:
    desk.buy(customer, amount, key=key)
    declined: list[str] = []

    def answer(reference: str, succeeded: bool) -> None:
        desk.payment_result(reference, succeeded)
        if not succeeded:
            declined.append(reference)

    bank.deliver(answer)
    summary.purchases += 1
    summary.declined += len(declined)


@dataclass
class _Clock:
    now: datetime

    def __call__(self) -> datetime:
        # UTC, like the wall clock: SQLite keeps timestamps without their offset
        return self.now.astimezone(UTC)
