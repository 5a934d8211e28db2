"""The console's reconciliation page: an operator imports a file and reads the report; an
auditor reads but has no form and is refused a post; a bad file is explained, not stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_client import THURSDAY, count
from fastapi.testclient import TestClient

from huoqi.service.demo_setup import DEMO_LOGINS
from huoqi.web.app import WebSettings, create_app

LOGINS = {login.role: login for login in DEMO_LOGINS}


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    app = create_app(
        WebSettings(
            database_url=sqlite_url, bank_delay=0, demo_clock_start=THURSDAY, prepare_demo=True
        )
    )
    with TestClient(app, headers={"accept-language": "en-US"}) as client:
        yield client


def _csrf(client: TestClient) -> str:
    if "hq_csrf" not in client.cookies:
        client.get("/app/sign-in")
    return str(client.cookies["hq_csrf"])


def _sign_in(client: TestClient, role: str) -> None:
    login = LOGINS[role]
    answer = client.post(
        "/app/sign-in",
        data={"phone": login.phone, "password": login.password, "csrf_token": _csrf(client)},
    )
    assert answer.status_code == 200, answer.text


def _engine(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.services.engine  # type: ignore[attr-defined]


def test_an_operator_imports_a_file_and_reads_its_report(client: TestClient) -> None:
    _sign_in(client, "operator")
    page = client.get("/console/reconciliation")
    assert page.status_code == 200 and 'data-test="import"' in page.text
    text = (
        "value_date,direction,amount,reference,memo\n"
        "2025-06-05,CR,12.34,HQ-not-ours,card payment\n"
        "2025-06-05,CR,12.34,HQ-not-ours,card payment\n"
    )
    answer = client.post(
        "/console/reconciliation",
        data={"source": "bank", "csrf_token": _csrf(client), "business_date": "2025-06-05"},
        files={"file": ("bank-0605.csv", text.encode(), "text/csv")},
    )
    assert answer.status_code == 200 and "/console/reconciliation/" in str(answer.url)
    assert 'data-test="differences"' in answer.text
    assert answer.text.count('data-outcome="duplicate"') == 1
    assert answer.text.count('data-outcome="missing_in_huoqi"') == 1
    assert (
        "HQ-not-ours" in answer.text
        and "a copy of line 2" in answer.text
        and "line 3 · 2025-06-05" in answer.text
    )
    listed = client.get("/console/reconciliation")
    assert "bank-0605.csv" in listed.text


def test_a_bad_file_is_explained_and_nothing_is_stored(client: TestClient) -> None:
    _sign_in(client, "operator")
    answer = client.post(
        "/console/reconciliation",
        data={
            "source": "fund",
            "csrf_token": _csrf(client),
            "text": "confirm_date,fund_code,kind,reference,amount\n"
            "2025-06-06,HQ001,gift,FO1,1.00\n",
        },
    )
    assert answer.status_code == 422
    assert 'data-test="refused"' in answer.text and "line 2: kind" in answer.text
    assert count(_engine(client), "reconciliation_runs") == 0


def test_auditors_read_but_cannot_import(client: TestClient) -> None:
    _sign_in(client, "operator")
    made = client.post(
        "/console/reconciliation",
        data={
            "source": "fund",
            "csrf_token": _csrf(client),
            "business_date": "2025-06-06",
            "text": "confirm_date,fund_code,kind,reference,amount\n",
        },
    )
    assert 'data-test="clean"' in made.text
    run_path = made.url.path
    client.post("/app/sign-out", data={"csrf_token": _csrf(client)})
    _sign_in(client, "auditor")
    page = client.get("/console/reconciliation")
    assert page.status_code == 200 and 'data-test="import"' not in page.text
    assert client.get(run_path).status_code == 200
    chinese = client.get(run_path, headers={"accept-language": "zh-CN"})
    assert "文件与活期一致" in chinese.text
    refused = client.post(
        "/console/reconciliation",
        data={"source": "fund", "csrf_token": _csrf(client), "text": "x"},
    )
    assert refused.status_code == 403
    assert count(_engine(client), "reconciliation_runs") == 1
    assert client.get("/console/reconciliation/999").status_code == 404


def test_a_forged_form_is_refused(client: TestClient) -> None:
    _sign_in(client, "operator")
    refused = client.post(
        "/console/reconciliation",
        data={"source": "fund", "csrf_token": "forged", "text": "x"},
    )
    assert refused.status_code == 403
    assert count(_engine(client), "reconciliation_runs") == 0
