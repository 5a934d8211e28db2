"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout. A write transaction starts with
``BEGIN IMMEDIATE`` so it holds the single writer lock from its first statement: two writers
never read the same balance and then both update it. Read-only work uses a plain deferred
transaction and runs beside the writer.

PostgreSQL runs at READ COMMITTED; writers lock the account rows they change with
``SELECT ... FOR UPDATE`` in id order (so they queue instead of deadlocking), and
`write_transaction` retries the rare deadlock or serialization failure.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from huoqi import config

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
WRITE = "huoqi_write"

#: SQLSTATEs worth retrying on PostgreSQL: serialization failure, deadlock detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: `config.database_url`), set up for the ledger."""
    url = config.normalise_url(url or config.database_url())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    synchronous = config.sqlite_synchronous()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")
        # Checkpoint the WAL every ~40 MB rather than every 4 MB: a batch of postings dirties
        # pages all over the per-account index, and fewer checkpoints copy each page fewer
        # times. The file is cut back to that size after each checkpoint.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.execute("PRAGMA journal_size_limit=41943040")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def is_sqlite(connection: Connection | Engine) -> bool:
    return connection.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: the SQLite writer lock is taken at once."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITE: True})
        with connection.begin():
            yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: one consistent snapshot of the database.

    SQLite in WAL mode reads from one snapshot per transaction. PostgreSQL's default READ
    COMMITTED takes a new snapshot per statement, so two reads (the close's issued shares
    and the holders' shares, say) could straddle a writer's commit; reads run at REPEATABLE
    READ there, which never fails a read-only transaction.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def run_in_write_transaction(
    engine: Engine, work: Callable[[Connection], T], *, attempts: int = 8
) -> T:
    """Run ``work`` in a write transaction, retrying deadlocks and serialization failures.

    ``work`` must do nothing outside the database that it could not safely do twice.
    """
    for attempt in range(1, attempts + 1):
        try:
            with write_transaction(engine) as connection:
                return work(connection)
        except DBAPIError as error:
            if attempt == attempts or not is_retryable(error):
                raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")


def is_retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    # SQLite: the busy timeout ran out while another writer held the lock.
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)
