"""Posting journal entries: one at a time or in batches, idempotently, under the rules.

A batch is checked and applied in memory against the locked balances of every account it
touches, then written with one multi-row insert per table and one update per touched
account. Each entry stands alone (a bad one is reported and the rest post) unless the
caller asks for an atomic batch, where any bad entry rejects the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from huoqi.db import bulk
from huoqi.errors import HuoqiError
from huoqi.ledger import repository as repo
from huoqi.ledger.domain import Account, Balance, EntryRequest, apply_postings, entry_problems
from huoqi.ledger.errors import IdempotencyConflict


@dataclass(frozen=True, slots=True)
class Posted:
    """The outcome of an entry request: its entry, and whether this was a replay."""

    entry_id: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """What an entry answers for: a reversed entry or a posted hold (set by the ledger)."""

    reverses_entry_id: int | None = None
    hold_id: int | None = None


Outcome = Posted | HuoqiError


def post_entries(
    connection: Connection,
    requests: Sequence[EntryRequest],
    *,
    now: datetime,
    atomic: bool = False,
    links: Mapping[int, Link] | None = None,
    pre_balances: Mapping[int, Balance] | None = None,
) -> list[Outcome]:
    """Post ``requests`` in the open write transaction; one outcome per request, in order.

    With ``atomic`` the first refusal is raised and nothing is written. ``links`` maps a
    request's index to what it answers for. ``pre_balances`` lets a caller (the hold
    logic) pass balances it already changed in memory; they are written back too.
    """
    touched = {posting.account_id for request in requests for posting in request.postings}
    touched.update(pre_balances or ())
    heads: dict[int, int | None] = {}
    loaded = repo.lock_accounts(connection, touched, heads)
    accounts = {account_id: pair[0] for account_id, pair in loaded.items()}
    balances = {account_id: pair[1] for account_id, pair in loaded.items()}
    if pre_balances:
        balances.update(pre_balances)

    screened = _screen(connection, requests, accounts, balances)
    if atomic:
        for outcome in screened.outcomes:
            if isinstance(outcome, HuoqiError):
                raise outcome

    entry_ids = _write_entries(connection, screened.accepted, links or {}, now, heads)
    changed_ids = {p.account_id for _, request, _ in screened.accepted for p in request.postings}
    changed_ids.update(pre_balances or ())
    changed = {account_id: balances[account_id] for account_id in changed_ids}
    repo.write_balances(connection, changed, heads)
    return screened.resolve(entry_ids)


@dataclass(slots=True)
class _Screened:
    """Each request's fate before anything is written."""

    outcomes: list[Outcome | _Replay | None]
    accepted: list[tuple[int, EntryRequest, bytes]]

    def resolve(self, entry_ids: Sequence[int]) -> list[Outcome]:
        for entry_id, (index, _request, _digest) in zip(entry_ids, self.accepted, strict=True):
            self.outcomes[index] = Posted(entry_id)
        results: list[Outcome] = []
        for outcome in self.outcomes:
            if isinstance(outcome, _Replay):
                first = self.outcomes[outcome.index]
                assert isinstance(first, Posted)
                results.append(Posted(first.entry_id, replayed=True))
            else:
                assert outcome is not None
                results.append(outcome)
        return results


def _screen(
    connection: Connection,
    requests: Sequence[EntryRequest],
    accounts: Mapping[int, Account],
    balances: dict[int, Balance],
) -> _Screened:
    """Sort requests into replays, conflicts, refusals and accepted entries, applying the
    accepted ones to ``balances`` in order."""
    stored = repo.entries_by_keys(connection, {request.key for request in requests})
    screened = _Screened([None] * len(requests), [])
    first_in_batch: dict[str, tuple[int, bytes]] = {}
    for index, request in enumerate(requests):
        digest = request.fingerprint()
        prior = stored.get(request.key)
        if prior is not None:
            screened.outcomes[index] = (
                Posted(prior.id, replayed=True)
                if prior.fingerprint == digest
                else _conflict(request.key)
            )
            continue
        if request.key in first_in_batch:
            first_index, first_digest = first_in_batch[request.key]
            screened.outcomes[index] = (
                _Replay(first_index) if first_digest == digest else _conflict(request.key)
            )
            continue
        problems = entry_problems(request, accounts)
        if problems:
            screened.outcomes[index] = problems[0]
            continue
        try:
            apply_postings(balances, accounts, request.postings)
        except HuoqiError as error:
            screened.outcomes[index] = error
            continue
        first_in_batch[request.key] = (index, digest)
        screened.accepted.append((index, request, digest))
    return screened


def _write_entries(
    connection: Connection,
    accepted: Sequence[tuple[int, EntryRequest, bytes]],
    links: Mapping[int, Link],
    now: datetime,
    heads: dict[int, int | None],
) -> list[int]:
    """Insert the accepted entries and their postings, each posting linked to its account's
    previous one; ``heads`` is moved on to each account's new last posting."""
    business_date = bulk.sql_date(connection, repo.business_date(connection))
    created_at = bulk.sql_timestamp(connection, now)
    entry_ids = repo.allocate_entry_ids(connection, len(accepted))
    posting_ids = iter(
        repo.allocate_posting_ids(connection, sum(len(r.postings) for _, r, _ in accepted))
    )
    entry_rows: list[tuple[Any, ...]] = []
    posting_rows: list[tuple[Any, ...]] = []
    append_posting = posting_rows.append
    for entry_id, (index, request, digest) in zip(entry_ids, accepted, strict=True):
        link = links.get(index)
        entry_rows.append(
            (
                entry_id,
                request.key,
                digest,
                request.kind,
                request.memo,
                business_date,
                created_at,
                link.reverses_entry_id if link else None,
                link.hold_id if link else None,
            )
        )
        for posting in request.postings:
            posting_id = next(posting_ids)
            account_id = posting.account_id
            append_posting(
                (posting_id, entry_id, account_id, posting.amount, business_date, heads[account_id])
            )
            heads[account_id] = posting_id
    repo.insert_entries(connection, entry_rows)
    repo.insert_postings(connection, posting_rows)
    return entry_ids


@dataclass(frozen=True, slots=True)
class _Replay:
    """A request repeating an earlier one of the same batch."""

    index: int


def _conflict(key: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"idempotency key {key!r} was already used for a different request", key=key
    )
