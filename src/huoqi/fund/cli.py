"""``huoqi fund ...`` and ``huoqi eod ...``: funds, income figures, yields and the close.

The commands and their output formats are a contract other tools script against:
``fund add``, ``fund income import``, ``fund yields`` (CSV on stdout), ``eod run``,
``eod status``. Refusals print ``error[code]: detail`` and exit 2 (see `huoqi.cli`).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from huoqi.cli_support import parse_date
from huoqi.db.engine import make_engine
from huoqi.errors import InvalidInput
from huoqi.fund.domain import Carry
from huoqi.money import format_amount

if TYPE_CHECKING:
    from huoqi.fund.service import FundDesk

MAX_FILE_BYTES = 5_000_000  # an income file is a few hundred lines; refuse anything huge

fund_app = typer.Typer(help="Money funds, their daily income and yields.", no_args_is_help=True)
income_app = typer.Typer(help="Daily income per 10,000 shares.", no_args_is_help=True)
fund_app.add_typer(income_app, name="income")
eod_app = typer.Typer(help="The daily close (end of day).", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def desk() -> FundDesk:
    # imported here: the calendar library takes a second to load, and most commands
    # (`huoqi ledger ...`) never need it
    from huoqi.fund.service import FundDesk

    return FundDesk(make_engine())


@fund_app.command("add")
def fund_add(
    code: Annotated[str, typer.Option("--code", help="Fund code, e.g. 000198.")],
    name: Annotated[str, typer.Option("--name", help="Fund name.")],
    carry: Annotated[Carry, typer.Option("--carry", help="Income carry-over.")] = Carry.DAILY,
    manager: Annotated[str, typer.Option("--manager", help="Fund manager.")] = "",
) -> None:
    """Register a money fund (again with the same settings: harmless)."""
    fund = desk().add_fund(code=code, name=name, manager=manager, carry=carry)
    console.print(f"fund {fund.code} ({fund.name}), {fund.carry.value} carry-over, {fund.status}")


@fund_app.command("list")
def fund_list() -> None:
    """The registered funds."""
    table = Table("code", "name", "manager", "carry", "status")
    for fund in desk().funds():
        table.add_row(fund.code, fund.name, fund.manager, fund.carry.value, fund.status)
    console.print(table)


@income_app.command("import")
def income_import(
    file: Annotated[Path, typer.Argument(help="CSV with a date and an income_per_10k column.")],
    code: Annotated[str, typer.Option("--code", help="Fund code.")],
) -> None:
    """Import daily income per 10,000 shares; a bad row rejects the whole file."""
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(f"{file} is larger than {MAX_FILE_BYTES} bytes")
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {file}: {error}") from None
    done = desk().import_income(code, text)
    console.print(
        f"fund {code}: {done.inserted} days imported, {done.unchanged} unchanged, "
        f"{done.corrected} corrected ({done.first} to {done.last})"
    )


def _percent(value: object) -> str:
    return "" if value is None else str(value)


@fund_app.command("yields")
def fund_yields(
    code: Annotated[str, typer.Option("--code", help="Fund code.")],
    start: Annotated[str | None, typer.Option("--start", help="First date (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last date (YYYY-MM-DD).")] = None,
) -> None:
    """CSV: date,income_per_10k,yield_7d,yield_14d,yield_28d (yields in %, 3 decimals)."""
    first = parse_date(start) if start else None
    last = parse_date(end) if end else None
    if first and last and first > last:
        raise InvalidInput(f"--start {first} is after --end {last}")
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["date", "income_per_10k", "yield_7d", "yield_14d", "yield_28d"])
    for row in desk().yields(code, first, last):
        writer.writerow(
            [
                row.date.isoformat(),
                format_amount(row.rate_e4, scale=4),
                _percent(row.yield_7d),
                _percent(row.yield_14d),
                _percent(row.yield_28d),
            ]
        )


@eod_app.command("run")
def eod_run(
    day: Annotated[str, typer.Option("--date", help="Close every open day up to this one.")],
    fund: Annotated[str | None, typer.Option("--fund", help="Only this fund.")] = None,
) -> None:
    """Close the day (and any open days before it, in order) for every fund or one."""
    from huoqi.fund.close import STEPS

    through: date = parse_date(day)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}"),
        TimeElapsedColumn(), console=errors, transient=False,
    ) as bar:  # fmt: skip
        tasks: dict[str, TaskID] = {}

        def progress(step: str, total: int, done: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(f"{STEPS.index(step) + 1}. {step}", total=None)
            bar.update(tasks[step], completed=done)

        closed = desk().close(through, fund_code=fund, progress=progress)
    table = Table("fund", "date", "accounts", "income", "AUM (shares)", "")
    for result in closed:
        report = result.report
        table.add_row(
            result.fund, result.day.isoformat(), f"{report['accounts_earning']:,}",
            format_amount(report["income_distributed"]), format_amount(report["aum_shares"]),
            "already closed" if result.already_closed else "[green]closed, reconciled[/]",
        )  # fmt: skip
    console.print(table)


@eod_app.command("status")
def eod_status() -> None:
    """Per fund: the last closed day, a close in progress, the next day to close."""
    from huoqi.fund.close import status

    table = Table("fund", "last closed", "in progress", "next")
    for row in status(make_engine()):
        table.add_row(row["fund"], row["last_closed"] or "-", row["running"] or "-", row["next"])
    console.print(table)


@eod_app.command("report")
def eod_report(
    day: Annotated[str, typer.Option("--date", help="A closed day.")],
    fund: Annotated[str | None, typer.Option("--fund", help="Only this fund.")] = None,
) -> None:
    """The stored reports of a closed day, one JSON object per fund and line."""
    from huoqi.fund.close import reports

    found = reports(make_engine(), parse_date(day), fund)
    if not found:
        raise InvalidInput(f"no fund has closed {parse_date(day)} yet (see `huoqi eod status`)")
    for report in found:
        print(json.dumps(report, ensure_ascii=False, sort_keys=True))
