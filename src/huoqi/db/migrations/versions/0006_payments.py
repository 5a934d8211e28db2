"""Payments: merchants, payment orders, refunds, the notification outbox, gateway nonces,
paying-from-balance usage, merchant settlements and reconciliation runs.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_nonces",
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "nonce", name=op.f("pk_gateway_nonces")),
    )
    with op.batch_alter_table("gateway_nonces", schema=None) as batch_op:
        batch_op.create_index("ix_gateway_nonces_seen_at", ["seen_at"], unique=False)

    op.create_table(
        "payment_usage",
        sa.Column("usage_date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "amount", sa.BigInteger(), nullable=False, comment="fen paid from the balance that day"
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payment_usage_amount_not_negative")),
        sa.PrimaryKeyConstraint("usage_date", "user_id", name=op.f("pk_payment_usage")),
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=8), nullable=False, comment="bank or fund"),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "imported_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "summary", sa.Text(), nullable=False, comment="JSON: counts and totals per outcome"
        ),
        sa.Column("report", sa.Text(), nullable=False, comment="JSON: every line's outcome"),
        sa.CheckConstraint(
            "source IN ('bank', 'fund')", name=op.f("ck_reconciliation_runs_source_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    op.create_table(
        "merchants",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "code", sa.String(length=16), nullable=False, comment="the merchant id in API calls"
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "owner_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("callback_url", sa.String(length=500), nullable=False),
        sa.Column(
            "fee_rate_bp", sa.SmallInteger(), nullable=False, comment="basis points of each payment"
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("key_version", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column(
            "payable_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=300), server_default="", nullable=False),
        sa.CheckConstraint(
            "status IN ('applied', 'active', 'rejected', 'suspended')",
            name=op.f("ck_merchants_status_known"),
        ),
        sa.CheckConstraint(
            "fee_rate_bp BETWEEN 0 AND 1000", name=op.f("ck_merchants_fee_rate_sane")
        ),
        sa.CheckConstraint("key_version >= 1", name=op.f("ck_merchants_key_version_positive")),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_merchants_owner_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["payable_account_id"],
            ["accounts.id"],
            name=op.f("fk_merchants_payable_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("code", name=op.f("uq_merchants_code")),
    )
    op.create_table(
        "merchant_notifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, comment="the JSON sent, byte for byte"),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "lease_until",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="a sender is on it until then",
        ),
        sa.Column("last_error", sa.String(length=300), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_merchant_notifications_status_known"),
        ),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_merchant_notifications_attempts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_notifications_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_notifications")),
        sa.UniqueConstraint("event_id", name=op.f("uq_merchant_notifications_event_id")),
    )
    with op.batch_alter_table("merchant_notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_merchant_notifications_due", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "merchant_settlements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "business_date", sa.Date(), nullable=False, comment="covers payments up to this day"
        ),
        sa.Column("settle_date", sa.Date(), nullable=False, comment="the payout day, T+1"),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("refunds", sa.Integer(), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False, comment="fen paid by customers"),
        sa.Column("refunded", sa.BigInteger(), nullable=False, comment="fen given back"),
        sa.Column(
            "fees", sa.BigInteger(), nullable=False, comment="fen of fees, net of fees returned"
        ),
        sa.Column("net", sa.BigInteger(), nullable=False, comment="fen paid out"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "net = gross - refunded - fees", name=op.f("ck_merchant_settlements_net_adds_up")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_settlements_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_settlements")),
        sa.UniqueConstraint(
            "merchant_id",
            "business_date",
            name=op.f("uq_merchant_settlements_merchant_id_business_date"),
        ),
    )
    op.create_table(
        "payment_orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_no", sa.String(length=24), nullable=False, comment="Huoqi's number"),
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "out_trade_no", sa.String(length=64), nullable=False, comment="the merchant's number"
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="fen"),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column(
            "fingerprint",
            sa.LargeBinary(length=16),
            nullable=False,
            comment="of the creating request",
        ),
        sa.Column("notify_url", sa.String(length=500), nullable=False),
        sa.Column("return_url", sa.String(length=500), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "payer_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "fund_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("bank_reference", sa.String(length=64), nullable=True),
        sa.Column(
            "refunded_amount", sa.BigInteger(), server_default="0", nullable=False, comment="fen"
        ),
        sa.Column(
            "fee", sa.BigInteger(), server_default="0", nullable=False, comment="fen, set when paid"
        ),
        sa.Column(
            "settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status IN ('paid', 'partially_refunded', 'refunded')) = (paid_at IS NOT NULL)",
            name=op.f("ck_payment_orders_paid_orders_have_a_time"),
        ),
        sa.CheckConstraint(
            "method IS NULL OR method IN ('balance', 'card')",
            name=op.f("ck_payment_orders_method_known"),
        ),
        sa.CheckConstraint(
            "status IN ('created', 'paying', 'paid', 'partially_refunded', 'refunded', 'closed')",
            name=op.f("ck_payment_orders_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_orders_amount_positive")),
        sa.CheckConstraint(
            "fee >= 0 AND fee <= amount", name=op.f("ck_payment_orders_fee_within_amount")
        ),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount",
            name=op.f("ck_payment_orders_refunds_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["fund_order_id"],
            ["fund_orders.id"],
            name=op.f("fk_payment_orders_fund_order_id_fund_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payment_orders_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payer_user_id"], ["users.id"], name=op.f("fk_payment_orders_payer_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["merchant_settlements.id"],
            name=op.f("fk_payment_orders_settlement_id_merchant_settlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_orders")),
        sa.UniqueConstraint("bank_reference", name=op.f("uq_payment_orders_bank_reference")),
        sa.UniqueConstraint(
            "merchant_id", "out_trade_no", name=op.f("uq_payment_orders_merchant_id_out_trade_no")
        ),
        sa.UniqueConstraint("order_no", name=op.f("uq_payment_orders_order_no")),
    )
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_orders_open_by_expiry", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_payment_orders_unsettled", ["merchant_id", "settlement_id"], unique=False
        )

    op.create_table(
        "payment_refunds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("refund_no", sa.String(length=24), nullable=False, comment="Huoqi's number"),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "out_refund_no", sa.String(length=64), nullable=False, comment="the merchant's number"
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="fen"),
        sa.Column(
            "fee_returned",
            sa.BigInteger(),
            nullable=False,
            comment="fen of the order's fee given back",
        ),
        sa.Column("reason", sa.String(length=128), server_default="", nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=16), nullable=False),
        sa.Column(
            "fund_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.CheckConstraint(
            "fee_returned >= 0", name=op.f("ck_payment_refunds_fee_returned_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["fund_order_id"],
            ["fund_orders.id"],
            name=op.f("fk_payment_refunds_fund_order_id_fund_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payment_refunds_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_orders.id"],
            name=op.f("fk_payment_refunds_order_id_payment_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["merchant_settlements.id"],
            name=op.f("fk_payment_refunds_settlement_id_merchant_settlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint(
            "merchant_id",
            "out_refund_no",
            name=op.f("uq_payment_refunds_merchant_id_out_refund_no"),
        ),
        sa.UniqueConstraint("refund_no", name=op.f("uq_payment_refunds_refund_no")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_payment_refunds_order", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_payment_refunds_unsettled", ["merchant_id", "settlement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_refunds_unsettled")
        batch_op.drop_index("ix_payment_refunds_order")

    op.drop_table("payment_refunds")
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_orders_unsettled")
        batch_op.drop_index("ix_payment_orders_open_by_expiry")

    op.drop_table("payment_orders")
    op.drop_table("merchant_settlements")
    with op.batch_alter_table("merchant_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_merchant_notifications_due")

    op.drop_table("merchant_notifications")
    op.drop_table("merchants")
    op.drop_table("reconciliation_runs")
    op.drop_table("payment_usage")
    with op.batch_alter_table("gateway_nonces", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_nonces_seen_at")

    op.drop_table("gateway_nonces")
