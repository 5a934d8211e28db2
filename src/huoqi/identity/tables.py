"""Tables of identity and access: people who sign in, and their sessions.

* ``users``: one row per person, with a mainland mobile number, an argon2id password hash,
  one role, and the failure counter and lock that stop password guessing;
* ``sessions``: signed-in sessions. A session's secret is given to the client once (a
  cookie for the web app, a bearer token for API clients) and only its SHA-256 is stored,
  so a copy of the database signs no one in.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Table,
)

from huoqi.db.metadata import Id, metadata

ROLES = ("customer", "merchant", "operator", "auditor")

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("phone", String(16), nullable=False, unique=True, comment="E.164 without +, 86..."),
    Column("password_hash", String(200), nullable=False, comment="argon2id, PHC string"),
    Column("role", String(12), nullable=False),
    Column("display_name", String(60), nullable=False, server_default=""),
    Column("customer_ref", String(64), nullable=True, unique=True, comment="holders.customer_ref"),
    Column("failed_sign_ins", SmallInteger, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("role IN ('customer', 'merchant', 'operator', 'auditor')", name="role_known"),
    CheckConstraint("failed_sign_ins >= 0", name="failures_not_negative"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True, comment="SHA-256"),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("address", String(64), nullable=False, server_default=""),
    CheckConstraint("kind IN ('cookie', 'bearer')", name="kind_known"),
    Index("ix_sessions_user_id", "user_id"),
)
