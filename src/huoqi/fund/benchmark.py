"""``huoqi bench eod``: time the daily close of one day over N funded accounts.

Builds a fresh database (a temporary SQLite file unless ``--url`` names another), loads N
holders with log-normally spread balances (a few fen to millions of CNY, seeded), imports
the day's income figure and times `close_day` from start to reconciled report.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from huoqi.db.engine import make_engine
from huoqi.db.migrate import upgrade
from huoqi.fund.bulkload import load_funded_holders
from huoqi.fund.close import close_day
from huoqi.fund.service import FundDesk

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)


@dataclass(frozen=True)
class EodTiming:
    accounts: int
    seconds: float
    income: int

    @property
    def accounts_per_second(self) -> int:
        return int(self.accounts / self.seconds)


def balances(count: int, seed: int = 7) -> np.ndarray:
    """Share units per account: log-normal around ~5,000 CNY, at least 0.01."""
    rng = np.random.default_rng(seed)
    units = rng.lognormal(mean=np.log(500_000), sigma=1.6, size=count)
    return np.clip(units, 1, 10**11).astype(np.int64)


def run_eod_bench(count: int, url: str | None = None) -> EodTiming:
    folder = None
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="huoqi-bench-eod-"))
        url = f"sqlite:///{folder}/eod.db"
    try:
        upgrade(url)
        engine = make_engine(url)
        at = datetime(DAY.year, DAY.month, DAY.day, 9, 0, tzinfo=SHANGHAI)
        desk = FundDesk(engine, clock=lambda: at)
        fund = desk.add_fund(code="BENCH", name="Benchmark money fund")
        desk.import_income("BENCH", f"date,income_per_10k\n{DAY.isoformat()},0.6512\n")
        load_funded_holders(engine, fund, balances(count), now=at)
        started = time.perf_counter()
        closed = close_day(engine, "BENCH", DAY, now=at + timedelta(days=1))
        seconds = time.perf_counter() - started
        engine.dispose()
        return EodTiming(count, seconds, int(closed.report["income_distributed"]))
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
