"""Migration 0004 links the postings of a database written before posting chains existed.

A database is built at revision 0003 with postings of several accounts interleaved, then
upgraded: every account's chain must run through all its postings in id order, the deep
trial balance must hold, history must read the same lines, and new postings must extend
the chains. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from huoqi.db.engine import make_engine, write_transaction
from huoqi.db.migrate import upgrade
from huoqi.ledger.domain import transfer
from huoqi.ledger.service import Ledger

_numbers = itertools.count()

# (entry, account, amount): three accounts whose postings interleave
LINES = [
    (1, 1, 500), (1, 2, -500),
    (2, 2, 200), (2, 3, -200),
    (3, 1, -100), (3, 3, 100),
    (4, 1, 50), (4, 2, -50),
    (5, 3, 70), (5, 1, -70),
]  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
        upgrade(url, "0003")
        yield url
        return
    server: Any = request.getfixturevalue("postgres_server")
    name = f"chain_{os.getpid()}_{next(_numbers)}"
    url = server.create_database(name)
    try:
        upgrade(url, "0003")
        yield url
    finally:
        server.drop_database(name)


def _write_old_books(url: str) -> None:
    engine = make_engine(url)
    with write_transaction(engine) as connection:
        for account_id in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO accounts (id, code, asset, kind, rule, debits_posted, "
                    "credits_posted, created_at) VALUES (:id, :code, 'CNY', 'equity', "
                    "'unlimited', :d, :c, :at)"
                ),
                {
                    "id": account_id,
                    "code": f"old:{account_id}",
                    "d": sum(x for _, a, x in LINES if a == account_id and x > 0),
                    "c": -sum(x for _, a, x in LINES if a == account_id and x < 0),
                    "at": "2026-11-01 00:00:00",
                },
            )
        for entry_id in sorted({e for e, _, _ in LINES}):
            connection.execute(
                text(
                    "INSERT INTO entries (id, idempotency_key, fingerprint, kind, memo, "
                    "business_date, created_at) VALUES (:id, :key, :fp, 'transfer', '', "
                    "'2026-11-01', '2026-11-01 00:00:00')"
                ),
                {"id": entry_id, "key": f"old-{entry_id}", "fp": bytes(16)},
            )
        for posting_id, (entry_id, account_id, amount) in enumerate(LINES, start=1):
            connection.execute(
                text(
                    "INSERT INTO postings (id, entry_id, account_id, amount, business_date) "
                    "VALUES (:id, :e, :a, :x, '2026-11-01')"
                ),
                {"id": posting_id, "e": entry_id, "a": account_id, "x": amount},
            )
        if connection.dialect.name == "postgresql":  # the rows above took their ids by hand
            for table in ("accounts", "entries", "postings"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
    engine.dispose()


def test_upgrading_links_every_account_s_postings_in_order(old_url: str) -> None:
    _write_old_books(old_url)
    upgrade(old_url)
    engine = make_engine(old_url)
    try:
        with engine.connect() as connection:
            links = dict(connection.execute(text("SELECT id, previous_id FROM postings")).all())
            heads = dict(connection.execute(text("SELECT id, last_posting_id FROM accounts")).all())
        for account_id in (1, 2, 3):
            own = [n for n, (_, a, _) in enumerate(LINES, start=1) if a == account_id]
            assert [links[n] for n in own] == [None, *own[:-1]]
            assert heads[account_id] == own[-1]
        ledger = Ledger(engine)
        assert ledger.trial_balance(deep=True).ok
        lines = ledger.history(1, limit=10).lines
        assert [line.amount for line in lines] == [-70, 50, -100, 500]
        assert [line.balance_after for line in lines] == [380, 450, 400, 500]

        posted = ledger.post(transfer("new-1", debit=1, credit=3, amount=5))
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT account_id, previous_id FROM postings WHERE entry_id = :e"),
                {"e": posted.entry_id},
            ).all()
        assert sorted(rows) == [(1, 10), (3, 9)]
        assert ledger.trial_balance(deep=True).ok
    finally:
        engine.dispose()
