"""Tables of the money-fund current account.

* ``funds``: the partner money funds, each with its share asset and ledger accounts;
* ``holders`` and ``holdings``: a customer's current account, backed by one fund at a time,
  and the ledger share account they hold in each fund;
* ``fund_rates``: the income per 10,000 shares each fund publishes for each calendar day;
* ``fund_orders``: purchases and redemptions with their dates and status;
* ``instant_usage``: instant-redemption use per day, per holder and platform-wide;
* ``fund_income``: each account's income for each day (the user's income history), one
  row per account and day, keyed so a day's rows are appended in order;
* ``eod_runs`` and ``eod_partitions``: the daily close's progress, so a crash resumes
  where it stopped and a rerun changes nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

from huoqi.db.metadata import Id, Minor, metadata

funds = Table(
    "funds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("manager", String(200), nullable=False, server_default=""),
    Column("carry", String(8), nullable=False),
    Column("status", String(12), nullable=False),
    Column("share_asset", String(32), ForeignKey("assets.code"), nullable=False, unique=True),
    Column("issued_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("pending_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("advance_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("carry IN ('daily', 'monthly')", name="carry_known"),
    CheckConstraint("status IN ('open', 'suspended', 'closed')", name="status_known"),
)

holders = Table(
    "holders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_ref", String(64), nullable=False, unique=True),
    Column("fund_id", Integer, ForeignKey("funds.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

holdings = Table(
    "holdings",
    metadata,
    Column("holder_id", Id, ForeignKey("holders.id"), nullable=False),
    Column("fund_id", Integer, ForeignKey("funds.id"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, unique=True),
    PrimaryKeyConstraint("holder_id", "fund_id"),
    # The close finds a fund's accounts by id range (its partitions) through this index.
    Index("ix_holdings_fund_account", "fund_id", "account_id"),
)

fund_rates = Table(
    "fund_rates",
    metadata,
    Column("fund_id", Integer, ForeignKey("funds.id"), nullable=False),
    Column("rate_date", Date, nullable=False),
    Column("rate_e4", Minor, nullable=False, comment="CNY per 10,000 shares x 10^4"),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("fund_id", "rate_date"),
    CheckConstraint("rate_e4 >= 0", name="rate_not_negative"),
)

fund_orders = Table(
    "fund_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("holder_id", Id, ForeignKey("holders.id"), nullable=False),
    Column("fund_id", Integer, ForeignKey("funds.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", Minor, nullable=False, comment="fen, equal to share units at NAV 1.00"),
    Column("status", String(20), nullable=False),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("fingerprint", LargeBinary(16), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("trade_date", Date, nullable=False),
    Column("confirm_date", Date, nullable=False),
    Column("payout_date", Date, nullable=True),
    Column("hold_id", Id, ForeignKey("holds.id"), nullable=True),
    Column("bank_reference", String(64), nullable=True, unique=True),
    Column("switch_order_id", Id, ForeignKey("fund_orders.id"), nullable=True),
    Column("note", String(300), nullable=False, server_default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("kind IN ('purchase', 'redemption', 'instant_redemption')", name="kind_known"),
    CheckConstraint(
        "status IN ('awaiting_payment', 'requested', 'confirmed', 'paid', 'failed')",
        name="status_known",
    ),
    Index("ix_fund_orders_due", "fund_id", "status", "confirm_date"),
    Index("ix_fund_orders_holder", "holder_id", "id"),
    Index("ix_fund_orders_trade", "fund_id", "kind", "trade_date"),
)

instant_usage = Table(
    "instant_usage",
    metadata,
    Column("usage_date", Date, nullable=False),
    Column("fund_id", Integer, nullable=False, comment="0 for the platform-wide quota"),
    Column("holder_id", Id, nullable=False, comment="0 for the platform-wide quota"),
    Column("amount", Minor, nullable=False, comment="fen"),
    PrimaryKeyConstraint("usage_date", "fund_id", "holder_id"),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

fund_income = Table(
    "fund_income",
    metadata,
    Column("fund_id", Integer, nullable=False),
    Column("income_date", Date, nullable=False),
    Column("account_id", Id, nullable=False),
    Column("units", Minor, nullable=False, comment="shares that earned, 0.01 share"),
    Column("income", Minor, nullable=False, comment="fen, paid as shares"),
    PrimaryKeyConstraint("fund_id", "income_date", "account_id"),
    CheckConstraint("units > 0 AND income >= 0", name="amounts_sane"),
    sqlite_with_rowid=False,
)

eod_runs = Table(
    "eod_runs",
    metadata,
    Column("fund_id", Integer, ForeignKey("funds.id"), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("status", String(12), nullable=False),
    Column("step", SmallInteger, nullable=False, server_default="0"),
    Column("plan", Text, nullable=True, comment="JSON: the day's income allocation plan"),
    Column("report", Text, nullable=True, comment="JSON: the day's reports"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("fund_id", "business_date"),
    CheckConstraint("status IN ('running', 'closed')", name="status_known"),
)

eod_partitions = Table(
    "eod_partitions",
    metadata,
    Column("fund_id", Integer, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("step", SmallInteger, nullable=False),
    Column("low_id", Id, nullable=False),
    Column("rows", Integer, nullable=False),
    PrimaryKeyConstraint("fund_id", "business_date", "step", "low_id"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)
