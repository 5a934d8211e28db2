"""Instant-redemption limits: per holder per fund per day, and a platform-wide daily quota.

Both limits live in the ``settings`` table (operators change them without a deploy) and
default to the 2018 rule: 10,000.00 CNY per user per fund per day, and a platform quota.
Use is counted in ``instant_usage`` by a single conditional upsert per counter, so two
concurrent requests can never push a counter past its limit on either database: the
database adds the amount only where the sum stays within the limit, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Date, bindparam, select, text

from huoqi.errors import InvalidInput, RuleViolation
from huoqi.fund.tables import instant_usage, settings
from huoqi.money import check_amount, format_amount

PER_HOLDER_KEY = "instant.per_holder_daily_fen"
PLATFORM_KEY = "instant.platform_daily_fen"
DEFAULT_PER_HOLDER = 1_000_000  # 10,000.00 CNY
DEFAULT_PLATFORM = 10_000_000_000  # 100,000,000.00 CNY
PLATFORM = 0  # fund_id and holder_id of the platform-wide counter


class InstantLimitReached(RuleViolation):
    code = "instant_limit_reached"
    title = "Instant redemption limit reached"


class InstantQuotaExhausted(RuleViolation):
    code = "instant_quota_exhausted"
    title = "Platform instant redemption quota used up"


@dataclass(frozen=True, slots=True)
class InstantLimits:
    per_holder_daily: int
    platform_daily: int


_LIMITS = select(settings.c.key, settings.c.value).where(
    settings.c.key.in_([PER_HOLDER_KEY, PLATFORM_KEY])
)
_USED = select(instant_usage.c.holder_id, instant_usage.c.amount).where(
    instant_usage.c.usage_date == bindparam("day", type_=Date),
    (
        (instant_usage.c.fund_id == bindparam("fund"))
        & (instant_usage.c.holder_id == bindparam("holder"))
    )
    | ((instant_usage.c.fund_id == PLATFORM) & (instant_usage.c.holder_id == PLATFORM)),
)


def instant_limits(connection: Connection) -> InstantLimits:
    values = dict(connection.execute(_LIMITS).all())
    return InstantLimits(
        int(values.get(PER_HOLDER_KEY, DEFAULT_PER_HOLDER)),
        int(values.get(PLATFORM_KEY, DEFAULT_PLATFORM)),
    )


def set_instant_limits(
    connection: Connection,
    *,
    per_holder_daily: int | None = None,
    platform_daily: int | None = None,
) -> InstantLimits:
    """Change one or both limits (amounts in fen; zero switches instant redemption off)."""
    for key, value in ((PER_HOLDER_KEY, per_holder_daily), (PLATFORM_KEY, platform_daily)):
        if value is None:
            continue
        check_amount(value, allow_zero=True)
        updated = connection.execute(
            settings.update().where(settings.c.key == key).values(value=str(value))
        )
        if updated.rowcount == 0:
            connection.execute(settings.insert().values(key=key, value=str(value)))
    return instant_limits(connection)


def used_today(
    connection: Connection, *, day: date, fund_id: int, holder_id: int
) -> tuple[int, int]:
    """(this holder's use in this fund, the platform's use) on ``day``, in fen."""
    rows = dict(connection.execute(_USED, {"day": day, "fund": fund_id, "holder": holder_id}).all())
    return int(rows.get(holder_id, 0)), int(rows.get(PLATFORM, 0))


_ADD_WITHIN_LIMIT = text(
    "INSERT INTO instant_usage (usage_date, fund_id, holder_id, amount) "
    "VALUES (:day, :fund, :holder, :amount) "
    "ON CONFLICT (usage_date, fund_id, holder_id) DO UPDATE "
    "SET amount = instant_usage.amount + excluded.amount "
    "WHERE instant_usage.amount + excluded.amount <= :limit "
    "RETURNING amount"
).bindparams(bindparam("day", type_=Date))


def take_instant_allowance(
    connection: Connection, *, day: date, fund_id: int, holder_id: int, amount: int
) -> InstantLimits:
    """Count ``amount`` against both limits for ``day`` or raise, naming what is left."""
    if amount <= 0:
        raise InvalidInput("an instant redemption must be for a positive amount")
    limits = instant_limits(connection)
    mine, platform = used_today(connection, day=day, fund_id=fund_id, holder_id=holder_id)
    counters = (
        (fund_id, holder_id, limits.per_holder_daily, mine, InstantLimitReached, "your"),
        (
            PLATFORM,
            PLATFORM,
            limits.platform_daily,
            platform,
            InstantQuotaExhausted,
            "the platform's",
        ),
    )
    for fund, holder, limit, used, error, whose in counters:
        taken = (
            amount <= limit
            and connection.execute(
                _ADD_WITHIN_LIMIT,
                {"day": day, "fund": fund, "holder": holder, "amount": amount, "limit": limit},
            ).first()
            is not None
        )
        if not taken:
            left = max(0, limit - used)
            noun = "daily instant limit" if whose == "your" else "instant quota for today"
            shown = {
                name: format_amount(value, grouped=True)
                for name, value in (("amount", amount), ("left", left), ("limit", limit))
            }
            raise error(
                f"instant redemption of {shown['amount']} CNY exceeds {whose} {noun}: "
                f"{shown['left']} of {shown['limit']} CNY left today; "
                "a normal redemption (paid on the next trading day) has no such limit",
                remaining=left,
                limit=limit,
            )
    return limits
