"""The Mall's SQLite store: notifications arriving late, twice and out of order leave the
shop's order where Huoqi's last event put it, and each event is recorded once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from huoqi.mall import catalog, store
from huoqi.mall.events import Event, OrderView, RefundView

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LINES = catalog.cart_lines({"E04": 1, "T01": 2})  # 335.00
AMOUNT = catalog.total_fen(LINES)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mall-store")


def engine_in(folder: Path, name: str) -> Engine:
    return store.open_store(folder / f"{name}.db")


def history(refunds: list[int]) -> list[Event]:
    """order.paid, then one refund.succeeded per part that still fits in the amount."""
    paid = OrderView("MALL-1", "HQ1", "paid", AMOUNT, 0)
    events = [Event("EV-PAID-0000000001", "order.paid", paid, None)]
    refunded = 0
    for n, part in enumerate(refunds):
        if refunded + part > AMOUNT:
            break
        refunded += part
        status = "refunded" if refunded == AMOUNT else "partially_refunded"
        view = OrderView("MALL-1", "HQ1", status, AMOUNT, refunded)
        refund = RefundView(f"R-{n}", part)
        events.append(Event(f"EV-REFUND-{n:08d}", "refund.succeeded", view, refund))
    return events


def body(event: Event) -> bytes:
    return json.dumps({"event_id": event.event_id, "event": event.event}).encode()


counter = iter(range(10**9))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 15_000), max_size=4), st.integers(0, 2**32), st.integers(0, 3))
def test_any_arrival_order_leaves_the_last_event_and_each_event_once(
    folder: Path, refunds: list[int], seed: int, repeats: int
) -> None:
    engine = engine_in(folder, f"prop-{next(counter)}")
    try:
        store.record_order(engine, out_trade_no="MALL-1", lines=LINES, description="x", now=NOW)
        events = history(refunds)
        random = Random(seed)
        arrivals = events + [random.choice(events) for _ in range(repeats)]
        random.shuffle(arrivals)
        fresh = [
            store.record_notification(engine, event, body(event), now=NOW + timedelta(seconds=i))
            for i, event in enumerate(arrivals)
        ]
        assert sum(fresh) == len(events)  # each event applied once, repeats only counted
        kept = store.get_order(engine, "MALL-1")
        last = events[-1].order
        assert (kept.status, kept.refunded_fen, kept.order_no) == (
            last.status,
            last.refunded_fen,
            "HQ1",
        )
        notes = store.list_notifications(engine)
        assert len(notes) == len(events)
        assert sum(note.deliveries for note in notes) == len(arrivals)
    finally:
        engine.dispose()


@pytest.fixture
def engine(folder: Path) -> Iterator[Engine]:
    made = engine_in(folder, f"one-{next(counter)}")
    yield made
    made.dispose()


def test_a_notification_for_an_order_the_shop_never_made_is_kept_but_applies_to_nothing(
    engine: Engine,
) -> None:
    stranger = Event(
        "EV-STRANGER-00000001", "order.paid", OrderView("MALL-X", "HQ9", "paid", 100, 0), None
    )
    assert store.record_notification(engine, stranger, b"{}", now=NOW) is True
    assert store.list_orders(engine) == []
    [note] = store.list_notifications(engine)
    assert note.out_trade_no == "MALL-X"


def test_a_refund_notification_marks_the_shops_refund_succeeded(engine: Engine) -> None:
    store.record_order(engine, out_trade_no="MALL-1", lines=LINES, description="x", now=NOW)
    store.record_refund(
        engine, out_refund_no="R-0", out_trade_no="MALL-1", amount_fen=6_800, reason="", now=NOW
    )
    store.record_refund(  # the same form again: one refund
        engine, out_refund_no="R-0", out_trade_no="MALL-1", amount_fen=6_800, reason="", now=NOW
    )
    store.mark_refund(engine, "R-0", "accepted")
    [refund_event] = history([6_800])[1:]
    store.record_notification(engine, refund_event, body(refund_event), now=NOW)
    store.mark_refund(engine, "R-0", "refused")  # a late answer never undoes a success
    [refund] = store.list_refunds(engine)
    assert (refund.out_refund_no, refund.status, refund.amount_fen) == ("R-0", "succeeded", 6_800)
    assert store.get_order(engine, "MALL-1").status == "partially_refunded"
