"""The daily close at scale: `huoqi bench eod --accounts N` on SQLite and PostgreSQL.

Each measurement runs the real command in its own process, so its peak memory (the
child's maximum resident set, from ``wait4``) covers only that close and its set-up:
1,000,000 and 10,000,000 accounts on SQLite, 1,000,000 on PostgreSQL. The command builds
the funded accounts in a fresh database, then times one day's close from start to a
reconciled report: income records written, income posted, balances updated, committed.
The pure allocation kernel is measured beside it (`bench/fund_kernel.py`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

from bench.report import table, write_section


@dataclass(frozen=True)
class CloseRun:
    database: str
    accounts: int
    accounts_per_second: int
    seconds: float
    peak_mib: float
    wall_seconds: float


def _run(accounts: int, database: str, url: str | None) -> CloseRun:
    command = [sys.executable, "-m", "huoqi", "bench", "eod", "--accounts", str(accounts)]
    if url:
        command += ["--url", url]
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    out = child.stdout.read() if child.stdout else ""
    err = child.stderr.read() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"huoqi bench eod failed:\n{out}\n{err}")
    rate = int(re.findall(r"accounts_per_second=(\d+)", out)[-1])
    seconds = float(re.findall(r"in ([0-9.]+) s", out)[-1])
    return CloseRun(database, accounts, rate, seconds, usage.ru_maxrss / 1024, wall)


def run(*, quick: bool = False, record: bool = True) -> list[CloseRun]:
    sizes = [("sqlite", 20_000)] if quick else [("sqlite", 1_000_000), ("sqlite", 10_000_000)]
    postgres_size = 20_000 if quick else 1_000_000
    results = []
    for database, accounts in sizes:
        results.append(_run(accounts, database, None))
        _say(results[-1])
    with ExitStack() as stack:
        from huoqi.testing.postgres import TempPostgres

        server = stack.enter_context(TempPostgres(fast=False))
        url = server.create_database("bench_eod")
        results.append(_run(postgres_size, "postgresql", url))
        _say(results[-1])
    if record and not quick:
        write_section("eod", _markdown(results))
    return results


def _say(result: CloseRun) -> None:
    print(
        f"eod {result.database} {result.accounts:,} accounts: {result.seconds:.2f} s, "
        f"{result.accounts_per_second:,} accounts/s, peak {result.peak_mib:,.0f} MiB",
        flush=True,
    )


def _markdown(results: list[CloseRun]) -> str:
    rows = [
        [r.database, f"{r.accounts:,}", f"{r.seconds:.2f}", f"{r.accounts_per_second:,}",
         f"{r.peak_mib:,.0f}", f"{r.wall_seconds:.0f}"]
        for r in results
    ]  # fmt: skip
    return "\n".join(
        [
            "## Daily close: accounts per second",
            "",
            "`python -m bench eod` runs `huoqi bench eod --accounts N` in a child process per",
            "row: it loads N funded accounts into a fresh database, then times one day's close",
            "(income records written, income posted in the ledger, balances updated, the",
            "reconciliation and reports, committed). Peak memory is the child's maximum",
            "resident set, set-up included. Target: 1,000,000 accounts on SQLite at",
            "≥ 500,000 accounts/s with peak memory under 2 GB.",
            "",
            table(
                ["database", "accounts", "close (s)", "accounts/s", "peak MiB",
                 "whole run incl. set-up (s)"],
                rows,
            ),
        ]
    )  # fmt: skip
