"""The floor under the daily close: its three writes alone, as bare SQL, on SQLite.

`python -m bench eod_floor` loads 1,000,000 funded accounts exactly as `huoqi bench eod`
does, then times only what any close must write, with nothing else: one INSERT…SELECT of
the income records (income by truncation, no allocation plan), one INSERT…SELECT of the
postings, one UPDATE…FROM of the balances, and the commit — no plan pass, no
reconciliation, no progress records, no Python per row. Same durable settings as Huoqi
(WAL, synchronous=FULL, foreign keys on).

It runs twice on copies of the same database: with the balances where the ledger keeps
them (the totals columns of the wide ``accounts`` rows), and with the same totals copied
into a narrow table of their own, to show what moving them out would save. Whatever the
close's logic, it cannot beat the first row; a close target above it is above what the
machine can write.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.report import table, write_section
from huoqi.db.engine import make_engine
from huoqi.db.migrate import upgrade
from huoqi.fund.benchmark import DAY, SHANGHAI, balances
from huoqi.fund.bulkload import load_funded_holders
from huoqi.fund.service import FundDesk

RATE_E4 = 6512
LAYOUTS = ("accounts", "narrow")


@dataclass(frozen=True)
class Floor:
    layout: str
    accounts: int
    income: float
    postings: float
    balances: float
    commit: float

    @property
    def seconds(self) -> float:
        return self.income + self.postings + self.balances + self.commit

    @property
    def accounts_per_second(self) -> int:
        return int(self.accounts / self.seconds)


def _build(path: Path, accounts: int) -> None:
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    at = datetime(DAY.year, DAY.month, DAY.day, 9, 0, tzinfo=SHANGHAI)
    fund = FundDesk(engine, clock=lambda: at).add_fund(code="FLOOR", name="Floor money fund")
    load_funded_holders(engine, fund, balances(accounts), now=at)
    engine.dispose()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                   "cache_size=-65536", "wal_autocheckpoint=10000"):  # fmt: skip
        connection.execute(f"PRAGMA {pragma}")
    return connection


_BALANCES = {
    table: f"UPDATE {table} SET credits_posted = {table}.credits_posted - p.amount, "
    f"last_posting_id = p.id FROM postings p "
    f"WHERE p.entry_id = :entry AND {table}.id = p.account_id"
    for table in ("accounts", "balances")
}


def _measure(path: Path, layout: str, accounts: int) -> Floor:
    connection = _connect(path)
    if layout == "narrow":
        connection.execute(
            "CREATE TABLE balances (id INTEGER PRIMARY KEY, debits_posted BIGINT NOT NULL, "
            "credits_posted BIGINT NOT NULL, debits_pending BIGINT NOT NULL, "
            "credits_pending BIGINT NOT NULL, last_posting_id BIGINT, "
            "CHECK (debits_posted >= 0 AND credits_posted >= 0))"
        )
        connection.execute(
            "INSERT INTO balances SELECT id, debits_posted, credits_posted, debits_pending, "
            "credits_pending, last_posting_id FROM accounts"
        )
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    day = DAY.isoformat()
    connection.execute("BEGIN IMMEDIATE")
    entry = connection.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM entries").fetchone()[0]
    connection.execute(
        "INSERT INTO entries (id, idempotency_key, fingerprint, kind, memo, business_date, "
        "created_at) VALUES (?, 'floor', x'00', 'income', '', ?, ?)",
        (entry, day, f"{day} 20:00:00.000000"),
    )

    def timed(sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> float:
        started = time.perf_counter()
        connection.execute(sql, params)
        return time.perf_counter() - started

    income = timed(
        "INSERT INTO fund_income (fund_id, income_date, account_id, units, income) "
        "SELECT h.fund_id, ?, a.id, a.credits_posted, a.credits_posted * ? / 100000000 "
        "FROM holdings h JOIN accounts a ON a.id = h.account_id ORDER BY a.id",
        (day, RATE_E4),
    )
    postings = timed(
        "INSERT INTO postings (entry_id, account_id, amount, business_date, previous_id) "
        "SELECT ?, fi.account_id, -fi.income, ?, a.last_posting_id FROM fund_income fi "
        "JOIN accounts a ON a.id = fi.account_id WHERE fi.income > 0 ORDER BY fi.account_id",
        (entry, day),
    )
    updated = timed(_BALANCES["balances" if layout == "narrow" else "accounts"], {"entry": entry})
    commit = timed("COMMIT")
    connection.close()
    return Floor(layout, accounts, income, postings, updated, commit)


def run(*, quick: bool = False, record: bool = True) -> list[Floor]:
    accounts = 20_000 if quick else 1_000_000
    folder = Path(tempfile.mkdtemp(prefix="huoqi-bench-floor-"))
    try:
        built = folder / "built.db"
        _build(built, accounts)
        results = []
        for layout in LAYOUTS:
            copy = folder / f"{layout}.db"
            shutil.copyfile(built, copy)
            results.append(_measure(copy, layout, accounts))
            floor = results[-1]
            print(
                f"eod floor ({layout}) {accounts:,} accounts: {floor.seconds:.2f} s, "
                f"{floor.accounts_per_second:,} accounts/s",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if record and not quick:
        write_section("eod_floor", _markdown(results))
    return results


def _markdown(results: list[Floor]) -> str:
    rows = [
        [f.layout, f"{f.accounts:,}", f"{f.income:.2f}", f"{f.postings:.2f}",
         f"{f.balances:.2f}", f"{f.commit:.2f}", f"{f.seconds:.2f}",
         f"{f.accounts_per_second:,}"]
        for f in results
    ]  # fmt: skip
    return "\n".join(
        [
            "## Daily close: the floor of its writes",
            "",
            "`python -m bench eod_floor` — the three writes every close must make for",
            "1,000,000 accounts, as bare SQL on SQLite (income records, postings, balances;",
            "no plan, no reconciliation), with the balances in the `accounts` rows as the",
            "ledger keeps them, and in a narrow table of their own. No close can be faster",
            "than its row.",
            "",
            table(
                ["balances in", "accounts", "income records (s)", "postings (s)",
                 "balances (s)", "commit (s)", "total (s)", "accounts/s"],
                rows,
            ),
        ]
    )  # fmt: skip
