"""Helpers shared by the command-line modules: the configured database and dates."""

from __future__ import annotations

from huoqi.dates import parse_date
from huoqi.db.engine import make_engine
from huoqi.ledger.service import Ledger

__all__ = ["ledger_from_env", "parse_date"]


def ledger_from_env() -> Ledger:
    """A `Ledger` on the database named by ``HUOQI_DATABASE_URL`` (default ./var/huoqi.db)."""
    return Ledger(make_engine())
