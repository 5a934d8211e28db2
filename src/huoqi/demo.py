"""A short, repeatable tour of the ledger, used by ``make run`` until the app exists.

Every step carries a fixed idempotency key, so running the demo twice changes nothing the
second time: the ledger answers with the entries it already has.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from huoqi.cli_support import ledger_from_env
from huoqi.errors import HuoqiError
from huoqi.ledger.domain import AccountKind, EntryRequest, HoldRequest, Posting, transfer
from huoqi.money import format_amount

CUSTOMERS = ("alice", "bo", "chen")
#: A fixed expiry keeps the hold request identical from run to run (same key, same payload).
DEMO_HOLD_EXPIRY = datetime(2099, 12, 31, tzinfo=UTC)


def run_demo(console: Console) -> None:
    ledger = ledger_from_env()
    ledger.add_asset("MMF.000198", scale=2, name="Tianhong Yu'ebao money fund shares")
    bank = ledger.open_account("platform:bank", kind=AccountKind.ASSET)
    fund_cash = ledger.open_account("fund:000198:cash-due", kind=AccountKind.LIABILITY)
    mall = ledger.open_account("merchant:mall:wallet", kind=AccountKind.LIABILITY)
    shares_issued = ledger.open_account(
        "fund:000198:shares-issued", asset="MMF.000198", kind=AccountKind.EQUITY
    )
    wallets = {
        name: ledger.open_account(f"customer:{name}:wallet", kind=AccountKind.LIABILITY)
        for name in CUSTOMERS
    }
    shares = {
        name: ledger.open_account(
            f"customer:{name}:shares", asset="MMF.000198", kind=AccountKind.LIABILITY
        )
        for name in CUSTOMERS
    }

    console.rule("Top-ups from bank cards (fen, exact)")
    for n, name in enumerate(CUSTOMERS, start=1):
        amount = 50_000 * n
        posted = ledger.post(
            transfer(
                f"demo:topup:{name}",
                debit=bank.id,
                credit=wallets[name].id,
                amount=amount,
                memo="bank card top-up",
                kind="top_up",
            )
        )
        console.print(
            f"{name}: +{format_amount(amount)} CNY -> entry {posted.entry_id}"
            + (" (replayed)" if posted.replayed else "")
        )

    console.rule("Alice buys 300.00 of money-fund shares: cash and shares meet in one entry")
    ledger.post(
        EntryRequest(
            "demo:purchase:alice",
            (
                Posting(wallets["alice"].id, 30_000),
                Posting(fund_cash.id, -30_000),
                Posting(shares_issued.id, 30_000),
                Posting(shares["alice"].id, -30_000),
            ),
            "purchase of 300.00 shares",
            "purchase",
        )
    )

    console.rule("Bo pays 88.00 in the Mall with a two-phase transfer")
    held = ledger.hold(
        HoldRequest(
            "demo:hold:bo",
            wallets["bo"].id,
            mall.id,
            8_800,
            DEMO_HOLD_EXPIRY,
            "Mall order 1001",
        )
    )
    ledger.post_hold(held.id, key="demo:capture:bo", amount=8_800)

    console.rule("Chen tries to spend more than he has")
    try:
        ledger.post(
            transfer(
                "demo:overspend:chen", debit=wallets["chen"].id, credit=mall.id, amount=10_000_000
            )
        )
    except HuoqiError as error:
        console.print(f"[yellow]refused{escape(f'[{error.code}]')}:[/] {escape(error.detail)}")

    table = Table("account", "asset", "balance")
    for account in (bank, fund_cash, mall, *wallets.values(), *shares.values()):
        balance = ledger.balance(account.id)
        table.add_row(
            account.code, account.asset, format_amount(balance.posted_on_normal_side(account.kind))
        )
    console.print(table)
    report = ledger.trial_balance(deep=True)
    console.print("[green]trial balance holds[/]" if report.ok else f"[red]{report.problems}[/]")
