"""The ledger's pure core: accounts, balances, balance rules, journal entries and holds.

Design overview
---------------
Every movement of value is one journal entry of two or more postings. A posting's amount
is a signed integer in the minor units of its account's asset: positive is a debit,
negative a credit. An entry balances when, for every asset, its postings sum to zero.
Entries are append-only; a mistake is undone by a reversing entry.

Each account keeps four running totals, all non-negative: ``debits_posted`` and
``credits_posted`` (the sums of its postings' two sides) and ``debits_pending`` and
``credits_pending`` (the sums of its open holds). A balance rule bounds them:

* ``debits_must_not_exceed_credits`` for credit-normal accounts such as a customer's
  wallet (a liability of the platform): ``debits_posted + debits_pending`` may exceed
  ``credits_posted`` by at most the overdraft limit (0 by default: no overdraft);
* ``credits_must_not_exceed_debits``, the mirror rule for debit-normal accounts such as the
  platform's bank account (an asset);
* ``unlimited`` for accounts that may swing either way (equity, clearing accounts).

Pending amounts count against the rule, so a hold reserves funds: once held they cannot
be spent twice. A hold is later posted (in full or in part: the rest is released), voided,
or it expires.

This module imports nothing but the standard library and the money helpers: everything
here is a plain function over plain data, and the database layer calls it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from huoqi.errors import HuoqiError
from huoqi.ledger.errors import (
    AssetMismatch,
    BalanceOverflow,
    EntryRejected,
    HoldExceeded,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    UnbalancedEntry,
    UnknownAccount,
)
from huoqi.money import INT64_MAX, MAX_AMOUNT, InvalidAmount

MAX_KEY_LENGTH = 128
MAX_MEMO_LENGTH = 500


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> Side:
        """The side on which this kind of account grows."""
        return Side.DEBIT if self in (AccountKind.ASSET, AccountKind.EXPENSE) else Side.CREDIT


class BalanceRule(StrEnum):
    UNLIMITED = "unlimited"
    DEBITS_MUST_NOT_EXCEED_CREDITS = "debits_must_not_exceed_credits"
    CREDITS_MUST_NOT_EXCEED_DEBITS = "credits_must_not_exceed_debits"

    @classmethod
    def default_for(cls, kind: AccountKind) -> BalanceRule:
        """No overdraft on the normal side, except equity, which may turn negative."""
        if kind is AccountKind.EQUITY:
            return cls.UNLIMITED
        if kind.normal_side is Side.CREDIT:
            return cls.DEBITS_MUST_NOT_EXCEED_CREDITS
        return cls.CREDITS_MUST_NOT_EXCEED_DEBITS


@dataclass(frozen=True, slots=True)
class Asset:
    """Something the ledger counts: a currency or one fund's shares.

    ``scale`` is the number of decimals of the minor unit (2 for CNY fen and for 0.01 share).
    """

    code: str
    scale: int = 2
    name: str = ""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    code: str
    asset: str
    kind: AccountKind
    rule: BalanceRule
    overdraft_limit: int = 0


@dataclass(slots=True)
class Balance:
    """The four running totals of one account, in minor units."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def net_posted(self) -> int:
        """Posted debits minus posted credits (debit-positive)."""
        return self.debits_posted - self.credits_posted

    def posted_on_normal_side(self, kind: AccountKind) -> int:
        """What a person calls the balance: positive when the account holds value."""
        net = self.net_posted
        return net if kind.normal_side is Side.DEBIT else -net

    def available(self, account: Account) -> int | None:
        """How much more the rule lets leave the account now; ``None`` if unlimited."""
        if account.rule is BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS:
            return (
                self.credits_posted
                + account.overdraft_limit
                - self.debits_posted
                - self.debits_pending
            )
        if account.rule is BalanceRule.CREDITS_MUST_NOT_EXCEED_DEBITS:
            return (
                self.debits_posted
                + account.overdraft_limit
                - self.credits_posted
                - self.credits_pending
            )
        return None


def rule_breach(account: Account, balance: Balance) -> str | None:
    """Describe how ``balance`` breaks ``account``'s rule, or return ``None`` if it does not."""
    available = balance.available(account)
    if available is not None and available < 0:
        limit = (
            f" beyond its overdraft limit of {account.overdraft_limit}"
            if (account.overdraft_limit)
            else ""
        )
        return (
            f"account {account.code} would be short by {-available} minor units{limit} "
            f"({account.rule.value})"
        )
    for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending"):
        value = getattr(balance, name)
        if value < 0:
            return f"account {account.code} would have negative {name} ({value})"
        if value > INT64_MAX:
            return f"account {account.code} would overflow {name}"
    return None


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry: a signed amount (debit positive) on one account."""

    account_id: int
    amount: int


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """A journal entry as a client asks for it, with its idempotency key."""

    key: str
    postings: tuple[Posting, ...]
    memo: str = ""
    kind: str = "transfer"

    def fingerprint(self) -> bytes:
        """Digest of the payload; posting order does not matter, every amount does.

        The canonical form lists ``account:amount`` in sorted order. A two-line transfer,
        the batch path's common case, is put in order by hand (same text, half the time).
        """
        postings = self.postings
        if len(postings) == 2:
            first, second = postings
            a, x, b, y = first.account_id, first.amount, second.account_id, second.amount
            lines = f"{a}:{x},{b}:{y}" if (a, x) <= (b, y) else f"{b}:{y},{a}:{x}"
        else:
            lines = ",".join(
                f"{a}:{x}" for a, x in sorted((p.account_id, p.amount) for p in postings)
            )
        text = f"entry\x1f{self.kind}\x1f{self.memo}\x1f{lines}"
        return hashlib.blake2b(text.encode(), digest_size=16).digest()


def transfer(
    key: str, *, debit: int, credit: int, amount: int, memo: str = "", kind: str = "transfer"
) -> EntryRequest:
    """A two-posting entry moving ``amount`` from ``debit``'s side to ``credit``'s side."""
    return EntryRequest(key, (Posting(debit, amount), Posting(credit, -amount)), memo, kind)


def fingerprint(*parts: object) -> bytes:
    """A 16-byte digest of a request's canonical form, stored beside its idempotency key."""
    text = "\x1f".join(str(part) for part in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise EntryRejected(
            f"idempotency key must be 1 to {MAX_KEY_LENGTH} printable characters, got {key!r}"
        )
    return key


def check_memo(memo: object) -> str:
    if not isinstance(memo, str) or len(memo) > MAX_MEMO_LENGTH:
        raise EntryRejected(f"memo must be text of at most {MAX_MEMO_LENGTH} characters")
    return memo


def check_posting_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(
            f"posting amount must be an integer number of minor units, not {type(amount).__name__}"
        )
    if amount == 0:
        raise InvalidAmount("posting amount is zero; every posting must move something")
    if abs(amount) > MAX_AMOUNT:
        raise InvalidAmount(
            f"posting amount {amount} is above the limit of {MAX_AMOUNT} minor units"
        )
    return amount


def entry_problems(request: EntryRequest, accounts: Mapping[int, Account]) -> list[HuoqiError]:
    """Everything wrong with the shape of ``request``; empty when it may be applied.

    Checks the key, the memo, each amount, that each account exists, and that the postings
    balance per asset. Balance rules are checked when the entry is applied. The common,
    valid case runs straight through; errors are built only when something is wrong.
    """
    key, memo, postings = request.key, request.memo, request.postings
    if len(postings) == 2:  # a plain transfer, the batch path's common case, in one test
        first, second = postings
        amount = first.amount
        debit, credit = accounts.get(first.account_id), accounts.get(second.account_id)
        if (
            type(amount) is int
            and type(second.amount) is int
            and amount == -second.amount
            and 0 < abs(amount) <= MAX_AMOUNT
            and debit is not None
            and credit is not None
            and debit.asset == credit.asset
            and type(key) is str
            and 0 < len(key) <= MAX_KEY_LENGTH
            and key.isprintable()
            and type(memo) is str
            and len(memo) <= MAX_MEMO_LENGTH
        ):
            return []
    return _entry_problems_in_full(request, accounts)


def _entry_problems_in_full(
    request: EntryRequest, accounts: Mapping[int, Account]
) -> list[HuoqiError]:
    key, memo = request.key, request.memo
    problems: list[HuoqiError] = []
    if not (isinstance(key, str) and 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
        problems.append(_error_of(check_key, key))
    if not (isinstance(memo, str) and len(memo) <= MAX_MEMO_LENGTH):
        problems.append(_error_of(check_memo, memo))
    if len(request.postings) < 2:
        problems.append(EntryRejected("an entry needs at least two postings"))
    sums: dict[str, int] = {}
    for posting in request.postings:
        amount = posting.amount
        if type(amount) is not int or amount == 0 or not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
            problems.append(_error_of(check_posting_amount, amount))
            continue
        account = accounts.get(posting.account_id)
        if account is None:
            problems.append(
                UnknownAccount(
                    f"account {posting.account_id} does not exist", account=posting.account_id
                )
            )
            continue
        sums[account.asset] = sums.get(account.asset, 0) + amount
    off = {asset: total for asset, total in sums.items() if total}
    if off:
        problems.append(_imbalance(sums, off))
    return problems


def _error_of(check: Callable[[object], object], value: object) -> HuoqiError:
    try:
        check(value)
    except HuoqiError as error:
        return error
    raise AssertionError(f"{check.__name__} accepted {value!r}")


def _imbalance(sums: Mapping[str, int], off: dict[str, int]) -> HuoqiError:
    if len(sums) > 1:
        return AssetMismatch(
            "postings mix assets "
            + ", ".join(sorted(sums))
            + " and do not balance within each: an entry may only move one asset "
            "between accounts of that asset",
            imbalance=off,
        )
    ((asset, total),) = off.items()
    return UnbalancedEntry(
        f"debits and credits differ by {total} minor units of {asset}", imbalance=off
    )


def breaks_rule(account: Account, balance: Balance) -> bool:
    """Fast test of `rule_breach` for the hot path (totals only grow when posting)."""
    rule = account.rule
    if rule is BalanceRule.DEBITS_MUST_NOT_EXCEED_CREDITS:
        if (
            balance.debits_posted + balance.debits_pending
            > balance.credits_posted + account.overdraft_limit
        ):
            return True
    elif rule is BalanceRule.CREDITS_MUST_NOT_EXCEED_DEBITS and (
        balance.credits_posted + balance.credits_pending
        > balance.debits_posted + account.overdraft_limit
    ):
        return True
    return balance.debits_posted > INT64_MAX or balance.credits_posted > INT64_MAX


def apply_postings(
    balances: dict[int, Balance],
    accounts: Mapping[int, Account],
    postings: Iterable[Posting],
) -> None:
    """Add ``postings`` to ``balances`` if no touched account breaks its rule; else raise.

    On failure ``balances`` is left exactly as it was.
    """
    if type(postings) is tuple and len(postings) == 2:  # a plain transfer: no lists
        first, second = postings
        if first.account_id != second.account_id:
            one, other = balances[first.account_id], balances[second.account_id]
            _add(one, first.amount)
            _add(other, second.amount)
            if not (
                breaks_rule(accounts[first.account_id], one)
                or breaks_rule(accounts[second.account_id], other)
            ):
                return
            _undo_postings(balances, [first, second])
            # the general path applies them again and names the breach
    _apply_in_full(balances, accounts, postings)


def _apply_in_full(
    balances: dict[int, Balance],
    accounts: Mapping[int, Account],
    postings: Iterable[Posting],
) -> None:
    applied: list[Posting] = []
    for posting in postings:
        _add(balances[posting.account_id], posting.amount)
        applied.append(posting)
    for posting in applied:
        account = accounts[posting.account_id]
        balance = balances[posting.account_id]
        if breaks_rule(account, balance):
            breach = rule_breach(account, balance) or f"account {account.code} breaks its rule"
            _undo_postings(balances, applied)
            error = BalanceOverflow if "overflow" in breach else InsufficientFunds
            raise error(breach, account=account.code)


def _add(balance: Balance, amount: int) -> None:
    """Post ``amount`` (debit positive) to ``balance``."""
    if amount > 0:
        balance.debits_posted += amount
    else:
        balance.credits_posted -= amount


def _undo_postings(balances: dict[int, Balance], applied: list[Posting]) -> None:
    for posting in applied:
        balance = balances[posting.account_id]
        if posting.amount > 0:
            balance.debits_posted -= posting.amount
        else:
            balance.credits_posted += posting.amount


def reversal_of(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """The postings that undo ``postings``: same accounts, opposite signs."""
    return tuple(Posting(p.account_id, -p.amount) for p in postings)


# --- two-phase transfers ------------------------------------------------------------------


class HoldStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class HoldRequest:
    """Reserve ``amount`` to move from ``debit_account_id`` to ``credit_account_id``."""

    key: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    expires_at: datetime | None = None
    memo: str = ""

    def fingerprint(self) -> bytes:
        expires = self.expires_at.isoformat() if self.expires_at else ""
        return fingerprint(
            "hold", self.debit_account_id, self.credit_account_id, self.amount, expires, self.memo
        )


@dataclass(frozen=True, slots=True)
class Hold:
    id: int
    key: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    status: HoldStatus
    expires_at: datetime | None
    memo: str = ""
    posted_amount: int | None = None
    resolution_entry_id: int | None = None


def hold_problems(request: HoldRequest, accounts: Mapping[int, Account]) -> list[HuoqiError]:
    """Everything wrong with the shape of a hold request."""
    amount = request.amount
    if type(amount) is int and amount < 0:
        return [
            InvalidAmount(f"hold amount {amount} is negative; a hold reserves a positive amount")
        ]
    entry = transfer(
        request.key,
        debit=request.debit_account_id,
        credit=request.credit_account_id,
        amount=request.amount,
        memo=request.memo,
    )
    problems = entry_problems(entry, accounts)
    if request.debit_account_id == request.credit_account_id:
        problems.append(EntryRejected("a hold needs two different accounts"))
    return problems


def reserve(
    balances: dict[int, Balance], accounts: Mapping[int, Account], hold: HoldRequest
) -> None:
    """Count a new hold as pending on both accounts, or raise if a rule would break."""
    debit = balances[hold.debit_account_id]
    credit = balances[hold.credit_account_id]
    debit.debits_pending += hold.amount
    credit.credits_pending += hold.amount
    for account_id in (hold.debit_account_id, hold.credit_account_id):
        breach = rule_breach(accounts[account_id], balances[account_id])
        if breach is not None:
            debit.debits_pending -= hold.amount
            credit.credits_pending -= hold.amount
            raise InsufficientFunds(breach, account=accounts[account_id].code)


def release(balances: dict[int, Balance], hold: Hold) -> None:
    """Remove a hold's pending amounts (when it is posted, voided or expires)."""
    balances[hold.debit_account_id].debits_pending -= hold.amount
    balances[hold.credit_account_id].credits_pending -= hold.amount


def amount_to_post(hold: Hold, amount: int | None, now: datetime) -> int:
    """Validate posting ``amount`` (all of it when ``None``) of ``hold`` at ``now``."""
    if hold.status is not HoldStatus.PENDING:
        raise HoldNotPending(f"hold {hold.id} is {hold.status.value}, not pending", hold=hold.id)
    if is_expired(hold, now):
        raise HoldExpired(f"hold {hold.id} expired at {hold.expires_at}", hold=hold.id)
    if amount is None:
        return hold.amount
    check_posting_amount(amount)
    if amount < 0:
        raise InvalidAmount(f"amount {amount} is negative; amounts are always positive")
    if amount > hold.amount:
        raise HoldExceeded(
            f"cannot post {amount}: hold {hold.id} reserves only {hold.amount}", hold=hold.id
        )
    return amount


def is_expired(hold: Hold, now: datetime) -> bool:
    return hold.expires_at is not None and now >= hold.expires_at
