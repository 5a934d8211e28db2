"""The audit log: one append-only row per sign-in attempt and per state change.

Who (user id and role, or a named system actor such as the bank or the close), what (an
action name and the object it touched), when (UTC), from which address, and whether it
succeeded. The database refuses UPDATE and DELETE on it, as it does on the ledger's
entries.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from huoqi.db.metadata import Id, metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", Id, nullable=True, comment="users.id; NULL for system actors"),
    Column("actor", String(40), nullable=False, comment="role, or the system actor's name"),
    Column("action", String(60), nullable=False),
    Column("object_type", String(30), nullable=False, server_default=""),
    Column("object_id", String(64), nullable=False, server_default=""),
    Column("outcome", String(12), nullable=False),
    Column("address", String(64), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default="{}", comment="JSON"),
    Index("ix_audit_log_actor_id", "actor_id", "id"),
)
