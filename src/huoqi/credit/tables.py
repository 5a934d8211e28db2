"""The credit tables: consent, raw phone events, the model registry, decisions, reviews.

Consent is a history, not a flag: each grant is a row tied to the policy version the user
saw, and a revocation stamps that row. Raw events keep only what the retention job and the
feature windows need in the clear (user, kind, purpose, day); everything that identifies a
person or a precise value sits in ``payload``, sealed with AES-GCM (`huoqi.credit.crypto`),
and the client's event id is kept as a keyed hash (a blind index) so duplicates can be
found without storing it. Reads of raw data are written to the audit log.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from huoqi.db.metadata import Id, metadata

WHEN = DateTime(timezone=True)

credit_consent_policies = Table(
    "credit_consent_policies",
    metadata,
    Column("purpose", String(24), primary_key=True),
    Column("version", SmallInteger, primary_key=True),
    Column("text_en", Text, nullable=False),
    Column("text_zh", Text, nullable=False),
    Column("text_sha256", LargeBinary(32), nullable=False, comment="of the en and zh texts"),
    Column("published_at", WHEN, nullable=False),
)

credit_consents = Table(
    "credit_consents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("purpose", String(24), nullable=False),
    Column("policy_version", SmallInteger, nullable=False),
    Column("granted_at", WHEN, nullable=False),
    Column("revoked_at", WHEN, nullable=True),
    Column("raw_deleted_at", WHEN, nullable=True, comment="the retention job's deletion"),
    CheckConstraint(
        "purpose IN ('credit_assessment', 'location', 'app_usage', 'financial_data')",
        name="purpose_known",
    ),
    Index("ix_credit_consents_user_id", "user_id", "purpose"),
)

credit_raw_events = Table(
    "credit_raw_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("event_key", LargeBinary(32), nullable=False, comment="HMAC of the client event id"),
    Column("kind", String(16), nullable=False),
    Column("purpose", String(24), nullable=False, comment="the consent it was collected under"),
    Column("day", Integer, nullable=False, comment="days since 1970-01-01 (UTC)"),
    Column("received_at", WHEN, nullable=False),
    Column("payload", LargeBinary, nullable=False, comment="AES-GCM: nonce + ciphertext"),
    UniqueConstraint("user_id", "event_key"),
    Index("ix_credit_raw_events_user_id", "user_id", "purpose"),
)

credit_models = Table(
    "credit_models",
    metadata,
    Column("version", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("training_sha256", String(64), nullable=False),
    Column("metrics", Text, nullable=False, server_default="{}", comment="JSON"),
    Column("features", Text, nullable=False, server_default="[]", comment="JSON list"),
    Column("status", String(12), nullable=False),
    Column("artefact_path", String(400), nullable=False),
    Column("created_at", WHEN, nullable=False),
    CheckConstraint("status IN ('champion', 'challenger', 'retired')", name="status_known"),
)

credit_decisions = Table(
    "credit_decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("model_version", String(40), ForeignKey("credit_models.version"), nullable=False),
    Column("inputs_sha256", String(64), nullable=False),
    Column("inputs", Text, nullable=False, comment="JSON: the feature values scored"),
    Column("score", SmallInteger, nullable=False),
    Column("band", String(12), nullable=False),
    Column("p_bad", Float, nullable=False),
    Column("reasons", Text, nullable=False, server_default="[]", comment="JSON list of codes"),
    Column("at", WHEN, nullable=False),
    CheckConstraint("score BETWEEN 350 AND 950", name="score_in_range"),
    Index("ix_credit_decisions_user_id", "user_id", "id"),
)

credit_reviews = Table(
    "credit_reviews",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("decision_id", Id, ForeignKey("credit_decisions.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("status", String(10), nullable=False),
    Column("requested_at", WHEN, nullable=False),
    Column("reviewer_id", Id, ForeignKey("users.id"), nullable=True),
    Column("outcome", Text, nullable=False, server_default=""),
    Column("resolved_at", WHEN, nullable=True),
    CheckConstraint("status IN ('open', 'upheld', 'changed')", name="status_known"),
    Index("ix_credit_reviews_status", "status", "id"),
)
