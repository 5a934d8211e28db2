"""The income step of the daily close, as set-based SQL over partitions of accounts.

Each holding's income base for day D is its shares now, plus any shares it redeemed
instantly with a trade date after D (customers keep using their accounts while the close
runs; those redemptions must not cost them D's income). Nothing else moves shares outside
the close, so the base stays the same from the moment D's orders are confirmed until D's
income is posted, and two passes can read it at different times:

1. **plan** — read the bases partition by partition and compute the day's `IncomePlan`
   (the distributable total and the largest-remainder threshold). It is stored with the
   run, so every partition, on any worker, applies the same plan.
2. **distribute** — per partition, in one transaction: an INSERT…SELECT writes every
   account's income record with its income computed by the plan's rule in SQL; an
   INSERT…SELECT writes the postings of one balanced income entry, each linked to its
   account's previous posting; an UPDATE…FROM adds the income to the account totals and
   moves each chain's head; and the partition is marked done. No row passes through
   Python, and a crash resumes at the first unmarked partition.

Partitions are fixed ranges of account ids (``low_id`` = id rounded down to a multiple of
``HUOQI_EOD_PARTITION_WIDTH``, default 262,144), so they are the same on every run and
can go to parallel workers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    Engine,
    Integer,
    TextClause,
    bindparam,
    func,
    insert,
    select,
    text,
)

from huoqi import config
from huoqi.db import bulk
from huoqi.db.engine import read_transaction, write_transaction
from huoqi.fund.income import IncomePlan, plan_income
from huoqi.fund.registry import Fund
from huoqi.fund.tables import eod_partitions, holdings
from huoqi.ledger import repository as ledger_repo
from huoqi.ledger.domain import fingerprint
from huoqi.money import INT64_MAX

DISTRIBUTE = 4  # the close's step number, used to mark finished partitions

Progress = Callable[[int], None]


class SharesTooLarge(ValueError):
    """An account's shares times the day's rate would overflow 64-bit arithmetic."""


def _width() -> int:
    return config.eod_partition_width()


# Typed so that PostgreSQL does integer arithmetic (an untyped integer parameter can arrive
# as numeric, and numeric division does not truncate).
_TYPES: dict[str, Any] = {
    "day": Date, "business_date": Date, "fund": Integer, "lo": BigInteger, "hi": BigInteger,
    "rate": BigInteger, "threshold": BigInteger, "tie": BigInteger, "entry": BigInteger,
    "total": BigInteger, "issued": BigInteger,
}  # fmt: skip


def _typed(sql: str) -> TextClause:
    """``sql`` with its date and id parameters typed, so both drivers store them alike."""
    return text(sql).bindparams(
        *(bindparam(name, type_=kind) for name, kind in _TYPES.items() if f":{name}" in sql)
    )


def partitions(engine: Engine, fund: Fund) -> list[int]:
    """The low ids of the partitions holding this fund's accounts, in order."""
    with read_transaction(engine) as connection:
        low, high = connection.execute(
            select(func.min(holdings.c.account_id), func.max(holdings.c.account_id)).where(
                holdings.c.fund_id == fund.id
            )
        ).one()
    if low is None:
        return []
    width = _width()
    return list(range(int(low) // width * width, int(high) + 1, width))


def _done(connection: Connection, fund: Fund, day: date) -> set[int]:
    rows = connection.execute(
        select(eod_partitions.c.low_id).where(
            eod_partitions.c.fund_id == fund.id,
            eod_partitions.c.business_date == day,
            eod_partitions.c.step == DISTRIBUTE,
        )
    )
    return {int(row[0]) for row in rows}


# Shares of each holding in [lo, hi) that earn on :day (see the module note).
_BASE = """
SELECT h.account_id AS account_id,
       a.credits_posted - a.debits_posted + COALESCE(late.amount, 0) AS units
FROM holdings h
JOIN accounts a ON a.id = h.account_id
LEFT JOIN (
    SELECT holder_id, CAST(SUM(amount) AS BIGINT) AS amount FROM fund_orders
    WHERE fund_id = :fund AND kind = 'instant_redemption' AND trade_date > :day
      AND status <> 'failed'
    GROUP BY holder_id
) late ON late.holder_id = h.holder_id
WHERE h.fund_id = :fund AND h.account_id >= :lo AND h.account_id < :hi
"""


def _driver_rows(connection: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run ``sql`` (``:name`` parameters) on the driver's cursor, for millions of rows."""
    values = dict(params)
    values["day"] = bulk.sql_date(connection, params["day"])
    if bulk.is_postgres(connection):
        sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
    return bulk.fetch_rows(connection, sql, values)


def _bases(
    connection: Connection, fund: Fund, day: date, low: int
) -> tuple[np.ndarray, np.ndarray]:
    rows = _driver_rows(
        connection,
        f"SELECT account_id, units FROM ({_BASE}) base WHERE units > 0 ORDER BY account_id",
        {"fund": fund.id, "day": day, "lo": low, "hi": low + _width()},
    )
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    table = np.array(rows, dtype=np.int64)
    return table[:, 0].copy(), table[:, 1].copy()


# The plan reads the bases up to three times; up to this many accounts they are kept in
# memory after the first read (16 bytes each: 320 MB at most), beyond it each pass streams
# from the database again, so memory stays bounded at any size.
KEEP_IN_MEMORY = 20_000_000


def plan(engine: Engine, fund: Fund, day: date, rate_e4: int, progress: Progress) -> IncomePlan:
    """Pass 1: the day's allocation plan, read partition by partition (memory bounded)."""
    lows = partitions(engine, fund)
    limit = INT64_MAX // max(rate_e4, 1)
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    complete = False

    def read() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        nonlocal complete
        held = 0
        for low in lows:
            with read_transaction(engine) as connection:
                ids, units = _bases(connection, fund, day, low)
            if len(ids) and int(units.max()) > limit:
                raise SharesTooLarge("an account holds more shares than the close can compute")
            progress(1)
            held += len(ids)
            if held <= KEEP_IN_MEMORY:
                kept.append((ids, units))
            if len(ids):
                yield ids, units
        complete = held <= KEEP_IN_MEMORY

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if complete:
            return (pair for pair in kept if len(pair[0]))
        kept.clear()
        return read()

    return plan_income(rate_e4, chunks)


_INCOME_RECORDS = f"""
INSERT INTO fund_income (fund_id, income_date, account_id, units, income)
SELECT :fund, :day, account_id, units,
       (units * :rate) / 100000000
       + CASE WHEN (units * :rate) % 100000000 > :threshold
                OR ((units * :rate) % 100000000 = :threshold AND account_id <= :tie)
              THEN 1 ELSE 0 END
FROM ({_BASE}) base
WHERE units > 0
ORDER BY account_id
"""
_PARTITION_TOTAL = """
SELECT COUNT(*), COALESCE(SUM(income), 0) FROM fund_income
WHERE fund_id = :fund AND income_date = :day AND account_id >= :lo AND account_id < :hi
"""
# The income entry: a credit of shares to each earning account, each linked to the
# account's previous posting, then the fund's debit for the total.
_POSTINGS = """
INSERT INTO postings (entry_id, account_id, amount, business_date, previous_id)
SELECT :entry, fi.account_id, -fi.income, :business_date, a.last_posting_id
FROM fund_income fi JOIN accounts a ON a.id = fi.account_id
WHERE fi.fund_id = :fund AND fi.income_date = :day AND fi.account_id >= :lo
  AND fi.account_id < :hi AND fi.income > 0
ORDER BY fi.account_id
"""
_ISSUED_POSTING = """
INSERT INTO postings (entry_id, account_id, amount, business_date, previous_id)
SELECT :entry, id, :total, :business_date, last_posting_id FROM accounts WHERE id = :issued
"""
# Every account of the entry: its totals and its chain's head, in one pass.
_APPLY_ENTRY = """
UPDATE accounts SET
    debits_posted = accounts.debits_posted + CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END,
    credits_posted = accounts.credits_posted + CASE WHEN p.amount < 0 THEN -p.amount ELSE 0 END,
    last_posting_id = p.id
FROM postings p
WHERE p.entry_id = :entry AND accounts.id = p.account_id
"""
# PostgreSQL: customers keep posting while the close runs, so the fund's account and then
# (in id order, as every ledger writer locks) the partition's earning accounts are locked
# as their chains are read; a customer posting meanwhile waits instead of forking a chain.
# SQLite's writer lock already excludes everyone else.
_LOCK_FUND_ACCOUNT = "SELECT id FROM accounts WHERE id = :issued FOR UPDATE"
_POSTINGS_LOCKED = _POSTINGS.rstrip() + "\nFOR UPDATE OF a"


def distribute(
    engine: Engine, fund: Fund, day: date, income_plan: IncomePlan, *, now: datetime,
    progress: Progress,
) -> None:  # fmt: skip
    """Pass 2: write each account's income record and post it, a partition per transaction."""
    lows = partitions(engine, fund)
    with read_transaction(engine) as connection:
        done = _done(connection, fund, day)
    for low in lows:
        if low not in done:
            with write_transaction(engine) as connection:
                if low not in _done(connection, fund, day):  # another worker may have done it
                    _distribute_partition(connection, fund, day, income_plan, low=low, now=now)
        progress(1)


def _distribute_partition(
    connection: Connection, fund: Fund, day: date, income_plan: IncomePlan, *, low: int,
    now: datetime,
) -> None:  # fmt: skip
    params = {"fund": fund.id, "day": day, "lo": low, "hi": low + _width()}
    rule = {
        "rate": income_plan.rate_e4,
        "threshold": income_plan.threshold_remainder,
        "tie": income_plan.tie_last_id,
    }
    connection.execute(_typed(_INCOME_RECORDS), params | rule)
    count, total = connection.execute(_typed(_PARTITION_TOTAL), params).one()
    if total:
        business_date = ledger_repo.business_date(connection)
        (entry_id,) = ledger_repo.allocate_entry_ids(connection, 1)
        key = f"close:{fund.code}:{day.isoformat()}:income:{low}"
        ledger_repo.insert_entries(
            connection,
            [(
                entry_id, key, fingerprint("income", key, int(total)), "income",
                f"{fund.code} income for {day.isoformat()}",
                bulk.sql_date(connection, business_date), bulk.sql_timestamp(connection, now),
                None, None,
            )],
        )  # fmt: skip
        entry = params | {
            "entry": entry_id, "business_date": business_date, "total": int(total),
            "issued": fund.issued_account_id,
        }  # fmt: skip
        if bulk.is_postgres(connection):
            connection.execute(_typed(_LOCK_FUND_ACCOUNT), entry)
            connection.execute(_typed(_POSTINGS_LOCKED), entry)
        else:
            connection.execute(_typed(_POSTINGS), entry)
        connection.execute(_typed(_ISSUED_POSTING), entry)
        connection.execute(_typed(_APPLY_ENTRY), {"entry": entry_id})
    connection.execute(
        insert(eod_partitions).values(
            fund_id=fund.id, business_date=day, step=DISTRIBUTE, low_id=low, rows=int(count)
        )
    )


def income_totals(connection: Connection, fund: Fund, day: date) -> tuple[int, int, int]:
    """(accounts, units, income) recorded for ``day``."""
    row = connection.execute(
        _typed(
            "SELECT COUNT(*), COALESCE(SUM(units), 0), COALESCE(SUM(income), 0) "
            "FROM fund_income WHERE fund_id = :fund AND income_date = :day"
        ),
        {"fund": fund.id, "day": day},
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
