"""What Huoqi's answers and notifications say about an order, and how the shop keeps up.

Every notification carries the whole order as Huoqi saw it when the event happened. The
shop's copy follows the *latest* of the views it has seen, where "latest" is a total order
on views (`progress`): status along created → paying → closed/paid → partially refunded →
refunded, then the amount refunded so far. Taking the maximum is commutative and
idempotent, so notifications that arrive twice, late or out of order (retries make all
three possible) leave the same copy as the events in their true order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from huoqi.errors import InvalidInput

STATUSES = ("created", "paying", "closed", "paid", "partially_refunded", "refunded")
EVENTS = ("order.paid", "refund.succeeded")


class BadNotification(InvalidInput):
    code = "bad_notification"
    title = "Not a notification the shop understands"


@dataclass(frozen=True, slots=True)
class OrderView:
    out_trade_no: str
    order_no: str
    status: str
    amount_fen: int
    refunded_fen: int

    @property
    def refundable_fen(self) -> int:
        return self.amount_fen - self.refunded_fen if self.status in STATUSES[3:] else 0


@dataclass(frozen=True, slots=True)
class RefundView:
    out_refund_no: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    event: str
    order: OrderView
    refund: RefundView | None


def progress(view: OrderView) -> tuple[int, int]:
    return STATUSES.index(view.status), view.refunded_fen


def later(current: OrderView | None, seen: OrderView) -> OrderView:
    """The view the shop keeps after seeing ``seen``: whichever of the two is further on."""
    if current is None or progress(seen) > progress(current):
        return seen
    return current


def _fen(value: Any, field: str) -> int:
    fen = value.get("fen") if isinstance(value, dict) else None
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise BadNotification(f"{field} must be an amount {{fen, cny}} with whole fen")
    return fen


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value:
        raise BadNotification(f"{field} must be non-empty text")
    return value


def order_view(data: Any) -> OrderView:
    """The gateway's order JSON (see docs/payments.md) as the shop reads it."""
    if not isinstance(data, dict):
        raise BadNotification("the order must be a JSON object")
    status = _text(data, "status")
    if status not in STATUSES:
        raise BadNotification(f"unknown order status {status!r}")
    view = OrderView(
        out_trade_no=_text(data, "out_trade_no"),
        order_no=_text(data, "order_no"),
        status=status,
        amount_fen=_fen(data.get("amount"), "amount"),
        refunded_fen=_fen(data.get("refunded"), "refunded"),
    )
    if view.refunded_fen > view.amount_fen:
        raise BadNotification("refunded more than the order's amount")
    return view


def parse_event(body: bytes) -> Event:
    """A notification's body; anything else is a `BadNotification`."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadNotification("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadNotification("the body must be a JSON object")
    event = _text(data, "event")
    if event not in EVENTS:
        raise BadNotification(f"unknown event {event!r}")
    refund = None
    if event == "refund.succeeded":
        raw = data.get("refund")
        if not isinstance(raw, dict):
            raise BadNotification("a refund event must carry the refund")
        refund = RefundView(_text(raw, "out_refund_no"), _fen(raw.get("amount"), "amount"))
    return Event(_text(data, "event_id"), event, order_view(data.get("order")), refund)
