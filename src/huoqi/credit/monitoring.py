"""Monitoring and fairness: population stability and approval rates by group.

PSI compares a recent window with the training data, per feature or for the score, with
MISSION's thresholds: below 0.10 stable, 0.10-0.25 watch, above 0.25 shifted. Fairness
reports approval rate and AUC per group and the disparate-impact ratio (a group's approval
rate over the best-treated group's), flagged below 0.8 (the four-fifths rule).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from huoqi.credit.evaluation import discrimination
from huoqi.errors import InvalidInput

PsiStatus = Literal["stable", "watch", "shifted"]
STABLE_BELOW = 0.10
SHIFTED_ABOVE = 0.25
FOUR_FIFTHS = 0.8
FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite


def _shares(expected: np.ndarray, actual: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    if expected.dtype.kind in "fiub" and actual.dtype.kind in "fiub":
        e = expected[~np.isnan(expected.astype(np.float64))].astype(np.float64)
        a = actual.astype(np.float64)
        edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
        e_bins = np.searchsorted(edges, e, side="right")
        a_bins = np.where(np.isnan(a), len(edges) + 1, np.searchsorted(edges, a, side="right"))
        size = len(edges) + 2  # the last bin holds missing values
        e_counts = np.bincount(e_bins, minlength=size).astype(np.float64)
        e_counts[-1] = np.isnan(expected.astype(np.float64)).sum()
        a_counts = np.bincount(a_bins, minlength=size).astype(np.float64)
    else:  # categories
        levels = sorted(set(map(str, expected)) | set(map(str, actual)))
        e_counts = pd.Series(expected.astype(str)).value_counts().reindex(levels, fill_value=0)
        a_counts = pd.Series(actual.astype(str)).value_counts().reindex(levels, fill_value=0)
        e_counts, a_counts = e_counts.to_numpy(float), a_counts.to_numpy(float)
    e_share = np.maximum(e_counts / e_counts.sum(), FLOOR)
    a_share = np.maximum(a_counts / a_counts.sum(), FLOOR)
    return e_share, a_share


def psi(expected: object, actual: object, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` (decile bins of the
    expected values; categories compared as they are)."""
    e = np.asarray(expected)
    a = np.asarray(actual)
    if e.size == 0 or a.size == 0:
        raise InvalidInput("PSI needs values on both sides")
    e_share, a_share = _shares(e, a, bins)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def psi_status(value: float) -> PsiStatus:
    """MISSION's reading of a PSI."""
    if value < STABLE_BELOW:
        return "stable"
    return "watch" if value <= SHIFTED_ABOVE else "shifted"


def fairness(
    frame: pd.DataFrame,
    group: str,
    *,
    approved: str = "approved",
    bad: str = "bad",
    p_bad: str = "p_bad",
) -> dict[str, object]:
    """Per group: rows, approval rate, AUC (None with one class), disparate-impact ratio
    against the group approved most often, and whether that ratio is below 0.8."""
    missing = [c for c in (group, approved, bad, p_bad) if c not in frame.columns]
    if missing:
        raise InvalidInput(f"fairness needs the column(s) {', '.join(missing)}")
    if frame.empty:
        raise InvalidInput("fairness needs rows")
    rows = []
    for name, part in frame.groupby(group, sort=True, dropna=False):
        y = part[bad].to_numpy(dtype=np.int64)
        auc = discrimination(y, part[p_bad])["auc"] if 0 < y.sum() < len(y) else None
        rate = float(part[approved].astype(bool).mean())
        rows.append({"group": str(name), "n": len(part), "approval_rate": rate, "auc": auc})
    best = max(rows, key=lambda row: float(row["approval_rate"]))  # type: ignore[arg-type]
    top = float(best["approval_rate"])  # type: ignore[arg-type]
    for row in rows:
        ratio = float(row["approval_rate"]) / top if top > 0 else 1.0  # type: ignore[arg-type]
        row["disparate_impact"] = ratio
        row["flagged"] = ratio < FOUR_FIFTHS
    return {
        "group_column": group,
        "reference": best["group"],
        "groups": rows,
        "flagged": [row["group"] for row in rows if row["flagged"]],
    }
