"""Alembic environment: migrate the database named in the config with our engine setup."""

from __future__ import annotations

from alembic import context

import huoqi.audit.tables
import huoqi.fund.tables
import huoqi.identity.tables
import huoqi.ledger.tables
import huoqi.payments.tables
import huoqi.web.tables  # noqa: F401
from huoqi.db.engine import make_engine
from huoqi.db.metadata import metadata


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
