"""The money-fund current account: funds, holders, rates, orders, income, the daily close.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eod_partitions",
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("step", sa.SmallInteger(), nullable=False),
        sa.Column("low_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "fund_id", "business_date", "step", "low_id", name=op.f("pk_eod_partitions")
        ),
    )
    op.create_table(
        "fund_income",
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("income_date", sa.Date(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "units", sa.BigInteger(), nullable=False, comment="shares that earned, 0.01 share"
        ),
        sa.Column("income", sa.BigInteger(), nullable=False, comment="fen, paid as shares"),
        sa.CheckConstraint("units > 0 AND income >= 0", name=op.f("ck_fund_income_amounts_sane")),
        sa.PrimaryKeyConstraint(
            "fund_id", "income_date", "account_id", name=op.f("pk_fund_income")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "instant_usage",
        sa.Column("usage_date", sa.Date(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False, comment="0 for the platform-wide quota"),
        sa.Column(
            "holder_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="0 for the platform-wide quota",
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="fen"),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_instant_usage_amount_not_negative")),
        sa.PrimaryKeyConstraint(
            "usage_date", "fund_id", "holder_id", name=op.f("pk_instant_usage")
        ),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "funds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manager", sa.String(length=200), server_default="", nullable=False),
        sa.Column("carry", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("share_asset", sa.String(length=32), nullable=False),
        sa.Column(
            "issued_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "pending_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "advance_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("carry IN ('daily', 'monthly')", name=op.f("ck_funds_carry_known")),
        sa.CheckConstraint(
            "status IN ('open', 'suspended', 'closed')", name=op.f("ck_funds_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["advance_account_id"],
            ["accounts.id"],
            name=op.f("fk_funds_advance_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_account_id"], ["accounts.id"], name=op.f("fk_funds_issued_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["pending_account_id"],
            ["accounts.id"],
            name=op.f("fk_funds_pending_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["share_asset"], ["assets.code"], name=op.f("fk_funds_share_asset_assets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funds")),
        sa.UniqueConstraint("code", name=op.f("uq_funds_code")),
        sa.UniqueConstraint("share_asset", name=op.f("uq_funds_share_asset")),
    )
    op.create_table(
        "eod_runs",
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "plan", sa.Text(), nullable=True, comment="JSON: the day's income allocation plan"
        ),
        sa.Column("report", sa.Text(), nullable=True, comment="JSON: the day's reports"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'closed')", name=op.f("ck_eod_runs_status_known")
        ),
        sa.ForeignKeyConstraint(["fund_id"], ["funds.id"], name=op.f("fk_eod_runs_fund_id_funds")),
        sa.PrimaryKeyConstraint("fund_id", "business_date", name=op.f("pk_eod_runs")),
    )
    op.create_table(
        "fund_rates",
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("rate_date", sa.Date(), nullable=False),
        sa.Column(
            "rate_e4", sa.BigInteger(), nullable=False, comment="CNY per 10,000 shares x 10^4"
        ),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate_e4 >= 0", name=op.f("ck_fund_rates_rate_not_negative")),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_fund_rates_fund_id_funds")
        ),
        sa.PrimaryKeyConstraint("fund_id", "rate_date", name=op.f("pk_fund_rates")),
    )
    op.create_table(
        "holders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["fund_id"], ["funds.id"], name=op.f("fk_holders_fund_id_funds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holders")),
        sa.UniqueConstraint("customer_ref", name=op.f("uq_holders_customer_ref")),
    )
    op.create_table(
        "fund_orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "holder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "amount",
            sa.BigInteger(),
            nullable=False,
            comment="fen, equal to share units at NAV 1.00",
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("confirm_date", sa.Date(), nullable=False),
        sa.Column("payout_date", sa.Date(), nullable=True),
        sa.Column("hold_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("bank_reference", sa.String(length=64), nullable=True),
        sa.Column(
            "switch_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("note", sa.String(length=300), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('purchase', 'redemption', 'instant_redemption')",
            name=op.f("ck_fund_orders_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('awaiting_payment', 'requested', 'confirmed', 'paid', 'failed')",
            name=op.f("ck_fund_orders_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fund_orders_amount_positive")),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_fund_orders_fund_id_funds")
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["holds.id"], name=op.f("fk_fund_orders_hold_id_holds")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_fund_orders_holder_id_holders")
        ),
        sa.ForeignKeyConstraint(
            ["switch_order_id"],
            ["fund_orders.id"],
            name=op.f("fk_fund_orders_switch_order_id_fund_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_fund_orders_idempotency_key")),
        sa.UniqueConstraint("bank_reference", name=op.f("uq_fund_orders_bank_reference")),
    )
    with op.batch_alter_table("fund_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fund_orders_due", ["fund_id", "status", "confirm_date"], unique=False
        )
        batch_op.create_index("ix_fund_orders_holder", ["holder_id", "id"], unique=False)
        batch_op.create_index(
            "ix_fund_orders_trade", ["fund_id", "kind", "trade_date"], unique=False
        )

    op.create_table(
        "holdings",
        sa.Column(
            "holder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_holdings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["fund_id"], ["funds.id"], name=op.f("fk_holdings_fund_id_funds")),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_holdings_holder_id_holders")
        ),
        sa.PrimaryKeyConstraint("holder_id", "fund_id", name=op.f("pk_holdings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_holdings_account_id")),
    )


def downgrade() -> None:
    op.drop_table("holdings")
    with op.batch_alter_table("fund_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_fund_orders_trade")
        batch_op.drop_index("ix_fund_orders_holder")
        batch_op.drop_index("ix_fund_orders_due")

    op.drop_table("fund_orders")
    op.drop_table("holders")
    op.drop_table("fund_rates")
    op.drop_table("eod_runs")
    op.drop_table("funds")
    op.drop_table("settings")
    op.drop_table("instant_usage")
    op.drop_table("fund_income")
    op.drop_table("eod_partitions")
