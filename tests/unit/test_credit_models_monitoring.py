"""Discrimination, calibration, population stability and fairness reports."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huoqi.credit.models import calibration_table, discrimination, fairness, psi, psi_status
from huoqi.errors import InvalidInput


def test_discrimination_of_a_worked_example() -> None:
    # bads at 0.9, 0.4; goods at 0.8, 0.3, 0.1: of 6 bad/good pairs, 5 ordered right
    result = discrimination([1, 0, 1, 0, 0], [0.9, 0.8, 0.4, 0.3, 0.1])
    assert result["auc"] == pytest.approx(5 / 6)
    assert result["gini"] == pytest.approx(2 * 5 / 6 - 1)
    assert result["ks"] == pytest.approx(2 / 3)  # cut at 0.4: all bads, a third of goods
    assert discrimination([0, 1], [0.2, 0.7]) == {"auc": 1.0, "ks": 1.0, "gini": 1.0}


def test_discrimination_refuses_one_class_and_misaligned_arrays() -> None:
    with pytest.raises(InvalidInput):
        discrimination([1, 1], [0.2, 0.3])
    with pytest.raises(InvalidInput):
        discrimination([1, 0, 1], [0.2, 0.3])


def test_the_calibration_table_compares_deciles() -> None:
    p = np.linspace(0.01, 0.99, 1000)
    y = (np.random.default_rng(3).random(1000) < p).astype(int)
    table = calibration_table(y, p)
    assert [row["decile"] for row in table] == list(range(1, 11))
    assert sum(row["n"] for row in table) == 1000
    assert all(abs(row["predicted"] - row["observed"]) < 0.1 for row in table)
    assert table[0]["predicted"] < table[-1]["predicted"]


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6), min_size=20, max_size=300),
    shift=st.floats(-10, 10),
)
def test_psi_is_never_negative_and_zero_for_the_same_sample(
    values: list[float], shift: float
) -> None:
    sample = np.array(values)
    assert psi(sample, sample) == pytest.approx(0.0, abs=1e-12)
    assert psi(sample, sample + shift) >= -1e-12


def test_psi_reads_against_mission_thresholds() -> None:
    rng = np.random.default_rng(1)
    training = rng.normal(size=20_000)
    assert psi_status(psi(training, rng.normal(size=20_000))) == "stable"
    assert psi_status(psi(training, rng.normal(0.45, 1, size=20_000))) == "watch"
    assert psi_status(psi(training, rng.normal(1.0, 1, size=20_000))) == "shifted"
    assert [psi_status(v) for v in (0.0999, 0.10, 0.25, 0.2501)] == [
        "stable", "watch", "watch", "shifted",
    ]  # fmt: skip


def test_psi_of_categories_and_missing_values() -> None:
    before = np.array(["app"] * 50 + ["web"] * 50)
    after = np.array(["app"] * 90 + ["web"] * 10)
    expected = (0.9 - 0.5) * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5)
    assert psi(before, after) == pytest.approx(expected)
    with_gaps = np.array([1.0, 2.0, np.nan, 4.0] * 25)
    assert psi(with_gaps, with_gaps) == pytest.approx(0.0, abs=1e-12)
    assert psi(with_gaps, np.full(100, np.nan)) > 0.25


def test_fairness_flags_a_group_approved_under_four_fifths_as_often() -> None:
    frame = pd.DataFrame(
        {
            "age_band": ["18-25"] * 100 + ["26-40"] * 100,
            "approved": [True] * 50 + [False] * 50 + [True] * 80 + [False] * 20,
            "bad": ([1, 0] * 50) + ([0, 0, 0, 1] * 25),
            "p_bad": np.linspace(0.9, 0.1, 200),
        }
    )
    report = fairness(frame, "age_band")
    rows = {row["group"]: row for row in report["groups"]}  # type: ignore[attr-defined]
    assert report["reference"] == "26-40"
    assert rows["18-25"]["approval_rate"] == 0.5 and rows["26-40"]["approval_rate"] == 0.8
    assert rows["18-25"]["disparate_impact"] == pytest.approx(0.625)
    assert report["flagged"] == ["18-25"]
    assert rows["26-40"]["disparate_impact"] == 1.0 and not rows["26-40"]["flagged"]
    assert 0 <= rows["18-25"]["auc"] <= 1


def test_fairness_refuses_missing_columns() -> None:
    with pytest.raises(InvalidInput, match="p_bad"):
        fairness(pd.DataFrame({"g": ["a"], "approved": [1], "bad": [0]}), "g")
