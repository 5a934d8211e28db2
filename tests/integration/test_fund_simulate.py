"""`simulate` builds a history the real close accepts, the same for the same seed."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, text

from huoqi.db.engine import make_engine
from huoqi.db.migrate import upgrade
from huoqi.fund.simulate import simulate
from huoqi.ledger.service import Ledger

END = date(2026, 11, 20)


def plain(rows: object) -> list[tuple[str, ...]]:
    """Rows as text, so a PostgreSQL history compares with a SQLite one."""
    return [tuple(str(value) for value in row) for row in rows]  # type: ignore[attr-defined]


def history(engine: Engine) -> dict[str, object]:
    with engine.connect() as connection:
        return {
            "orders": plain(connection.execute(
                text("SELECT kind, status, COUNT(*), SUM(amount) FROM fund_orders "
                     "GROUP BY kind, status ORDER BY kind, status")
            )),
            "income": plain(connection.execute(
                text("SELECT fund_id, income_date, SUM(income) FROM fund_income "
                     "GROUP BY fund_id, income_date ORDER BY fund_id, income_date")
            )),
            "closed": connection.execute(
                text("SELECT COUNT(*) FROM eod_runs WHERE status = 'closed'")
            ).scalar_one(),
        }  # fmt: skip


def test_a_seeded_simulation_is_realistic_closed_and_repeatable(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    summary = simulate(engine, users=60, days=12, seed=3, end=END)
    assert summary.users == 60 and summary.days_closed == 3 * 12
    assert summary.purchases > 60 and summary.instant > 0 and summary.redemptions > 0
    built = history(engine)
    kinds = {row[0] for row in built["orders"]}  # type: ignore[union-attr]
    assert kinds == {"purchase", "redemption", "instant_redemption"}
    assert built["closed"] == 36
    ledger = Ledger(engine)
    assert ledger.trial_balance(deep=True).ok
    # each day's entries carry that day's business date: the books can be read as they were
    assert ledger.business_date() == END + timedelta(days=1)
    issued = ledger.account("fund:HQ001:issued").id
    first, middle = END - timedelta(days=11), END - timedelta(days=5)
    assert ledger.balance(issued, as_of=first - timedelta(days=1)).net_posted == 0
    grown = [ledger.balance(issued, as_of=day).net_posted for day in (first, middle, END)]
    assert 0 <= grown[0] < grown[1] < grown[2] == ledger.balance(issued).net_posted

    other_url = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade(other_url)
    again = make_engine(other_url)
    simulate(again, users=60, days=12, seed=3, end=END)
    assert history(again) == built
