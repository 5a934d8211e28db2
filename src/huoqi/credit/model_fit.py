"""Train, save, load and apply a credit model: scorecard, LightGBM challenger, or their blend.

Every kind produces a raw risk per row (larger = riskier: the scorecard's and LightGBM's
log-odds of bad; for the blend, the sum of both standardised by their training spread).
Platt scaling, fitted on out-of-fold raw risks (3 folds inside the training data), turns it
into calibrated log-odds, hence ``p_bad``; the score is those log-odds on a points scale
(600 points at good:bad odds of 9:1, 50 points to double the odds), rounded half up and
clipped to 350-950. The calibration slope is positive, so a model monotone in a feature
gives scores monotone in it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from lightgbm.basic import LightGBMError
from scipy.stats import spearmanr  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

from huoqi.credit.evaluation import discrimination
from huoqi.credit.gbm import Gbm, fit_gbm
from huoqi.credit.model_data import (
    KINDS,
    Schema,
    bad_flags,
    categorical_codes,
    check_kind,
    infer_schema,
    prepare,
)
from huoqi.credit.model_store import read_artefacts, write_artefacts
from huoqi.credit.reasons import REASONS, top_reasons
from huoqi.credit.scorecard import Scorecard, fit_scorecard
from huoqi.errors import InvalidInput

FORMAT = 1
MIN_SCORE, MAX_SCORE = 350, 950
BASE_SCORE, BASE_ODDS, DOUBLING = 600, 9.0, 50  # points at odds good:bad 9:1; points to double
FACTOR = DOUBLING / math.log(2)
OFFSET = BASE_SCORE - FACTOR * math.log(BASE_ODDS)
BAND_FLOORS = (550, 600, 650, 700)  # MISSION §5: 350-550 poor ... 700-950 excellent
BANDS = ("poor", "fair", "good", "very good", "excellent")
CALIBRATION_FOLDS = 3
DIRECTION_P_VALUE = 0.01  # a numeric feature's direction is inferred when this clear
REASON_COLUMNS = tuple(f"reason_{n}" for n in range(1, REASONS + 1))


def score_from_log_odds(log_odds: np.ndarray) -> np.ndarray:
    """Points for calibrated log-odds of bad: OFFSET - FACTOR x log-odds, rounded half up
    to a whole point and clipped to 350-950."""
    points = np.floor(OFFSET - FACTOR * np.asarray(log_odds, dtype=np.float64) + 0.5)
    return np.clip(points, MIN_SCORE, MAX_SCORE).astype(np.int64)


def band(scores: np.ndarray) -> np.ndarray:
    """MISSION's band of each score (a band's lower bound belongs to it)."""
    return np.asarray(BANDS, dtype=object)[np.searchsorted(BAND_FLOORS, scores, side="right")]


@dataclass(frozen=True)
class Components:
    """The fitted parts and, for the blend, each part's training mean and spread."""

    scorecard: Scorecard | None
    gbm: Gbm | None
    centre: tuple[float, float] = (0.0, 0.0)
    spread: tuple[float, float] = (1.0, 1.0)

    def raw(
        self, prepared: pd.DataFrame, matrix: np.ndarray | None, card: np.ndarray | None = None
    ) -> np.ndarray:
        """Raw risk per row; ``card``: the scorecard's contributions, if already computed."""
        parts = self._parts(prepared, matrix, card)
        return sum(((p - c) / s for p, c, s in parts), np.zeros(len(prepared)))

    def _parts(
        self, prepared: pd.DataFrame, matrix: np.ndarray | None, card: np.ndarray | None = None
    ) -> list[tuple[np.ndarray, float, float]]:
        parts = []
        if self.scorecard is not None:
            if card is None:
                card = self.scorecard.contributions(prepared)
            log_odds = self.scorecard.intercept + card.sum(1)
            parts.append((log_odds, self.centre[0], self.spread[0]))
        if self.gbm is not None:
            assert matrix is not None
            parts.append((self.gbm.log_odds(matrix), self.centre[1], self.spread[1]))
        return parts

    def adverse(
        self, prepared: pd.DataFrame, matrix: np.ndarray | None, schema: Schema,
        card: np.ndarray | None = None,
    ) -> np.ndarray:  # fmt: skip
        """Rows x schema features: how far each feature pushed the raw risk up."""
        amounts = np.zeros((len(prepared), len(schema.features)))
        if self.scorecard is not None:
            tables = self.scorecard
            if card is None:
                card = tables.contributions(prepared)
            columns = [schema.features.index(f) for f in tables.features]
            amounts[:, columns] += tables.shortfalls(card) / self.spread[0]
        if self.gbm is not None:
            assert matrix is not None
            amounts += self.gbm.contributions(matrix) / self.spread[1]
        return amounts


def _fit_components(
    kind: str,
    *, prepared: pd.DataFrame, y: np.ndarray, schema: Schema,
    directions: Mapping[str, int], seed: int,
) -> Components:  # fmt: skip
    card = fit_scorecard(prepared, y, schema, directions)[0] if kind != "gbm" else None
    gbm = None
    if kind != "scorecard":
        gbm = fit_gbm(categorical_codes(prepared, schema), y, schema, directions, seed)
    if kind != "blend":
        return Components(card, gbm)
    plain = Components(card, gbm)
    matrix = categorical_codes(prepared, schema)
    parts = plain._parts(prepared, matrix)
    centre = (float(parts[0][0].mean()), float(parts[1][0].mean()))
    spread = (float(parts[0][0].std()) or 1.0, float(parts[1][0].std()) or 1.0)
    return Components(card, gbm, centre, spread)


@dataclass(frozen=True)
class TrainedModel:
    kind: str
    schema: Schema
    components: Components
    slope: float  # calibrated log-odds = slope x raw + intercept
    intercept: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        return self.schema.features

    def _inputs(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
        prepared = prepare(frame, self.schema)
        needs_matrix = self.components.gbm is not None
        return prepared, categorical_codes(prepared, self.schema) if needs_matrix else None

    def log_odds(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds of bad per row."""
        prepared, matrix = self._inputs(frame)
        return self.slope * self.components.raw(prepared, matrix) + self.intercept

    def predict_bad(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of bad per row."""
        p_bad: np.ndarray = 1.0 / (1.0 + np.exp(-self.log_odds(frame)))
        return p_bad

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: score (350-950), band, p_bad and the four reasons (codes, worst first)."""
        prepared, matrix = self._inputs(frame)
        parts = self.components
        card = parts.scorecard.contributions(prepared) if parts.scorecard is not None else None
        log_odds = self.slope * parts.raw(prepared, matrix, card) + self.intercept
        scores = score_from_log_odds(log_odds)
        reasons = top_reasons(parts.adverse(prepared, matrix, self.schema, card), self.features)
        result = pd.DataFrame(
            {"score": scores, "band": band(scores), "p_bad": 1.0 / (1.0 + np.exp(-log_odds))},
            index=frame.index,
        )
        for n, column in enumerate(REASON_COLUMNS):
            result[column] = reasons[:, n]
        return result

    def score_row(self, row: Mapping[str, object]) -> dict[str, object]:
        """One applicant, the fast path: a scorecard adds up its tables without pandas."""
        card = self.components.scorecard
        if self.kind != "scorecard" or card is None:
            scored = self.score(pd.DataFrame([dict(row)]))
            return {k: v.item() if hasattr(v, "item") else v for k, v in scored.iloc[0].items()}
        missing = [f for f in self.features if f not in row]
        if missing:
            raise InvalidInput(f"the applicant lacks the model's feature(s): {', '.join(missing)}")
        try:
            contributions = [t.contribution(row[t.feature]) for t in card.tables]
        except (TypeError, ValueError):
            shown = {t.feature: row[t.feature] for t in card.tables if not t.categorical}
            raise InvalidInput(f"numeric features must hold numbers: {shown}") from None
        log_odds = self.slope * (card.intercept + sum(contributions)) + self.intercept
        points = int(score_from_log_odds(np.array([log_odds]))[0])
        shortfalls = sorted(
            ((c - t.best, t.feature) for c, t in zip(contributions, card.tables, strict=True)),
            key=lambda pair: -pair[0],
        )
        codes = [name for amount, name in shortfalls[:REASONS] if amount > 1e-9]
        codes += [""] * (REASONS - len(codes))
        return {
            "score": points,
            "band": str(band(np.array([points]))[0]),
            "p_bad": 1.0 / (1.0 + math.exp(-log_odds)),
            **dict(zip(REASON_COLUMNS, codes, strict=True)),
        }

    def save(self, directory: Path) -> None:
        """Write the artefacts and metadata.json into ``directory`` (new or empty)."""
        files = {"metadata.json": json.dumps(self.metadata, indent=2, sort_keys=True)}
        if self.components.scorecard is not None:
            files["scorecard.json"] = json.dumps(self.components.scorecard.as_json())
        if self.components.gbm is not None:
            files["gbm.txt"] = self.components.gbm.to_text()
        write_artefacts(directory, files)


def infer_directions(
    prepared: pd.DataFrame, y: np.ndarray, schema: Schema, given: Mapping[str, int] | None
) -> dict[str, int]:
    """Given directions, checked; every other numeric feature's from its rank correlation
    with bad (when clear at p < 0.01), else none."""
    given = dict(given or {})
    for name, direction in given.items():
        if name not in schema.features:
            raise InvalidInput(f"direction given for {name!r}, which is not a feature")
        if schema.is_categorical(name):
            raise InvalidInput(f"direction given for {name!r}, which holds categories")
        if direction not in (1, -1):
            raise InvalidInput(f"direction of {name!r} must be +1 or -1, not {direction!r}")
    directions = {}
    for name in schema.numeric:
        if name in given:
            directions[name] = given[name]
            continue
        present = prepared[name].notna().to_numpy()
        values = prepared[name].to_numpy()[present]
        if len(np.unique(values)) < 2 or len(np.unique(y[present])) < 2:
            directions[name] = 0
            continue
        rho, p_value = spearmanr(values, y[present])
        directions[name] = int(np.sign(rho)) if p_value < DIRECTION_P_VALUE else 0
    return directions


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    regression = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    slope, intercept = float(regression.coef_[0, 0]), float(regression.intercept_[0])
    return (slope, intercept) if slope > 0 else (1.0, 0.0)


def fit_model(
    frame: pd.DataFrame, *, target: str, bad: object, kind: str = "scorecard",
    directions: Mapping[str, int] | None = None, seed: int = 1,
) -> TrainedModel:  # fmt: skip
    """Train a model of ``kind`` to predict ``target == bad`` from every other column."""
    check_kind(kind)
    y = bad_flags(frame, target=target, bad=bad)
    schema = infer_schema(frame.drop(columns=[target]))
    prepared = prepare(frame, schema)
    chosen = infer_directions(prepared, y, schema, directions)
    components = _fit_components(
        kind, prepared=prepared, y=y, schema=schema, directions=chosen, seed=seed
    )
    out_of_fold = np.zeros(len(y))
    if min(y.sum(), len(y) - y.sum()) >= CALIBRATION_FOLDS:
        folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
        for train, test in folds.split(np.zeros(len(y)), y):
            part = _fit_components(
                kind, prepared=prepared.iloc[train], y=y[train], schema=schema,
                directions=chosen, seed=seed,
            )  # fmt: skip
            held = prepared.iloc[test]
            matrix = categorical_codes(held, schema) if part.gbm is not None else None
            out_of_fold[test] = part.raw(held, matrix)
    else:  # too few rows of a class to hold any out: calibrate in sample
        matrix = categorical_codes(prepared, schema) if components.gbm is not None else None
        out_of_fold = components.raw(prepared, matrix)
    slope, intercept = _platt(out_of_fold, y)
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    created = datetime.now(UTC)
    metadata = {
        "format": FORMAT,
        "version": f"{kind}-{created:%Y%m%dT%H%M%SZ}-{digest[:8]}",
        "created_at": created.isoformat(timespec="seconds"),
        "kind": kind,
        "features": list(schema.features),
        "schema": schema.as_json(),
        "directions": chosen,
        "target": target,
        "bad": str(bad),
        "seed": seed,
        "training_sha256": digest,
        "rows": len(y),
        "bad_rate": float(y.mean()),
        "metrics": {f"out_of_fold_{k}": v for k, v in discrimination(y, out_of_fold).items()},
        "calibration": {"method": "platt", "slope": slope, "intercept": intercept},
        "blend": {"centre": list(components.centre), "spread": list(components.spread)},
    }
    return TrainedModel(kind, schema, components, slope, intercept, metadata)


def load_model(directory: Path) -> TrainedModel:
    """The model saved in ``directory``; a missing or broken one is refused."""
    metadata, files = read_artefacts(directory)
    try:
        if metadata.get("format") != FORMAT or metadata.get("kind") not in KINDS:
            raise ValueError(f"format {metadata.get('format')!r}, kind {metadata.get('kind')!r}")
        kind = metadata["kind"]
        card = Scorecard.from_json(json.loads(files["scorecard.json"])) if kind != "gbm" else None
        gbm = Gbm.from_text(files["gbm.txt"]) if kind != "scorecard" else None
        blend = metadata["blend"]
        components = Components(card, gbm, tuple(blend["centre"]), tuple(blend["spread"]))
        calibration = metadata["calibration"]
        schema = Schema.from_json(metadata["schema"])
        return TrainedModel(
            kind, schema, components, float(calibration["slope"]),
            float(calibration["intercept"]), metadata,
        )  # fmt: skip
    except (KeyError, ValueError, TypeError, AssertionError, LightGBMError) as error:
        raise InvalidInput(f"{directory} holds a broken model: {error}") from None
