"""Funds, holders and holdings: who holds which fund through which ledger account.

Registering a fund creates its share asset (``MMF.<code>``, unit 0.01 share) and its ledger
accounts:

* ``fund:<code>:issued`` (equity, in shares): debited with every share issued to holders
  (confirmed purchases and daily income) and credited with every share retired, so its
  balance always equals the shares customers hold — the daily reconciliation checks it;
* ``fund:<code>:subscriptions`` (liability, CNY): customers' cash between payment and
  confirmation;
* ``fund:<code>:advance-receivable`` (asset, CNY): instant redemptions the platform has
  advanced and the fund has not yet repaid.

Platform-wide accounts: ``platform:bank`` (asset, CNY) where card payments arrive, and
``platform:advance-pool`` (asset, CNY) which pays instant redemptions and cannot go below
zero, funded from ``platform:equity``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from huoqi.errors import Conflict, InvalidInput, NotFound
from huoqi.fund.domain import Carry as Carry  # noqa: PLC0414 (re-exported)
from huoqi.fund.tables import funds, holders, holdings
from huoqi.ledger import accounts as ledger_accounts
from huoqi.ledger.domain import AccountKind, BalanceRule, transfer
from huoqi.ledger.posting import post_entries
from huoqi.ledger.tables import accounts as ledger_accounts_table

FUND_CODE = re.compile(r"^[0-9A-Za-z]{1,16}$")
CUSTOMER_REF = re.compile(r"^[0-9A-Za-z:_.@+-]{1,64}$")

BANK = "platform:bank"
ADVANCE_POOL = "platform:advance-pool"
EQUITY = "platform:equity"


class UnknownFund(NotFound):
    code = "unknown_fund"
    title = "Unknown fund"


class UnknownHolder(NotFound):
    code = "unknown_holder"
    title = "Unknown current account"


class FundExists(Conflict):
    code = "fund_exists"
    title = "Fund already registered"


@dataclass(frozen=True, slots=True)
class Fund:
    id: int
    code: str
    name: str
    manager: str
    carry: Carry
    status: str
    share_asset: str
    issued_account_id: int
    pending_account_id: int
    advance_account_id: int


@dataclass(frozen=True, slots=True)
class Holder:
    id: int
    customer_ref: str
    fund_id: int


def fund_from_row(row: Any) -> Fund:
    return Fund(
        row.id,
        row.code,
        row.name,
        row.manager,
        Carry(row.carry),
        row.status,
        row.share_asset,
        row.issued_account_id,
        row.pending_account_id,
        row.advance_account_id,
    )


def open_platform_accounts(connection: Connection, *, now: datetime) -> dict[str, int]:
    """The platform's own CNY accounts (idempotent)."""
    opened = {
        BANK: ledger_accounts.open_account(connection, BANK, kind=AccountKind.ASSET, now=now),
        ADVANCE_POOL: ledger_accounts.open_account(
            connection, ADVANCE_POOL, kind=AccountKind.ASSET, now=now
        ),
        EQUITY: ledger_accounts.open_account(connection, EQUITY, kind=AccountKind.EQUITY, now=now),
    }
    return {code: account.id for code, account in opened.items()}


def add_fund(
    connection: Connection,
    *,
    code: str,
    name: str,
    manager: str = "",
    carry: Carry = Carry.DAILY,
    now: datetime,
) -> Fund:
    """Register a money fund; registering it again with the same settings is harmless."""
    if not isinstance(code, str) or not FUND_CODE.match(code):
        raise InvalidInput(f"fund code {code!r} must be 1 to 16 letters or digits")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("fund name must be 1 to 200 characters")
    carry = Carry(carry)
    existing = find_fund(connection, code)
    if existing is not None:
        if (existing.name, existing.manager, existing.carry) != (name, manager, carry):
            raise FundExists(f"fund {code} is already registered with other settings")
        return existing
    open_platform_accounts(connection, now=now)
    asset = f"MMF.{code}"
    ledger_accounts.add_asset(connection, asset, scale=2, name=f"{name} shares")
    issued = ledger_accounts.open_account(
        connection, f"fund:{code}:issued", asset=asset, kind=AccountKind.EQUITY,
        rule=BalanceRule.UNLIMITED, now=now,
    )  # fmt: skip
    pending = ledger_accounts.open_account(
        connection, f"fund:{code}:subscriptions", kind=AccountKind.LIABILITY, now=now
    )
    advance = ledger_accounts.open_account(
        connection, f"fund:{code}:advance-receivable", kind=AccountKind.ASSET, now=now
    )
    connection.execute(
        insert(funds).values(
            code=code, name=name, manager=manager, carry=carry.value, status="open",
            share_asset=asset, issued_account_id=issued.id, pending_account_id=pending.id,
            advance_account_id=advance.id, created_at=now,
        )
    )  # fmt: skip
    return get_fund(connection, code)


def find_fund(connection: Connection, code: str) -> Fund | None:
    row = connection.execute(select(funds).where(funds.c.code == code)).first()
    return fund_from_row(row) if row else None


def get_fund(connection: Connection, code: str) -> Fund:
    fund = find_fund(connection, code)
    if fund is None:
        raise UnknownFund(f"fund {code!r} is not registered", fund=code)
    return fund


_FUND_BY_ID = select(funds).where(funds.c.id == bindparam("id"))
_HOLDING_ACCOUNT = select(holdings.c.account_id).where(
    holdings.c.holder_id == bindparam("holder"), holdings.c.fund_id == bindparam("fund")
)
_ACCOUNT_BY_CODE = select(ledger_accounts_table.c.id).where(
    ledger_accounts_table.c.code == bindparam("code")
)


def fund_by_id(connection: Connection, fund_id: int) -> Fund:
    row = connection.execute(_FUND_BY_ID, {"id": fund_id}).first()
    if row is None:
        raise UnknownFund(f"fund #{fund_id} is not registered", fund=fund_id)
    return fund_from_row(row)


def list_funds(connection: Connection) -> list[Fund]:
    return [fund_from_row(row) for row in connection.execute(select(funds).order_by(funds.c.code))]


def holding_account_code(holder_id: int, fund_code: str) -> str:
    return f"holder:{holder_id}:{fund_code}"


def open_holder(connection: Connection, *, customer_ref: str, fund: Fund, now: datetime) -> Holder:
    """Open a customer's current account backed by ``fund`` (again: returns the existing one)."""
    if not isinstance(customer_ref, str) or not CUSTOMER_REF.match(customer_ref):
        raise InvalidInput(f"customer reference {customer_ref!r} is not valid")
    row = connection.execute(select(holders).where(holders.c.customer_ref == customer_ref)).first()
    if row is not None:
        return Holder(row.id, row.customer_ref, row.fund_id)
    holder_id = connection.execute(
        insert(holders)
        .values(customer_ref=customer_ref, fund_id=fund.id, created_at=now)
        .returning(holders.c.id)
    ).scalar_one()
    holding_account(connection, holder_id=holder_id, fund=fund, now=now)
    return Holder(holder_id, customer_ref, fund.id)


def holding_account(connection: Connection, *, holder_id: int, fund: Fund, now: datetime) -> int:
    """The ledger share account of a holder in a fund, opened on first use."""
    found = connection.execute(
        _HOLDING_ACCOUNT, {"holder": holder_id, "fund": fund.id}
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    account = ledger_accounts.open_account(
        connection,
        holding_account_code(holder_id, fund.code),
        asset=fund.share_asset,
        kind=AccountKind.LIABILITY,
        now=now,
    )
    connection.execute(
        insert(holdings).values(holder_id=holder_id, fund_id=fund.id, account_id=account.id)
    )
    return account.id


# Built once: a statement object keeps its cache key, so a hot path does not rebuild it.
_HOLDER_BY_REF = select(holders).where(holders.c.customer_ref == bindparam("ref"))


def get_holder(connection: Connection, customer_ref: str) -> Holder:
    row = connection.execute(_HOLDER_BY_REF, {"ref": customer_ref}).first()
    if row is None:
        raise UnknownHolder(f"no current account for {customer_ref!r}", customer=customer_ref)
    return Holder(row.id, row.customer_ref, row.fund_id)


def platform_account(connection: Connection, code: str) -> int:
    """The id of one of the platform's own accounts (`BANK`, `ADVANCE_POOL`, `EQUITY`)."""
    found = connection.execute(_ACCOUNT_BY_CODE, {"code": code}).scalar_one_or_none()
    if found is None:
        raise UnknownFund(f"platform account {code} is missing: register a fund first")
    return int(found)


def fund_advance_pool(connection: Connection, *, amount: int, key: str, now: datetime) -> None:
    """The platform puts ``amount`` fen of its own money into the instant-redemption pool
    (equity → pool); ``key`` is the entry's idempotency key."""
    pool = platform_account(connection, ADVANCE_POOL)
    equity = platform_account(connection, EQUITY)
    post_entries(
        connection,
        [transfer(key, debit=pool, credit=equity, amount=amount,
                  memo="platform funds the instant-redemption pool", kind="pool_funding")],
        now=now,
        atomic=True,
    )  # fmt: skip
