"""Two-phase transfers: reserve with a hold, then post (in full or in part), void or expire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from huoqi.ledger import repository as repo
from huoqi.ledger.domain import (
    Hold,
    HoldRequest,
    HoldStatus,
    amount_to_post,
    check_key,
    hold_problems,
    release,
    reserve,
    transfer,
)
from huoqi.ledger.errors import HoldNotPending, IdempotencyConflict, UnknownHold
from huoqi.ledger.posting import Link, Posted, post_entries


def place_hold(connection: Connection, request: HoldRequest, *, now: datetime) -> Hold:
    """Reserve funds; the same key with the same request returns the first hold."""
    check_key(request.key)
    digest = request.fingerprint()
    prior = repo.hold_by_key(connection, request.key)
    if prior is not None:
        hold, stored = prior
        if stored != digest:
            raise IdempotencyConflict(
                f"idempotency key {request.key!r} was already used for a different hold",
                key=request.key,
            )
        return hold
    loaded = repo.lock_accounts(connection, {request.debit_account_id, request.credit_account_id})
    accounts = {account_id: pair[0] for account_id, pair in loaded.items()}
    balances = {account_id: pair[1] for account_id, pair in loaded.items()}
    problems = hold_problems(request, accounts)
    if problems:
        raise problems[0]
    if request.expires_at is not None and request.expires_at <= now:
        raise HoldNotPending(f"hold would expire at {request.expires_at}, which is already past")
    reserve(balances, accounts, request)
    hold_id = repo.insert_hold(
        connection,
        {
            "idempotency_key": request.key,
            "fingerprint": digest,
            "debit_account_id": request.debit_account_id,
            "credit_account_id": request.credit_account_id,
            "amount": request.amount,
            "memo": request.memo,
            "status": HoldStatus.PENDING.value,
            "expires_at": request.expires_at,
            "business_date": repo.business_date(connection),
            "created_at": now,
        },
    )
    repo.write_balances(connection, balances)
    placed = repo.get_hold(connection, hold_id)
    assert placed is not None
    return placed


def post_hold(
    connection: Connection, *, key: str, hold_id: int, amount: int | None, now: datetime
) -> Posted:
    """Turn a pending hold into a posted entry of ``amount`` (default: all of it).

    The rest of the hold is released. Replaying the same key and amount returns the entry.
    """
    check_key(key)
    hold = _locked_hold(connection, hold_id)
    planned = hold.amount if amount is None else amount
    request = transfer(
        key,
        debit=hold.debit_account_id,
        credit=hold.credit_account_id,
        amount=planned,
        memo=hold.memo,
        kind="hold_post",
    )
    prior = repo.entries_by_keys(connection, [key]).get(key)
    if prior is not None:
        if prior.fingerprint != request.fingerprint():
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different request", key=key
            )
        return Posted(prior.id, replayed=True)
    to_post = amount_to_post(hold, amount, now)
    loaded = repo.lock_accounts(connection, {hold.debit_account_id, hold.credit_account_id})
    balances = {account_id: pair[1] for account_id, pair in loaded.items()}
    release(balances, hold)
    (outcome,) = post_entries(
        connection,
        [request],
        now=now,
        atomic=True,
        links={0: Link(hold_id=hold.id)},
        pre_balances=balances,
    )
    assert isinstance(outcome, Posted)
    repo.resolve_holds(
        connection, [hold.id], status=HoldStatus.POSTED, now=now, posted_amount=to_post
    )
    return outcome


def void_hold(connection: Connection, *, hold_id: int, now: datetime) -> Hold:
    """Release a pending hold. Voiding a voided hold again is harmless."""
    hold = _locked_hold(connection, hold_id)
    if hold.status is HoldStatus.VOIDED:
        return hold
    if hold.status is not HoldStatus.PENDING:
        raise HoldNotPending(f"hold {hold.id} is {hold.status.value}, not pending", hold=hold.id)
    _release_all(connection, [hold], status=HoldStatus.VOIDED, now=now)
    voided = repo.get_hold(connection, hold_id)
    assert voided is not None
    return voided


def expire_holds(connection: Connection, *, now: datetime, limit: int = 10_000) -> int:
    """Expire up to ``limit`` pending holds whose time has come; returns how many."""
    due = repo.expired_holds(connection, now, limit)
    _release_all(connection, due, status=HoldStatus.EXPIRED, now=now)
    return len(due)


def _release_all(
    connection: Connection, due: list[Hold], *, status: HoldStatus, now: datetime
) -> None:
    if not due:
        return
    touched = {h.debit_account_id for h in due} | {h.credit_account_id for h in due}
    loaded = repo.lock_accounts(connection, touched)
    balances = {account_id: pair[1] for account_id, pair in loaded.items()}
    for hold in due:
        release(balances, hold)
    repo.write_balances(connection, balances)
    repo.resolve_holds(connection, [h.id for h in due], status=status, now=now)


def _locked_hold(connection: Connection, hold_id: int) -> Hold:
    if isinstance(hold_id, bool) or not isinstance(hold_id, int):
        raise UnknownHold(f"hold id must be an integer, not {hold_id!r}")
    hold = repo.get_hold(connection, hold_id, lock=True)
    if hold is None:
        raise UnknownHold(f"hold {hold_id} does not exist", hold=hold_id)
    return hold
