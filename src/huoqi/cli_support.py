"""Helpers shared by the command-line modules: the configured database, dates, errors."""

from __future__ import annotations

from datetime import date

from huoqi.db.engine import make_engine
from huoqi.errors import InvalidInput
from huoqi.ledger.service import Ledger


def ledger_from_env() -> Ledger:
    """A `Ledger` on the database named by ``HUOQI_DATABASE_URL`` (default ./var/huoqi.db)."""
    return Ledger(make_engine())


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``YYYYMMDD``."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 8 and cleaned.isdigit():
            return date(int(cleaned[:4]), int(cleaned[4:6]), int(cleaned[6:]))
        return date.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date: use YYYY-MM-DD") from None
