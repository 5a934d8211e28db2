"""Importing the daily income per 10,000 shares that each fund publishes.

A file is checked whole before anything is written: one bad row rejects the file, names
its line, and imports nothing. Importing the same figures again is harmless; a different
figure for a day not yet closed replaces the old one (an operator's correction); a
different figure for a closed day is refused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Date, bindparam, insert, select, update

from huoqi.dates import parse_date
from huoqi.errors import Conflict, HuoqiError, InvalidInput
from huoqi.fund.income import parse_rate
from huoqi.fund.registry import Fund
from huoqi.fund.tables import eod_runs, fund_rates

DATE_COLUMNS = ("date", "income_date", "day", "nav_date", "日期")
RATE_COLUMNS = (
    "income_per_10k",
    "income_per_10000",
    "income_per_10000_shares",
    "per_10k_income",
    "per_10k",
    "daily_income_per_10k",
    "万份收益",
    "每万份收益",
)
MAX_FILE_BYTES = 5_000_000


class InvalidIncomeFile(InvalidInput):
    code = "invalid_income_file"
    title = "Income file rejected"


class ClosedDayChanged(Conflict):
    code = "closed_day_changed"
    title = "A closed day's income cannot change"


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_").lstrip("\ufeff")


def parse_income_csv(text: str) -> list[tuple[date, int]]:
    """Rows of (date, income per 10,000 shares × 10^4) from CSV text, or raise naming the line."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise InvalidIncomeFile(f"file is larger than {MAX_FILE_BYTES} bytes")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise InvalidIncomeFile("file is empty: expected a header such as date,income_per_10k")
    names = [_normalise(cell) for cell in header]
    date_at = next((names.index(c) for c in DATE_COLUMNS if c in names), None)
    rate_at = next((names.index(c) for c in RATE_COLUMNS if c in names), None)
    if date_at is None or rate_at is None:
        missing = "a date column" if date_at is None else "an income_per_10k column"
        raise InvalidIncomeFile(f"line 1: header {header} has no {missing}")
    rows: list[tuple[date, int]] = []
    seen: dict[date, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) <= max(date_at, rate_at):
            raise InvalidIncomeFile(
                f"line {line}: expected {len(header)} columns, got {len(cells)}"
            )
        try:
            day = parse_date(cells[date_at])
            rate = parse_rate(cells[rate_at])
        except HuoqiError as error:
            raise InvalidIncomeFile(f"line {line}: {error.detail}") from None
        if day in seen:
            raise InvalidIncomeFile(f"line {line}: {day} appears twice (first on line {seen[day]})")
        seen[day] = line
        rows.append((day, rate))
    if not rows:
        raise InvalidIncomeFile("file has a header but no rows")
    return sorted(rows)


@dataclass(frozen=True, slots=True)
class RateImport:
    inserted: int
    unchanged: int
    corrected: int
    first: date
    last: date


def import_rates(
    connection: Connection, *, fund: Fund, rows: list[tuple[date, int]], now: datetime
) -> RateImport:
    """Store ``rows`` for ``fund``; all or nothing (the caller's transaction)."""
    days = [day for day, _ in rows]
    existing = {
        row.rate_date: row.rate_e4
        for row in connection.execute(
            select(fund_rates.c.rate_date, fund_rates.c.rate_e4).where(
                fund_rates.c.fund_id == fund.id, fund_rates.c.rate_date.in_(days)
            )
        )
    }
    closed = set(
        connection.execute(
            select(eod_runs.c.business_date).where(
                eod_runs.c.fund_id == fund.id,  # closed, or being closed with this rate
                eod_runs.c.business_date.in_(days),
            )
        ).scalars()
    )
    inserted = unchanged = corrected = 0
    for day, rate in rows:
        if day not in existing:
            continue
        if existing[day] == rate:
            continue
        if day in closed:
            raise ClosedDayChanged(
                f"{day} is closed with income {existing[day]} (x10^-4 CNY per 10,000 shares); "
                f"the file says {rate}. A closed day cannot change.",
                day=day.isoformat(),
            )
    for day, rate in rows:
        if day not in existing:
            connection.execute(
                insert(fund_rates).values(
                    fund_id=fund.id, rate_date=day, rate_e4=rate, imported_at=now
                )
            )
            inserted += 1
        elif existing[day] == rate:
            unchanged += 1
        else:
            connection.execute(
                update(fund_rates)
                .where(fund_rates.c.fund_id == fund.id, fund_rates.c.rate_date == day)
                .values(rate_e4=rate, imported_at=now)
            )
            corrected += 1
    return RateImport(inserted, unchanged, corrected, days[0], days[-1])


_RATES_BETWEEN = select(fund_rates.c.rate_date, fund_rates.c.rate_e4).where(
    fund_rates.c.fund_id == bindparam("fund"),
    fund_rates.c.rate_date.between(bindparam("start", type_=Date), bindparam("end", type_=Date)),
)


def rates_between(
    connection: Connection, fund: Fund, start: date | None, end: date | None
) -> dict[date, int]:
    if start is not None and end is not None:
        found = connection.execute(_RATES_BETWEEN, {"fund": fund.id, "start": start, "end": end})
        return {row.rate_date: row.rate_e4 for row in found}
    query = select(fund_rates.c.rate_date, fund_rates.c.rate_e4).where(
        fund_rates.c.fund_id == fund.id
    )
    if start is not None:
        query = query.where(fund_rates.c.rate_date >= start)
    if end is not None:
        query = query.where(fund_rates.c.rate_date <= end)
    return {row.rate_date: row.rate_e4 for row in connection.execute(query)}
