"""Ledger tables. The database is the second guard: what must never happen is a constraint.

* every amount column is a 64-bit integer of minor units;
* an account's running totals are non-negative and its balance rule is a CHECK on its row,
  so no code path can store an overdraft the rule forbids;
* idempotency keys are unique; an entry can be reversed only once;
* an account's postings form a chain: each posting names the same account's previous
  posting and the account row names its last one. Reading an account's history walks the
  chain, so writing a posting appends to its table and to the entry index only and never
  inserts into a per-account index, whose random inserts cost most of a batch's write
  time (see docs/benchmarks.md); the deep trial balance proves the chains whole;
* entries and postings are append-only (triggers in the migration refuse UPDATE and
  DELETE), and on PostgreSQL a deferred constraint trigger refuses, at commit, any entry
  whose postings do not sum to zero per asset.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    text,
)

from huoqi.db.metadata import Id, Minor, metadata

assets = Table(
    "assets",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("scale", SmallInteger, nullable=False),
    Column("name", String(200), nullable=False, server_default=""),
    CheckConstraint("scale >= 0 AND scale <= 8", name="scale_range"),
    CheckConstraint("length(code) > 0", name="code_not_empty"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(128), nullable=False, unique=True),
    Column("asset", String(32), ForeignKey("assets.code"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("overdraft_limit", Minor, nullable=False, server_default="0", comment="minor units"),
    Column("debits_posted", Minor, nullable=False, server_default="0", comment="minor units"),
    Column("credits_posted", Minor, nullable=False, server_default="0", comment="minor units"),
    Column("debits_pending", Minor, nullable=False, server_default="0", comment="minor units"),
    Column("credits_pending", Minor, nullable=False, server_default="0", comment="minor units"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_posting_id", Id, nullable=True, comment="head of the account's posting chain"),
    CheckConstraint(
        "kind IN ('asset', 'liability', 'equity', 'income', 'expense')", name="kind_known"
    ),
    CheckConstraint(
        "rule IN ('unlimited', 'debits_must_not_exceed_credits', 'credits_must_not_exceed_debits')",
        name="rule_known",
    ),
    CheckConstraint(
        "overdraft_limit >= 0 AND debits_posted >= 0 AND credits_posted >= 0 "
        "AND debits_pending >= 0 AND credits_pending >= 0",
        name="totals_non_negative",
    ),
    CheckConstraint(
        "rule <> 'debits_must_not_exceed_credits' "
        "OR debits_posted + debits_pending <= credits_posted + overdraft_limit",
        name="debits_within_credits",
    ),
    CheckConstraint(
        "rule <> 'credits_must_not_exceed_debits' "
        "OR credits_posted + credits_pending <= debits_posted + overdraft_limit",
        name="credits_within_debits",
    ),
)

entries = Table(
    "entries",
    metadata,
    # Ids are taken in blocks by the writer (see repository.allocate_entry_ids).
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("fingerprint", LargeBinary(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("memo", String(500), nullable=False, server_default=""),
    Column("business_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reverses_entry_id", Id, ForeignKey("entries.id"), nullable=True),
    Column("hold_id", Id, ForeignKey("holds.id"), nullable=True),
    CheckConstraint("length(idempotency_key) > 0", name="key_not_empty"),
    # An entry is reversed at most once and a hold resolved by at most one entry. Partial
    # indexes: most entries are neither, and they should not pay for these indexes.
    Index(
        "uq_entries_reverses_entry_id",
        "reverses_entry_id",
        unique=True,
        sqlite_where=text("reverses_entry_id IS NOT NULL"),
        postgresql_where=text("reverses_entry_id IS NOT NULL"),
    ),
    Index(
        "uq_entries_hold_id",
        "hold_id",
        unique=True,
        sqlite_where=text("hold_id IS NOT NULL"),
        postgresql_where=text("hold_id IS NOT NULL"),
    ),
)

postings = Table(
    "postings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entry_id", Id, ForeignKey("entries.id"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("amount", Minor, nullable=False, comment="minor units; debit positive"),
    Column("business_date", Date, nullable=False),
    Column("previous_id", Id, nullable=True, comment="the account's previous posting"),
    CheckConstraint("amount <> 0", name="amount_not_zero"),
    CheckConstraint("previous_id < id", name="chain_goes_back"),
    Index("ix_postings_entry_id", "entry_id", "id"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("fingerprint", LargeBinary(16), nullable=False),
    Column("debit_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("credit_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("amount", Minor, nullable=False, comment="minor units"),
    Column("memo", String(500), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("business_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("posted_amount", Minor, nullable=True, comment="minor units"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    CheckConstraint("status IN ('pending', 'posted', 'voided', 'expired')", name="status_known"),
    CheckConstraint(
        "(status = 'posted') = (posted_amount IS NOT NULL) "
        "AND (posted_amount IS NULL OR (posted_amount > 0 AND posted_amount <= amount))",
        name="posted_amount_fits",
    ),
    Index(
        "ix_holds_pending_expiry",
        "expires_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

ledger_state = Table(
    "ledger_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("business_date", Date, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
