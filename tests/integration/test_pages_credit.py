"""The credit pages: a customer's score, reasons, history, consents and review request at
``/app/credit``; the operators' registry, monitoring, fairness and review queue at
``/console/credit``. Real app, real SQLite; forged and refused forms change nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from api_client import THURSDAY, Api, open_api, snapshot, user_id
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert

from huoqi.credit import consent, service
from huoqi.credit.crypto import new_key
from huoqi.credit.dictionary import DIRECTIONS, NAMES
from huoqi.credit.features import compute_features
from huoqi.credit.models import band, fit_model, reason_text
from huoqi.credit.pipeline import training_frame
from huoqi.credit.simulate import simulate
from huoqi.credit.tables import credit_decisions, credit_models
from huoqi.db.engine import read_transaction, write_transaction
from huoqi.db.migrate import upgrade
from huoqi.identity.service import find_user_by_phone
from huoqi.web.pages_credit import score_gauge

AT = "2025-06-05T01:00:00Z"  # an hour before the demo clock
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An app with a fitted model in service (the champion)."""
    base = tmp_path_factory.mktemp("credit_pages")
    url = f"sqlite:///{base}/huoqi.db"
    upgrade(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUOQI_CREDIT_KEY", new_key())
        with open_api(url) as found:
            sim = simulate(1_500, seed=2)
            frame = training_frame(sim, compute_features(sim.events, sim.users))
            model = fit_model(
                frame[[*NAMES, "bad"]], target="bad", bad=1, kind="gbm", directions=DIRECTIONS
            )
            model.save(base / "model")
            with write_transaction(found.engine) as connection:
                service.register_model(
                    connection, model, artefacts=base / "model", status="champion",
                    now=THURSDAY,
                )  # fmt: skip
            yield found


def _sessions(api: Api, phone: str) -> tuple[dict[str, str], str]:
    """A new customer: bearer headers (to send phone events) and a page session's CSRF."""
    bearer = api.new_customer(phone)
    return bearer, api.cookie_session(phone)


def _events(api: Api, bearer: dict[str, str], first: int) -> None:
    batch = [
        {"kind": "app_session", "event_id": f"ev-{n}", "at": AT,
         "app_category": "loan" if n % 2 else "finance", "minutes": 5 + n % 50}
        for n in range(first, first + 40)
    ]  # fmt: skip
    answer = api.client.post("/api/v1/credit/events", headers=bearer, json={"events": batch})
    assert answer.status_code == 200, answer.text


def _post(api: Api, path: str, data: dict[str, str], **headers: str) -> Any:
    return api.client.post(path, data=data, headers=headers, follow_redirects=False)


def _states(api: Api, phone: str) -> dict[str, bool]:
    with read_transaction(api.engine) as connection:
        user = find_user_by_phone(connection, phone)
        assert user is not None
        return {s.purpose: s.granted for s in consent.states(connection, user.id)}


def _decisions(api: Api, phone: str) -> list[service.Decision]:
    with read_transaction(api.engine) as connection:
        return service.decisions_of(connection, user_id(api.engine, phone))


def test_the_customer_grants_and_revokes_each_consent_on_the_page(api: Api) -> None:
    phone = "13600000101"
    _, csrf = _sessions(api, phone)
    page = api.client.get("/app/credit", headers=EN)
    assert page.status_code == 200 and "You have no credit score yet" in page.text
    for purpose in consent.PURPOSES:
        assert f'data-test="grant-{purpose}"' in page.text
        assert consent.POLICIES[purpose].text_en in page.text
    assert "after 30 days" in page.text and "Policy version 1" in page.text
    # a forged form, a stale policy version, an unknown purpose: refused, nothing changed
    before = snapshot(api.engine)
    path = "/app/credit/consents/location/grant"
    assert _post(api, path, {"csrf_token": "forged", "policy_version": "1"}).status_code == 403
    stale = _post(api, path, {"csrf_token": csrf, "policy_version": "2"}, **EN)
    assert stale.status_code == 409 and 'data-test="error"' in stale.text
    unknown = _post(api, "/app/credit/consents/gps/grant", {"csrf_token": csrf,
                                                            "policy_version": "1"})  # fmt: skip
    assert unknown.status_code == 422
    no_consent = _post(api, "/app/credit/consents/location/revoke", {"csrf_token": csrf}, **ZH)
    assert no_consent.status_code == 404 and "该项尚未同意" in no_consent.text
    assert snapshot(api.engine) == before
    for n, purpose in enumerate(consent.PURPOSES):
        path = f"/app/credit/consents/{purpose}/grant"
        done = _post(api, path, {"csrf_token": csrf, "policy_version": "1"})
        assert done.status_code == 303 and done.headers["location"] == "/app/credit?done=granted"
        assert list(_states(api, phone).values()) == [True] * (n + 1) + [False] * (3 - n)
    page = api.client.get("/app/credit?done=granted", headers=ZH)
    assert "已保存您的授权" in page.text and consent.POLICIES["location"].text_zh in page.text
    assert page.text.count('data-test="revoke-') == 4
    # a forged revocation changes nothing; a real one stops collection at once
    before = snapshot(api.engine)
    forged = _post(api, "/app/credit/consents/location/revoke", {"csrf_token": "forged"})
    assert forged.status_code == 403 and snapshot(api.engine) == before
    for purpose in consent.PURPOSES:
        done = _post(api, f"/app/credit/consents/{purpose}/revoke", {"csrf_token": csrf})
        assert done.status_code == 303, done.text
        assert _states(api, phone)[purpose] is False
    page = api.client.get("/app/credit?done=revoked", headers=EN)
    assert "We have stopped collecting" in page.text
    assert page.text.count('data-test="grant-') == 4 and "withdrawn on" in page.text


def test_the_customer_sees_score_band_reasons_and_history_in_their_language(api: Api) -> None:
    phone = "13600000111"
    bearer, csrf = _sessions(api, phone)
    # no consent yet: the page says so and nothing is scored
    before = snapshot(api.engine)
    refused = _post(api, "/app/credit/score", {"csrf_token": csrf}, **ZH)
    assert refused.status_code == 422 and "请先同意信用评估" in refused.text
    assert _post(api, "/app/credit/score", {"csrf_token": "forged"}).status_code == 403
    assert snapshot(api.engine) == before
    for purpose in ("credit_assessment", "app_usage"):
        _post(api, f"/app/credit/consents/{purpose}/grant",
              {"csrf_token": csrf, "policy_version": "1"})  # fmt: skip
    _events(api, bearer, 1)
    done = _post(api, "/app/credit/score", {"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/app/credit?done=scored"
    [decision] = _decisions(api, phone)
    page = api.client.get("/app/credit", headers=EN)
    assert page.status_code == 200
    assert f'data-test="score">{decision.score}<' in page.text
    band = {"poor": "Poor", "fair": "Fair", "good": "Good", "very good": "Very good",
            "excellent": "Excellent"}[decision.band]  # fmt: skip
    assert f'data-test="band">{band}<' in page.text
    assert decision.model_version in page.text and "2025-06-05 10:00" in page.text
    assert '<svg class="chart gauge"' in page.text  # the bands drawn on the server
    assert len(decision.reasons) == 4
    reasons = re.search(r'data-test="reasons">(.*?)</ol>', page.text, re.S)
    assert reasons is not None
    shown = re.findall(r"<li>(.*?)</li>", reasons.group(1))
    assert shown == [reason_text(code, "en").replace("'", "&#39;") for code in decision.reasons]
    chinese = api.client.get("/app/credit", headers=ZH).text
    for code in decision.reasons:
        assert reason_text(code, "zh") in chinese
        assert reason_text(code, "en") not in chinese
    # a second score: both in the history, newest first, with a line of the scores
    assert _post(api, "/app/credit/score", {"csrf_token": csrf}).status_code == 303
    newest, oldest = _decisions(api, phone)
    page = api.client.get("/app/credit", headers=EN).text
    history = re.search(r'data-test="history">(.*?)</table>', page, re.S)
    assert history is not None
    rows = re.findall(r'<td class="num">(\d+)</td>', history.group(1))
    assert rows == [str(newest.score), str(oldest.score)]
    assert 'class="line"' in page and "Work out my score again" in page


def test_the_customer_asks_for_a_human_review(api: Api) -> None:
    phone, other = "13600000121", "13600000122"
    bearer, _ = _sessions(api, phone)
    _sessions(api, other)
    csrf = api.cookie_session(phone)
    for purpose in ("credit_assessment", "app_usage"):
        _post(api, f"/app/credit/consents/{purpose}/grant",
              {"csrf_token": csrf, "policy_version": "1"})  # fmt: skip
    _events(api, bearer, 300)
    assert _post(api, "/app/credit/score", {"csrf_token": csrf}).status_code == 303
    [decision] = _decisions(api, phone)
    page = api.client.get("/app/credit", headers=EN).text
    path = f"/app/credit/decisions/{decision.id}/review"
    assert f'action="{path}"' in page
    before = snapshot(api.engine)
    assert _post(api, path, {"csrf_token": "forged", "reason": "x"}).status_code == 403
    assert snapshot(api.engine) == before
    api.cookie_session(other)  # someone else's decision is not found, like a missing one
    before = snapshot(api.engine)
    assert _post(api, path, {"csrf_token": csrf, "reason": "mine?"}).status_code == 404
    assert snapshot(api.engine) == before
    api.cookie_session(phone)
    done = _post(api, path, {"csrf_token": csrf, "reason": "my salary doubled"})
    assert done.status_code == 303 and done.headers["location"] == "/app/credit?done=review"
    with read_transaction(api.engine) as connection:
        queued = [r for r in service.review_queue(connection) if r["decision_id"] == decision.id]
    assert [(r["reason"], r["status"]) for r in queued] == [("my salary doubled", "open")]
    before = snapshot(api.engine)
    again = _post(api, path, {"csrf_token": csrf, "reason": "again"}, **ZH)
    assert again.status_code == 409 and "您已申请复核" in again.text
    assert snapshot(api.engine) == before


def _marker(svg: str) -> float:
    found = re.search(r'<line x1="([0-9.]+)"', svg)
    assert found is not None
    return float(found.group(1))


@given(st.integers(350, 950), st.integers(350, 950))
def test_the_gauge_marks_a_score_inside_its_band_and_in_order(low: int, high: int) -> None:
    low, high = min(low, high), max(low, high)
    svg = str(score_gauge(low, "gauge <&>"))
    assert "gauge &lt;&amp;&gt;" in svg and "<script" not in svg
    rects = {
        title: (float(x), float(x) + float(width))
        for x, width, title in re.findall(
            r'<rect x="([0-9.]+)" y="[0-9]+" width="([0-9.]+)"[^>]*><title>([a-z ]+):', svg
        )
    }
    assert len(rects) == 5
    start, end = rects[str(band(np.array([low]))[0])]
    assert start - 0.1 <= _marker(svg) <= end + 0.1
    assert _marker(svg) <= _marker(str(score_gauge(high, "g")))


# --- the console ---------------------------------------------------------------------------


@pytest.fixture
def console(sqlite_url: str) -> Iterator[Api]:
    """Two registered models (the champion with a fairness report), 60 decisions whose
    balance input shifted in the last 30 days, and one open review."""
    with open_api(sqlite_url) as api:
        api.new_customer("13600000131")
        customer = user_id(api.engine, "13600000131")
        fairness = {
            "18-25": {"n": 400, "approval_rate": 0.42, "auc": 0.71, "disparate_impact": 0.6},
            "26-40": {"n": 600, "approval_rate": 0.70, "auc": 0.74, "disparate_impact": 1.0},
        }
        with write_transaction(api.engine) as connection:
            for version, status, metrics in (
                ("gbm-new", "champion", {"out_of_fold_auc": 0.7712,
                                          "fairness_by_age_band": fairness}),
                ("scorecard-old", "retired", {"out_of_fold_auc": 0.75}),
            ):  # fmt: skip
                connection.execute(
                    insert(credit_models).values(
                        version=version, kind=version.split("-")[0], training_sha256="ab" * 32,
                        metrics=json.dumps(metrics), features=json.dumps(["a", "b", "c"]),
                        status=status, artefact_path="/nowhere", created_at=THURSDAY,
                    )
                )  # fmt: skip
            rows = []
            for n in range(60):
                recent = n % 2 == 1
                at = THURSDAY - timedelta(days=1 + n % 25 + (0 if recent else 30))
                inputs = {"balance_mean_30": float(n * (50 if recent else 1)), "cells_30": 3.0}
                rows.append(
                    {"user_id": customer, "model_version": "gbm-new", "inputs_sha256": "0" * 64,
                     "inputs": json.dumps(inputs), "score": 600 + n, "band": "good",
                     "p_bad": 0.1, "reasons": json.dumps(["balance_mean_30"]), "at": at}
                )  # fmt: skip
            connection.execute(insert(credit_decisions), rows)
            [latest] = service.decisions_of(connection, customer, limit=1)
            service.request_review(connection, customer, latest.id, reason="please look again",
                                   now=THURSDAY, actor=_setup_actor(customer))  # fmt: skip
        yield api


def _setup_actor(user: int) -> Any:
    from huoqi.audit.log import Actor

    return Actor(user, "customer", "test")


def _review_id(api: Api) -> int:
    with read_transaction(api.engine) as connection:
        [review] = service.review_queue(connection)
    return int(review["id"])


def test_an_operator_sees_registry_monitoring_fairness_and_resolves_a_review(
    console: Api,
) -> None:
    api = console
    csrf = api.cookie_session("13900000001")
    page = api.client.get("/console/credit", headers=EN)
    assert page.status_code == 200
    text = page.text
    assert 'data-test="model-gbm-new"' in text and 'data-test="model-scorecard-old"' in text
    assert "Champion" in text and "Retired" in text and "0.7712" in text and "abababababab" in text
    assert 'data-test="psi-balance_mean_30"' in text
    balance = re.search(r'data-test="psi-balance_mean_30">(.*?)</tr>', text, re.S)
    cells = re.search(r'data-test="psi-cells_30">(.*?)</tr>', text, re.S)
    assert balance is not None and "Shifted" in balance.group(1)
    assert cells is not None and "Stable" in cells.group(1)
    fairness = re.search(r'data-test="fairness-gbm-new">(.*?)</table>', text, re.S)
    assert fairness is not None and fairness.group(1).count('data-test="flagged"') == 1
    assert "0.600" in fairness.group(1) and "42.0%" in fairness.group(1)
    review = _review_id(api)
    assert "please look again" in text and f'data-test="resolve-{review}"' in text
    # bad input and forged forms: refused, nothing changed
    path = f"/console/credit/reviews/{review}"
    before = snapshot(api.engine)
    for data, status in (
        ({"csrf_token": "forged", "verdict": "upheld", "outcome": "ok"}, 403),
        ({"csrf_token": csrf, "verdict": "upheld", "outcome": "   "}, 422),
        ({"csrf_token": csrf, "verdict": "maybe", "outcome": "ok"}, 422),
    ):
        answer = _post(api, path, data)
        assert answer.status_code == status, (data, answer.text)
    missing = {"csrf_token": csrf, "verdict": "upheld", "outcome": "x"}
    assert _post(api, "/console/credit/reviews/999999", missing).status_code == 404
    assert _post(api, "/console/credit/models/gbm-new/status",
                 {"csrf_token": csrf, "status": "queen"}).status_code == 422  # fmt: skip
    assert snapshot(api.engine) == before
    done = _post(api, path, {"csrf_token": csrf, "verdict": "changed",
                             "outcome": "your salary is now counted"})  # fmt: skip
    assert done.status_code == 303
    with read_transaction(api.engine) as connection:
        assert service.review_queue(connection) == []
        [changed] = service.review_queue(connection, status="changed")
    assert changed["outcome"] == "your salary is now counted"
    assert "No one is waiting for a review" in api.client.get("/console/credit", headers=EN).text
    # the customer reads the reviewer's answer on their own page
    api.client.cookies.clear()
    api.cookie_session("13600000131")
    mine = api.client.get("/app/credit", headers=EN).text
    reviews = re.search(r'data-test="my-reviews">(.*?)</table>', mine, re.S)
    assert reviews is not None and "Score changed" in reviews.group(1)
    assert "your salary is now counted" in reviews.group(1)
    api.client.cookies.clear()
    csrf = api.cookie_session("13900000001")
    promote = _post(api, "/console/credit/models/scorecard-old/status",
                    {"csrf_token": csrf, "status": "champion"})  # fmt: skip
    assert promote.status_code == 303
    with read_transaction(api.engine) as connection:
        statuses = {m["version"]: m["status"] for m in service.registry(connection)}
    assert statuses == {"scorecard-old": "champion", "gbm-new": "retired"}


def test_auditors_see_the_credit_console_but_change_nothing(console: Api) -> None:
    api = console
    csrf = api.cookie_session("13700000001")
    page = api.client.get("/console/credit", headers=EN)
    assert page.status_code == 200 and "please look again" in page.text
    assert 'data-test="resolve-' not in page.text and 'data-test="status-' not in page.text
    review = _review_id(api)
    before = snapshot(api.engine)
    for path, data in (
        (f"/console/credit/reviews/{review}", {"verdict": "upheld", "outcome": "fine"}),
        ("/console/credit/models/scorecard-old/status", {"status": "champion"}),
    ):
        answer = _post(api, path, {"csrf_token": csrf, **data})
        assert answer.status_code == 403, path
    assert snapshot(api.engine) == before


def test_customers_are_refused_the_credit_console(console: Api) -> None:
    api = console
    csrf = api.cookie_session("13600000131")
    page = api.client.get("/console/credit")
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "registry" not in page.text.lower()
    before = snapshot(api.engine)
    answer = _post(api, f"/console/credit/reviews/{_review_id(api)}",
                   {"csrf_token": csrf, "verdict": "upheld", "outcome": "mine"})  # fmt: skip
    assert answer.status_code == 403 and snapshot(api.engine) == before
    # staff have no customer credit page; no one signed in is sent to sign in first
    api.cookie_session("13900000001")
    assert api.client.get("/app/credit").status_code == 403
    api.client.cookies.clear()
    anonymous = api.client.get("/app/credit", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/app/sign-in?next=%2Fapp%2Fcredit"
