"""The ledger as a service: each call is one transaction, retried on deadlock.

Callers that need several steps in one transaction (the daily close, a payment) use the
connection-level functions in `posting`, `holds`, `accounts_service` and `queries` inside
their own `write_transaction` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from huoqi.db.engine import read_transaction, run_in_write_transaction
from huoqi.errors import HuoqiError
from huoqi.ledger import accounts as accounts_ops
from huoqi.ledger import holds as holds_ops
from huoqi.ledger import queries
from huoqi.ledger import repository as repo
from huoqi.ledger.domain import (
    Account,
    AccountKind,
    Asset,
    Balance,
    BalanceRule,
    EntryRequest,
    Hold,
    HoldRequest,
    reversal_of,
)
from huoqi.ledger.errors import (
    AlreadyReversed,
    InvalidBusinessDate,
    UnknownAccount,
    UnknownAsset,
    UnknownEntry,
)
from huoqi.ledger.posting import Link, Outcome, Posted, post_entries

Clock = Callable[[], datetime]
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """Open accounts, post entries, hold funds and read balances on one database."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    # --- writing ----------------------------------------------------------------------

    def _write(self, work: Callable[[Connection], T]) -> T:
        # A concurrent writer may insert the same idempotency key first; the retry then
        # finds it and answers as a replay (or a conflict).
        for attempt in range(3):
            try:
                return run_in_write_transaction(self.engine, work)
            except IntegrityError as error:
                if attempt == 2 or "idempotency_key" not in str(error.orig):
                    raise
        raise AssertionError("unreachable")

    def add_asset(self, code: str, *, scale: int = 2, name: str = "") -> Asset:
        """Add an asset (a currency or a fund's shares); again with the same scale: harmless."""
        return self._write(
            lambda connection: accounts_ops.add_asset(connection, code, scale=scale, name=name)
        )

    def open_account(
        self,
        code: str,
        *,
        asset: str = "CNY",
        kind: AccountKind,
        rule: BalanceRule | None = None,
        overdraft_limit: int = 0,
    ) -> Account:
        """Open an account; opening the same code with the same settings again is harmless."""
        return self._write(
            lambda connection: accounts_ops.open_account(
                connection,
                code,
                asset=asset,
                kind=kind,
                rule=rule,
                overdraft_limit=overdraft_limit,
                now=self.clock(),
            )
        )

    def post(self, request: EntryRequest) -> Posted:
        """Post one entry; raise its refusal. A replayed key returns the first entry."""
        (outcome,) = self._write(
            lambda connection: post_entries(connection, [request], now=self.clock(), atomic=True)
        )
        assert isinstance(outcome, Posted)
        return outcome

    def post_many(self, requests: Sequence[EntryRequest], *, atomic: bool = False) -> list[Outcome]:
        """Post a batch in one transaction; one outcome (`Posted` or an error) per request."""
        return self._write(
            lambda connection: post_entries(connection, requests, now=self.clock(), atomic=atomic)
        )

    def reverse(self, entry_id: int, *, key: str, memo: str = "") -> Posted:
        """Post the exact opposite of entry ``entry_id``. An entry is reversed at most once."""

        def work(connection: Connection) -> Posted:
            original = repo.get_entry(connection, entry_id)
            if original is None:
                raise UnknownEntry(f"entry {entry_id} does not exist", entry=entry_id)
            request = EntryRequest(
                key,
                reversal_of(original.postings),
                memo or f"reversal of entry {entry_id}",
                "reversal",
            )
            prior = repo.entries_by_keys(connection, [key]).get(key)
            if prior is None:
                reversed_by = repo.reversal_of_entry(connection, entry_id)
                if reversed_by is not None:
                    raise AlreadyReversed(
                        f"entry {entry_id} was already reversed by entry {reversed_by}",
                        entry=entry_id,
                    )
            (outcome,) = post_entries(
                connection,
                [request],
                now=self.clock(),
                atomic=True,
                links={0: Link(reverses_entry_id=entry_id)},
            )
            assert isinstance(outcome, Posted)
            return outcome

        return self._write(work)

    def hold(self, request: HoldRequest) -> Hold:
        return self._write(
            lambda connection: holds_ops.place_hold(connection, request, now=self.clock())
        )

    def post_hold(self, hold_id: int, *, key: str, amount: int | None = None) -> Posted:
        return self._write(
            lambda connection: holds_ops.post_hold(
                connection, key=key, hold_id=hold_id, amount=amount, now=self.clock()
            )
        )

    def void_hold(self, hold_id: int) -> Hold:
        return self._write(
            lambda connection: holds_ops.void_hold(connection, hold_id=hold_id, now=self.clock())
        )

    def expire_holds(self) -> int:
        return self._write(lambda connection: holds_ops.expire_holds(connection, now=self.clock()))

    def advance_business_date(self, new_date: date) -> date:
        """Move the business date forward (never back); entries from now on carry it."""

        def work(connection: Connection) -> date:
            current = repo.business_date(connection)
            if new_date < current:
                raise InvalidBusinessDate(
                    f"business date cannot go back from {current} to {new_date}"
                )
            repo.set_business_date(connection, new_date)
            return new_date

        return self._write(work)

    # --- reading ----------------------------------------------------------------------

    def account(self, ref: int | str) -> Account:
        with read_transaction(self.engine) as connection:
            account = (
                repo.account_by_code(connection, ref)
                if isinstance(ref, str)
                else repo.account_by_id(connection, ref)
            )
        if account is None:
            raise UnknownAccount(f"account {ref} does not exist", account=ref)
        return account

    def asset(self, code: str) -> Asset:
        with read_transaction(self.engine) as connection:
            asset = repo.get_asset(connection, code)
        if asset is None:
            raise UnknownAsset(f"asset {code} does not exist", asset=code)
        return asset

    def assets(self) -> list[Asset]:
        with read_transaction(self.engine) as connection:
            return repo.list_assets(connection)

    def accounts(self, *, after_id: int = 0, limit: int = 100) -> list[tuple[Account, Balance]]:
        with read_transaction(self.engine) as connection:
            return repo.list_accounts(connection, after_id=after_id, limit=limit)

    def balance(self, account_id: int, *, as_of: date | None = None) -> Balance:
        with read_transaction(self.engine) as connection:
            if as_of is not None:
                return queries.balance_as_of(connection, account_id, as_of)
            balance = repo.read_balance(connection, account_id)
        if balance is None:
            raise UnknownAccount(f"account {account_id} does not exist", account=account_id)
        return balance

    def history(
        self, account_id: int, *, before: int | None = None, limit: int = 50
    ) -> queries.HistoryPage:
        with read_transaction(self.engine) as connection:
            return queries.history(connection, account_id, before=before, limit=limit)

    def trial_balance(self, *, deep: bool = False) -> queries.TrialBalance:
        with read_transaction(self.engine) as connection:
            return queries.trial_balance(connection, deep=deep)

    def business_date(self) -> date:
        with read_transaction(self.engine) as connection:
            return repo.business_date(connection)

    def get_hold(self, hold_id: int) -> Hold | None:
        with read_transaction(self.engine) as connection:
            return repo.get_hold(connection, hold_id)


__all__ = ["HuoqiError", "Ledger", "Posted", "utc_now"]
