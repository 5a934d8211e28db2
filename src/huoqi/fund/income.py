"""Daily income of a money fund, allocated to every account exactly to the fen.

Units: shares are held in *units* of 0.01 share (1 fen at NAV 1.00); the fund publishes
R_D, its income per 10,000 shares, and we keep it as ``rate_e4`` in 10^-4 CNY (0.6512 →
6512). So an account's income is ``units × rate_e4 / 10^8`` fen:

* each account first gets that amount truncated (`truncate_to_fen`);
* the day's distributable total is ``floor(Σ units × rate_e4 / 10^8)`` (`distributable_fen`),
  a few fen more than the sum of the truncated amounts;
* those extra fen go one each to the accounts with the largest truncated fraction
  (`fen_fraction`, ``units × rate_e4 mod 10^8``), ties to the smaller account id.

The close runs over partitions of account ids, possibly on several workers, so the
allocation is split in two. `plan_income` reads the whole base in streamed chunks (a pass
for the totals and a coarse histogram of fractions, a pass for the exact fractions in the
one bucket where the cut falls, and only if the cut splits a tie a pass in id order to find
the last id that still gets its fen) and condenses the rule into an `IncomePlan`: an
account gets one extra fen iff its fraction is above ``threshold_remainder``, or equal to
it with id ≤ ``tie_last_id``. `allocate_income` then applies the plan to any chunk on its
own, vectorised. Totals are Python ints (they outgrow 64 bits at 100 million accounts);
each account's product must fit 64 bits, and inputs that would not are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from huoqi.errors import Conflict, InvalidInput

Column = NDArray[np.int64]
Chunks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]

#: units × rate_e4 is income in 10^-8 fen: 0.01 share × 10^-4 CNY / 10,000 shares.
FEN_DIVISOR = 10**8
#: 100 CNY per 10,000 shares a day (1% a day) is far beyond any money fund: a typo.
MAX_RATE_E4 = 1_000_000
INT64_MAX = 2**63 - 1
#: ``tie_last_id`` when the cut splits no tie: no id gets a fen for equalling the threshold.
NO_TIE = -1
_COARSE = 10**4  # fractions per histogram bucket in the first pass: 10^4 buckets
_RATE_TEXT = re.compile(r"^(?P<whole>\d{1,12})(?:\.(?P<frac>\d+))?$")


class InvalidRate(InvalidInput):
    code = "invalid_rate"
    title = "Invalid income per 10,000 shares"


class InvalidIncomeBase(InvalidInput):
    code = "invalid_income_base"
    title = "Invalid income base"


class IncomeOverflow(InvalidIncomeBase):
    code = "income_overflow"
    title = "Shares too large to compute income"


class IncomeBaseChanged(Conflict):
    code = "income_base_changed"
    title = "Income base changed while planning"


def parse_rate(text: str) -> int:
    """Income per 10,000 shares as published (``"0.6512"`` CNY) in 10^-4 CNY (6512).

    Exact (no float): at most 4 decimals (trailing zeros beyond them are harmless), no
    sign, exponent or separator, and at most `MAX_RATE_E4`.
    """
    if not isinstance(text, str):
        raise InvalidRate(f"income per 10,000 shares must be text, not {type(text).__name__}")
    stripped = text.strip()
    match = _RATE_TEXT.match(stripped)
    if match is None:
        shown = repr(text) if stripped else "empty text"
        raise InvalidRate(
            f"{shown} is not an income per 10,000 shares: use digits with up to 4 decimals, "
            "e.g. 0.6512 (no sign, exponent or separators)"
        )
    frac = (match["frac"] or "").rstrip("0")
    if len(frac) > 4:
        raise InvalidRate(f"income per 10,000 shares {stripped!r} has more than 4 decimals")
    rate = int(match["whole"]) * 10**4 + int(frac.ljust(4, "0"))
    if rate > MAX_RATE_E4:
        raise InvalidRate(
            f"income per 10,000 shares {stripped!r} is above {Decimal(MAX_RATE_E4).scaleb(-4)} "
            "CNY a day: not a money fund's figure"
        )
    return rate


def check_rate(rate_e4: object) -> int:
    """``rate_e4`` if it is a whole number of 10^-4 CNY in 0…`MAX_RATE_E4`, else refuse."""
    if isinstance(rate_e4, bool) or not isinstance(rate_e4, int | np.integer):
        raise InvalidRate(f"a rate must be an integer in 10^-4 CNY, not {rate_e4!r}")
    if not 0 <= rate_e4 <= MAX_RATE_E4:
        raise InvalidRate(f"rate {rate_e4} is outside 0…{MAX_RATE_E4} (10^-4 CNY per 10k)")
    return int(rate_e4)


def truncate_to_fen(units: int, rate_e4: int) -> int:
    """One account's income for one day, truncated: ``floor(units × rate_e4 / 10^8)`` fen.

    Both factors are non-negative, so truncation and floor agree.
    """
    return units * rate_e4 // FEN_DIVISOR


def fen_fraction(units: int, rate_e4: int) -> int:
    """What `truncate_to_fen` cut off, in 10^-8 fen: ``units × rate_e4 mod 10^8``."""
    return units * rate_e4 % FEN_DIVISOR


def distributable_fen(units_total: int, rate_e4: int) -> int:
    """The day's income to hand out: ``floor(Σ units × rate_e4 / 10^8)`` fen (round down)."""
    return units_total * rate_e4 // FEN_DIVISOR


@dataclass(frozen=True, slots=True)
class IncomePlan:
    """One day's allocation, condensed so that any partition can apply it alone."""

    rate_e4: int
    accounts: int  # accounts in the base, including any holding zero units
    units_total: int
    truncated_total: int  # Σ truncated incomes, fen
    distributable_total: int  # fen
    extra_fen: int  # distributable_total − truncated_total: accounts that get one fen more
    threshold_remainder: int
    tie_last_id: int

    def earns_extra_fen(self, account_id: int, remainder: int) -> bool:
        """The allocation rule: a fraction above the threshold, or on it with a small id."""
        return remainder > self.threshold_remainder or (
            remainder == self.threshold_remainder and account_id <= self.tie_last_id
        )

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IncomePlan:
        """The plan stored by `to_dict`; a damaged or inconsistent record is refused."""
        names = [field.name for field in fields(cls)]
        if not isinstance(data, Mapping) or sorted(data) != sorted(names):
            raise InvalidInput(f"an income plan needs exactly the fields {', '.join(names)}")
        values = {name: data[name] for name in names}
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values.values()):
            raise InvalidInput("every field of an income plan is an integer")
        plan = cls(**values)
        rate = check_rate(plan.rate_e4)
        if (
            plan.distributable_total != distributable_fen(plan.units_total, rate)
            or plan.extra_fen != plan.distributable_total - plan.truncated_total
            or not 0 <= plan.extra_fen <= plan.accounts
            or not 0 <= plan.threshold_remainder < FEN_DIVISOR
        ):
            raise InvalidInput("the stored income plan is inconsistent")
        return plan


def plan_income(rate_e4: int, chunks: Chunks) -> IncomePlan:
    """The day's `IncomePlan` over the base that ``chunks()`` yields, in up to three passes.

    ``chunks()`` yields ``(ids, units)`` int64 arrays, ids ascending across all chunks; it
    is called once per pass and must yield the same base every time (checked where cheap).
    Memory is bounded by one chunk plus two histograms of 10^4 counts.
    """
    rate = check_rate(rate_e4)
    accounts, units_total, truncated_total, coarse = _census(rate, chunks)
    distributable = distributable_fen(units_total, rate)
    extra = distributable - truncated_total
    plan = {
        "rate_e4": rate, "accounts": accounts, "units_total": units_total,
        "truncated_total": truncated_total, "distributable_total": distributable,
        "extra_fen": extra,
    }  # fmt: skip
    if extra == 0:
        return IncomePlan(**plan, threshold_remainder=FEN_DIVISOR - 1, tie_last_id=NO_TIE)
    bucket, above_bucket = _cut(coarse, extra)
    fine = _bucket_histogram(rate, chunks, bucket, (accounts, units_total))
    offset, above_offset = _cut(fine, extra - above_bucket)
    threshold = bucket * _COARSE + offset
    wanted = extra - above_bucket - above_offset  # accounts on the threshold still to serve
    if wanted == fine[offset]:  # the whole tie gets its fen: cut just below it
        return IncomePlan(**plan, threshold_remainder=threshold - 1, tie_last_id=NO_TIE)
    tie_last_id = _tie_last_id(rate, chunks, threshold, wanted)
    return IncomePlan(**plan, threshold_remainder=threshold, tie_last_id=tie_last_id)


def allocate_income(ids: np.ndarray, units: np.ndarray, plan: IncomePlan) -> Column:
    """Each account's income for the day in fen (int64), by ``plan``: the hot path."""
    ids, units = _base_columns(ids, units, plan.rate_e4)
    income, remainders = _truncate_columns(units, plan.rate_e4)
    np.add(income, remainders > plan.threshold_remainder, out=income)
    if plan.tie_last_id != NO_TIE:
        on_threshold = np.flatnonzero(remainders == plan.threshold_remainder)
        income[on_threshold[ids[on_threshold] <= plan.tie_last_id]] += 1
    return income


def allocate_income_reference(ids: Sequence[int], units: Sequence[int], rate_e4: int) -> list[int]:
    """The allocation written the obvious way, with Python ints: the tests' yardstick."""
    accounts = [(int(i), int(u)) for i, u in zip(ids, units, strict=True)]
    income = [truncate_to_fen(u, rate_e4) for _, u in accounts]
    extra = distributable_fen(sum(u for _, u in accounts), rate_e4) - sum(income)

    def largest_fraction_first(n: int) -> tuple[int, int]:
        account_id, held = accounts[n]
        return -fen_fraction(held, rate_e4), account_id

    for n in sorted(range(len(accounts)), key=largest_fraction_first)[:extra]:
        income[n] += 1
    return income


def _census(rate: int, chunks: Chunks) -> tuple[int, int, int, NDArray[np.int64]]:
    """Pass 1: accounts, Σ units, Σ truncated income and a coarse histogram of fractions."""
    accounts = units_total = truncated_total = 0
    coarse = np.zeros(FEN_DIVISOR // _COARSE, dtype=np.int64)
    for _ids, units, income, remainders in _income_chunks(rate, chunks):
        accounts += len(units)
        units_total += _exact_sum(units)
        truncated_total += _exact_sum(income)
        coarse += np.bincount(remainders // _COARSE, minlength=len(coarse))
    return accounts, units_total, truncated_total, coarse


def _bucket_histogram(
    rate: int, chunks: Chunks, bucket: int, census: tuple[int, int]
) -> NDArray[np.int64]:
    """Pass 2: the exact fractions inside one coarse bucket (and a check of the base)."""
    low = bucket * _COARSE
    fine = np.zeros(_COARSE, dtype=np.int64)
    accounts = units_total = 0
    for _ids, units, _income, remainders in _income_chunks(rate, chunks):
        accounts += len(units)
        units_total += _exact_sum(units)
        inside = remainders[(remainders >= low) & (remainders < low + _COARSE)]
        fine += np.bincount(inside - low, minlength=_COARSE)
    if (accounts, units_total) != census:
        raise _changed()
    return fine


def _tie_last_id(rate: int, chunks: Chunks, threshold: int, wanted: int) -> int:
    """Pass 3: walking in id order, the id of the ``wanted``-th account on the threshold."""
    for ids, _units, _income, remainders in _income_chunks(rate, chunks):
        tied = ids[remainders == threshold]
        if len(tied) >= wanted:
            return int(tied[wanted - 1])
        wanted -= len(tied)
    raise _changed()


def _cut(histogram: NDArray[np.int64], wanted: int) -> tuple[int, int]:
    """The highest index whose count, with all above it, reaches ``wanted``; and the count
    strictly above that index."""
    at_or_above = np.cumsum(histogram[::-1])[::-1]
    index = int(np.count_nonzero(at_or_above >= wanted)) - 1
    if index < 0:
        raise _changed()
    return index, int(at_or_above[index] - histogram[index])


def _income_chunks(rate: int, chunks: Chunks) -> Iterator[tuple[Column, Column, Column, Column]]:
    """Each valid chunk with its truncated incomes and fractions; ids ascend throughout."""
    last_id = -1
    for raw_ids, raw_units in chunks():
        ids, units = _base_columns(raw_ids, raw_units, rate)
        if len(ids) == 0:
            continue
        if ids[0] < 0:
            raise InvalidIncomeBase("account ids must not be negative")
        if ids[0] <= last_id or not bool(np.all(ids[1:] > ids[:-1])):
            raise InvalidIncomeBase("account ids must ascend, with no repeats, across chunks")
        last_id = int(ids[-1])
        income, remainders = _truncate_columns(units, rate)
        yield ids, units, income, remainders


def _truncate_columns(units: Column, rate: int) -> tuple[Column, Column]:
    """`truncate_to_fen` and `fen_fraction` over a column. (Floor division by a constant is
    vectorised by NumPy; ``np.divmod`` and ``%`` are several times slower.)"""
    products = units * rate
    income = products // FEN_DIVISOR
    remainders = np.subtract(products, income * FEN_DIVISOR, out=products)
    return income, remainders


def _base_columns(ids: np.ndarray, units: np.ndarray, rate: int) -> tuple[Column, Column]:
    """The chunk as int64 columns, refusing what the kernel cannot compute exactly."""
    ids, units = np.asarray(ids), np.asarray(units)
    if ids.ndim != 1 or ids.shape != units.shape:
        raise InvalidIncomeBase("ids and units must be one-dimensional and of equal length")
    if ids.dtype.kind not in "iu" or units.dtype.kind not in "iu":
        raise InvalidIncomeBase("ids and units must be integer arrays (units of 0.01 share)")
    ids, units = ids.astype(np.int64, copy=False), units.astype(np.int64, copy=False)
    if len(units) == 0:
        return ids, units
    limit = INT64_MAX // rate if rate else INT64_MAX
    # as unsigned, negative units look huge: one reduction checks both ends
    if int(units.view(np.uint64).max()) > limit:
        if int(units.min()) < 0:
            raise InvalidIncomeBase("units must not be negative")
        raise IncomeOverflow(
            f"an account holds more than {limit} units: its income at rate {rate} would "
            "overflow 64-bit arithmetic"
        )
    return ids, units


def _exact_sum(values: Column) -> int:
    """Σ of non-negative int64 values without 64-bit overflow: the high and low 32 bits are
    summed apart (each sum fits while a chunk has fewer than 2^31 values)."""
    high = int(np.sum(values >> 32))
    low = int(np.sum(values & 0xFFFFFFFF))
    return (high << 32) + low


def _changed() -> IncomeBaseChanged:
    return IncomeBaseChanged(
        "the income base changed between the passes of the plan; plan the day again"
    )
