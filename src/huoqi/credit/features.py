"""Credit features per application, from raw events over 30-, 90- and 180-day windows.

One lazy Polars query: the events are joined to their user's application day (``as_of``),
kept if they fall in the 180 days before it (the day itself excluded: nothing from the
application day leaks in), and aggregated per user in a single pass with filtered
expressions; the commonest-cell share takes one extra group-by over the location pings.
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


def _in(days: int) -> pl.Expr:
    return age <= days


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
    device, location = kind == "device", kind == "location"
    session, purchase = kind == "app_session", kind == "purchase"
    bill, balance, repayment = kind == "bill_payment", kind == "balance", kind == "repayment"
    minutes, amount, late = pl.col("value"), pl.col("amount_fen"), pl.col("days_late")
    category = pl.col("category")
    loan_session = session & (category == "loan")
    spend_90 = amount.filter(purchase & _in(90)).sum()
    minutes_90 = minutes.filter(session & _in(90)).sum()
    balance_30 = amount.filter(balance & _in(30)).mean()
    balance_180 = amount.filter(balance).mean()
    sums = window.group_by("user_id").agg(
        devices_180=pl.col("place").filter(device).n_unique(),
        devices_30=pl.col("place").filter(device & _in(30)).n_unique(),
        rooted_180=(device & (category == "rooted")).any().cast(pl.Int32),
        cells_30=pl.col("place").filter(location & _in(30)).n_unique(),
        cells_90=pl.col("place").filter(location & _in(90)).n_unique(),
        active_days_30=pl.col("day").filter(_in(30)).n_unique(),
        app_minutes_per_day_30=minutes.filter(session & _in(30)).sum() / 30,
        games_share_90=_share(
            minutes.filter(session & _in(90) & (category == "games")).sum(), minutes_90
        ),
        finance_share_90=_share(
            minutes.filter(session & _in(90) & (category == "finance")).sum(), minutes_90
        ),
        lottery_share_90=_share(
            amount.filter(purchase & _in(90) & (category == "lottery")).sum(), spend_90
        ),
        spend_30=_cny(amount.filter(purchase & _in(30)).sum()),
        spend_90=_cny(spend_90),
        purchases_90=purchase.filter(_in(90)).sum(),
        bills_90=_cny(amount.filter(bill & _in(90)).sum()),
        balance_mean_30=_cny(balance_30),
        balance_mean_180=_cny(balance_180),
        balance_min_90=_cny(amount.filter(balance & _in(90)).min()),
        balance_trend=pl.when(balance_180 > 0).then(balance_30 / balance_180),
        bills_late_share_180=(late.filter(bill) > 0).mean(),
        bills_max_days_late_180=late.filter(bill).max(),
        repayments_180=repayment.sum(),
        repay_late_share_180=(late.filter(repayment) > 0).mean(),
        repay_max_days_late_180=late.filter(repayment).max(),
        loan_apps_installed=minutes.filter(device & _in(90)).max(),
        loan_app_minutes_30=minutes.filter(loan_session & _in(30)).sum(),
        loan_app_days_30=pl.col("day").filter(loan_session & _in(30)).n_unique(),
        loan_app_sessions_90=loan_session.filter(_in(90)).sum(),
    )
    home = (
        window.filter(location & _in(90))
        .group_by("user_id", "place")
        .agg(pings=pl.len())
        .group_by("user_id")
        .agg(home_share_90=pl.col("pings").max() / pl.col("pings").sum())
    )
    neutral = dict.fromkeys(NAMES, 0) | {"balance_trend": 1.0}
    return (
        apps.select("user_id")
        .join(sums, on="user_id", how="left", maintain_order="left")
        .join(home, on="user_id", how="left", maintain_order="left")
        .select(
            "user_id",
            *(pl.col(name).cast(pl.Float64).fill_null(neutral[name]) for name in NAMES),
        )
        .collect()
    )
