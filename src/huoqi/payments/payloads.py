"""The JSON an order or refund is shown as, to merchants (gateway answers, notifications)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from huoqi.money import format_amount
from huoqi.payments.orders import PaymentOrder
from huoqi.payments.refunds_model import Refund


def money(fen: int) -> dict[str, Any]:
    return {"fen": fen, "cny": format_amount(fen)}


def moment(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_payload(
    order: PaymentOrder, *, merchant_code: str, now: datetime,
    refunds: Sequence[Refund] | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "order_no": order.order_no,
        "merchant_id": merchant_code,
        "out_trade_no": order.out_trade_no,
        "amount": money(order.amount),
        "description": order.description,
        "status": order.status_at(now),
        "method": order.method,
        "created_at": moment(order.created_at),
        "expires_at": moment(order.expires_at),
        "paid_at": moment(order.paid_at),
        "closed_at": moment(order.closed_at or (order.expires_at
                                                 if order.status_at(now) == "closed" else None)),
        "refunded": money(order.refunded_amount),
        "checkout_url": f"/pay/{order.order_no}",
        "refunds": [refund_payload(refund, out_trade_no=order.out_trade_no)
                    for refund in refunds or ()],
    }  # fmt: skip


def refund_payload(refund: Refund, *, out_trade_no: str) -> dict[str, Any]:
    return {
        "refund_no": refund.refund_no,
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": out_trade_no,
        "amount": money(refund.amount),
        "reason": refund.reason,
        "status": "succeeded",
        "created_at": moment(refund.created_at),
    }
