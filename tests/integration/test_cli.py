"""The ``huoqi`` command against a real SQLite file, as an operator would type it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


class Huoqi:
    def __init__(self, database: Path) -> None:
        self.database = database
        self.env = {**os.environ, "HUOQI_DATABASE_URL": f"sqlite:///{database}", "COLUMNS": "200"}

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "huoqi", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if ok:
            assert done.returncode == 0, done.stderr + done.stdout
        return done

    def counts(self) -> tuple[int, ...]:
        with sqlite3.connect(self.database) as db:
            return tuple(
                db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("accounts", "entries", "postings", "holds")
            ) + tuple(
                db.execute(
                    "SELECT sum(credits_posted), sum(debits_pending) FROM accounts"
                ).fetchone()
            )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database with a bank, two wallets and a 100.00 top-up, built once."""
    cli = Huoqi(tmp_path_factory.mktemp("cli") / "base.db")
    cli("db", "upgrade")
    cli("ledger", "account", "open", "platform:bank", "--kind", "asset")
    cli("ledger", "account", "open", "alice", "--kind", "liability")
    cli("ledger", "account", "open", "mall", "--kind", "liability")
    cli(
        "ledger",
        "post",
        "--key",
        "t1",
        "--debit",
        "platform:bank",
        "--credit",
        "alice",
        "--amount",
        "100.00",
    )
    with sqlite3.connect(cli.database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return cli.database


@pytest.fixture
def huoqi(prepared: Path, tmp_path: Path) -> Huoqi:
    copy = tmp_path / "cli.db"
    shutil.copyfile(prepared, copy)
    return Huoqi(copy)


def test_post_hold_capture_and_inspect(huoqi: Huoqi) -> None:
    assert (
        "entry 1 posted (replayed"
        in huoqi(
            "ledger",
            "post",
            "--key",
            "t1",
            "--debit",
            "platform:bank",
            "--credit",
            "alice",
            "--amount",
            "100.00",
        ).stdout
    )
    assert (
        "hold 1 pending"
        in huoqi(
            "ledger",
            "hold",
            "--key",
            "h1",
            "--debit",
            "alice",
            "--credit",
            "mall",
            "--amount",
            "30.00",
        ).stdout
    )
    huoqi("ledger", "hold-post", "1", "--key", "c1", "--amount", "25.50")
    balance = huoqi("ledger", "balance", "alice").stdout
    assert "alice: 74.50 CNY" in balance
    assert "pending out 0.00" in balance
    assert "25.50" in huoqi("ledger", "history", "alice").stdout
    report = huoqi("report", "trial-balance", "--deep")
    assert "trial balance holds" in report.stdout


def test_balance_as_of_a_past_business_date(huoqi: Huoqi) -> None:
    today = huoqi("ledger", "business-date").stdout.split()[-1]
    huoqi("ledger", "business-date", "--set", "2099-01-01")
    huoqi(
        "ledger", "post", "--key", "t2", "--debit", "alice", "--credit", "mall", "--amount", "40.00"
    )
    assert (
        "alice as of " + today + ": 100.00 CNY"
        in huoqi("ledger", "balance", "alice", "--as-of", today).stdout
    )
    assert "alice: 60.00 CNY" in huoqi("ledger", "balance", "alice").stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (
            ("post", "--key", "b1", "--debit", "alice", "--credit", "mall", "--amount", "1.001"),
            "invalid_amount",
        ),
        (
            ("post", "--key", "b2", "--debit", "alice", "--credit", "mall", "--amount", "0"),
            "invalid_amount",
        ),
        (
            ("post", "--key", "b3", "--debit", "alice", "--credit", "mall", "--amount", "-5"),
            "invalid_amount",
        ),
        (
            ("post", "--key", "b4", "--debit", "alice", "--credit", "mall", "--amount", "100.01"),
            "insufficient_funds",
        ),
        (
            ("post", "--key", "b5", "--debit", "nobody", "--credit", "mall", "--amount", "1"),
            "unknown_account",
        ),
        (
            (
                "post",
                "--key",
                "t1",
                "--debit",
                "platform:bank",
                "--credit",
                "alice",
                "--amount",
                "5",
            ),
            "idempotency_conflict",
        ),
        (("entry", "--key", "b6", "-p", "alice=+1.00", "-p", "mall=-0.99"), "unbalanced_entry"),
        (("hold-post", "99", "--key", "b7"), "unknown_hold"),
        (("reverse", "99", "--key", "b8"), "unknown_entry"),
        (("business-date", "--set", "2000-01-01"), "invalid_business_date"),
        (("business-date", "--set", "tomorrow"), "invalid_input"),
    ],
)
def test_refusals_are_one_clear_line_and_change_nothing(
    huoqi: Huoqi, args: tuple[str, ...], code: str
) -> None:
    before = huoqi.counts()
    done = huoqi("ledger", *args, ok=False)
    assert done.returncode == 2
    assert f"error[{code}]" in done.stderr
    assert "Traceback" not in done.stderr
    assert huoqi.counts() == before


def test_trial_balance_exits_non_zero_when_the_books_are_off(huoqi: Huoqi) -> None:
    with sqlite3.connect(huoqi.database) as db:  # tamper behind the ledger's back
        db.execute("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE code = 'mall'")
    done = huoqi("report", "trial-balance", ok=False)
    assert done.returncode == 1
    assert "debits 10000 != credits 10001" in done.stderr


def test_unmigrated_database_gets_a_hint(tmp_path: Path) -> None:
    done = Huoqi(tmp_path / "empty.db")("ledger", "balance", "alice", ok=False)
    assert done.returncode == 2
    assert "huoqi db upgrade" in done.stderr
