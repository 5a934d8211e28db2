"""``huoqi credit cv | train | score`` as another tool would script them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

COLUMNS = "id,utilisation,tenure_months,channel,outcome"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "huoqi", "credit", *args],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_book(path: Path, rows: int = 400, seed: int = 3) -> Path:
    """A small book: high utilisation and short tenure go bad more often."""
    rng = np.random.default_rng(seed)
    lines = [COLUMNS]
    for n in range(rows):
        utilisation = rng.uniform(0, 1)
        tenure = int(rng.integers(1, 120))
        channel = str(rng.choice(["app", "web", "branch"]))
        logit = -1.5 + 3 * (utilisation - 0.5) - 0.02 * (tenure - 60)
        outcome = "default" if rng.random() < 1 / (1 + np.exp(-logit)) else "paid"
        shown_tenure = "" if n % 37 == 0 else str(tenure)  # a few unknown
        lines.append(f"u{n},{utilisation:.3f},{shown_tenure},{channel},{outcome}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_book(tmp_path_factory.mktemp("credit") / "book.csv")


def refused(done: subprocess.CompletedProcess[str], code: str, words: str) -> None:
    assert done.returncode == 2, done.stderr + done.stdout
    assert done.stdout == ""
    assert f"error[{code}]" in done.stderr and words in done.stderr, done.stderr


def test_cv_prints_one_json_line_with_the_contract_keys(book: Path) -> None:
    done = run("cv", "--csv", str(book), "--target", "outcome", "--bad", "default", "--folds", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert {"auc_mean", "auc_std", "ks", "gini", "n", "bad_rate"} <= set(result)
    assert result["n"] == 400 and result["folds"] == 3 and result["model"] == "scorecard"
    assert 0.6 < result["auc_mean"] <= 1
    assert result["gini"] == pytest.approx(2 * result["auc_mean"] - 1, abs=1e-3)
    assert len(result["calibration"]) == 10


def test_train_then_score_gives_a_csv_per_row(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = run("train", "--csv", str(book), "--target", "outcome", "--bad", "default",
               "--out", str(out), "--model", "gbm")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "gbm"
    assert sorted(p.name for p in out.iterdir()) == ["gbm.txt", "metadata.json"]
    scored = run("score", "--model", str(out), "--csv", str(book))
    assert scored.returncode == 0, scored.stderr
    rows = list(csv.DictReader(io.StringIO(scored.stdout)))
    assert list(rows[0]) == ["row", "score", "band", "p_bad", *[f"reason_{n}" for n in range(1, 5)]]
    assert [r["row"] for r in rows[:2]] == ["u0", "u1"] and len(rows) == 400
    assert all(350 <= int(r["score"]) <= 950 and 0 < float(r["p_bad"]) < 1 for r in rows)
    assert {r["reason_1"] for r in rows} <= {"", "utilisation", "tenure_months", "channel"}


def test_a_missing_target_column_is_refused(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = run("train", "--csv", str(book), "--target", "label", "--bad", "1", "--out", str(out))
    refused(done, "invalid_input", "no target column 'label'")
    assert not out.exists()
    refused(run("cv", "--csv", str(book), "--target", "label", "--bad", "1"), "invalid_input",
            "no target column")  # fmt: skip


def test_one_class_only_is_refused(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = run("train", "--csv", str(book), "--target", "outcome", "--bad", "late", "--out",
               str(out))  # fmt: skip
    refused(done, "invalid_input", "one class only")
    assert not out.exists()


def test_unparseable_values_are_refused(book: Path, tmp_path: Path) -> None:
    lines = book.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[1], "0.4O", 1)  # letter O for zero
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines) + "\n")
    out = tmp_path / "model"
    done = run("train", "--csv", str(broken), "--target", "outcome", "--bad", "default",
               "--out", str(out))  # fmt: skip
    refused(done, "invalid_input", "'0.4O'")
    assert not out.exists()


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = tmp_path / "model"
    done = run("train", "--csv", str(empty), "--target", "outcome", "--bad", "default",
               "--out", str(out))  # fmt: skip
    refused(done, "invalid_input", "empty")
    assert not out.exists()
    header_only = tmp_path / "header.csv"
    header_only.write_text(COLUMNS + "\n")
    refused(run("cv", "--csv", str(header_only), "--target", "outcome", "--bad", "default"),
            "invalid_input", "no rows")  # fmt: skip


def test_an_unknown_model_directory_is_refused(book: Path, tmp_path: Path) -> None:
    refused(run("score", "--model", str(tmp_path / "nowhere"), "--csv", str(book)),
            "not_found", "no model directory")  # fmt: skip
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "metadata.json").write_text('{"format": 1, "kind": "scorecard"}')
    refused(run("score", "--model", str(tmp_path / "junk"), "--csv", str(book)),
            "invalid_input", "broken model")  # fmt: skip


def test_an_unknown_model_kind_is_refused(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = run("train", "--csv", str(book), "--target", "outcome", "--bad", "default",
               "--out", str(out), "--model", "forest")  # fmt: skip
    refused(done, "invalid_input", "unknown model 'forest'")
    assert not out.exists()


def test_training_into_a_used_directory_is_refused(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    done = run("train", "--csv", str(book), "--target", "outcome", "--bad", "default",
               "--out", str(out))  # fmt: skip
    refused(done, "conflict", "not empty")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
