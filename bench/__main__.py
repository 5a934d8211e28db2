"""Run benchmarks: `python -m bench [--quick] [name ...]` (default: all).

Full runs write their figures to docs/benchmarks.md; `--quick` runs small sizes and
writes nothing (a smoke test that the benchmark still works).
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = (
    "ledger",
    "ledger_growth",
    "eod",
    "eod_floor",
    "fund_kernel",
    "http",
    "payments",
    "credit_features",
    "credit_scoring",
)
MODULES = {"http": "http_load"}  # names whose module is called otherwise


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=f"one of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, record nothing")
    arguments = parser.parse_args()
    unknown = sorted(set(arguments.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    for name in arguments.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{MODULES.get(name, name)}")
        module.run(quick=arguments.quick)


if __name__ == "__main__":
    main()
