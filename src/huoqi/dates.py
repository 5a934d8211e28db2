"""Dates as people and files write them."""

from __future__ import annotations

from datetime import date

from huoqi.errors import InvalidInput


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``YYYYMMDD``; anything else is a clear error."""
    cleaned = text.strip() if isinstance(text, str) else ""
    try:
        if len(cleaned) == 8 and cleaned.isdigit():
            return date(int(cleaned[:4]), int(cleaned[4:6]), int(cleaned[6:]))
        if len(cleaned) == 10:
            return date.fromisoformat(cleaned)
    except ValueError:
        pass
    raise InvalidInput(f"{text!r} is not a date: use YYYY-MM-DD or YYYYMMDD")
