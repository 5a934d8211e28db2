"""The challenger: LightGBM with monotone constraints.

Trained on a plain float matrix (categories as their index in the training categories,
LightGBM's own categorical splits), so scoring never builds a pandas frame. A feature with
a direction gets a monotone constraint on the log-odds of bad (+1: larger is riskier), so
improving it can never raise the predicted risk. Contributions per feature
(``pred_contrib``) give the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from huoqi.credit.model_data import Schema

ROUNDS = 500
PARAMETERS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.02,
    "num_leaves": 8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "feature_fraction": 0.5,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbose": -1,
}


@dataclass(frozen=True)
class Gbm:
    booster: lgb.Booster

    def log_odds(self, matrix: np.ndarray) -> np.ndarray:
        """Raw log-odds of bad per row."""
        return np.asarray(self.booster.predict(matrix, raw_score=True), dtype=np.float64)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Rows x features: each feature's contribution to the log-odds (the bias left out)."""
        both = np.asarray(self.booster.predict(matrix, pred_contrib=True), dtype=np.float64)
        return both[:, :-1]

    def to_text(self) -> str:
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, text: str) -> Gbm:
        return cls(lgb.Booster(model_str=text))


def fit_gbm(
    matrix: np.ndarray, y: np.ndarray, schema: Schema, directions: Mapping[str, int], seed: int
) -> Gbm:
    """Boosted trees over ``matrix`` (columns in ``schema.features`` order)."""
    categorical = [j for j, f in enumerate(schema.features) if schema.is_categorical(f)]
    constraints = [0 if schema.is_categorical(f) else directions.get(f, 0) for f in schema.features]
    data = lgb.Dataset(
        matrix,
        label=y,
        feature_name=[f"f{j}" for j in range(len(schema.features))],  # any column name is safe
        categorical_feature=categorical,
        free_raw_data=True,
    )
    parameters = {**PARAMETERS, "seed": seed, "monotone_constraints": constraints}
    booster = lgb.train(parameters, data, num_boost_round=ROUNDS)
    return Gbm(booster)
