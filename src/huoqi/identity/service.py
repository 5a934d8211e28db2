"""Sign-up, sign-in, sessions, sign-out and password change.

Functions take a connection and never commit; the HTTP layer owns the transaction. A
failed sign-in must still count against the account even though the request fails, so
`attempt_sign_in` returns the refusal as a value for the caller to raise after commit.

Lock-out: `MAX_FAILURES` wrong passwords in a row lock the account for `LOCK_TIME`; a
correct password during the lock is refused too, and the counter starts again after it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, insert, select, update

from huoqi.errors import Conflict, HuoqiError, NotFound
from huoqi.identity.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from huoqi.identity.phones import parse_phone
from huoqi.identity.tables import ROLES, sessions, users

MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=15)
LIFETIME = {"cookie": timedelta(hours=12), "bearer": timedelta(days=30)}
SessionKind = Literal["cookie", "bearer"]


class Unauthenticated(HuoqiError):
    code = "unauthenticated"
    status = 401
    title = "Sign-in required"


class SessionExpired(Unauthenticated):
    code = "session_expired"
    title = "Session expired"


class WrongCredentials(Unauthenticated):
    code = "wrong_credentials"
    title = "Wrong phone number or password"


class AccountLocked(HuoqiError):
    code = "account_locked"
    status = 423
    title = "Account locked"


class PhoneTaken(Conflict):
    code = "phone_taken"
    title = "Phone number already registered"


class Forbidden(HuoqiError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class UnknownUser(NotFound):
    code = "unknown_user"
    title = "Unknown user"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    phone: str
    role: str
    display_name: str
    customer_ref: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, from a valid session."""

    user: User
    session_id: int
    kind: SessionKind


@dataclass(frozen=True, slots=True)
class NewSession:
    principal: Principal
    token: str
    expires_at: datetime


def _user(row: Any) -> User:
    return User(
        row.id, row.phone, row.role, row.display_name, row.customer_ref, _utc(row.created_at)
    )


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def sign_up(
    connection: Connection,
    *,
    phone: str,
    password: str,
    now: datetime,
    role: str = "customer",
    display_name: str = "",
    customer_ref: str | None = None,
) -> User:
    stored = parse_phone(phone)
    check_new_password(password, phone=stored)
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if connection.execute(select(users.c.id).where(users.c.phone == stored)).first():
        raise PhoneTaken("this phone number already has an account: sign in instead")
    user_id = connection.execute(
        insert(users)
        .values(
            phone=stored,
            password_hash=hash_password(password),
            role=role,
            display_name=display_name.strip()[:60],
            customer_ref=customer_ref,
            created_at=now,
            password_changed_at=now,
        )
        .returning(users.c.id)
    ).scalar_one()
    return get_user(connection, user_id)


def link_customer(connection: Connection, user_id: int, customer_ref: str) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(customer_ref=customer_ref))


def get_user(connection: Connection, user_id: int) -> User:
    row = connection.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise UnknownUser(f"user {user_id} does not exist")
    return _user(row)


def find_user_by_phone(connection: Connection, phone: str) -> User | None:
    row = connection.execute(select(users).where(users.c.phone == parse_phone(phone))).first()
    return _user(row) if row else None


def attempt_sign_in(
    connection: Connection,
    *,
    phone: str,
    password: str,
    kind: SessionKind,
    address: str,
    now: datetime,
) -> NewSession | HuoqiError:
    """A new session, or the refusal (after counting the failure against the account)."""
    stored = parse_phone(phone)
    row = connection.execute(select(users).where(users.c.phone == stored)).first()
    if row is None:
        verify_password(None, password)  # same work as a wrong password
        return WrongCredentials("the phone number or the password is wrong")
    locked_until = _utc(row.locked_until) if row.locked_until else None
    if locked_until is not None and locked_until > now:
        return AccountLocked(
            f"too many wrong passwords: try again after {locked_until:%H:%M} UTC",
            retry_after=int((locked_until - now).total_seconds()) + 1,
        )
    if not verify_password(row.password_hash, password):
        failures = (0 if locked_until else row.failed_sign_ins) + 1
        lock = now + LOCK_TIME if failures >= MAX_FAILURES else None
        connection.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(failed_sign_ins=0 if lock else failures, locked_until=lock)
        )
        if lock is not None:
            return AccountLocked(
                f"{MAX_FAILURES} wrong passwords in a row: the account is locked for "
                f"{LOCK_TIME.seconds // 60} minutes",
                retry_after=int(LOCK_TIME.total_seconds()),
            )
        return WrongCredentials(
            f"the phone number or the password is wrong ({MAX_FAILURES - failures} "
            "attempts left before a 15-minute lock)"
        )
    values: dict[str, Any] = {"failed_sign_ins": 0, "locked_until": None}
    if needs_rehash(row.password_hash):
        values["password_hash"] = hash_password(password)
    connection.execute(update(users).where(users.c.id == row.id).values(**values))
    return open_session(connection, _user(row), kind=kind, address=address, now=now)


def open_session(
    connection: Connection, user: User, *, kind: SessionKind, address: str, now: datetime
) -> NewSession:
    token = secrets.token_urlsafe(32)
    expires_at = now + LIFETIME[kind]
    session_id = connection.execute(
        insert(sessions)
        .values(
            token_hash=token_hash(token),
            user_id=user.id,
            kind=kind,
            created_at=now,
            expires_at=expires_at,
            address=address[:64],
        )
        .returning(sessions.c.id)
    ).scalar_one()
    return NewSession(Principal(user, session_id, kind), token, expires_at)


# Every request runs this: built once, so only its parameter changes.
_SESSION = (
    select(
        sessions.c.id.label("session_id"),
        sessions.c.kind,
        sessions.c.expires_at,
        sessions.c.revoked_at,
        users,
    )
    .join(users, users.c.id == sessions.c.user_id)
    .where(sessions.c.token_hash == bindparam("token_hash"))
)


def authenticate(connection: Connection, token: str, *, now: datetime) -> Principal:
    row = connection.execute(_SESSION, {"token_hash": token_hash(token)}).first()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("sign in first: this session is unknown or signed out")
    if _utc(row.expires_at) <= now:
        raise SessionExpired("your session has expired: sign in again")
    return Principal(_user(row), row.session_id, row.kind)


def sign_out(connection: Connection, session_id: int, *, now: datetime) -> None:
    connection.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def change_password(
    connection: Connection, principal: Principal, *, current: str, new: str, now: datetime
) -> None:
    """Change the password and sign out every other session of the user."""
    row = connection.execute(select(users).where(users.c.id == principal.user.id)).one()
    if not verify_password(row.password_hash, current):
        raise WrongCredentials("the current password is wrong")
    check_new_password(new, phone=row.phone)
    if new == current:
        raise WrongCredentials("the new password is the same as the current one")
    connection.execute(
        update(users)
        .where(users.c.id == row.id)
        .values(password_hash=hash_password(new), password_changed_at=now)
    )
    connection.execute(
        update(sessions)
        .where(
            sessions.c.user_id == row.id,
            sessions.c.id != principal.session_id,
            sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
