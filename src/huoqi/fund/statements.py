"""What a customer sees of their current account: balance, income, yields, movements.

Reads only. Income history is read from ``fund_income`` by its primary key (fund, day,
account): the days wanted are listed explicitly, so each is one index probe and the query
costs the same with 1,000 or 100,000,000 accounts, without a second index on the table
the daily close appends to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Date, bindparam, func, select

from huoqi.fund import close, rates
from huoqi.fund.calendar import default_calendar
from huoqi.fund.limits import instant_limits, used_today
from huoqi.fund.orders import Order, order_from_row
from huoqi.fund.registry import Fund, Holder, fund_by_id, fund_from_row
from huoqi.fund.tables import fund_income, fund_orders, funds, holdings
from huoqi.fund.yields import YieldRow, annualised_yield, yield_series
from huoqi.ledger.tables import accounts

SHANGHAI = close.SHANGHAI


@dataclass(frozen=True, slots=True)
class Holding:
    fund: Fund
    account_id: int
    shares: int  # 0.01 share = 1 fen at NAV 1.00
    held: int  # shares held by normal redemptions not yet retired


@dataclass(frozen=True, slots=True)
class Summary:
    fund: Fund
    total: int  # every share the customer holds, in fen
    available: int  # what can be redeemed now
    pending_purchases: int  # paid, not yet confirmed
    pending_redemptions: int  # normal redemptions not yet paid out
    last_income_date: date | None
    last_income: int
    cumulative_income: int
    yield_7d: Decimal | None
    yield_date: date | None
    instant_limit: int
    instant_remaining: int


_HOLDINGS = (
    select(
        funds,
        holdings.c.account_id.label("holding_account_id"),
        (accounts.c.credits_posted - accounts.c.debits_posted).label("shares"),
        accounts.c.debits_pending.label("held"),
    )
    .select_from(
        holdings.join(accounts, accounts.c.id == holdings.c.account_id).join(
            funds, funds.c.id == holdings.c.fund_id
        )
    )
    .where(holdings.c.holder_id == bindparam("holder"))
    .order_by(holdings.c.fund_id)
)


def holdings_of(connection: Connection, holder: Holder) -> list[Holding]:
    """The customer's share account in each fund they have held, with its fund (one query)."""
    rows = connection.execute(_HOLDINGS, {"holder": holder.id}).all()
    return [
        Holding(fund_from_row(row), row.holding_account_id, int(row.shares), int(row.held))
        for row in rows
    ]


def income_by_day(
    connection: Connection, holder: Holder, start: date, end: date
) -> list[tuple[date, int]]:
    """The customer's income for each day from ``start`` to ``end`` (0 where none)."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    totals = dict.fromkeys(days, 0)
    for holding in holdings_of(connection, holder):
        for chunk in range(0, len(days), 400):
            query = select(fund_income.c.income_date, fund_income.c.income).where(
                fund_income.c.fund_id == holding.fund.id,
                fund_income.c.income_date.in_(days[chunk : chunk + 400]),
                fund_income.c.account_id == holding.account_id,
            )
            for day, income in connection.execute(query):
                totals[_day(day)] += int(income)
    return sorted(totals.items())


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# Every share a customer holds came from a confirmed purchase or from income (income is
# paid as shares) and left through a retired redemption, so the income ever earned is the
# shares held now, less confirmed purchases, plus retired redemptions: read from the
# customer's orders, not from every day of their income history.
_RETIRED = (
    (fund_orders.c.kind == "redemption") & fund_orders.c.status.in_(["confirmed", "paid"])
) | ((fund_orders.c.kind == "instant_redemption") & (fund_orders.c.status == "paid"))


_ORDER_TOTALS = (
    select(fund_orders.c.kind, fund_orders.c.status, func.sum(fund_orders.c.amount))
    .where(fund_orders.c.holder_id == bindparam("holder"))
    .group_by(fund_orders.c.kind, fund_orders.c.status)
)
_INCOME_ON = select(fund_income.c.income).where(
    fund_income.c.fund_id == bindparam("fund"),
    fund_income.c.income_date == bindparam("day", type_=Date),
    fund_income.c.account_id == bindparam("account"),
)


def _order_totals(connection: Connection, holder: Holder) -> dict[tuple[str, str], int]:
    rows = connection.execute(_ORDER_TOTALS, {"holder": holder.id}).all()
    return {(kind, status): int(total) for kind, status, total in rows}


def cumulative_income(holdings_now: list[Holding], totals: dict[tuple[str, str], int]) -> int:
    """Income ever earned = shares held − confirmed purchases + retired redemptions."""
    held = sum(h.shares for h in holdings_now)
    bought = totals.get(("purchase", "confirmed"), 0)
    retired = (
        totals.get(("redemption", "confirmed"), 0)
        + totals.get(("redemption", "paid"), 0)
        + totals.get(("instant_redemption", "paid"), 0)
    )
    return held - bought + retired


def _income_on(connection: Connection, holdings_now: list[Holding], day: date) -> int:
    total = 0
    for holding in holdings_now:
        found = connection.execute(
            _INCOME_ON, {"fund": holding.fund.id, "day": day, "account": holding.account_id}
        ).scalar_one_or_none()
        total += int(found or 0)
    return total


def latest_seven_day_yield(
    connection: Connection, fund: Fund, today: date
) -> tuple[date, Decimal] | None:
    """The 7-day yield of the latest day up to ``today`` that has seven days of figures
    (income files may already hold days still to come)."""
    figures = rates.rates_between(connection, fund, today - timedelta(days=20), today)
    day = max(figures, default=None)
    while day is not None:
        window = [figures.get(day - timedelta(days=n)) for n in range(6, -1, -1)]
        if all(rate is not None for rate in window):
            return day, annualised_yield([int(rate) for rate in window if rate is not None],
                                         fund.carry)  # fmt: skip
        earlier = [d for d in figures if d < day]
        day = max(earlier, default=None)
    return None


def summary(connection: Connection, holder: Holder, *, now: datetime) -> Summary:
    today = now.astimezone(SHANGHAI).date()
    mine = holdings_of(connection, holder)
    fund = next((h.fund for h in mine if h.fund.id == holder.fund_id), None)
    fund = fund or fund_by_id(connection, holder.fund_id)
    last_closed = close.last_closed(connection, fund)
    totals = _order_totals(connection, holder)
    latest = latest_seven_day_yield(connection, fund, today)
    limits = instant_limits(connection)
    used, platform_used = used_today(connection, day=today, fund_id=fund.id, holder_id=holder.id)
    return Summary(
        fund=fund,
        total=sum(h.shares for h in mine),
        available=sum(h.shares - h.held for h in mine),
        pending_purchases=totals.get(("purchase", "requested"), 0),
        pending_redemptions=totals.get(("redemption", "requested"), 0),
        last_income_date=last_closed,
        last_income=_income_on(connection, mine, last_closed) if last_closed else 0,
        cumulative_income=cumulative_income(mine, totals),
        yield_7d=latest[1] if latest else None,
        yield_date=latest[0] if latest else None,
        instant_limit=limits.per_holder_daily,
        instant_remaining=max(
            0, min(limits.per_holder_daily - used, limits.platform_daily - platform_used)
        ),
    )


def fund_yields(
    connection: Connection, fund: Fund, *, start: date | None = None, end: date | None = None
) -> list[YieldRow]:
    """The fund's yields from ``start`` (27 earlier days feed the first 28-day window)."""
    first = start - timedelta(days=27) if start is not None else None
    series = yield_series(
        sorted(rates.rates_between(connection, fund, first, end).items()), fund.carry
    )
    return [row for row in series if start is None or row.date >= start]


def orders_page(
    connection: Connection, holder: Holder, *, before_id: int | None, limit: int
) -> list[Order]:
    """Newest first; ``before_id`` (the last id of the previous page) continues."""
    query = (
        select(fund_orders)
        .where(fund_orders.c.holder_id == holder.id)
        .order_by(fund_orders.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(fund_orders.c.id < before_id)
    return [order_from_row(row) for row in connection.execute(query)]


def order_of(connection: Connection, holder: Holder, order_id: int) -> Order | None:
    """The order if it is this customer's; None otherwise (the caller answers 404)."""
    row = connection.execute(
        select(fund_orders).where(
            fund_orders.c.id == order_id, fund_orders.c.holder_id == holder.id
        )
    ).first()
    return order_from_row(row) if row else None


@dataclass(frozen=True, slots=True)
class RedemptionQuote:
    instant: bool
    amount: int
    available: int
    trade_date: date
    payout_date: date
    last_income_date: date
    instant_remaining: int


def redemption_quote(
    connection: Connection, holder: Holder, *, amount: int, instant: bool, now: datetime
) -> RedemptionQuote:
    """What a redemption requested now would do, before the customer confirms it."""
    calendar = default_calendar()
    state = summary(connection, holder, now=now)
    if instant:
        instant_dates = calendar.instant_redemption_dates(now)
        trade, payout = instant_dates.limit_date, instant_dates.limit_date
        last_income = instant_dates.last_income_date
    else:
        normal = calendar.redemption_dates(now)
        trade, payout, last_income = normal.trade_date, normal.payout_date, normal.last_income_date
    return RedemptionQuote(
        instant, amount, state.available, trade, payout, last_income, state.instant_remaining
    )
