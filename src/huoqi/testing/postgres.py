"""A throw-away PostgreSQL server for tests and benchmarks.

`TempPostgres` runs ``initdb`` into a temporary folder and starts ``postgres`` on a free
loopback port, owned by the unprivileged ``postgres`` user (PostgreSQL refuses to run as
root). `ensure_installed` installs Debian's ``postgresql`` package when no server binaries
are found. Set ``HUOQI_TEST_DATABASE_URL`` to use an existing server instead.

``python -m huoqi.testing.postgres --ensure-installed`` installs and exits;
``python -m huoqi.testing.postgres --print-url`` starts a server, prints its URL and runs
until interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

SERVICE_USER = "postgres"


def external_url() -> str | None:
    """``HUOQI_TEST_DATABASE_URL`` when it names a PostgreSQL server."""
    url = os.environ.get("HUOQI_TEST_DATABASE_URL", "").strip()
    return url if url.startswith("postgresql") else None


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (highest version)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for folder in reversed(versions):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def ensure_installed() -> Path:
    """Return the server binaries' folder, installing Debian's package if needed."""
    found = find_pg_bin()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("PostgreSQL is not installed and installing it needs root (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    found = find_pg_bin()
    if found is None:
        raise RuntimeError("apt-get installed postgresql but no initdb/pg_ctl was found")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)
        return pwd.getpwnam(SERVICE_USER)


class TempPostgres:
    """A PostgreSQL cluster in a temporary folder, on a free loopback port.

    ``fast=True`` turns off fsync and synchronous commit: right for tests, wrong for
    benchmarks that claim durability.
    """

    def __init__(self, *, fast: bool = False) -> None:
        self.fast = fast
        self.port = _free_port()
        self.bin = ensure_installed()
        self.folder = Path(tempfile.mkdtemp(prefix="huoqi-pg-"))
        self.data = self.folder / "data"
        self.started = False

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg://{SERVICE_USER}@127.0.0.1:{self.port}/{name}"

    def _as_service_user(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def start(self) -> TempPostgres:
        if os.geteuid() == 0:
            user = _service_user()
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        done = self._as_service_user(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", SERVICE_USER,
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.folder}",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        done = self._as_service_user(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
            "-o", " ".join(options), "-w", "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n{log}")
        self.started = True
        atexit.register(self.stop)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _dsn(self, name: str) -> str:
        return f"postgresql://{SERVICE_USER}@127.0.0.1:{self.port}/{name}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str, template: str | None = None) -> str:
        suffix = f" TEMPLATE {template}" if template else ""
        self.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        self.execute(f'DROP DATABASE IF EXISTS "{name}"')

    def stop(self) -> None:
        if self.started:
            self._as_service_user("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ensure-installed", action="store_true", help="install and exit")
    parser.add_argument("--print-url", action="store_true", help="start, print URL, wait")
    parser.add_argument("--fast", action="store_true", help="fsync off (tests only)")
    args = parser.parse_args()
    if args.ensure_installed:
        print(f"PostgreSQL binaries in {ensure_installed()}")
        return
    with TempPostgres(fast=args.fast) as server:
        print(server.url, flush=True)
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        while not stop:
            time.sleep(0.2)
    sys.exit(0)


if __name__ == "__main__":
    main()
