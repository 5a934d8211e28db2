"""Errors the ledger reports. Each names what was wrong and changes nothing."""

from __future__ import annotations

from huoqi.errors import Conflict, InvalidInput, NotFound, RuleViolation
from huoqi.money import InvalidAmount

__all__ = [
    "AccountExists",
    "AlreadyReversed",
    "AssetMismatch",
    "BalanceOverflow",
    "EntryRejected",
    "HoldExceeded",
    "HoldExpired",
    "HoldNotPending",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidBusinessDate",
    "UnbalancedEntry",
    "UnknownAccount",
    "UnknownAsset",
    "UnknownEntry",
    "UnknownHold",
]


class UnknownAccount(NotFound):
    code = "unknown_account"
    title = "Unknown account"


class UnknownAsset(NotFound):
    code = "unknown_asset"
    title = "Unknown asset"


class UnknownEntry(NotFound):
    code = "unknown_entry"
    title = "Unknown journal entry"


class UnknownHold(NotFound):
    code = "unknown_hold"
    title = "Unknown hold"


class AccountExists(Conflict):
    code = "account_exists"
    title = "Account already exists"


class UnbalancedEntry(InvalidInput):
    code = "unbalanced_entry"
    title = "Journal entry does not balance"


class AssetMismatch(InvalidInput):
    code = "asset_mismatch"
    title = "Postings mix assets"


class EntryRejected(InvalidInput):
    """The shape of an entry is wrong (too few postings, bad key, ...)."""

    code = "entry_rejected"
    title = "Journal entry rejected"


class InsufficientFunds(RuleViolation):
    code = "insufficient_funds"
    title = "Balance rule would be broken"


class BalanceOverflow(RuleViolation):
    code = "balance_overflow"
    title = "Balance would overflow"


class HoldExceeded(InvalidInput):
    code = "hold_exceeded"
    title = "Amount above the hold"


class HoldNotPending(Conflict):
    code = "hold_not_pending"
    title = "Hold is no longer pending"


class HoldExpired(Conflict):
    code = "hold_expired"
    title = "Hold has expired"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "Idempotency key reused with another request"


class AlreadyReversed(Conflict):
    code = "already_reversed"
    title = "Entry already reversed"


class InvalidBusinessDate(InvalidInput):
    code = "invalid_business_date"
    title = "Invalid business date"
