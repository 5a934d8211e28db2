"""The credit API as a customer and an operator use it: consent, events, a score with its
reasons, a review request and the operators' queue. Real app, real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_client import Api, assert_problem, open_api, snapshot
from sqlalchemy import func, select

from huoqi.credit import service
from huoqi.credit.crypto import new_key
from huoqi.credit.dictionary import DIRECTIONS, NAMES
from huoqi.credit.features import compute_features
from huoqi.credit.models import fit_model
from huoqi.credit.pipeline import training_frame
from huoqi.credit.simulate import simulate
from huoqi.credit.tables import credit_raw_events
from huoqi.db.engine import write_transaction
from huoqi.db.migrate import upgrade

AT = "2025-06-05T01:00:00Z"  # an hour before the demo clock


def _event(n: int, kind: str = "app_session") -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "event_id": f"ev-{n}", "at": AT}
    if kind == "app_session":
        body |= {"app_category": "loan" if n % 2 else "finance", "minutes": 5 + n % 50}
    elif kind == "location":
        body |= {"lat": 39.9 + n % 3 / 100, "lon": 116.4}
    elif kind == "device":
        body |= {"device_id": "IMEI-86-1", "loan_apps_installed": 2}
    else:
        body |= {"amount_fen": 1_000 + n, "merchant_category": "groceries"}
    return body


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    base = tmp_path_factory.mktemp("credit_api")
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
                    connection, model, artefacts=base / "model", status="challenger",
                    now=sim_now(),
                )  # fmt: skip
            yield found


def sim_now() -> Any:
    from api_client import THURSDAY

    return THURSDAY


def _raw_count(api: Api) -> int:
    with api.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(credit_raw_events)).scalar())


def test_a_customers_credit_story(api: Api) -> None:
    me = api.new_customer("13600000011")
    consents = api.client.get("/api/v1/credit/consents", headers=me).json()
    assert [c["granted"] for c in consents["consents"]] == [False] * 4
    assert consents["event_purposes"]["location"] == ["credit_assessment", "location"]
    # no consent: refused, nothing stored
    batch = {"events": [_event(1), _event(2, "location")]}
    before = snapshot(api.engine)
    assert_problem(api.client.post("/api/v1/credit/events", headers=me, json=batch), 422,
                   "consent_required")  # fmt: skip
    assert snapshot(api.engine) == before
    for purpose in ("credit_assessment", "app_usage", "location", "financial_data"):
        answer = api.client.post(
            "/api/v1/credit/consents", headers=me, json={"purpose": purpose, "policy_version": 1}
        )
        assert answer.status_code == 201, answer.text
    stale = api.client.post(
        "/api/v1/credit/consents", headers=me, json={"purpose": "location", "policy_version": 2}
    )
    assert_problem(stale, 409, "policy_changed")
    answer = api.client.post("/api/v1/credit/events", headers=me, json=batch)
    assert answer.json() == {"accepted": 2, "duplicates": 0}
    answer = api.client.post("/api/v1/credit/events", headers=me, json=batch)
    assert answer.json() == {"accepted": 0, "duplicates": 2}
    # oversized: a clear 413 and nothing written
    huge = {"events": [_event(n, "purchase") for n in range(10, 211)]}
    before = snapshot(api.engine)
    body = assert_problem(api.client.post("/api/v1/credit/events", headers=me, json=huge), 413,
                          "batch_too_large")  # fmt: skip
    assert "at most 200" in body["detail"]
    assert snapshot(api.engine) == before
    more = [_event(n, "purchase") for n in range(10, 60)] + [_event(70, "device")]
    assert api.client.post("/api/v1/credit/events", headers=me, json={"events": more}).json() == {
        "accepted": 51, "duplicates": 0,
    }  # fmt: skip
    # revoke location: its events are refused at once, the others still come in
    answer = api.client.delete("/api/v1/credit/consents/location", headers=me)
    assert answer.status_code == 200 and answer.json()["granted"] is False
    assert_problem(api.client.post("/api/v1/credit/events", headers=me,
                                   json={"events": [_event(99, "location")]}), 422,
                   "consent_required")  # fmt: skip
    assert _raw_count(api) == 53
    # my own copy: opened, coarse, newest first; the read is in the audit log
    mine = api.client.get("/api/v1/credit/events", headers=me, params={"limit": 3}).json()
    assert [e["kind"] for e in mine] == ["device", "purchase", "purchase"]
    assert mine[0]["fields"]["device_id"] == "IMEI-86-1" and mine[0]["day"] == "2025-06-05"
    operator = api.demo("operator")
    logged = api.client.get("/api/v1/ops/audit", headers=operator,
                            params={"action": "credit.raw_read"}).json()["items"]  # fmt: skip
    assert logged[0]["detail"] == {"why": "the customer's own copy", "kinds": "all", "rows": 53}
    # erase everything now
    assert api.client.delete("/api/v1/credit/events", headers=me).json() == {"deleted": 53}
    assert _raw_count(api) == 0
    assert api.client.get("/api/v1/credit/events", headers=me).json() == []


def test_score_reasons_and_a_human_review(api: Api) -> None:
    me, other = api.new_customer("13600000021"), api.new_customer("13600000022")
    operator, auditor = api.demo("operator"), api.demo("auditor")
    assert_problem(api.client.post("/api/v1/credit/score", headers=me), 422, "consent_required")
    for purpose in ("credit_assessment", "app_usage"):
        api.client.post("/api/v1/credit/consents", headers=me,
                        json={"purpose": purpose, "policy_version": 1})  # fmt: skip
    api.client.post("/api/v1/credit/events", headers=me,
                    json={"events": [_event(n) for n in range(200, 240)]})  # fmt: skip
    assert_problem(api.client.post("/api/v1/credit/score", headers=me), 404, "no_champion")
    [model] = api.client.get("/api/v1/ops/credit/models", headers=auditor).json()
    assert model["status"] == "challenger" and model["kind"] == "gbm"
    promote = f"/api/v1/ops/credit/models/{model['version']}/status"
    refused = api.client.put(promote, headers=auditor, json={"status": "champion"})
    assert_problem(refused, 403, "forbidden")
    answer = api.client.put(promote, headers=operator, json={"status": "champion"})
    assert answer.status_code == 200, answer.text
    scored = api.client.post("/api/v1/credit/score", headers=me)
    assert scored.status_code == 201, scored.text
    decision = scored.json()
    assert 350 <= decision["score"] <= 950 and decision["model_version"] == model["version"]
    assert decision["band"] in {"poor", "fair", "good", "very good", "excellent"}
    for reason in decision["reasons"]:
        assert reason["code"] in NAMES and reason["en"] and reason["zh"]
    assert api.client.get("/api/v1/credit/decisions", headers=me).json() == [decision]
    assert api.client.get("/api/v1/credit/decisions", headers=other).json() == []
    # someone else's decision is not found, like a missing one
    path = f"/api/v1/credit/decisions/{decision['id']}/review"
    assert_problem(api.client.post(path, headers=other, json={}), 404, "unknown_decision")
    answer = api.client.post(path, headers=me, json={"reason": "my salary doubled"})
    assert answer.status_code == 201, answer.text
    review_id = answer.json()["id"]
    assert_problem(api.client.post(path, headers=me, json={}), 409, "review_pending")
    [queued] = api.client.get("/api/v1/ops/credit/reviews", headers=auditor).json()
    assert queued["id"] == review_id and queued["reason"] == "my salary doubled"
    assert queued["score"] == decision["score"]
    done = api.client.post(f"/api/v1/ops/credit/reviews/{review_id}", headers=operator,
                           json={"changed": False, "outcome": "the score stands"})  # fmt: skip
    assert done.json() == {"id": review_id, "status": "upheld"}
    assert api.client.get("/api/v1/ops/credit/reviews", headers=auditor).json() == []
    assert_problem(api.client.post(f"/api/v1/ops/credit/reviews/{review_id}", headers=operator,
                                   json={"changed": True, "outcome": "again"}), 404,
                   "unknown_review")  # fmt: skip
    # the scoring read the raw data: it is in the audit log
    audit = api.client.get("/api/v1/ops/audit", headers=auditor,
                           params={"action": "credit.raw_read"}).json()  # fmt: skip
    items = audit["items"] if isinstance(audit, dict) else audit
    assert any(row.get("detail", {}).get("why") == "credit score" for row in items), audit


def test_ingestion_without_a_key_configured_is_refused_clearly(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    me = api.new_customer("13600000031")
    api.client.post("/api/v1/credit/consents", headers=me,
                    json={"purpose": "credit_assessment", "policy_version": 1})  # fmt: skip
    monkeypatch.delenv("HUOQI_CREDIT_KEY")
    body = assert_problem(
        api.client.post(
            "/api/v1/credit/events", headers=me, json={"events": [_event(1, "device")]}
        ),
        503,
        "credit_key_missing",
    )
    assert "HUOQI_CREDIT_KEY" in body["detail"]


def test_the_score_sees_the_current_account_balance_with_financial_consent(api: Api) -> None:
    from huoqi.credit.events import day_number
    from huoqi.identity.service import find_user_by_phone
    from huoqi.ledger.service import utc_now

    operator = api.demo("operator")
    [model] = api.client.get("/api/v1/ops/credit/models", headers=operator).json()
    promote = f"/api/v1/ops/credit/models/{model['version']}/status"
    assert api.client.put(promote, headers=operator, json={"status": "champion"}).status_code == 200
    saver, other = api.new_customer("13600000041"), api.new_customer("13600000042")
    for who in (saver, other):
        api.buy(who, "100.00", "credit-balance")
        for purpose in ("credit_assessment", "app_usage"):
            api.client.post("/api/v1/credit/consents", headers=who,
                            json={"purpose": purpose, "policy_version": 1})  # fmt: skip
    api.client.post("/api/v1/credit/consents", headers=saver,
                    json={"purpose": "financial_data", "policy_version": 1})  # fmt: skip
    api.confirm_first_purchases(operator)
    for who in (saver, other):
        assert api.client.post("/api/v1/credit/score", headers=who).status_code == 201
    with api.engine.connect() as connection:
        users = {}
        for phone in ("13600000041", "13600000042"):
            user = find_user_by_phone(connection, phone)
            assert user is not None
            users[phone] = user.id
        [decision] = service.decisions_of(connection, users["13600000042"])
        assert decision.inputs["balance_mean_30"] == 0.0  # no financial_data consent
        # The ledger books on the real business date while the demo clock is in 2025: read
        # the weekly balances as of a few days from now.
        today = day_number(utc_now()) + 10
        weekly = service.balance_events(connection, users["13600000041"], today=today)
    assert weekly.height == 25 and set(weekly["kind"].to_list()) == {"balance"}
    assert 10_000 <= weekly["amount_fen"][0] <= 10_010  # 100 CNY and a day's income
    assert weekly["amount_fen"][-1] == 0  # before the purchase
