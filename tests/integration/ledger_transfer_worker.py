"""A customer-to-customer payment generator, run in its own process by the concurrency test.

Each worker opens its own engine from the database URL and makes random transfers between
customer wallets, alone (`Ledger.post`) or in small batches (`Ledger.post_many`, atomic or
not), now and then with a platform fee, and now and then replays a request it already
made. A refusal for insufficient funds is an expected answer and is counted; any other
error (a deadlock, a lock timeout, a lost connection) escapes and fails the test.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from huoqi.db.engine import make_engine
from huoqi.errors import HuoqiError
from huoqi.ledger.domain import EntryRequest, Posting
from huoqi.ledger.errors import InsufficientFunds
from huoqi.ledger.posting import Posted
from huoqi.ledger.service import Ledger


@dataclass
class Report:
    """What one worker saw: every accepted entry with its postings, and the refusals."""

    worker: int
    accepted: dict[str, tuple[int, tuple[tuple[int, int], ...]]] = field(default_factory=dict)
    refused: int = 0
    replays: int = 0
    started: float = 0.0  # wall-clock seconds, to show that the workers overlapped
    finished: float = 0.0


def _payment(rng: random.Random, key: str, customers: list[int], fees: int) -> EntryRequest:
    payer, payee = rng.sample(customers, 2)
    amount = rng.randint(1, 2_000) if rng.random() < 0.5 else rng.randint(2_000, 20_000)
    if rng.random() < 0.1:  # a payment with a 1% platform fee (at least 1 fen)
        fee = max(1, amount // 100)
        lines = (Posting(payer, amount + fee), Posting(payee, -amount), Posting(fees, -fee))
        return EntryRequest(key, lines, "payment with fee")
    return EntryRequest(key, (Posting(payer, amount), Posting(payee, -amount)), "payment")


def _record(report: Report, request: EntryRequest, outcome: Posted | HuoqiError) -> None:
    if isinstance(outcome, InsufficientFunds):
        report.refused += 1
        return
    if not isinstance(outcome, Posted) or outcome.replayed:
        raise AssertionError(f"{request.key}: unexpected outcome {outcome!r}")
    lines = tuple((p.account_id, p.amount) for p in request.postings)
    report.accepted[request.key] = (outcome.entry_id, lines)


@dataclass(frozen=True)
class Job:
    url: str
    worker: int
    customers: list[int]
    fees: int
    transfers: int
    seed: int


def run_transfers(job: Job) -> Report:
    engine = make_engine(job.url)  # each process its own engine and connections
    ledger = Ledger(engine)
    rng = random.Random(job.seed)
    report = Report(job.worker, started=time.time())
    made = 0
    try:
        while made < job.transfers:
            size = 1 if rng.random() < 0.5 else min(rng.randint(2, 5), job.transfers - made)
            requests = [
                _payment(rng, f"w{job.worker}-{made + i}", job.customers, job.fees)
                for i in range(size)
            ]
            made += size
            if size == 1:
                try:
                    outcome: Posted | HuoqiError = ledger.post(requests[0])
                except InsufficientFunds as refused:
                    outcome = refused
                _record(report, requests[0], outcome)
            elif rng.random() < 0.3:  # all or nothing
                try:
                    outcomes = ledger.post_many(requests, atomic=True)
                except InsufficientFunds:
                    report.refused += size
                else:
                    for request, outcome in zip(requests, outcomes, strict=True):
                        _record(report, request, outcome)
            else:
                outcomes = ledger.post_many(requests)
                for request, outcome in zip(requests, outcomes, strict=True):
                    _record(report, request, outcome)
            if report.accepted and rng.random() < 0.02:
                _replay(ledger, report, rng)
    finally:
        engine.dispose()
    report.finished = time.time()
    return report


def _replay(ledger: Ledger, report: Report, rng: random.Random) -> None:
    """A client retries a payment that went through: it must not be paid twice."""
    key = rng.choice(sorted(report.accepted))
    entry_id, lines = report.accepted[key]
    memo = "payment with fee" if len(lines) == 3 else "payment"
    request = EntryRequest(key, tuple(Posting(*line) for line in lines), memo)
    if ledger.post(request) != Posted(entry_id, replayed=True):
        raise AssertionError(f"replaying {key} did not return entry {entry_id}")
    report.replays += 1
