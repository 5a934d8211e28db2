"""The merchant fee: one rounding rule, and the fee given back by refunds.

A payment's fee is ``fee_rate_bp`` basis points of its amount, rounded half up to the fen
(``fee_for``). A refund gives back the difference between the fee of what was paid before
it and the fee of what is still paid after it, so after any sequence of refunds the fee
kept is exactly the fee of the amount still paid, and the fees given back never exceed the
fee taken.
"""

from __future__ import annotations

BASIS_POINTS = 10_000
DEFAULT_FEE_RATE_BP = 60  # 0.6%


def round_half_up_division(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up_division takes a non-negative numerator")
    return (2 * numerator + denominator) // (2 * denominator)


def fee_for(amount: int, fee_rate_bp: int) -> int:
    """The fee in fen on ``amount`` fen at ``fee_rate_bp`` basis points, rounded half up."""
    return round_half_up_division(amount * fee_rate_bp, BASIS_POINTS)


def fee_returned(*, paid: int, refunded_before: int, refund: int, fee_rate_bp: int) -> int:
    """The part of the order's fee a refund of ``refund`` fen gives back."""
    still_paid = paid - refunded_before
    return fee_for(still_paid, fee_rate_bp) - fee_for(still_paid - refund, fee_rate_bp)
