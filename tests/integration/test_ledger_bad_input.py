"""Bad requests are refused with the right error, a clear message, and no trace in the books.

The story: a platform's bank account, capital and fee income in CNY; Alice and Bob with
100.00 CNY each in their wallets and the Mall waiting to be paid; Alice also holds fund
shares. Alice has a pending 30.00 CNY hold for a Mall order that expires in 15 minutes.
Every case below tries something wrong, and the rows of every ledger table and every
account's four totals must be exactly as before.

The last tests go around the ledger with raw SQL: the database itself refuses to change
or delete journal rows, to store a balance its rule forbids and, on PostgreSQL, to commit
an entry that does not balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from huoqi.db.engine import make_engine
from huoqi.errors import HuoqiError
from huoqi.ledger.domain import AccountKind, EntryRequest, HoldRequest, Posting, transfer
from huoqi.ledger.errors import (
    AccountExists,
    AlreadyReversed,
    AssetMismatch,
    BalanceOverflow,
    EntryRejected,
    HoldExceeded,
    HoldExpired,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidBusinessDate,
    UnbalancedEntry,
    UnknownAccount,
    UnknownAsset,
    UnknownEntry,
    UnknownHold,
)
from huoqi.ledger.service import Ledger
from huoqi.money import MAX_AMOUNT, InvalidAmount, parse_amount

FUND = "MMF.000198"
NOWHERE = 987_654_321
START = datetime(2025, 7, 1, 2, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Books:
    ledger: Ledger
    clock: FakeClock
    bank: int
    capital: int
    reserve: int
    fees: int
    alice: int
    bob: int
    mall: int
    custody: int
    alice_shares: int
    topup: int  # the entry that paid 100.00 into Alice's wallet
    bob_topup: int  # and into Bob's
    order_hold: int  # Alice's pending 30.00 for the Mall


@pytest.fixture
def books(engine: Engine) -> Books:
    clock = FakeClock(START)
    ledger = Ledger(engine, clock=clock)
    ledger.add_asset(FUND, scale=2, name="money fund shares")

    def open_(code: str, kind: AccountKind, asset: str = "CNY") -> int:
        return ledger.open_account(code, asset=asset, kind=kind).id

    bank = open_("platform:bank", AccountKind.ASSET)
    capital = open_("platform:capital", AccountKind.EQUITY)
    reserve = open_("platform:reserve", AccountKind.EQUITY)
    fees = open_("platform:fees", AccountKind.INCOME)
    alice = open_("customer:alice", AccountKind.LIABILITY)
    bob = open_("customer:bob", AccountKind.LIABILITY)
    mall = open_("merchant:mall", AccountKind.LIABILITY)
    custody = open_("fund:custody", AccountKind.ASSET, FUND)
    alice_shares = open_("customer:alice:shares", AccountKind.LIABILITY, FUND)
    topup = ledger.post(transfer("topup-alice", debit=bank, credit=alice, amount=10_000))
    bob_topup = ledger.post(transfer("topup-bob", debit=bank, credit=bob, amount=10_000))
    ledger.post(transfer("shares-alice", debit=custody, credit=alice_shares, amount=5_000))
    order = ledger.hold(
        HoldRequest("order-1", alice, mall, 3_000, START + timedelta(minutes=15), "order 1")
    )
    return Books(
        ledger,
        clock,
        bank,
        capital,
        reserve,
        fees,
        alice,
        bob,
        mall,
        custody,
        alice_shares,
        topup.entry_id,
        bob_topup.entry_id,
        order.id,
    )


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything a refused request could have touched."""
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("assets", "accounts", "entries", "postings", "holds")
        }
        totals = connection.execute(
            text(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending "
                "FROM accounts ORDER BY id"
            )
        ).all()
        holds = connection.execute(
            text("SELECT id, status, posted_amount FROM holds ORDER BY id")
        ).all()
        business_date = connection.execute(text("SELECT business_date FROM ledger_state")).one()
    return {
        "counts": counts,
        "totals": [tuple(row) for row in totals],
        "holds": [tuple(row) for row in holds],
        "business_date": tuple(business_date),
    }


def pay_mall(books: Books, amount: Any, key: str = "pay-1") -> EntryRequest:
    """Alice pays the Mall ``amount`` (whatever the caller passes, right or wrong)."""
    refund = "-" + amount if isinstance(amount, str) else -amount
    return EntryRequest(key, (Posting(books.alice, amount), Posting(books.mall, refund)))


Act = Callable[[Books], object]


@dataclass(frozen=True)
class Case:
    act: Act
    error: type[HuoqiError]
    says: str
    before: Act | None = None  # what happens (and is written) before the snapshot


def post(build: Callable[[Books], EntryRequest]) -> Act:
    return lambda b: b.ledger.post(build(b))


def hold(debit: str, credit: str, amount: object, minutes: int | None = 10) -> Act:
    def act(b: Books) -> object:
        expires = None if minutes is None else b.clock.now + timedelta(minutes=minutes)
        request = HoldRequest("hold-x", getattr(b, debit), getattr(b, credit), amount, expires)
        return b.ledger.hold(request)

    return act


def capture(amount: object, key: str = "capture-1") -> Act:
    return lambda b: b.ledger.post_hold(b.order_hold, key=key, amount=amount)


def later(minutes: int) -> Act:
    def act(b: Books) -> None:
        b.clock.now += timedelta(minutes=minutes)

    return act


def many_maximal_postings(b: Books) -> EntryRequest:
    """9,300 postings of the largest amount: each is fine, their sum passes 2**63."""
    count = 9_300
    lines = [Posting(b.capital, MAX_AMOUNT)] * count + [Posting(b.reserve, -MAX_AMOUNT)] * count
    return EntryRequest("overflow-1", tuple(lines))


CASES: dict[str, Case] = {
    # amounts
    "zero posting": Case(post(lambda b: pay_mall(b, 0)), InvalidAmount, "zero"),
    "zero transfer": Case(
        post(lambda b: transfer("t0", debit=b.alice, credit=b.mall, amount=0)),
        InvalidAmount,
        "zero",
    ),
    "zero hold": Case(hold("alice", "mall", 0), InvalidAmount, "zero"),
    # A negative hold must be refused as an amount, whatever else is pending on the accounts.
    "negative hold": Case(hold("bob", "fees", -500), InvalidAmount, "negative"),
    "negative hold beside a pending one": Case(
        hold("alice", "mall", -500), InvalidAmount, "negative"
    ),
    "zero capture": Case(capture(0), InvalidAmount, "zero"),
    "negative capture": Case(capture(-500), InvalidAmount, "negative"),
    "fraction of a fen": Case(
        post(lambda b: pay_mall(b, parse_amount("1.001"))), InvalidAmount, "fraction of a fen"
    ),
    "amount text above the limit": Case(
        post(lambda b: pay_mall(b, parse_amount("10000000000000.01"))),
        InvalidAmount,
        "above the limit",
    ),
    "posting above the limit": Case(
        post(lambda b: pay_mall(b, MAX_AMOUNT + 1)), InvalidAmount, "above the limit"
    ),
    "posting of 2**63": Case(post(lambda b: pay_mall(b, 2**63)), InvalidAmount, "above the limit"),
    "hold of 2**63": Case(hold("alice", "mall", 2**63), InvalidAmount, "above the limit"),
    "capture of 2**63": Case(capture(2**63), InvalidAmount, "above the limit"),
    "balance beyond 64 bits": Case(post(many_maximal_postings), BalanceOverflow, "overflow"),
    "float amount": Case(post(lambda b: pay_mall(b, 12.5)), InvalidAmount, "float"),
    "bool amount": Case(post(lambda b: pay_mall(b, True)), InvalidAmount, "bool"),
    "Decimal amount": Case(post(lambda b: pay_mall(b, Decimal("1.00"))), InvalidAmount, "Decimal"),
    "text amount": Case(post(lambda b: pay_mall(b, "100")), InvalidAmount, "str"),
    "float hold": Case(hold("alice", "mall", 30.0), InvalidAmount, "float"),
    "bool capture": Case(capture(True), InvalidAmount, "bool"),
    # shape
    "unknown account": Case(
        post(lambda b: transfer("t1", debit=b.alice, credit=NOWHERE, amount=100)),
        UnknownAccount,
        str(NOWHERE),
    ),
    "hold on an unknown account": Case(
        lambda b: b.ledger.hold(HoldRequest("hold-x", NOWHERE, b.mall, 100)),
        UnknownAccount,
        str(NOWHERE),
    ),
    "cash paid with fund shares": Case(
        post(lambda b: transfer("t2", debit=b.alice_shares, credit=b.mall, amount=100)),
        AssetMismatch,
        "mix assets",
    ),
    "hold across assets": Case(
        lambda b: b.ledger.hold(HoldRequest("hold-x", b.alice_shares, b.mall, 100)),
        AssetMismatch,
        "mix assets",
    ),
    "unbalanced entry": Case(
        post(
            lambda b: EntryRequest(
                "t3", (Posting(b.alice, 1_000), Posting(b.mall, -900), Posting(b.fees, -99))
            )
        ),
        UnbalancedEntry,
        "differ by 1 minor units of CNY",
    ),
    "single posting": Case(
        post(lambda b: EntryRequest("t4", (Posting(b.alice, 100),))),
        EntryRejected,
        "at least two postings",
    ),
    "empty idempotency key": Case(
        post(lambda b: transfer("", debit=b.alice, credit=b.mall, amount=100)),
        EntryRejected,
        "idempotency key",
    ),
    "hold from an account to itself": Case(
        lambda b: b.ledger.hold(HoldRequest("hold-x", b.alice, b.alice, 100)),
        EntryRejected,
        "two different accounts",
    ),
    # rules
    "overdraft": Case(post(lambda b: pay_mall(b, 7_001)), InsufficientFunds, "short by 1"),
    "hold beyond what is left": Case(hold("alice", "mall", 7_001), InsufficientFunds, "short by 1"),
    "bank paying out more than it holds": Case(
        post(lambda b: transfer("t5", debit=b.capital, credit=b.bank, amount=20_001)),
        InsufficientFunds,
        "short by 1",
    ),
    # holds
    "capture more than held": Case(capture(3_001), HoldExceeded, "reserves only 3000"),
    "capture after expiry, before the sweep": Case(
        capture(None), HoldExpired, "expired", later(15)
    ),
    "capture after the sweep expired it": Case(
        capture(None),
        HoldNotPending,
        "expired, not pending",
        lambda b: (later(16)(b), b.ledger.expire_holds()),
    ),
    "capture a voided hold": Case(
        capture(1_000), HoldNotPending, "voided", lambda b: b.ledger.void_hold(b.order_hold)
    ),
    "capture twice under new keys": Case(
        capture(1_000, key="capture-2"),
        HoldNotPending,
        "posted, not pending",
        capture(2_000),
    ),
    "void a posted hold": Case(
        lambda b: b.ledger.void_hold(b.order_hold), HoldNotPending, "posted", capture(2_000)
    ),
    "capture an unknown hold": Case(
        lambda b: b.ledger.post_hold(NOWHERE, key="capture-9"), UnknownHold, str(NOWHERE)
    ),
    "hold that has already expired": Case(
        hold("alice", "mall", 100, minutes=0), HoldNotPending, "already past"
    ),
    # idempotency
    "entry key reused for another payment": Case(
        post(lambda b: transfer("topup-alice", debit=b.bank, credit=b.alice, amount=10_001)),
        IdempotencyConflict,
        "topup-alice",
    ),
    "hold key reused for another amount": Case(
        lambda b: b.ledger.hold(
            HoldRequest("order-1", b.alice, b.mall, 3_001, START + timedelta(minutes=15), "order 1")
        ),
        IdempotencyConflict,
        "order-1",
    ),
    "capture key reused for another amount": Case(
        capture(1_001), IdempotencyConflict, "capture-1", capture(1_000)
    ),
    # reversals
    "reverse twice": Case(
        lambda b: b.ledger.reverse(b.bob_topup, key="undo-again"),
        AlreadyReversed,
        "already reversed",
        lambda b: b.ledger.reverse(b.bob_topup, key="undo"),
    ),
    "reverse an unknown entry": Case(
        lambda b: b.ledger.reverse(NOWHERE, key="undo-x"), UnknownEntry, str(NOWHERE)
    ),
    "reverse a top-up already spent": Case(
        lambda b: b.ledger.reverse(b.topup, key="undo"),
        InsufficientFunds,
        "customer:alice",
        lambda b: b.ledger.post(pay_mall(b, 5_000)),
    ),
    # business date and accounts
    "business date going back": Case(
        lambda b: b.ledger.advance_business_date(b.ledger.business_date() - timedelta(days=1)),
        InvalidBusinessDate,
        "cannot go back",
    ),
    "account in an unknown asset": Case(
        lambda b: b.ledger.open_account("customer:carol", asset="USD", kind=AccountKind.LIABILITY),
        UnknownAsset,
        "USD",
    ),
    "negative overdraft limit": Case(
        lambda b: b.ledger.open_account(
            "customer:carol", kind=AccountKind.LIABILITY, overdraft_limit=-1
        ),
        InvalidAmount,
        "overdraft limit",
    ),
    "account reopened with other settings": Case(
        lambda b: b.ledger.open_account("customer:alice", kind=AccountKind.ASSET),
        AccountExists,
        "customer:alice",
    ),
    "atomic batch with one bad entry": Case(
        lambda b: b.ledger.post_many(
            [
                transfer("b1", debit=b.alice, credit=b.mall, amount=1_000),
                transfer("b2", debit=b.bob, credit=b.mall, amount=50_000),
            ],
            atomic=True,
        ),
        InsufficientFunds,
        "customer:bob",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_refusal_names_the_problem_and_writes_nothing(
    books: Books, engine: Engine, case: Case
) -> None:
    if case.before is not None:
        case.before(books)
    before = snapshot(engine)
    with pytest.raises(HuoqiError) as refused:
        case.act(books)
    assert type(refused.value) is case.error, repr(refused.value)
    assert case.says in str(refused.value), str(refused.value)
    assert snapshot(engine) == before
    assert books.ledger.trial_balance(deep=True).ok


def test_a_batch_posts_the_good_entries_and_reports_the_bad(books: Books, engine: Engine) -> None:
    before = snapshot(engine)
    outcomes = books.ledger.post_many(
        [
            transfer("b1", debit=books.alice, credit=books.mall, amount=1_000),
            transfer("b2", debit=books.bob, credit=books.mall, amount=50_000),
            transfer("b3", debit=books.bob, credit=books.mall, amount=2_000),
        ]
    )
    assert [type(outcome).__name__ for outcome in outcomes] == [
        "Posted",
        "InsufficientFunds",
        "Posted",
    ]
    after = snapshot(engine)
    assert after["counts"]["entries"] == before["counts"]["entries"] + 2
    assert after["counts"]["postings"] == before["counts"]["postings"] + 4
    assert books.ledger.balance(books.mall).credits_posted == 3_000
    assert books.ledger.balance(books.bob).debits_posted == 2_000


# --- the database as the second guard --------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount = amount + 1",
        "DELETE FROM postings",
        "UPDATE entries SET memo = 'corrected'",
        "DELETE FROM entries",
    ],
)
def test_the_journal_is_append_only(books: Books, engine: Engine, statement: str) -> None:
    before = snapshot(engine)
    with pytest.raises(IntegrityError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert snapshot(engine) == before


@pytest.mark.postgres
def test_postgres_refuses_to_truncate_the_journal(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        for table in ("entries", "postings"):
            with pytest.raises(IntegrityError, match="append-only"), engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {table} CASCADE"))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("account", "change", "constraint"),
    [
        ("alice", "debits_posted = credits_posted + 1", "debits_within_credits"),
        ("alice", "debits_pending = credits_posted - debits_posted + 1", "debits_within_credits"),
        ("bank", "credits_posted = debits_posted + 1", "credits_within_debits"),
        ("capital", "credits_pending = -1", "totals_non_negative"),
    ],
)
def test_the_database_refuses_a_balance_that_breaks_its_rule(
    books: Books, engine: Engine, account: str, change: str, constraint: str
) -> None:
    before = snapshot(engine)
    with pytest.raises(IntegrityError, match=constraint), engine.begin() as connection:
        connection.execute(
            text(f"UPDATE accounts SET {change} WHERE id = :id"), {"id": getattr(books, account)}
        )
    assert snapshot(engine) == before


def _raw_entry(connection: Any, key: str, business_date: date) -> int:
    return int(
        connection.execute(
            text(
                "INSERT INTO entries (idempotency_key, fingerprint, kind, memo, business_date, "
                "created_at) VALUES (:key, :fp, 'transfer', 'raw', :day, :at) RETURNING id"
            ),
            {"key": key, "fp": b"\0" * 16, "day": business_date, "at": START},
        ).scalar_one()
    )


def _raw_posting(connection: Any, entry_id: int, account_id: int, amount: int, day: date) -> None:
    connection.execute(
        text(
            "INSERT INTO postings (entry_id, account_id, amount, business_date) "
            "VALUES (:entry, :account, :amount, :day)"
        ),
        {"entry": entry_id, "account": account_id, "amount": amount, "day": day},
    )


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_entry_at_commit(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        ledger = Ledger(engine)
        alice = ledger.open_account("customer:alice", kind=AccountKind.LIABILITY).id
        mall = ledger.open_account("merchant:mall", kind=AccountKind.LIABILITY).id
        day = ledger.business_date()

        connection = engine.connect()
        transaction = connection.begin()
        entry_id = _raw_entry(connection, "raw-1", day)
        _raw_posting(connection, entry_id, alice, 100, day)
        _raw_posting(connection, entry_id, mall, -99, day)  # each insert is accepted ...
        with pytest.raises(IntegrityError, match=f"journal entry {entry_id} does not balance"):
            transaction.commit()  # ... the deferred trigger refuses the whole entry at commit
        connection.close()

        with engine.connect() as check:
            assert check.execute(text("SELECT count(*) FROM entries")).scalar_one() == 0
            assert check.execute(text("SELECT count(*) FROM postings")).scalar_one() == 0

        # Posted one line at a time, a balanced entry commits: the check waits for the end.
        # It went around the ledger, so the deep trial balance sees totals the postings lack.
        with engine.begin() as connection:
            entry_id = _raw_entry(connection, "raw-2", day)
            _raw_posting(connection, entry_id, alice, 100, day)
            _raw_posting(connection, entry_id, mall, -100, day)
        report = ledger.trial_balance(deep=True)
        assert not report.ok
        assert any("customer:alice" in problem for problem in report.problems), report.problems
    finally:
        engine.dispose()


def test_the_deep_trial_balance_catches_an_unbalanced_entry_written_around_the_ledger(
    sqlite_url: str,
) -> None:
    """SQLite has no deferred trigger: the deep check is what finds such an entry."""
    engine = make_engine(sqlite_url)
    try:
        ledger = Ledger(engine)
        alice = ledger.open_account("customer:alice", kind=AccountKind.LIABILITY).id
        day = ledger.business_date()
        assert ledger.trial_balance(deep=True).ok
        with engine.begin() as connection:
            entry_id = _raw_entry(connection, "raw-1", day)
            _raw_posting(connection, entry_id, alice, -100, day)
        report = ledger.trial_balance(deep=True)
        assert f"entry {entry_id}: CNY postings sum to -100, not 0" in report.problems
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_checks_a_large_entry_as_a_whole(pg_url: str) -> None:
    """The deferred check runs once per entry: a 20,000-line entry is checked in full."""
    engine = make_engine(pg_url)
    try:
        ledger = Ledger(engine)
        pool = ledger.open_account("platform:pool", kind=AccountKind.EQUITY).id
        day = ledger.business_date()
        lines = 20_000
        for last_line, refused in ((-lines + 1, True), (-lines, False)):
            connection = engine.connect()
            transaction = connection.begin()
            entry_id = _raw_entry(connection, f"bulk-{refused}", day)
            connection.execute(
                text(
                    "INSERT INTO postings (entry_id, account_id, amount, business_date) "
                    "SELECT :entry, :account, 1, :day FROM generate_series(1, :n)"
                ),
                {"entry": entry_id, "account": pool, "day": day, "n": lines},
            )
            _raw_posting(connection, entry_id, pool, last_line, day)  # the last line decides
            if refused:
                with pytest.raises(IntegrityError, match=f"entry {entry_id} does not balance"):
                    transaction.commit()
            else:
                transaction.commit()
            connection.close()
        with engine.connect() as check:
            assert check.execute(text("SELECT count(*) FROM postings")).scalar_one() == lines + 1
    finally:
        engine.dispose()
