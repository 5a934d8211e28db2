"""End to end on synthetic data: simulate → features → train on earlier cohorts → out-of-time.

The generator's application cohorts are months; the models (`huoqi.credit.models`) are
trained on every cohort but the last ``test_cohorts`` and evaluated on those later ones,
as a lender would: trained on the past, judged on applicants it never saw. Beside each
model's out-of-time AUC stands the generator's ceiling on the same applicants (the AUC of
its own true default probability), the score's PSI between the training and the later
applicants, the PSI of every feature between the two, approval rate and AUC by age band with
the disparate-impact ratio (flagged below 0.8), and the time each step took.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import polars as pl

from huoqi.credit.dictionary import DIRECTIONS, NAMES, register_reasons
from huoqi.credit.features import compute_features
from huoqi.credit.simulate import Simulation, auc, simulate
from huoqi.errors import InvalidInput

TARGET = "bad"
EVALUATION = "evaluation.json"  # beside a saved model: its out-of-time figures
APPROVE = 600  # a score of "good" or better is approved, for the fairness report


@dataclass
class PipelineResult:
    users: int
    events: int
    seed: int
    train_cohorts: list[int]
    test_cohorts: list[int]
    bad_rate: float
    ceiling_auc: float  # on the out-of-time applicants
    feature_psi: dict[str, float] = field(default_factory=dict)  # training vs out-of-time
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "events": self.events,
            "seed": self.seed,
            "train_cohorts": self.train_cohorts,
            "test_cohorts": self.test_cohorts,
            "bad_rate": round(self.bad_rate, 4),
            "ceiling_auc_oot": round(self.ceiling_auc, 4),
            "feature_psi_max": max(self.feature_psi.values(), default=0.0),
            "feature_psi_not_stable": {k: v for k, v in self.feature_psi.items() if v >= 0.10},
            "models": self.models,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def training_frame(simulation: Simulation, features: pl.DataFrame) -> pd.DataFrame:
    """Features with the outcome (``bad`` 1/0), the cohort and the age band (for fairness
    reports only: never a model input)."""
    labelled = features.join(
        simulation.users.select("user_id", "cohort", "age_band", pl.col("bad").cast(pl.Int64)),
        on="user_id",
        maintain_order="left",
    )
    return labelled.to_pandas()


def run_pipeline(
    users: int,
    *,
    seed: int = 1,
    kinds: Sequence[str] = ("scorecard", "gbm"),
    cohorts: int = 6,
    test_cohorts: int = 2,
    out: Path | None = None,
    progress: Callable[[str], None] = lambda _step: None,
) -> PipelineResult:
    from huoqi.credit.models import discrimination, fairness, fit_model, psi, psi_status

    if not 1 <= test_cohorts < cohorts:
        raise InvalidInput(f"test cohorts must be 1 to {cohorts - 1}, not {test_cohorts}")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    progress(f"simulating {users:,} users")
    simulation = simulate(users, seed=seed, cohorts=cohorts)
    seconds["simulate"] = time.perf_counter() - started
    progress(f"features from {simulation.events.height:,} events")
    started = time.perf_counter()
    features = compute_features(simulation.events, simulation.users)
    seconds["features"] = time.perf_counter() - started
    frame = training_frame(simulation, features)
    cut = cohorts - test_cohorts
    train = frame[frame["cohort"] < cut]
    test = frame[frame["cohort"] >= cut]
    later = simulation.users.filter(pl.col("cohort") >= cut)
    for part, name in ((train, "training"), (test, "out-of-time")):
        if part[TARGET].nunique() < 2:
            raise InvalidInput(f"the {name} cohorts hold one outcome only: simulate more users")
    result = PipelineResult(
        users=users,
        events=simulation.events.height,
        seed=seed,
        train_cohorts=list(range(cut)),
        test_cohorts=list(range(cut, cohorts)),
        bad_rate=float(frame[TARGET].mean()),
        ceiling_auc=auc(later["bad"].to_numpy(), later["p_true"].to_numpy()),
        seconds=seconds,
    )
    result.feature_psi = {name: round(psi(train[name], test[name]), 4) for name in NAMES}
    register_reasons()
    columns = [*NAMES, TARGET]
    for kind in kinds:
        progress(f"training the {kind} on cohorts 0-{cut - 1} ({len(train):,} applicants)")
        started = time.perf_counter()
        model = fit_model(
            train[columns], target=TARGET, bad=1, kind=kind, directions=DIRECTIONS, seed=seed
        )
        seconds[f"train_{kind}"] = time.perf_counter() - started
        y_test = test[TARGET].to_numpy()
        p_test = model.predict_bad(test[list(NAMES)])
        scores_train = model.score(train[list(NAMES)])["score"].to_numpy()
        scores_test = model.score(test[list(NAMES)])["score"].to_numpy()
        drift = psi(scores_train, scores_test)
        found = discrimination(y_test, p_test)
        judged = test[["age_band", TARGET]].assign(p_bad=p_test, approved=scores_test >= APPROVE)
        groups = fairness(judged, "age_band")["groups"]
        result.models[kind] = {
            "auc_oot": round(found["auc"], 4),
            "ks_oot": round(found["ks"], 4),
            "gini_oot": round(found["gini"], 4),
            "mean_p_bad_oot": round(float(np.mean(p_test)), 4),
            "bad_rate_oot": round(float(np.mean(y_test)), 4),
            "score_psi": round(drift, 4),
            "score_psi_status": psi_status(drift),
            "version": model.metadata.get("version"),
            "fairness_by_age_band": {
                row["group"]: {
                    "n": row["n"],
                    "approval_rate": round(row["approval_rate"], 4),
                    "auc": None if row["auc"] is None else round(row["auc"], 4),
                    "disparate_impact": round(row["disparate_impact"], 4),
                    "flagged": row["flagged"],
                }
                for row in groups  # type: ignore[attr-defined]
            },
        }
        if out is not None:
            model.save(out / kind)
            # the out-of-time evaluation (fairness included) travels with the artefacts,
            # so registering the model puts it in the registry for the console
            (out / kind / EVALUATION).write_text(json.dumps(result.models[kind], sort_keys=True))
            result.models[kind]["artefacts"] = str(out / kind)
    return result
