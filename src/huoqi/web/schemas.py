"""Request and response bodies of the HTTP API.

Amounts travel as decimal text in CNY (``"100.00"``), never as JSON numbers that a
client might parse into a float; answers carry the exact integer fen beside the text.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from huoqi.fund.orders import Order
from huoqi.money import format_amount, parse_amount
from huoqi.web.problems import ApiProblem

AMOUNT_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"  # ASCII digits only: \d would take "１２"
PHONE_EXAMPLE = "13800138000"
MAX_ID = 2**63 - 1  # ids are signed 64-bit columns; a larger one would fail in the driver


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AmountIn(Body):
    amount: str = Field(
        pattern=AMOUNT_PATTERN,
        max_length=16,
        examples=["100.00"],
        description="CNY with at most two decimals",
    )

    def fen(self) -> int:
        return parse_amount(self.amount)


class Money(BaseModel):
    fen: int = Field(examples=[10000])
    cny: str = Field(examples=["100.00"])

    @classmethod
    def of(cls, fen: int) -> Money:
        return cls(fen=fen, cny=format_amount(fen))


def as_utc(value: datetime) -> datetime:
    """Timestamps are stored in UTC; SQLite hands them back without their zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- identity -------------------------------------------------------------------------


class SignUpIn(Body):
    phone: str = Field(min_length=11, max_length=20, examples=[PHONE_EXAMPLE])
    password: str = Field(min_length=8, max_length=128, examples=["correct horse 42"])
    display_name: str = Field(default="", max_length=60, examples=["Li Wei"])
    fund_code: str = Field(default="HQ001", max_length=16, pattern=r"^[0-9A-Za-z]{1,16}$")


class SignInIn(Body):
    phone: str = Field(min_length=11, max_length=20, examples=[PHONE_EXAMPLE])
    password: str = Field(min_length=1, max_length=128, examples=["correct horse 42"])


class PasswordChangeIn(Body):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class UserOut(BaseModel):
    id: int
    phone: str = Field(description="masked", examples=["138****8000"])
    role: Literal["customer", "merchant", "operator", "auditor"]
    display_name: str
    created_at: datetime


class SessionOut(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>'")
    expires_at: datetime
    user: UserOut


# --- current account ------------------------------------------------------------------


class OrderOut(BaseModel):
    id: int
    kind: Literal["purchase", "redemption", "instant_redemption"]
    status: Literal["awaiting_payment", "requested", "confirmed", "paid", "failed"]
    amount: Money
    fund_code: str
    requested_at: datetime
    trade_date: date
    confirm_date: date = Field(description="purchases: shares confirmed and start earning")
    payout_date: date | None = Field(description="redemptions: the day the cash arrives")
    note: str

    @classmethod
    def of(cls, order: Order, fund_code: str) -> OrderOut:
        return cls(
            id=order.id,
            kind=order.kind,  # type: ignore[arg-type]
            status=order.status,  # type: ignore[arg-type]
            amount=Money.of(order.amount),
            fund_code=fund_code,
            requested_at=as_utc(order.requested_at),
            trade_date=order.trade_date,
            confirm_date=order.confirm_date,
            payout_date=order.payout_date,
            note=order.note,
        )


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class RedeemIn(AmountIn):
    mode: Literal["instant", "normal"] = "normal"


class SwitchIn(Body):
    fund_code: str = Field(max_length=16, pattern=r"^[0-9A-Za-z]{1,16}$", examples=["HQ002"])


class SwitchOut(BaseModel):
    redemption: OrderOut | None
    purchase: OrderOut | None


class SummaryOut(BaseModel):
    fund_code: str
    fund_name: str
    total: Money
    available: Money
    pending_purchases: Money
    pending_redemptions: Money
    last_income_date: date | None
    last_income: Money
    cumulative_income: Money
    yield_7d: str | None = Field(description="percent, 3 decimals", examples=["2.345"])
    yield_date: date | None
    instant_limit: Money
    instant_remaining: Money


class IncomeDay(BaseModel):
    date: date
    income: Money


class QuoteOut(BaseModel):
    mode: Literal["instant", "normal"]
    amount: Money
    available: Money
    trade_date: date
    payout_date: date
    last_income_date: date
    instant_remaining: Money
    allowed: bool
    reason: str | None


class FundOut(BaseModel):
    code: str
    name: str
    manager: str
    carry: Literal["daily", "monthly"]
    status: str
    yield_7d: str | None
    yield_date: date | None


class FundIn(Body):
    code: str = Field(max_length=16, pattern=r"^[0-9A-Za-z]{1,16}$", examples=["HQ004"])
    name: str = Field(min_length=1, max_length=200, examples=["Huoqi Cash Fund C"])
    manager: str = Field(default="", max_length=200)
    carry: Literal["daily", "monthly"] = "daily"


class PoolOut(BaseModel):
    balance: Money


class YieldOut(BaseModel):
    date: date
    income_per_10k: str = Field(examples=["0.6512"])
    yield_7d: str | None
    yield_14d: str | None
    yield_28d: str | None


# --- operators ------------------------------------------------------------------------


class IncomeReportOut(BaseModel):
    fund: str
    accepted: bool
    rows: int
    inserted: int
    unchanged: int
    corrected: int
    first: date | None
    last: date | None
    problem: str | None


class CloseIn(Body):
    through: date | None = Field(default=None, description="default: yesterday (Shanghai)")
    fund_code: str | None = Field(default=None, max_length=16, pattern=r"^[0-9A-Za-z]{1,16}$")


class JobOut(BaseModel):
    id: int
    kind: str
    status: Literal["running", "done", "failed"]
    through: date
    fund: str | None
    step: str
    done: int
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    closed: list[dict[str, Any]]


class LimitsIn(Body):
    per_customer_daily: str | None = Field(default=None, pattern=AMOUNT_PATTERN)
    platform_daily: str | None = Field(default=None, pattern=AMOUNT_PATTERN)


class LimitsOut(BaseModel):
    per_customer_daily: Money
    platform_daily: Money


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    address: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


class UserCardOut(BaseModel):
    id: int
    phone: str = Field(description="masked")
    role: str
    display_name: str
    fund_code: str | None
    locked: bool
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserCardOut]
    next_cursor: str | None


class DayReportOut(BaseModel):
    date: date
    aum: Money
    income: Money
    purchases: Money
    redemptions: Money
    instant_redemptions: Money
    accounts_earning: int


# --- cursors --------------------------------------------------------------------------


def encode_cursor(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, _, value = text.partition(":")
        if found != kind or not value.isdigit() or int(value) > MAX_ID:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(
            400, "invalid_cursor", "this cursor is not one we gave out for this list"
        ) from None
