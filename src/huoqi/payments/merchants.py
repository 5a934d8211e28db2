"""Merchants: application, approval by an operator, credentials, the ledger account.

A merchant applies with a name and a callback URL and gets an id (``M00000001``); an
operator approves it with a fee rate (default 0.6%), which opens its ledger account
``merchant:<id>:payable`` — what Huoqi owes the merchant until settlement — and hands out
its secret. Secrets are derived from the gateway master key (`signing.derive_secret`), so
only the key's version is stored.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from huoqi import config
from huoqi.errors import Conflict, InvalidInput, NotFound
from huoqi.ledger import accounts as ledger_accounts
from huoqi.ledger.domain import AccountKind
from huoqi.payments.fees import DEFAULT_FEE_RATE_BP
from huoqi.payments.signing import derive_secret
from huoqi.payments.tables import merchants

URL = re.compile(r"^https?://[^\s/$.?#][^\s]{0,490}$")
MERCHANT_ID = re.compile(r"^M[0-9]{8}$")
FEE_INCOME = "platform:fee-income"


class UnknownMerchantId(NotFound):
    code = "unknown_merchant"
    title = "Unknown merchant"


class MerchantState(Conflict):
    code = "merchant_state"
    title = "Merchant is not in that state"


@dataclass(frozen=True, slots=True)
class Merchant:
    id: int
    code: str
    name: str
    owner_user_id: int | None
    callback_url: str
    fee_rate_bp: int
    status: str
    key_version: int
    payable_account_id: int | None
    applied_at: datetime
    decided_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status == "active"


def merchant_from_row(row: Any) -> Merchant:
    return Merchant(
        row.id, row.code, row.name, row.owner_user_id, row.callback_url, row.fee_rate_bp,
        row.status, row.key_version, row.payable_account_id, row.applied_at, row.decided_at,
    )  # fmt: skip


def payable_code(code: str) -> str:
    return f"merchant:{code}:payable"


def check_url(url: str, *, what: str = "callback URL") -> str:
    url = url.strip()
    if not URL.match(url):
        raise InvalidInput(f"the {what} must be an http:// or https:// address, not {url!r}")
    return url


def apply(
    connection: Connection, *, name: str, callback_url: str, owner_user_id: int | None,
    now: datetime,
) -> Merchant:  # fmt: skip
    """A merchant's application; it takes no payments until an operator approves it."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("a merchant's name must be 1 to 100 characters")
    url = check_url(callback_url)
    placeholder = "T" + secrets.token_hex(7)
    new_id = connection.execute(
        insert(merchants)
        .values(
            code=placeholder, name=name, owner_user_id=owner_user_id, callback_url=url,
            fee_rate_bp=DEFAULT_FEE_RATE_BP, status="applied", applied_at=now,
        )
        .returning(merchants.c.id)
    ).scalar_one()  # fmt: skip
    connection.execute(
        update(merchants).where(merchants.c.id == new_id).values(code=f"M{new_id:08d}")
    )
    return merchant_by_id(connection, new_id)


def decide(
    connection: Connection, code: str, *, approve: bool, fee_rate_bp: int | None = None,
    now: datetime, note: str = "",
) -> Merchant:  # fmt: skip
    """Approve (opening the payable account) or reject an application."""
    merchant = get_merchant(connection, code)
    if merchant.status != "applied":
        raise MerchantState(f"merchant {code} is {merchant.status}; only applications are decided")
    rate = DEFAULT_FEE_RATE_BP if fee_rate_bp is None else fee_rate_bp
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= 1000:
        raise InvalidInput("the fee rate is basis points from 0 to 1000 (60 = 0.6%)")
    values: dict[str, Any] = {"status": "rejected", "decided_at": now, "note": note[:300]}
    if approve:
        account = ledger_accounts.open_account(
            connection, payable_code(merchant.code), kind=AccountKind.LIABILITY, now=now
        )
        ledger_accounts.open_account(connection, FEE_INCOME, kind=AccountKind.INCOME, now=now)
        values |= {"status": "active", "fee_rate_bp": rate, "payable_account_id": account.id}
    connection.execute(update(merchants).where(merchants.c.id == merchant.id).values(**values))
    return merchant_by_id(connection, merchant.id)


def rotate_key(connection: Connection, code: str) -> Merchant:
    merchant = get_merchant(connection, code)
    connection.execute(
        update(merchants)
        .where(merchants.c.id == merchant.id)
        .values(key_version=merchants.c.key_version + 1)
    )
    return merchant_by_id(connection, merchant.id)


def secret_of(merchant: Merchant) -> str:
    return derive_secret(config.gateway_master_key(), merchant.code, merchant.key_version)


_BY_CODE = select(merchants).where(merchants.c.code == bindparam("code"))
_BY_ID = select(merchants).where(merchants.c.id == bindparam("id"))


def find_merchant(connection: Connection, code: str) -> Merchant | None:
    row = connection.execute(_BY_CODE, {"code": code}).first()
    return None if row is None else merchant_from_row(row)


def get_merchant(connection: Connection, code: str) -> Merchant:
    found = find_merchant(connection, code) if MERCHANT_ID.match(code or "") else None
    if found is None:
        raise UnknownMerchantId(f"no merchant has id {code!r}")
    return found


def merchant_by_id(connection: Connection, merchant_id: int) -> Merchant:
    return merchant_from_row(connection.execute(_BY_ID, {"id": merchant_id}).one())


def list_merchants(connection: Connection, *, status: str | None = None) -> list[Merchant]:
    query = select(merchants).order_by(merchants.c.id)
    if status is not None:
        query = query.where(merchants.c.status == status)
    return [merchant_from_row(row) for row in connection.execute(query)]


def merchants_of_user(connection: Connection, user_id: int) -> list[Merchant]:
    query = select(merchants).where(merchants.c.owner_user_id == user_id).order_by(merchants.c.id)
    return [merchant_from_row(row) for row in connection.execute(query)]
