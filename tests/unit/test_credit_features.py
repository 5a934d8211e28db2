"""Credit features: a worked example by hand, windows that never look past the application
day, the dictionary and the computed columns held together."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huoqi.credit.dictionary import DIRECTIONS, FAMILIES, FEATURES, NAMES
from huoqi.credit.features import compute_features
from huoqi.credit.simulate import EVENT_SCHEMA, KINDS, auc, simulate

AS_OF = 1_000


def _events(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [{name: row.get(name) for name in EVENT_SCHEMA} for row in rows]
    return pl.DataFrame(full, schema=EVENT_SCHEMA)


def _e(kind: str, age: int, user: int = 1, **fields: Any) -> dict[str, Any]:
    return {"user_id": user, "day": AS_OF - age, "kind": kind, **fields}


STORY = [
    _e("device", 100, place=10, value=5, category="stock"),
    _e("device", 10, place=11, value=3, category="rooted"),
    *(_e("location", age, place=7) for age in (5, 6, 40)),
    _e("location", 20, place=8),
    _e("location", 200, place=9),  # older than 180 days: ignored
    _e("app_session", 1, category="games", value=60),
    _e("app_session", 2, category="loan", value=30),
    _e("app_session", 2, category="loan", value=10),
    _e("app_session", 50, category="finance", value=20),
    _e("purchase", 3, category="groceries", amount_fen=10_000),
    _e("purchase", 60, category="lottery", amount_fen=30_000),
    _e("purchase", 0, category="electronics", amount_fen=99_999),  # the application day
    _e("bill_payment", 70, category="rent", amount_fen=20_000, days_late=0),
    _e("bill_payment", 150, category="phone", amount_fen=10_000, days_late=4),
    _e("balance", 7, amount_fen=100_000),
    _e("balance", 60, amount_fen=300_000),
    _e("balance", 120, amount_fen=200_000),
    _e("repayment", 30, amount_fen=50_000, days_late=0),
]
APPLICATIONS = pl.DataFrame({"user_id": [1, 2], "as_of": [AS_OF, AS_OF]})


def test_a_worked_example_by_hand() -> None:
    found = compute_features(_events(STORY), APPLICATIONS)
    assert found.columns == ["user_id", *NAMES]
    one = found.row(0, named=True)
    assert one == pytest.approx(
        {
            "user_id": 1,
            "devices_180": 2, "devices_30": 1, "rooted_180": 1,
            "cells_30": 2, "cells_90": 2, "home_share_90": 0.75,
            "active_days_30": 9,
            "app_minutes_per_day_30": 100 / 30, "games_share_90": 0.5,
            "finance_share_90": 20 / 120, "lottery_share_90": 0.75,
            "spend_30": 100.0, "spend_90": 400.0, "purchases_90": 2, "bills_90": 200.0,
            "balance_mean_30": 1_000.0, "balance_mean_180": 2_000.0, "balance_min_90": 1_000.0,
            "balance_trend": 0.5,
            "bills_late_share_180": 0.5, "bills_max_days_late_180": 4,
            "repayments_180": 1, "repay_late_share_180": 0.0, "repay_max_days_late_180": 0,
            "loan_apps_installed": 3, "loan_app_minutes_30": 40, "loan_app_days_30": 1,
            "loan_app_sessions_90": 2,
        }
    )  # fmt: skip
    # a user whose phone sent nothing gets the neutral row
    two = found.row(1, named=True)
    assert two["user_id"] == 2 and two["balance_trend"] == 1.0
    assert all(two[name] == 0 for name in NAMES if name != "balance_trend")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.integers(-30, 0).filter(lambda age: age <= 0) | st.integers(181, 400),
            st.integers(1, 10**6),
        ),
        max_size=30,
    )
)
def test_events_outside_the_window_change_nothing(extra: list[tuple[str, int, int]]) -> None:
    """Nothing on or after the application day (no leakage), nothing older than 180 days."""
    outside = [
        _e(kind, age, place=n, amount_fen=n, value=n % 500, days_late=n % 30, category="loan")
        for kind, age, n in extra
    ]
    base = compute_features(_events(STORY), APPLICATIONS)
    assert compute_features(_events(STORY + outside), APPLICATIONS).equals(base)


def test_the_dictionary_names_each_feature_once_with_a_family_and_a_direction() -> None:
    assert len(set(NAMES)) == len(NAMES)
    assert {feature.family for feature in FEATURES} == set(FAMILIES)
    assert set(DIRECTIONS.values()) == {-1, 1}
    assert all(feature.meaning for feature in FEATURES)


def test_the_strongest_features_point_the_way_the_dictionary_says() -> None:
    sim = simulate(4_000, seed=11)
    found = compute_features(sim.events, sim.users).join(
        sim.users.select("user_id", "bad"), on="user_id"
    )
    bad = found["bad"].to_numpy()
    for name in ("balance_mean_30", "bills_late_share_180", "loan_app_sessions_90", "spend_90"):
        signed = DIRECTIONS[name] * found[name].to_numpy()
        assert auc(bad, signed) > 0.55, name


def test_events_without_the_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="days_late"):
        compute_features(_events(STORY).drop("days_late"), APPLICATIONS)


def test_every_feature_has_reason_words_in_both_languages() -> None:
    from huoqi.credit.dictionary import REASON_TEXTS, register_reasons
    from huoqi.credit.models import reason_text

    assert set(REASON_TEXTS) == set(NAMES)
    register_reasons()
    assert reason_text("loan_apps_installed", "zh") == "您的手机安装了较多借贷应用"
    assert reason_text("balance_trend", "en") == "Your current-account balance has been falling"


EVENT = st.fixed_dictionaries(
    {
        "user_id": st.integers(1, 3),
        "age": st.integers(-5, 200),
        "kind": st.sampled_from(KINDS),
        "category": st.sampled_from(["loan", "games", "finance", "lottery", "rooted", "stock"]),
        "amount_fen": st.integers(1, 10**7),
        "value": st.integers(0, 600),
        "place": st.integers(0, 5),
        "days_late": st.integers(0, 40),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(EVENT, max_size=60))
def test_features_keep_their_ranges_and_windows_nest(raw: list[dict[str, Any]]) -> None:
    rows = [_e(r.pop("kind"), r.pop("age"), **r) for r in raw]
    apps = pl.DataFrame({"user_id": [1, 2, 3], "as_of": [AS_OF] * 3})
    found = compute_features(_events(rows), apps)
    assert found["user_id"].to_list() == [1, 2, 3]
    assert found.null_count().sum_horizontal().item() == 0
    assert (found.select(NAMES) >= 0).to_numpy().all()
    for share in [n for n in NAMES if "share" in n]:
        assert found[share].max() <= 1.0  # type: ignore[operator]
    for short, long in (
        ("devices_30", "devices_180"),
        ("cells_30", "cells_90"),
        ("spend_30", "spend_90"),
        ("loan_app_days_30", "loan_app_sessions_90"),
    ):
        assert (found[short] <= found[long]).all(), (short, long)  # fmt: skip
    assert found["active_days_30"].max() <= 30  # type: ignore[operator]
    assert found["loan_app_days_30"].max() <= 30  # type: ignore[operator]
