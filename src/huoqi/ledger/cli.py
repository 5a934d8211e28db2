"""``huoqi ledger ...``: open accounts, post, hold/post/void, reverse and inspect.

Accounts are named by their code; amounts are decimals in the account's asset
(``12.34`` CNY is 1234 fen). Every money-moving command takes ``--key``, its idempotency
key: running the same command again is harmless.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from huoqi.cli_support import ledger_from_env, parse_date
from huoqi.ledger.domain import (
    Account,
    AccountKind,
    BalanceRule,
    EntryRequest,
    HoldRequest,
    Posting,
    transfer,
)
from huoqi.ledger.posting import Posted
from huoqi.ledger.service import Ledger
from huoqi.money import InvalidAmount, format_amount, parse_amount

app = typer.Typer(help="Accounts, journal entries, holds and balances.", no_args_is_help=True)
account_app = typer.Typer(help="Open and list accounts.", no_args_is_help=True)
asset_app = typer.Typer(help="Currencies and fund-share assets.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(asset_app, name="asset")
console = Console()

Key = Annotated[str, typer.Option("--key", help="Idempotency key of this request.")]
Memo = Annotated[str, typer.Option("--memo", help="What the movement is for.")]


def _amount(ledger: Ledger, account: Account, text: str) -> int:
    return parse_amount(text, scale=ledger.asset(account.asset).scale)


def _say_posted(outcome: Posted) -> None:
    note = " (replayed: this key was already posted)" if outcome.replayed else ""
    console.print(f"entry {outcome.entry_id} posted{note}")


@asset_app.command("add")
def asset_add(
    code: str,
    scale: Annotated[int, typer.Option(help="Decimals of the minor unit.")] = 2,
    name: Annotated[str, typer.Option(help="A readable name.")] = "",
) -> None:
    """Add an asset, e.g. a money fund's shares: ``huoqi ledger asset add MMF.000198``."""
    asset = ledger_from_env().add_asset(code, scale=scale, name=name)
    console.print(f"asset {asset.code} (scale {asset.scale})")


@asset_app.command("list")
def asset_list() -> None:
    """List assets."""
    table = Table("code", "scale", "name")
    for asset in ledger_from_env().assets():
        table.add_row(asset.code, str(asset.scale), asset.name)
    console.print(table)


@account_app.command("open")
def account_open(
    code: str,
    kind: Annotated[AccountKind, typer.Option(help="Account kind.")],
    asset: Annotated[str, typer.Option(help="Asset the account holds.")] = "CNY",
    rule: Annotated[
        BalanceRule | None, typer.Option(help="Balance rule (default: no overdraft).")
    ] = None,
    overdraft_limit: Annotated[
        str, typer.Option(help="Overdraft allowed by the rule, in the asset's units.")
    ] = "0",
) -> None:
    """Open an account (again with the same settings: harmless)."""
    ledger = ledger_from_env()
    limit = parse_amount(overdraft_limit, scale=ledger.asset(asset).scale, allow_zero=True)
    account = ledger.open_account(code, asset=asset, kind=kind, rule=rule, overdraft_limit=limit)
    console.print(f"account {account.code} #{account.id} {account.kind} {account.rule}")


@account_app.command("list")
def account_list(
    after: Annotated[int, typer.Option(help="Show accounts after this id.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """List accounts with their balances."""
    ledger = ledger_from_env()
    scales = {asset.code: asset.scale for asset in ledger.assets()}
    table = Table("id", "code", "asset", "kind", "rule", "balance", "pending out", "pending in")
    for account, balance in ledger.accounts(after_id=after, limit=limit):
        scale = scales[account.asset]
        table.add_row(
            str(account.id),
            account.code,
            account.asset,
            account.kind,
            account.rule,
            format_amount(balance.posted_on_normal_side(account.kind), scale=scale),
            format_amount(balance.debits_pending, scale=scale),
            format_amount(balance.credits_pending, scale=scale),
        )
    console.print(table)


@app.command("post")
def post(
    key: Key,
    debit: Annotated[str, typer.Option(help="Account debited (money leaves a wallet).")],
    credit: Annotated[str, typer.Option(help="Account credited.")],
    amount: Annotated[str, typer.Option(help="Amount, e.g. 12.34.")],
    memo: Memo = "",
) -> None:
    """Post a transfer: one debit and one credit of the same amount."""
    ledger = ledger_from_env()
    debit_account, credit_account = ledger.account(debit), ledger.account(credit)
    minor = _amount(ledger, debit_account, amount)
    _say_posted(
        ledger.post(
            transfer(key, debit=debit_account.id, credit=credit_account.id, amount=minor, memo=memo)
        )
    )


@app.command("entry")
def entry(
    key: Key,
    posting: Annotated[
        list[str],
        typer.Option(
            "--posting", "-p", help="ACCOUNT=AMOUNT, debit positive, credit negative; repeat."
        ),
    ],
    memo: Memo = "",
) -> None:
    """Post a journal entry of any number of postings that balance per asset."""
    ledger = ledger_from_env()
    postings: list[Posting] = []
    for item in posting:
        code, sep, text = item.partition("=")
        if not sep:
            raise InvalidAmount(f"posting {item!r} must look like ACCOUNT=AMOUNT")
        account = ledger.account(code.strip())
        text = text.strip()
        sign = -1 if text.startswith("-") else 1
        minor = _amount(ledger, account, text.lstrip("+-"))
        postings.append(Posting(account.id, sign * minor))
    _say_posted(ledger.post(EntryRequest(key, tuple(postings), memo, "manual")))


@app.command("hold")
def hold(  # noqa: PLR0917 (one parameter per command-line option)
    key: Key,
    debit: Annotated[str, typer.Option(help="Account whose funds are reserved.")],
    credit: Annotated[str, typer.Option(help="Account that will receive them.")],
    amount: Annotated[str, typer.Option(help="Amount, e.g. 12.34.")],
    expires_in: Annotated[
        int | None, typer.Option(help="Seconds until the hold expires.", min=1)
    ] = None,
    memo: Memo = "",
) -> None:
    """Reserve funds (first phase of a two-phase transfer)."""
    ledger = ledger_from_env()
    debit_account, credit_account = ledger.account(debit), ledger.account(credit)
    expires_at = ledger.clock() + timedelta(seconds=expires_in) if expires_in else None
    placed = ledger.hold(
        HoldRequest(
            key,
            debit_account.id,
            credit_account.id,
            _amount(ledger, debit_account, amount),
            expires_at,
            memo,
        )
    )
    until = f", expires {placed.expires_at:%Y-%m-%d %H:%M:%S} UTC" if placed.expires_at else ""
    console.print(f"hold {placed.id} {placed.status}{until}")


@app.command("hold-post")
def hold_post(
    hold_id: int,
    key: Key,
    amount: Annotated[
        str | None, typer.Option(help="Post only this much; the rest is released.")
    ] = None,
) -> None:
    """Post a pending hold, in full or in part."""
    ledger = ledger_from_env()
    found = ledger.get_hold(hold_id)
    minor = None
    if amount is not None and found is not None:
        minor = _amount(ledger, ledger.account(found.debit_account_id), amount)
    _say_posted(ledger.post_hold(hold_id, key=key, amount=minor))


@app.command("hold-void")
def hold_void(hold_id: int) -> None:
    """Release a pending hold."""
    voided = ledger_from_env().void_hold(hold_id)
    console.print(f"hold {voided.id} {voided.status}")


@app.command("expire-holds")
def expire_holds() -> None:
    """Expire every pending hold whose time has passed."""
    console.print(f"{ledger_from_env().expire_holds()} holds expired")


@app.command("reverse")
def reverse(entry_id: int, key: Key, memo: Memo = "") -> None:
    """Post the exact opposite of an entry (entries are never edited)."""
    _say_posted(ledger_from_env().reverse(entry_id, key=key, memo=memo))


@app.command("balance")
def balance(
    account: str,
    as_of: Annotated[
        str | None, typer.Option(help="Posted balance at the end of this business date.")
    ] = None,
) -> None:
    """Show an account's balance, now or as of a past business date."""
    ledger = ledger_from_env()
    found = ledger.account(account)
    scale = ledger.asset(found.asset).scale
    day: date | None = parse_date(as_of) if as_of else None
    totals = ledger.balance(found.id, as_of=day)
    when = f" as of {day}" if day else ""
    shown = format_amount(totals.posted_on_normal_side(found.kind), scale=scale)
    console.print(
        f"{found.code}{when}: {shown}"
        f" {found.asset} (debits {format_amount(totals.debits_posted, scale=scale)},"
        f" credits {format_amount(totals.credits_posted, scale=scale)},"
        f" pending out {format_amount(totals.debits_pending, scale=scale)},"
        f" pending in {format_amount(totals.credits_pending, scale=scale)})"
    )


@app.command("history")
def history(
    account: str,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    before: Annotated[int | None, typer.Option(help="Cursor printed by the previous page.")] = None,
) -> None:
    """An account's postings, newest first."""
    ledger = ledger_from_env()
    found = ledger.account(account)
    scale = ledger.asset(found.asset).scale
    sign = 1 if found.kind.normal_side.value == "debit" else -1
    page = ledger.history(found.id, before=before, limit=limit)
    table = Table("posting", "entry", "business date", "kind", "memo", "amount", "balance after")
    for line in page.lines:
        table.add_row(
            str(line.posting_id),
            str(line.entry_id),
            line.business_date.isoformat(),
            line.kind,
            line.memo,
            format_amount(sign * line.amount, scale=scale),
            format_amount(sign * line.balance_after, scale=scale),
        )
    console.print(table)
    if page.next_cursor is not None:
        console.print(f"more: --before {page.next_cursor}")


@app.command("business-date")
def business_date(
    set_to: Annotated[
        str | None, typer.Option("--set", help="Move the business date forward to this date.")
    ] = None,
) -> None:
    """Show the business date, or move it forward."""
    ledger = ledger_from_env()
    current = ledger.advance_business_date(parse_date(set_to)) if set_to else ledger.business_date()
    console.print(f"business date {current.isoformat()}")
