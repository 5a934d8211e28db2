"""Credit features per application, from raw events over 30-, 90- and 180-day windows.

One lazy Polars query: the events are joined to their user's application day (``as_of``),
kept if they fall in the 180 days before it (the day itself excluded: nothing from the
application day leaks in), split by kind of event and aggregated per user and kind (each
aggregation reads only its own kind's rows: a filter inside one big group-by would scan
every event once per feature), then the per-kind results are joined to the applications.
Every column is in `huoqi.credit.dictionary`, in that order. Money features are in CNY
(floats are fine here: they are model inputs, never booked). Empty windows give the
neutral value (0 for counts, amounts and shares, 1 for the balance trend), so every user
with an application gets a complete row, even one whose phone sent nothing.
"""

from __future__ import annotations

import polars as pl

from huoqi.credit.dictionary import NAMES
from huoqi.credit.simulate import EVENT_SCHEMA, HISTORY_DAYS

age = pl.col("as_of") - pl.col("day")
kind = pl.col("kind")


def _share(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part / whole).otherwise(0.0)


def _cny(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64) / 100


def compute_features(
    events: pl.DataFrame | pl.LazyFrame, applications: pl.DataFrame
) -> pl.DataFrame:
    """One row per application (``user_id``, ``as_of``): user_id then the dictionary's columns.

    ``events`` has `EVENT_SCHEMA`'s columns; ``applications`` one row per user.
    """
    missing = set(EVENT_SCHEMA) - set(events.collect_schema())
    if missing:
        raise ValueError(f"events lack the columns {sorted(missing)}")
    apps = applications.lazy().select(
        pl.col("user_id").cast(pl.Int64), pl.col("as_of").cast(pl.Int32)
    )
    window = (
        events.lazy()
        .join(apps, on="user_id", how="inner")
        .filter(pl.col("day") < pl.col("as_of"), age <= HISTORY_DAYS)
    )
    window = window.with_columns(in_30=age <= 30, in_90=age <= 90)
    in_30, in_90 = pl.col("in_30"), pl.col("in_90")
    minutes, amount, late = pl.col("value"), pl.col("amount_fen"), pl.col("days_late")
    category, place = pl.col("category"), pl.col("place")

    def of(name: str) -> pl.LazyFrame:
        return window.filter(kind == name)

    loan = category == "loan"
    parts = [
        window.group_by("user_id").agg(active_days_30=pl.col("day").filter(in_30).n_unique()),
        of("device")
        .group_by("user_id")
        .agg(
            devices_180=place.n_unique(),
            devices_30=place.filter(in_30).n_unique(),
            rooted_180=(category == "rooted").any().cast(pl.Int32),
            loan_apps_installed=minutes.filter(in_90).max(),
        ),
        of("location")
        .group_by("user_id")
        .agg(cells_30=place.filter(in_30).n_unique(), cells_90=place.filter(in_90).n_unique()),
        of("location")
        .filter(in_90)
        .group_by("user_id", "place")
        .agg(pings=pl.len())
        .group_by("user_id")
        .agg(home_share_90=pl.col("pings").max() / pl.col("pings").sum()),
        of("app_session")
        .group_by("user_id")
        .agg(
            app_minutes_per_day_30=minutes.filter(in_30).sum() / 30,
            games_share_90=_share(
                minutes.filter(in_90 & (category == "games")).sum(), minutes.filter(in_90).sum()
            ),
            finance_share_90=_share(
                minutes.filter(in_90 & (category == "finance")).sum(),
                minutes.filter(in_90).sum(),
            ),
            loan_app_minutes_30=minutes.filter(loan & in_30).sum(),
            loan_app_days_30=pl.col("day").filter(loan & in_30).n_unique(),
            loan_app_sessions_90=(loan & in_90).sum(),
        ),
        of("purchase")
        .group_by("user_id")
        .agg(
            lottery_share_90=_share(
                amount.filter(in_90 & (category == "lottery")).sum(), amount.filter(in_90).sum()
            ),
            spend_30=_cny(amount.filter(in_30).sum()),
            spend_90=_cny(amount.filter(in_90).sum()),
            purchases_90=in_90.sum(),
        ),
        of("bill_payment")
        .group_by("user_id")
        .agg(
            bills_90=_cny(amount.filter(in_90).sum()),
            bills_late_share_180=(late > 0).mean(),
            bills_max_days_late_180=late.max(),
        ),
        of("balance")
        .group_by("user_id")
        .agg(
            balance_mean_30=_cny(amount.filter(in_30).mean()),
            balance_mean_180=_cny(amount.mean()),
            balance_min_90=_cny(amount.filter(in_90).min()),
            balance_trend=amount.filter(in_30).mean() / amount.mean(),
        ),
        of("repayment")
        .group_by("user_id")
        .agg(
            repayments_180=pl.len(),
            repay_late_share_180=(late > 0).mean(),
            repay_max_days_late_180=late.max(),
        ),
    ]
    neutral = dict.fromkeys(NAMES, 0) | {"balance_trend": 1.0}
    joined = apps.select("user_id")
    for part in parts:
        joined = joined.join(part, on="user_id", how="left", maintain_order="left")
    return joined.select(
        "user_id",
        *(pl.col(name).cast(pl.Float64).fill_null(neutral[name]) for name in NAMES),
    ).collect()
