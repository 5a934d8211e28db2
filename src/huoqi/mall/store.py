"""The Mall's own small database: its orders, the refunds it asked for, the notifications.

A separate SQLite file (``var/mall.db`` by default): the Mall shares nothing with Huoqi but
the gateway. Tables are created on first use; there is nothing to migrate yet. A
notification is recorded and applied in one transaction, keyed by its event id, so a
notification Huoqi sends twice is counted, not applied twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from huoqi.errors import NotFound
from huoqi.mall.catalog import Line
from huoqi.mall.events import Event, OrderView, later

metadata = MetaData()

mall_orders = Table(
    "mall_orders",
    metadata,
    Column("out_trade_no", String(64), primary_key=True),
    Column("order_no", String(32), nullable=True),  # Huoqi's, once the gateway answered
    Column("amount_fen", BigInteger, nullable=False),  # fen
    Column("refunded_fen", BigInteger, nullable=False, default=0),  # fen
    Column("status", String(24), nullable=False),
    Column("description", String(128), nullable=False),
    Column("lines", Text, nullable=False),  # JSON: [[sku, quantity, price_fen], ...]
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

mall_refunds = Table(
    "mall_refunds",
    metadata,
    Column("out_refund_no", String(64), primary_key=True),
    Column("out_trade_no", String(64), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),  # fen
    Column("reason", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # requested, accepted, succeeded, refused
    Column("created_at", DateTime(timezone=True), nullable=False),
)

mall_notifications = Table(
    "mall_notifications",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("event", String(32), nullable=False),
    Column("out_trade_no", String(64), nullable=False, index=True),
    Column("order_status", String(24), nullable=False),  # as the notification saw it
    Column("deliveries", Integer, nullable=False),  # 2+ when Huoqi sent it again
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
)


@dataclass(frozen=True, slots=True)
class ShopOrder:
    out_trade_no: str
    order_no: str | None
    amount_fen: int
    refunded_fen: int
    status: str
    description: str
    lines: list[tuple[str, int, int]]  # sku, quantity, unit price in fen
    created_at: datetime


def open_store(database: str | Path) -> Engine:
    """The engine of the Mall's SQLite file (or any SQLAlchemy URL), tables created."""
    url = str(database) if "://" in str(database) else f"sqlite:///{database}"
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15} if url.startswith("sqlite") else {})
    metadata.create_all(engine)
    return engine


def _order(row: Any) -> ShopOrder:
    return ShopOrder(
        out_trade_no=row.out_trade_no,
        order_no=row.order_no,
        amount_fen=row.amount_fen,
        refunded_fen=row.refunded_fen,
        status=row.status,
        description=row.description,
        lines=[(sku, quantity, price) for sku, quantity, price in json.loads(row.lines)],
        created_at=row.created_at,
    )


def record_order(
    engine: Engine,
    *,
    out_trade_no: str,
    lines: list[Line],
    description: str,
    now: datetime,
) -> ShopOrder:
    """The shop's order, before the gateway is asked for it (status ``created``)."""
    with engine.begin() as connection:
        connection.execute(
            insert(mall_orders).values(
                out_trade_no=out_trade_no,
                order_no=None,
                amount_fen=sum(line.amount_fen for line in lines),
                refunded_fen=0,
                status="created",
                description=description,
                lines=json.dumps(
                    [[ln.product.sku, ln.quantity, ln.product.price_fen] for ln in lines]
                ),
                created_at=now,
                updated_at=now,
            )
        )
        return _get(connection, out_trade_no)


def _get(connection: Connection, out_trade_no: str) -> ShopOrder:
    row = connection.execute(
        select(mall_orders).where(mall_orders.c.out_trade_no == out_trade_no)
    ).one_or_none()
    if row is None:
        raise NotFound(f"the shop has no order {out_trade_no}")
    return _order(row)


def get_order(engine: Engine, out_trade_no: str) -> ShopOrder:
    with engine.connect() as connection:
        return _get(connection, out_trade_no)


def _follow(connection: Connection, view: OrderView, now: datetime) -> ShopOrder:
    current = _get(connection, view.out_trade_no)
    known = OrderView(
        current.out_trade_no,
        current.order_no or view.order_no,
        current.status,
        current.amount_fen,
        current.refunded_fen,
    )
    kept = later(known, view)
    connection.execute(
        update(mall_orders)
        .where(mall_orders.c.out_trade_no == view.out_trade_no)
        .values(
            order_no=view.order_no,
            status=kept.status,
            refunded_fen=kept.refunded_fen,
            updated_at=now,
        )
    )
    return _get(connection, view.out_trade_no)


def follow(engine: Engine, view: OrderView, *, now: datetime) -> ShopOrder:
    """Bring the shop's copy up to what the gateway answered (never backwards)."""
    with engine.begin() as connection:
        return _follow(connection, view, now)


def record_notification(engine: Engine, event: Event, body: bytes, *, now: datetime) -> bool:
    """Keep a verified notification and apply it; ``False`` when it had come before.

    Two deliveries of one event at the same moment: the second insert fails on the event
    id, and its retry counts it as a repeat."""
    try:
        return _record_notification(engine, event, body, now)
    except IntegrityError:
        return _record_notification(engine, event, body, now)


def _record_notification(engine: Engine, event: Event, body: bytes, now: datetime) -> bool:
    with engine.begin() as connection:
        seen = connection.execute(
            update(mall_notifications)
            .where(mall_notifications.c.event_id == event.event_id)
            .values(deliveries=mall_notifications.c.deliveries + 1)
        ).rowcount
        if seen:
            return False
        connection.execute(
            insert(mall_notifications).values(
                event_id=event.event_id,
                event=event.event,
                out_trade_no=event.order.out_trade_no,
                order_status=event.order.status,
                deliveries=1,
                received_at=now,
                body=body.decode(),
            )
        )
        known = connection.execute(
            select(mall_orders.c.out_trade_no).where(
                mall_orders.c.out_trade_no == event.order.out_trade_no
            )
        ).first()
        if known is not None:  # else kept for the record: an order this shop never made
            _follow(connection, event.order, now)
        if event.refund is not None:
            connection.execute(
                update(mall_refunds)
                .where(mall_refunds.c.out_refund_no == event.refund.out_refund_no)
                .values(status="succeeded")
            )
        return True


def record_refund(
    engine: Engine,
    *,
    out_refund_no: str,
    out_trade_no: str,
    amount_fen: int,
    reason: str,
    now: datetime,
) -> None:
    """The refund the shop is about to ask for (again: harmless, the form's number is its key)."""
    with engine.begin() as connection:
        exists = connection.execute(
            select(mall_refunds.c.out_refund_no).where(
                mall_refunds.c.out_refund_no == out_refund_no
            )
        ).first()
        if exists is None:
            connection.execute(
                insert(mall_refunds).values(
                    out_refund_no=out_refund_no,
                    out_trade_no=out_trade_no,
                    amount_fen=amount_fen,
                    reason=reason,
                    status="requested",
                    created_at=now,
                )
            )


def mark_refund(engine: Engine, out_refund_no: str, status: str) -> None:
    """``accepted`` or ``refused`` by the gateway; a notification makes it ``succeeded``."""
    with engine.begin() as connection:
        connection.execute(
            update(mall_refunds)
            .where(mall_refunds.c.out_refund_no == out_refund_no)
            .where(mall_refunds.c.status != "succeeded")
            .values(status=status)
        )


def list_orders(engine: Engine, *, limit: int = 50) -> list[ShopOrder]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(mall_orders).order_by(mall_orders.c.created_at.desc()).limit(limit)
        )
        return [_order(row) for row in rows]


def list_notifications(engine: Engine, *, limit: int = 50) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(mall_notifications)
                .order_by(mall_notifications.c.received_at.desc())
                .limit(limit)
            )
        )


def list_refunds(engine: Engine, *, limit: int = 50) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(mall_refunds).order_by(mall_refunds.c.created_at.desc()).limit(limit)
            )
        )
