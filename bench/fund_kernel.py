"""The income allocation kernel alone: `python -m bench.fund_kernel [--quick]`.

One chunk of 1,000,000 accounts (holdings log-uniform from 1 to 1,000,000 CNY), one day's
rate; `allocate_income` is timed over repeated runs and the median gives
``accounts_per_second`` (target: at least 50 million). `plan_income` over the same base in
partitions of 262,144 accounts is timed beside it. No database: this is the ceiling the
close's set-based SQL is measured against. ``python -m bench fund_kernel`` also records the
figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.report import table, write_section
from huoqi.fund.income import allocate_income, plan_income

RATE_E4 = 6512  # 0.6512 CNY per 10,000 shares
PARTITION = 262_144
TARGET = 50_000_000


@dataclass(frozen=True)
class KernelFigures:
    accounts: int
    accounts_per_second: int
    plan_accounts_per_second: int


def _base(accounts: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2013)
    ids = np.cumsum(rng.integers(1, 4, accounts, dtype=np.int64))
    units = (10 ** rng.uniform(2, 8, accounts)).astype(np.int64)  # 1 CNY to 1,000,000 CNY
    return ids, units


def _median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(accounts: int, repeats: int) -> KernelFigures:
    ids, units = _base(accounts)
    partitions = [
        (ids[low : low + PARTITION], units[low : low + PARTITION])
        for low in range(0, accounts, PARTITION)
    ]
    plan = plan_income(RATE_E4, lambda: partitions)
    income = allocate_income(ids, units, plan)
    assert int(income.sum()) == plan.distributable_total
    apply_seconds = _median_seconds(lambda: allocate_income(ids, units, plan), repeats)
    plan_seconds = _median_seconds(lambda: plan_income(RATE_E4, lambda: partitions), 3)
    return KernelFigures(accounts, int(accounts / apply_seconds), int(accounts / plan_seconds))


def _markdown(figures: KernelFigures) -> str:
    return (
        "## Income allocation kernel\n\n"
        f"`python -m bench fund_kernel` — `allocate_income` on one chunk of "
        f"{figures.accounts:,} accounts (median of repeated runs), and `plan_income` over "
        f"the same base in partitions of {PARTITION:,}; pure NumPy, no database. "
        f"Target: ≥ {TARGET:,} accounts/s.\n\n"
        + table(
            ["kernel", "accounts/s"],
            [
                ["allocate_income", f"{figures.accounts_per_second:,}"],
                ["plan_income (all passes)", f"{figures.plan_accounts_per_second:,}"],
            ],
        )
    )


def run(*, quick: bool = False, record: bool = True) -> KernelFigures:
    figures = measure(100_000 if quick else 1_000_000, 5 if quick else 50)
    print(f"accounts={figures.accounts}")
    print(f"accounts_per_second={figures.accounts_per_second}")
    print(f"plan_accounts_per_second={figures.plan_accounts_per_second}")
    if record and not quick:
        write_section("fund_kernel", _markdown(figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fund_kernel", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 accounts")
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    arguments = parser.parse_args()
    run(quick=arguments.quick, record=arguments.record)


if __name__ == "__main__":
    main()
