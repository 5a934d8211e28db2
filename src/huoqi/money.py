"""Money as integers in minor units.

Every amount of money or of fund shares is an ``int`` counting the asset's minor unit: fen
for CNY (scale 2: 1 CNY = 100 fen) and 0.01 share for money-fund shares. ``float`` never
appears. Text from people and files is parsed exactly by `parse_amount`; amounts are shown
by `format_amount`.
"""

from __future__ import annotations

import re
from decimal import Decimal

from huoqi.errors import InvalidInput

#: The largest amount a single posting may carry, in minor units: 10 trillion CNY. Far
#: above any real movement, far below the 64-bit limit of the balance columns, so sums of
#: many maximal postings still fit.
MAX_AMOUNT = 10**15

#: Largest value a balance column can hold (signed 64-bit).
INT64_MAX = 2**63 - 1

_AMOUNT_TEXT = re.compile(
    r"^(?P<whole>[0-9]{1,19})(?:\.(?P<frac>[0-9]{1,12}))?$"
)  # ASCII digits only


class InvalidAmount(InvalidInput):
    code = "invalid_amount"
    title = "Invalid amount"


def parse_amount(text: str, *, scale: int = 2, allow_zero: bool = False) -> int:
    """Parse a positive decimal amount such as ``"12.34"`` into minor units (1234 at scale 2).

    Refuses signs, exponents, separators, more decimals than the asset has (``"0.001"`` CNY
    is a fraction of a fen), zero unless ``allow_zero``, and anything above `MAX_AMOUNT`.
    """
    if not isinstance(text, str):
        raise InvalidAmount(f"amount must be text like '12.34', not {type(text).__name__}")
    stripped = text.strip()
    match = _AMOUNT_TEXT.match(stripped)
    if match is None:
        raise InvalidAmount(
            f"'{text}' is not an amount: use digits with an optional decimal point, "
            f"e.g. 12.34 (no sign, no exponent, no separators)"
        )
    frac = (match["frac"] or "").rstrip("0")
    if len(frac) > scale:
        unit = "fen" if scale == 2 else f"1/{10**scale} unit"
        raise InvalidAmount(f"'{text}' has more than {scale} decimals: a fraction of a {unit}")
    minor = int(match["whole"]) * 10**scale + int(frac.ljust(scale, "0") or "0")
    return check_amount(minor, allow_zero=allow_zero, shown=stripped)


def check_amount(minor: object, *, allow_zero: bool = False, shown: str | None = None) -> int:
    """Return ``minor`` if it is a valid positive amount in minor units, else raise."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise InvalidAmount(
            f"amount must be an integer number of minor units, not {type(minor).__name__}"
        )
    label = shown if shown is not None else str(minor)
    if minor < 0:
        raise InvalidAmount(f"amount {label} is negative; amounts are always positive")
    if minor == 0 and not allow_zero:
        raise InvalidAmount("amount is zero; a movement must move something")
    if minor > MAX_AMOUNT:
        raise InvalidAmount(
            f"amount {label} is above the limit of {MAX_AMOUNT} minor units for one movement"
        )
    return minor


def format_amount(minor: int, *, scale: int = 2, grouped: bool = False) -> str:
    """Show minor units as a decimal string: ``format_amount(-1234) == "-12.34"``.

    ``grouped`` separates thousands for people (``1,000,000.00``); files and CSV keep the
    plain form.
    """
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**scale)
    shown = f"{whole:,}" if grouped else str(whole)
    return f"{sign}{shown}.{frac:0{scale}d}" if scale else f"{sign}{shown}"


def to_decimal(minor: int, *, scale: int = 2) -> Decimal:
    """The exact `Decimal` value of an amount in minor units."""
    return Decimal(minor).scaleb(-scale)
