"""The daily retention job: raw data of revoked purposes is deleted after the retention period.

A revocation stops collection at once (`huoqi.credit.consent`); the data already collected
under the purpose is kept for `RETENTION` (default 30 days, for disputes and for the user
to change their mind) and then deleted by `delete_expired`, which the operators run daily
(``huoqi credit retention``). Revoking ``credit_assessment`` withdraws the purpose every
collection serves, so it deletes all of the user's raw events; revoking a sensitive purpose
deletes the events collected under that purpose. A purpose granted again keeps its data:
only the newest grant of a purpose governs, so revoked, granted and revoked again waits for
the full period after the last revocation. Each deletion stamps the consent row and writes
an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from huoqi.audit.log import Actor, record
from huoqi.credit.tables import credit_consents, credit_raw_events

RETENTION = timedelta(days=30)
RETENTION_ACTOR = Actor(None, "credit-retention")


@dataclass(frozen=True, slots=True)
class Deletion:
    user_id: int
    purpose: str
    revoked_at: datetime
    events_deleted: int


def due(revoked_at: datetime, now: datetime, retention: timedelta = RETENTION) -> bool:
    """Whether raw data revoked at ``revoked_at`` must be gone at ``now``."""
    return revoked_at + retention <= now


def _superseded(connection: Connection, row: Any) -> bool:
    newer = connection.execute(
        select(credit_consents.c.id)
        .where(
            credit_consents.c.user_id == row.user_id,
            credit_consents.c.purpose == row.purpose,
            credit_consents.c.id > row.id,
        )
        .limit(1)
    ).first()
    return newer is not None


def delete_expired(
    connection: Connection, *, now: datetime, retention: timedelta = RETENTION
) -> list[Deletion]:
    """Delete the raw data whose consent was revoked at least ``retention`` ago."""
    rows = connection.execute(
        select(credit_consents).where(
            credit_consents.c.revoked_at.is_not(None), credit_consents.c.raw_deleted_at.is_(None)
        )
    ).all()
    done = []
    for row in rows:
        revoked_at = row.revoked_at if row.revoked_at.tzinfo else row.revoked_at.replace(tzinfo=UTC)
        if not due(revoked_at, now, retention):
            continue
        if _superseded(connection, row):
            continue  # granted again since: the newest grant (and its revocation) governs
        query = delete(credit_raw_events).where(credit_raw_events.c.user_id == row.user_id)
        if row.purpose != "credit_assessment":
            query = query.where(credit_raw_events.c.purpose == row.purpose)
        deleted = connection.execute(query).rowcount
        connection.execute(
            update(credit_consents).where(credit_consents.c.id == row.id).values(raw_deleted_at=now)
        )
        record(
            connection,
            RETENTION_ACTOR,
            "credit.raw_deleted",
            now=now,
            object_type="credit_user",
            object_id=row.user_id,
            detail={"purpose": row.purpose, "events": deleted, "revoked_at": revoked_at},
        )
        done.append(Deletion(row.user_id, row.purpose, revoked_at, deleted))
    return done
