"""The outbox of merchant notifications.

A notification is a row written in the same transaction as the payment or refund it
announces, so it exists exactly when the payment does. Senders claim due rows with a lease
(a conditional update, so two senders never send one row at the same time), POST them, and
mark them delivered, or schedule the next attempt: 10 s, 20 s, 40 s, … doubling up to one
hour apart, for 24 hours, then ``failed`` (operators can send it again).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from huoqi.payments.tables import merchant_notifications

FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    event_id: str
    merchant_id: int
    event: str
    url: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_error: str


def notification_from_row(row: Any) -> Notification:
    return Notification(
        row.id, row.event_id, row.merchant_id, row.event, row.url, row.body, row.status,
        row.attempts, row.next_attempt_at, row.created_at,
        row.delivered_at, row.last_error,
    )  # fmt: skip


def retry_delay(attempts: int, *, first: timedelta = FIRST_RETRY) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling, at most one hour."""
    wait: timedelta = first * (2 ** min(max(0, attempts - 1), 20))  # 2**20 x: past any cap
    return min(wait, LONGEST_WAIT)


_INSERT = insert(merchant_notifications)


def enqueue(
    connection: Connection, *, merchant_id: int, event: str, url: str,
    payload: dict[str, Any], now: datetime,
) -> str:  # fmt: skip
    """Write one notification (in the caller's transaction); returns its event id."""
    event_id = "EV" + secrets.token_hex(12).upper()
    body = {
        "event_id": event_id,
        "event": event,
        "created_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **payload,
    }
    connection.execute(_INSERT, {
        "event_id": event_id, "merchant_id": merchant_id, "event": event, "url": url,
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
    })  # fmt: skip
    return event_id


_DUE = (
    select(merchant_notifications.c.id)
    .where(
        merchant_notifications.c.status == "pending",
        merchant_notifications.c.next_attempt_at <= bindparam("now"),
        or_(
            merchant_notifications.c.lease_until.is_(None),
            merchant_notifications.c.lease_until <= bindparam("now"),
        ),
    )
    .order_by(merchant_notifications.c.next_attempt_at)
    .limit(bindparam("limit"))
)
_CLAIM = (
    update(merchant_notifications)
    .where(
        merchant_notifications.c.id.in_(bindparam("ids", expanding=True)),
        merchant_notifications.c.status == "pending",
        or_(
            merchant_notifications.c.lease_until.is_(None),
            merchant_notifications.c.lease_until <= bindparam("now"),
        ),
    )
    .values(lease_until=bindparam("until"))
    .returning(*merchant_notifications.c)
)


def claim_due(connection: Connection, *, now: datetime, limit: int = 50) -> list[Notification]:
    """Lease up to ``limit`` due notifications to this sender (one conditional update: a
    row another sender leased meanwhile is not returned)."""
    ids = list(connection.execute(_DUE, {"now": now, "limit": limit}).scalars())
    if not ids:
        return []
    rows = connection.execute(_CLAIM, {"ids": ids, "now": now, "until": now + LEASE})
    return sorted((notification_from_row(row) for row in rows), key=lambda n: (n.created_at, n.id))


def mark_delivered(connection: Connection, notification_id: int, *, now: datetime) -> None:
    connection.execute(
        update(merchant_notifications)
        .where(merchant_notifications.c.id == notification_id)
        .values(status="delivered", delivered_at=now, lease_until=None,
                attempts=merchant_notifications.c.attempts + 1, last_error="")
    )  # fmt: skip


def mark_failed_attempt(
    connection: Connection, notification: Notification, *, error: str, now: datetime,
    first_retry: timedelta = FIRST_RETRY,
) -> None:  # fmt: skip
    attempts = notification.attempts + 1
    next_at = now + retry_delay(attempts, first=first_retry)
    gave_up = next_at - notification.created_at > GIVE_UP_AFTER
    connection.execute(
        update(merchant_notifications)
        .where(merchant_notifications.c.id == notification.id)
        .values(status="failed" if gave_up else "pending", attempts=attempts,
                next_attempt_at=next_at, lease_until=None, last_error=error[:300])
    )  # fmt: skip


def resend(connection: Connection, event_id: str, *, now: datetime) -> bool:
    """An operator sends a failed (or any undelivered) notification again now."""
    return bool(
        connection.execute(
            update(merchant_notifications)
            .where(merchant_notifications.c.event_id == event_id,
                   merchant_notifications.c.status != "delivered")
            .values(status="pending", next_attempt_at=now, lease_until=None)
        ).rowcount
    )  # fmt: skip


def notifications_of(
    connection: Connection, *, merchant_id: int | None = None, status: str | None = None,
    limit: int = 100,
) -> list[Notification]:  # fmt: skip
    query = select(merchant_notifications).order_by(merchant_notifications.c.id.desc())
    if merchant_id is not None:
        query = query.where(merchant_notifications.c.merchant_id == merchant_id)
    if status is not None:
        query = query.where(merchant_notifications.c.status == status)
    return [notification_from_row(row) for row in connection.execute(query.limit(limit))]
