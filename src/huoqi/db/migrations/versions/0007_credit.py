"""Credit: consent and its policy texts, encrypted raw phone events, the model registry,
score decisions and human review requests.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credit_consent_policies",
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column(
            "text_sha256", sa.LargeBinary(32), nullable=False, comment="of the en and zh texts"
        ),
        sa.Column("published_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("purpose", "version", name=op.f("pk_credit_consent_policies")),
    )
    op.create_table(
        "credit_consents",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("policy_version", sa.SmallInteger(), nullable=False),
        sa.Column("granted_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("raw_deleted_at", WHEN, nullable=True, comment="the retention job's deletion"),
        sa.CheckConstraint(
            "purpose IN ('credit_assessment', 'location', 'app_usage', 'financial_data')",
            name=op.f("ck_credit_consents_purpose_known"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_consents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_consents")),
    )
    op.create_index("ix_credit_consents_user_id", "credit_consents", ["user_id", "purpose"])
    op.create_table(
        "credit_raw_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_id", Id, nullable=False),
        sa.Column(
            "event_key", sa.LargeBinary(32), nullable=False, comment="HMAC of the client event id"
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "purpose", sa.String(24), nullable=False, comment="the consent it was collected under"
        ),
        sa.Column("day", sa.Integer(), nullable=False, comment="days since 1970-01-01 (UTC)"),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column(
            "payload", sa.LargeBinary(), nullable=False, comment="AES-GCM: nonce + ciphertext"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_raw_events_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_raw_events")),
        sa.UniqueConstraint(
            "user_id", "event_key", name=op.f("uq_credit_raw_events_user_id_event_key")
        ),
    )
    op.create_index("ix_credit_raw_events_user_id", "credit_raw_events", ["user_id", "purpose"])
    op.create_table(
        "credit_models",
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("training_sha256", sa.String(64), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False, server_default="{}", comment="JSON"),
        sa.Column("features", sa.Text(), nullable=False, server_default="[]", comment="JSON list"),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("artefact_path", sa.String(400), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "status IN ('champion', 'challenger', 'retired')",
            name=op.f("ck_credit_models_status_known"),
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_credit_models")),
    )
    op.create_table(
        "credit_decisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("model_version", sa.String(40), nullable=False),
        sa.Column("inputs_sha256", sa.String(64), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False, comment="JSON: the feature values scored"),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("band", sa.String(12), nullable=False),
        sa.Column("p_bad", sa.Float(), nullable=False),
        sa.Column(
            "reasons", sa.Text(), nullable=False, server_default="[]", comment="JSON list of codes"
        ),
        sa.Column("at", WHEN, nullable=False),
        sa.CheckConstraint(
            "score BETWEEN 350 AND 950", name=op.f("ck_credit_decisions_score_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_decisions_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["model_version"],
            ["credit_models.version"],
            name=op.f("fk_credit_decisions_model_version_credit_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_decisions")),
    )
    op.create_index("ix_credit_decisions_user_id", "credit_decisions", ["user_id", "id"])
    op.create_table(
        "credit_reviews",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("decision_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("reviewer_id", Id, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False, server_default=""),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'changed')", name=op.f("ck_credit_reviews_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decisions.id"],
            name=op.f("fk_credit_reviews_decision_id_credit_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_reviews_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_credit_reviews_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_reviews")),
    )
    op.create_index("ix_credit_reviews_status", "credit_reviews", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_credit_reviews_status", table_name="credit_reviews")
    op.drop_table("credit_reviews")
    op.drop_index("ix_credit_decisions_user_id", table_name="credit_decisions")
    op.drop_table("credit_decisions")
    op.drop_table("credit_models")
    op.drop_index("ix_credit_raw_events_user_id", table_name="credit_raw_events")
    op.drop_table("credit_raw_events")
    op.drop_index("ix_credit_consents_user_id", table_name="credit_consents")
    op.drop_table("credit_consents")
    op.drop_table("credit_consent_policies")
