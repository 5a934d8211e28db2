"""The benchmarks still run against today's schema, at toy sizes (SQLite only).

`make bench` is run by hand; these keep a schema change from breaking it unnoticed (the
raw and floor writers build ledger rows themselves).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from bench import eod_floor, http_load, ledger_growth
from bench import ledger as ledger_bench

pytestmark = pytest.mark.slow


def test_the_ledger_benchmark_measures_all_four_ways(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path}/{name}.db" for name in ("ledger", "raw", "floor")]
    figures = ledger_bench.measure("sqlite", *urls, ledger_bench.Sizes(single=20, batches=2))
    # measure() itself refuses books whose deep trial balance fails
    assert min(figures.single, figures.batch, figures.raw, figures.floor) > 0


def test_the_floor_writers_leave_totals_that_match_their_postings(tmp_path: Path) -> None:
    from sqlalchemy import text

    from huoqi.db.engine import make_engine

    rng = random.Random(1)
    wallets = list(range(2, ledger_bench.WALLETS + 2))
    batches = [ledger_bench._transfers(rng, wallets, f"b{n}", 50) for n in range(3)]
    url = f"sqlite:///{tmp_path}/floor.db"
    assert ledger_bench._raw_rate(url, batches, balances=True) > 0
    engine = make_engine(url)
    with engine.connect() as connection:
        off = connection.execute(
            text(
                "SELECT COUNT(*) FROM accounts a LEFT JOIN (SELECT account_id, "
                "SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS d, "
                "SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS c "
                "FROM postings GROUP BY account_id) p ON p.account_id = a.id "
                "WHERE a.debits_posted <> COALESCE(p.d, 0) "
                "OR a.credits_posted <> COALESCE(p.c, 0) + :opening"
            ),
            {"opening": ledger_bench.OPENING},
        ).scalar_one()
    engine.dispose()
    assert off == 0


def test_the_close_floor_and_the_growth_run_at_toy_sizes() -> None:
    floors = eod_floor.run(quick=True, record=False)
    assert [f.layout for f in floors] == ["accounts", "narrow"]
    assert all(f.accounts_per_second > 0 for f in floors)
    assert all(rate > 0 for rate in ledger_growth.run(quick=True, record=False))


def test_the_http_load_benchmark_runs_every_phase_at_a_toy_rate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    phases = http_load.run(quick=True, record=False)
    assert [p.name for p in phases] == [plan.name for plan in http_load.PLANS]
    printed = capsys.readouterr().out
    assert "CPU probe" in printed
    for phase in phases:
        assert phase.sent == http_load.QUICK["rate"] * http_load.QUICK["seconds"]
        assert phase.errors == 0, phase.statuses
        assert phase.achieved_rate > 0
        assert 0 < phase.p50.ms <= phase.p90.ms <= phase.p99.ms <= phase.max.ms
        line = next(
            line for line in printed.splitlines()
            if line.startswith(f"http {phase.name} ") and "target" in line
        )  # fmt: skip
        for part in ("target 20/s", "achieved", "errors 0", "p50", "p90", "p99", "max",
                     "client", "server", "p99 < 50 ms:"):  # fmt: skip
            assert part in line
