"""Holdings indexed by fund and account: the close reads a fund's partitions through it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_holdings_fund_account", "holdings", ["fund_id", "account_id"])


def downgrade() -> None:
    op.drop_index("ix_holdings_fund_account", table_name="holdings")
