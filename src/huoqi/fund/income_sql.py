"""The income step of the daily close, as set-based SQL over partitions of accounts.

Three passes, each over partitions of holding accounts by id range, each partition in its
own transaction and marked done in ``eod_partitions`` in that same transaction, so a
crash resumes at the first unmarked partition and a rerun changes nothing:

1. **snapshot** — copy each holding's shares at the end of day D into ``fund_income``
   (``units``). Shares retired after D by instant redemptions (trade date after D) are
   added back, so customers using their account while the close runs lose nothing.
2. **plan** — read the snapshot in partitions and compute the day's `IncomePlan` (the
   distributable total and the largest-remainder threshold); it is stored with the run,
   so every partition, on any worker, applies the same plan.
3. **distribute** — per partition, one UPDATE writes each account's income by the plan's
   rule, one INSERT…SELECT writes the postings of one balanced income entry (the accounts'
   credits and the fund's issued-shares debit), and one UPDATE…FROM adds the income to the
   account totals. No row passes through Python.

Partitions are fixed ranges of account ids (``low_id`` = id rounded down to a multiple of
``HUOQI_EOD_PARTITION_WIDTH``, default 262,144), so they are the same on every run
and can go to parallel workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

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

SNAPSHOT, DISTRIBUTE = 3, 5  # step numbers, shared with the close's step list

Progress = Callable[[int], None]


def _width() -> int:
    return config.eod_partition_width()


_TYPES = {"day": Date, "fund": Integer, "lo": BigInteger, "hi": BigInteger, "business_date": Date}


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
    first = int(low) // _width() * _width()
    return list(range(first, int(high) + 1, _width()))


def _done(connection: Connection, fund: Fund, day: date, step: int) -> set[int]:
    rows = connection.execute(
        select(eod_partitions.c.low_id).where(
            eod_partitions.c.fund_id == fund.id,
            eod_partitions.c.business_date == day,
            eod_partitions.c.step == step,
        )
    )
    return {int(row[0]) for row in rows}


def _mark(connection: Connection, fund: Fund, day: date, *, step: int, low: int, rows: int) -> None:
    connection.execute(
        insert(eod_partitions).values(
            fund_id=fund.id, business_date=day, step=step, low_id=low, rows=rows
        )
    )


_SNAPSHOT = """
INSERT INTO fund_income (fund_id, income_date, account_id, units, income)
SELECT :fund, :day, h.account_id,
       a.credits_posted - a.debits_posted + COALESCE(late.amount, 0), 0
FROM holdings h
JOIN accounts a ON a.id = h.account_id
LEFT JOIN (
    SELECT holder_id, SUM(amount) AS amount FROM fund_orders
    WHERE fund_id = :fund AND kind = 'instant_redemption' AND status <> 'failed'
      AND trade_date > :day
    GROUP BY holder_id
) late ON late.holder_id = h.holder_id
WHERE h.fund_id = :fund AND h.account_id >= :lo AND h.account_id < :hi
  AND a.credits_posted - a.debits_posted + COALESCE(late.amount, 0) > 0
ORDER BY h.account_id
"""


def snapshot(engine: Engine, fund: Fund, day: date, progress: Progress) -> int:
    """Pass 1: record every holding's shares for ``day``; returns the accounts recorded."""
    lows = partitions(engine, fund)
    with read_transaction(engine) as connection:
        done = _done(connection, fund, day, SNAPSHOT)
    for low in lows:
        if low not in done:
            with write_transaction(engine) as connection:
                if low in _done(connection, fund, day, SNAPSHOT):  # another worker did it
                    continue
                params = {"fund": fund.id, "day": day, "lo": low, "hi": low + _width()}
                rows = connection.execute(_typed(_SNAPSHOT), params).rowcount
                _mark(connection, fund, day, step=SNAPSHOT, low=low, rows=rows)
        progress(1)
    with read_transaction(engine) as connection:
        return int(
            connection.execute(
                select(text("COALESCE(SUM(rows), 0)"))
                .select_from(eod_partitions)
                .where(
                    eod_partitions.c.fund_id == fund.id,
                    eod_partitions.c.business_date == day,
                    eod_partitions.c.step == SNAPSHOT,
                )
            ).scalar_one()
        )


def _units(
    connection: Connection, fund: Fund, day: date, low: int
) -> tuple[np.ndarray, np.ndarray]:
    mark = "%s" if bulk.is_postgres(connection) else "?"
    rows = bulk.fetch_rows(
        connection,
        f"SELECT account_id, units FROM fund_income WHERE fund_id = {mark} "
        f"AND income_date = {mark} AND account_id >= {mark} AND account_id < {mark} "
        "ORDER BY account_id",
        (fund.id, bulk.sql_date(connection, day), low, low + _width()),
    )
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    table = np.array(rows, dtype=np.int64)
    return table[:, 0].copy(), table[:, 1].copy()


def plan(engine: Engine, fund: Fund, day: date, rate_e4: int, progress: Progress) -> IncomePlan:
    """Pass 2: the day's allocation plan, computed from the snapshot partition by partition."""
    lows = partitions(engine, fund)

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for low in lows:
            with read_transaction(engine) as connection:
                ids, units = _units(connection, fund, day, low)
            if len(ids) and int(units.max()) > INT64_MAX // max(rate_e4, 1):
                raise OverflowError(f"an account's shares are too large for day {day}")
            if len(ids):
                yield ids, units

    made = plan_income(rate_e4, chunks)
    progress(len(lows))
    return made


_INCOME = """
UPDATE fund_income
SET income = (units * :rate) / 100000000
    + CASE WHEN (units * :rate) % 100000000 > :threshold
             OR ((units * :rate) % 100000000 = :threshold AND account_id <= :tie)
           THEN 1 ELSE 0 END
WHERE fund_id = :fund AND income_date = :day AND account_id >= :lo AND account_id < :hi
"""
_PARTITION_TOTAL = """
SELECT COUNT(*), COALESCE(SUM(income), 0) FROM fund_income
WHERE fund_id = :fund AND income_date = :day AND account_id >= :lo AND account_id < :hi
  AND income > 0
"""
_POSTINGS = """
INSERT INTO postings (entry_id, account_id, amount, business_date)
SELECT :entry, account_id, -income, :business_date FROM fund_income
WHERE fund_id = :fund AND income_date = :day AND account_id >= :lo AND account_id < :hi
  AND income > 0
ORDER BY account_id
"""
_CREDIT_ACCOUNTS = """
UPDATE accounts SET credits_posted = accounts.credits_posted + fi.income
FROM fund_income fi
WHERE fi.fund_id = :fund AND fi.income_date = :day AND fi.account_id >= :lo
  AND fi.account_id < :hi AND fi.income > 0 AND accounts.id = fi.account_id
"""


def distribute(
    engine: Engine, fund: Fund, day: date, income_plan: IncomePlan, *, now: datetime,
    progress: Progress,
) -> None:  # fmt: skip
    """Pass 3: write each account's income and post it, one partition per transaction."""
    lows = partitions(engine, fund)
    with read_transaction(engine) as connection:
        done = _done(connection, fund, day, DISTRIBUTE)
    for low in lows:
        if low not in done:
            with write_transaction(engine) as connection:
                if low not in _done(connection, fund, day, DISTRIBUTE):
                    _distribute_partition(connection, fund, day, income_plan, low=low, now=now)
        progress(1)


def _distribute_partition(
    connection: Connection, fund: Fund, day: date, income_plan: IncomePlan, *, low: int,
    now: datetime,
) -> None:  # fmt: skip
    params = {"fund": fund.id, "day": day, "lo": low, "hi": low + _width()}
    connection.execute(
        _typed(_INCOME),
        params | {
            "rate": income_plan.rate_e4,
            "threshold": income_plan.threshold_remainder,
            "tie": income_plan.tie_last_id,
        },
    )  # fmt: skip
    count, total = connection.execute(_typed(_PARTITION_TOTAL), params).one()
    if total:
        business_date = ledger_repo.business_date(connection)
        (entry_id,) = ledger_repo.allocate_entry_ids(connection, 1)
        key = f"close:{fund.code}:{day.isoformat()}:income:{low}"
        ledger_repo.insert_entries(
            connection,
            [(
                entry_id, key, _digest(key, int(total)), "income",
                f"{fund.code} income for {day.isoformat()}",
                bulk.sql_date(connection, business_date), bulk.sql_timestamp(connection, now),
                None, None,
            )],
        )  # fmt: skip
        connection.execute(
            _typed(_POSTINGS),
            params | {"entry": entry_id, "business_date": business_date},
        )
        ledger_repo.insert_postings(
            connection,
            [(entry_id, fund.issued_account_id, int(total),
              bulk.sql_date(connection, business_date))],
        )  # fmt: skip
        connection.execute(_typed(_CREDIT_ACCOUNTS), params)
        bulk.execute_many(
            connection,
            "UPDATE accounts SET debits_posted = debits_posted + ? WHERE id = ?",
            [(int(total), fund.issued_account_id)],
        )
    _mark(connection, fund, day, step=DISTRIBUTE, low=low, rows=int(count))


def _digest(key: str, total: int) -> bytes:
    return fingerprint("income", key, total)


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
