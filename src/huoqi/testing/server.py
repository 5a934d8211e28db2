"""A real Huoqi server in its own process: ``huoqi serve`` on a free loopback port.

Used by the end-to-end tests (``tests/e2e/conftest.py``) and the README screenshot
script. Each server runs on a migrated SQLite file in a given folder (a fresh one, or one
a simulation has filled first), with the demo funds and logins (``HUOQI_DEMO_SETUP=1``)
and a demo clock, by default started on Thursday 2025-06-05 at 10:00 in Shanghai so a
purchase confirms on Friday; operators can move that clock forward from the console.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from huoqi.db.migrate import upgrade

DEMO_START = "2025-06-05T10:00:00+08:00"


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    log: Path


def database_url_in(folder: Path) -> str:
    """The SQLite URL of the server's database in ``folder``."""
    return f"sqlite:///{folder}/huoqi.db"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(url: str, probe: str = "/readyz") -> bool:
    try:
        with urllib.request.urlopen(f"{url}{probe}", timeout=1) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    folder: Path,
    *,
    extra_env: dict[str, str] | None = None,
    clock_start: str = DEMO_START,
) -> tuple[LiveServer, subprocess.Popen[bytes]]:
    """Migrate ``folder``'s database, start the server and wait until it is ready."""
    database_url = database_url_in(folder)
    upgrade(database_url)
    port = _free_port()
    env = {
        **os.environ,
        "HUOQI_DATABASE_URL": database_url,
        "HUOQI_DEMO_SETUP": "1",
        "HUOQI_DEMO_CLOCK_START": clock_start,
        "HUOQI_BANK_DELAY": "0",
        "HUOQI_SQLITE_SYNCHRONOUS": "NORMAL",
        **(extra_env or {}),
    }
    log = folder / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "huoqi", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        if _ready(url):
            return LiveServer(url, database_url, log), process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not become ready: {log.read_text()[-2000:]}")


def start_mall(
    folder: Path, *, huoqi_url: str, merchant_id: str, secret: str
) -> tuple[LiveServer, subprocess.Popen[bytes]]:
    """The demo Mall (``python -m huoqi.mall``) on a free port, its database in ``folder``,
    paying through the Huoqi at ``huoqi_url`` as ``merchant_id``."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    database = folder / "mall.db"
    env = {
        **os.environ,
        "MALL_HUOQI_URL": huoqi_url,
        "MALL_MERCHANT_ID": merchant_id,
        "MALL_SECRET": secret,
        "MALL_PUBLIC_URL": url,
        "MALL_DATABASE": str(database),
    }
    log = folder / "mall.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "huoqi.mall", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return _wait_ready(LiveServer(url, f"sqlite:///{database}", log), process, "/healthz")


def _wait_ready(
    server: LiveServer, process: subprocess.Popen[bytes], probe: str
) -> tuple[LiveServer, subprocess.Popen[bytes]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {server.log.read_text()[-2000:]}")
        if _ready(server.url, probe):
            return server, process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not become ready: {server.log.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
