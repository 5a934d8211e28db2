"""Ledger throughput: transfers per second on SQLite and PostgreSQL.

Three ways of writing the same transfers (customer to customer, two postings each) into a
migrated database of 10,000 funded wallets:

* single — `Ledger.post`, one transfer per database transaction;
* batch — `Ledger.post_many`, 1,000 transfers per transaction;
* raw — the baseline: the same entry and posting rows (chain links included, computed
  before the clock starts) inserted with the driver's ``executemany``, 1,000 transfers per
  transaction, with no ledger logic (no idempotency check, no balance rules, no balance
  updates), into an identically migrated database.

Durable settings throughout: SQLite in WAL mode with ``synchronous=FULL`` (Huoqi's
default); PostgreSQL with fsync and synchronous commit on. Each database ends with a deep
trial balance, so the figures are for books that add up.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from bench.report import table, write_section
from huoqi.db import bulk
from huoqi.db.engine import make_engine, write_transaction
from huoqi.db.migrate import upgrade
from huoqi.ledger import accounts as ledger_accounts
from huoqi.ledger import repository as repo
from huoqi.ledger.domain import AccountKind, EntryRequest, transfer
from huoqi.ledger.service import Ledger
from huoqi.ledger.tables import accounts

WALLETS = 10_000
BATCH = 1_000
OPENING = 100_000_000  # 1,000,000.00 CNY per wallet: transfers never run short


@dataclass(frozen=True)
class Sizes:
    single: int
    batches: int


FULL = {"sqlite": Sizes(single=2_000, batches=100), "postgresql": Sizes(single=2_000, batches=50)}
QUICK = {"sqlite": Sizes(single=200, batches=10), "postgresql": Sizes(single=200, batches=5)}


@dataclass(frozen=True)
class Figures:
    database: str
    single: float
    batch: float
    raw: float
    floor: float

    @property
    def batch_share_of_raw(self) -> float:
        return self.batch / self.raw


def _books(url: str) -> tuple[Ledger, list[int]]:
    """A migrated database with a bank account and funded customer wallets."""
    upgrade(url)
    ledger = Ledger(make_engine(url))
    now = datetime.now(UTC)
    with write_transaction(ledger.engine) as connection:
        bank = ledger_accounts.open_account(
            connection, "platform:bank", kind=AccountKind.ASSET, now=now
        ).id
        wallets = [
            ledger_accounts.open_account(
                connection, f"customer:{n}:wallet", kind=AccountKind.LIABILITY, now=now
            ).id
            for n in range(WALLETS)
        ]
    for start in range(0, WALLETS, BATCH):
        ledger.post_many(
            [
                transfer(f"open:{w}", debit=bank, credit=w, amount=OPENING)
                for w in wallets[start : start + BATCH]
            ],
            atomic=True,
        )
    return ledger, wallets


def _transfers(
    rng: random.Random, wallets: list[int], prefix: str, count: int
) -> list[EntryRequest]:
    made = []
    for n in range(count):
        payer, payee = rng.sample(wallets, 2)
        made.append(
            transfer(f"{prefix}:{n}", debit=payer, credit=payee, amount=rng.randint(1, 10_000))
        )
    return made


def _rate(count: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def _raw_rate(url: str, batches: list[list[EntryRequest]], *, balances: bool = False) -> float:
    """Insert the same rows as the batch run, with no ledger logic.

    With ``balances`` (the floor), each batch also reads the totals of the accounts it
    touches and writes them back changed, as bare statements with every value computed
    before the clock starts: what the ledger must do in SQL, with none of its checks.
    """
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with write_transaction(engine) as connection:
        ids = [
            ledger_accounts.open_account(
                connection, f"customer:{n}:wallet", kind=AccountKind.LIABILITY, now=now
            ).id
            for n in range(WALLETS)
        ]
        business_date = bulk.sql_date(connection, repo.business_date(connection))
        created_at = bulk.sql_timestamp(connection, now)
        if balances:  # funded, so the balance rules hold after every batch
            connection.execute(update(accounts).values(credits_posted=OPENING))
    shift = ids[0] - 1  # the batch run's wallets start one id later (the bank comes first)
    prepared: list[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]] = []
    touched_rows: list[tuple[list[int], list[tuple[int, int, int, int]]]] = []
    totals = {account_id: [0, OPENING] for account_id in ids}
    entry_id = 0
    posting_id = 0
    heads: dict[int, int | None] = {}  # the rows link each account's postings, as the ledger's do
    for batch in batches:
        entry_rows: list[tuple[object, ...]] = []
        posting_rows: list[tuple[object, ...]] = []
        for request in batch:
            entry_id += 1
            entry_rows.append(
                (entry_id, request.key, request.fingerprint(), request.kind, request.memo,
                 business_date, created_at, None, None)
            )  # fmt: skip
            for p in request.postings:
                posting_id += 1
                account_id = p.account_id - 1 + shift
                posting_rows.append(
                    (posting_id, entry_id, account_id, p.amount, business_date,
                     heads.get(account_id))
                )  # fmt: skip
                heads[account_id] = posting_id
                totals[account_id][0 if p.amount > 0 else 1] += abs(p.amount)
        prepared.append((entry_rows, posting_rows))
        touched = sorted({p.account_id - 1 + shift for r in batch for p in r.postings})
        touched_rows.append(
            (touched, [(totals[a][0], totals[a][1], heads[a] or 0, a) for a in touched])
        )

    def insert_all() -> None:
        for (entry_rows, posting_rows), (touched, new_totals) in zip(
            prepared, touched_rows, strict=True
        ):
            with write_transaction(engine) as connection:
                if balances and bulk.is_postgres(connection):
                    bulk.fetch_rows(connection, _READ_TOTALS + _PG_LOCK, (touched,))
                elif balances:
                    marks = bulk.marks(connection, len(touched))
                    bulk.fetch_rows(connection, f"{_READ_TOTALS} IN ({marks})", tuple(touched))
                repo.insert_entries(connection, entry_rows)
                repo.insert_postings(connection, posting_rows)
                if balances:
                    bulk.execute_many(connection, _WRITE_TOTALS, new_totals)

    try:
        return _rate(sum(len(batch) for batch in batches), insert_all)
    finally:
        engine.dispose()


_READ_TOTALS = (
    "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending, "
    "last_posting_id FROM accounts WHERE id"
)
_PG_LOCK = " = ANY(%s) ORDER BY id FOR UPDATE"
_WRITE_TOTALS = (
    "UPDATE accounts SET debits_posted = ?, credits_posted = ?, last_posting_id = ? WHERE id = ?"
)


def measure(database: str, url: str, raw_url: str, floor_url: str, sizes: Sizes) -> Figures:
    ledger, wallets = _books(url)
    rng = random.Random(20261125)
    singles = _transfers(rng, wallets, "single", sizes.single)
    batches = [_transfers(rng, wallets, f"batch{b}", BATCH) for b in range(sizes.batches)]

    def post_singles() -> None:
        for request in singles:
            ledger.post(request)

    def post_batches() -> None:
        for batch in batches:
            ledger.post_many(batch)

    single = _rate(len(singles), post_singles)
    batch = _rate(BATCH * len(batches), post_batches)
    balance = ledger.trial_balance(deep=True)
    if not balance.ok:
        raise SystemExit(f"{database}: the trial balance does not hold: {balance.problems}")
    ledger.engine.dispose()
    raw = _raw_rate(raw_url, batches)
    floor = _raw_rate(floor_url, batches, balances=True)
    return Figures(database, single, batch, raw, floor)


@contextmanager
def _sqlite_urls() -> Iterator[tuple[str, str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="huoqi-bench-"))
    try:
        ledger, raw, floor = (
            f"sqlite:///{folder}/{name}.db" for name in ("ledger", "raw", "floor")
        )
        yield ledger, raw, floor
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _postgres_urls() -> Iterator[tuple[str, str, str]]:
    from huoqi.testing.postgres import TempPostgres

    with TempPostgres(fast=False) as server:
        ledger, raw, floor = (
            server.create_database(f"bench_{name}") for name in ("ledger", "raw", "floor")
        )
        yield ledger, raw, floor


def run(*, quick: bool = False, record: bool = True) -> list[Figures]:
    sizes = QUICK if quick else FULL
    results = []
    for database, urls in (("sqlite", _sqlite_urls), ("postgresql", _postgres_urls)):
        with urls() as (url, raw_url, floor_url):
            figures = measure(database, url, raw_url, floor_url, sizes[database])
        print(
            f"ledger {database}: single={figures.single:,.0f}/s batch={figures.batch:,.0f}/s "
            f"raw={figures.raw:,.0f}/s floor={figures.floor:,.0f}/s "
            f"batch/raw={figures.batch_share_of_raw:.0%}",
            flush=True,
        )
        results.append(figures)
    if record and not quick:
        write_section("ledger", _markdown(results))
    return results


def _markdown(results: list[Figures]) -> str:
    rows = [
        [
            f.database,
            f"{f.single:,.0f}",
            f"{f.batch:,.0f}",
            f"{f.raw:,.0f}",
            f"{f.floor:,.0f}",
            f"{f.batch_share_of_raw:.0%}",
        ]
        for f in results
    ]
    sizes = FULL
    return "\n".join(
        [
            "## Ledger: transfers per second",
            "",
            "`python -m bench ledger` — 10,000 funded wallets; random customer-to-customer",
            f"transfers. Single: {sizes['sqlite'].single:,} transfers, one per transaction.",
            f"Batch: 1,000 per transaction ({sizes['sqlite'].batches * BATCH:,} on SQLite,",
            f"{sizes['postgresql'].batches * BATCH:,} on PostgreSQL). Raw: the same entry and",
            "posting rows inserted with the driver's executemany, 1,000 transfers per",
            "transaction, no ledger logic. SQLite: WAL, synchronous=FULL. PostgreSQL:",
            "a local server, fsync and synchronous_commit on. Target: batched SQLite",
            "≥ 50,000/s and ≥ 25% of raw. Floor: raw plus, per batch, reading the",
            "touched accounts' totals and writing them back (values computed before the",
            "clock starts): the SQL any ledger implementation has to run, without its",
            "checks.",
            "",
            table(
                ["database", "single /s", "batch of 1,000 /s", "raw /s", "floor /s", "batch ÷ raw"],
                rows,
            ),
        ]
    )
