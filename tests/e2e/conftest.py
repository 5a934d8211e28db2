"""A real Huoqi server for end-to-end tests: ``huoqi serve`` in its own process.

Each server gets a fresh migrated SQLite file, the demo funds and logins
(``HUOQI_DEMO_SETUP=1``) and the demo clock, started on Thursday 2025-06-05 at 10:00 in
Shanghai so a purchase confirms on Friday; operators can move that clock forward. The
launcher lives in `huoqi.testing.server` (the README screenshot script uses it too).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from huoqi.testing.server import DEMO_START, LiveServer, start_server, stop_server

__all__ = ["DEMO_START", "LiveServer", "live_server", "start_server", "stop_server"]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server, process = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield server
    finally:
        stop_server(process)
