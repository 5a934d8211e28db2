"""The pure ledger core: entry shape checks, balance rules and holds, without a database."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huoqi.errors import HuoqiError
from huoqi.ledger import domain
from huoqi.ledger.domain import (
    Account,
    AccountKind,
    Balance,
    BalanceRule,
    EntryRequest,
    Hold,
    HoldRequest,
    HoldStatus,
    Posting,
    amount_to_post,
    apply_postings,
    entry_problems,
    release,
    reserve,
    rule_breach,
    transfer,
)
from huoqi.ledger.errors import (
    AssetMismatch,
    EntryRejected,
    HoldExceeded,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    UnbalancedEntry,
    UnknownAccount,
)
from huoqi.money import MAX_AMOUNT, InvalidAmount

BANK = Account(
    1, "platform:bank", "CNY", AccountKind.ASSET, BalanceRule.CREDITS_MUST_NOT_EXCEED_DEBITS
)
ALICE = Account(
    2, "alice", "CNY", AccountKind.LIABILITY, BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS
)
BO = Account(3, "bo", "CNY", AccountKind.LIABILITY, BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS, 500)
EQUITY = Account(4, "equity", "CNY", AccountKind.EQUITY, BalanceRule.UNLIMITED)
SHARES = Account(5, "alice:shares", "MMF", AccountKind.LIABILITY, BalanceRule.UNLIMITED)
ACCOUNTS = {a.id: a for a in (BANK, ALICE, BO, EQUITY, SHARES)}
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def fresh() -> dict[int, Balance]:
    return {account_id: Balance() for account_id in ACCOUNTS}


def test_default_rules_forbid_overdraft_on_the_normal_side() -> None:
    assert (
        BalanceRule.default_for(AccountKind.LIABILITY) is BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS
    )
    assert BalanceRule.default_for(AccountKind.INCOME) is BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS
    assert BalanceRule.default_for(AccountKind.ASSET) is BalanceRule.CREDITS_MUST_NOT_EXCEED_DEBITS
    assert (
        BalanceRule.default_for(AccountKind.EXPENSE) is BalanceRule.CREDITS_MUST_NOT_EXCEED_DEBITS
    )
    assert BalanceRule.default_for(AccountKind.EQUITY) is BalanceRule.UNLIMITED


def test_a_top_up_then_a_spend_within_the_balance() -> None:
    balances = fresh()
    apply_postings(balances, ACCOUNTS, transfer("t1", debit=1, credit=2, amount=10_000).postings)
    apply_postings(balances, ACCOUNTS, transfer("t2", debit=2, credit=3, amount=10_000).postings)
    assert balances[2].posted_on_normal_side(AccountKind.LIABILITY) == 0
    assert balances[3].posted_on_normal_side(AccountKind.LIABILITY) == 10_000
    assert balances[1].posted_on_normal_side(AccountKind.ASSET) == 10_000


def test_one_fen_too_many_is_refused_and_changes_nothing() -> None:
    balances = fresh()
    apply_postings(balances, ACCOUNTS, transfer("t1", debit=1, credit=2, amount=10_000).postings)
    before = {k: Balance(**{f: getattr(v, f) for f in v.__slots__}) for k, v in balances.items()}
    with pytest.raises(InsufficientFunds, match="short by 1 minor units"):
        apply_postings(
            balances, ACCOUNTS, transfer("t2", debit=2, credit=3, amount=10_001).postings
        )
    assert balances == before


def test_overdraft_up_to_the_limit_and_not_beyond() -> None:
    balances = fresh()
    apply_postings(balances, ACCOUNTS, transfer("t1", debit=3, credit=4, amount=500).postings)
    assert balances[3].available(BO) == 0
    with pytest.raises(InsufficientFunds, match="overdraft limit of 500"):
        apply_postings(balances, ACCOUNTS, transfer("t2", debit=3, credit=4, amount=1).postings)


def test_the_mirror_rule_stops_an_asset_account_going_below_zero() -> None:
    balances = fresh()
    with pytest.raises(InsufficientFunds):
        apply_postings(balances, ACCOUNTS, transfer("t", debit=2, credit=1, amount=1).postings)


def test_entry_shape_problems_are_all_reported() -> None:
    bad = EntryRequest("", (Posting(2, 0),), memo="x" * 501)
    kinds = {type(problem) for problem in entry_problems(bad, ACCOUNTS)}
    assert kinds == {EntryRejected, InvalidAmount}


@pytest.mark.parametrize(
    ("postings", "error"),
    [
        ((Posting(1, 100), Posting(2, -99)), UnbalancedEntry),
        ((Posting(1, 100), Posting(5, -100)), AssetMismatch),
        ((Posting(1, 100), Posting(99, -100)), UnknownAccount),
        ((Posting(1, MAX_AMOUNT + 1), Posting(2, -MAX_AMOUNT - 1)), InvalidAmount),
        ((Posting(1, 1.5), Posting(2, -1.5)), InvalidAmount),  # type: ignore[arg-type]
        ((Posting(1, True), Posting(2, -1)), InvalidAmount),
    ],
)
def test_bad_entries_are_named(postings: tuple[Posting, ...], error: type[Exception]) -> None:
    problems = entry_problems(EntryRequest("k", postings), ACCOUNTS)
    assert any(isinstance(problem, error) for problem in problems), problems


def test_a_balanced_multi_asset_entry_is_accepted() -> None:
    purchase = EntryRequest(
        "buy",
        (
            Posting(2, 300),
            Posting(1, -300),
            Posting(4, 0 + 1),
            Posting(4, -1),
            Posting(5, -7),
            Posting(5, 7),
        ),
    )
    assert entry_problems(purchase, ACCOUNTS) == []


def test_fingerprint_ignores_posting_order_but_not_amounts_or_memo() -> None:
    a = EntryRequest("k", (Posting(1, 5), Posting(2, -5)), "m")
    b = EntryRequest("k", (Posting(2, -5), Posting(1, 5)), "m")
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != EntryRequest("k", (Posting(1, 6), Posting(2, -6)), "m").fingerprint()
    assert a.fingerprint() != EntryRequest("k", a.postings, "other").fingerprint()


@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(-(10**12), 10**12).filter(bool)),
        min_size=2,
        max_size=4,
    ),
    st.randoms(use_true_random=False),
)
def test_fingerprint_is_the_same_for_every_order_of_the_lines(
    lines: list[tuple[int, int]], rng: random.Random
) -> None:
    shuffled = lines[:]
    rng.shuffle(shuffled)
    first = EntryRequest("k", tuple(Posting(a, x) for a, x in lines), "m")
    again = EntryRequest("k", tuple(Posting(a, x) for a, x in shuffled), "m")
    assert first.fingerprint() == again.fingerprint()
    # the two-line shortcut writes the same canonical text as the general form
    canonical = ",".join(f"{a}:{x}" for a, x in sorted(lines))
    expected = hashlib.blake2b(f"entry\x1ftransfer\x1fm\x1f{canonical}".encode(), digest_size=16)
    assert first.fingerprint() == expected.digest()


def test_a_hold_reserves_funds_that_cannot_be_spent_twice() -> None:
    balances = fresh()
    apply_postings(balances, ACCOUNTS, transfer("t", debit=1, credit=2, amount=1_000).postings)
    reserve(balances, ACCOUNTS, HoldRequest("h", 2, 4, 800))
    assert balances[2].available(ALICE) == 200
    with pytest.raises(InsufficientFunds):
        apply_postings(balances, ACCOUNTS, transfer("t2", debit=2, credit=4, amount=201).postings)
    with pytest.raises(InsufficientFunds):
        reserve(balances, ACCOUNTS, HoldRequest("h2", 2, 4, 201))
    hold = Hold(1, "h", 2, 4, 800, HoldStatus.PENDING, None)
    release(balances, hold)
    assert balances[2].available(ALICE) == 1_000


def test_posting_a_hold_checks_status_expiry_and_amount() -> None:
    hold = Hold(7, "h", 2, 4, 800, HoldStatus.PENDING, NOW + timedelta(minutes=15))
    assert amount_to_post(hold, None, NOW) == 800
    assert amount_to_post(hold, 300, NOW) == 300
    with pytest.raises(HoldExceeded, match="reserves only 800"):
        amount_to_post(hold, 801, NOW)
    with pytest.raises(HoldExpired):
        amount_to_post(hold, None, NOW + timedelta(minutes=15))
    with pytest.raises(HoldNotPending, match="voided"):
        amount_to_post(Hold(7, "h", 2, 4, 800, HoldStatus.VOIDED, None), None, NOW)
    with pytest.raises(InvalidAmount):
        amount_to_post(hold, 0, NOW)


def test_rule_breach_reports_overflow() -> None:
    assert rule_breach(EQUITY, Balance(debits_posted=2**63)) is not None


amounts = st.integers(min_value=1, max_value=5_000)
moves = st.lists(st.tuples(st.sampled_from([1, 2, 3, 4]), st.sampled_from([1, 2, 3, 4]), amounts))


@given(moves)
def test_applying_any_sequence_conserves_money_and_never_breaks_a_rule(
    sequence: list[tuple[int, int, int]],
) -> None:
    balances = fresh()
    for debit, credit, amount in sequence:
        if debit == credit:
            continue
        before = {k: (v.debits_posted, v.credits_posted) for k, v in balances.items()}
        try:
            apply_postings(
                balances,
                ACCOUNTS,
                transfer("t", debit=debit, credit=credit, amount=amount).postings,
            )
        except InsufficientFunds:
            assert {k: (v.debits_posted, v.credits_posted) for k, v in balances.items()} == before
        assert sum(b.net_posted for b in balances.values()) == 0
        for account_id, account in ACCOUNTS.items():
            assert rule_breach(account, balances[account_id]) is None


AMOUNTS = st.one_of(
    st.integers(-(MAX_AMOUNT + 2), MAX_AMOUNT + 2),
    st.sampled_from([0, 1, -1, MAX_AMOUNT, -MAX_AMOUNT, True, 1.5, "5"]),
)


@given(
    st.tuples(st.integers(0, 6), st.integers(0, 6)),
    st.tuples(AMOUNTS, st.one_of(st.none(), AMOUNTS)),
    st.one_of(st.text(max_size=130), st.sampled_from(["k", "", "a\nb", "x" * 129])),
    st.one_of(st.text(max_size=3), st.just("m" * 501)),
)
def test_the_plain_transfer_shortcut_finds_exactly_what_the_full_checks_find(
    accounts: tuple[int, int], amounts: tuple[object, object], key: str, memo: str
) -> None:
    """Two-posting entries take a one-test shortcut; it may pass only what passes in full."""
    (debit, credit), (amount, other) = accounts, amounts
    opposite = -amount if other is None and type(amount) is int else other
    request = EntryRequest(key, (Posting(debit, amount), Posting(credit, opposite)), memo)  # type: ignore[arg-type]
    quick = [type(problem) for problem in entry_problems(request, ACCOUNTS)]
    full = [type(problem) for problem in domain._entry_problems_in_full(request, ACCOUNTS)]
    assert quick == full


@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=5, max_size=5),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(-(10**6), 10**6).filter(bool),
)
def test_the_plain_transfer_shortcut_applies_exactly_like_the_full_path(
    totals: list[tuple[int, int]], debit: int, credit: int, amount: int
) -> None:
    """Same balances afterwards, and the same refusal (leaving them untouched) or none."""
    postings = (Posting(debit, amount), Posting(credit, -amount))

    def outcome(apply: Callable[..., None]) -> tuple[object, dict[int, Balance]]:
        balances = {n + 1: Balance(d, c) for n, (d, c) in enumerate(totals)}
        try:
            apply(balances, ACCOUNTS, postings)
        except HuoqiError as error:
            return (type(error), str(error)), balances
        return None, balances

    assert outcome(apply_postings) == outcome(domain._apply_in_full)
