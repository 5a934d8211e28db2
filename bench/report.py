"""Where benchmark figures go: a section of docs/benchmarks.md per benchmark.

Each benchmark owns the text between ``<!-- bench:NAME:start -->`` and
``<!-- bench:NAME:end -->``; a run replaces only its own section and leaves the others, so
figures from different runs (and their machines) stay side by side with their dates.
"""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Figures written by `make bench` (`python -m bench [name ...]`). Each section records the
command that produced it, when, and on which machine. Rerun the command to refresh it.
"""


def machine() -> str:
    """One line describing the machine a figure was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"CPU probe {cpu_probe():.2f} s"
    )


def cpu_probe() -> float:
    """Seconds for a fixed pure-Python loop (best of three).

    The shared virtual machines these figures come from run the same code up to 1.6 times
    slower from one minute to the next; the probe beside each figure tells how fast the
    machine was at the time, so figures from different runs can be compared.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for step in range(5_000_000):
            total += step
        best = min(best, time.perf_counter() - started)
    return best


def write_section(name: str, body: str, *, measured_on: str | None = None) -> Path:
    """Replace benchmark ``name``'s section of docs/benchmarks.md with ``body``.

    ``measured_on``: the `machine` line taken when the run started (default: now).
    """
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"{start}\n_Measured {stamp} on {measured_on or machine()}._\n\n{body.strip()}\n{end}"
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    return DOC


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
