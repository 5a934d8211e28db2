"""Consent stories: no consent → refused; revoke → no more collection, raw data gone after
the retention period; every read of raw data logged. Real SQLite (and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from huoqi.audit.log import Actor
from huoqi.audit.log import read as read_audit
from huoqi.credit import consent, events, retention
from huoqi.credit.crypto import new_key, parse_key
from huoqi.credit.tables import credit_consent_policies, credit_raw_events
from huoqi.db.engine import write_transaction
from huoqi.identity import service as identity

T0 = datetime(2025, 6, 5, 2, 0, tzinfo=UTC)
KEY = parse_key(new_key())
ME = Actor(None, "customer")
SENT = count()  # event ids never repeat across examples


def _user(engine: Engine, phone: str = "13600000001") -> int:
    with write_transaction(engine) as connection:
        return identity.sign_up(
            connection, phone=phone, password="a good long password 7", now=T0
        ).id


def _grant(engine: Engine, user: int, *purposes: str, now: datetime = T0) -> None:
    with write_transaction(engine) as connection:
        for purpose in purposes:
            consent.grant(connection, user, purpose, policy_version=1, now=now, actor=ME)


def _revoke(engine: Engine, user: int, purpose: str, now: datetime) -> None:
    with write_transaction(engine) as connection:
        consent.revoke(connection, user, purpose, now=now, actor=ME)


def _batch(prefix: str, now: datetime = T0) -> list[Any]:
    at = (now - timedelta(hours=1)).isoformat()
    return events.EVENT_LIST.validate_python(
        [
            {"kind": "device", "event_id": f"{prefix}d", "at": at, "device_id": "IMEI-1"},
            {"kind": "location", "event_id": f"{prefix}l", "at": at, "lat": 39.9042, "lon": 116.4},
            {"kind": "app_session", "event_id": f"{prefix}a", "at": at, "app_category": "loan",
             "minutes": 5},
            {"kind": "purchase", "event_id": f"{prefix}p", "at": at, "amount_fen": 1234,
             "merchant_category": "groceries"},
        ]
    )  # fmt: skip


def _ingest(engine: Engine, user: int, batch: list[Any], now: datetime = T0) -> Any:
    with write_transaction(engine) as connection:
        return events.ingest(connection, KEY, user, batch, now=now)


def _stored(engine: Engine, user: int) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(credit_raw_events.c.purpose, func.count())
            .where(credit_raw_events.c.user_id == user)
            .group_by(credit_raw_events.c.purpose)
        )
        return {row[0]: row[1] for row in rows}


def test_without_consent_nothing_is_collected(engine: Engine) -> None:
    user = _user(engine)
    with pytest.raises(consent.ConsentRequired) as refused:
        _ingest(engine, user, _batch("a"))
    assert refused.value.context["missing"]["location"] == ["credit_assessment", "location"]
    assert _stored(engine, user) == {}
    # one purpose short still refuses the whole batch
    _grant(engine, user, "credit_assessment", "app_usage", "financial_data")
    with pytest.raises(consent.ConsentRequired) as refused:
        _ingest(engine, user, _batch("a"))
    assert refused.value.context["missing"] == {"location": ["location"]}
    assert _stored(engine, user) == {}
    _grant(engine, user, "location")
    assert _ingest(engine, user, _batch("a")).accepted == 4
    assert _stored(engine, user) == {
        "credit_assessment": 1,
        "location": 1,
        "app_usage": 1,
        "financial_data": 1,
    }


def test_a_grant_is_tied_to_the_stored_policy_text(engine: Engine) -> None:
    user = _user(engine)
    _grant(engine, user, "location")
    _grant(engine, user, "location")  # granting twice changes nothing
    with engine.connect() as connection:
        [state] = [s for s in consent.states(connection, user) if s.purpose == "location"]
        policy = connection.execute(select(credit_consent_policies)).one()
    assert state.granted and state.policy_version == 1 and state.granted_at == T0
    assert policy.purpose == "location" and "1 km" in policy.text_en and "位置" in policy.text_zh
    with write_transaction(engine) as connection, pytest.raises(consent.PolicyChanged):
        consent.grant(connection, user, "app_usage", policy_version=7, now=T0, actor=ME)
    with write_transaction(engine) as connection, pytest.raises(consent.UnknownPurpose):
        consent.grant(connection, user, "contacts", policy_version=1, now=T0, actor=ME)
    with write_transaction(engine) as connection, pytest.raises(consent.NoConsent):
        consent.revoke(connection, user, "app_usage", now=T0, actor=ME)


def test_revocation_stops_collection_and_retention_deletes_the_raw_data(engine: Engine) -> None:
    user, other = _user(engine), _user(engine, "13600000002")
    for who in (user, other):
        _grant(engine, who, *consent.PURPOSES)
        _ingest(engine, who, _batch("first"))
    revoked_at = T0 + timedelta(days=1)
    _revoke(engine, user, "location", revoked_at)
    later = revoked_at + timedelta(hours=1)
    with pytest.raises(consent.ConsentRequired):
        _ingest(engine, user, _batch("second", later), later)
    # the other purposes still collect
    still = [e for e in _batch("third", later) if e.kind != "location"]
    assert _ingest(engine, user, still, later).accepted == 3
    # within the retention period the data stays
    with write_transaction(engine) as connection:
        early = revoked_at + retention.RETENTION - timedelta(seconds=1)
        assert retention.delete_expired(connection, now=early) == []
    assert _stored(engine, user)["location"] == 1
    with write_transaction(engine) as connection:
        done = retention.delete_expired(connection, now=revoked_at + retention.RETENTION)
    assert [(d.user_id, d.purpose, d.events_deleted) for d in done] == [(user, "location", 1)]
    assert "location" not in _stored(engine, user)
    assert _stored(engine, user)["app_usage"] == 2
    assert _stored(engine, other)["location"] == 1  # someone else's data is untouched
    with write_transaction(engine) as connection:  # a rerun deletes nothing more
        assert retention.delete_expired(connection, now=revoked_at + timedelta(days=90)) == []
        logged = read_audit(connection, action="credit.raw_deleted")
    assert [row.detail["purpose"] for row in logged] == ["location"]


def test_revoking_credit_assessment_deletes_everything_but_a_regrant_keeps_it(
    engine: Engine,
) -> None:
    user, back = _user(engine), _user(engine, "13600000002")
    for who in (user, back):
        _grant(engine, who, *consent.PURPOSES)
        _ingest(engine, who, _batch("a"))
        _revoke(engine, who, "credit_assessment", T0)
    _grant(engine, back, "credit_assessment", now=T0 + timedelta(days=2))
    with write_transaction(engine) as connection:
        done = retention.delete_expired(connection, now=T0 + timedelta(days=31))
    assert [d.user_id for d in done] == [user]
    assert _stored(engine, user) == {}
    assert sum(_stored(engine, back).values()) == 4


def test_every_read_of_raw_data_is_logged(engine: Engine) -> None:
    user = _user(engine)
    _grant(engine, user, *consent.PURPOSES)
    _ingest(engine, user, _batch("a"))
    reader = Actor(77, "operator", "10.0.0.9")
    with write_transaction(engine) as connection:
        found = events.read_raw(
            connection, KEY, user, actor=reader, now=T0, why="review 5", kinds=["location"]
        )
    assert [(e.kind, e.fields["lat"], e.fields["lon"]) for e in found] == [
        ("location", 39.9, 116.4)  # coarsened before it was sealed
    ]
    with write_transaction(engine) as connection:
        everything = events.read_raw(connection, KEY, user, actor=reader, now=T0, why="export")
        logged = read_audit(connection, action="credit.raw_read")
    assert len(everything) == 4
    assert [(r.actor_id, r.object_id, r.detail["why"], r.detail["rows"]) for r in logged] == [
        (77, str(user), "export", 4),
        (77, str(user), "review 5", 1),
    ]
    assert logged[0].address == "10.0.0.9"


def test_the_period_runs_from_the_last_revocation(engine: Engine) -> None:
    user = _user(engine)
    _grant(engine, user, *consent.PURPOSES)
    _ingest(engine, user, _batch("a"))
    _revoke(engine, user, "location", T0)
    _grant(engine, user, "location", now=T0 + timedelta(days=2))
    _revoke(engine, user, "location", T0 + timedelta(days=20))
    with write_transaction(engine) as connection:
        assert retention.delete_expired(connection, now=T0 + timedelta(days=49)) == []
    assert _stored(engine, user)["location"] == 1
    with write_transaction(engine) as connection:
        done = retention.delete_expired(connection, now=T0 + timedelta(days=50))
    assert [(d.purpose, d.events_deleted) for d in done] == [("location", 1)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["grant", "revoke", "send"]), st.sampled_from(consent.PURPOSES)),
        max_size=12,
    )
)
def test_collection_follows_consent_whatever_the_order(
    sqlite_engine: Engine, steps: list[tuple[str, str]]
) -> None:
    """A model of the granted set: a batch is taken exactly when its kinds' consents are all
    granted at that moment, and stores nothing otherwise."""
    with write_transaction(sqlite_engine) as connection:
        user = identity.find_user_by_phone(connection, "8613600000009")
        assert user is not None
        for state in consent.states(connection, user.id):
            if state.granted:
                consent.revoke(connection, user.id, state.purpose, now=T0, actor=ME)
    granted: set[str] = set()
    kind_of = {"credit_assessment": "device", "location": "location",
               "app_usage": "app_session", "financial_data": "purchase"}  # fmt: skip
    for step, purpose in steps:
        if step == "grant":
            _grant(sqlite_engine, user.id, purpose)
            granted.add(purpose)
        elif step == "revoke" and purpose in granted:
            _revoke(sqlite_engine, user.id, purpose, T0)
            granted.discard(purpose)
        elif step == "send":
            [event] = [e for e in _batch(f"p{next(SENT)}") if e.kind == kind_of[purpose]]
            before = sum(_stored(sqlite_engine, user.id).values())
            allowed = consent.REQUIRED[event.kind] <= granted
            if allowed:
                assert _ingest(sqlite_engine, user.id, [event]).accepted == 1
            else:
                with pytest.raises(consent.ConsentRequired):
                    _ingest(sqlite_engine, user.id, [event])
            assert sum(_stored(sqlite_engine, user.id).values()) == before + allowed


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from huoqi.db.engine import make_engine
    from huoqi.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('consent')}/huoqi.db"
    upgrade(url)
    engine = make_engine(url)
    with write_transaction(engine) as connection:
        identity.sign_up(connection, phone="13600000009", password="a good long password 7", now=T0)
    yield engine
    engine.dispose()


def test_the_daily_job_runs_from_the_command_line(sqlite_url: str) -> None:
    import json
    import os
    import subprocess
    import sys

    from huoqi.db.engine import make_engine
    from huoqi.ledger.service import utc_now

    engine = make_engine(sqlite_url)
    now = utc_now()
    user = _user(engine)
    _grant(engine, user, *consent.PURPOSES, now=now - timedelta(days=40))
    _ingest(engine, user, _batch("a", now - timedelta(days=39)), now - timedelta(days=39))
    _revoke(engine, user, "app_usage", now - timedelta(days=31))
    _revoke(engine, user, "location", now - timedelta(days=29))
    env = {**os.environ, "HUOQI_DATABASE_URL": sqlite_url}
    done = subprocess.run(
        [sys.executable, "-m", "huoqi", "credit", "retention"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "deletions": 1, "events_deleted": 1, "purposes": ["app_usage"],
    }  # fmt: skip
    assert _stored(engine, user) == {"credit_assessment": 1, "location": 1, "financial_data": 1}
    engine.dispose()
