"""The feature dictionary: every credit feature's name, meaning, family and expected direction.

Direction +1 means a larger value is riskier, -1 that it is safer; the models take these as
their monotone constraints (`directions`), so a score can never move against what the
dictionary says a feature means. Families follow the dimensions Sesame Credit publishes:
identity and device stability, behaviour and preferences, ability to pay, credit history,
and multi-borrowing (the signal of loan apps). `huoqi.credit.features` computes exactly
these columns; a test holds the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["stability", "behaviour", "ability_to_pay", "credit_history", "multi_borrowing"]
FAMILIES: tuple[Family, ...] = (
    "stability",
    "behaviour",
    "ability_to_pay",
    "credit_history",
    "multi_borrowing",
)


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    family: Family
    direction: int  # +1 riskier when larger, -1 safer when larger
    meaning: str


def _f(name: str, family: Family, direction: int, meaning: str) -> Feature:
    return Feature(name, family, direction, meaning)


FEATURES: tuple[Feature, ...] = (
    # identity and device stability
    _f("devices_180", "stability", +1, "distinct phones reporting device facts, 180 days"),
    _f("devices_30", "stability", +1, "distinct phones reporting device facts, 30 days"),
    _f("rooted_180", "stability", +1, "1 if any phone was rooted in 180 days, else 0"),
    _f("cells_30", "stability", +1, "distinct coarse location cells, 30 days"),
    _f("cells_90", "stability", +1, "distinct coarse location cells, 90 days"),
    _f("home_share_90", "stability", -1, "share of location pings in the commonest cell, 90 d"),
    _f("active_days_30", "stability", -1, "days with any event, 30 days"),
    # behaviour and preferences
    _f("app_minutes_per_day_30", "behaviour", +1, "app minutes a day, all categories, 30 d"),
    _f("games_share_90", "behaviour", +1, "share of app minutes in games, 90 days"),
    _f("finance_share_90", "behaviour", -1, "share of app minutes in finance apps, 90 days"),
    _f("lottery_share_90", "behaviour", +1, "share of purchase spending on lotteries, 90 days"),
    # ability to pay
    _f("spend_30", "ability_to_pay", -1, "purchase spending in CNY, 30 days"),
    _f("spend_90", "ability_to_pay", -1, "purchase spending in CNY, 90 days"),
    _f("purchases_90", "ability_to_pay", -1, "number of purchases, 90 days"),
    _f("bills_90", "ability_to_pay", -1, "bill payments in CNY, 90 days"),
    _f("balance_mean_30", "ability_to_pay", -1, "mean current-account balance in CNY, 30 d"),
    _f("balance_mean_180", "ability_to_pay", -1, "mean current-account balance in CNY, 180 d"),
    _f("balance_min_90", "ability_to_pay", -1, "lowest current-account balance in CNY, 90 d"),
    _f("balance_trend", "ability_to_pay", -1, "mean balance 30 d / mean balance 180 d"),
    # credit history
    _f("bills_late_share_180", "credit_history", +1, "share of bills paid late, 180 days"),
    _f("bills_max_days_late_180", "credit_history", +1, "most days a bill was late, 180 d"),
    _f("repayments_180", "credit_history", -1, "repayments of earlier loans, 180 days"),
    _f("repay_late_share_180", "credit_history", +1, "share of repayments made late, 180 d"),
    _f("repay_max_days_late_180", "credit_history", +1, "most days a repayment was late, 180 d"),
    # multi-borrowing
    _f(
        "loan_apps_installed",
        "multi_borrowing",
        +1,
        "most loan apps installed at a device report, 90 d",
    ),
    _f("loan_app_minutes_30", "multi_borrowing", +1, "minutes in loan apps, 30 days"),
    _f("loan_app_days_30", "multi_borrowing", +1, "days with a loan-app session, 30 days"),
    _f("loan_app_sessions_90", "multi_borrowing", +1, "loan-app sessions, 90 days"),
)
NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
DIRECTIONS: dict[str, int] = {feature.name: feature.direction for feature in FEATURES}
BY_NAME: dict[str, Feature] = {feature.name: feature for feature in FEATURES}
