"""``huoqi current ...``: a customer's current account from the command line.

Open an account, buy (the bank's answer arrives through ``bank-answer``, as a payment
gateway's callback would), redeem normally or instantly, switch funds, and list the
orders with their status and dates. Operators set the instant-redemption limits and fund
the platform's advance pool here too. Amounts are CNY with up to two decimals; every
money-moving command takes ``--key``, its idempotency key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from huoqi.db.engine import make_engine
from huoqi.money import format_amount, parse_amount

if TYPE_CHECKING:
    from huoqi.fund.orders import Order
    from huoqi.fund.service import FundDesk

current_app = typer.Typer(help="Customers' current accounts.", no_args_is_help=True)
console = Console()

Customer = Annotated[str, typer.Option("--customer", help="The customer's reference.")]
Key = Annotated[str, typer.Option("--key", help="Idempotency key of this request.")]
Amount = Annotated[str, typer.Option("--amount", help="CNY, e.g. 100.00.")]


def _desk() -> FundDesk:
    from huoqi.fund.service import FundDesk

    return FundDesk(make_engine())


def _show(order: Order) -> None:
    payout = f", paid out {order.payout_date}" if order.payout_date else ""
    reference = f", bank reference {order.bank_reference}" if order.bank_reference else ""
    console.print(
        f"order {order.id}: {order.kind} of {format_amount(order.amount, grouped=True)} CNY, "
        f"{order.status}; trade date {order.trade_date}, confirms {order.confirm_date}"
        f"{payout}{reference}"
    )


@current_app.command("open")
def open_account(
    customer: Customer,
    fund: Annotated[str, typer.Option("--fund", help="The fund behind the account.")],
) -> None:
    """Open a customer's current account backed by a fund (again: harmless)."""
    holder = _desk().open_holder(customer, fund)
    console.print(f"current account {holder.id} for {holder.customer_ref}")


@current_app.command("buy")
def buy(customer: Customer, amount: Amount, key: Key) -> None:
    """Ask the bank for the money to buy shares; the order waits for the bank's answer."""
    _show(_desk().buy(customer, parse_amount(amount), key=key))


@current_app.command("bank-answer")
def bank_answer(
    reference: Annotated[str, typer.Option("--reference", help="The order's bank reference.")],
    declined: Annotated[bool, typer.Option("--declined", help="The bank refused.")] = False,
) -> None:
    """Record the bank's answer for a purchase (a repeated answer changes nothing)."""
    _show(_desk().payment_result(reference, not declined))


@current_app.command("redeem")
def redeem(
    customer: Customer,
    amount: Amount,
    key: Key,
    instant: Annotated[bool, typer.Option("--instant", help="Cash now, within limits.")] = False,
) -> None:
    """Redeem shares: paid the next trading day, or at once with ``--instant``."""
    _show(_desk().redeem(customer, parse_amount(amount), key=key, instant=instant))


@current_app.command("switch")
def switch(
    customer: Customer,
    fund: Annotated[str, typer.Option("--fund", help="The fund to move to.")],
    key: Key,
) -> None:
    """Move the account to another fund: redeem every share, subscribe the proceeds."""
    moved = _desk().switch_fund(customer, fund, key=key)
    if moved.redemption is None:
        console.print(f"now backed by fund {fund}; there were no shares to move")
    for order in (moved.redemption, moved.purchase):
        if order is not None:
            _show(order)


@current_app.command("orders")
def orders(customer: Customer) -> None:
    """The customer's latest orders with their status and dates."""
    table = Table("id", "kind", "amount", "status", "trade date", "confirms", "paid out", "note")
    for order in _desk().orders(customer):
        table.add_row(
            str(order.id), order.kind, format_amount(order.amount, grouped=True), order.status,
            str(order.trade_date), str(order.confirm_date), str(order.payout_date or "-"),
            order.note,
        )  # fmt: skip
    console.print(table)


@current_app.command("limits")
def limits(
    per_customer: Annotated[
        str | None, typer.Option("--per-customer", help="Daily instant limit, CNY.")
    ] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="Platform-wide daily quota, CNY.")
    ] = None,
) -> None:
    """Show, or change, the instant-redemption limits."""
    desk = _desk()
    if per_customer is None and platform is None:
        now = desk.instant_limits()
    else:
        now = desk.set_instant_limits(
            per_holder_daily=None
            if per_customer is None
            else parse_amount(per_customer, allow_zero=True),
            platform_daily=None if platform is None else parse_amount(platform, allow_zero=True),
        )
    console.print(
        f"instant redemption: {format_amount(now.per_holder_daily, grouped=True)} CNY per "
        f"customer per fund per day; platform quota "
        f"{format_amount(now.platform_daily, grouped=True)} CNY per day"
    )


@current_app.command("fund-pool")
def fund_pool(amount: Amount, key: Key) -> None:
    """Put the platform's own money into the instant-redemption advance pool."""
    _desk().fund_advance_pool(parse_amount(amount), key=key)
    console.print(f"advance pool funded with {amount} CNY")
