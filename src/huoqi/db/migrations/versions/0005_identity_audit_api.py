"""Identity (users, sessions), the audit log and the API's idempotent answers.

The audit log is append-only on both databases, like the ledger's entries.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)

_PG_REFUSE = """
CREATE FUNCTION huoqi_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$
"""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(16), nullable=False, comment="E.164 without +, 86..."),
        sa.Column("password_hash", sa.String(200), nullable=False, comment="argon2id, PHC string"),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("display_name", sa.String(60), nullable=False, server_default=""),
        sa.Column("customer_ref", sa.String(64), nullable=True, comment="holders.customer_ref"),
        sa.Column("failed_sign_ins", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("locked_until", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("password_changed_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "role IN ('customer', 'merchant', 'operator', 'auditor')",
            name=op.f("ck_users_role_known"),
        ),
        sa.CheckConstraint("failed_sign_ins >= 0", name=op.f("ck_users_failures_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("phone", name=op.f("uq_users_phone")),
        sa.UniqueConstraint("customer_ref", name=op.f("uq_users_customer_ref")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False, comment="SHA-256"),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.CheckConstraint("kind IN ('cookie', 'bearer')", name=op.f("ck_sessions_kind_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_id", Id, nullable=True, comment="users.id; NULL for system actors"),
        sa.Column(
            "actor", sa.String(40), nullable=False, comment="role, or the system actor's name"
        ),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(30), nullable=False, server_default=""),
        sa.Column("object_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.Column("detail", sa.Text(), nullable=False, server_default="{}", comment="JSON"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id", "id"])
    op.create_table(
        "api_requests",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("route", sa.String(120), nullable=False, comment="method and path"),
        sa.Column("body_hash", sa.LargeBinary(32), nullable=False, comment="SHA-256 of the body"),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False, comment="the JSON answer"),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "idempotency_key", name=op.f("pk_api_requests")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_REFUSE)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION huoqi_audit_is_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION huoqi_audit_is_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_append_only_{action.lower()} BEFORE {action} ON "
                "audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS huoqi_audit_is_append_only()")
    op.drop_table("api_requests")
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("users")
