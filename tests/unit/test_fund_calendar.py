"""Trade, confirmation, income and payout dates on the Shanghai Stock Exchange calendar.

Holiday cases use the exchange's published closures: National Day 2024 (1–7 October),
National Day and Mid-Autumn 2025 (1–8 October), Spring Festival 2025 (28 January to
4 February).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huoqi.errors import InvalidInput
from huoqi.fund.calendar import (
    SHANGHAI,
    CalendarNotCovered,
    NaiveDateTime,
    PurchaseDates,
    RedemptionDates,
    TradingCalendar,
    default_calendar,
)

calendar = default_calendar()


def shanghai(
    year: int, month: int, day: int, hour: int, minute: int = 0, *, s: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, s, tzinfo=SHANGHAI)


def income_days_until(dates: PurchaseDates, last: date) -> list[date]:
    days = (last - dates.first_income_date).days + 1
    return [dates.first_income_date + timedelta(n) for n in range(days)]


def test_coverage_starts_at_the_exchange_opening_and_ends_with_the_library_data() -> None:
    assert calendar.first_day == date(1990, 12, 19)
    assert calendar.last_day == calendar.library_last_day >= date(2026, 12, 31)
    assert calendar.is_trading_day(date(1990, 12, 19))


def test_thursday_before_cut_off_confirms_friday_and_earns_the_weekend() -> None:
    dates = calendar.purchase_dates(shanghai(2025, 3, 13, 10))  # Thursday
    assert dates == PurchaseDates(
        trade_date=date(2025, 3, 13),
        confirm_date=date(2025, 3, 14),
        first_income_date=date(2025, 3, 14),
        income_visible_date=date(2025, 3, 15),
    )
    assert income_days_until(dates, date(2025, 3, 16)) == [
        date(2025, 3, 14),  # Friday
        date(2025, 3, 15),  # Saturday
        date(2025, 3, 16),  # Sunday
    ]


def test_friday_before_cut_off_confirms_monday_without_weekend_income() -> None:
    dates = calendar.purchase_dates(shanghai(2025, 3, 14, 14, 59, s=59))
    assert dates.trade_date == date(2025, 3, 14)
    assert dates.confirm_date == dates.first_income_date == date(2025, 3, 17)  # Monday
    assert dates.income_visible_date == date(2025, 3, 18)


def test_friday_after_cut_off_trades_monday_and_confirms_tuesday() -> None:
    dates = calendar.purchase_dates(shanghai(2025, 3, 14, 15, 30))
    assert (dates.trade_date, dates.confirm_date) == (date(2025, 3, 17), date(2025, 3, 18))


def test_fifteen_hundred_exactly_is_after_the_cut_off() -> None:
    assert calendar.trade_date(shanghai(2025, 3, 13, 15, 0, s=0)) == date(2025, 3, 14)
    just_before = shanghai(2025, 3, 13, 14, 59, s=59).replace(microsecond=999_999)
    assert calendar.trade_date(just_before) == date(2025, 3, 13)


def test_weekend_request_trades_on_monday() -> None:
    assert calendar.trade_date(shanghai(2025, 3, 15, 9)) == date(2025, 3, 17)


def test_a_time_without_time_zone_is_refused() -> None:
    with pytest.raises(NaiveDateTime, match="no time zone") as refused:
        calendar.trade_date(datetime(2025, 3, 13, 10))
    assert isinstance(refused.value, InvalidInput)
    assert refused.value.status == 422


def test_a_date_without_time_is_refused() -> None:
    with pytest.raises(InvalidInput, match="date and time"):
        calendar.trade_date(date(2025, 3, 13))  # type: ignore[arg-type]


def test_utc_times_are_converted_to_shanghai() -> None:
    assert calendar.trade_date(datetime(2025, 3, 13, 6, 59, tzinfo=UTC)) == date(2025, 3, 13)
    assert calendar.trade_date(datetime(2025, 3, 13, 7, 0, tzinfo=UTC)) == date(2025, 3, 14)
    # 20:00 UTC on Thursday is 04:00 on Friday in Shanghai
    assert calendar.trade_date(datetime(2025, 3, 13, 20, 0, tzinfo=UTC)) == date(2025, 3, 14)


def test_national_day_2025_after_cut_off_trades_after_the_golden_week() -> None:
    dates = calendar.purchase_dates(shanghai(2025, 9, 30, 15, 1))
    assert dates == PurchaseDates(
        trade_date=date(2025, 10, 9),
        confirm_date=date(2025, 10, 10),
        first_income_date=date(2025, 10, 10),
        income_visible_date=date(2025, 10, 11),
    )
    assert calendar.redemption_dates(shanghai(2025, 9, 30, 15, 1)) == RedemptionDates(
        trade_date=date(2025, 10, 9),
        payout_date=date(2025, 10, 10),
        last_income_date=date(2025, 10, 8),
    )


def test_national_day_2024_before_cut_off_confirms_after_the_holiday() -> None:
    at = shanghai(2024, 9, 30, 14)
    dates = calendar.purchase_dates(at)
    assert (dates.trade_date, dates.confirm_date) == (date(2024, 9, 30), date(2024, 10, 8))
    # redeemed shares stop earning on T: the holiday's income goes to nobody's old shares
    assert calendar.redemption_dates(at) == RedemptionDates(
        date(2024, 9, 30), date(2024, 10, 8), date(2024, 9, 29)
    )


def test_spring_festival_2025() -> None:
    before = calendar.purchase_dates(shanghai(2025, 1, 27, 14, 59))
    assert (before.trade_date, before.confirm_date) == (date(2025, 1, 27), date(2025, 2, 5))
    after = calendar.purchase_dates(shanghai(2025, 1, 27, 15))
    assert (after.trade_date, after.confirm_date) == (date(2025, 2, 5), date(2025, 2, 6))
    new_years_eve = calendar.trade_date(shanghai(2025, 1, 28, 9, 30))
    assert new_years_eve == date(2025, 2, 5)
    assert [calendar.is_trading_day(date(2025, 1, d)) for d in (27, 28, 29, 30, 31)] == [
        True, False, False, False, False,
    ]  # fmt: skip


def test_previous_trading_day_skips_the_holiday() -> None:
    assert calendar.previous_trading_day(date(2025, 2, 5)) == date(2025, 1, 27)
    assert calendar.next_trading_day(date(2025, 1, 27)) == date(2025, 2, 5)


def test_instant_redemption_counts_per_calendar_day_and_settles_with_the_fund() -> None:
    dates = calendar.instant_redemption_dates(shanghai(2025, 9, 30, 16))
    assert dates.limit_date == date(2025, 9, 30)
    assert dates.last_income_date == date(2025, 9, 29)
    assert dates.fund_trade_date == date(2025, 10, 9)
    assert dates.settlement_date == date(2025, 10, 10)
    saturday = calendar.instant_redemption_dates(datetime(2025, 3, 14, 16, 30, tzinfo=UTC))
    assert saturday.limit_date == date(2025, 3, 15)  # 00:30 on Saturday in Shanghai


def test_beyond_the_coverage_is_refused_with_a_way_forward() -> None:
    last = calendar.library_last_day
    with pytest.raises(CalendarNotCovered) as refused:
        calendar.is_trading_day(last + timedelta(days=5))
    message = str(refused.value)
    assert f"covers 1990-12-19 to {last}" in message
    assert "upgrade exchange-calendars" in message
    assert "extend_to" in message
    assert refused.value.context["last_day"] == last.isoformat()


def test_the_day_after_the_coverage_is_not_guessed() -> None:
    last = calendar.library_last_day
    evening = datetime.combine(last, datetime.min.time(), SHANGHAI).replace(hour=15)
    with pytest.raises(CalendarNotCovered, match=f"the trading day after {last}"):
        calendar.purchase_dates(evening)


def test_before_the_exchange_opened_is_refused() -> None:
    with pytest.raises(CalendarNotCovered, match="opened on 1990-12-19"):
        calendar.is_trading_day(date(1990, 12, 18))
    with pytest.raises(CalendarNotCovered):
        calendar.previous_trading_day(date(1990, 12, 19))


def test_operator_extends_the_coverage_with_published_closures() -> None:
    last = calendar.library_last_day
    start = last + timedelta(days=1)
    weekdays = [start + timedelta(n) for n in range(14) if (start + timedelta(n)).weekday() < 5]
    closed, opened = weekdays[0], weekdays[1]
    extended = TradingCalendar(extra_holidays=[closed], extend_to=last + timedelta(days=365))
    assert extended.last_day == last + timedelta(days=365)
    assert not extended.is_trading_day(closed)
    assert extended.is_trading_day(opened)
    saturday = next(start + timedelta(n) for n in range(7) if (start + timedelta(n)).weekday() == 5)
    assert not extended.is_trading_day(saturday)
    assert extended.next_trading_day(last) == opened
    with pytest.raises(CalendarNotCovered):
        extended.is_trading_day(last + timedelta(days=366))


def test_extension_for_2027_new_year() -> None:
    if calendar.library_last_day != date(2026, 12, 31):
        pytest.skip("the installed library already knows 2027")
    extended = TradingCalendar(extra_holidays=[date(2027, 1, 1)], extend_to=date(2027, 12, 31))
    at = shanghai(2026, 12, 31, 15)  # Thursday after the cut-off; 1 January 2027 is a Friday
    assert extended.purchase_dates(at) == PurchaseDates(
        date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 5), date(2027, 1, 6)
    )


def test_library_data_wins_over_an_extension_it_already_covers() -> None:
    extended = TradingCalendar(extra_holidays=[date(2025, 10, 9)], extend_to=date(2025, 12, 31))
    assert extended.is_trading_day(date(2025, 10, 9))
    assert extended.last_day == calendar.library_last_day


def test_extension_takes_dates_only() -> None:
    with pytest.raises(InvalidInput, match="must be dates"):
        TradingCalendar(
            extra_holidays=[datetime(2027, 1, 1, tzinfo=UTC)], extend_to=date(2027, 2, 1)
        )
    with pytest.raises(InvalidInput, match="must be dates"):
        TradingCalendar(extend_to="2027-12-31")  # type: ignore[arg-type]


def test_extra_holiday_beyond_the_extension_is_refused() -> None:
    last = calendar.library_last_day
    with pytest.raises(InvalidInput, match="after the end of the extension"):
        TradingCalendar(
            extra_holidays=[last + timedelta(days=40)], extend_to=last + timedelta(days=30)
        )


aware_moments = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(SHANGHAI)
)


@given(aware_moments)
def test_trade_and_confirmation_dates_follow_the_rule(at: datetime) -> None:
    dates = calendar.purchase_dates(at)
    day = at.date()
    assert calendar.is_trading_day(dates.trade_date)
    assert calendar.is_trading_day(dates.confirm_date)
    assert dates.trade_date >= day
    same_day = calendar.is_trading_day(day) and at.hour < 15
    assert (dates.trade_date == day) == same_day
    between = [dates.trade_date - timedelta(n) for n in range(1, (dates.trade_date - day).days)]
    assert not any(calendar.is_trading_day(d) for d in between)
    assert dates.confirm_date == calendar.next_trading_day(dates.trade_date)
    assert dates.income_visible_date == dates.first_income_date + timedelta(1)
