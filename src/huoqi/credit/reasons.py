"""Reason codes: the four features that lowered a score most, in plain Chinese and English.

A reason code is the feature's name (stable, and what other tools script against). Its
words come from a dictionary of known features (the feature pipeline registers its own
with `register_reason_texts`); any other feature gets a sentence built from its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

Language = Literal["zh", "en"]
REASONS = 4
NEGLIGIBLE = 1e-9  # an adverse amount this small is no reason

_TEXTS: dict[str, dict[str, str]] = {}


def register_reason_texts(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Plain words for features: ``{code: {"zh": ..., "en": ...}}``."""
    for code, words in texts.items():
        _TEXTS[code] = {"zh": words["zh"], "en": words["en"]}


def reason_text(code: str, lang: Language = "en") -> str:
    """What reason ``code`` means, in ``lang``; empty for no reason."""
    if not code:
        return ""
    known = _TEXTS.get(code)
    if known is not None:
        return known[lang]
    words = code.replace("_", " ").strip()
    if lang == "zh":
        return f"“{words}”一项拉低了您的评分"
    return f"Your {words} lowered your score"


def top_reasons(adverse: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """Rows x 4 codes: per row the features with the largest adverse amounts, largest first.

    ``adverse``: rows x features, how much each feature pushed the row's risk up. Features
    that did not push it up are no reason; the row's remaining slots stay empty.
    """
    rows, width = adverse.shape
    codes = np.full((rows, REASONS), "", dtype=object)
    if width == 0 or rows == 0:
        return codes
    take = min(REASONS, width)
    order = np.argsort(-adverse, axis=1, kind="stable")[:, :take]
    amounts = np.take_along_axis(adverse, order, axis=1)
    names = np.asarray(features, dtype=object)[order]
    codes[:, :take] = np.where(amounts > NEGLIGIBLE, names, "")
    return codes
