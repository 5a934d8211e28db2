"""Eight processes pay each other from tight wallets at once: no lost update, no overdraft.

One hundred customers hold 100.00 CNY each. Eight worker processes (spawned, each with its
own engine) make 2,000 random payments apiece, alone or in small batches, many of them too
large for the payer's wallet. Afterwards the books must show exactly what the workers were
told: every accepted entry is in the database once (and nothing else is), each wallet is its
opening balance plus the accepted payments, no wallet is below zero, money is conserved and
the deep trial balance proves the totals against the postings.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter

import pytest
from ledger_transfer_worker import Job, Report, run_transfers
from sqlalchemy import Engine, text

from huoqi.ledger.domain import AccountKind, EntryRequest, Posting
from huoqi.ledger.service import Ledger

CUSTOMERS = 100
OPENING = 10_000  # 100.00 CNY
WORKERS = 8
TRANSFERS = 2_000


def test_concurrent_payments_lose_nothing_and_overdraw_nothing(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Eight SQLite writers fsync on every commit under the default synchronous=FULL; NORMAL
    # (still safe against a crashed process, see the crash test) keeps this test fast.
    monkeypatch.setenv("HUOQI_SQLITE_SYNCHRONOUS", "NORMAL")
    ledger = Ledger(engine)
    bank = ledger.open_account("platform:bank", kind=AccountKind.ASSET).id
    fees = ledger.open_account("platform:fees", kind=AccountKind.INCOME).id
    customers = [
        ledger.open_account(f"customer:{n:03d}", kind=AccountKind.LIABILITY).id
        for n in range(CUSTOMERS)
    ]
    opening = (Posting(bank, OPENING * CUSTOMERS), *(Posting(c, -OPENING) for c in customers))
    opening_id = ledger.post(EntryRequest("opening", opening, "opening balances")).entry_id

    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        jobs = [Job(db_url, w, customers, fees, TRANSFERS, seed=1_000 + w) for w in range(WORKERS)]
        reports: list[Report] = pool.map_async(run_transfers, jobs).get(timeout=500)
    elapsed = time.monotonic() - started

    assert max(r.started for r in reports) < min(r.finished for r in reports), "no overlap"
    accepted = {key: value for report in reports for key, value in report.accepted.items()}
    refused = sum(report.refused for report in reports)
    assert len(accepted) + refused == WORKERS * TRANSFERS
    assert refused > WORKERS * TRANSFERS // 10, "the wallets were meant to be tight"
    assert sum(report.replays for report in reports) > 0

    # Every entry a worker was told about is in the books, once, and nothing else is.
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                text("SELECT idempotency_key, id FROM entries WHERE idempotency_key <> 'opening'")
            ).all()
        )
        postings = Counter()
        for entry_id, account_id, amount in connection.execute(
            text("SELECT entry_id, account_id, amount FROM postings")
        ):
            postings[(entry_id, account_id)] += amount
    assert stored == {key: entry_id for key, (entry_id, _) in accepted.items()}
    expected_postings = Counter()
    for entry_id, lines in accepted.values():
        for account_id, amount in lines:
            expected_postings[(entry_id, account_id)] += amount
    for posting in opening:
        expected_postings[(opening_id, posting.account_id)] += posting.amount
    assert postings == expected_postings

    # Each wallet is its opening balance plus what the workers were told moved.
    expected = dict.fromkeys(customers, OPENING) | {fees: 0}
    for _, lines in accepted.values():
        for account_id, amount in lines:
            expected[account_id] -= amount  # credit-normal: a debit lowers the balance
    for account_id, balance in expected.items():
        stored_balance = ledger.balance(account_id)
        assert -stored_balance.net_posted == balance, account_id
        assert balance >= 0, f"account {account_id} is overdrawn"
    assert sum(expected.values()) == OPENING * CUSTOMERS, "money was created or destroyed"

    report = ledger.trial_balance(deep=True)
    assert report.ok, report.problems
    print(f"{engine.dialect.name}: {len(accepted)} accepted, {refused} refused in {elapsed:.1f}s")
