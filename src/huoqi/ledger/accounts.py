"""Opening assets and accounts inside a caller's transaction (idempotent by code)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from huoqi.ledger import repository as repo
from huoqi.ledger.domain import Account, AccountKind, Asset, BalanceRule, check_key
from huoqi.ledger.errors import AccountExists, UnknownAsset
from huoqi.money import InvalidAmount


def add_asset(connection: Connection, code: str, *, scale: int = 2, name: str = "") -> Asset:
    """Add an asset; adding the same one again is harmless, a different one is refused."""
    if (
        not isinstance(code, str)
        or not code
        or len(code) > 32
        or not code.isprintable()
        or (" " in code)
    ):
        raise InvalidAmount(f"asset code {code!r} must be 1 to 32 characters, no spaces")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 8:
        raise InvalidAmount(f"asset scale must be 0 to 8 decimals, not {scale!r}")
    asset = Asset(code, scale, name)
    existing = repo.get_asset(connection, code)
    if existing is not None:
        if (existing.code, existing.scale) != (code, scale):
            raise AccountExists(f"asset {code} already exists with scale {existing.scale}")
        return existing
    repo.insert_asset(connection, asset)
    return asset


def open_account(
    connection: Connection,
    code: str,
    *,
    asset: str = "CNY",
    kind: AccountKind,
    rule: BalanceRule | None = None,
    overdraft_limit: int = 0,
    now: datetime,
) -> Account:
    """Open an account; opening the same code with the same settings again is harmless."""
    check_key(code)
    if (
        isinstance(overdraft_limit, bool)
        or not isinstance(overdraft_limit, int)
        or (overdraft_limit < 0)
    ):
        raise InvalidAmount(
            f"overdraft limit must be a non-negative integer, not {overdraft_limit!r}"
        )
    chosen = rule or BalanceRule.default_for(kind)
    existing = repo.account_by_code(connection, code)
    if existing is not None:
        same = (existing.asset, existing.kind, existing.rule, existing.overdraft_limit)
        if same != (asset, kind, chosen, overdraft_limit):
            raise AccountExists(f"account {code} already exists with other settings")
        return existing
    if repo.get_asset(connection, asset) is None:
        raise UnknownAsset(f"asset {asset} does not exist", asset=asset)
    account_id = repo.insert_account(
        connection,
        code=code,
        asset=asset,
        kind=kind,
        rule=chosen,
        overdraft_limit=overdraft_limit,
        now=now,
    )
    return Account(account_id, code, asset, kind, chosen, overdraft_limit)
