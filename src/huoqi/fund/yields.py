"""Annualised 7-, 14- and 28-day yields of a money fund, as shown to users.

Over the n calendar days ending on D, with R_i the income per 10,000 shares in CNY:

* daily carry-over (income compounds): ``((Π (1 + R_i/10000)) ^ (365/n) − 1) × 100``;
* monthly carry-over (simple): ``(Σ R_i / n) × 365 / 10000 × 100``.

Both are in percent, rounded half up to 3 decimals. They are computed in `Decimal` with 50
significant digits (the power with a fractional exponent is Decimal's too), far more than
the 3 decimals shown, so rounding sees the true value. A day's yield exists only when the n
days before it all have a figure: a gap in the dates starts the count again.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from huoqi.errors import InvalidInput
from huoqi.fund.domain import Carry
from huoqi.fund.income import check_rate

WINDOWS = (7, 14, 28)
PRECISION = 50
DAYS_PER_YEAR = 365
_E8 = Decimal(10**8)  # rate_e4 is 10^-4 CNY per 10,000 shares: R_i / 10000 = rate_e4 / 10^8


@dataclass(frozen=True, slots=True)
class YieldRow:
    date: date
    rate_e4: int
    yield_7d: Decimal | None
    yield_14d: Decimal | None
    yield_28d: Decimal | None


def round_half_up(value: Decimal, places: int = 3) -> Decimal:
    """``value`` to ``places`` decimals, a half rounded away from zero: 6.1685 → 6.169,
    −0.0005 → −0.001 (the rule for published yields; not banker's rounding)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def annualised_yield(rates_e4: Sequence[int], carry: Carry) -> Decimal:
    """The annualised yield in % (3 decimals) over the days of ``rates_e4`` (10^-4 CNY per
    10,000 shares, one per calendar day, oldest first)."""
    if len(rates_e4) == 0:
        raise InvalidInput("an annualised yield needs at least one day's income")
    return _annualised(tuple(check_rate(rate) for rate in rates_e4), Carry(carry))


@functools.lru_cache(maxsize=4096)
def _annualised(rates: tuple[int, ...], carry: Carry) -> Decimal:
    """Cached: every customer of a fund asks for the same few windows each day, and the
    daily-carry power at 50 digits is the costly part of a summary."""
    with localcontext(prec=PRECISION):
        if Carry(carry) is Carry.DAILY:
            growth = Decimal(1)
            for rate in rates:
                growth *= 1 + rate / _E8
            annual = growth ** (Decimal(DAYS_PER_YEAR) / len(rates)) - 1
        else:
            annual = sum(rates) * Decimal(DAYS_PER_YEAR) / len(rates) / _E8
        return round_half_up(annual * 100)


def yield_series(days: Sequence[tuple[date, int]], carry: Carry) -> list[YieldRow]:
    """One `YieldRow` per day of ``days`` (dates ascending, one figure each), each yield
    ``None`` until that many consecutive calendar days lead up to it."""
    rows: list[YieldRow] = []
    run: list[int] = []  # the latest consecutive days' rates, at most the longest window
    previous: date | None = None
    for day, rate in days:
        if previous is not None and day <= previous:
            raise InvalidInput(f"income dates must ascend without repeats: {day} after {previous}")
        if previous is None or day != previous + timedelta(days=1):
            run = []
        run = [*run[-(max(WINDOWS) - 1) :], rate]
        previous = day
        seven, fourteen, twenty_eight = (
            annualised_yield(run[-n:], carry) if len(run) >= n else None for n in WINDOWS
        )
        rows.append(YieldRow(day, rate, seven, fourteen, twenty_eight))
    return rows
