"""Annualised yields against Yu'ebao's published figures and hand computations."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from huoqi.errors import InvalidInput
from huoqi.fund.domain import Carry
from huoqi.fund.income import InvalidRate, parse_rate
from huoqi.fund.yields import YieldRow, annualised_yield, round_half_up, yield_series

# Yu'ebao (Tianhong), December 2013: income per 10,000 shares and the published 7-day yield.
YUEBAO = [
    (date(2013, 12, 20), "1.5130", "5.524"),
    (date(2013, 12, 21), "1.5109", "5.558"),
    (date(2013, 12, 22), "1.5107", "5.592"),
    (date(2013, 12, 23), "1.6189", "5.670"),
    (date(2013, 12, 24), "1.6110", "5.757"),
    (date(2013, 12, 25), "1.7012", "5.893"),
    (date(2013, 12, 26), "1.7674", "6.032"),
    (date(2013, 12, 27), "1.8030", "6.192"),
    (date(2013, 12, 28), "1.7889", "6.346"),
]
DAYS = [(day, parse_rate(rate)) for day, rate, _ in YUEBAO]


def test_yuebao_published_seven_day_yields() -> None:
    """Only 12-26, 12-27 and 12-28 have their whole 7-day window (12-20…12-26,
    12-21…12-27, 12-22…12-28) inside the table; the computed yields equal the published
    ones. The six earlier rows need days before 12-20 and get no 7-day yield."""
    rows = yield_series(DAYS, Carry.DAILY)
    published = {day: Decimal(shown) for day, _, shown in YUEBAO}
    complete = [row for row in rows if row.yield_7d is not None]
    assert [row.date for row in complete] == [date(2013, 12, d) for d in (26, 27, 28)]
    for row in complete:
        assert row.yield_7d == published[row.date]
    assert all(row.yield_7d is None for row in rows[:6])
    assert all(row.yield_14d is None and row.yield_28d is None for row in rows)


def test_compound_formula_over_the_last_week() -> None:
    last_week = [rate for _, rate in DAYS[2:]]  # 12-22 … 12-28
    assert annualised_yield(last_week, Carry.DAILY) == Decimal("6.346")


def test_monthly_carry_over_by_hand() -> None:
    # Σ R over 12-22…12-28 = 11.8011; 11.8011 / 7 × 365 / 10000 × 100 = 6.15343…
    last_week = [rate for _, rate in DAYS[2:]]
    assert sum(last_week) == 118_011
    assert annualised_yield(last_week, Carry.MONTHLY) == Decimal("6.153")
    rows = yield_series(DAYS, Carry.MONTHLY)
    assert rows[-1] == YieldRow(date(2013, 12, 28), 17_889, Decimal("6.153"), None, None)


def test_half_up_at_an_exact_boundary() -> None:
    # seven days at 1.6900: 11.83 / 7 × 365 / 100 = 6.1685 exactly; half up gives 6.169
    # (banker's rounding would give 6.168)
    assert annualised_yield([16_900] * 7, Carry.MONTHLY) == Decimal("6.169")
    assert round_half_up(Decimal("6.1685")) == Decimal("6.169")
    assert round_half_up(Decimal("6.1684999")) == Decimal("6.168")
    assert round_half_up(Decimal("2.0005")) == Decimal("2.001")
    assert round_half_up(Decimal("-0.0005")) == Decimal("-0.001")
    assert str(round_half_up(Decimal(6))) == "6.000"


def test_fourteen_and_twenty_eight_days() -> None:
    start = date(2024, 1, 1)
    days = [(start + timedelta(n), 10_000) for n in range(30)]  # 1.0000 every day
    rows = yield_series(days, Carry.DAILY)
    assert [row.yield_14d is None for row in rows].index(False) == 13
    assert [row.yield_28d is None for row in rows].index(False) == 27
    # a constant rate gives the same yield over every window: 1.0001^365 − 1 = 3.716…%
    assert rows[-1].yield_7d == rows[-1].yield_14d == rows[-1].yield_28d == Decimal("3.717")
    assert rows[-1].yield_7d == annualised_yield([10_000], Carry.DAILY)
    simple = yield_series(days, Carry.MONTHLY)[-1]
    assert simple.yield_7d == simple.yield_28d == Decimal("3.650")


def test_a_gap_restarts_the_count() -> None:
    start = date(2024, 3, 1)
    days = [(start + timedelta(n), 15_000) for n in range(10)]
    days += [(start + timedelta(n), 15_000) for n in range(11, 18)]  # 3-11 is missing
    rows = yield_series(days, Carry.DAILY)
    assert rows[9].yield_7d is not None
    after_gap = rows[10:]
    assert [row.yield_7d is None for row in after_gap] == [True] * 6 + [False]


def test_empty_series() -> None:
    assert yield_series([], Carry.DAILY) == []


def test_refusals() -> None:
    with pytest.raises(InvalidInput, match="ascend"):
        yield_series([(date(2024, 1, 2), 1), (date(2024, 1, 1), 1)], Carry.DAILY)
    with pytest.raises(InvalidInput, match="ascend"):
        yield_series([(date(2024, 1, 1), 1), (date(2024, 1, 1), 2)], Carry.DAILY)
    with pytest.raises(InvalidInput, match="at least one day"):
        annualised_yield([], Carry.DAILY)
    with pytest.raises(InvalidRate):
        annualised_yield([-1] * 7, Carry.DAILY)
    with pytest.raises(ValueError, match="weekly"):
        annualised_yield([1] * 7, "weekly")  # type: ignore[arg-type]
