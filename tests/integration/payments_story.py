"""Shared set-up for the payments tests: a fund, funded customers, an approved merchant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fund_story import Story, at, story
from sqlalchemy import Connection, Engine, text

from huoqi.audit.log import Actor
from huoqi.db.engine import read_transaction, run_in_write_transaction
from huoqi.identity import service as identity
from huoqi.payments import orders as payment_orders
from huoqi.payments import service
from huoqi.payments.merchants import Merchant
from huoqi.payments.orders import PaymentOrder
from huoqi.payments.paying import Payer

OPERATOR = Actor(None, "test-operator")


@dataclass
class Shop:
    story: Story
    engine: Engine
    merchant: Merchant
    secret: str
    customers: dict[str, identity.User]

    @property
    def now(self) -> datetime:
        return self.story.clock.now

    def write(self, work):  # type: ignore[no-untyped-def]
        return run_in_write_transaction(self.engine, work)

    def order(self, number: str, fen: int, **extra: object) -> PaymentOrder:
        made, _ = self.write(
            lambda c: payment_orders.create_order(
                c, merchant=self.merchant, out_trade_no=number, amount=fen,
                description=f"goods {number}", now=self.now, **extra,
            )
        )  # fmt: skip
        return made  # type: ignore[no-any-return]

    def payer(self, name: str) -> Payer:
        with read_transaction(self.engine) as connection:
            return service.payer_of(connection, self.customers[name])

    def pay(self, name: str, order_no: str, method: str = "balance") -> PaymentOrder:
        return self.write(  # type: ignore[no-any-return]
            lambda c: service.pay(c, self.customers[name], order_no=order_no, method=method,
                                  actor=Actor(self.customers[name].id, "customer"), now=self.now)
        )  # fmt: skip

    def refund(self, number: str, refund_no: str, fen: int, reason: str = ""):  # type: ignore[no-untyped-def]
        return self.write(
            lambda c: service.refund(c, self.merchant, out_trade_no=number,
                                     out_refund_no=refund_no, amount=fen, reason=reason,
                                     now=self.now)
        )  # fmt: skip


def add_customer(connection: Connection, name: str, index: int, now: datetime) -> identity.User:
    """A customer user without the password hashing cost (tests need many)."""
    user_id = connection.execute(
        text("INSERT INTO users (phone, password_hash, role, display_name, customer_ref, "
             "failed_sign_ins, created_at, password_changed_at) VALUES (:phone, 'x', "
             "'customer', :name, :ref, 0, :now, :now) RETURNING id"),
        {"phone": f"86138{index:08d}", "name": name, "ref": name, "now": now},
    ).scalar_one()  # fmt: skip
    return identity.get_user(connection, user_id)


def shop(engine: Engine, customers: list[str], fen: int, *, fee_rate_bp: int = 60) -> Shop:
    """Customers with ``fen`` of confirmed shares each, and merchant "Tea House" approved."""
    s = story(engine)
    for name in customers:
        s.desk.open_holder(name, "MMF1")
        s.clock.now = at(2, 9)
        s.buy(name, fen, key=f"{name}-buy")
    s.clock.now = at(4, 1)
    s.desk.close(date(2026, 11, 3))
    s.clock.now = at(4, 10)
    users = run_in_write_transaction(
        engine,
        lambda c: {name: add_customer(c, name, n, s.clock.now) for n, name in enumerate(customers)},
    )
    owner = users[customers[0]] if customers else None

    def approve(connection: Connection) -> tuple[Merchant, str]:
        applied = service.apply_merchant(
            connection, owner, name="Tea House", callback_url="http://127.0.0.1:9/notify",
            actor=OPERATOR, now=s.clock.now,
        ) if owner else None  # fmt: skip
        assert applied is not None
        merchant, secret = service.decide_merchant(
            connection, applied.code, approve=True, fee_rate_bp=fee_rate_bp, actor=OPERATOR,
            now=s.clock.now,
        )  # fmt: skip
        assert secret is not None
        return merchant, secret

    merchant, secret = run_in_write_transaction(engine, approve)
    return Shop(s, engine, merchant, secret, users)


def balance(engine: Engine, code: str) -> int:
    """An account's posted balance on its normal side's sign: debits − credits."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT debits_posted - credits_posted FROM accounts WHERE code = :c"),
                {"c": code},
            ).scalar_one()
        )
