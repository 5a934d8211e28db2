"""Tabular data for the credit models: read a CSV, tell numeric from categorical, check it.

A model sees a frame of features plus, when training, a target column. Each feature is
numeric (parsed as float; empty means missing) or categorical (compared as text). A column
is numeric when pandas reads it as numbers, or when at least half of its non-empty values
parse as numbers: then the rest are typos, refused as unparseable rather than silently
turning the column into categories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from huoqi.errors import InvalidInput

MAX_SHOWN = 5  # unparseable values quoted in an error message
ModelKind = Literal["scorecard", "gbm", "blend"]
KINDS: tuple[str, ...] = get_args(ModelKind)


def check_kind(kind: str) -> None:
    """Refuse a model kind that does not exist."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown model {kind!r}; choose from {', '.join(KINDS)}")


@dataclass(frozen=True)
class Schema:
    """The features a model was trained on, in order, and the categories it saw."""

    features: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]  # categorical feature -> sorted training values

    def is_categorical(self, feature: str) -> bool:
        return feature in self.categories

    @property
    def numeric(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if f not in self.categories)

    def as_json(self) -> dict[str, object]:
        return {"features": list(self.features), "categories": dict(self.categories)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Schema:
        features = data["features"]
        categories = data["categories"]
        assert isinstance(features, list) and isinstance(categories, dict)
        return cls(tuple(features), {k: tuple(v) for k, v in categories.items()})


def read_csv(path: Path) -> pd.DataFrame:
    """The CSV at ``path`` as a frame; an unreadable or empty file is refused."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path} is empty: expected a header line and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path} is not a readable CSV file: {error}") from None
    if frame.empty:
        raise InvalidInput(f"{path} has a header but no rows")
    return frame


def _parse_numeric(column: pd.Series) -> pd.Series | None:
    """The column as floats, or None when it is categorical; refuses stray text."""
    if pd.api.types.is_bool_dtype(column):
        return None
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    present = column.dropna()
    parsed = pd.to_numeric(present, errors="coerce")
    if present.empty or parsed.notna().sum() * 2 < len(present):
        return None
    bad = present[parsed.isna()]
    if not bad.empty:
        shown = ", ".join(f"row {i + 1}: {v!r}" for i, v in bad.head(MAX_SHOWN).items())
        raise InvalidInput(
            f"column {column.name!r} is numeric but {len(bad)} value(s) are not numbers ({shown})"
        )
    return pd.to_numeric(column, errors="coerce").astype("float64")


def infer_schema(features: pd.DataFrame) -> Schema:
    """Numeric and categorical features of a training frame (its columns, in order)."""
    if features.shape[1] == 0:
        raise InvalidInput("no feature columns: the file holds only the target")
    categories: dict[str, tuple[str, ...]] = {}
    for name in features.columns:
        if _parse_numeric(features[name]) is None:
            categories[str(name)] = tuple(sorted(features[name].dropna().astype(str).unique()))
    return Schema(tuple(str(c) for c in features.columns), categories)


def prepare(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The schema's features from ``frame``: numeric as float64, categorical as text.

    Refuses a frame that lacks a feature or holds text in a numeric feature.
    """
    missing = [f for f in schema.features if f not in frame.columns]
    if missing:
        raise InvalidInput(f"the data lacks the model's feature column(s): {', '.join(missing)}")
    prepared = {}
    for name in schema.features:
        column = frame[name]
        if schema.is_categorical(name):
            prepared[name] = column.map(lambda v: None if pd.isna(v) else str(v))
        else:
            parsed = _parse_numeric(column)
            if parsed is None:
                if column.dropna().empty:
                    parsed = pd.Series(np.nan, index=column.index, dtype="float64")
                else:
                    shown = ", ".join(repr(v) for v in column.dropna().head(MAX_SHOWN))
                    raise InvalidInput(f"column {name!r} should hold numbers, found {shown}")
            prepared[name] = parsed
    return pd.DataFrame(prepared, index=frame.index)


def bad_flags(frame: pd.DataFrame, *, target: str, bad: object) -> np.ndarray:
    """1 where the target column holds the ``bad`` value, else 0; both classes required."""
    if target not in frame.columns:
        raise InvalidInput(
            f"no target column {target!r}; the columns are {', '.join(map(str, frame.columns))}"
        )
    column = frame[target]
    if column.isna().any():
        rows = [str(i + 1) for i in np.flatnonzero(column.isna().to_numpy())[:MAX_SHOWN]]
        raise InvalidInput(f"target column {target!r} is empty in row(s) {', '.join(rows)}")
    text = column.astype(str).str.strip()
    flags = text == str(bad).strip()
    if pd.api.types.is_numeric_dtype(column):
        try:
            flags = column.astype("float64") == float(str(bad))
        except ValueError:
            raise InvalidInput(
                f"target column {target!r} is numeric but the bad value {bad!r} is not a number"
            ) from None
    y: np.ndarray = flags.to_numpy(dtype=np.int64)
    if y.sum() == 0 or y.sum() == len(y):
        seen = ", ".join(repr(v) for v in sorted(text.unique())[:MAX_SHOWN])
        raise InvalidInput(
            f"target column {target!r} has one class only (values: {seen}; bad = {bad!r}): "
            "a model needs both good and bad rows"
        )
    return y


def categorical_codes(prepared: pd.DataFrame, schema: Schema) -> np.ndarray:
    """A float matrix of the features: numbers as they are, categories as their index in the
    training categories (unseen or missing: NaN)."""
    matrix = np.empty((len(prepared), len(schema.features)), dtype=np.float64)
    for j, name in enumerate(schema.features):
        if schema.is_categorical(name):
            lookup = {c: float(i) for i, c in enumerate(schema.categories[name])}
            matrix[:, j] = prepared[name].map(lookup).astype("float64").to_numpy(na_value=np.nan)
        else:
            matrix[:, j] = prepared[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return matrix
