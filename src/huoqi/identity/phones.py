"""Mainland China mobile numbers: parsed into one stored form, masked for display."""

from __future__ import annotations

import re

from huoqi.errors import InvalidInput

# 11 digits starting 13x-19x, optionally written with +86 / 86 and spaces or dashes.
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    title = "Invalid mobile number"


def parse_phone(text: object) -> str:
    """The stored form ``86`` + 11 digits of a mainland mobile number, or raise."""
    if not isinstance(text, str):
        raise InvalidPhone("a mobile number is text such as 13800138000")
    compact = re.sub(r"[\s-]", "", text)
    match = _MOBILE.match(compact)
    if match is None:
        raise InvalidPhone(
            f"{text[:20]!r} is not a mainland mobile number: 11 digits starting 13-19, "
            "optionally with +86"
        )
    return "86" + match[1]


def mask_phone(stored: str) -> str:
    """``138****8000``: enough to recognise a number, not enough to call it."""
    local = stored[2:] if stored.startswith("86") and len(stored) == 13 else stored
    return f"{local[:3]}****{local[-4:]}"
