"""A writer killed with SIGKILL in the middle of a batch leaves whole batches or none.

A writer process (``ledger_crash_writer.py``) posts atomic batches of 200 transfers between
twenty funded wallets, places and captures holds, and reports each batch once it has
committed. The test kills it without warning, four times on the same database:

* inside a batch's transaction, after its entries were inserted and before its postings;
* inside a batch's transaction, after its postings and before the account totals;
* twice at a random moment, some milliseconds after a batch was reported.

After every kill: everything the writer reported is there; the batch it died in is absent
(or, for a random kill that came just after a commit, present in full); every entry has all
its postings; the deep trial balance proves the totals against the postings and holds; and
the next writer carries on on the same database.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, text

from huoqi.ledger.domain import AccountKind, EntryRequest, Posting
from huoqi.ledger.service import Ledger

WRITER = Path(__file__).with_name("ledger_crash_writer.py")
BATCH = 200
WALLETS = 20


def run_and_kill(
    db_url: str,
    run: str,
    wallets: list[int],
    *,
    seed: int,
    wait_for: str,
    delay: float,
    pause: tuple[int, str] | None = None,
) -> int:
    """Start a writer, kill it ``delay`` seconds after it printed ``wait_for``; return how
    many batches it reported committed."""
    args = [db_url, run, str(seed), ",".join(str(w) for w in wallets)]
    if pause:
        args += [str(pause[0]), pause[1]]
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stderr is not None
    lines: list[str] = []
    while wait_for not in lines:
        line = writer.stdout.readline()
        if not line:
            writer.wait(timeout=30)
            raise AssertionError(f"writer {run} stopped by itself:\n{writer.stderr.read()}")
        if len(lines) > 100:
            writer.kill()
            raise AssertionError(f"writer {run} never printed {wait_for!r}: {lines[-3:]}")
        lines.append(line.strip())
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    lines += [line.strip() for line in writer.stdout.readlines()]
    writer.stdout.close()
    writer.stderr.close()
    committed = [line for line in lines if line.startswith("committed")]
    assert committed == [f"committed {n}" for n in range(len(committed))], lines
    return len(committed)


def written_by(engine: Engine, run: str) -> tuple[Counter[int], int, int]:
    """Entries per batch, holds placed and holds captured by writer ``run``."""
    with engine.connect() as connection:
        entry_keys = connection.execute(text("SELECT idempotency_key FROM entries")).scalars()
        hold_keys = connection.execute(text("SELECT idempotency_key FROM holds")).scalars()
        per_batch: Counter[int] = Counter()
        captures = 0
        for key in entry_keys:
            if match := re.fullmatch(rf"{run}-b(\d+)-\d+", key):
                per_batch[int(match[1])] += 1
            elif re.fullmatch(rf"{run}-c\d+", key):
                captures += 1
        holds = sum(1 for key in hold_keys if re.fullmatch(rf"{run}-h\d+", key))
    return per_batch, holds, captures


def assert_books_whole(engine: Engine, ledger: Ledger, context: str) -> None:
    with engine.connect() as connection:
        incomplete = connection.execute(
            text(
                "SELECT count(*) FROM entries e WHERE "
                "(SELECT count(*) FROM postings p WHERE p.entry_id = e.id) < 2"
            )
        ).scalar_one()
    assert incomplete == 0, context
    report = ledger.trial_balance(deep=True)
    assert report.ok, (context, report.problems)


def test_a_killed_writer_leaves_whole_batches_and_true_totals(engine: Engine, db_url: str) -> None:
    ledger = Ledger(engine)
    bank = ledger.open_account("platform:bank", kind=AccountKind.ASSET).id
    wallets = [
        ledger.open_account(f"customer:{n:02d}", kind=AccountKind.LIABILITY).id
        for n in range(WALLETS)
    ]
    opening = (Posting(bank, 1_000_000 * WALLETS), *(Posting(w, -1_000_000) for w in wallets))
    ledger.post(EntryRequest("opening", opening))

    rng = random.Random()
    runs = [
        ("r1", (2, "INSERT INTO postings")),
        ("r2", (3, "UPDATE accounts")),
        ("r3", None),
        ("r4", None),
    ]
    for run, pause in runs:
        seed = rng.randrange(1_000_000)
        if pause:
            wait_for, delay = f"in flight {pause[0]}", rng.uniform(0, 0.05)
        else:
            wait_for, delay = f"committed {rng.randint(1, 3)}", rng.uniform(0, 0.08)
        context = f"writer {run} (seed {seed}) killed {delay * 1000:.0f} ms after {wait_for!r}"
        reported = run_and_kill(
            db_url, run, wallets, seed=seed, wait_for=wait_for, delay=delay, pause=pause
        )

        per_batch, holds, captures = written_by(engine, run)
        batches = len(per_batch)
        assert set(per_batch) == set(range(batches)), context
        assert all(count == BATCH for count in per_batch.values()), (context, per_batch)
        if pause:  # died inside the batch's transaction: none of it may remain
            assert batches == reported == pause[0], (context, reported, batches)
        else:
            assert batches in (reported, reported + 1), (context, reported, batches)
        assert holds in (batches - 1, batches) and holds >= reported, (context, holds)
        assert captures in (holds - 1, max(holds - 2, 0)), (context, holds, captures)
        assert_books_whole(engine, ledger, context)

    # After four crashes the books still take a payment.
    pay = (Posting(wallets[0], 100), Posting(wallets[1], -100))
    assert not ledger.post(EntryRequest("after-the-crashes", pay)).replayed
    assert ledger.trial_balance(deep=True).ok
