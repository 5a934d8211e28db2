"""The customer app and the console as a browser meets them (forms, cookies, languages)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from huoqi.audit.tables import audit_log
from huoqi.db.engine import read_transaction
from huoqi.fund.tables import fund_orders
from huoqi.web.app import WebSettings, create_app

START = datetime(2025, 6, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    app = create_app(
        WebSettings(
            database_url=sqlite_url, bank_delay=0, demo_clock_start=START, prepare_demo=True
        )
    )
    with TestClient(app, headers={"accept-language": "en-US"}) as client:
        yield client


def _csrf(client: TestClient) -> str:
    if "hq_csrf" not in client.cookies:
        client.get("/app/sign-in")
    return str(client.cookies["hq_csrf"])


def _sign_up(client: TestClient, phone: str = "13812345678") -> None:
    answer = client.post(
        "/app/sign-up",
        data={
            "phone": phone,
            "password": "walk-in-park-42",
            "fund_code": "HQ001",
            "csrf_token": _csrf(client),
        },
    )
    assert answer.status_code == 200 and answer.url.path == "/app"


def _orders(client: TestClient) -> int:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with read_transaction(engine) as connection:
        return int(connection.execute(select(func.count()).select_from(fund_orders)).scalar_one())


def _form_key(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found is not None
    return found[1]


def test_pages_need_a_session_and_send_a_strict_content_policy(client: TestClient) -> None:
    answer = client.get("/app", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/app/sign-in"
    page = client.get("/app/sign-in")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient) -> None:
    answer = client.post(
        "/app/sign-in",
        follow_redirects=False,
        data={
            "phone": "13800000001",
            "password": "huoqi-demo-customer",
            "csrf_token": _csrf(client),
        },
    )
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("hq_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie


def test_a_resent_buy_form_buys_once(client: TestClient) -> None:
    _sign_up(client)
    key = _form_key(client.get("/app/buy").text)
    form = {"amount": "2000.00", "idempotency_key": key, "csrf_token": _csrf(client)}
    first = client.post("/app/buy", data=form)
    again = client.post("/app/buy", data=form)
    assert first.url.path == again.url.path  # the same order page
    assert "2,000.00" in first.text and "2025-06-06" in first.text
    assert _orders(client) == 1


def test_a_forged_form_is_refused_and_changes_nothing(client: TestClient) -> None:
    _sign_up(client)
    key = _form_key(client.get("/app/buy").text)
    answer = client.post(
        "/app/buy", data={"amount": "10.00", "idempotency_key": key, "csrf_token": "forged"}
    )
    assert answer.status_code == 403
    assert _orders(client) == 0


def test_a_bad_amount_is_explained_on_the_form(client: TestClient) -> None:
    _sign_up(client)
    key = _form_key(client.get("/app/buy").text)
    for amount, words in (("12.345", "not an amount"), ("0.50", "at least 1.00")):
        answer = client.post(
            "/app/buy",
            data={
                "amount": amount,
                "idempotency_key": key,
                "csrf_token": _csrf(client),
            },
        )
        assert answer.status_code == 422
        assert words in answer.text
    assert _orders(client) == 0


def test_the_app_speaks_chinese_unless_asked_otherwise(client: TestClient) -> None:
    assert "Sign in" in client.get("/app/sign-in").text
    chinese = client.get("/app/sign-in", headers={"accept-language": "zh-CN"})
    assert "登录" in chinese.text
    client.get("/lang/zh")
    assert "登录" in client.get("/app/sign-in").text


def test_auditors_see_the_console_but_cannot_change_it(client: TestClient) -> None:
    client.post(
        "/app/sign-in",
        data={
            "phone": "13700000001",
            "password": "huoqi-demo-auditor",
            "csrf_token": _csrf(client),
        },
    )
    for path in ("/console", "/console/audit", "/console/limits", "/console/users"):
        assert client.get(path).status_code == 200
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with read_transaction(engine) as connection:
        before = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    refused = client.post(
        "/console/limits",
        data={
            "per_customer": "1.00",
            "platform": "1.00",
            "csrf_token": _csrf(client),
        },
    )
    assert refused.status_code == 403
    assert "10000.00" in client.get("/console/limits").text
    with read_transaction(engine) as connection:
        after = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert after == before


def test_customers_cannot_open_the_console(client: TestClient) -> None:
    _sign_up(client)
    assert client.get("/console").status_code == 403


def test_another_customer_s_order_page_is_not_found(client: TestClient) -> None:
    _sign_up(client, "13811110000")
    key = _form_key(client.get("/app/buy").text)
    mine = client.post(
        "/app/buy", data={"amount": "5.00", "idempotency_key": key, "csrf_token": _csrf(client)}
    )
    client.post("/app/sign-out", data={"csrf_token": _csrf(client)})
    _sign_up(client, "13822220000")
    assert client.get(mine.url.path).status_code == 404


def test_the_income_page_shows_the_fund_s_income_per_10k_and_its_yield(
    client: TestClient,
) -> None:
    client.app.state.services.demo_clock.advance(timedelta(days=7))  # type: ignore[attr-defined]
    operator = client.post(
        "/api/v1/sessions", json={"phone": "13900000001", "password": "huoqi-demo-operator"}
    ).json()["token"]
    csv = "date,income_per_10k\n" + "".join(f"2025-06-{d:02d},0.65{d:02d}\n" for d in range(1, 12))
    uploaded = client.post(
        "/api/v1/ops/funds/HQ001/income",
        content=csv,
        headers={"Authorization": f"Bearer {operator}", "content-type": "text/csv"},
    )
    assert uploaded.status_code == 200
    client.post(
        "/app/sign-in",
        data={
            "phone": "13800000001",
            "password": "huoqi-demo-customer",
            "csrf_token": _csrf(client),
        },
    )
    page = client.get("/app/income").text
    assert "HQ001 per 10,000 shares" in page
    row = re.search(r"<tr><td>2025-06-11</td>.*?</tr>", page, re.S)
    assert row is not None
    assert "0.6511" in row[0] and "%" in row[0]
