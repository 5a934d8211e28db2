"""Daily income allocation: planned over chunks, applied per chunk, exact to the fen."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Iterable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huoqi.errors import InvalidInput
from huoqi.fund.income import (
    FEN_DIVISOR,
    NO_TIE,
    IncomeBaseChanged,
    IncomeOverflow,
    IncomePlan,
    InvalidIncomeBase,
    InvalidRate,
    allocate_income,
    allocate_income_reference,
    distributable_fen,
    fen_fraction,
    parse_rate,
    plan_income,
    truncate_to_fen,
)

Pair = tuple[np.ndarray, np.ndarray]


def column(values: Iterable[int]) -> np.ndarray:
    return np.array(list(values), dtype=np.int64)


class Chunked:
    """A re-callable source of the base split at ``cuts``, counting the passes over it."""

    def __init__(self, ids: list[int], units: list[int], cuts: Iterable[int] = ()) -> None:
        bounds = [0, *sorted({c for c in cuts if 0 < c < len(ids)}), len(ids)]
        self.pieces = [
            (column(ids[a:b]), column(units[a:b])) for a, b in itertools.pairwise(bounds)
        ]
        self.passes = 0

    def __call__(self) -> list[Pair]:
        self.passes += 1
        return self.pieces


def plan_and_apply(
    ids: list[int], units: list[int], rate: int, cuts: Iterable[int] = ()
) -> tuple[IncomePlan, list[int]]:
    chunks = Chunked(ids, units, cuts)
    plan = plan_income(rate, chunks)
    allocated = [int(x) for a, b in chunks.pieces for x in allocate_income(a, b, plan)]
    return plan, allocated


# -- rates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [("0.6512", 6512), ("1.5", 15000), ("2", 20000), (" 1.5130 ", 15130), ("0", 0),
     ("0.0001", 1), ("100", 1_000_000), ("0.65120", 6512)],
)  # fmt: skip
def test_parse_rate(text: str, rate: int) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "empty"), ("   ", "empty"), ("-0.5", "'-0.5'"), ("0.65123", "more than 4 decimals"),
     ("abc", "'abc'"), ("NaN", "'NaN'"), ("inf", "'inf'"), ("1e2", "'1e2'"),
     ("1,5", "'1,5'"), ("100.0001", "above 100"), ("99999999", "above 100"), ("+1", "'+1'"),
     (".5", "'.5'")],
)  # fmt: skip
def test_parse_rate_refuses(text: str, says: str) -> None:
    with pytest.raises(InvalidRate, match=re.escape(says)) as refused:
        parse_rate(text)
    assert refused.value.status == 422


def test_parse_rate_refuses_a_float() -> None:
    with pytest.raises(InvalidRate, match="must be text"):
        parse_rate(0.6512)  # type: ignore[arg-type]


# -- rounding rules --------------------------------------------------------------------------


def test_rounding_rules_on_a_published_figure() -> None:
    # 12,345.67 shares at 0.6512 CNY per 10,000 shares earn 0.80395... CNY
    assert truncate_to_fen(1_234_567, 6512) == 80
    assert fen_fraction(1_234_567, 6512) == 39_500_304
    assert distributable_fen(3 * 1_234_567, 6512) == 241  # 241.185 fen, rounded down


# -- worked examples -------------------------------------------------------------------------


def test_worked_example_three_accounts() -> None:
    # rate 1.0000: 1 fen per 100 CNY. Fractions .50, .50, .40 (in fen): 1.40 fen lost to
    # truncation, 1 of it is distributable, and goes to the first of the two .50s by id.
    ids, units = [7, 3, 5], [505_000, 1_505_000, 104_000]
    assert allocate_income_reference(ids, units, 10_000) == [50, 151, 10]
    plan, allocated = plan_and_apply(sorted(ids), [1_505_000, 104_000, 505_000], 10_000)
    assert allocated == [151, 10, 50]
    assert (plan.distributable_total, plan.truncated_total, plan.extra_fen) == (211, 210, 1)
    assert (plan.threshold_remainder, plan.tie_last_id) == (50_000_000, 3)


def test_no_accounts() -> None:
    plan, allocated = plan_and_apply([], [], 6512)
    assert allocated == []
    assert (plan.accounts, plan.units_total, plan.distributable_total, plan.extra_fen) == (
        0, 0, 0, 0,
    )  # fmt: skip
    assert plan.tie_last_id == NO_TIE


def test_no_extra_fen_needs_one_pass() -> None:
    chunks = Chunked([1, 2], [100_000_000, 200_000_000], [1])  # 1 million and 2 million CNY
    plan = plan_income(10_000, chunks)
    assert plan.extra_fen == 0
    assert chunks.passes == 1
    assert [int(x) for x in allocate_income(column([1, 2]), column([10**8, 2 * 10**8]), plan)] == [
        10_000, 20_000,
    ]  # fmt: skip


def test_all_fractions_equal_splits_the_tie_by_id() -> None:
    ids = list(range(10, 20))
    units = [3_333] * 10  # 3_333 × 10_000 / 10^8: 0.3333 fen each, 3.333 fen in total
    chunks = Chunked(ids, units, [3, 7])
    plan = plan_income(10_000, chunks)
    assert chunks.passes == 3
    assert plan.extra_fen == 3
    assert (plan.threshold_remainder, plan.tie_last_id) == (33_330_000, 12)
    got = [int(x) for a, b in chunks.pieces for x in allocate_income(a, b, plan)]
    assert got == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]


def test_a_whole_tie_served_needs_no_tie_break_pass() -> None:
    chunks = Chunked([1, 2, 3], [7_000, 7_000, 6_000], [2])  # fractions .7, .7, .6 fen
    plan = plan_income(10_000, chunks)
    assert plan.extra_fen == 2
    assert chunks.passes == 2
    assert (plan.threshold_remainder, plan.tie_last_id) == (69_999_999, NO_TIE)
    assert allocate_income(column([1, 2, 3]), column([7_000, 7_000, 6_000]), plan).tolist() == [
        1, 1, 0,
    ]  # fmt: skip


def test_zero_units_and_zero_rate() -> None:
    plan, allocated = plan_and_apply([1, 2, 3], [0, 0, 5], 6512)
    assert allocated == [0, 0, 0]
    plan, allocated = plan_and_apply([1, 2], [10**9, 10**9], 0)
    assert allocated == [0, 0]
    assert plan.distributable_total == 0


def test_totals_beyond_64_bits_stay_exact() -> None:
    # 3,000 chunks of 1,000 accounts, each near the per-account limit at the top rate:
    # Σ units × rate ≈ 2.7e25, far past int64; every chunk on its own stays in range.
    rate = 1_000_000
    held = 9_000_000_000_123
    block = np.full(1_000, held, dtype=np.int64)

    def chunks() -> Iterable[Pair]:
        for n in range(3_000):
            yield np.arange(n * 1_000, (n + 1) * 1_000, dtype=np.int64), block

    plan = plan_income(rate, chunks)
    assert plan.units_total == 3_000_000 * held
    assert plan.distributable_total == 3_000_000 * held * rate // FEN_DIVISOR
    assert plan.truncated_total == 3_000_000 * (held * rate // FEN_DIVISOR)
    total = sum(int(allocate_income(ids, units, plan).sum()) for ids, units in chunks())
    assert total == plan.distributable_total


# -- refusals --------------------------------------------------------------------------------


def test_units_that_would_overflow_are_refused() -> None:
    with pytest.raises(IncomeOverflow, match="overflow"):
        plan_income(1_000_000, Chunked([1], [2**63 // 1_000_000 + 1]))
    plan = plan_income(1, Chunked([1], [1]))
    with pytest.raises(IncomeOverflow):
        allocate_income(column([1]), column([2**62]), dataclasses.replace(plan, rate_e4=3))


def test_bad_bases_are_refused() -> None:
    with pytest.raises(InvalidIncomeBase, match="negative"):
        plan_income(6512, Chunked([1, 2], [5, -5]))
    with pytest.raises(InvalidIncomeBase, match="ascend"):
        plan_income(6512, Chunked([2, 1], [5, 5]))
    with pytest.raises(InvalidIncomeBase, match="ascend"):
        plan_income(6512, Chunked([1, 2, 2], [5, 5, 5], [2]))  # overlapping chunks
    with pytest.raises(InvalidIncomeBase, match="integer"):
        plan_income(6512, lambda: [(column([1]), np.array([1.5]))])
    with pytest.raises(InvalidIncomeBase, match="equal length"):
        plan_income(6512, lambda: [(column([1, 2]), column([1]))])
    with pytest.raises(InvalidRate):
        plan_income(-1, Chunked([1], [1]))
    with pytest.raises(InvalidRate):
        plan_income(True, Chunked([1], [1]))


def test_a_base_that_changes_between_passes_is_refused() -> None:
    calls = iter([[5_000, 5_000, 1, 3], [5_000, 5_001, 1, 3]])

    def chunks() -> list[Pair]:
        return [(column([1, 2, 3, 4]), column(next(calls)))]

    with pytest.raises(IncomeBaseChanged):
        plan_income(10_000, chunks)


# -- the plan as stored ----------------------------------------------------------------------


def test_plan_round_trips_through_json() -> None:
    plan = plan_income(10_000, Chunked([10, 11, 12], [3_333, 3_333, 3_334]))
    stored = json.dumps(plan.to_dict())
    assert IncomePlan.from_dict(json.loads(stored)) == plan


@pytest.mark.parametrize(
    "damage",
    [{"extra_fen": 5}, {"rate_e4": "6512"}, {"threshold_remainder": FEN_DIVISOR},
     {"distributable_total": 2}, {"tie_last_id": True}],
)  # fmt: skip
def test_a_damaged_plan_is_refused(damage: dict[str, object]) -> None:
    plan = plan_income(10_000, Chunked([10, 11, 12], [3_333, 3_333, 3_334])).to_dict()
    with pytest.raises(InvalidInput):
        IncomePlan.from_dict({**plan, **damage})
    with pytest.raises(InvalidInput):
        IncomePlan.from_dict({k: v for k, v in plan.items() if k != "accounts"})


# -- properties ------------------------------------------------------------------------------

rates = st.one_of(
    st.integers(0, 1_000_000), st.sampled_from([1, 6512, 10_000, 15_130, 17_889, 1_000_000])
)
holdings = st.one_of(
    st.integers(0, 10**6), st.integers(0, 10**12), st.sampled_from([0, 1, 3_333, 5_000, 10**8])
)


@st.composite
def bases(draw: st.DrawFn) -> tuple[list[int], list[int], int, list[int]]:
    ids = sorted(draw(st.sets(st.integers(0, 10**12), max_size=60)))
    units = draw(st.lists(holdings, min_size=len(ids), max_size=len(ids)))
    cuts = draw(st.lists(st.integers(0, max(len(ids), 1)), max_size=6))
    return ids, units, draw(rates), cuts


@settings(max_examples=400, deadline=None)
@given(bases())
def test_plan_then_apply_equals_the_reference(
    base: tuple[list[int], list[int], int, list[int]],
) -> None:
    ids, units, rate, cuts = base
    expected = allocate_income_reference(ids, units, rate)
    plan, allocated = plan_and_apply(ids, units, rate, cuts)
    assert allocated == expected
    assert sum(allocated) == plan.distributable_total
    assert plan.distributable_total == sum(units) * rate // FEN_DIVISOR
    truncated = [u * rate // FEN_DIVISOR for u in units]
    assert all(a - t in (0, 1) for a, t in zip(allocated, truncated, strict=True))
    assert sum(a - t for a, t in zip(allocated, truncated, strict=True)) == plan.extra_fen
    for account_id, held, got, cut in zip(ids, units, allocated, truncated, strict=True):
        assert got - cut == plan.earns_extra_fen(account_id, fen_fraction(held, rate))


@settings(max_examples=200, deadline=None)
@given(bases(), st.lists(st.integers(0, 60), max_size=6))
def test_chunking_does_not_change_the_plan(
    base: tuple[list[int], list[int], int, list[int]], other_cuts: list[int]
) -> None:
    ids, units, rate, cuts = base
    assert plan_income(rate, Chunked(ids, units, cuts)) == plan_income(
        rate, Chunked(ids, units, other_cuts)
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.sampled_from([3_333, 5_000, 7_777, 1]), rates)
def test_many_equal_fractions(count: int, held: int, rate: int) -> None:
    ids = list(range(100, 100 + 3 * count, 3))
    units = [held] * count
    _plan, allocated = plan_and_apply(ids, units, rate, [count // 2])
    assert allocated == allocate_income_reference(ids, units, rate)


@pytest.mark.parametrize("seed", range(8))
def test_larger_random_bases_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1_000, 20_000))
    ids = np.cumsum(rng.integers(1, 50, count)).tolist()
    # a mix of small and large holdings, and many repeats so that fractions tie
    units = np.where(
        rng.random(count) < 0.3,
        rng.choice([3_333, 5_000, 12_345, 10**6], count),
        rng.integers(0, 10**11, count),
    ).tolist()
    rate = int(rng.choice([1, 6512, 15_130, int(rng.integers(0, 1_000_001))]))
    cuts = rng.integers(0, count, int(rng.integers(0, 30))).tolist()
    plan, allocated = plan_and_apply(ids, units, rate, cuts)
    assert allocated == allocate_income_reference(ids, units, rate)
    assert sum(allocated) == plan.distributable_total
