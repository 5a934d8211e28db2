"""The scorecard: monotonic optimal binning, weight of evidence, logistic regression.

optbinning finds the bins (monotone in each numeric feature's direction) and their weight
of evidence; a logistic regression weighs the features. The fit is then compiled into plain
tables: per numeric feature its bin edges and each bin's contribution to the log-odds of
bad, per categorical feature a category -> contribution map. Scoring needs nothing but
NumPy (``np.searchsorted`` over the edges), and the artefact is plain JSON.

A feature whose fitted contributions run against its direction (collinear features can flip
a regression weight) is dropped and the regression refitted, so the card is monotone in
every feature that has a direction.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from optbinning import BinningProcess  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from huoqi.credit.model_data import Schema
from huoqi.errors import RuleViolation

MIN_PREBIN_SIZE = 0.03  # smallest pre-bin, as a share of the rows
REGULARISATION_C = 0.5  # inverse L2 strength of the regression over weights of evidence
TRENDS = {1: "ascending", -1: "descending", 0: "auto"}  # bad rate against the feature


@dataclass(frozen=True)
class FeatureTable:
    """One feature's contribution to the log-odds of bad, per bin (numeric) or category."""

    feature: str
    edges: tuple[float, ...]  # numeric: bin i holds edges[i-1] <= x < edges[i]
    contributions: tuple[float, ...]  # numeric: per bin
    categories: Mapping[str, float]  # categorical: per category seen in training
    missing: float  # a missing value
    categorical: bool

    @property
    def best(self) -> float:
        """The lowest contribution a value can earn (the best attainable points)."""
        values = self.categories.values() if self.categorical else self.contributions
        return min(values, default=0.0)

    def contribution(self, value: object) -> float:
        """The contribution of one value (the single-row path: no NumPy, no pandas)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing
        if self.categorical:
            return self.categories.get(str(value), 0.0)  # unseen: neutral, as optbinning
        return self.contributions[bisect.bisect_right(self.edges, float(value))]  # type: ignore[arg-type]

    def column(self, values: pd.Series) -> np.ndarray:
        """Contributions of a whole column (the batch path)."""
        if self.categorical:
            mapped = values.map(self.categories).astype("float64").to_numpy(na_value=np.nan)
            return np.where(values.isna().to_numpy(), self.missing, np.nan_to_num(mapped, nan=0.0))
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        points = np.asarray(self.contributions)[np.searchsorted(self.edges, x, side="right")]
        return np.where(np.isnan(x), self.missing, points)

    def respects(self, direction: int) -> bool:
        """Whether the contribution never falls as the value moves in its risky direction."""
        if self.categorical or direction == 0:
            return True
        steps = np.diff(self.contributions) * direction
        return bool(np.all(steps >= -1e-12))

    def as_json(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "categorical": self.categorical,
            "edges": list(self.edges),
            "contributions": list(self.contributions),
            "categories": dict(self.categories),
            "missing": self.missing,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> FeatureTable:
        return cls(
            feature=str(data["feature"]),
            edges=tuple(data["edges"]),  # type: ignore[arg-type]
            contributions=tuple(data["contributions"]),  # type: ignore[arg-type]
            categories=dict(data["categories"]),  # type: ignore[call-overload]
            missing=float(data["missing"]),  # type: ignore[arg-type]
            categorical=bool(data["categorical"]),
        )


@dataclass(frozen=True)
class Scorecard:
    """Log-odds of bad = intercept + the sum of each feature's contribution."""

    intercept: float
    tables: tuple[FeatureTable, ...]

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(t.feature for t in self.tables)

    def contributions(self, prepared: pd.DataFrame) -> np.ndarray:
        """Rows x features: each feature's contribution to the log-odds of bad."""
        return np.column_stack([t.column(prepared[t.feature]) for t in self.tables])

    def shortfalls(self, contributions: np.ndarray) -> np.ndarray:
        """How far each feature's points fell below the best attainable (log-odds units)."""
        best = np.asarray([t.best for t in self.tables], dtype=np.float64)
        shortfalls: np.ndarray = contributions - best
        return shortfalls

    def as_json(self) -> dict[str, object]:
        return {"intercept": self.intercept, "tables": [t.as_json() for t in self.tables]}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Scorecard:
        tables = data["tables"]
        assert isinstance(tables, list)
        return cls(float(data["intercept"]), tuple(FeatureTable.from_json(t) for t in tables))  # type: ignore[arg-type]


def _compile(process: BinningProcess, regression: LogisticRegression, names: list[str],
             schema: Schema) -> Scorecard:  # fmt: skip
    tables = []
    for weight, name in zip(regression.coef_[0], names, strict=True):
        binning = process.get_binned_variable(name)
        missing = float(weight * binning.transform(np.array([np.nan]), metric="woe")[0])
        if schema.is_categorical(name):
            seen = np.array(schema.categories[name], dtype=object)
            woe = binning.transform(seen, metric="woe") if len(seen) else np.array([])
            categories = {str(c): float(weight * w) for c, w in zip(seen, woe, strict=True)}
            tables.append(FeatureTable(name, (), (), categories, missing, categorical=True))
            continue
        edges = [float(e) for e in binning.splits]
        inside = [edges[0] - 1.0, *edges] if edges else [0.0]  # one value in each bin
        woe = binning.transform(np.array(inside), metric="woe")
        points = tuple(float(weight * w) for w in woe)
        tables.append(FeatureTable(name, tuple(edges), points, {}, missing, categorical=False))
    return Scorecard(float(regression.intercept_[0]), tuple(tables))


def fit_scorecard(
    prepared: pd.DataFrame, y: np.ndarray, schema: Schema, directions: Mapping[str, int]
) -> tuple[Scorecard, np.ndarray]:
    """The card, and the regression's own log-odds for the training rows (a check on the
    compiled tables). A feature with no values at all carries nothing and is left out."""
    names = [n for n in schema.features if prepared[n].notna().any()]
    while names:
        numeric = [n for n in names if not schema.is_categorical(n)]
        process = BinningProcess(
            names,
            categorical_variables=[n for n in names if schema.is_categorical(n)],
            min_prebin_size=MIN_PREBIN_SIZE,
            binning_fit_params={
                n: {"monotonic_trend": TRENDS[directions.get(n, 0)]} for n in numeric
            },
        )
        process.fit(prepared[names], y)
        woe = process.transform(prepared[names], metric="woe")
        regression = LogisticRegression(C=REGULARISATION_C, max_iter=1000).fit(woe, y)
        card = _compile(process, regression, names, schema)
        against = {t.feature for t in card.tables if not t.respects(directions.get(t.feature, 0))}
        if not against:
            return card, regression.decision_function(woe)
        names = [n for n in names if n not in against]
    raise RuleViolation("no feature keeps its direction in the scorecard: nothing to score with")
