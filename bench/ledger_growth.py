"""Does the ledger keep its pace as the books grow? `python -m bench ledger_growth`.

100,000 funded wallets on SQLite; 400 batches of 1,000 random transfers posted one after
the other (800,000 postings), timed per window of 100 batches. A per-account index would
take a random insert for every posting, each on a page that grows colder as the table
grows; Huoqi's posting chains append only, so the later windows should run about as fast
as the first.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path

from bench import ledger as ledger_bench
from bench.report import table, write_section

WALLETS = 100_000
WINDOW = 100


def run(*, quick: bool = False, record: bool = True) -> list[float]:
    windows = 1 if quick else 4
    folder = Path(tempfile.mkdtemp(prefix="huoqi-bench-growth-"))
    rates: list[float] = []
    try:
        ledger_bench.WALLETS = 1_000 if quick else WALLETS
        ledger, wallets = ledger_bench._books(f"sqlite:///{folder}/growth.db")
        rng = random.Random(20261125)
        for window in range(windows):
            spent = 0.0
            for number in range(WINDOW):
                batch = ledger_bench._transfers(
                    rng, wallets, f"w{window}b{number}", ledger_bench.BATCH
                )
                started = time.perf_counter()
                ledger.post_many(batch)
                spent += time.perf_counter() - started
            rates.append(WINDOW * ledger_bench.BATCH / spent)
            print(f"ledger growth window {window + 1}: {rates[-1]:,.0f} transfers/s", flush=True)
        if not ledger.trial_balance(deep=True).ok:
            raise SystemExit("ledger growth: the trial balance does not hold")
        ledger.engine.dispose()
    finally:
        ledger_bench.WALLETS = 10_000
        shutil.rmtree(folder, ignore_errors=True)
    if record and not quick:
        write_section("ledger_growth", _markdown(rates))
    return rates


def _markdown(rates: list[float]) -> str:
    rows = [
        [f"{n * WINDOW + 1:,}–{(n + 1) * WINDOW:,}", f"{n * WINDOW * 2_000:,}", f"{rate:,.0f}"]
        for n, rate in enumerate(rates)
    ]
    return "\n".join(
        [
            "## Ledger: pace as the books grow",
            "",
            "`python -m bench ledger_growth` — 100,000 funded wallets on SQLite; 400 batches",
            "of 1,000 random transfers, timed per window of 100 batches.",
            "",
            table(["batches", "transfer postings before", "transfers/s"], rows),
        ]
    )
