"""Plain value types of the money-fund business, shared by the pure core and the services.

Nothing here touches a database: the calendar, income and yield modules import from here,
and so do the registry and the CLI.
"""

from __future__ import annotations

from enum import StrEnum


class Carry(StrEnum):
    """How income becomes shares: every day (compound yield) or once a month (simple)."""

    DAILY = "daily"
    MONTHLY = "monthly"
