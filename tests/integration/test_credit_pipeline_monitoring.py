"""Monitoring stored decisions: PSI of the score and of each input, recent window against the
window before, with MISSION's reading. Real SQLite (and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, insert

from huoqi.credit import decision_monitoring
from huoqi.credit.tables import credit_decisions, credit_models
from huoqi.db.engine import read_transaction, write_transaction
from huoqi.identity import service as identity

NOW = datetime(2025, 6, 5, 2, 0, tzinfo=UTC)


def _decisions(engine: Engine, *, shifted: bool) -> None:
    rng = np.random.default_rng(3)
    with write_transaction(engine) as connection:
        user = identity.sign_up(
            connection, phone="13600000051", password="a good long password 7", now=NOW
        )
        connection.execute(
            insert(credit_models).values(
                version="scorecard-test", kind="scorecard", training_sha256="0" * 64,
                status="champion", artefact_path="/nowhere", created_at=NOW,
            )
        )  # fmt: skip
        rows = []
        for n in range(2_000):  # enough that sampling noise alone reads stable
            recent = n % 2 == 1
            at = NOW - timedelta(days=float(rng.uniform(0.1, 29.9)) + (0 if recent else 30))
            balance = float(rng.uniform(0, 1_000)) * (5 if recent and shifted else 1)
            inputs = {"balance_mean_30": balance, "cells_30": float(rng.integers(1, 9))}
            rows.append(
                {
                    "user_id": user.id, "model_version": "scorecard-test",
                    "inputs_sha256": "0" * 64, "inputs": json.dumps(inputs),
                    "score": int(rng.integers(500, 800)), "band": "good", "p_bad": 0.1,
                    "reasons": "[]", "at": at,
                }
            )  # fmt: skip
        connection.execute(insert(credit_decisions), rows)


def test_a_shifted_input_is_flagged_and_the_rest_stays_stable(engine: Engine) -> None:
    _decisions(engine, shifted=True)
    with read_transaction(engine) as connection:
        report = decision_monitoring.monitoring(connection, now=NOW, days=30)
    assert (report["recent"], report["baseline"], report["enough"]) == (1_000, 1_000, True)
    assert report["features"]["balance_mean_30"]["status"] == "shifted"
    assert report["features"]["balance_mean_30"]["psi"] > 0.25
    assert report["features"]["cells_30"]["status"] == "stable"
    assert report["score"]["status"] in {"stable", "watch"}


def test_too_few_decisions_give_no_reading(engine: Engine) -> None:
    _decisions(engine, shifted=False)
    with read_transaction(engine) as connection:
        early = decision_monitoring.monitoring(connection, now=NOW - timedelta(days=30), days=30)
        late = decision_monitoring.monitoring(connection, now=NOW + timedelta(days=61), days=30)
    assert early["enough"] is False and early["score"] is None and early["features"] == {}
    assert (early["recent"], early["baseline"]) == (1_000, 0)  # nothing before to compare
    assert (late["recent"], late["baseline"], late["enough"]) == (0, 0, False)
