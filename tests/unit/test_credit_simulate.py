"""The synthetic credit data: reproducible, realistic base rate and ceiling, well-formed events."""

from __future__ import annotations

from functools import cache
from itertools import product

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from huoqi.credit.simulate import EVENT_SCHEMA, HISTORY_DAYS, KINDS, Simulation, auc, simulate


@cache
def _five_thousand() -> Simulation:
    return simulate(5_000, seed=7)


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data() -> None:
    first, again, other = simulate(300, seed=3), simulate(300, seed=3), simulate(300, seed=4)
    assert_frame_equal(first.users, again.users)
    assert_frame_equal(first.events, again.events)
    assert not first.events.equals(other.events)


def test_base_rate_and_ceiling_are_like_published_digital_footprint_data() -> None:
    sim = _five_thousand()
    assert 0.05 <= sim.users["bad"].mean() <= 0.15  # type: ignore[operator]
    assert 0.70 <= sim.ceiling_auc <= 0.80


def test_events_have_the_schema_and_lie_in_the_history_before_the_application() -> None:
    sim = _five_thousand()
    assert sim.events.schema == EVENT_SCHEMA
    joined = sim.events.join(sim.users.select("user_id", "as_of"), on="user_id")
    assert joined.height == sim.events.height  # every event belongs to a user
    age = joined["as_of"] - joined["day"]
    assert age.min() == 1 and age.max() == HISTORY_DAYS
    assert set(sim.events["kind"].unique().to_list()) == set(KINDS)
    per_kind = sim.events.group_by("kind").agg(
        amounts=pl.col("amount_fen").is_not_null().all(),
        lateness=pl.col("days_late").is_not_null().all(),
    )
    money = per_kind.filter(pl.col("kind").is_in(["purchase", "bill_payment", "balance"]))
    assert money["amounts"].all() and (sim.events["amount_fen"].drop_nulls() > 0).all()
    assert per_kind.filter(pl.col("kind") == "repayment")["lateness"].all()


def test_age_bands_cover_the_adults_and_older_people_are_a_little_more_settled() -> None:
    users = _five_thousand().users
    assert users["age"].min() >= 18 and users["age"].max() <= 60  # type: ignore[operator]
    by_band = users.group_by("age_band").agg(pl.col("stability").mean()).sort("age_band")
    assert by_band["age_band"].to_list() == ["18-25", "26-35", "36-45", "46-60"]
    assert by_band["stability"][0] < by_band["stability"][-1]


def test_later_cohorts_default_a_little_more_as_the_story_says() -> None:
    rates = _five_thousand().users.group_by("cohort").agg(pl.col("p_true").mean()).sort("cohort")
    assert rates["p_true"][-1] > rates["p_true"][0]


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40).filter(
        lambda rows: len({bad for bad, _ in rows}) == 2
    )
)
def test_auc_is_the_share_of_bad_good_pairs_ranked_right(rows: list[tuple[bool, int]]) -> None:
    bad = np.array([b for b, _ in rows])
    score = np.array([float(s) for _, s in rows])
    pairs = [(sb, sg) for (b1, sb), (b2, sg) in product(rows, rows) if b1 and not b2]
    expected = sum(1.0 if sb > sg else 0.5 if sb == sg else 0.0 for sb, sg in pairs) / len(pairs)
    assert abs(auc(bad, score) - expected) < 1e-12
