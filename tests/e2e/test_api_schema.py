"""The API keeps the promises of its own OpenAPI description, under generated input.

Schemathesis reads ``/openapi.json`` from a real ``huoqi serve`` process and sends every
operation generated requests, valid and invalid, once as the demo customer and once as
the demo operator. Every answer must be a non-5xx, with a documented status code, the
documented content type and a body matching the documented schema.

Each generated request carries a fresh bearer token of its user, opened directly in the
server's database: a generated ``DELETE /api/v1/sessions/current`` signs that token out,
and must not sign out the rest of the run. ``POST /api/v1/ops/demo-clock`` is left out:
moving the clock by up to a month per example would expire every session of the run (the
in-process tests cover it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, text

from huoqi.db.engine import make_engine, run_in_write_transaction
from huoqi.identity import service as identity
from huoqi.service.demo_setup import DEMO_LOGINS

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PHONES = {login.role: login.phone for login in DEMO_LOGINS}


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32's lazy schemas read ``node._nodeid``, which pytest 9.2 no longer
    has (it keeps ``_id``); give it the id it expects. Reporting only: no check changes."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture(scope="module")
def api_schema(live_server: Any) -> Any:
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json", timeout=30)


@pytest.fixture(scope="module")
def server_engine(live_server: Any) -> Iterator[Engine]:
    engine = make_engine(live_server.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def fresh_token(engine: Engine, role: str) -> str:
    """A new bearer session of the demo user with ``role``, as a sign-in would open, dated
    by the server's (demo) clock as its latest audit row shows it."""

    def work(connection: Any) -> str:
        user = identity.find_user_by_phone(connection, PHONES[role])
        assert user is not None, role
        latest = connection.execute(text("SELECT max(at) FROM audit_log")).scalar_one()
        now = latest if isinstance(latest, datetime) else datetime.fromisoformat(latest)
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        new = identity.open_session(
            connection, user, kind="bearer", address="schemathesis", now=now
        )
        return new.token

    return run_in_write_transaction(engine, work)


schema = (
    schemathesis.pytest.from_fixture("api_schema")
    .include(path_regex=r"^/(api/v1/|healthz$|readyz$|metrics$)")
    .exclude(path="/api/v1/ops/demo-clock")
)
FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


def call(case: Any, engine: Engine, role: str) -> None:
    token = fresh_token(engine, role)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30)


@schema.parametrize()
@FUZZ
def test_as_the_customer(case: Any, server_engine: Engine) -> None:
    call(case, server_engine, "customer")


@schema.parametrize()
@FUZZ
def test_as_the_operator(case: Any, server_engine: Engine) -> None:
    call(case, server_engine, "operator")
