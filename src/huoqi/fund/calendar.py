"""Every date question of the current account, answered in one place.

Time is Asia/Shanghai; trading days are the Shanghai Stock Exchange's sessions as recorded
by ``exchange_calendars`` (calendar "XSHG"); the daily cut-off is 15:00. A request belongs
to trade date T: its own day if that is a trading day and the request came before 15:00,
else the next trading day. Everything else follows from T:

* purchase: confirmed on the next trading day after T, earning from that day on (every
  calendar day, weekends included); day D's income is visible on D+1;
* normal redemption: paid out on the next trading day after T; the shares earn nothing
  from T on, so their last income day is T-1;
* instant redemption: the daily limits count per calendar day of the request in Shanghai
  (the 2018 rule caps each natural day); the shares leave at once, so their last income day
  is the day before; the platform redeems the same shares from the fund at that moment, so
  the fund repays the advance on that normal redemption's payout date.

The library records holidays only as far as the exchange has published them (XSHG in
exchange-calendars 4.13.2: 1990-12-19 to 2026-12-31) and refuses to be built beyond; a
question whose answer lies outside the coverage raises `CalendarNotCovered` instead of
guessing. When the exchange announces the next year's closures before the library is
updated, an operator extends the coverage with ``extend_to`` and ``extra_holidays``.
"""

from __future__ import annotations

import functools
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from huoqi import config
from huoqi.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUT_OFF = time(15, 0)
EXCHANGE = "XSHG"
#: The Shanghai Stock Exchange's first session. The library would also list days before
#: it (it simply has no data there), so coverage starts here.
OPENING_DAY = date(1990, 12, 19)
ONE_DAY = timedelta(days=1)


class CalendarNotCovered(InvalidInput):
    code = "calendar_not_covered"
    title = "Date outside the trading calendar"


class NaiveDateTime(InvalidInput):
    code = "naive_datetime"
    title = "Time without a time zone"


@dataclass(frozen=True, slots=True)
class PurchaseDates:
    trade_date: date
    confirm_date: date
    first_income_date: date
    income_visible_date: date


@dataclass(frozen=True, slots=True)
class RedemptionDates:
    trade_date: date
    payout_date: date
    last_income_date: date


@dataclass(frozen=True, slots=True)
class InstantRedemptionDates:
    limit_date: date  # the calendar day whose per-customer and platform limits it uses
    last_income_date: date
    fund_trade_date: date  # trade date of the platform's own redemption from the fund
    settlement_date: date  # the fund repays the platform's advance


@functools.cache
def _exchange_sessions() -> tuple[tuple[int, ...], date]:
    """The library's XSHG sessions (as date ordinals) and the last day its data covers."""
    # imported here: the library pulls in pandas, which takes a second to load
    from exchange_calendars import get_calendar  # type: ignore[import-untyped]

    with warnings.catch_warnings():  # the library's own pandas deprecations are not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        probe = get_calendar(EXCHANGE)
        last_day: date = type(probe).bound_max().date()
        exchange = get_calendar(EXCHANGE, start=OPENING_DAY.isoformat(), end=last_day.isoformat())
    return tuple(session.date().toordinal() for session in exchange.sessions), last_day


class TradingCalendar:
    """Trading days and the dates of purchases and redemptions, within a known coverage.

    ``extend_to`` and ``extra_holidays`` extend the coverage past the library's last day:
    each day after it, up to ``extend_to``, is a trading day if it is a weekday and not one
    of ``extra_holidays``. Where the library has data it wins, so an extension that a newer
    library version overtakes is harmless (its holidays up to the library's last day are
    ignored).
    """

    def __init__(self, extra_holidays: Iterable[date] = (), extend_to: date | None = None):
        sessions, library_last = _exchange_sessions()
        holidays = frozenset(extra_holidays)
        if any(_not_a_day(day) for day in (*holidays, extend_to) if day is not None):
            raise InvalidInput("extend_to and extra holidays must be dates (no times)")
        last = max(library_last, extend_to) if extend_to is not None else library_last
        late = sorted(day for day in holidays if day > last)
        if late:
            raise InvalidInput(
                f"extra holiday {late[0]} is after the end of the extension ({last}); "
                "set extend_to to the last day whose closures are listed"
            )
        added = [
            day.toordinal()
            for day in _days_between(library_last + ONE_DAY, last)
            if day.weekday() < 5 and day not in holidays
        ]
        self.first_day = OPENING_DAY
        self.last_day = last
        self.library_last_day = library_last
        self._ordinals = (*sessions, *added)
        self._sessions = frozenset(self._ordinals)

    def __repr__(self) -> str:
        return f"TradingCalendar({EXCHANGE}, {self.first_day} to {self.last_day})"

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def is_trading_day(self, day: date) -> bool:
        self._require(day)
        return day.toordinal() in self._sessions

    def next_trading_day(self, day: date) -> date:
        """The first trading day strictly after ``day``."""
        self._require(day)
        at = bisect_right(self._ordinals, day.toordinal())
        if at == len(self._ordinals):
            raise self._not_covered(f"the trading day after {day}", self.last_day + ONE_DAY)
        return date.fromordinal(self._ordinals[at])

    def previous_trading_day(self, day: date) -> date:
        """The last trading day strictly before ``day``."""
        self._require(day)
        at = bisect_left(self._ordinals, day.toordinal())
        if at == 0:
            raise self._not_covered(f"the trading day before {day}", self.first_day - ONE_DAY)
        return date.fromordinal(self._ordinals[at - 1])

    def trade_date(self, at: datetime) -> date:
        """The trade date of a request made at ``at`` (15:00 exactly is after the cut-off)."""
        local = shanghai_time(at)
        day = local.date()
        if local.time() < CUT_OFF and self.is_trading_day(day):
            return day
        return self.next_trading_day(day)

    def purchase_dates(self, at: datetime) -> PurchaseDates:
        trade = self.trade_date(at)
        confirm = self.next_trading_day(trade)
        return PurchaseDates(trade, confirm, confirm, confirm + ONE_DAY)

    def redemption_dates(self, at: datetime) -> RedemptionDates:
        trade = self.trade_date(at)
        return RedemptionDates(trade, self.next_trading_day(trade), trade - ONE_DAY)

    def instant_redemption_dates(self, at: datetime) -> InstantRedemptionDates:
        day = shanghai_time(at).date()
        fund_trade = self.trade_date(at)
        return InstantRedemptionDates(
            day, day - ONE_DAY, fund_trade, self.next_trading_day(fund_trade)
        )

    def _require(self, day: date) -> None:
        if not self.covers(day):
            raise self._not_covered(str(day), day)

    def _not_covered(self, question: str, day: date) -> CalendarNotCovered:
        if day < self.first_day:
            advice = f"the exchange opened on {self.first_day}"
        else:
            advice = (
                f"when the exchange publishes its closures for {day.year}, upgrade "
                "exchange-calendars, or extend the calendar with TradingCalendar(extend_to="
                "<last day>, extra_holidays=[<every weekday the exchange is closed>])"
            )
        return CalendarNotCovered(
            f"the Shanghai Stock Exchange calendar covers {self.first_day} to "
            f"{self.last_day} and cannot answer for {question}; {advice}",
            date=day.isoformat(),
            first_day=self.first_day.isoformat(),
            last_day=self.last_day.isoformat(),
        )


@functools.cache
def default_calendar() -> TradingCalendar:
    """The library's XSHG calendar, built once per process, with the operator's extension.

    When the exchange publishes next year's holidays before the library has them, set
    ``HUOQI_SSE_EXTEND_TO`` (the last day to cover) and ``HUOQI_SSE_EXTRA_HOLIDAYS`` (the
    published closed weekdays, comma-separated ``YYYY-MM-DD``).
    """
    extend_to, holidays = config.sse_extension()
    return TradingCalendar(extra_holidays=holidays, extend_to=extend_to)


def shanghai_time(at: datetime) -> datetime:
    """``at`` in Asia/Shanghai; a time without a time zone is refused, not guessed."""
    if not isinstance(at, datetime):
        raise InvalidInput(f"expected a date and time, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDateTime(
            f"{at.isoformat()} has no time zone; give one (e.g. +08:00 for Shanghai)"
        )
    return at.astimezone(SHANGHAI)


def _not_a_day(value: object) -> bool:
    return not isinstance(value, date) or isinstance(value, datetime)


def _days_between(first: date, last: date) -> Iterable[date]:
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        yield date.fromordinal(ordinal)
