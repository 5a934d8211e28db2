"""The ``huoqi`` command. Every command honours ``HUOQI_DATABASE_URL``.

Refusals (bad input, broken rules) print ``error[code]: what was wrong`` and exit 2;
`report trial-balance` exits 1 when the books do not balance.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from huoqi import config
from huoqi.cli_support import ledger_from_env
from huoqi.credit.cli import credit_app
from huoqi.errors import HuoqiError
from huoqi.fund.account_cli import current_app
from huoqi.fund.cli import eod_app, fund_app
from huoqi.ledger.cli import app as ledger_app
from huoqi.mall.cli import mall_app
from huoqi.money import format_amount
from huoqi.payments.cli import merchants_app, payments_app
from huoqi.reconcile.cli import reconcile_app
from huoqi.web.cli import serve, users_app

app = typer.Typer(
    name="huoqi",
    help="Huoqi: money-fund current account, payments and credit on one ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
bench_app = typer.Typer(help="Built-in benchmarks.", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(report_app, name="report")
app.add_typer(ledger_app, name="ledger")
app.add_typer(fund_app, name="fund")
app.add_typer(eod_app, name="eod")
app.add_typer(current_app, name="current")
app.add_typer(bench_app, name="bench")
app.add_typer(users_app, name="users")
app.add_typer(credit_app, name="credit")
app.add_typer(merchants_app, name="merchants")
app.add_typer(payments_app, name="payments")
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(mall_app, name="mall")
app.command("serve")(serve)
console = Console()
errors = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the schema of the configured database."""
    from huoqi.db.migrate import current, upgrade

    upgrade(revision=revision)
    console.print(f"database {_shown_url()} at revision {current()}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the configured database."""
    from huoqi.db.migrate import current

    console.print(current() or "not migrated: run `huoqi db upgrade`")


@report_app.command("trial-balance")
def trial_balance(
    deep: Annotated[
        bool, typer.Option(help="Also prove every account's totals from its postings and holds.")
    ] = False,
) -> None:
    """Totals per asset; exits 1 if debits differ from credits or any account breaks its rule."""
    ledger = ledger_from_env()
    report = ledger.trial_balance(deep=deep)
    scales = {asset.code: asset.scale for asset in ledger.assets()}
    table = Table("asset", "accounts", "debits", "credits", "pending debits", "pending credits", "")
    for totals in report.totals:
        scale = scales.get(totals.asset, 2)
        table.add_row(
            totals.asset,
            str(totals.accounts),
            format_amount(totals.debits, scale=scale),
            format_amount(totals.credits, scale=scale),
            format_amount(totals.debits_pending, scale=scale),
            format_amount(totals.credits_pending, scale=scale),
            "[green]balanced[/]" if totals.balanced else "[red]OFF[/]",
        )
    console.print(table)
    for problem in report.problems:
        errors.print(f"[red]problem:[/] {problem}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]trial balance holds[/]" + (" (deep check)" if deep else ""))


@bench_app.command("eod")
def bench_eod(
    accounts: Annotated[int, typer.Option("--accounts", min=1, help="Funded accounts.")],
    url: Annotated[
        str | None, typer.Option("--url", help="A fresh database (default: a temporary file).")
    ] = None,
) -> None:
    """Time the close of one day over N funded accounts; last line accounts_per_second=N."""
    from huoqi.fund.benchmark import run_eod_bench

    timing = run_eod_bench(accounts, url)
    console.print(
        f"closed one day for {timing.accounts:,} accounts in {timing.seconds:.2f} s, "
        f"distributing {format_amount(timing.income)} CNY"
    )
    print(f"accounts_per_second={timing.accounts_per_second}")


@app.command("simulate")
def simulate(
    users: Annotated[int, typer.Option("--users", min=1, help="Customers to simulate.")],
    days: Annotated[
        int,
        typer.Option(
            "--days",
            min=1,
            help="Days of history, ending yesterday (or where the trading calendar ends).",
        ),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same history.")] = 1,
) -> None:
    """Build a realistic current-account history, closing every day, into the database."""
    from rich.progress import Progress

    from huoqi.db.engine import make_engine
    from huoqi.fund.simulate import simulate as run

    engine = make_engine()
    with Progress(console=errors) as bar:
        task = bar.add_task("simulating days", total=days)
        summary = run(
            engine, users=users, days=days, seed=seed, progress=lambda _day: bar.advance(task)
        )
    console.print(
        f"{summary.users:,} customers, {summary.first_day} to {summary.last_day}: "
        f"{summary.purchases:,} purchases ({summary.declined:,} declined by the bank), "
        f"{summary.redemptions:,} normal and {summary.instant:,} instant redemptions, "
        f"{summary.refused:,} requests refused, {summary.days_closed:,} fund-days closed"
    )


@app.command("demo")
def demo() -> None:
    """A short tour of the ledger on the configured database (safe to run again)."""
    from huoqi.demo import run_demo

    run_demo(console)


def _shown_url() -> str:
    url = config.database_url()
    return url.split("@")[-1] if "@" in url else url


def main() -> None:
    """Entry point: run the command, turning refusals into clear one-line errors."""
    try:
        app()
    except HuoqiError as error:
        errors.print(f"[red]error{escape(f'[{error.code}]')}:[/] {escape(error.detail)}")
        sys.exit(2)
    except (OperationalError, ProgrammingError) as error:
        errors.print(
            f"[red]error\\[database]:[/] {escape(str(error.orig))}. "
            f"Is {_shown_url()} reachable and migrated (`huoqi db upgrade`)?"
        )
        sys.exit(2)
