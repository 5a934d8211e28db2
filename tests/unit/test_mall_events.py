"""What the Mall keeps of an order: the furthest view seen, whatever order notifications
arrive in, however often; and notifications it cannot read are refused."""

from __future__ import annotations

import json
from functools import reduce
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huoqi.mall.events import (
    BadNotification,
    OrderView,
    later,
    order_view,
    parse_event,
    progress,
)


def view(status: str, refunded: int = 0) -> OrderView:
    return OrderView("MALL-1", "HQ1", status, 10_000, refunded)


@st.composite
def histories(draw: st.DrawFn) -> list[OrderView]:
    """The views one order passes through: created, paid, then refunds up to the amount."""
    seen = [view("created"), view("paid")]
    refunded = 0
    for part in draw(st.lists(st.integers(1, 5_000), max_size=4)):
        if refunded + part > 10_000:
            break
        refunded += part
        seen.append(view("refunded" if refunded == 10_000 else "partially_refunded", refunded))
    return seen


@given(histories(), st.randoms())
def test_any_arrival_order_with_repeats_keeps_the_last_view(
    history: list[OrderView], random: Any
) -> None:
    arrivals = history + random.sample(history, k=len(history) // 2)  # some come twice
    random.shuffle(arrivals)
    kept = reduce(later, arrivals, None)
    assert kept == history[-1]


@given(histories())
def test_the_true_order_only_moves_forward(history: list[OrderView]) -> None:
    assert [progress(v) for v in history] == sorted(progress(v) for v in history)


def test_an_older_view_never_replaces_a_newer_one() -> None:
    assert later(view("partially_refunded", 300), view("paid")) == view("partially_refunded", 300)
    assert later(view("paid"), view("partially_refunded", 300)) == view("partially_refunded", 300)
    assert later(None, view("created")) == view("created")
    assert view("partially_refunded", 300).refundable_fen == 9_700
    assert view("created").refundable_fen == 0


ORDER = {
    "order_no": "HQ2611250000001",
    "out_trade_no": "MALL-1",
    "status": "paid",
    "amount": {"fen": 1999, "cny": "19.99"},
    "refunded": {"fen": 0, "cny": "0.00"},
}


def body(**changes: Any) -> bytes:
    return json.dumps(
        {"event_id": "EV1", "event": "order.paid", "order": ORDER, **changes}
    ).encode()


def test_a_paid_notification_reads() -> None:
    event = parse_event(body())
    assert (event.event_id, event.event, event.refund) == ("EV1", "order.paid", None)
    assert event.order == OrderView("MALL-1", "HQ2611250000001", "paid", 1999, 0)


def test_a_refund_notification_carries_the_refund() -> None:
    refund = {"out_refund_no": "R-1", "amount": {"fen": 500, "cny": "5.00"}}
    order = {**ORDER, "status": "partially_refunded", "refunded": {"fen": 500, "cny": "5.00"}}
    event = parse_event(body(event="refund.succeeded", refund=refund, order=order))
    assert event.refund is not None
    assert (event.refund.out_refund_no, event.refund.amount_fen) == ("R-1", 500)
    assert event.order.refunded_fen == 500


@pytest.mark.parametrize(
    "bad",
    [
        b"not json",
        b"[1, 2]",
        body(event="order.shipped"),
        body(event_id=""),
        body(order={**ORDER, "status": "lost"}),
        body(order={**ORDER, "amount": {"cny": "19.99"}}),
        body(order={**ORDER, "amount": {"fen": 19.99}}),
        body(order={**ORDER, "refunded": {"fen": 5000}}),
        body(event="refund.succeeded"),
    ],
)
def test_unreadable_notifications_are_refused(bad: bytes) -> None:
    with pytest.raises(BadNotification):
        parse_event(bad)


def test_an_order_answer_must_be_an_object() -> None:
    with pytest.raises(BadNotification):
        order_view(["HQ1"])
