"""Ingestion: validated, de-duplicated by event id, size-limited, sealed at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from huoqi.audit.log import Actor
from huoqi.credit import consent, events
from huoqi.credit.crypto import SealBroken, new_key, open_sealed, parse_key
from huoqi.credit.tables import credit_raw_events
from huoqi.db.engine import write_transaction
from huoqi.identity import service as identity

T0 = datetime(2025, 6, 5, 2, 0, tzinfo=UTC)
KEY = parse_key(new_key())


@pytest.fixture
def user(engine: Engine) -> int:
    with write_transaction(engine) as connection:
        found = identity.sign_up(
            connection, phone="13600000001", password="a good long password 7", now=T0
        ).id
        for purpose in consent.PURPOSES:
            consent.grant(
                connection, found, purpose, policy_version=1, now=T0, actor=Actor(found, "c")
            )
    return found


def _purchases(ids: list[str], amount: int = 999) -> list[Any]:
    at = (T0 - timedelta(days=1)).isoformat()
    return events.EVENT_LIST.validate_python(
        [
            {
                "kind": "purchase",
                "event_id": event_id,
                "at": at,
                "amount_fen": amount,
                "merchant_category": "electronics",
                "merchant": "Xiaomi Mall Wudaokou",
            }
            for event_id in ids
        ]
    )


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(credit_raw_events).order_by(credit_raw_events.c.id)))


def _ingest(engine: Engine, user: int, batch: list[Any]) -> events.IngestResult:
    with write_transaction(engine) as connection:
        return events.ingest(connection, KEY, user, batch, now=T0)


def test_events_are_deduplicated_by_event_id(engine: Engine, user: int) -> None:
    first = _ingest(engine, user, _purchases(["e1", "e2", "e2"]))
    assert (first.accepted, first.duplicates) == (2, 1)
    again = _ingest(engine, user, _purchases(["e2", "e3"]))
    assert (again.accepted, again.duplicates) == (1, 1)
    assert len(_rows(engine)) == 3


def test_identifiers_and_values_are_sealed_at_rest(engine: Engine, user: int) -> None:
    _ingest(engine, user, _purchases(["order-4711"], amount=123456))
    [row] = _rows(engine)
    assert (row.kind, row.purpose, row.day) == ("purchase", "financial_data", 20243)
    for clear in (b"order-4711", b"123456", b"Wudaokou", b"electronics"):
        assert clear not in row.payload and clear not in row.event_key
    opened = open_sealed(KEY, row.payload, user_id=user)
    assert b"123456" in opened and b"Wudaokou" in opened
    with pytest.raises(SealBroken):  # moved to another user's row, it no longer opens
        open_sealed(KEY, row.payload, user_id=user + 1)
    with pytest.raises(SealBroken):
        open_sealed(parse_key(new_key()), row.payload, user_id=user)


def test_an_oversized_batch_is_refused_whole(engine: Engine, user: int) -> None:
    batch = _purchases([f"e{n}" for n in range(events.MAX_EVENTS + 1)])
    with pytest.raises(events.BatchTooLarge) as refused:
        _ingest(engine, user, batch)
    assert refused.value.status == 413
    assert f"at most {events.MAX_EVENTS}" in refused.value.detail
    assert _rows(engine) == []
    assert _ingest(engine, user, batch[: events.MAX_EVENTS]).accepted == events.MAX_EVENTS


def test_events_from_a_wrong_clock_are_refused_whole(engine: Engine, user: int) -> None:
    batch = _purchases(["ok"])
    late = batch[0].model_copy(update={"event_id": "future", "at": T0 + timedelta(hours=2)})
    with pytest.raises(events.EventOutOfRange):
        _ingest(engine, user, [*batch, late])
    assert _rows(engine) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "contacts", "event_id": "x", "at": "2025-06-01T00:00:00Z"},
        {"kind": "purchase", "event_id": "x", "at": "2025-06-01T00:00:00Z", "amount_fen": 0,
         "merchant_category": "other"},
        {"kind": "purchase", "event_id": "x", "at": "2025-06-01T00:00:00Z", "amount_fen": 5,
         "merchant_category": "other", "card_number": "6222"},
        {"kind": "app_session", "event_id": "x", "at": "2025-06-01T00:00:00", "minutes": 3,
         "app_category": "games"},
        {"kind": "location", "event_id": "", "at": "2025-06-01T00:00:00Z", "lat": 1, "lon": 2},
        {"kind": "location", "event_id": "x", "at": "2025-06-01T00:00:00Z", "lat": 91, "lon": 2},
    ],
)  # fmt: skip
def test_malformed_events_do_not_validate(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        events.EVENT_LIST.validate_python([bad])


def test_the_demo_runs_on_a_public_key_and_production_needs_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huoqi.credit.crypto import DEMO_MASTER, CreditKey, CreditKeyMissing, key_from_env

    monkeypatch.delenv("HUOQI_CREDIT_KEY", raising=False)
    for name in ("HUOQI_DEMO_SETUP", "HUOQI_DEMO_CLOCK", "HUOQI_DEMO_CLOCK_START"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CreditKeyMissing, match="HUOQI_CREDIT_KEY"):
        key_from_env()
    for name, value in (("HUOQI_DEMO_SETUP", "1"), ("HUOQI_DEMO_CLOCK_START", "2025-06-05")):
        with monkeypatch.context() as demo:
            demo.setenv(name, value)
            assert key_from_env() == CreditKey.from_master(DEMO_MASTER)
    monkeypatch.setenv("HUOQI_DEMO_SETUP", "1")
    mine = new_key()
    monkeypatch.setenv("HUOQI_CREDIT_KEY", mine)
    assert key_from_env() == parse_key(mine) != CreditKey.from_master(DEMO_MASTER)
    monkeypatch.setenv("HUOQI_CREDIT_KEY", "too short")
    with pytest.raises(CreditKeyMissing):
        key_from_env()
