"""A refund as stored (its own module so payloads and refunds both import it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Refund:
    id: int
    refund_no: str
    order_id: int
    merchant_id: int
    out_refund_no: str
    amount: int
    fee_returned: int
    reason: str
    fund_order_id: int | None
    created_at: datetime
    settlement_id: int | None


def refund_from_row(row: Any) -> Refund:
    return Refund(
        row.id, row.refund_no, row.order_id, row.merchant_id, row.out_refund_no, row.amount,
        row.fee_returned, row.reason, row.fund_order_id, row.created_at, row.settlement_id,
    )  # fmt: skip
