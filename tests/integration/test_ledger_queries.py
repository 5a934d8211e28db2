"""Reading the books: balances as of past business dates, history pages, the trial balance,
and the migrations that build the tables.

The story: Alice tops up 100.00 CNY on the first business date, pays the Mall 30.00 on the
next, and after a weekend pays 15.00 more, tops up 5.00 and has her first payment reversed.
A 20.00 hold for another order stays pending throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

import huoqi.audit.tables
import huoqi.credit.tables
import huoqi.fund.tables
import huoqi.identity.tables
import huoqi.ledger.tables
import huoqi.payments.tables
import huoqi.web.tables  # noqa: F401  (puts every feature's tables on the metadata)
from huoqi.db.metadata import metadata
from huoqi.ledger.domain import AccountKind, Balance, EntryRequest, HoldRequest, Posting, transfer
from huoqi.ledger.service import Ledger


@dataclass
class Story:
    ledger: Ledger
    day0: date
    bank: int
    alice: int
    mall: int
    fees: int


def open_books(engine: Engine) -> Story:
    ledger = Ledger(engine)
    return Story(
        ledger,
        ledger.business_date(),
        ledger.open_account("platform:bank", kind=AccountKind.ASSET).id,
        ledger.open_account("customer:alice", kind=AccountKind.LIABILITY).id,
        ledger.open_account("merchant:mall", kind=AccountKind.LIABILITY).id,
        ledger.open_account("platform:fees", kind=AccountKind.INCOME).id,
    )


@pytest.fixture
def story(engine: Engine) -> Story:
    s = open_books(engine)
    ledger = s.ledger
    ledger.post(transfer("topup-1", debit=s.bank, credit=s.alice, amount=10_000))
    ledger.advance_business_date(s.day0 + timedelta(days=1))
    first = ledger.post(transfer("order-1", debit=s.alice, credit=s.mall, amount=3_000))
    ledger.hold(HoldRequest("order-2", s.alice, s.mall, 2_000))
    ledger.advance_business_date(s.day0 + timedelta(days=4))  # after a weekend
    ledger.post(transfer("order-3", debit=s.alice, credit=s.mall, amount=1_500))
    ledger.post(transfer("topup-2", debit=s.bank, credit=s.alice, amount=500))
    ledger.reverse(first.entry_id, key="refund-1")
    return s


def test_a_past_balance_shows_the_books_as_they_were_that_day(story: Story) -> None:
    ledger, alice, day0 = story.ledger, story.alice, story.day0

    def on(days: int) -> Balance:
        return ledger.balance(alice, as_of=day0 + timedelta(days=days))

    assert on(-1) == Balance(0, 0)  # before the account was used
    assert on(0) == Balance(debits_posted=0, credits_posted=10_000)
    assert on(1) == Balance(debits_posted=3_000, credits_posted=10_000)
    assert on(2) == on(3) == on(1)  # nothing happened over the weekend
    # The refund on day 4 corrects day 1 by a new entry; day 1 itself is not rewritten.
    assert on(4) == Balance(debits_posted=4_500, credits_posted=13_500)
    assert on(30) == on(4)
    # Holds are not history: only today's balance shows the pending 20.00.
    assert ledger.balance(alice) == Balance(4_500, 13_500, 2_000, 0)
    assert ledger.balance(story.mall, as_of=day0 + timedelta(days=1)) == Balance(0, 3_000)
    assert ledger.balance(story.mall, as_of=day0 + timedelta(days=4)) == Balance(3_000, 4_500)


def test_entries_carry_the_business_date_not_the_wall_clock(story: Story) -> None:
    history = story.ledger.history(story.alice, limit=10)
    dates = [(line.kind, line.amount, line.business_date) for line in history.lines]
    day0 = story.day0
    assert dates == [
        ("reversal", -3_000, day0 + timedelta(days=4)),
        ("transfer", -500, day0 + timedelta(days=4)),
        ("transfer", 1_500, day0 + timedelta(days=4)),
        ("transfer", 3_000, day0 + timedelta(days=1)),
        ("transfer", -10_000, day0),
    ]


def test_history_pages_cover_every_line_exactly_once(engine: Engine) -> None:
    s = open_books(engine)
    ledger = s.ledger
    ledger.post(transfer("topup-0", debit=s.bank, credit=s.alice, amount=50_000))
    for n in range(1, 21):
        if n % 3 == 0:  # a payment with a platform fee: three postings
            lines = (Posting(s.alice, 1_000 + n), Posting(s.mall, -1_000), Posting(s.fees, -n))
            ledger.post(EntryRequest(f"pay-{n}", lines, f"order {n} with fee"))
        elif n % 3 == 1:
            ledger.post(transfer(f"pay-{n}", debit=s.alice, credit=s.mall, amount=700 * n))
        else:
            ledger.post(transfer(f"topup-{n}", debit=s.bank, credit=s.alice, amount=100 * n))
    hold = ledger.hold(HoldRequest("order-h", s.alice, s.mall, 2_500))
    ledger.post_hold(hold.id, key="capture-h", amount=2_000)
    with engine.connect() as connection:
        expected = connection.execute(
            text("SELECT id, amount FROM postings WHERE account_id = :a ORDER BY id DESC"),
            {"a": s.alice},
        ).all()
    assert len(expected) == 22

    pages, cursor = [], None
    while True:
        page = ledger.history(s.alice, before=cursor, limit=5)
        pages.append(page.lines)
        if page.next_cursor is None:
            break
        if len(pages) == 2:  # a payment arrives while Alice scrolls
            ledger.post(transfer("late", debit=s.bank, credit=s.alice, amount=123))
        cursor = page.next_cursor

    assert [len(lines) for lines in pages] == [5, 5, 5, 5, 2]
    lines = [line for page_lines in pages for line in page_lines]
    assert [(line.posting_id, line.amount) for line in lines] == [tuple(r) for r in expected]
    # balance_after is the debit-positive posted balance right after each posting.
    running = 0
    for line in reversed(lines):
        running += line.amount
        assert line.balance_after == running, line
    assert lines[0].balance_after == ledger.balance(s.alice).net_posted + 123


def test_pages_that_divide_the_history_exactly_end_without_a_cursor(engine: Engine) -> None:
    s = open_books(engine)
    for n in range(10):
        s.ledger.post(transfer(f"t{n}", debit=s.bank, credit=s.alice, amount=100 + n))
    first = s.ledger.history(s.alice, limit=5)
    second = s.ledger.history(s.alice, before=first.next_cursor, limit=5)
    assert first.next_cursor == first.lines[-1].posting_id
    assert second.next_cursor is None
    assert [line.amount for line in first.lines + second.lines] == [
        -(100 + n) for n in reversed(range(10))
    ]
    assert second.lines[-1].balance_after == -100


def test_the_trial_balance_adds_up_each_asset(story: Story) -> None:
    ledger = story.ledger
    ledger.add_asset("MMF.000198", name="money fund shares")
    custody = ledger.open_account("fund:custody", asset="MMF.000198", kind=AccountKind.ASSET)
    shares = ledger.open_account(
        "customer:alice:shares", asset="MMF.000198", kind=AccountKind.LIABILITY
    )
    ledger.post(transfer("buy-1", debit=custody.id, credit=shares.id, amount=7_700))

    report = ledger.trial_balance(deep=True)
    assert report.ok, report.problems
    totals = {t.asset: t for t in report.totals}
    cny, fund = totals["CNY"], totals["MMF.000198"]
    # CNY debits: bank 105.00, Alice 45.00 (30.00 + 15.00), Mall 30.00 (the refund).
    assert (cny.debits, cny.credits) == (18_000, 18_000)
    assert (cny.debits_pending, cny.credits_pending) == (2_000, 2_000)
    assert cny.accounts == 4
    assert (fund.debits, fund.credits, fund.accounts) == (7_700, 7_700, 2)


def test_the_trial_balance_reports_books_that_do_not_balance(story: Story, engine: Engine) -> None:
    """A balance changed around the ledger (allowed by the rule) is caught, not hidden."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = :id"),
            {"id": story.mall},
        )
    shallow = story.ledger.trial_balance()
    assert not shallow.ok
    assert shallow.problems == ["CNY: debits 18000 != credits 18001"]
    deep = story.ledger.trial_balance(deep=True)
    assert any(p.startswith("account merchant:mall: totals") for p in deep.problems)


def test_the_deep_trial_balance_proves_each_account_s_posting_chain(
    story: Story, engine: Engine
) -> None:
    """An account whose head no longer names its last posting loses part of its history
    to a reader walking the chain; the deep check says so."""
    assert story.ledger.trial_balance(deep=True).ok
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE accounts SET last_posting_id = ("
                " SELECT MIN(id) FROM postings WHERE account_id = :id) WHERE id = :id"
            ),
            {"id": story.alice},
        )
    deep = story.ledger.trial_balance(deep=True)
    assert not deep.ok
    assert any("do not form one chain" in p and "alice" in p for p in deep.problems)
    assert story.ledger.trial_balance().ok  # the totals themselves still add up


def test_the_migrations_build_exactly_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
