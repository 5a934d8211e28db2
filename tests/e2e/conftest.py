"""A real Huoqi server for end-to-end tests: ``huoqi serve`` in its own process.

Each server gets a fresh migrated SQLite file, the demo funds and logins
(``HUOQI_DEMO_SETUP=1``) and the demo clock, started on Thursday 2025-06-05 at 10:00 in
Shanghai so a purchase confirms on Friday; operators can move that clock forward.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from huoqi.db.migrate import upgrade

DEMO_START = "2025-06-05T10:00:00+08:00"


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(folder: Path, *, extra_env: dict[str, str] | None = None) -> tuple[
    LiveServer, subprocess.Popen[bytes]
]:  # fmt: skip
    database_url = f"sqlite:///{folder}/huoqi.db"
    upgrade(database_url)
    port = _free_port()
    env = {
        **os.environ, "HUOQI_DATABASE_URL": database_url, "HUOQI_DEMO_SETUP": "1",
        "HUOQI_DEMO_CLOCK_START": DEMO_START, "HUOQI_BANK_DELAY": "0",
        "HUOQI_SQLITE_SYNCHRONOUS": "NORMAL", **(extra_env or {}),
    }  # fmt: skip
    log = folder / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "huoqi", "serve", "--port", str(port)],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return LiveServer(url, database_url, log), process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not become ready: {log.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server, process = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield server
    finally:
        stop_server(process)
