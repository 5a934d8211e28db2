"""What a signed-in customer does, each step audited in the same transaction.

Functions take a connection and never commit (the caller's unit of work does), so the
HTTP layer can keep the idempotent answer in that same transaction too. A customer's
idempotency keys are their own: the key the fund layer sees is scoped by user id, so two
customers who both send ``Idempotency-Key: 1`` never meet.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection

from huoqi.audit.log import Actor, record
from huoqi.errors import HuoqiError
from huoqi.fund import orders, registry
from huoqi.fund.orders import Order
from huoqi.fund.registry import Holder
from huoqi.fund.switch import Switch, switch_fund
from huoqi.identity.service import Forbidden, User, link_customer
from huoqi.money import format_amount

DEFAULT_FUND = "HQ001"


class NoCurrentAccount(HuoqiError):
    code = "no_current_account"
    status = 403
    title = "No current account"


def scoped_key(user: User, key: str) -> str:
    """The key the fund and ledger layers see: the user's id and a digest of the client's key.

    A digest keeps it short whatever the client sent (up to 128 characters), so the layers
    below can add their own prefixes and suffixes within their 128-character columns.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"api:{user.id}:{digest}"


def holder_of(connection: Connection, user: User) -> Holder:
    if user.role != "customer":
        raise Forbidden("only customers have a current account")
    if user.customer_ref is None:
        raise NoCurrentAccount("this customer has no current account yet")
    return registry.get_holder(connection, user.customer_ref)


def open_current_account(
    connection: Connection, user: User, *, fund_code: str, actor: Actor, now: datetime
) -> Holder:
    fund = registry.get_fund(connection, fund_code)
    orders.check_open(fund)
    ref = f"user:{user.id}"
    holder = registry.open_holder(connection, customer_ref=ref, fund=fund, now=now)
    link_customer(connection, user.id, ref)
    record(
        connection,
        actor,
        "current_account.open",
        now=now,
        object_type="holder",
        object_id=holder.id,
        detail={"fund": fund.code},
    )
    return holder


def buy(
    connection: Connection, user: User, *, amount: int, key: str, actor: Actor, now: datetime
) -> Order:
    holder = holder_of(connection, user)
    fund = registry.fund_by_id(connection, holder.fund_id)
    order = orders.purchase(
        connection, holder=holder, fund=fund, amount=amount, key=scoped_key(user, key), at=now
    )
    _audit(connection, actor, "order.purchase", order, now)
    return order


def redeem(
    connection: Connection,
    user: User,
    *,
    amount: int,
    key: str,
    instant: bool,
    actor: Actor,
    now: datetime,
) -> Order:
    holder = holder_of(connection, user)
    fund = registry.fund_by_id(connection, holder.fund_id)
    operation = orders.instant_redeem if instant else orders.redeem
    order = operation(
        connection, holder=holder, fund=fund, amount=amount, key=scoped_key(user, key), at=now
    )
    _audit(connection, actor, f"order.{order.kind}", order, now)
    return order


def switch(
    connection: Connection,
    user: User,
    *,
    fund_code: str,
    key: str,
    actor: Actor,
    now: datetime,
) -> Switch:
    holder = holder_of(connection, user)
    fund = registry.get_fund(connection, fund_code)
    moved = switch_fund(connection, holder=holder, to_fund=fund, key=scoped_key(user, key), at=now)
    record(
        connection,
        actor,
        "current_account.switch",
        now=now,
        object_type="holder",
        object_id=holder.id,
        detail={"to": fund.code},
    )
    return moved


def _audit(connection: Connection, actor: Actor, action: str, order: Order, now: datetime) -> None:
    record(
        connection,
        actor,
        action,
        now=now,
        object_type="order",
        object_id=order.id,
        detail={"amount": format_amount(order.amount), "status": order.status},
    )
