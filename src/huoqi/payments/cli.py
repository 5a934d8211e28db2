"""``huoqi merchants …`` and ``huoqi payments …``: operators' commands for payments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from huoqi.audit.log import Actor
from huoqi.db.engine import make_engine, read_transaction, run_in_write_transaction
from huoqi.ledger.service import utc_now
from huoqi.money import format_amount
from huoqi.payments import merchants, orders, service, settlement

merchants_app = typer.Typer(help="Merchants: applications, approval, credentials.",
                            no_args_is_help=True)  # fmt: skip
payments_app = typer.Typer(help="Payments: settlement and housekeeping.", no_args_is_help=True)
console = Console()
CLI = Actor(None, "cli")


@merchants_app.command("list")
def list_merchants() -> None:
    """Every merchant and application."""
    with read_transaction(make_engine()) as connection:
        table = Table("id", "name", "status", "fee (bp)", "callback URL", "balance (CNY)")
        for m in merchants.list_merchants(connection):
            owed = settlement.unsettled_balance(connection, m) if m.active else 0
            table.add_row(m.code, m.name, m.status, str(m.fee_rate_bp), m.callback_url,
                          format_amount(owed, grouped=True))  # fmt: skip
    console.print(table)


@merchants_app.command("apply")
def apply(
    name: Annotated[str, typer.Option(help="the shop's name")],
    callback_url: Annotated[str, typer.Option(help="where notifications go")],
) -> None:
    """Register an application (no owner user)."""
    made = run_in_write_transaction(
        make_engine(),
        lambda c: merchants.apply(c, name=name, callback_url=callback_url, owner_user_id=None,
                                  now=utc_now()),
    )  # fmt: skip
    print(made.code)


@merchants_app.command("approve")
def approve(
    merchant_id: str,
    fee_bp: Annotated[int | None, typer.Option(help="basis points, 60 = 0.6%")] = None,
) -> None:
    """Approve an application and print the merchant's secret."""
    merchant, secret = run_in_write_transaction(
        make_engine(),
        lambda c: service.decide_merchant(c, merchant_id, approve=True, fee_rate_bp=fee_bp,
                                          actor=CLI, now=utc_now()),
    )  # fmt: skip
    print(f"MALL_MERCHANT_ID={merchant.code}\nMALL_SECRET={secret}")


@merchants_app.command("credentials")
def credentials(merchant_id: str) -> None:
    """Print a merchant's id and secret as environment lines (derived, never stored)."""
    with read_transaction(make_engine()) as connection:
        merchant = merchants.get_merchant(connection, merchant_id)
    print(f"MALL_MERCHANT_ID={merchant.code}\nMALL_SECRET={merchants.secret_of(merchant)}")


@merchants_app.command("demo")
def demo(
    callback_url: Annotated[str, typer.Option()] = "http://127.0.0.1:8001/notify",
) -> None:
    """Register and approve the demo Mall (again: harmless); print its credentials."""
    from huoqi.service.demo_setup import seed_demo_merchant

    code, secret = seed_demo_merchant(make_engine(), utc_now, callback_url=callback_url)
    print(f"MALL_MERCHANT_ID={code}\nMALL_SECRET={secret}")


@payments_app.command("settle")
def settle(
    business_date: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"])],
) -> None:
    """Settle every merchant's business day (T+1); settling a day again changes nothing."""
    day: date = business_date.date()
    made = run_in_write_transaction(
        make_engine(), lambda c: settlement.settle_all(c, day, now=utc_now())
    )
    for s in made:
        console.print(f"{s.reference} merchant {s.merchant_id}: gross {format_amount(s.gross)}, "
                      f"refunded {format_amount(s.refunded)}, fees {format_amount(s.fees)}, "
                      f"net {format_amount(s.net)} paid {s.settle_date}")  # fmt: skip
    if not made:
        console.print(f"nothing to settle for {day}")


@payments_app.command("notify")
def notify() -> None:
    """Send the notifications that are due now, once (the web app does this by itself)."""
    from huoqi.payments.notify import Notifier

    engine = make_engine()
    notifier = Notifier(lambda work: run_in_write_transaction(engine, work), utc_now)
    try:
        print(f"sent {notifier.run_once()}")
    finally:
        notifier.stop()


@payments_app.command("expire")
def expire() -> None:
    """Close unpaid orders past their expiry."""
    closed = run_in_write_transaction(make_engine(), lambda c: orders.expire_due(c, now=utc_now()))
    print(f"closed {closed}")
