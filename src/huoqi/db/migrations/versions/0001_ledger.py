"""The double-entry ledger: assets, accounts with balance rules, entries, postings, holds.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from huoqi.db.migrations.ledger_guards import create_guards, drop_guards, initial_rows

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("scale", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_assets_code_not_empty")),
        sa.CheckConstraint("scale >= 0 AND scale <= 8", name=op.f("ck_assets_scale_range")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_assets")),
    )
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state")),
    )
    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("asset", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column(
            "overdraft_limit",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="minor units",
        ),
        sa.Column(
            "debits_posted",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="minor units",
        ),
        sa.Column(
            "credits_posted",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="minor units",
        ),
        sa.Column(
            "debits_pending",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="minor units",
        ),
        sa.Column(
            "credits_pending",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="minor units",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('asset', 'liability', 'equity', 'income', 'expense')",
            name=op.f("ck_accounts_kind_known"),
        ),
        sa.CheckConstraint(
            "rule <> 'credits_must_not_exceed_debits' OR credits_posted + credits_pending <= debits_posted + overdraft_limit",
            name=op.f("ck_accounts_credits_within_debits"),
        ),
        sa.CheckConstraint(
            "rule <> 'debits_must_not_exceed_credits' OR debits_posted + debits_pending <= credits_posted + overdraft_limit",
            name=op.f("ck_accounts_debits_within_credits"),
        ),
        sa.CheckConstraint(
            "rule IN ('unlimited', 'debits_must_not_exceed_credits', 'credits_must_not_exceed_debits')",
            name=op.f("ck_accounts_rule_known"),
        ),
        sa.CheckConstraint(
            "overdraft_limit >= 0 AND debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
            name=op.f("ck_accounts_totals_non_negative"),
        ),
        sa.ForeignKeyConstraint(["asset"], ["assets.code"], name=op.f("fk_accounts_asset_assets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_code")),
    )
    op.create_table(
        "holds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=16), nullable=False),
        sa.Column(
            "debit_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "credit_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="minor units"),
        sa.Column("memo", sa.String(length=500), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_amount", sa.BigInteger(), nullable=True, comment="minor units"),
        sa.CheckConstraint(
            "(status = 'posted') = (posted_amount IS NOT NULL) AND (posted_amount IS NULL OR (posted_amount > 0 AND posted_amount <= amount))",
            name=op.f("ck_holds_posted_amount_fits"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'posted', 'voided', 'expired')",
            name=op.f("ck_holds_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_holds_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name=op.f("ck_holds_two_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"], ["accounts.id"], name=op.f("fk_holds_credit_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"], ["accounts.id"], name=op.f("fk_holds_debit_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_holds_idempotency_key")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_holds_pending_expiry",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("memo", sa.String(length=500), server_default="", nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "reverses_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("hold_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("length(idempotency_key) > 0", name=op.f("ck_entries_key_not_empty")),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_entries_hold_id_holds")),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"], ["entries.id"], name=op.f("fk_entries_reverses_entry_id_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_entries_idempotency_key")),
    )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        for column in ("reverses_entry_id", "hold_id"):
            batch_op.create_index(
                f"uq_entries_{column}",
                [column],
                unique=True,
                sqlite_where=sa.text(f"{column} IS NOT NULL"),
                postgresql_where=sa.text(f"{column} IS NOT NULL"),
            )

    op.create_table(
        "postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="minor units; debit positive"),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_postings_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_postings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name=op.f("fk_postings_entry_id_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
    )
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_postings_entry_id", ["entry_id", "id"], unique=False)

    create_guards(op.get_bind())
    initial_rows(op.get_bind())


def downgrade() -> None:
    drop_guards(op.get_bind())
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index("ix_postings_entry_id")
        batch_op.drop_index("ix_postings_account_id_id")

    op.drop_table("postings")
    op.drop_table("entries")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_holds_pending_expiry",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.drop_table("holds")
    op.drop_table("accounts")
    op.drop_table("ledger_state")
    op.drop_table("assets")
