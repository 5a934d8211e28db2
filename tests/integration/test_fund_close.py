"""The current account and its daily close, told as stories on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from fund_story import RATE, at, income_of, state, story
from sqlalchemy import Engine, text

from huoqi.fund.close import DayNotOver, IncomeMissing, OutOfOrder, close_day
from huoqi.fund.orders import BelowMinimum, NotEnoughShares
from huoqi.ledger.service import Ledger

RATE_E4 = int(RATE.replace(".", ""))


def shares(engine: Engine, customer: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT a.credits_posted - a.debits_posted FROM holders h "
                    "JOIN holdings g ON g.holder_id = h.id JOIN accounts a ON a.id = g.account_id "
                    "WHERE h.customer_ref = :c"
                ),
                {"c": customer},
            ).scalar_one()
        )


def account_of(engine: Engine, customer: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT g.account_id FROM holders h JOIN holdings g ON g.holder_id = h.id "
                    "WHERE h.customer_ref = :c"
                ),
                {"c": customer},
            ).scalar_one()
        )


def test_thursday_purchase_earns_friday_saturday_and_sunday(engine: Engine) -> None:
    s = story(engine)
    s.desk.open_holder("alice", "MMF1")
    s.clock.now = at(5, 14, 59)  # Thursday, before the 15:00 cut-off
    order_id = s.buy("alice", 1_000_000, key="alice-1")
    with engine.connect() as connection:
        trade, confirm = connection.execute(
            text("SELECT trade_date, confirm_date FROM fund_orders WHERE id = :i"), {"i": order_id}
        ).one()
    assert str(trade) == "2026-11-05" and str(confirm) == "2026-11-06"
    s.clock.now = at(9, 1)
    s.desk.close(date(2026, 11, 8))
    earned = income_of(engine, account_of(engine, "alice"))
    assert sorted(earned) == [date(2026, 11, 6), date(2026, 11, 7), date(2026, 11, 8)]
    # income compounds daily: each day's units include the days before
    units = 1_000_000
    for day in sorted(earned):
        assert earned[day] == units * RATE_E4 // 10**8
        units += earned[day]
    assert shares(engine, "alice") == units
    assert Ledger(engine).trial_balance(deep=True).ok


def test_friday_purchases_before_and_after_the_cut_off(engine: Engine) -> None:
    s = story(engine)
    for name in ("early", "late"):
        s.desk.open_holder(name, "MMF1")
    s.clock.now = at(6, 14, 30)
    s.buy("early", 500_000, key="early-1")
    s.clock.now = at(6, 15, 0)  # exactly 15:00 is after the cut-off
    s.buy("late", 500_000, key="late-1")
    s.clock.now = at(11, 1)
    s.desk.close(date(2026, 11, 10))
    assert sorted(income_of(engine, account_of(engine, "early"))) == [
        date(2026, 11, 9),
        date(2026, 11, 10),
    ]  # confirmed Monday: no weekend income
    assert sorted(income_of(engine, account_of(engine, "late"))) == [date(2026, 11, 10)]


def test_rerunning_a_closed_day_changes_nothing(engine: Engine) -> None:
    s = story(engine)
    for n in range(5):
        s.desk.open_holder(f"c{n}", "MMF1")
        s.clock.now = at(2, 9, n)
        s.buy(f"c{n}", 100_000 * (n + 1) + 37, key=f"c{n}-1")
    s.clock.now = at(6, 1)
    first = s.desk.close(date(2026, 11, 5))
    before = state(engine)
    again = s.desk.close(date(2026, 11, 5))
    assert [r.already_closed for r in again] == [True]
    assert again[0].report == first[-1].report
    assert state(engine) == before
    report = first[-1].report
    assert report["reconciled"] is True and report["accounts_earning"] == 5


def test_a_missing_income_figure_stops_the_close_with_a_clear_error(engine: Engine) -> None:
    s = story(engine, days=3)  # income for Nov 1-3 only
    s.clock.now = at(6, 1)
    with pytest.raises(IncomeMissing, match=r"no income per 10,000 shares for 2026-11-04"):
        s.desk.close(date(2026, 11, 5))
    with engine.connect() as connection:
        closed = connection.execute(text("SELECT business_date, status FROM eod_runs")).all()
    assert [(str(d), st) for d, st in sorted(closed)] == [
        ("2026-11-01", "closed"),
        ("2026-11-02", "closed"),
        ("2026-11-03", "closed"),
    ]
    s.desk.import_income("MMF1", f"date,income_per_10k\n2026-11-04,{RATE}\n2026-11-05,{RATE}\n")
    assert [r.day for r in s.desk.close(date(2026, 11, 5))] == [
        date(2026, 11, 4),
        date(2026, 11, 5),
    ]


def test_days_are_closed_in_order(engine: Engine) -> None:
    s = story(engine)
    s.clock.now = at(10, 1)
    s.desk.close(date(2026, 11, 2))
    with pytest.raises(OutOfOrder, match="close 2026-11-03 next"):
        close_day(engine, "MMF1", date(2026, 11, 5), now=s.clock.now)
    with pytest.raises(DayNotOver, match="2026-11-10 is not over yet"):
        s.desk.close(date(2026, 11, 10))
    assert [r.day for r in s.desk.close(date(2026, 11, 9))][-1] == date(2026, 11, 9)


def test_a_normal_redemption_stops_earning_on_its_trade_date_and_pays_next_trading_day(
    engine: Engine,
) -> None:
    s = story(engine)
    s.desk.open_holder("bob", "MMF1")
    s.clock.now = at(2, 10)
    s.buy("bob", 2_000_000, key="bob-1")  # Monday: confirmed Tuesday 3rd
    s.clock.now = at(6, 1)
    s.desk.close(date(2026, 11, 5))
    s.clock.now = at(6, 16)  # Friday after 15:00: trade date Monday 9th, paid Tuesday 10th
    everything = shares(engine, "bob")  # the purchase and three days' income
    order = s.desk.redeem("bob", everything, key="bob-out")
    assert (order.trade_date, order.payout_date) == (date(2026, 11, 9), date(2026, 11, 10))
    with pytest.raises(NotEnoughShares):
        s.desk.redeem("bob", 1, key="bob-twice")  # the held shares cannot be redeemed again
    s.clock.now = at(11, 1)
    s.desk.close(date(2026, 11, 10))
    account = account_of(engine, "bob")
    earned = income_of(engine, account)
    with engine.connect() as connection:
        units = {
            str(day): int(value)
            for day, value in connection.execute(
                text("SELECT income_date, units FROM fund_income WHERE account_id = :a"),
                {"a": account},
            )
        }
    # the redeemed shares earn Friday to Sunday, and nothing from the trade date (Monday) on:
    # from then only the income earned after the request is left, and it keeps earning
    assert units["2026-11-08"] >= everything
    leftover = sum(v for d, v in earned.items() if date(2026, 11, 6) <= d <= date(2026, 11, 8))
    assert units["2026-11-09"] == leftover > 0
    assert (
        shares(engine, "bob") == leftover + earned[date(2026, 11, 9)] + earned[date(2026, 11, 10)]
    )
    with engine.connect() as connection:
        status = connection.execute(
            text("SELECT status FROM fund_orders WHERE id = :i"), {"i": order.id}
        ).scalar_one()
    assert status == "paid"
    assert Ledger(engine).trial_balance(deep=True).ok


def test_purchases_below_one_yuan_are_refused_and_change_nothing(engine: Engine) -> None:
    s = story(engine)
    s.desk.open_holder("carol", "MMF1")
    before = state(engine)
    with pytest.raises(BelowMinimum, match=r"at least 1\.00 CNY"):
        s.desk.buy("carol", 99, key="tiny")
    assert state(engine) == before and s.bank.pending == []


def test_allocations_sum_to_the_distributable_total_with_ties_by_account_id(
    engine: Engine,
) -> None:
    s = story(engine)
    # three equal holdings whose income is 0.6512 x 3 = 1.9536 fen in all: each truncates
    # to 0 with the same remainder, so the 1 fen distributable goes to the lowest id
    for name in ("x", "y", "z"):
        s.desk.open_holder(name, "MMF1")
        s.clock.now = at(2, 9)
        s.buy(name, 10_000, key=f"{name}-1")  # 100.00 CNY each
    s.clock.now = at(4, 1)
    (closed, *_rest) = [r for r in s.desk.close(date(2026, 11, 3)) if r.day == date(2026, 11, 3)]
    assert closed.report["income_distributed"] == 30_000 * RATE_E4 // 10**8 == 1
    got = {name: income_of(engine, account_of(engine, name)) for name in "xyz"}
    assert [got[n][date(2026, 11, 3)] for n in "xyz"] == [1, 0, 0]


def test_switching_funds_moves_every_share_and_the_income_follows(engine: Engine) -> None:
    s = story(engine)
    s.desk.add_fund(code="MMF2", name="Huoqi Money Fund Two")
    lines = "\n".join(f"2026-11-{day:02d},0.7000" for day in range(1, 31))
    s.desk.import_income("MMF2", f"date,income_per_10k\n{lines}\n")
    s.desk.open_holder("alice", "MMF1")
    s.clock.now = at(2, 10)
    s.buy("alice", 1_000_000, key="alice-1")  # confirmed Tuesday the 3rd in MMF1
    s.clock.now = at(9, 1)
    s.desk.close(date(2026, 11, 8))
    s.clock.now = at(9, 10)  # Monday: redemption trades today, pays Tuesday
    moved = s.desk.switch_fund("alice", "MMF2", key="switch-1")
    assert moved.redemption is not None and moved.purchase is not None
    assert moved.redemption.amount == moved.purchase.amount > 1_000_000  # with the income
    assert (moved.purchase.trade_date, moved.purchase.confirm_date) == (
        date(2026, 11, 10), date(2026, 11, 11)
    )  # fmt: skip
    assert s.desk.switch_fund("alice", "MMF2", key="switch-1") == moved  # a replay
    s.clock.now = at(13, 1)
    s.desk.close(date(2026, 11, 12))
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT f.code, MIN(i.income_date), MAX(i.income_date), MIN(i.units) "
                "FROM fund_income i JOIN funds f ON f.id = i.fund_id GROUP BY f.code"
            )
        ).all()
        statuses = dict(
            connection.execute(text("SELECT kind, status FROM fund_orders WHERE id > 1")).all()
        )
    earned = {code: (str(first), str(last), units) for code, first, last, units in rows}
    assert earned["MMF1"][:2] == ("2026-11-03", "2026-11-08")  # nothing from the trade date
    assert earned["MMF2"][:2] == ("2026-11-11", "2026-11-12")  # from the confirmation
    assert earned["MMF2"][2] == moved.purchase.amount
    assert statuses == {"redemption": "paid", "purchase": "confirmed"}
    ledger = Ledger(engine)
    assert ledger.balance(ledger.account("platform:bank").id).net_posted == 0
    assert ledger.trial_balance(deep=True).ok
