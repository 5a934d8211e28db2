"""What operators (and, read-only, auditors) do: income files, limits, reports, look-ups.

Like `huoqi.service.customer`, functions take a connection and never commit; every change
is audited in its own transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from huoqi.audit.log import Actor, record
from huoqi.errors import HuoqiError
from huoqi.fund import rates, registry
from huoqi.fund.limits import InstantLimits, set_instant_limits
from huoqi.fund.registry import Carry, Fund
from huoqi.fund.tables import eod_runs, funds, holders
from huoqi.identity.phones import mask_phone, parse_phone
from huoqi.identity.tables import users
from huoqi.ledger.tables import accounts
from huoqi.money import format_amount


@dataclass(frozen=True, slots=True)
class IncomeReport:
    """The validation report of an uploaded income file: accepted, or why not."""

    fund: str
    accepted: bool
    rows: int
    inserted: int
    unchanged: int
    corrected: int
    first: date | None
    last: date | None
    problem: str | None


def import_income(
    connection: Connection, *, fund_code: str, text: str, actor: Actor, now: datetime
) -> IncomeReport:
    """Import a fund's income CSV all or nothing. A refused file raises (nothing is written);
    the caller turns the error into the report's problem."""
    fund = registry.get_fund(connection, fund_code)
    rows = rates.parse_income_csv(text)
    done = rates.import_rates(connection, fund=fund, rows=rows, now=now)
    record(
        connection,
        actor,
        "income.import",
        now=now,
        object_type="fund",
        object_id=fund.code,
        detail={
            "first": done.first,
            "last": done.last,
            "inserted": done.inserted,
            "corrected": done.corrected,
            "unchanged": done.unchanged,
        },
    )
    return IncomeReport(
        fund.code,
        True,
        len(rows),
        done.inserted,
        done.unchanged,
        done.corrected,
        done.first,
        done.last,
        None,
    )


def refused_income(fund_code: str, error: HuoqiError) -> IncomeReport:
    return IncomeReport(fund_code, False, 0, 0, 0, 0, None, None, error.detail)


def change_limits(
    connection: Connection,
    *,
    per_holder_daily: int | None,
    platform_daily: int | None,
    actor: Actor,
    now: datetime,
) -> InstantLimits:
    limits = set_instant_limits(
        connection, per_holder_daily=per_holder_daily, platform_daily=platform_daily
    )
    record(
        connection,
        actor,
        "instant_limits.change",
        now=now,
        object_type="settings",
        detail={
            "per_holder_daily": format_amount(limits.per_holder_daily),
            "platform_daily": format_amount(limits.platform_daily),
        },
    )
    return limits


def daily_reports(
    connection: Connection, *, fund_code: str, start: date, end: date
) -> list[dict[str, Any]]:
    """The stored close reports of a fund between two days: AUM, flows, income."""
    fund = registry.get_fund(connection, fund_code)
    texts = connection.execute(
        select(eod_runs.c.report)
        .where(
            eod_runs.c.fund_id == fund.id,
            eod_runs.c.status == "closed",
            eod_runs.c.business_date.between(start, end),
        )
        .order_by(eod_runs.c.business_date)
    ).scalars()
    return [json.loads(text) for text in texts if text]


@dataclass(frozen=True, slots=True)
class UserCard:
    id: int
    phone_masked: str
    role: str
    display_name: str
    customer_ref: str | None
    fund_code: str | None
    locked: bool
    created_at: datetime


def find_users(
    connection: Connection, *, phone: str | None, before_id: int | None, limit: int, now: datetime
) -> list[UserCard]:
    """Users newest first, or the one with ``phone``; phone numbers are masked."""
    query = (
        select(users, funds.c.code.label("fund_code"))
        .select_from(
            users.outerjoin(holders, holders.c.customer_ref == users.c.customer_ref).outerjoin(
                funds, funds.c.id == holders.c.fund_id
            )
        )
        .order_by(users.c.id.desc())
        .limit(limit)
    )
    if phone:
        query = query.where(users.c.phone == parse_phone(phone))
    if before_id is not None:
        query = query.where(users.c.id < before_id)
    cards = []
    for row in connection.execute(query):
        locked_until = row.locked_until
        if locked_until is not None and locked_until.tzinfo is None:
            locked_until = locked_until.replace(tzinfo=now.tzinfo)
        cards.append(
            UserCard(
                row.id,
                mask_phone(row.phone),
                row.role,
                row.display_name,
                row.customer_ref,
                row.fund_code,
                locked_until is not None and locked_until > now,
                row.created_at,
            )
        )
    return cards


def count_users(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(users)).scalar_one())


def register_fund(
    connection: Connection,
    *,
    code: str,
    name: str,
    manager: str,
    carry: str,
    actor: Actor,
    now: datetime,
) -> Fund:
    """List a money fund (again with the same settings: harmless)."""
    fund = registry.add_fund(
        connection, code=code, name=name, manager=manager, carry=Carry(carry), now=now
    )
    record(
        connection,
        actor,
        "fund.register",
        now=now,
        object_type="fund",
        object_id=fund.code,
        detail={"name": name, "carry": carry},
    )
    return fund


def fund_advance_pool(
    connection: Connection, *, amount: int, key: str, actor: Actor, now: datetime
) -> None:
    """The platform puts ``amount`` fen of its own money into the instant-redemption pool."""
    registry.fund_advance_pool(connection, amount=amount, key=f"ops:pool:{key}", now=now)
    record(
        connection,
        actor,
        "advance_pool.fund",
        now=now,
        object_type="account",
        object_id=registry.ADVANCE_POOL,
        detail={"amount": format_amount(amount)},
    )


def advance_pool_balance(connection: Connection) -> int:
    return int(
        connection.execute(
            select(accounts.c.debits_posted - accounts.c.credits_posted).where(
                accounts.c.code == registry.ADVANCE_POOL
            )
        ).scalar_one_or_none()
        or 0
    )
