"""End to end at a small size: simulate → features → train on earlier cohorts → out-of-time
AUC beside the generator's ceiling, through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from huoqi.cli import app
from huoqi.credit.models import fit_model, load_model


def test_the_pipeline_prints_out_of_time_auc_beside_the_ceiling(
    tmp_path: Path, sqlite_url: str
) -> None:
    answer = CliRunner().invoke(
        app, ["credit", "pipeline", "--users", "4000", "--seed", "5", "--out", str(tmp_path)]
    )
    assert answer.exit_code == 0, answer.output
    found = json.loads(answer.stdout.strip().splitlines()[-1])
    assert found["train_cohorts"] == [0, 1, 2, 3] and found["test_cohorts"] == [4, 5]
    assert 0.05 <= found["bad_rate"] <= 0.15
    ceiling = found["ceiling_auc_oot"]
    assert 0 <= found["feature_psi_max"] < 0.10  # the story drifts the outcome, not the features
    assert 0.68 <= ceiling <= 0.85
    for kind in ("scorecard", "gbm"):
        model = found["models"][kind]
        # learnt something real, and no model beats the truth by more than sampling noise
        assert 0.62 <= model["auc_oot"] <= ceiling + 0.03, (kind, model, ceiling)
        assert model["score_psi_status"] in {"stable", "watch"}
        bands = model["fairness_by_age_band"]
        assert set(bands) == {"18-25", "26-35", "36-45", "46-60"}
        assert max(band["disparate_impact"] for band in bands.values()) == 1.0
        for band in bands.values():
            assert band["flagged"] == (band["disparate_impact"] < 0.8)
        saved = load_model(tmp_path / kind)
        assert saved.metadata["kind"] == kind and "balance_mean_30" in saved.features
    assert "out-of-time AUC" in answer.stderr and "ceiling" in answer.stderr
    # registered, a pipeline's model carries its out-of-time fairness report to the console
    from datetime import UTC, datetime

    from huoqi.credit.service import register_model, registry
    from huoqi.db.engine import make_engine, write_transaction
    from huoqi.db.migrate import upgrade

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with write_transaction(engine) as connection:
        register_model(connection, load_model(tmp_path / "gbm"), artefacts=tmp_path / "gbm",
                       status="champion", now=datetime.now(UTC))  # fmt: skip
        [entry] = registry(connection)
    engine.dispose()
    metrics = entry["metrics"]
    assert metrics["fairness_by_age_band"] == found["models"]["gbm"]["fairness_by_age_band"]
    assert metrics["auc_oot"] == found["models"]["gbm"]["auc_oot"]


def test_simulate_is_reproducible_and_writes_a_csv_the_models_read(tmp_path: Path) -> None:
    command = ["credit", "simulate", "--users", "500", "--seed", "9", "--csv"]
    runs = [CliRunner().invoke(app, [*command, str(tmp_path / f"{n}.csv")]) for n in range(2)]
    assert all(run.exit_code == 0 for run in runs), runs[0].output
    first, second = (json.loads(run.stdout) for run in runs)
    assert {k: v for k, v in first.items() if k not in {"seconds", "csv"}} == {
        k: v for k, v in second.items() if k not in {"seconds", "csv"}
    }
    assert (tmp_path / "0.csv").read_text() == (tmp_path / "1.csv").read_text()
    header = (tmp_path / "0.csv").read_text().splitlines()[0].split(",")
    assert header[-1] == "bad" and "loan_apps_installed" in header and "user_id" not in header


def test_bad_arguments_are_refused_with_exit_2(tmp_path: Path) -> None:
    answer = CliRunner().invoke(app, ["credit", "simulate", "--users", "0"])
    assert answer.exit_code == 2
    answer = CliRunner().invoke(app, ["credit", "pipeline", "--users", "50", "--test-cohorts", "9"])
    assert answer.exit_code == 2


def test_a_trained_model_is_registered_from_the_command_line(
    tmp_path: Path, sqlite_url: str
) -> None:
    from huoqi.credit.service import registry
    from huoqi.db.engine import make_engine

    def huoqi(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HUOQI_DATABASE_URL": sqlite_url}
        command = [sys.executable, "-m", "huoqi", "credit", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    csv = tmp_path / "f.csv"
    made = CliRunner().invoke(app, ["credit", "simulate", "--users", "800", "--csv", str(csv)])
    assert made.exit_code == 0
    fit_model(pd.read_csv(csv), target="bad", bad=1, kind="gbm").save(tmp_path / "m")
    answer = huoqi("register", "--model", str(tmp_path / "m"), "--status", "champion")
    assert answer.returncode == 0, answer.stderr
    version = json.loads(answer.stdout)["version"]
    again = huoqi("register", "--model", str(tmp_path / "m"))
    assert again.returncode == 2 and "error[conflict]" in again.stderr
    assert "registered already" in again.stderr
    missing = huoqi("register", "--model", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "error[" in missing.stderr
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        [entry] = registry(connection)
    engine.dispose()
    assert (entry["version"], entry["status"], entry["kind"]) == (version, "champion", "gbm")
