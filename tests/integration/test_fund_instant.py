"""Instant redemptions: the daily limit, the platform quota, and no race past either."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from fund_story import at, state, story
from sqlalchemy import Engine, TextClause, text

from huoqi.errors import HuoqiError
from huoqi.fund import income_sql
from huoqi.fund.limits import InstantLimitReached, InstantQuotaExhausted
from huoqi.fund.orders import NotEnoughShares
from huoqi.ledger.service import Ledger


def funded(engine: Engine, customers: list[str], fen: int):  # type: ignore[no-untyped-def]
    s = story(engine)
    for name in customers:
        s.desk.open_holder(name, "MMF1")
        s.clock.now = at(2, 9)
        s.buy(name, fen, key=f"{name}-buy")
    s.clock.now = at(4, 1)
    s.desk.close(date(2026, 11, 3))  # purchases confirmed on the 3rd
    s.clock.now = at(4, 10)
    return s


def usage(engine: Engine) -> dict[tuple[int, int], int]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT fund_id, holder_id, amount FROM instant_usage")
        ).all()
    return {(int(f), int(h)): int(a) for f, h, a in rows}


def test_ten_thousand_yuan_pass_and_one_fen_more_is_refused(engine: Engine) -> None:
    s = funded(engine, ["alice"], 3_000_000)
    first = s.desk.redeem("alice", 600_000, key="i1", instant=True)
    second = s.desk.redeem("alice", 400_000, key="i2", instant=True)  # 10,000.00 in all
    assert (first.status, second.status) == ("paid", "paid")
    before = state(engine)
    with pytest.raises(InstantLimitReached) as refused:
        s.desk.redeem("alice", 1, key="i3", instant=True)
    assert "0.00 of 10,000.00 CNY left today" in refused.value.detail
    assert "normal redemption" in refused.value.detail
    assert state(engine) == before
    s.clock.now = at(5, 0, 1)  # a new day, a new allowance
    assert s.desk.redeem("alice", 1, key="i4", instant=True).status == "paid"
    assert Ledger(engine).trial_balance(deep=True).ok


def test_the_platform_quota_is_shared_by_everyone(engine: Engine) -> None:
    s = funded(engine, ["a", "b"], 2_000_000)
    s.desk.set_instant_limits(platform_daily=1_500_000)
    s.desk.redeem("a", 1_000_000, key="a-i", instant=True)
    with pytest.raises(InstantQuotaExhausted, match=r"5,000\.00 of 15,000\.00 CNY left"):
        s.desk.redeem("b", 600_000, key="b-i", instant=True)
    assert s.desk.redeem("b", 500_000, key="b-i2", instant=True).status == "paid"


def test_the_advance_is_repaid_at_the_next_trading_days_close(engine: Engine) -> None:
    s = funded(engine, ["a"], 2_000_000)
    # Friday evening: the platform's own redemption from the fund trades on Monday the 9th
    # (15:00 rule) and the fund repays the advance the next trading day, Tuesday the 10th
    s.clock.now = at(6, 20)
    order = s.desk.redeem("a", 300_000, key="fri", instant=True)
    assert (order.trade_date, order.confirm_date) == (date(2026, 11, 6), date(2026, 11, 10))
    s.clock.now = at(11, 1)
    closed = {r.day: r.report for r in s.desk.close(date(2026, 11, 10))}
    assert closed[date(2026, 11, 9)]["advances_repaid"] == 0
    assert closed[date(2026, 11, 10)]["advances_repaid"] == 300_000
    ledger = Ledger(engine)
    with engine.connect() as connection:
        receivable = connection.execute(
            text("SELECT debits_posted - credits_posted FROM accounts WHERE code = :c"),
            {"c": "fund:MMF1:advance-receivable"},
        ).scalar_one()
    assert receivable == 0
    assert ledger.trial_balance(deep=True).ok


@pytest.mark.parametrize("workers", [8])
def test_concurrent_instant_redemptions_never_pass_the_limit(engine: Engine, workers: int) -> None:
    s = funded(engine, ["alice"], 5_000_000)
    results: list[object] = []
    start = threading.Barrier(workers)

    def redeem(n: int) -> None:
        start.wait()
        try:
            results.append(s.desk.redeem("alice", 300_000, key=f"race-{n}", instant=True))
        except HuoqiError as error:
            results.append(error)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paid = [r for r in results if not isinstance(r, HuoqiError)]
    refused = [r for r in results if isinstance(r, HuoqiError)]
    assert len(paid) == 3 and all(isinstance(r, InstantLimitReached) for r in refused)
    holder_usage = [v for (f, h), v in usage(engine).items() if h != 0]
    assert holder_usage == [900_000]
    assert Ledger(engine).trial_balance(deep=True).ok


def test_concurrent_instant_redemptions_never_pass_the_balance(engine: Engine) -> None:
    s = funded(engine, ["bob"], 500_000)  # 5,000.00 CNY of shares
    s.desk.set_instant_limits(per_holder_daily=10_000_000)  # the balance is the bound here
    held = "SELECT credits_posted - debits_posted FROM accounts WHERE code LIKE 'holder:%'"
    with engine.connect() as connection:
        before = connection.execute(text(held)).scalar_one()  # 5,000.00 and a day's income
    assert 500_000 <= before < 600_000
    results: list[object] = []
    start = threading.Barrier(8)

    def redeem(n: int) -> None:
        start.wait()
        try:
            results.append(s.desk.redeem("bob", 100_000, key=f"bal-{n}", instant=True))
        except HuoqiError as error:
            results.append(error)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [r for r in results if isinstance(r, HuoqiError)]
    assert len(results) - len(refused) == 5
    assert all(isinstance(r, NotEnoughShares) for r in refused)
    with engine.connect() as connection:
        assert connection.execute(text(held)).scalar_one() == before - 500_000
    # a refused request gave its allowance back: only what was paid counts as used
    assert [v for (f, h), v in usage(engine).items() if h != 0] == [500_000]
    assert Ledger(engine).trial_balance(deep=True).ok


def test_instant_redemptions_during_the_close_keep_every_chain_whole(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Customers redeem while the close posts their income, partition by partition.

    The close links each income posting to the account's previous posting; a redemption
    of the same account must come before or after that partition's transaction, never
    inside it (on PostgreSQL the partition locks its accounts as it reads their chains),
    or a chain would fork. Each partition pauses after writing its holders' postings, so
    redemptions queue up against it. The income does not depend on who went first: the
    late redemptions count in the base.
    """
    monkeypatch.setenv("HUOQI_EOD_PARTITION_WIDTH", "4")  # many small partitions
    typed = income_sql._typed

    def paused(sql: str) -> TextClause:
        if sql.startswith(income_sql._ISSUED_POSTING):  # the holders' postings are written
            time.sleep(0.05)
        return typed(sql)

    names = [f"c{n}" for n in range(24)]
    s = funded(engine, names, 1_000_000)
    monkeypatch.setattr(income_sql, "_typed", paused)
    s.desk.set_instant_limits(platform_daily=10**12)
    s.clock.now = at(5, 1)  # day 4 is over; redemptions now trade on the 5th
    closing = threading.Event()
    closed = threading.Event()
    paid: list[object] = []
    refused: list[HuoqiError] = []

    def close() -> None:
        closing.set()
        s.desk.close(date(2026, 11, 4))
        closed.set()

    def redeem(half: int) -> None:
        closing.wait()
        for round_ in range(40):
            for name in names[half::2]:
                try:
                    paid.append(s.desk.redeem(name, 100, key=f"{name}-{round_}", instant=True))
                except HuoqiError as error:
                    refused.append(error)
            if closed.is_set():
                return

    threads = [
        threading.Thread(target=close),
        *(threading.Thread(target=redeem, args=(half,)) for half in (0, 1)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert closed.is_set() and not refused
    report = Ledger(engine).trial_balance(deep=True)
    assert report.ok, report.problems
    with engine.connect() as connection:
        redeemed = connection.execute(
            text("SELECT COUNT(*) FROM fund_orders WHERE kind = 'instant_redemption'")
        ).scalar_one()
        earned = connection.execute(
            text("SELECT COUNT(*) FROM fund_income WHERE income_date = '2026-11-04'")
        ).scalar_one()
    assert (redeemed, earned) == (len(paid), 24)
