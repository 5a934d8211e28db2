"""Settings from the environment. One place reads ``HUOQI_*`` variables."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "huoqi.db"


def database_url() -> str:
    """``HUOQI_DATABASE_URL``, or the embedded SQLite file ``./var/huoqi.db``."""
    url = os.environ.get("HUOQI_DATABASE_URL", "").strip()
    if url:
        return normalise_url(url)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    """Let people write ``postgresql://`` and still get the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_synchronous() -> str:
    """SQLite's fsync policy: FULL (the default) survives power loss; NORMAL survives crashes."""
    value = os.environ.get("HUOQI_SQLITE_SYNCHRONOUS", "FULL").upper()
    if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(
            f"HUOQI_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {value}"
        )
    return value


def eod_partition_width() -> int:
    """Account ids per partition of the daily close (``HUOQI_EOD_PARTITION_WIDTH``)."""
    value = os.environ.get("HUOQI_EOD_PARTITION_WIDTH", str(1 << 18))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"HUOQI_EOD_PARTITION_WIDTH must be a positive integer, not {value!r}")
    return int(value)


def sse_extension() -> tuple[date | None, tuple[date, ...]]:
    """The operator's extension of the exchange calendar beyond the library's data.

    ``HUOQI_SSE_EXTEND_TO=2027-12-31`` and ``HUOQI_SSE_EXTRA_HOLIDAYS=2027-01-01,...``.
    """
    extend_to = os.environ.get("HUOQI_SSE_EXTEND_TO", "").strip()
    holidays = os.environ.get("HUOQI_SSE_EXTRA_HOLIDAYS", "").strip()
    try:
        last = date.fromisoformat(extend_to) if extend_to else None
        closed = tuple(date.fromisoformat(d.strip()) for d in holidays.split(",") if d.strip())
    except ValueError as error:
        raise ValueError(f"HUOQI_SSE_EXTEND_TO / HUOQI_SSE_EXTRA_HOLIDAYS: {error}") from None
    return last, closed


#: Used when ``HUOQI_GATEWAY_KEY`` is not set: fine for the demo and tests, never production.
DEVELOPMENT_GATEWAY_KEY = "huoqi-development-gateway-key-not-for-production"


def gateway_master_key() -> bytes:
    """``HUOQI_GATEWAY_KEY``: the key every merchant's gateway secret is derived from."""
    return os.environ.get("HUOQI_GATEWAY_KEY", DEVELOPMENT_GATEWAY_KEY).encode()


def bank_callback_key() -> bytes:
    """``HUOQI_BANK_KEY``: the key the bank gateway signs its callbacks with."""
    return os.environ.get("HUOQI_BANK_KEY", "huoqi-development-bank-key").encode()
