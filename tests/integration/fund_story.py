"""Shared set-up for the current-account tests: a fund, a clock, a bank, some customers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from huoqi.fund.bank import SimulatedBank
from huoqi.fund.service import FundDesk

SHANGHAI = ZoneInfo("Asia/Shanghai")
RATE = "0.6512"  # CNY per 10,000 shares per day


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    """A moment in November 2026, Shanghai time."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Story:
    desk: FundDesk
    clock: Clock
    bank: SimulatedBank = field(default_factory=SimulatedBank)

    def pay_pending(self) -> int:
        return self.bank.deliver(self.desk.payment_result)

    def buy(self, customer: str, fen: int, key: str) -> int:
        order = self.desk.buy(customer, fen, key=key)
        self.pay_pending()
        return order.id


def story(engine: Engine, *, start: datetime | None = None, days: int = 30) -> Story:
    """Fund MMF1 registered on ``start`` with the same income figure for ``days`` days."""
    start = start or at(1, 9)
    clock = Clock(start)
    bank = SimulatedBank()
    desk = FundDesk(engine, clock=clock, bank=bank)
    desk.add_fund(code="MMF1", name="Huoqi Money Fund One", manager="Demo AMC")
    first = start.date()
    lines = "\n".join(f"{first + timedelta(days=n)},{RATE}" for n in range(days))
    desk.import_income("MMF1", f"date,income_per_10k\n{lines}\n")
    desk.fund_advance_pool(1_000_000_000, key="pool-1")  # 10,000,000.00 CNY
    return Story(desk, clock, bank)


def state(engine: Engine) -> dict[str, object]:
    """Everything a close can change, for before/after comparisons."""
    with engine.connect() as connection:
        return {
            table: sorted(map(tuple, connection.execute(text(query)).all()))
            for table, query in {
                "accounts": "SELECT id, debits_posted, credits_posted, debits_pending, "
                "credits_pending FROM accounts",
                "entries": "SELECT idempotency_key, kind FROM entries",
                "postings": "SELECT e.idempotency_key, p.account_id, p.amount FROM postings p "
                "JOIN entries e ON e.id = p.entry_id",
                "fund_income": "SELECT fund_id, income_date, account_id, units, income "
                "FROM fund_income",
                "fund_orders": "SELECT id, status, trade_date, confirm_date, payout_date "
                "FROM fund_orders",
                "eod_runs": "SELECT fund_id, business_date, status, step, report FROM eod_runs",
                "holds": "SELECT id, status FROM holds",
            }.items()
        }


def income_of(engine: Engine, account_id: int) -> dict[date, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT income_date, income FROM fund_income WHERE account_id = :a"),
            {"a": account_id},
        ).all()
    return {(d if isinstance(d, date) else date.fromisoformat(str(d))): int(i) for d, i in rows}
