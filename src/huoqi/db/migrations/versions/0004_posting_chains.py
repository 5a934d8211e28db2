"""Posting chains instead of the per-account posting index.

Each posting names the same account's previous posting and each account its last one, so
an account's history is read by walking back along the chain, and writing a posting no
longer inserts into an index ordered by account (random inserts that cost most of a
batch's write time). Existing postings are linked in id order.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "accounts",
        sa.Column(
            "last_posting_id", Id, nullable=True, comment="head of the account's posting chain"
        ),
    )
    if sqlite:
        # SQLite adds a CHECK only with its column (a named table constraint would need the
        # table rebuilt, and with it the append-only triggers).
        op.add_column(
            "postings",
            sa.Column(
                "previous_id",
                Id,
                sa.CheckConstraint("previous_id < id", name=op.f("ck_postings_chain_goes_back")),
                nullable=True,
                comment="the account's previous posting",
            ),
        )
    else:
        op.add_column(
            "postings",
            sa.Column("previous_id", Id, nullable=True, comment="the account's previous posting"),
        )
        op.create_check_constraint("chain_goes_back", "postings", "previous_id < id")
    _link_existing_postings(sqlite)
    op.drop_index("ix_postings_account_id_id", table_name="postings")


def _link_existing_postings(sqlite: bool) -> None:
    # Postings are append-only; their guard is lifted for this one backfill.
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS postings_append_only_update")
    else:
        op.execute("ALTER TABLE postings DISABLE TRIGGER postings_append_only")
    op.execute(
        "UPDATE postings SET previous_id = chain.previous_id FROM ("
        " SELECT id, LAG(id) OVER (PARTITION BY account_id ORDER BY id) AS previous_id"
        " FROM postings) AS chain"
        " WHERE chain.id = postings.id AND chain.previous_id IS NOT NULL"
    )
    op.execute(
        "UPDATE accounts SET last_posting_id = heads.last_id FROM ("
        " SELECT account_id, MAX(id) AS last_id FROM postings GROUP BY account_id) AS heads"
        " WHERE heads.account_id = accounts.id"
    )
    if sqlite:
        op.execute(
            "CREATE TRIGGER postings_append_only_update BEFORE UPDATE ON postings BEGIN "
            "SELECT RAISE(ABORT, 'postings is append-only: correct a mistake with a "
            "reversing entry'); END"
        )
    else:
        op.execute("ALTER TABLE postings ENABLE TRIGGER postings_append_only")


def downgrade() -> None:
    op.create_index("ix_postings_account_id_id", "postings", ["account_id", "id"])
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_postings_chain_goes_back", "postings", type_="check")
    op.drop_column("postings", "previous_id")
    op.drop_column("accounts", "last_posting_id")
