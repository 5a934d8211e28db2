"""Helpers for the HTTP API tests: an app on a fresh database, signed-in clients, snapshots.

`open_api` builds the real app (demo funds and logins, the demo clock on Thursday
2025-06-05 10:00 in Shanghai, a bank that approves each purchase as soon as it commits)
and drives it in-process with FastAPI's TestClient. `snapshot` reads every table, so a
refused request can be checked to have changed nothing at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text

from huoqi.db.engine import run_in_write_transaction
from huoqi.identity import service as identity
from huoqi.service.demo_setup import DEMO_LOGINS
from huoqi.web.app import WebSettings, create_app
from huoqi.web.context import CSRF_COOKIE, SESSION_COOKIE

SHANGHAI = ZoneInfo("Asia/Shanghai")
THURSDAY = datetime(2025, 6, 5, 10, 0, tzinfo=SHANGHAI)
PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
LOGINS = {login.role: login for login in DEMO_LOGINS}
PASSWORD = "a good long password 7"
FUND_CODES = ("HQ001", "HQ002", "HQ003")
Headers = dict[str, str]


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    engine: Engine

    def sign_in(self, phone: str, password: str) -> Headers:
        answer = self.client.post("/api/v1/sessions", json={"phone": phone, "password": password})
        assert answer.status_code == 201, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def demo(self, role: str) -> Headers:
        """Bearer headers of the demo customer, operator or auditor."""
        return self.sign_in(LOGINS[role].phone, LOGINS[role].password)

    def new_customer(self, phone: str, fund_code: str = "HQ001") -> Headers:
        answer = self.client.post(
            "/api/v1/users", json={"phone": phone, "password": PASSWORD, "fund_code": fund_code}
        )
        assert answer.status_code == 201, answer.text
        return self.sign_in(phone, PASSWORD)

    def buy(self, headers: Headers, amount: str, key: str) -> dict[str, Any]:
        answer = self.client.post(
            "/api/v1/account/purchases",
            headers={**headers, "Idempotency-Key": key},
            json={"amount": amount},
        )
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def summary(self, headers: Headers) -> dict[str, Any]:
        answer = self.client.get("/api/v1/account", headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def upload_income(self, operator: Headers, fund_code: str, rates: dict[date, str]) -> Any:
        csv = "date,income_per_10k\n" + "".join(f"{d.isoformat()},{r}\n" for d, r in rates.items())
        return self.client.post(
            f"/api/v1/ops/funds/{fund_code}/income",
            content=csv.encode(),
            headers={**operator, "Content-Type": "text/csv"},
        )

    def move_clock(self, operator: Headers, days: int) -> datetime:
        answer = self.client.post("/api/v1/ops/demo-clock", headers=operator, json={"days": days})
        assert answer.status_code == 200, answer.text
        return datetime.fromisoformat(answer.json()["now"])

    def close_through(self, operator: Headers, day: date, timeout: float = 60) -> dict[str, Any]:
        """Start a close job and poll it until it has finished (done or failed)."""
        started = self.client.post(
            "/api/v1/ops/close-jobs", headers=operator, json={"through": day.isoformat()}
        )
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.client.get(
                f"/api/v1/ops/close-jobs/{job_id}", headers=operator
            ).json()
            # finished_at is set last, after the job's closing audit row is written
            if job["status"] != "running" and job["finished_at"] is not None:
                return job
            time.sleep(0.02)
        raise AssertionError(f"close job {job_id} still running after {timeout} s")

    def confirm_first_purchases(self, operator: Headers) -> dict[str, Any]:
        """Publish a week of rates for every fund, move to Saturday and close through
        Friday: Thursday's purchases are confirmed and have earned Friday's income."""
        week = {date(2025, 5, 31) + timedelta(days=n): f"0.65{n:02d}" for n in range(7)}
        for code in FUND_CODES:
            answer = self.upload_income(operator, code, week)
            assert answer.status_code == 200, answer.text
        self.move_clock(operator, 2)
        job = self.close_through(operator, date(2025, 6, 6))
        assert job["status"] == "done", job
        return job

    def cookie_session(self, phone: str, csrf: str = "csrf-token-of-this-browser") -> str:
        """Sign ``phone`` in the way the web app does: a session cookie and a CSRF cookie
        set on this client. Answers the CSRF token."""
        clock = self.app.state.services.clock

        def work(connection: Any) -> identity.NewSession:
            user = identity.find_user_by_phone(connection, phone)
            assert user is not None
            return identity.open_session(
                connection, user, kind="cookie", address="testclient", now=clock()
            )

        new = run_in_write_transaction(self.engine, work)
        self.client.cookies.set(SESSION_COOKIE, new.token)
        self.client.cookies.set(CSRF_COOKIE, csrf)
        return csrf


@contextmanager
def open_api(database_url: str, *, prepare_demo: bool = True) -> Iterator[Api]:
    settings = WebSettings(
        database_url=database_url,
        bank_delay=0,
        demo_clock_start=THURSDAY,
        prepare_demo=prepare_demo,
    )
    app = create_app(settings)
    engine: Engine = app.state.services.engine
    try:
        with TestClient(app) as client:
            yield Api(app, client, engine)
    finally:
        engine.dispose()


def assert_problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with this status and code; answers its body."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body: dict[str, Any] = answer.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"].endswith(f"/{code}")
    assert body["detail"]
    return body


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal snapshots mean nothing changed."""
    tables = sorted(set(inspect(engine).get_table_names()) - {"alembic_version"})
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in tables:
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            found[table] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return found


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def count(engine: Engine, table: str, where: str = "", **params: Any) -> int:
    sql = f'SELECT count(*) FROM "{table}"' + (f" WHERE {where}" if where else "")
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def user_id(engine: Engine, phone: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT id FROM users WHERE phone = :phone"), {"phone": "86" + phone}
            ).scalar_one()
        )
