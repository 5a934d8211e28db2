"""Request and response bodies of the payment APIs (gateway, checkout, merchants, operators).

The gateway's answers are the dictionaries of `huoqi.payments.payloads`, the same JSON the
notifications carry; these models describe them in the OpenAPI document and check them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from huoqi.money import parse_amount
from huoqi.web.schemas import AMOUNT_PATTERN, Body, Money

MERCHANT_NUMBER = r"^[A-Za-z0-9_.-]{1,64}$"
ORDER_STATUS = Literal["created", "paying", "paid", "partially_refunded", "refunded", "closed"]


class Amount(Body):
    amount: str = Field(pattern=AMOUNT_PATTERN, max_length=16, examples=["19.99"])

    def fen(self) -> int:
        return parse_amount(self.amount)


class GatewayOrderIn(Amount):
    out_trade_no: str = Field(pattern=MERCHANT_NUMBER, examples=["A-1001"])
    description: str = Field(min_length=1, max_length=128, examples=["Green tea 250 g"])
    expires_in: int | None = Field(default=None, ge=60, le=86_400, description="seconds")
    notify_url: str | None = Field(default=None, max_length=500)
    return_url: str | None = Field(default=None, max_length=500)


class RefundIn(Amount):
    out_refund_no: str = Field(pattern=MERCHANT_NUMBER, examples=["R-1001-1"])
    reason: str = Field(default="", max_length=128)


class RefundOut(BaseModel):
    refund_no: str
    out_refund_no: str
    out_trade_no: str
    amount: Money
    reason: str
    status: Literal["succeeded"]
    created_at: str


class GatewayOrderOut(BaseModel):
    order_no: str
    merchant_id: str
    out_trade_no: str
    amount: Money
    description: str
    status: ORDER_STATUS
    method: Literal["balance", "card"] | None
    created_at: str
    expires_at: str
    paid_at: str | None
    closed_at: str | None
    refunded: Money
    checkout_url: str
    refunds: list[RefundOut]


class BalanceOut(BaseModel):
    balance: Money = Field(description="payments less refunds not yet settled")


class SettlementOut(BaseModel):
    reference: str
    merchant_id: str
    business_date: str
    settle_date: str
    payments: int
    refunds: int
    gross: Money
    refunded: Money
    fees: Money
    net: Money


class PayIn(Body):
    method: Literal["balance", "card"] = "balance"


class CheckoutOut(BaseModel):
    order_no: str
    merchant: str
    description: str
    amount: Money
    status: ORDER_STATUS
    method: Literal["balance", "card"] | None
    expires_at: str
    return_url: str


class MerchantApplicationIn(Body):
    name: str = Field(min_length=1, max_length=100, examples=["Tea House"])
    callback_url: str = Field(min_length=8, max_length=500, examples=["https://tea.example/notify"])


class MerchantOut(BaseModel):
    merchant_id: str
    name: str
    callback_url: str
    fee_rate_bp: int
    status: Literal["applied", "active", "rejected", "suspended"]
    applied_at: str
    balance: Money | None = None


class DecisionIn(Body):
    fee_rate_bp: int | None = Field(default=None, ge=0, le=1000, description="60 = 0.6%")
    note: str = Field(default="", max_length=300)


class ApprovedOut(MerchantOut):
    secret: str = Field(description="shown once; sign gateway requests with it")


class PaymentLimitIn(Body):
    payment_daily_limit: str = Field(pattern=AMOUNT_PATTERN, max_length=16, examples=["50000.00"])


class PaymentLimitOut(BaseModel):
    payment_daily_limit: Money


class NotificationOut(BaseModel):
    event_id: str
    merchant_id: str
    event: str
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str
    last_error: str


class BankCallbackIn(Body):
    reference: str = Field(min_length=1, max_length=64)
    status: Literal["succeeded", "declined"]
    amount: str = Field(pattern=AMOUNT_PATTERN, max_length=16)


class BankCallbackOut(BaseModel):
    reference: str
    order_status: str | None
