"""Read models: balances now and as of a business date, account history, trial balance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    DateTime,
    String,
    bindparam,
    case,
    func,
    select,
    text,
)

from huoqi.ledger import repository as repo
from huoqi.ledger.domain import Balance, HoldStatus, rule_breach
from huoqi.ledger.errors import UnknownAccount
from huoqi.ledger.tables import accounts, holds, postings
from huoqi.money import INT64_MAX

MAX_PAGE = 500


def balance_as_of(connection: Connection, account_id: int, business_date: date) -> Balance:
    """Posted totals from the postings of business dates up to and including ``business_date``.

    Holds are not historical: pending totals of a past balance are zero.
    """
    head = _head(connection, account_id)
    row = connection.execute(
        _AS_OF, {"head": head if head is not None else 0, "day": business_date}
    ).one()
    return Balance(int(row[0]), int(row[1]))


def _head(connection: Connection, account_id: int) -> int | None:
    """The account's last posting id; raises if there is no such account."""
    row = connection.execute(
        select(accounts.c.last_posting_id).where(accounts.c.id == account_id)
    ).first()
    if row is None:
        raise UnknownAccount(f"account {account_id} does not exist", account=account_id)
    return None if row[0] is None else int(row[0])


# An account's postings, newest first, by walking its chain from the head.
_AS_OF = text(
    """
    WITH RECURSIVE chain(id, previous_id, amount, business_date) AS (
        SELECT id, previous_id, amount, business_date FROM postings WHERE id = :head
        UNION ALL
        SELECT p.id, p.previous_id, p.amount, p.business_date
        FROM postings p JOIN chain c ON p.id = c.previous_id
    )
    SELECT COALESCE(SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END), 0)
    FROM chain WHERE business_date <= :day
    """
).bindparams(bindparam("head", type_=BigInteger), bindparam("day", type_=Date))

# The walk goes on until ``limit`` + 1 postings older than the cursor have been seen; the
# newer ones on the way give the balance at the cursor.
_HISTORY = text(
    """
    WITH RECURSIVE chain(id, previous_id, amount, older) AS (
        SELECT id, previous_id, amount, CASE WHEN id < :before THEN 1 ELSE 0 END
        FROM postings WHERE id = :head
        UNION ALL
        SELECT p.id, p.previous_id, p.amount,
               c.older + CASE WHEN p.id < :before THEN 1 ELSE 0 END
        FROM postings p JOIN chain c ON p.id = c.previous_id
        WHERE c.older <= :limit
    )
    SELECT c.id, c.amount, p.entry_id, p.business_date, e.created_at, e.kind, e.memo
    FROM chain c
    JOIN postings p ON p.id = c.id
    JOIN entries e ON e.id = p.entry_id
    ORDER BY c.id DESC
    """
).bindparams(
    bindparam("head", type_=BigInteger),
    bindparam("before", type_=BigInteger),
    bindparam("limit", type_=BigInteger),
).columns(
    id=BigInteger, amount=BigInteger, entry_id=BigInteger, business_date=Date,
    created_at=DateTime(timezone=True), kind=String, memo=String,
)  # fmt: skip


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
    head = _head(connection, account_id)
    assert current is not None
    balance = current.net_posted
    cursor = INT64_MAX if before is None else before
    walked = (
        connection.execute(_HISTORY, {"head": head, "before": cursor, "limit": limit}).all()
        if head is not None
        else []
    )
    rows = []
    for row in walked:
        if row.id >= cursor:
            balance -= row.amount
        else:
            rows.append(row)
    rows = rows[: limit + 1]
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
            func.count().label("n"),
            func.count(postings.c.previous_id).label("linked"),
            func.count(postings.c.previous_id.distinct()).label("distinct_linked"),
            func.max(postings.c.id).label("last"),
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
            accounts.c.last_posting_id,
            func.coalesce(posted.c.n, 0),
            func.coalesce(posted.c.linked, 0),
            func.coalesce(posted.c.distinct_linked, 0),
            posted.c.last,
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
        head, count, linked, distinct_linked, last = row[9:14]
        if head != last or linked != max(count - 1, 0) or distinct_linked != linked:
            report.problems.append(
                f"account {row[0]}: its postings do not form one chain ending at its last "
                f"posting ({count} postings, {linked} linked, {distinct_linked} distinct "
                f"links, last {last}, head {head})"
            )
    # with the counts above: every link stays within its account, so each account's
    # postings form exactly one chain, ordered by id, whose head is the account's last
    previous = postings.alias("previous")
    strays = connection.execute(
        select(postings.c.id)
        .outerjoin(previous, previous.c.id == postings.c.previous_id)
        .where(
            postings.c.previous_id.is_not(None),
            (previous.c.id.is_(None)) | (previous.c.account_id != postings.c.account_id),
        )
        .limit(100)
    ).scalars()
    for posting_id in strays:
        report.problems.append(
            f"posting {posting_id}: its previous posting is missing or on another account"
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
