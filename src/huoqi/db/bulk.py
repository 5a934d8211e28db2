"""Driver-level bulk statements for the hot paths.

SQLAlchemy Core builds every other query. The few statements that run once per posting
(insert entries and postings, update balances) go straight to the driver's
``executemany`` with tuples, skipping per-row parameter processing: the ledger's batch
path spends its time on the ledger's rules, not on building dictionaries. Values are
adapted here the way SQLAlchemy stores them, so both paths read back the same data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def marks(connection: Connection, count: int) -> str:
    """``count`` positional placeholders in the driver's style."""
    mark = "%s" if is_postgres(connection) else "?"
    return ", ".join([mark] * count)


def sql_date(connection: Connection, value: date) -> Any:
    """A date as the driver should receive it (SQLite stores ISO text, as SQLAlchemy does)."""
    return value if is_postgres(connection) else value.isoformat()


def sql_timestamp(connection: Connection, value: datetime) -> Any:
    """A UTC timestamp as the driver should receive it (SQLAlchemy's SQLite text format)."""
    if is_postgres(connection):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_rows(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    pg_types: Sequence[str] | None = None,
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order).

    On PostgreSQL, given the columns' types, the rows travel as one array per column in a
    single ``INSERT … SELECT FROM unnest(…)``: one statement instead of one per row.
    """
    if not rows:
        return
    if pg_types is not None and is_postgres(connection):
        arrays = ", ".join(f"%s::{kind}[]" for kind in pg_types)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
        columns_of_rows = tuple(list(column) for column in zip(*rows, strict=True))
        connection.exec_driver_sql(statement, columns_of_rows)
        return
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(connection, len(columns))})"
    )
    connection.exec_driver_sql(statement, list(rows))


def execute_many(connection: Connection, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``statement`` (written with ``?`` marks) once per row."""
    if not rows:
        return
    if is_postgres(connection):
        statement = statement.replace("?", "%s")
    connection.exec_driver_sql(statement, list(rows))


def fetch_rows(
    connection: Connection, statement: str, params: Sequence[Any] | Mapping[str, Any]
) -> list[Any]:
    """Run a query on the driver's own cursor and return plain tuples.

    For hot reads of thousands of rows, where wrapping each row costs more than the query.
    """
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
