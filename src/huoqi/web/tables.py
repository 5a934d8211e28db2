"""The HTTP layer's own table: answers to money-moving requests, kept by idempotency key.

A client that retries a POST with the same ``Idempotency-Key`` gets the first answer again,
byte for byte; the same key with another body is refused. Keys are scoped to the user.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

from huoqi.db.metadata import Id, metadata

api_requests = Table(
    "api_requests",
    metadata,
    Column("user_id", Id, nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("route", String(120), nullable=False, comment="method and path"),
    Column("body_hash", LargeBinary(32), nullable=False, comment="SHA-256 of the body"),
    Column("status", SmallInteger, nullable=False),
    Column("response", Text, nullable=False, comment="the JSON answer"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("user_id", "idempotency_key"),
)
