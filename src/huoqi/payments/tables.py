"""Tables of payments.

* ``merchants``: who may take payments, with their fee rate, callback URL and ledger account
  (``merchant:<code>:payable``, what Huoqi owes them until settlement);
* ``payment_orders``: one per merchant order number, with its status and how it was paid;
* ``payment_refunds``: one per merchant refund number;
* ``merchant_notifications``: the outbox of signed notifications, written in the same
  transaction as the payment or refund they announce;
* ``gateway_nonces``: nonces of signed gateway requests seen inside the time window;
* ``payment_usage``: paying from the balance, per customer and day, against its own limit;
* ``merchant_settlements``: one T+1 payout per merchant and business day;
* ``reconciliation_runs``: each imported bank statement or fund confirmation file and the
  report its matching produced.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from huoqi.db.metadata import Id, Minor, UtcDateTime, metadata

WHEN = UtcDateTime()

merchants = Table(
    "merchants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True, comment="the merchant id in API calls"),
    Column("name", String(100), nullable=False),
    Column("owner_user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("callback_url", String(500), nullable=False),
    Column("fee_rate_bp", SmallInteger, nullable=False, comment="basis points of each payment"),
    Column("status", String(12), nullable=False),
    Column("key_version", SmallInteger, nullable=False, server_default="1"),
    Column("payable_account_id", Id, ForeignKey("accounts.id"), nullable=True),
    Column("applied_at", WHEN, nullable=False),
    Column("decided_at", WHEN, nullable=True),
    Column("note", String(300), nullable=False, server_default=""),
    CheckConstraint(
        "status IN ('applied', 'active', 'rejected', 'suspended')", name="status_known"
    ),
    CheckConstraint("fee_rate_bp BETWEEN 0 AND 1000", name="fee_rate_sane"),
    CheckConstraint("key_version >= 1", name="key_version_positive"),
)

payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_no", String(24), nullable=False, unique=True, comment="Huoqi's number"),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("out_trade_no", String(64), nullable=False, comment="the merchant's number"),
    Column("amount", Minor, nullable=False, comment="fen"),
    Column("description", String(128), nullable=False),
    Column("status", String(20), nullable=False),
    Column("method", String(8), nullable=True),
    Column("fingerprint", LargeBinary(16), nullable=False, comment="of the creating request"),
    Column("notify_url", String(500), nullable=False),
    Column("return_url", String(500), nullable=False, server_default=""),
    Column("created_at", WHEN, nullable=False),
    Column("expires_at", WHEN, nullable=False),
    Column("paid_at", WHEN, nullable=True),
    Column("closed_at", WHEN, nullable=True),
    Column("payer_user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("fund_order_id", Id, ForeignKey("fund_orders.id"), nullable=True),
    Column("bank_reference", String(64), nullable=True, unique=True),
    Column("refunded_amount", Minor, nullable=False, server_default="0", comment="fen"),
    Column("fee", Minor, nullable=False, server_default="0", comment="fen, set when paid"),
    Column("settlement_id", Id, ForeignKey("merchant_settlements.id"), nullable=True),
    Column("updated_at", WHEN, nullable=False),
    UniqueConstraint("merchant_id", "out_trade_no"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(
        "status IN ('created', 'paying', 'paid', 'partially_refunded', 'refunded', 'closed')",
        name="status_known",
    ),
    CheckConstraint("method IS NULL OR method IN ('balance', 'card')", name="method_known"),
    CheckConstraint(
        "refunded_amount >= 0 AND refunded_amount <= amount", name="refunds_within_amount"
    ),
    CheckConstraint("fee >= 0 AND fee <= amount", name="fee_within_amount"),
    CheckConstraint(
        "(status IN ('paid', 'partially_refunded', 'refunded')) = (paid_at IS NOT NULL)",
        name="paid_orders_have_a_time",
    ),
)
Index("ix_payment_orders_open_by_expiry", payment_orders.c.status, payment_orders.c.expires_at)
Index("ix_payment_orders_unsettled", payment_orders.c.merchant_id, payment_orders.c.settlement_id)

payment_refunds = Table(
    "payment_refunds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("refund_no", String(24), nullable=False, unique=True, comment="Huoqi's number"),
    Column("order_id", Id, ForeignKey("payment_orders.id"), nullable=False),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("out_refund_no", String(64), nullable=False, comment="the merchant's number"),
    Column("amount", Minor, nullable=False, comment="fen"),
    Column("fee_returned", Minor, nullable=False, comment="fen of the order's fee given back"),
    Column("reason", String(128), nullable=False, server_default=""),
    Column("fingerprint", LargeBinary(16), nullable=False),
    Column("fund_order_id", Id, ForeignKey("fund_orders.id"), nullable=True),
    Column("created_at", WHEN, nullable=False),
    Column("settlement_id", Id, ForeignKey("merchant_settlements.id"), nullable=True),
    UniqueConstraint("merchant_id", "out_refund_no"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("fee_returned >= 0", name="fee_returned_not_negative"),
)
Index(
    "ix_payment_refunds_unsettled", payment_refunds.c.merchant_id, payment_refunds.c.settlement_id
)
Index("ix_payment_refunds_order", payment_refunds.c.order_id)

merchant_notifications = Table(
    "merchant_notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("event", String(24), nullable=False),
    Column("url", String(500), nullable=False),
    Column("body", Text, nullable=False, comment="the JSON sent, byte for byte"),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", WHEN, nullable=False),
    Column("lease_until", WHEN, nullable=True, comment="a sender is on it until then"),
    Column("last_error", String(300), nullable=False, server_default=""),
    Column("created_at", WHEN, nullable=False),
    Column("delivered_at", WHEN, nullable=True),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
)
Index(
    "ix_merchant_notifications_due",
    merchant_notifications.c.status,
    merchant_notifications.c.next_attempt_at,
)

gateway_nonces = Table(
    "gateway_nonces",
    metadata,
    Column("merchant_id", Id, nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("seen_at", WHEN, nullable=False),
    PrimaryKeyConstraint("merchant_id", "nonce"),
)
Index("ix_gateway_nonces_seen_at", gateway_nonces.c.seen_at)

payment_usage = Table(
    "payment_usage",
    metadata,
    Column("usage_date", Date, nullable=False),
    Column("user_id", Id, nullable=False),
    Column("amount", Minor, nullable=False, comment="fen paid from the balance that day"),
    PrimaryKeyConstraint("usage_date", "user_id"),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

merchant_settlements = Table(
    "merchant_settlements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("merchant_id", Id, ForeignKey("merchants.id"), nullable=False),
    Column("business_date", Date, nullable=False, comment="covers payments up to this day"),
    Column("settle_date", Date, nullable=False, comment="the payout day, T+1"),
    Column("payments", Integer, nullable=False),
    Column("refunds", Integer, nullable=False),
    Column("gross", Minor, nullable=False, comment="fen paid by customers"),
    Column("refunded", Minor, nullable=False, comment="fen given back"),
    Column("fees", Minor, nullable=False, comment="fen of fees, net of fees returned"),
    Column("net", Minor, nullable=False, comment="fen paid out"),
    Column("created_at", WHEN, nullable=False),
    UniqueConstraint("merchant_id", "business_date"),
    CheckConstraint("net = gross - refunded - fees", name="net_adds_up"),
)

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(8), nullable=False, comment="bank or fund"),
    Column("file_name", String(200), nullable=False),
    Column("file_sha256", LargeBinary(32), nullable=False),
    Column("business_date", Date, nullable=True),
    Column("imported_at", WHEN, nullable=False),
    Column("imported_by", Id, nullable=True),
    Column("summary", Text, nullable=False, comment="JSON: counts and totals per outcome"),
    Column("report", Text, nullable=False, comment="JSON: every line's outcome"),
    CheckConstraint("source IN ('bank', 'fund')", name="source_known"),
)
