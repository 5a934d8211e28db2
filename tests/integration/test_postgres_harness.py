"""The throw-away PostgreSQL server the test setup starts is real and migrated."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgres


def test_each_test_gets_a_fresh_migrated_database(pg_url: str, postgres_server: Any) -> None:
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
        tables = set(
            connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
        assert {"accounts", "entries", "postings", "holds", "ledger_state"} <= tables
        triggers = set(
            connection.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).scalars()
        )
        assert "postings_balanced" in triggers
    engine.dispose()
