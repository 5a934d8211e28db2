"""How well a model separates and how honest its probabilities are: AUC, KS, Gini, calibration.

Plain functions over arrays: ``y_bad`` holds 1 for a bad outcome, ``p_bad`` the predicted
probability (or any score where larger means riskier, for the rank measures).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve  # type: ignore[import-untyped]

from huoqi.errors import InvalidInput

DECILES = 10


def _arrays(y_bad: object, p_bad: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_bad, dtype=np.int64)
    p = np.asarray(p_bad, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise InvalidInput(f"outcomes {y.shape} and predictions {p.shape} do not line up")
    if np.isnan(p).any():
        raise InvalidInput("predictions hold NaN")
    return y, p


def discrimination(y_bad: object, p_bad: object) -> dict[str, float]:
    """AUC, KS (largest gap between the bad and good cumulative shares) and Gini (2 AUC - 1)."""
    y, p = _arrays(y_bad, p_bad)
    if y.size == 0 or y.min() == y.max():
        raise InvalidInput("discrimination needs both good and bad outcomes")
    auc = float(roc_auc_score(y, p))
    false_positive, true_positive, _ = roc_curve(y, p)
    ks = float(np.max(true_positive - false_positive))
    return {"auc": auc, "ks": ks, "gini": 2.0 * auc - 1.0}


def calibration_table(
    y_bad: object, p_bad: object, groups: int = DECILES
) -> list[dict[str, float]]:
    """Per group of equal size by predicted risk (lowest first): rows, mean predicted and
    observed bad rate."""
    y, p = _arrays(y_bad, p_bad)
    order = np.argsort(p, kind="stable")
    table = []
    for number, part in enumerate(np.array_split(order, min(groups, len(order))), start=1):
        table.append(
            {
                "decile": number,
                "n": len(part),
                "predicted": round(float(p[part].mean()), 4),
                "observed": round(float(y[part].mean()), 4),
            }
        )
    return table


def brier(y_bad: object, p_bad: object) -> float:
    """Mean squared gap between predicted probability and outcome."""
    y, p = _arrays(y_bad, p_bad)
    return float(np.mean((p - y) ** 2))
