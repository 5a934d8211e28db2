"""All of the ledger's SQL. Functions take an open `Connection`; none of them commits."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from huoqi.db import bulk
from huoqi.ledger.domain import (
    Account,
    AccountKind,
    Asset,
    Balance,
    BalanceRule,
    Hold,
    HoldStatus,
    Posting,
)
from huoqi.ledger.tables import accounts, assets, entries, holds, ledger_state, postings

#: Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 5_000


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- assets and accounts -------------------------------------------------------------------


def get_asset(connection: Connection, code: str) -> Asset | None:
    row = connection.execute(select(assets).where(assets.c.code == code)).first()
    return Asset(row.code, row.scale, row.name) if row else None


def list_assets(connection: Connection) -> list[Asset]:
    rows = connection.execute(select(assets).order_by(assets.c.code))
    return [Asset(row.code, row.scale, row.name) for row in rows]


def insert_asset(connection: Connection, asset: Asset) -> None:
    connection.execute(insert(assets).values(code=asset.code, scale=asset.scale, name=asset.name))


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        code=row.code,
        asset=row.asset,
        kind=AccountKind(row.kind),
        rule=BalanceRule(row.rule),
        overdraft_limit=row.overdraft_limit,
    )


def _balance(row: Any) -> Balance:
    return Balance(row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending)


def insert_account(
    connection: Connection,
    *,
    code: str,
    asset: str,
    kind: AccountKind,
    rule: BalanceRule,
    overdraft_limit: int,
    now: datetime,
) -> int:
    result = connection.execute(
        insert(accounts)
        .values(
            code=code,
            asset=asset,
            kind=kind.value,
            rule=rule.value,
            overdraft_limit=overdraft_limit,
            created_at=now,
        )
        .returning(accounts.c.id)
    )
    return int(result.scalar_one())


def insert_accounts(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Open many accounts in one statement (simulations, benchmarks, bulk onboarding)."""
    if rows:
        connection.execute(insert(accounts), list(rows))


def account_by_code(connection: Connection, code: str) -> Account | None:
    row = connection.execute(select(accounts).where(accounts.c.code == code)).first()
    return _account(row) if row else None


def account_by_id(connection: Connection, account_id: int) -> Account | None:
    row = connection.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return _account(row) if row else None


def account_ids_by_code(connection: Connection, codes: Collection[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(codes)):
        query = select(accounts.c.code, accounts.c.id).where(accounts.c.code.in_(chunk))
        found.update({row.code: row.id for row in connection.execute(query)})
    return found


def list_accounts(
    connection: Connection, *, after_id: int = 0, limit: int = 100
) -> list[tuple[Account, Balance]]:
    query = select(accounts).where(accounts.c.id > after_id).order_by(accounts.c.id).limit(limit)
    return [(_account(row), _balance(row)) for row in connection.execute(query)]


_ACCOUNT_COLUMNS = (
    "id, code, asset, kind, rule, overdraft_limit, "
    "debits_posted, credits_posted, debits_pending, credits_pending, last_posting_id"
)
_KINDS = {kind.value: kind for kind in AccountKind}
_RULES = {rule.value: rule for rule in BalanceRule}


def lock_accounts(
    connection: Connection,
    account_ids: Collection[int],
    heads: dict[int, int | None] | None = None,
) -> dict[int, tuple[Account, Balance]]:
    """Load accounts with their balances, locking the rows (in id order) on PostgreSQL.

    On SQLite the caller already holds the writer lock (``BEGIN IMMEDIATE``). This runs
    once per batch for every account the batch touches, so it talks to the driver directly.
    ``heads``, if given, receives each account's last posting id (its chain's head).
    """
    loaded: dict[int, tuple[Account, Balance]] = {}
    ids = sorted(account_ids)
    for chunk in _chunks(ids):
        if bulk.is_postgres(connection):
            rows = bulk.fetch_rows(
                connection,
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(%s) "
                "ORDER BY id FOR UPDATE",
                (list(chunk),),
            )
        else:
            rows = bulk.fetch_rows(
                connection,
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id IN "
                f"({bulk.marks(connection, len(chunk))})",
                tuple(chunk),
            )
        for row in rows:
            loaded[row[0]] = (_cached_account(row[:6]), Balance(row[6], row[7], row[8], row[9]))
            if heads is not None:
                heads[row[0]] = row[10]
    return loaded


_account_cache: dict[tuple[Any, ...], Account] = {}


def _cached_account(fields: tuple[Any, ...]) -> Account:
    """Accounts are immutable, so equal rows share one `Account` (bounded cache)."""
    account = _account_cache.get(fields)
    if account is None:
        if len(_account_cache) >= 1_000_000:
            _account_cache.clear()
        account_id, code, asset, kind, rule, limit = fields
        account = Account(account_id, code, asset, _KINDS[kind], _RULES[rule], limit)
        _account_cache[tuple(fields)] = account
    return account


def read_balance(connection: Connection, account_id: int) -> Balance | None:
    row = connection.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return _balance(row) if row else None


_TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def write_balances(
    connection: Connection,
    balances: Mapping[int, Balance],
    heads: Mapping[int, int | None] | None = None,
) -> None:
    """Store new running totals, and with ``heads`` each account's last posting id (every
    account of ``balances`` must then be in ``heads``). The rows are locked by
    `lock_accounts` first."""
    if not balances:
        return
    columns: tuple[str, ...] = _TOTALS
    rows: list[tuple[int | None, ...]]
    if heads is None:
        rows = [
            (b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending, account_id)
            for account_id, b in balances.items()
        ]
    else:
        columns = (*_TOTALS, "last_posting_id")
        rows = [
            (b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending,
             heads[account_id], account_id)
            for account_id, b in balances.items()
        ]  # fmt: skip
    if bulk.is_postgres(connection) and len(rows) > 1:
        # one statement for the whole batch rather than one round of the protocol per account
        arrays = ", ".join(["%s::bigint[]"] * len(rows[0]))
        names = [f"v{n}" for n in range(len(columns))]
        connection.exec_driver_sql(
            "UPDATE accounts SET "
            + ", ".join(f"{column} = v.{name}" for column, name in zip(columns, names, strict=True))
            + f" FROM unnest({arrays}) AS v({', '.join(names)}, id) WHERE accounts.id = v.id",
            tuple(list(column) for column in zip(*rows, strict=True)),
        )
        return
    setting = ", ".join(f"{column} = ?" for column in columns)
    bulk.execute_many(connection, f"UPDATE accounts SET {setting} WHERE id = ?", rows)


# --- business date -------------------------------------------------------------------------


def business_date(connection: Connection) -> date:
    # read once per batch on the hot path, so straight from the driver
    ((value,),) = bulk.fetch_rows(connection, "SELECT business_date FROM ledger_state", ())
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def set_business_date(connection: Connection, new_date: date) -> None:
    connection.execute(update(ledger_state).values(business_date=new_date))


# --- entries and postings ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredKey:
    id: int
    fingerprint: bytes


def entries_by_keys(connection: Connection, keys: Collection[str]) -> dict[str, StoredKey]:
    found: dict[str, StoredKey] = {}
    for chunk in _chunks(list(keys)):
        if bulk.is_postgres(connection):
            rows = bulk.fetch_rows(
                connection,
                "SELECT idempotency_key, id, fingerprint FROM entries "
                "WHERE idempotency_key = ANY(%s)",
                (list(chunk),),
            )
        else:
            rows = bulk.fetch_rows(
                connection,
                "SELECT idempotency_key, id, fingerprint FROM entries WHERE idempotency_key IN "
                f"({bulk.marks(connection, len(chunk))})",
                tuple(chunk),
            )
        for key, entry_id, digest in rows:
            found[key] = StoredKey(entry_id, bytes(digest))
    return found


def allocate_entry_ids(connection: Connection, count: int) -> list[int]:
    """Take ``count`` fresh entry ids. The caller holds the write lock (SQLite) or uses the
    sequence (PostgreSQL), so two writers never take the same id."""
    return _fresh_ids(connection, "entries", count)


def allocate_posting_ids(connection: Connection, count: int) -> list[int]:
    """Take ``count`` fresh posting ids, as `allocate_entry_ids` does for entries. A writer
    needs them before it inserts: each posting of a batch links the account's previous one."""
    return _fresh_ids(connection, "postings", count)


def _fresh_ids(connection: Connection, table: str, count: int) -> list[int]:
    if count == 0:
        return []
    if bulk.is_postgres(connection):
        rows = connection.execute(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return [int(row[0]) for row in rows]
    ((start,),) = bulk.fetch_rows(connection, f"SELECT COALESCE(MAX(id), 0) FROM {table}", ())
    return list(range(int(start) + 1, int(start) + 1 + count))


ENTRY_COLUMNS = (
    "id", "idempotency_key", "fingerprint", "kind", "memo", "business_date", "created_at",
    "reverses_entry_id", "hold_id",
)  # fmt: skip
ENTRY_PG_TYPES = (
    "bigint", "text", "bytea", "text", "text", "date", "timestamptz", "bigint", "bigint",
)  # fmt: skip
POSTING_COLUMNS = ("id", "entry_id", "account_id", "amount", "business_date", "previous_id")
POSTING_PG_TYPES = ("bigint", "bigint", "bigint", "bigint", "date", "bigint")


def insert_entries(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in `ENTRY_COLUMNS` order, dates adapted with `bulk.sql_date`/`sql_timestamp`."""
    bulk.insert_rows(connection, "entries", ENTRY_COLUMNS, rows, pg_types=ENTRY_PG_TYPES)


def insert_postings(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in `POSTING_COLUMNS` order."""
    bulk.insert_rows(connection, "postings", POSTING_COLUMNS, rows, pg_types=POSTING_PG_TYPES)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    key: str
    kind: str
    memo: str
    business_date: date
    created_at: datetime
    reverses_entry_id: int | None
    hold_id: int | None
    postings: tuple[Posting, ...]


def get_entry(connection: Connection, entry_id: int) -> StoredEntry | None:
    row = connection.execute(select(entries).where(entries.c.id == entry_id)).first()
    if row is None:
        return None
    lines = connection.execute(
        select(postings.c.account_id, postings.c.amount)
        .where(postings.c.entry_id == entry_id)
        .order_by(postings.c.id)
    )
    created = as_utc(row.created_at)
    assert created is not None
    return StoredEntry(
        id=row.id,
        key=row.idempotency_key,
        kind=row.kind,
        memo=row.memo,
        business_date=row.business_date,
        created_at=created,
        reverses_entry_id=row.reverses_entry_id,
        hold_id=row.hold_id,
        postings=tuple(Posting(line.account_id, line.amount) for line in lines),
    )


def reversal_of_entry(connection: Connection, entry_id: int) -> int | None:
    query = select(entries.c.id).where(entries.c.reverses_entry_id == entry_id)
    value = connection.execute(query).scalar_one_or_none()
    return int(value) if value is not None else None


# --- holds ---------------------------------------------------------------------------------


def _hold(row: Any) -> Hold:
    return Hold(
        id=row.id,
        key=row.idempotency_key,
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount=row.amount,
        status=HoldStatus(row.status),
        expires_at=as_utc(row.expires_at),
        memo=row.memo,
        posted_amount=row.posted_amount,
    )


def hold_by_key(connection: Connection, key: str) -> tuple[Hold, bytes] | None:
    row = connection.execute(select(holds).where(holds.c.idempotency_key == key)).first()
    return (_hold(row), bytes(row.fingerprint)) if row else None


def get_hold(connection: Connection, hold_id: int, *, lock: bool = False) -> Hold | None:
    query = select(holds).where(holds.c.id == hold_id)
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).first()
    return _hold(row) if row else None


def insert_hold(connection: Connection, values: Mapping[str, Any]) -> int:
    result = connection.execute(insert(holds).values(**values).returning(holds.c.id))
    return int(result.scalar_one())


def resolve_holds(
    connection: Connection,
    hold_ids: Sequence[int],
    *,
    status: HoldStatus,
    now: datetime,
    posted_amount: int | None = None,
) -> None:
    """Move pending holds to a final status; only pending rows change."""
    statement = (
        update(holds)
        .where(holds.c.id == bindparam("h_id"), holds.c.status == HoldStatus.PENDING.value)
        .values(status=status.value, resolved_at=now, posted_amount=posted_amount)
    )
    connection.execute(statement, [{"h_id": hold_id} for hold_id in hold_ids])


def expired_holds(connection: Connection, now: datetime, limit: int) -> list[Hold]:
    query = (
        select(holds)
        .where(holds.c.status == HoldStatus.PENDING.value, holds.c.expires_at <= now)
        .order_by(holds.c.id)
        .limit(limit)
        .with_for_update()
    )
    return [_hold(row) for row in connection.execute(query)]


def list_holds(
    connection: Connection, *, status: HoldStatus | None = None, limit: int = 100
) -> list[Hold]:
    query = select(holds).order_by(holds.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(holds.c.status == status.value)
    return [_hold(row) for row in connection.execute(query)]
