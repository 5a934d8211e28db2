"""Writing and reading the audit log.

`record` runs in the caller's transaction, so a state change and its audit row commit
together or not at all; a refused request is recorded in a transaction of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from huoqi.audit.tables import audit_log


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a signed-in user (id and role) or a system actor (id None, a name)."""

    id: int | None
    name: str
    address: str = ""


SYSTEM = Actor(None, "system")


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    address: str
    detail: dict[str, Any]


_INSERT = insert(audit_log)  # built once: every state change writes a row


def _row(  # noqa: PLR0917 (private: both callers pass every field)
    actor: Actor,
    action: str,
    now: datetime,
    object_type: str,
    object_id: object,
    outcome: str,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "at": now,
        "actor_id": actor.id,
        "actor": actor.name[:40],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:64],
        "outcome": outcome,
        "address": actor.address[:64],
        "detail": json.dumps(detail or {}, ensure_ascii=False, default=str, sort_keys=True),
    }


def record(
    connection: Connection,
    actor: Actor,
    action: str,
    *,
    now: datetime,
    object_type: str = "",
    object_id: object = "",
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    connection.execute(_INSERT, _row(actor, action, now, object_type, object_id, outcome, detail))


def record_many(
    connection: Connection,
    actor: Actor,
    action: str,
    *,
    now: datetime,
    object_type: str,
    object_ids: list[object],
    outcome: str = "ok",
) -> None:
    """The same action on many objects, one row each, in one statement."""
    if object_ids:
        connection.execute(
            _INSERT,
            [
                _row(actor, action, now, object_type, object_id, outcome, None)
                for object_id in object_ids
            ],
        )


def read(
    connection: Connection,
    *,
    before_id: int | None = None,
    limit: int = 50,
    actor_id: int | None = None,
    action: str | None = None,
) -> list[AuditRow]:
    """Newest first; ``before_id`` continues a page."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if actor_id is not None:
        query = query.where(audit_log.c.actor_id == actor_id)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    return [
        AuditRow(
            row.id,
            row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC),
            row.actor_id,
            row.actor,
            row.action,
            row.object_type,
            row.object_id,
            row.outcome,
            row.address,
            json.loads(row.detail),
        )
        for row in connection.execute(query)
    ]
