"""Ingesting batched phone events: validate, check consent, de-duplicate, seal, store.

A phone sends its events in batches of at most `MAX_EVENTS`. A batch is taken whole or not
at all: an unknown field, a value out of range, an event for a purpose without consent, a
time in the future or an oversized batch refuses the batch and writes nothing. Events are
de-duplicated by the client's event id (resending a batch after a lost answer is safe):
the id is stored only as a keyed hash. Everything but the kind, the consent purpose and the
UTC day is sealed with AES-GCM; locations are coarsened to 0.01 degree (about 1 km) before
they are sealed, so not even the sealed copy is precise.

Every read of a user's raw data goes through `read_raw`, which writes who read what, when
and why to the audit log in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import Connection, delete, insert, select

from huoqi.audit.log import Actor, record
from huoqi.credit.consent import EVENT_PURPOSE, require_consent
from huoqi.credit.crypto import CreditKey, blind_index, open_sealed, seal
from huoqi.credit.tables import credit_raw_events
from huoqi.errors import InvalidInput

MAX_EVENTS = 200
MAX_AGE = timedelta(days=400)  # older than the longest feature window with room to spare
CLOCK_SKEW = timedelta(minutes=10)
EPOCH = date(1970, 1, 1)

AppCategory = Literal[
    "social", "games", "shopping", "finance", "loan", "news", "video", "tools", "education"
]
MerchantCategory = Literal[
    "groceries", "electronics", "fashion", "travel", "entertainment", "lottery", "other"
]
BillerCategory = Literal["utilities", "phone", "rent", "insurance", "other"]
APP_CATEGORIES: tuple[str, ...] = AppCategory.__args__  # type: ignore[attr-defined]
MERCHANT_CATEGORIES: tuple[str, ...] = MerchantCategory.__args__  # type: ignore[attr-defined]
BILLER_CATEGORIES: tuple[str, ...] = BillerCategory.__args__  # type: ignore[attr-defined]
MAX_FEN = 10**10  # 100 million CNY: anything larger is a broken client, not a purchase


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    event_id: str = Field(min_length=1, max_length=64, description="unique per device")
    at: AwareDatetime


class DeviceFacts(_Event):
    kind: Literal["device"]
    device_id: str = Field(min_length=1, max_length=64)
    model: str = Field(default="", max_length=40)
    os: str = Field(default="", max_length=20)
    rooted: bool = False
    loan_apps_installed: int = Field(default=0, ge=0, le=500)


class AppSession(_Event):
    kind: Literal["app_session"]
    app_category: AppCategory
    minutes: int = Field(ge=1, le=1440)


class Location(_Event):
    kind: Literal["location"]
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Purchase(_Event):
    kind: Literal["purchase"]
    amount_fen: int = Field(ge=1, le=MAX_FEN)
    merchant_category: MerchantCategory
    merchant: str = Field(default="", max_length=60)


class BillPayment(_Event):
    kind: Literal["bill_payment"]
    amount_fen: int = Field(ge=1, le=MAX_FEN)
    biller_category: BillerCategory
    days_late: int = Field(default=0, ge=0, le=365)


PhoneEvent = Annotated[
    DeviceFacts | AppSession | Location | Purchase | BillPayment, Field(discriminator="kind")
]


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[PhoneEvent] = Field(min_length=1)


EVENT_LIST: TypeAdapter[list[PhoneEvent]] = TypeAdapter(list[PhoneEvent])


class BatchTooLarge(InvalidInput):
    code = "batch_too_large"
    status = 413
    title = "Too many events in one batch"


class EventOutOfRange(InvalidInput):
    code = "event_time_out_of_range"


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int


def day_number(moment: datetime) -> int:
    """Days since 1970-01-01 of the UTC date of ``moment``: the feature windows' clock."""
    return (moment.astimezone(UTC).date() - EPOCH).days


def _payload(event: Any) -> dict[str, Any]:
    fields = event.model_dump(mode="json", exclude={"event_id", "kind"})
    if event.kind == "location":  # coarse: about 1 km
        fields["lat"], fields["lon"] = round(event.lat, 2), round(event.lon, 2)
    return dict(fields)


def check_batch(events: Sequence[Any], *, now: datetime) -> None:
    """The rules a batch must meet before anything is looked up (pure)."""
    if len(events) > MAX_EVENTS:
        raise BatchTooLarge(
            f"a batch holds at most {MAX_EVENTS} events; this one has {len(events)}: "
            "split it and send the parts (nothing was stored)",
            limit=MAX_EVENTS,
            received=len(events),
        )
    for index, event in enumerate(events):
        if event.at > now + CLOCK_SKEW or event.at < now - MAX_AGE:
            raise EventOutOfRange(
                f"event {index} ({event.event_id!r}) is dated {event.at.isoformat()}, outside "
                f"the last {MAX_AGE.days} days: fix the phone's clock (nothing was stored)",
                index=index,
            )


def ingest(
    connection: Connection,
    key: CreditKey,
    user_id: int,
    events: Sequence[Any],
    *,
    now: datetime,
) -> IngestResult:
    """Store a batch, all or nothing; answers how many were new and how many were repeats."""
    check_batch(events, now=now)
    require_consent(connection, user_id, (event.kind for event in events))
    keyed: dict[bytes, Any] = {}
    for event in events:  # the first of repeated ids within the batch wins
        keyed.setdefault(blind_index(key, event.event_id), event)
    stored = set(
        connection.execute(
            select(credit_raw_events.c.event_key).where(
                credit_raw_events.c.user_id == user_id,
                credit_raw_events.c.event_key.in_(list(keyed)),
            )
        ).scalars()
    )
    rows = [
        {
            "user_id": user_id,
            "event_key": event_key,
            "kind": event.kind,
            "purpose": EVENT_PURPOSE[event.kind],
            "day": day_number(event.at),
            "received_at": now,
            "payload": seal(
                key, json.dumps(_payload(event), sort_keys=True).encode(), user_id=user_id
            ),
        }
        for event_key, event in keyed.items()
        if event_key not in stored
    ]
    if rows:
        connection.execute(insert(credit_raw_events), rows)
    return IngestResult(accepted=len(rows), duplicates=len(events) - len(rows))


@dataclass(frozen=True, slots=True)
class RawEvent:
    id: int
    kind: str
    purpose: str
    day: int
    fields: dict[str, Any]


def read_raw(
    connection: Connection,
    key: CreditKey,
    user_id: int,
    *,
    actor: Actor,
    now: datetime,
    why: str,
    kinds: Sequence[str] | None = None,
) -> list[RawEvent]:
    """A user's raw events, opened; the read itself is written to the audit log.

    Run it in a write transaction: the audit row commits with the read or not at all.
    """
    query = (
        select(credit_raw_events)
        .where(credit_raw_events.c.user_id == user_id)
        .order_by(credit_raw_events.c.id)
    )
    if kinds is not None:
        query = query.where(credit_raw_events.c.kind.in_(list(kinds)))
    found = [
        RawEvent(
            row.id,
            row.kind,
            row.purpose,
            row.day,
            json.loads(open_sealed(key, row.payload, user_id=user_id)),
        )
        for row in connection.execute(query)
    ]
    record(
        connection,
        actor,
        "credit.raw_read",
        now=now,
        object_type="credit_user",
        object_id=user_id,
        detail={"why": why, "kinds": sorted(kinds) if kinds else "all", "rows": len(found)},
    )
    return found


def erase_raw(connection: Connection, user_id: int, *, actor: Actor, now: datetime) -> int:
    """Delete all of a user's raw events now, at their request; the audit log keeps the fact."""
    deleted = connection.execute(
        delete(credit_raw_events).where(credit_raw_events.c.user_id == user_id)
    ).rowcount
    record(connection, actor, "credit.raw_erased", now=now, object_type="credit_user",
           object_id=user_id, detail={"events": deleted})  # fmt: skip
    return int(deleted)
