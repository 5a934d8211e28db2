"""Fixtures for every tier: migrated SQLite files and PostgreSQL databases.

PostgreSQL comes from a throw-away server started once per test session (or from
``HUOQI_TEST_DATABASE_URL``). Each test gets its own database cloned from a migrated
template. When the server cannot start, PostgreSQL tests are skipped on a developer's
machine but FAIL the run under ``CI=true``: they are never silently skipped there.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEMPLATE = "huoqi_template"
_numbers = itertools.count()


class ExternalServer:
    """An existing server named by HUOQI_TEST_DATABASE_URL."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = url
        self._base = make_url(url)

    def database_url(self, name: str) -> str:
        return self._base.set(database=name).render_as_string(hide_password=False)

    def execute(self, sql: str) -> None:
        import psycopg

        dsn = self._base.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str, template: str | None = None) -> str:
        suffix = f" TEMPLATE {template}" if template else ""
        self.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        self.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    from huoqi.testing.postgres import TempPostgres, external_url

    url = external_url()
    if url:
        yield ExternalServer(url)
        return
    try:
        server = TempPostgres(fast=True).start()
    except Exception as error:  # any failure to start means no PostgreSQL
        message = f"PostgreSQL could not be started: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_template_url(postgres_server: Any) -> str:
    from huoqi.db.migrate import upgrade

    postgres_server.drop_database(TEMPLATE)
    url: str = postgres_server.create_database(TEMPLATE)
    upgrade(url)
    # No connection may stay open on a template that is being cloned.
    postgres_server.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{TEMPLATE}' AND pid <> pg_backend_pid()"
    )
    return url


@pytest.fixture
def pg_url(postgres_server: Any, pg_template_url: str) -> Iterator[str]:
    name = f"test_{os.getpid()}_{next(_numbers)}"
    url: str = postgres_server.create_database(name, template=TEMPLATE)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from huoqi.db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/huoqi.db"
    upgrade(url)
    return url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    from huoqi.db.engine import make_engine

    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()
