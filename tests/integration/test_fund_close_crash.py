"""A close killed with SIGKILL at random points, then rerun, ends exactly like one that
never stopped: same income rows, same postings, same balances, same report."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from fund_story import at, state

from huoqi.db.engine import make_engine
from huoqi.db.migrate import upgrade
from huoqi.fund.bulkload import load_funded_holders
from huoqi.fund.close import close_day
from huoqi.fund.service import FundDesk
from huoqi.ledger.service import Ledger

RUNNER = Path(__file__).with_name("fund_close_runner.py")
DAY = date(2026, 11, 1)
HOLDERS = 30_000


def prepared(url: str) -> str:
    upgrade(url)
    engine = make_engine(url)
    desk = FundDesk(engine, clock=lambda: at(1, 9))
    fund = desk.add_fund(code="MMF1", name="Crash test fund")
    desk.import_income("MMF1", f"date,income_per_10k\n{DAY},0.6512\n")
    units = np.random.default_rng(5).lognormal(np.log(300_000), 1.5, HOLDERS).astype(np.int64) + 1
    load_funded_holders(engine, fund, units, now=at(1, 9))
    engine.dispose()
    return url


def twins(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Two identical prepared databases: one closes undisturbed, one is killed."""
    if request.param == "sqlite":
        original = prepared(f"sqlite:///{tmp_path / 'original.db'}")
        shutil.copy(tmp_path / "original.db", tmp_path / "killed.db")
        return original, f"sqlite:///{tmp_path / 'killed.db'}"
    server = request.getfixturevalue("postgres_server")
    name = f"crash_{tmp_path.name.lower()}"[:50]
    original = prepared(server.create_database(f"{name}_a"))
    return original, server.create_database(f"{name}_b", template=f"{name}_a")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    monkeypatch.setenv("HUOQI_EOD_PARTITION_WIDTH", "1024")  # ~30 partitions per pass
    return twins(request, tmp_path)


def test_a_killed_close_resumes_to_the_same_end_state(databases: tuple[str, str]) -> None:
    original, killed_url = databases
    now = at(2, 1)

    reference = make_engine(original)
    events: list[str] = []
    close_day(reference, "MMF1", DAY, now=now, progress=lambda step, _t, _d: events.append(step))
    expected = state(reference)

    rng = random.Random(20261125)
    kills = 0
    for _attempt in range(4):
        runner = subprocess.Popen(
            [sys.executable, str(RUNNER), killed_url, "MMF1", DAY.isoformat(), now.isoformat()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert runner.stdout is not None
        assert runner.stdout.readline().strip() == "started"
        # kill after a random share of the close's progress reports, wherever that falls
        for _seen in range(rng.randint(1, max(1, len(events) - 1))):
            if not runner.stdout.readline().startswith("progress"):
                break
        if runner.poll() is None:
            runner.send_signal(signal.SIGKILL)
            kills += 1
        runner.wait()
        engine = make_engine(killed_url)
        assert Ledger(engine).trial_balance(deep=True).ok, "a killed close left broken books"
        engine.dispose()
    assert kills >= 1, "the close finished before any kill; the test proved nothing"

    engine = make_engine(killed_url)
    result = close_day(engine, "MMF1", DAY, now=now)
    assert result.report["reconciled"] is True
    assert state(engine) == expected
    assert Ledger(engine).trial_balance(deep=True).ok
