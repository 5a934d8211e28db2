"""The ledger against a model of itself, on SQLite and on PostgreSQL.

A Hypothesis state machine runs a small platform's books: a bank account, capital, fee
income and customer wallets in CNY, and the shares of a money fund (``MMF.000198``) held for
customers. It posts entries and batches that are right and wrong (unbalanced, mixing
assets, over the limit, naming no account), holds funds under a fake clock, posts holds in
full or in part, voids and expires them, reverses entries and replays idempotency keys.

A plain-Python model predicts every answer: accepted (and the totals it leaves), a replay
of which entry, or refused with which error. After every step the stored totals must equal
the model, every asset must balance, no account may break its rule and the deep trial
balance must prove the totals against the postings and holds.

The runs of one test share a database; each works on its own accounts and keys (a prefix
per run), so the global checks cover all runs together.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from huoqi.errors import HuoqiError
from huoqi.ledger.domain import (
    Account,
    AccountKind,
    BalanceRule,
    EntryRequest,
    Hold,
    HoldRequest,
    HoldStatus,
    Posting,
)
from huoqi.ledger.errors import (
    AccountExists,
    AlreadyReversed,
    AssetMismatch,
    EntryRejected,
    HoldExceeded,
    HoldExpired,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    UnbalancedEntry,
    UnknownAccount,
    UnknownEntry,
    UnknownHold,
)
from huoqi.ledger.posting import Posted
from huoqi.ledger.service import Ledger
from huoqi.money import MAX_AMOUNT, InvalidAmount

CNY = "CNY"
FUND = "MMF.000198"
UNKNOWN_ID = 999_999_999
START = datetime(2025, 6, 30, 8, 0, tzinfo=UTC)

#: debits_posted, credits_posted, debits_pending, credits_pending
Totals = tuple[int, int, int, int]
Payload = tuple[Any, ...]

_runs = itertools.count(1)


# --- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    id: int
    asset: str
    rule: BalanceRule
    overdraft_limit: int


@dataclass
class HeldFunds:
    debit: int
    credit: int
    amount: int
    expires_at: datetime | None
    memo: str
    status: HoldStatus = HoldStatus.PENDING


@dataclass(frozen=True)
class BatchRef:
    """An entry accepted earlier in the same batch, whose id is not known yet."""

    index: int


@dataclass(frozen=True)
class Accept:
    totals: dict[int, Totals]


@dataclass(frozen=True)
class Replay:
    entry_id: int | BatchRef


@dataclass(frozen=True)
class Refuse:
    error: type[HuoqiError]


Verdict = Accept | Replay | Refuse


def expected_rule(kind: AccountKind) -> BalanceRule:
    """Written out again rather than imported: equity may swing, the rest may not overdraw."""
    if kind is AccountKind.EQUITY:
        return BalanceRule.UNLIMITED
    if kind in (AccountKind.ASSET, AccountKind.EXPENSE):
        return BalanceRule.CREDITS_MUST_NOT_EXCEED_DEBITS
    return BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS


def breaks_rule(account: Opened | Account, totals: Totals) -> bool:
    debits, credits, debits_pending, credits_pending = totals
    if min(totals) < 0:
        return True
    if account.rule is BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS:
        return debits + debits_pending > credits + account.overdraft_limit
    if account.rule is BalanceRule.CREDITS_MUST_NOT_EXCEED_DEBITS:
        return credits + credits_pending > debits + account.overdraft_limit
    return False


def is_amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < abs(value) <= MAX_AMOUNT


def entry_payload(request: EntryRequest) -> Payload:
    lines = tuple(sorted((p.account_id, p.amount) for p in request.postings))
    return (request.kind, request.memo, lines)


@dataclass
class Books:
    """What the ledger should hold, kept by hand."""

    accounts: dict[int, Opened] = field(default_factory=dict)
    totals: dict[int, Totals] = field(default_factory=dict)
    entry_keys: dict[str, tuple[Payload, int]] = field(default_factory=dict)
    entries: dict[int, tuple[Posting, ...]] = field(default_factory=dict)
    reversed: set[int] = field(default_factory=set)
    hold_keys: dict[str, tuple[Payload, int]] = field(default_factory=dict)
    holds: dict[int, HeldFunds] = field(default_factory=dict)

    def ids_of(self, asset: str) -> list[int]:
        return sorted(i for i, a in self.accounts.items() if a.asset == asset)

    def shape_problem(self, postings: Sequence[Posting]) -> type[HuoqiError] | None:
        """The first thing wrong with the postings themselves, in the ledger's order."""
        first: type[HuoqiError] | None = EntryRejected if len(postings) < 2 else None
        sums: dict[str, int] = {}
        for posting in postings:
            account = self.accounts.get(posting.account_id)
            if not is_amount(posting.amount):
                first = first or InvalidAmount
            elif account is None:
                first = first or UnknownAccount
            else:
                sums[account.asset] = sums.get(account.asset, 0) + posting.amount
        if first is None and any(sums.values()):
            first = AssetMismatch if len(sums) > 1 else UnbalancedEntry
        return first

    def moved(self, totals: Mapping[int, Totals], changes: Sequence[tuple[int, Totals]]) -> Verdict:
        """Add ``changes`` (per account: four deltas) to ``totals`` unless a rule breaks."""
        new: dict[int, Totals] = {}
        for account_id, delta in changes:
            old = new.get(account_id, totals[account_id])
            new[account_id] = tuple(a + b for a, b in zip(old, delta, strict=True))
        if any(breaks_rule(self.accounts[i], t) for i, t in new.items()):
            return Refuse(InsufficientFunds)
        return Accept(new)

    def judge_entry(
        self,
        request: EntryRequest,
        totals: Mapping[int, Totals],
        keys: Mapping[str, tuple[Payload, Any]],
    ) -> Verdict:
        if request.key in keys:
            payload, entry_id = keys[request.key]
            return (
                Replay(entry_id)
                if payload == entry_payload(request)
                else Refuse(IdempotencyConflict)
            )
        problem = self.shape_problem(request.postings)
        if problem is not None:
            return Refuse(problem)
        return self.moved(
            totals, [(p.account_id, posted_delta(p.amount)) for p in request.postings]
        )

    def judge_hold(self, request: HoldRequest, now: datetime) -> Verdict | int:
        """A verdict, or the id of the hold an identical earlier request placed."""
        payload = hold_payload(request)
        if request.key in self.hold_keys:
            prior, hold_id = self.hold_keys[request.key]
            return hold_id if prior == payload else Refuse(IdempotencyConflict)
        debit, credit, amount = request.debit_account_id, request.credit_account_id, request.amount
        problem = self.shape_problem([Posting(debit, amount), Posting(credit, -amount)])
        if problem is None and debit == credit:
            problem = EntryRejected
        if problem is None and request.expires_at is not None and request.expires_at <= now:
            problem = HoldNotPending
        if problem is not None:
            return Refuse(problem)
        return self.moved(self.totals, [(debit, (0, 0, amount, 0)), (credit, (0, 0, 0, amount))])

    def judge_post_hold(self, hold_id: int, key: str, amount: int | None, now: datetime) -> Verdict:
        held = self.holds.get(hold_id)
        if held is None:
            return Refuse(UnknownHold)
        planned = held.amount if amount is None else amount
        if key in self.entry_keys:  # a replay (or a conflict) is answered before anything else
            request = hold_post_request(key, held, planned)
            return self.judge_entry(request, self.totals, self.entry_keys)
        problem = capture_problem(held, amount, now)
        if problem is not None:
            return Refuse(problem)
        return self.moved(
            self.totals,
            [
                (held.debit, (planned, 0, -held.amount, 0)),
                (held.credit, (0, planned, 0, -held.amount)),
            ],
        )

    def release(self, hold_id: int, status: HoldStatus) -> None:
        held = self.holds[hold_id]
        held.status = status
        dp, cp, dq, cq = self.totals[held.debit]
        self.totals[held.debit] = (dp, cp, dq - held.amount, cq)
        dp, cp, dq, cq = self.totals[held.credit]
        self.totals[held.credit] = (dp, cp, dq, cq - held.amount)


def posted_delta(amount: int) -> Totals:
    return (amount, 0, 0, 0) if amount > 0 else (0, -amount, 0, 0)


def hold_payload(request: HoldRequest) -> Payload:
    return (
        request.debit_account_id,
        request.credit_account_id,
        request.amount,
        request.expires_at,
        request.memo,
    )


def capture_problem(held: HeldFunds, amount: int | None, now: datetime) -> type[HuoqiError] | None:
    """Why ``amount`` of ``held`` cannot be posted at ``now`` (``None``: all of it)."""
    if held.status is not HoldStatus.PENDING:
        return HoldNotPending
    if held.expires_at is not None and now >= held.expires_at:
        return HoldExpired
    if amount is not None and (not is_amount(amount) or amount < 0):
        return InvalidAmount
    if amount is not None and amount > held.amount:
        return HoldExceeded
    return None


def hold_post_request(key: str, held: HeldFunds, amount: int) -> EntryRequest:
    postings = (Posting(held.debit, amount), Posting(held.credit, -amount))
    return EntryRequest(key, postings, held.memo, "hold_post")


def reversal_request(key: str, entry_id: int, postings: Sequence[Posting]) -> EntryRequest:
    opposite = tuple(Posting(p.account_id, -p.amount) for p in postings)
    return EntryRequest(key, opposite, f"reversal of entry {entry_id}", "reversal")


def attempt(call: Callable[[], Any]) -> Any:
    """The call's result, or the refusal it raised. Anything else is a failure of the test."""
    try:
        return call()
    except HuoqiError as error:
        return error


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


# --- strategies ------------------------------------------------------------------------------

amounts = st.one_of(st.integers(1, 500), st.integers(501, 60_000))
signed_amounts = st.builds(lambda a, negative: -a if negative else a, amounts, st.booleans())


@st.composite
def balanced_postings(draw: st.DrawFn, ids: Sequence[int]) -> list[Posting]:
    """Two to four postings on ``ids`` (repeats allowed) summing to zero."""
    count = draw(st.integers(2, 4))
    postings = [Posting(draw(st.sampled_from(ids)), draw(signed_amounts)) for _ in range(count - 1)]
    rest = -sum(p.amount for p in postings)
    if rest:
        postings.append(Posting(draw(st.sampled_from(ids)), rest))
    return postings


@st.composite
def entry_requests(draw: st.DrawFn, books: Books, key: str) -> EntryRequest:
    shape = draw(
        st.sampled_from(
            ["balanced"] * 5
            + ["purchase", "unbalanced", "mixed", "unknown", "zero", "too_big", "single"]
        )
    )
    asset = draw(st.sampled_from([CNY, FUND]))
    other = FUND if asset == CNY else CNY
    postings = draw(balanced_postings(books.ids_of(asset)))
    if shape == "purchase":  # cash in and shares out, each balanced on its own
        postings += draw(balanced_postings(books.ids_of(other)))
    elif shape == "unbalanced":
        last = postings[-1]
        delta = draw(st.integers(1, 500))
        postings[-1] = Posting(
            last.account_id, last.amount + (2 * delta if last.amount == -delta else delta)
        )
    elif shape == "mixed":
        postings = [
            Posting(draw(st.sampled_from(books.ids_of(asset))), postings[0].amount),
            Posting(draw(st.sampled_from(books.ids_of(other))), -postings[0].amount),
        ]
    elif shape in ("unknown", "zero", "too_big"):
        index = draw(st.integers(0, len(postings) - 1))
        account_id, amount = postings[index].account_id, postings[index].amount
        if shape == "unknown":
            account_id = UNKNOWN_ID
        else:
            amount = 0 if shape == "zero" else MAX_AMOUNT + 1
        postings[index] = Posting(account_id, amount)
    elif shape == "single":
        postings = postings[:1]
    memo = draw(st.sampled_from(["", "top-up", "mall order 1001"]))
    kind = draw(st.sampled_from(["transfer", "transfer", "fee"]))
    return EntryRequest(key, tuple(postings), memo, kind)


@st.composite
def hold_requests(draw: st.DrawFn, books: Books, key: str, now: datetime) -> HoldRequest:
    shape = draw(
        st.sampled_from(["ok"] * 6 + ["zero", "other_asset", "unknown", "same_account", "past"])
    )
    asset = draw(st.sampled_from([CNY, FUND]))
    debit = draw(st.sampled_from(books.ids_of(asset)))
    credit = draw(st.sampled_from([i for i in books.ids_of(asset) if i != debit]))
    if shape == "other_asset":
        credit = draw(st.sampled_from(books.ids_of(FUND if asset == CNY else CNY)))
    elif shape in ("unknown", "same_account"):
        credit = UNKNOWN_ID if shape == "unknown" else debit
    amount = 0 if shape == "zero" else draw(amounts)
    minutes = draw(
        st.integers(-5, 0) if shape == "past" else st.one_of(st.none(), st.integers(1, 120))
    )
    expires_at = None if minutes is None else now + timedelta(minutes=minutes)
    memo = draw(st.sampled_from(["", "mall order 2002"]))
    return HoldRequest(key, debit, credit, amount, expires_at, memo)


# --- the machine -----------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    """Subclassed per database with ``engine`` set (see `machine_on`)."""

    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"run{next(_runs)}"
        self.clock = FakeClock(START)
        self.ledger = Ledger(self.engine, clock=self.clock)
        self.books = Books()
        self.counter = itertools.count(1)

    def fresh_key(self) -> str:
        return f"{self.prefix}-k{next(self.counter)}"

    def any_key(self, data: st.DataObject, used: Mapping[str, object]) -> str:
        """A fresh key most of the time, sometimes one already used (by anything)."""
        if used and data.draw(st.integers(0, 4)) == 0:
            return data.draw(st.sampled_from(sorted(used)))
        return self.fresh_key()

    def open(self, name: str, asset: str, kind: AccountKind, **options: Any) -> Opened:
        code = f"{self.prefix}:{name}"
        account = self.ledger.open_account(code, asset=asset, kind=kind, **options)
        rule = options.get("rule") or expected_rule(kind)
        limit = options.get("overdraft_limit", 0)
        assert (account.code, account.asset, account.kind, account.rule) == (
            code,
            asset,
            kind,
            rule,
        )
        assert account.overdraft_limit == limit
        opened = Opened(account.id, asset, rule, limit)
        self.books.accounts[account.id] = opened
        self.books.totals[account.id] = (0, 0, 0, 0)
        return opened

    def id_of(self, name: str) -> int:
        return self.ledger.account(f"{self.prefix}:{name}").id

    @initialize()
    def open_the_books(self) -> None:
        fund = self.ledger.add_asset(FUND, scale=2, name="a money fund's shares (0.01 share)")
        assert (fund.code, fund.scale) == (FUND, 2)
        self.open("bank", CNY, AccountKind.ASSET)
        self.open("capital", CNY, AccountKind.EQUITY)
        self.open("fees", CNY, AccountKind.INCOME)
        self.open("alice", CNY, AccountKind.LIABILITY)
        self.open("bob", CNY, AccountKind.LIABILITY, overdraft_limit=5_000)
        self.open("shares:custody", FUND, AccountKind.ASSET)
        self.open("shares:issued", FUND, AccountKind.EQUITY)
        self.open("alice:shares", FUND, AccountKind.LIABILITY)
        # Opening balances: the bank holds the capital and the customers' deposits, the
        # fund's custody account holds the shares issued to the platform and to Alice.
        for debit, credits in (
            ("bank", {"capital": 200_000, "alice": 200_000, "bob": 100_000}),
            ("shares:custody", {"shares:issued": 200_000, "alice:shares": 100_000}),
        ):
            lines = [(debit, sum(credits.values())), *((c, -a) for c, a in credits.items())]
            postings = tuple(Posting(self.id_of(code), amount) for code, amount in lines)
            request = EntryRequest(self.fresh_key(), postings, "opening balances")
            verdict = self.books.judge_entry(request, self.books.totals, self.books.entry_keys)
            assert isinstance(verdict, Accept)
            self.settle(request, verdict, self.ledger.post(request))

    # --- accounts --------------------------------------------------------------------------

    @rule(
        asset=st.sampled_from([CNY, FUND]),
        kind=st.sampled_from(list(AccountKind)),
        overdraft_limit=st.one_of(st.just(0), st.integers(1, 20_000)),
        unlimited=st.booleans(),
    )
    def open_account(
        self, asset: str, kind: AccountKind, overdraft_limit: int, unlimited: bool
    ) -> None:
        name = f"acct{next(self.counter)}"
        rule = BalanceRule.UNLIMITED if unlimited else None
        opened = self.open(name, asset, kind, rule=rule, overdraft_limit=overdraft_limit)
        code = f"{self.prefix}:{name}"
        again = self.ledger.open_account(
            code, asset=asset, kind=kind, rule=rule, overdraft_limit=overdraft_limit
        )
        assert again.id == opened.id, "reopening with the same settings returns the account"
        other = attempt(
            lambda: self.ledger.open_account(
                code, asset=asset, kind=kind, rule=rule, overdraft_limit=overdraft_limit + 1
            )
        )
        assert type(other) is AccountExists, other

    # --- entries ---------------------------------------------------------------------------

    def settle(self, request: EntryRequest, verdict: Verdict, outcome: Any) -> None:
        """Compare the ledger's answer with the model's and record what was accepted."""
        if isinstance(verdict, Refuse):
            assert type(outcome) is verdict.error, f"{request} -> {outcome!r}, not {verdict}"
            assert str(outcome), "a refusal says what was wrong"
            return
        if isinstance(verdict, Replay):
            assert outcome == Posted(verdict.entry_id, replayed=True), f"{request} -> {outcome!r}"
            return
        assert isinstance(outcome, Posted), f"{request} -> {outcome!r}, expected acceptance"
        assert not outcome.replayed
        assert outcome.entry_id not in self.books.entries
        self.books.totals.update(verdict.totals)
        self.books.entry_keys[request.key] = (entry_payload(request), outcome.entry_id)
        self.books.entries[outcome.entry_id] = request.postings

    @rule(data=st.data())
    def post_entry(self, data: st.DataObject) -> None:
        key = self.any_key(data, self.books.entry_keys)
        request = data.draw(entry_requests(self.books, key))
        verdict = self.books.judge_entry(request, self.books.totals, self.books.entry_keys)
        self.settle(request, verdict, attempt(lambda: self.ledger.post(request)))

    @precondition(lambda self: self.books.entry_keys)
    @rule(data=st.data())
    def replay_entry(self, data: st.DataObject) -> None:
        """The same key and payload (postings in any order) answers with the first entry."""
        key = data.draw(st.sampled_from(sorted(self.books.entry_keys)))
        (kind, memo, lines), entry_id = self.books.entry_keys[key]
        shuffled = data.draw(st.permutations([Posting(*line) for line in lines]))
        request = EntryRequest(key, tuple(shuffled), memo, kind)
        outcome = attempt(lambda: self.ledger.post(request))
        assert outcome == Posted(entry_id, replayed=True), outcome

    @rule(data=st.data(), size=st.integers(2, 5), atomic=st.booleans(), repeat=st.booleans())
    def post_batch(self, data: st.DataObject, size: int, atomic: bool, repeat: bool) -> None:
        requests = [
            data.draw(entry_requests(self.books, self.any_key(data, self.books.entry_keys)))
            for _ in range(size)
        ]
        if repeat:  # the same request twice in one batch, or its key with another payload
            first = requests[0]
            memo = data.draw(st.sampled_from([first.memo, first.memo + " (edited)"]))
            requests.append(EntryRequest(first.key, first.postings[::-1], memo, first.kind))
        totals = dict(self.books.totals)
        keys: dict[str, tuple[Payload, Any]] = dict(self.books.entry_keys)
        verdicts: list[Verdict] = []
        for index, request in enumerate(requests):
            verdict = self.books.judge_entry(request, totals, keys)
            verdicts.append(verdict)
            if isinstance(verdict, Accept):
                totals.update(verdict.totals)
                keys[request.key] = (entry_payload(request), BatchRef(index))
        outcome = attempt(lambda: self.ledger.post_many(requests, atomic=atomic))
        refusals = [v for v in verdicts if isinstance(v, Refuse)]
        if atomic and refusals:
            assert type(outcome) is refusals[0].error, f"atomic batch -> {outcome!r}"
            return
        assert isinstance(outcome, list) and len(outcome) == len(requests), outcome
        ids: dict[int, int] = {}
        for index, (request, predicted, result) in enumerate(
            zip(requests, verdicts, outcome, strict=True)
        ):
            verdict = predicted
            if isinstance(predicted, Replay) and isinstance(predicted.entry_id, BatchRef):
                verdict = Replay(ids[predicted.entry_id.index])
            self.settle(request, verdict, result)
            if isinstance(verdict, Accept):
                ids[index] = result.entry_id

    @rule(data=st.data())
    def reverse_entry(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from([*sorted(self.books.entries), UNKNOWN_ID]))
        key = self.any_key(data, self.books.entry_keys)
        outcome = attempt(lambda: self.ledger.reverse(entry_id, key=key))
        if entry_id == UNKNOWN_ID:
            assert type(outcome) is UnknownEntry, outcome
            return
        request = reversal_request(key, entry_id, self.books.entries[entry_id])
        verdict: Verdict
        if key not in self.books.entry_keys and entry_id in self.books.reversed:
            verdict = Refuse(AlreadyReversed)
        else:
            verdict = self.books.judge_entry(request, self.books.totals, self.books.entry_keys)
        self.settle(request, verdict, outcome)
        if isinstance(verdict, Accept):
            self.books.reversed.add(entry_id)

    # --- holds -----------------------------------------------------------------------------

    @rule(data=st.data())
    def place_hold(self, data: st.DataObject) -> None:
        key = self.any_key(data, self.books.hold_keys)
        if key in self.books.hold_keys and data.draw(st.booleans()):
            (debit, credit, amount, expires_at, memo), _ = self.books.hold_keys[key]
            request = HoldRequest(key, debit, credit, amount, expires_at, memo)
        else:
            request = data.draw(hold_requests(self.books, key, self.clock.now))
        verdict = self.books.judge_hold(request, self.clock.now)
        outcome = attempt(lambda: self.ledger.hold(request))
        if isinstance(verdict, int):
            assert isinstance(outcome, Hold) and outcome.id == verdict, outcome
            assert outcome.status is self.books.holds[verdict].status
            return
        if isinstance(verdict, Refuse):
            assert type(outcome) is verdict.error, f"{request} -> {outcome!r}, not {verdict}"
            return
        assert isinstance(outcome, Hold), f"{request} -> {outcome!r}, expected a hold"
        assert outcome.id not in self.books.holds
        assert (outcome.status, outcome.amount, outcome.expires_at) == (
            HoldStatus.PENDING,
            request.amount,
            request.expires_at,
        )
        self.books.totals.update(verdict.totals)
        self.books.hold_keys[key] = (hold_payload(request), outcome.id)
        self.books.holds[outcome.id] = HeldFunds(
            request.debit_account_id,
            request.credit_account_id,
            request.amount,
            request.expires_at,
            request.memo,
        )

    def pending_holds(self) -> list[int]:
        return [i for i, held in self.books.holds.items() if held.status is HoldStatus.PENDING]

    def pick_hold(self, data: st.DataObject) -> int:
        """Mostly a pending hold; sometimes any hold, or one that does not exist."""
        pending = self.pending_holds()
        anything = st.sampled_from([*sorted(self.books.holds), UNKNOWN_ID])
        return data.draw(st.one_of(st.sampled_from(pending), anything) if pending else anything)

    @precondition(lambda self: self.pending_holds())
    @rule(data=st.data())
    def post_hold(self, data: st.DataObject) -> None:
        hold_id = self.pick_hold(data)
        held = self.books.holds.get(hold_id)
        size = held.amount if held else 100
        amount = data.draw(
            st.one_of(
                st.none(),
                st.integers(1, size),
                st.integers(size + 1, size + 1_000),
                st.sampled_from([0, -size]),
            )
        )
        key = self.any_key(data, self.books.entry_keys)
        verdict = self.books.judge_post_hold(hold_id, key, amount, self.clock.now)
        outcome = attempt(lambda: self.ledger.post_hold(hold_id, key=key, amount=amount))
        if held is None:
            assert type(outcome) is UnknownHold, outcome
            return
        request = hold_post_request(key, held, held.amount if amount is None else amount)
        self.settle(request, verdict, outcome)
        if isinstance(verdict, Accept):
            held.status = HoldStatus.POSTED
            stored = self.ledger.get_hold(hold_id)
            assert stored is not None and stored.posted_amount == request.postings[0].amount

    @precondition(lambda self: self.books.holds)
    @rule(data=st.data())
    def void_hold(self, data: st.DataObject) -> None:
        hold_id = self.pick_hold(data)
        outcome = attempt(lambda: self.ledger.void_hold(hold_id))
        held = self.books.holds.get(hold_id)
        if held is None:
            assert type(outcome) is UnknownHold, outcome
        elif held.status in (HoldStatus.PENDING, HoldStatus.VOIDED):
            assert isinstance(outcome, Hold) and outcome.status is HoldStatus.VOIDED, outcome
            if held.status is HoldStatus.PENDING:
                self.books.release(hold_id, HoldStatus.VOIDED)
        else:
            assert type(outcome) is HoldNotPending, outcome

    @rule(minutes=st.integers(1, 90))
    def advance_clock(self, minutes: int) -> None:
        self.clock.now += timedelta(minutes=minutes)

    @precondition(lambda self: self.pending_holds())
    @rule()
    def expire_holds(self) -> None:
        due = [
            hold_id
            for hold_id, held in self.books.holds.items()
            if held.status is HoldStatus.PENDING
            and held.expires_at is not None
            and held.expires_at <= self.clock.now
        ]
        assert self.ledger.expire_holds() == len(due)
        for hold_id in due:
            self.books.release(hold_id, HoldStatus.EXPIRED)

    # --- what must always hold -------------------------------------------------------------

    @invariant()
    def books_agree_with_the_model(self) -> None:
        stored: dict[int, tuple[Account, Totals]] = {}
        after = 0
        while page := self.ledger.accounts(after_id=after, limit=100):
            for account, balance in page:
                stored[account.id] = (
                    account,
                    (
                        balance.debits_posted,
                        balance.credits_posted,
                        balance.debits_pending,
                        balance.credits_pending,
                    ),
                )
            after = page[-1][0].id
        per_asset: dict[str, list[int]] = {}
        for account, totals in stored.values():
            sums = per_asset.setdefault(account.asset, [0, 0, 0, 0])
            for index, value in enumerate(totals):
                sums[index] += value
            assert not breaks_rule(account, totals), f"{account.code} breaks its rule: {totals}"
        for asset, (debits, credits, debits_pending, credits_pending) in per_asset.items():
            assert debits == credits, f"{asset}: debits {debits} != credits {credits}"
            assert debits_pending == credits_pending, f"{asset}: pending sides differ"
        for account_id, totals in self.books.totals.items():
            assert stored[account_id][1] == totals, f"account {account_id}: {stored[account_id]}"
        report = self.ledger.trial_balance(deep=True)
        assert report.ok, report.problems

    @invariant()
    def holds_agree_with_the_model(self) -> None:
        for hold_id, held in self.books.holds.items():
            stored = self.ledger.get_hold(hold_id)
            assert stored is not None and stored.status is held.status, (hold_id, stored, held)

    def teardown(self) -> None:
        # Leave no pending hold behind: the next run's expire_holds counts only its own.
        for hold_id, held in self.books.holds.items():
            if held.status is HoldStatus.PENDING:
                self.ledger.void_hold(hold_id)


def machine_on(engine: Engine) -> type[LedgerMachine]:
    name = f"LedgerMachineOn{engine.dialect.name.capitalize()}"
    return type(name, (LedgerMachine,), {"engine": engine})


def test_the_ledger_behaves_like_its_model(engine: Engine) -> None:
    run_state_machine_as_test(
        machine_on(engine),
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
