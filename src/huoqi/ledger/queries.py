"""Read models: balances now and as of a business date, account history, trial balance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, case, func, select

from huoqi.ledger import repository as repo
from huoqi.ledger.domain import Balance, HoldStatus, rule_breach
from huoqi.ledger.errors import UnknownAccount
from huoqi.ledger.tables import accounts, entries, holds, postings

MAX_PAGE = 500


def balance_as_of(connection: Connection, account_id: int, business_date: date) -> Balance:
    """Posted totals from the postings of business dates up to and including ``business_date``.

    Holds are not historical: pending totals of a past balance are zero.
    """
    if repo.account_by_id(connection, account_id) is None:
        raise UnknownAccount(f"account {account_id} does not exist", account=account_id)
    debit = func.coalesce(func.sum(case((postings.c.amount > 0, postings.c.amount), else_=0)), 0)
    credit = func.coalesce(func.sum(case((postings.c.amount < 0, -postings.c.amount), else_=0)), 0)
    row = connection.execute(
        select(debit, credit).where(
            postings.c.account_id == account_id, postings.c.business_date <= business_date
        )
    ).one()
    return Balance(int(row[0]), int(row[1]))


@dataclass(frozen=True, slots=True)
class HistoryLine:
    posting_id: int
    entry_id: int
    business_date: date
    created_at: datetime
    kind: str
    memo: str
    amount: int
    balance_after: int


@dataclass(frozen=True, slots=True)
class HistoryPage:
    lines: list[HistoryLine]
    next_cursor: int | None


def history(
    connection: Connection, account_id: int, *, before: int | None = None, limit: int = 50
) -> HistoryPage:
    """An account's postings, newest first, ``limit`` at a time.

    ``before`` is the cursor of the previous page (a posting id). ``balance_after`` is the
    posted balance (debit-positive) right after each posting.
    """
    if limit < 1 or limit > MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    current = repo.read_balance(connection, account_id)
    if current is None:
        raise UnknownAccount(f"account {account_id} does not exist", account=account_id)
    where = [postings.c.account_id == account_id]
    balance = current.net_posted
    if before is not None:
        where.append(postings.c.id < before)
        newer = connection.execute(
            select(func.coalesce(func.sum(postings.c.amount), 0)).where(
                postings.c.account_id == account_id, postings.c.id >= before
            )
        ).scalar_one()
        balance -= int(newer)
    rows = connection.execute(
        select(
            postings.c.id,
            postings.c.entry_id,
            postings.c.amount,
            postings.c.business_date,
            entries.c.created_at,
            entries.c.kind,
            entries.c.memo,
        )
        .join(entries, entries.c.id == postings.c.entry_id)
        .where(*where)
        .order_by(postings.c.id.desc())
        .limit(limit + 1)
    ).all()
    lines: list[HistoryLine] = []
    for row in rows[:limit]:
        created = repo.as_utc(row.created_at)
        assert created is not None
        lines.append(
            HistoryLine(
                row.id,
                row.entry_id,
                row.business_date,
                created,
                row.kind,
                row.memo,
                row.amount,
                balance,
            )
        )
        balance -= row.amount
    next_cursor = lines[-1].posting_id if len(rows) > limit else None
    return HistoryPage(lines, next_cursor)


@dataclass(frozen=True, slots=True)
class AssetTotals:
    asset: str
    debits: int
    credits: int
    debits_pending: int
    credits_pending: int
    accounts: int

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits and self.debits_pending == self.credits_pending


@dataclass(slots=True)
class TrialBalance:
    totals: list[AssetTotals]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(t.balanced for t in self.totals)


def trial_balance(connection: Connection, *, deep: bool = False) -> TrialBalance:
    """Totals per asset and every broken rule. ``deep`` also proves that each account's
    totals equal the sum of its postings and of its pending holds (a full scan)."""
    rows = connection.execute(
        select(
            accounts.c.asset,
            func.sum(accounts.c.debits_posted),
            func.sum(accounts.c.credits_posted),
            func.sum(accounts.c.debits_pending),
            func.sum(accounts.c.credits_pending),
            func.count(),
        )
        .group_by(accounts.c.asset)
        .order_by(accounts.c.asset)
    ).all()
    report = TrialBalance([AssetTotals(r[0], *(int(v) for v in r[1:])) for r in rows])
    for totals in report.totals:
        if totals.debits != totals.credits:
            report.problems.append(
                f"{totals.asset}: debits {totals.debits} != credits {totals.credits}"
            )
        if totals.debits_pending != totals.credits_pending:
            report.problems.append(
                f"{totals.asset}: pending debits {totals.debits_pending} "
                f"!= pending credits {totals.credits_pending}"
            )
    _check_rules(connection, report)
    if deep:
        _check_against_postings(connection, report)
    return report


def _check_rules(connection: Connection, report: TrialBalance) -> None:
    breaking = (
        (accounts.c.rule == "debits_must_not_exceed_credits")
        & (
            accounts.c.debits_posted + accounts.c.debits_pending
            > accounts.c.credits_posted + accounts.c.overdraft_limit
        )
    ) | (
        (accounts.c.rule == "credits_must_not_exceed_debits")
        & (
            accounts.c.credits_posted + accounts.c.credits_pending
            > accounts.c.debits_posted + accounts.c.overdraft_limit
        )
    )
    for account_id in connection.execute(select(accounts.c.id).where(breaking)).scalars():
        account = repo.account_by_id(connection, account_id)
        balance = repo.read_balance(connection, account_id)
        assert account is not None and balance is not None
        report.problems.append(
            rule_breach(account, balance) or f"account {account.code} breaks its rule"
        )


def _check_against_postings(connection: Connection, report: TrialBalance) -> None:
    posted = (
        select(
            postings.c.account_id.label("account_id"),
            func.sum(case((postings.c.amount > 0, postings.c.amount), else_=0)).label("d"),
            func.sum(case((postings.c.amount < 0, -postings.c.amount), else_=0)).label("c"),
        )
        .group_by(postings.c.account_id)
        .subquery()
    )
    pending_debit = (
        select(holds.c.debit_account_id.label("account_id"), func.sum(holds.c.amount).label("s"))
        .where(holds.c.status == HoldStatus.PENDING.value)
        .group_by(holds.c.debit_account_id)
        .subquery()
    )
    pending_credit = (
        select(holds.c.credit_account_id.label("account_id"), func.sum(holds.c.amount).label("s"))
        .where(holds.c.status == HoldStatus.PENDING.value)
        .group_by(holds.c.credit_account_id)
        .subquery()
    )
    query = (
        select(
            accounts.c.code,
            accounts.c.debits_posted,
            accounts.c.credits_posted,
            accounts.c.debits_pending,
            accounts.c.credits_pending,
            func.coalesce(posted.c.d, 0),
            func.coalesce(posted.c.c, 0),
            func.coalesce(pending_debit.c.s, 0),
            func.coalesce(pending_credit.c.s, 0),
        )
        .outerjoin(posted, posted.c.account_id == accounts.c.id)
        .outerjoin(pending_debit, pending_debit.c.account_id == accounts.c.id)
        .outerjoin(pending_credit, pending_credit.c.account_id == accounts.c.id)
        .order_by(accounts.c.id)
    )
    for row in connection.execute(query):
        stored = tuple(int(v) for v in row[1:5])
        derived = tuple(int(v) for v in row[5:9])
        if stored != derived:
            report.problems.append(
                f"account {row[0]}: totals {stored} differ from postings and holds {derived}"
            )
    unbalanced = connection.execute(
        select(postings.c.entry_id, accounts.c.asset, func.sum(postings.c.amount))
        .join(accounts, accounts.c.id == postings.c.account_id)
        .group_by(postings.c.entry_id, accounts.c.asset)
        .having(func.sum(postings.c.amount) != 0)
        .limit(100)
    ).all()
    for entry_id, asset, total in unbalanced:
        report.problems.append(f"entry {entry_id}: {asset} postings sum to {total}, not 0")
