"""`simulate` builds a history the real close accepts, the same for the same seed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from huoqi.db.engine import make_engine
from huoqi.db.migrate import upgrade
from huoqi.fund.simulate import simulate
from huoqi.ledger.service import Ledger

END = date(2026, 11, 20)
AFTER = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


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


def test_each_customer_s_summary_adds_up_to_their_income_history(engine: Engine) -> None:
    """The summary reads cumulative income from the orders (shares − purchases + retired
    redemptions); it must equal the day-by-day income the close recorded, for everyone."""
    from sqlalchemy import func, select

    from huoqi.db.engine import read_transaction
    from huoqi.fund import statements
    from huoqi.fund.registry import Holder
    from huoqi.fund.tables import fund_income, holders, holdings

    simulate(engine, users=80, days=15, seed=5, end=END)
    checked = 0
    with read_transaction(engine) as connection:
        recorded = dict(
            connection.execute(
                text(
                    "SELECT h.holder_id, SUM(i.income) FROM holdings h JOIN fund_income i "
                    "ON i.account_id = h.account_id AND i.fund_id = h.fund_id GROUP BY h.holder_id"
                )
            ).all()
        )
        for row in connection.execute(select(holders)).all():
            holder = Holder(row.id, row.customer_ref, row.fund_id)
            shown = statements.summary(connection, holder, now=AFTER)
            assert shown.cumulative_income == int(recorded.get(row.id, 0)), row.customer_ref
            last = connection.execute(
                select(func.coalesce(func.sum(fund_income.c.income), 0))
                .select_from(
                    fund_income.join(holdings, holdings.c.account_id == fund_income.c.account_id)
                )
                .where(
                    holdings.c.holder_id == row.id,
                    fund_income.c.income_date == shown.last_income_date,
                )
            ).scalar_one()
            assert shown.last_income == int(last)
            checked += 1
    assert checked >= 60 and any(recorded.values())
