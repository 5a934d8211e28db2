"""Load many funded current accounts at once, for benchmarks and large simulations.

Writes holders, their share accounts and holdings, and one opening entry that issues each
account's shares (fund issued-shares debit, account credits), with driver-level bulk
inserts: a million accounts load in seconds, and the books balance exactly as if every
account had bought its shares through a confirmed purchase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from huoqi.db import bulk
from huoqi.db.engine import write_transaction
from huoqi.fund.registry import Fund, holding_account_code
from huoqi.fund.tables import holders
from huoqi.ledger import repository as ledger_repo
from huoqi.ledger.domain import fingerprint
from huoqi.ledger.tables import accounts, postings

CHUNK = 100_000


def load_funded_holders(
    engine: Engine, fund: Fund, shares: np.ndarray, *, now: datetime, prefix: str = "bulk"
) -> int:
    """Open ``len(shares)`` holders of ``fund`` holding ``shares[i]`` share units each."""
    shares = np.asarray(shares, dtype=np.int64)
    if len(shares) == 0 or int(shares.min()) <= 0:
        raise ValueError("every loaded holder needs a positive number of shares")
    with write_transaction(engine) as connection:
        first_holder = _next_id(connection, holders.c.id)
        first_account = _next_id(connection, accounts.c.id)
        first_posting = _next_id(connection, postings.c.id)
        created = bulk.sql_timestamp(connection, now)
        business_date = bulk.sql_date(connection, ledger_repo.business_date(connection))
        total = int(shares.sum())
        (entry_id,) = ledger_repo.allocate_entry_ids(connection, 1)
        key = f"{prefix}:opening:{first_holder}"
        ledger_repo.insert_entries(
            connection,
            [(entry_id, key, fingerprint(key, total), "bulk_opening", f"{len(shares)} holders",
              business_date, created, None, None)],
        )  # fmt: skip
        for start in range(0, len(shares), CHUNK):
            part = shares[start : start + CHUNK].tolist()
            holder_rows: list[tuple[Any, ...]] = []
            account_rows: list[tuple[Any, ...]] = []
            holding_rows: list[tuple[Any, ...]] = []
            posting_rows: list[tuple[Any, ...]] = []
            for offset, units in enumerate(part):
                holder_id = first_holder + start + offset
                account_id = first_account + start + offset
                posting_id = first_posting + start + offset
                holder_rows.append((holder_id, f"{prefix}:{holder_id}", fund.id, created))
                account_rows.append(
                    (account_id, holding_account_code(holder_id, fund.code), fund.share_asset,
                     "liability", "debits_must_not_exceed_credits", 0, 0, units, 0, 0, created,
                     posting_id)
                )  # fmt: skip
                holding_rows.append((holder_id, fund.id, account_id))
                posting_rows.append((posting_id, entry_id, account_id, -units, business_date, None))
            bulk.insert_rows(
                connection, "holders", ("id", "customer_ref", "fund_id", "created_at"),
                holder_rows, pg_types=("bigint", "text", "integer", "timestamptz"),
            )  # fmt: skip
            bulk.insert_rows(
                connection, "accounts",
                ("id", "code", "asset", "kind", "rule", "overdraft_limit", "debits_posted",
                 "credits_posted", "debits_pending", "credits_pending", "created_at",
                 "last_posting_id"),
                account_rows,
                pg_types=("bigint", "text", "text", "text", "text", "bigint", "bigint", "bigint",
                          "bigint", "bigint", "timestamptz", "bigint"),
            )  # fmt: skip
            bulk.insert_rows(
                connection, "holdings", ("holder_id", "fund_id", "account_id"), holding_rows,
                pg_types=("bigint", "integer", "bigint"),
            )  # fmt: skip
            ledger_repo.insert_postings(connection, posting_rows)
        issued_posting = first_posting + len(shares)
        (fund_head,) = bulk.fetch_rows(
            connection,
            "SELECT last_posting_id FROM accounts WHERE id = "
            + ("%s FOR UPDATE" if bulk.is_postgres(connection) else "?"),
            (fund.issued_account_id,),
        )
        ledger_repo.insert_postings(
            connection,
            [(issued_posting, entry_id, fund.issued_account_id, total, business_date,
              fund_head[0])],
        )  # fmt: skip
        bulk.execute_many(
            connection,
            "UPDATE accounts SET debits_posted = debits_posted + ?, last_posting_id = ? "
            "WHERE id = ?",
            [(total, issued_posting, fund.issued_account_id)],
        )
        if bulk.is_postgres(connection):
            for table in ("holders", "accounts", "postings"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
    return len(shares)


def _next_id(connection: Connection, column: Any) -> int:
    return int(connection.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1
