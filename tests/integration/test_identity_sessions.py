"""Sign-up, sign-in, lock-out, sessions and the audit log on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from huoqi.audit.log import Actor, read, record
from huoqi.audit.tables import audit_log
from huoqi.db.engine import make_engine, read_transaction, write_transaction
from huoqi.errors import HuoqiError
from huoqi.identity import service as identity
from huoqi.identity.service import (
    AccountLocked,
    NewSession,
    PhoneTaken,
    SessionExpired,
    Unauthenticated,
    WrongCredentials,
)
from huoqi.identity.tables import users

T0 = datetime(2025, 6, 5, 2, 0, tzinfo=UTC)
PHONE, PASSWORD = "13800138000", "walk-in-park-42"


@pytest.fixture
def engine(db_url: str) -> Engine:
    return make_engine(db_url)


def _sign_up(engine: Engine) -> identity.User:
    with write_transaction(engine) as connection:
        return identity.sign_up(connection, phone=PHONE, password=PASSWORD, now=T0)


def _attempt(engine: Engine, password: str, at: datetime) -> NewSession | HuoqiError:
    with write_transaction(engine) as connection:
        return identity.attempt_sign_in(
            connection, phone=PHONE, password=password, kind="bearer", address="10.0.0.1", now=at
        )


def test_a_phone_number_signs_up_once(engine: Engine) -> None:
    _sign_up(engine)
    with pytest.raises(PhoneTaken), write_transaction(engine) as connection:
        identity.sign_up(connection, phone="+86 138 0013 8000", password=PASSWORD, now=T0)
    with read_transaction(engine) as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == 1


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(engine: Engine) -> None:
    _sign_up(engine)
    for n in range(4):
        outcome = _attempt(engine, "wrong-password", T0 + timedelta(seconds=n))
        assert isinstance(outcome, WrongCredentials)
        assert f"{4 - n} attempts left" in outcome.detail
    locked = _attempt(engine, "wrong-password", T0 + timedelta(seconds=5))
    assert isinstance(locked, AccountLocked)
    during = _attempt(engine, PASSWORD, T0 + timedelta(minutes=14))
    assert isinstance(during, AccountLocked)
    assert during.context["retry_after"] > 0
    after = _attempt(engine, PASSWORD, T0 + timedelta(minutes=16))
    assert isinstance(after, NewSession)
    # the counter starts again after a success
    assert isinstance(_attempt(engine, "wrong", T0 + timedelta(minutes=17)), WrongCredentials)


def test_an_unknown_phone_gets_the_same_answer_as_a_wrong_password(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        outcome = identity.attempt_sign_in(
            connection, phone="13900000000", password=PASSWORD, kind="bearer", address="",
            now=T0,
        )  # fmt: skip
    assert isinstance(outcome, WrongCredentials)


def test_sessions_expire_and_sign_out_ends_them(engine: Engine) -> None:
    _sign_up(engine)
    new = _attempt(engine, PASSWORD, T0)
    assert isinstance(new, NewSession)
    with read_transaction(engine) as connection:
        assert identity.authenticate(connection, new.token, now=T0).user.phone == "8613800138000"
        with pytest.raises(SessionExpired):
            identity.authenticate(connection, new.token, now=new.expires_at)
        with pytest.raises(Unauthenticated):
            identity.authenticate(connection, new.token + "x", now=T0)
    with write_transaction(engine) as connection:
        identity.sign_out(connection, new.principal.session_id, now=T0)
    with read_transaction(engine) as connection, pytest.raises(Unauthenticated):
        identity.authenticate(connection, new.token, now=T0)


def test_changing_the_password_signs_out_every_other_session(engine: Engine) -> None:
    _sign_up(engine)
    phone_session = _attempt(engine, PASSWORD, T0)
    laptop_session = _attempt(engine, PASSWORD, T0)
    assert isinstance(phone_session, NewSession) and isinstance(laptop_session, NewSession)
    with write_transaction(engine) as connection:
        identity.change_password(
            connection, phone_session.principal, current=PASSWORD, new="another-walk-43", now=T0
        )
    with read_transaction(engine) as connection:
        assert identity.authenticate(connection, phone_session.token, now=T0)
        with pytest.raises(Unauthenticated):
            identity.authenticate(connection, laptop_session.token, now=T0)
    assert isinstance(_attempt(engine, PASSWORD, T0), WrongCredentials)
    assert isinstance(_attempt(engine, "another-walk-43", T0), NewSession)


def test_a_wrong_current_password_changes_nothing(engine: Engine) -> None:
    _sign_up(engine)
    session = _attempt(engine, PASSWORD, T0)
    assert isinstance(session, NewSession)
    with pytest.raises(WrongCredentials), write_transaction(engine) as connection:
        identity.change_password(
            connection, session.principal, current="not-it-at-all", new="another-walk-43", now=T0
        )
    assert isinstance(_attempt(engine, PASSWORD, T0), NewSession)


def test_the_audit_log_is_append_only_in_the_database(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        record(connection, Actor(7, "operator", "10.0.0.2"), "income.import", now=T0,
               object_type="fund", object_id="HQ001", detail={"rows": 3})  # fmt: skip
    for statement in ("UPDATE audit_log SET outcome = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), write_transaction(engine) as connection:
            connection.execute(text(statement))
    with read_transaction(engine) as connection:
        rows = read(connection)
        assert connection.execute(select(func.count()).select_from(audit_log)).scalar_one() == 1
    assert rows[0].outcome == "ok" and rows[0].detail == {"rows": 3}
    assert rows[0].actor_id == 7 and rows[0].address == "10.0.0.2"
