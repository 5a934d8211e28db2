"""The feature benchmark still runs (quick size, nothing recorded)."""

from __future__ import annotations

from bench import credit_features


def test_the_feature_benchmark_measures_events_per_second() -> None:
    figures = credit_features.run(quick=True, record=False)
    assert figures.users == 1_000
    assert figures.events > 500_000  # about 600 events per applicant
    assert figures.events_per_second > 0 and figures.simulated_per_second > 0
    assert "Credit feature pipeline" in credit_features._markdown(figures)
