"""Demo and staff accounts: the logins `make run` prints, and staff created by hand.

`seed_demo_logins` gives the demo a customer with history (the simulation's first
customer, who has been saving for the whole simulated period), an operator and an
auditor. `prepare_fresh_platform` registers the simulation's funds and funds the
instant-redemption pool on an empty database (end-to-end tests start there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from huoqi.audit.log import Actor, record
from huoqi.db.engine import run_in_write_transaction
from huoqi.fund.registry import Carry
from huoqi.fund.service import FundDesk
from huoqi.fund.simulate import FUNDS
from huoqi.fund.tables import holders
from huoqi.identity import service as identity
from huoqi.service.customer import open_current_account


@dataclass(frozen=True, slots=True)
class Login:
    role: str
    phone: str
    password: str


DEMO_LOGINS = (
    Login("customer", "13800000001", "huoqi-demo-customer"),
    Login("operator", "13900000001", "huoqi-demo-operator"),
    Login("auditor", "13700000001", "huoqi-demo-auditor"),
)
SETUP = Actor(None, "setup")


def add_user(
    engine: Engine,
    *,
    phone: str,
    password: str,
    role: str,
    now: datetime,
    display_name: str = "",
    customer_ref: str | None = None,
    fund_code: str | None = None,
) -> identity.User:
    """A user of any role; a customer gets the holder ``customer_ref`` or a new account."""

    def work(connection: Connection) -> identity.User:
        existing = identity.find_user_by_phone(connection, phone)
        if existing is not None:
            return existing
        user = identity.sign_up(
            connection,
            phone=phone,
            password=password,
            now=now,
            role=role,
            display_name=display_name,
            customer_ref=customer_ref,
        )
        record(
            connection,
            SETUP,
            "user.create",
            now=now,
            object_type="user",
            object_id=user.id,
            detail={"role": role},
        )
        if role == "customer" and customer_ref is None:
            open_current_account(
                connection, user, fund_code=fund_code or FUNDS[0][0], actor=SETUP, now=now
            )
        return identity.get_user(connection, user.id)

    return run_in_write_transaction(engine, work)


def seed_demo_logins(engine: Engine, clock: Callable[[], datetime]) -> tuple[Login, ...]:
    """The demo logins (again: harmless). The customer takes over the simulation's first
    customer and their history when there is one."""
    from huoqi.db.engine import read_transaction

    with read_transaction(engine) as connection:
        first = connection.execute(
            select(holders.c.customer_ref)
            .where(holders.c.customer_ref.like("sim:%"))
            .order_by(holders.c.id)
            .limit(1)
        ).scalar_one_or_none()
    for login in DEMO_LOGINS:
        add_user(
            engine,
            phone=login.phone,
            password=login.password,
            role=login.role,
            now=clock(),
            display_name=f"Demo {login.role}",
            customer_ref=first if login.role == "customer" else None,
        )
    return DEMO_LOGINS


def prepare_fresh_platform(engine: Engine, clock: Callable[[], datetime]) -> None:
    """Register the demo funds and fund the advance pool (again: harmless)."""
    desk = FundDesk(engine, clock=clock)
    for code, name, manager, carry, _base in FUNDS:
        desk.add_fund(code=code, name=name, manager=manager, carry=Carry(carry))
    desk.fund_advance_pool(1_000_000_000, key="setup:advance-pool")


MALL_NAME = "Huoqi Mall"


def seed_demo_merchant(
    engine: Engine, clock: Callable[[], datetime], *, callback_url: str
) -> tuple[str, str]:
    """The demo Mall as an approved merchant (again: harmless); returns its id and secret."""
    from huoqi.payments import merchants
    from huoqi.payments import service as payments

    def work(connection: Connection) -> tuple[str, str]:
        existing = [m for m in merchants.list_merchants(connection) if m.name == MALL_NAME]
        if existing:
            merchant = existing[0]
        else:
            applied = merchants.apply(
                connection, name=MALL_NAME, callback_url=callback_url, owner_user_id=None,
                now=clock(),
            )  # fmt: skip
            merchant, _ = payments.decide_merchant(
                connection, applied.code, approve=True, fee_rate_bp=None, actor=SETUP,
                now=clock(),
            )  # fmt: skip
        return merchant.code, merchants.secret_of(merchant)

    return run_in_write_transaction(engine, work)
