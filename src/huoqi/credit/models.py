"""Credit models: the one module the rest of Huoqi imports.

* `fit_model` trains a scorecard (monotonic optimal binning, WoE, logistic regression), a
  LightGBM challenger with monotone constraints, or their blend; `TrainedModel.score` gives
  per applicant a score (350-950), MISSION's band, a calibrated probability of bad and four
  reason codes (`reason_text` puts them in plain Chinese or English).
* `cross_validate` is stratified k-fold evaluation: AUC, KS, Gini, calibration by decile.
* `psi` / `psi_status` and `fairness` are the monitoring reports.

The parts live in scorecard.py, gbm.py, model_fit.py, evaluation.py, monitoring.py and
reasons.py; see docs/credit-models.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

from huoqi.credit.evaluation import brier, calibration_table, discrimination
from huoqi.credit.model_data import KINDS, ModelKind, bad_flags, check_kind
from huoqi.credit.model_fit import (
    BANDS,
    TrainedModel,
    band,
    fit_model,
    load_model,
    score_from_log_odds,
)
from huoqi.credit.monitoring import fairness, psi, psi_status
from huoqi.credit.reasons import reason_text, register_reason_texts
from huoqi.errors import InvalidInput

__all__ = [
    "BANDS",
    "KINDS",
    "ModelKind",
    "TrainedModel",
    "band",
    "brier",
    "calibration_table",
    "cross_validate",
    "discrimination",
    "fairness",
    "fit_model",
    "load_model",
    "psi",
    "psi_status",
    "reason_text",
    "register_reason_texts",
    "score_from_log_odds",
]


def cross_validate(
    frame: pd.DataFrame, *, target: str, bad: object, kind: str = "scorecard", folds: int = 10,
    seed: int = 1, directions: Mapping[str, int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Stratified k-fold evaluation: each fold's model is trained (directions, binning,
    calibration and all) on the other folds only."""
    check_kind(kind)
    y = bad_flags(frame, target=target, bad=bad)
    smaller = int(min(y.sum(), len(y) - y.sum()))
    if not 2 <= folds <= smaller:
        raise InvalidInput(
            f"{folds} folds need 2 to {smaller} rows of the smaller class per fold split; "
            f"the data has {smaller} rows of it"
        )
    p_bad = np.zeros(len(y))
    per_fold = []
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), y):
        model = fit_model(
            frame.iloc[train], target=target, bad=bad, kind=kind, directions=directions, seed=seed
        )
        p_bad[test] = model.predict_bad(frame.iloc[test])
        per_fold.append(discrimination(y[test], p_bad[test]))
    aucs = np.array([f["auc"] for f in per_fold])
    return {
        "model": kind,
        "folds": folds,
        "seed": seed,
        "n": len(y),
        "bad_rate": round(float(y.mean()), 4),
        "auc_mean": round(float(aucs.mean()), 4),
        "auc_std": round(float(aucs.std(ddof=1)), 4),
        "ks": round(float(np.mean([f["ks"] for f in per_fold])), 4),
        "gini": round(float(2 * aucs.mean() - 1), 4),
        "auc_pooled": round(discrimination(y, p_bad)["auc"], 4),
        "brier": round(brier(y, p_bad), 4),
        "fold_auc": [round(float(a), 4) for a in aucs],
        "calibration": calibration_table(y, p_bad),
    }
