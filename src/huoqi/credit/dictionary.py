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

#: What each feature says when it lowers a score (reason codes are the feature names).
REASON_TEXTS: dict[str, dict[str, str]] = {
    "devices_180": {"en": "You used several phones in the last six months",
                    "zh": "近六个月您使用了多部手机"},
    "devices_30": {"en": "You changed phones recently", "zh": "您近期更换了手机"},
    "rooted_180": {"en": "Your phone's system was modified (rooted)",
                   "zh": "您的手机系统被改动过(已root)"},
    "cells_30": {"en": "Your location moved around a lot last month",
                 "zh": "上个月您的位置变动较多"},
    "cells_90": {"en": "Your location moved around a lot in the last three months",
                 "zh": "近三个月您的位置变动较多"},
    "home_share_90": {"en": "You spent little time in one settled place",
                      "zh": "您较少在固定地点停留"},
    "active_days_30": {"en": "Your phone reported on few days last month",
                       "zh": "上个月您的手机上报数据的天数较少"},
    "app_minutes_per_day_30": {"en": "You spent many hours a day in apps",
                               "zh": "您每天使用应用的时间较长"},
    "games_share_90": {"en": "Much of your app time went to games",
                       "zh": "您的应用时间较多用于游戏"},
    "finance_share_90": {"en": "You spent little time managing your money in finance apps",
                         "zh": "您较少使用理财类应用管理资金"},
    "lottery_share_90": {"en": "Part of your spending went to lotteries",
                         "zh": "您有部分消费用于彩票"},
    "spend_30": {"en": "Your spending last month was low", "zh": "上个月您的消费较少"},
    "spend_90": {"en": "Your spending in the last three months was low",
                 "zh": "近三个月您的消费较少"},
    "purchases_90": {"en": "You made few purchases in the last three months",
                     "zh": "近三个月您的消费次数较少"},
    "bills_90": {"en": "You paid few bills in the last three months",
                 "zh": "近三个月您缴付的账单较少"},
    "balance_mean_30": {"en": "Your current-account balance was low last month",
                        "zh": "上个月您的活期余额较低"},
    "balance_mean_180": {"en": "Your current-account balance was low over six months",
                         "zh": "近六个月您的活期余额较低"},
    "balance_min_90": {"en": "Your current-account balance fell low in the last three months",
                       "zh": "近三个月您的活期余额曾降到较低水平"},
    "balance_trend": {"en": "Your current-account balance has been falling",
                      "zh": "您的活期余额呈下降趋势"},
    "bills_late_share_180": {"en": "Some of your bills were paid late",
                             "zh": "您有账单逾期缴付"},
    "bills_max_days_late_180": {"en": "A bill of yours was paid many days late",
                                "zh": "您有账单逾期多日才缴付"},
    "repayments_180": {"en": "You have little repayment history with us",
                       "zh": "您在本平台的还款记录较少"},
    "repay_late_share_180": {"en": "Some of your loan repayments were late",
                             "zh": "您有借款逾期还款"},
    "repay_max_days_late_180": {"en": "A loan repayment of yours was many days late",
                                "zh": "您有借款逾期多日才还款"},
    "loan_apps_installed": {"en": "Many loan apps are installed on your phone",
                            "zh": "您的手机安装了较多借贷应用"},
    "loan_app_minutes_30": {"en": "You spent time in loan apps last month",
                            "zh": "上个月您使用借贷应用的时间较长"},
    "loan_app_days_30": {"en": "You used loan apps on many days last month",
                         "zh": "上个月您有多天使用借贷应用"},
    "loan_app_sessions_90": {"en": "You used loan apps often in the last three months",
                             "zh": "近三个月您频繁使用借贷应用"},
}  # fmt: skip


def register_reasons() -> None:
    """Give the models' reason codes for these features their plain words."""
    from huoqi.credit.models import register_reason_texts

    register_reason_texts(REASON_TEXTS)
