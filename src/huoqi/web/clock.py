"""Clocks for the running app: the wall clock, or a demo clock an operator can move.

The demo clock (``HUOQI_DEMO_CLOCK=1``; start at ``HUOQI_DEMO_CLOCK_START``, an ISO time
with offset) runs from a chosen moment at real speed, and operators may move it forward
a day at a time from the console, so a demo or an end-to-end test can buy on a Thursday,
close the day and see Friday's income without waiting a night. It never moves backwards.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from huoqi.errors import InvalidInput


class DemoClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise InvalidInput("the demo clock's start needs a time zone offset")
        self._start = start
        self._started = time.monotonic()
        self._shift = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        elapsed = timedelta(seconds=time.monotonic() - self._started)
        return (self._start + elapsed + self._shift).astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; answers the new time (UTC, as every clock here)."""
        if delta <= timedelta() or delta > timedelta(days=31):
            raise InvalidInput("the demo clock moves forward by up to 31 days at a time")
        with self._lock:
            self._shift += delta
        return self()
