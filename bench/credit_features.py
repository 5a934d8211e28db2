"""The credit feature pipeline: `python -m bench.credit_features [--quick] [--record]`.

Simulates 20,000 applicants (about 12 million raw phone events over 180 days each), then
times `compute_features` (one lazy Polars query: join to the application day, 30/90/180-day
windows, 28 features per applicant) as the median of three runs. Target: at least
1,000,000 raw events/s. The generator's own speed is shown beside it.
``python -m bench credit_features`` records the figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

from bench.report import table, write_section
from huoqi.credit.dictionary import NAMES
from huoqi.credit.features import compute_features
from huoqi.credit.simulate import simulate

TARGET = 1_000_000


@dataclass(frozen=True)
class FeatureFigures:
    users: int
    events: int
    simulate_seconds: float
    feature_seconds: float

    @property
    def events_per_second(self) -> int:
        return int(self.events / self.feature_seconds)

    @property
    def simulated_per_second(self) -> int:
        return int(self.events / self.simulate_seconds)


def measure(users: int, repeats: int = 3) -> FeatureFigures:
    started = time.perf_counter()
    sim = simulate(users, seed=1)
    simulate_seconds = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        found = compute_features(sim.events, sim.users)
        times.append(time.perf_counter() - started)
    assert found.height == users and found.width == len(NAMES) + 1
    return FeatureFigures(users, sim.events.height, simulate_seconds, statistics.median(times))


def _markdown(figures: FeatureFigures) -> str:
    return (
        "## Credit feature pipeline\n\n"
        f"`python -m bench credit_features` — {figures.users:,} simulated applicants, "
        f"{figures.events:,} raw phone events; `compute_features` (28 features over "
        f"30/90/180-day windows, one lazy Polars query) median of three runs. "
        f"Target: ≥ {TARGET:,} raw events/s.\n\n"
        + table(
            ["step", "seconds", "raw events/s"],
            [
                [
                    "features",
                    f"{figures.feature_seconds:.2f}",
                    f"{figures.events_per_second:,}",
                ],
                [
                    "simulate (for scale)",
                    f"{figures.simulate_seconds:.2f}",
                    f"{figures.simulated_per_second:,}",
                ],
            ],
        )
    )


def run(*, quick: bool = False, record: bool = True) -> FeatureFigures:
    figures = measure(1_000 if quick else 20_000, 1 if quick else 3)
    print(f"users={figures.users}")
    print(f"events={figures.events}")
    print(f"feature_seconds={figures.feature_seconds:.3f}")
    print(f"events_per_second={figures.events_per_second}")
    print(f"simulated_events_per_second={figures.simulated_per_second}")
    if record and not quick:
        write_section("credit_features", _markdown(figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.credit_features", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 applicants")
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    arguments = parser.parse_args()
    run(quick=arguments.quick, record=arguments.record)


if __name__ == "__main__":
    main()
