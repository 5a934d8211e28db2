"""The credit models' core: points scale, compiled scorecard, monotonicity, reasons, storage."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huoqi.credit.model_data import bad_flags, infer_schema, prepare
from huoqi.credit.models import (
    TrainedModel,
    band,
    fit_model,
    load_model,
    reason_text,
    score_from_log_odds,
)
from huoqi.credit.scorecard import fit_scorecard
from huoqi.errors import Conflict, InvalidInput, NotFound

DIRECTIONS = {"debt_ratio": 1, "months_at_address": -1}


def applicants(n: int, seed: int) -> pd.DataFrame:
    """A toy book: debt ratio raises risk, months at address lowers it, the region matters."""
    rng = np.random.default_rng(seed)
    debt = rng.gamma(2.0, 0.2, n)
    months = rng.integers(0, 240, n).astype(float)
    region = rng.choice(["north", "south", "west"], n)
    noise = rng.normal(size=n)
    logit = -1.2 + 3.0 * (debt - 0.4) - 0.01 * (months - 120) + np.where(region == "west", 0.8, 0)
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    months[rng.random(n) < 0.05] = np.nan  # some unknown
    return pd.DataFrame(
        {
            "debt_ratio": debt.round(3),
            "months_at_address": months,
            "region": region,
            "noise": noise.round(3),
            "outcome": np.where(bad, "bad", "good"),
        }
    )


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return applicants(800, seed=7)


@pytest.fixture(scope="module")
def models(book: pd.DataFrame) -> dict[str, TrainedModel]:
    return {
        kind: fit_model(book, target="outcome", bad="bad", kind=kind, directions=DIRECTIONS)
        for kind in ("scorecard", "gbm", "blend")
    }


def test_600_points_at_odds_9_to_1_and_50_more_per_doubling() -> None:
    assert score_from_log_odds(np.array([-math.log(9)]))[0] == 600
    assert score_from_log_odds(np.array([-math.log(18)]))[0] == 650
    assert score_from_log_odds(np.array([-math.log(4.5)]))[0] == 550
    assert list(score_from_log_odds(np.array([50.0, -50.0]))) == [350, 950]


def test_bands_follow_mission() -> None:
    scores = np.array([350, 549, 550, 599, 600, 649, 650, 699, 700, 950])
    assert list(band(scores)) == [
        "poor", "poor", "fair", "fair", "good", "good", "very good", "very good",
        "excellent", "excellent",
    ]  # fmt: skip


def test_the_compiled_card_reproduces_the_regression(book: pd.DataFrame) -> None:
    y = bad_flags(book, target="outcome", bad="bad")
    schema = infer_schema(book.drop(columns=["outcome"]))
    prepared = prepare(book, schema)
    card, regression_log_odds = fit_scorecard(prepared, y, schema, DIRECTIONS)
    compiled = card.intercept + card.contributions(prepared).sum(axis=1)
    np.testing.assert_allclose(compiled, regression_log_odds, atol=1e-9)
    singles = [
        card.intercept + sum(t.contribution(row[t.feature]) for t in card.tables)
        for row in book.head(50).to_dict("records")
    ]
    np.testing.assert_allclose(singles, regression_log_odds[:50], atol=1e-9)


@pytest.mark.parametrize("kind", ["scorecard", "gbm", "blend"])
def test_scores_are_in_range_and_track_the_outcome(
    models: dict[str, TrainedModel], kind: str
) -> None:
    fresh = applicants(1500, seed=99)
    scored = models[kind].score(fresh)
    assert scored["score"].between(350, 950).all()
    assert list(scored.columns) == ["score", "band", "p_bad", *[f"reason_{n}" for n in range(1, 5)]]
    bad = fresh["outcome"] == "bad"
    assert scored["score"][~bad].mean() > scored["score"][bad].mean() + 20
    # calibrated: the mean predicted bad rate is near the observed one
    assert abs(scored["p_bad"].mean() - bad.mean()) < 0.05


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["scorecard", "gbm", "blend"]),
    feature=st.sampled_from(sorted(DIRECTIONS)),
    row=st.integers(0, 799),
    step=st.floats(0.001, 300),
)
def test_improving_a_feature_in_its_good_direction_never_lowers_the_score(
    *,
    models: dict[str, TrainedModel],
    book: pd.DataFrame,
    kind: str,
    feature: str,
    row: int,
    step: float,
) -> None:
    before = book.iloc[[row]].drop(columns=["outcome"]).copy()
    if pd.isna(before[feature].iloc[0]):
        before[feature] = 60.0
    after = before.copy()
    after[feature] = before[feature] - DIRECTIONS[feature] * step  # the safer way
    model = models[kind]
    assert model.score(after)["score"].iloc[0] >= model.score(before)["score"].iloc[0]
    assert model.predict_bad(after)[0] <= model.predict_bad(before)[0] + 1e-12


@pytest.mark.parametrize("kind", ["scorecard", "gbm", "blend"])
def test_reasons_name_features_that_pushed_the_risk_up(
    models: dict[str, TrainedModel], book: pd.DataFrame, kind: str
) -> None:
    scored = models[kind].score(book.drop(columns=["outcome"]))
    reasons = scored[[f"reason_{n}" for n in range(1, 5)]].to_numpy()
    features = set(models[kind].features)
    for codes in reasons:
        named = [c for c in codes if c]
        assert set(named) <= features
        assert len(named) == len(set(named))
        assert all(codes[n] for n in range(len(named)))  # filled from the first slot
    clean = reasons[:, 0] == ""  # nothing pushed the risk up: only for good applicants
    assert clean.mean() < 0.5
    assert (scored["score"][clean] >= scored["score"].median()).all()


def test_the_best_applicant_on_the_card_has_no_reason(models: dict[str, TrainedModel]) -> None:
    card = models["scorecard"].components.scorecard
    assert card is not None
    best: dict[str, object] = {}
    for table in card.tables:
        if table.categorical:
            best[table.feature] = min(table.categories, key=lambda c: table.categories[c])
        else:
            index = int(np.argmin(table.contributions))
            edges = table.edges
            best[table.feature] = edges[index - 1] if index else (edges[0] - 1 if edges else 0.0)
    row = {f: best.get(f, 0.0) for f in models["scorecard"].features}
    reasons = [models["scorecard"].score_row(row)[f"reason_{n}"] for n in range(1, 5)]
    assert reasons == [""] * 4


def test_the_single_row_path_agrees_with_the_batch_path(
    models: dict[str, TrainedModel], book: pd.DataFrame
) -> None:
    model = models["scorecard"]
    features = book.drop(columns=["outcome"]).head(200)
    batch = model.score(features)
    for (_, expected), row in zip(batch.iterrows(), features.to_dict("records"), strict=True):
        single = model.score_row(row)
        assert single["score"] == expected["score"] and single["band"] == expected["band"]
        assert single["p_bad"] == pytest.approx(expected["p_bad"])
        assert [single[f"reason_{n}"] for n in range(1, 5)] == [
            expected[f"reason_{n}"] for n in range(1, 5)
        ]


@pytest.mark.parametrize("kind", ["scorecard", "gbm", "blend"])
def test_a_saved_model_scores_the_same_after_loading(
    models: dict[str, TrainedModel], book: pd.DataFrame, tmp_path: Path, kind: str
) -> None:
    models[kind].save(tmp_path / kind)
    loaded = load_model(tmp_path / kind)
    pd.testing.assert_frame_equal(loaded.score(book), models[kind].score(book))
    metadata = json.loads((tmp_path / kind / "metadata.json").read_text())
    assert metadata["kind"] == kind and metadata["target"] == "outcome"
    assert metadata["features"] == ["debt_ratio", "months_at_address", "region", "noise"]
    assert len(metadata["training_sha256"]) == 64
    assert 0.6 < metadata["metrics"]["out_of_fold_auc"] < 1


def test_saving_into_a_used_directory_is_refused(
    models: dict[str, TrainedModel], tmp_path: Path
) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(Conflict):
        models["scorecard"].save(tmp_path / "used")
    assert sorted(p.name for p in (tmp_path / "used").iterdir()) == ["notes.txt"]


def test_missing_and_broken_model_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_model(tmp_path / "absent")
    with pytest.raises(NotFound):
        load_model(tmp_path)
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(InvalidInput):
        load_model(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"format": 1, "kind": "gbm"}))
    with pytest.raises(InvalidInput, match="broken model"):
        load_model(tmp_path)


def test_bad_training_input_is_refused(book: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="no target column"):
        fit_model(book, target="default", bad="bad")
    with pytest.raises(InvalidInput, match="one class"):
        fit_model(book, target="outcome", bad="defaulted")
    typo = book.astype({"debt_ratio": object})
    typo.loc[5, "debt_ratio"] = "0.3x"
    with pytest.raises(InvalidInput, match="not numbers"):
        fit_model(typo, target="outcome", bad="bad")
    with pytest.raises(InvalidInput, match="not a feature"):
        fit_model(book, target="outcome", bad="bad", directions={"salary": 1})
    with pytest.raises(InvalidInput, match="categories"):
        fit_model(book, target="outcome", bad="bad", directions={"region": 1})
    with pytest.raises(InvalidInput, match="unknown model"):
        fit_model(book, target="outcome", bad="bad", kind="forest")


def test_scoring_refuses_missing_columns_and_text_in_numbers(
    models: dict[str, TrainedModel], book: pd.DataFrame
) -> None:
    with pytest.raises(InvalidInput, match="lacks"):
        models["gbm"].score(book.drop(columns=["region"]))
    typo = book.astype({"months_at_address": object})
    typo.loc[0, "months_at_address"] = "ten"
    with pytest.raises(InvalidInput, match="not numbers"):
        models["scorecard"].score(typo)


def test_reason_texts_in_both_languages() -> None:
    assert reason_text("debt_ratio", "en") == "Your debt ratio lowered your score"
    chinese = reason_text("debt_ratio", "zh")
    assert "debt ratio" in chinese and "拉低" in chinese
    assert reason_text("", "zh") == ""


def test_a_column_with_no_values_is_left_out_of_the_card(book: pd.DataFrame) -> None:
    with_gap = book.assign(unknown=np.nan)
    model = fit_model(with_gap, target="outcome", bad="bad", directions=DIRECTIONS)
    assert model.components.scorecard is not None
    assert "unknown" not in model.components.scorecard.features
    assert "unknown" in model.features  # still expected in the input
    scored = model.score(with_gap.head(20))
    assert "unknown" not in set(scored[[f"reason_{n}" for n in range(1, 5)]].to_numpy().ravel())


def test_the_single_row_path_refuses_missing_features_and_text(
    models: dict[str, TrainedModel],
) -> None:
    model = models["scorecard"]
    row = {"debt_ratio": 0.3, "months_at_address": 12.0, "region": "north", "noise": 0.0}
    assert 350 <= int(model.score_row(row)["score"]) <= 950  # type: ignore[call-overload]
    with pytest.raises(InvalidInput, match="lacks"):
        model.score_row({k: v for k, v in row.items() if k != "region"})
    with pytest.raises(InvalidInput, match="numbers"):
        model.score_row({**row, "debt_ratio": "a lot"})
