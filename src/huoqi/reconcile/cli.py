"""``huoqi reconcile ...``: import the bank statement or the fund confirmation file, list and
show runs, and make a day's file with injected differences for demos and tests.

``reconcile bank|fund FILE`` prints the summary and every group that is not matched, and
exits 1 when there is any (0 when the file and Huoqi agree), so scripts can act on it.
Refusals print ``error[code]: detail`` and exit 2 (see `huoqi.cli`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from huoqi.cli_support import parse_date
from huoqi.db.engine import make_engine
from huoqi.errors import InvalidInput
from huoqi.money import format_amount
from huoqi.reconcile import service
from huoqi.reconcile.formats import MAX_FILE_BYTES, Source
from huoqi.reconcile.inject import parse_injections

reconcile_app = typer.Typer(
    help="Reconciliation of the bank statement and the fund confirmation file.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)

DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Business date (YYYY-MM-DD); default: the file's main day."),
]


def _read(file: Path) -> bytes:
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{file} is larger than {MAX_FILE_BYTES:,} bytes")
        return file.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read {file}: {error.strerror or error}") from None


def _import(source: Source, file: Path, day: str | None, as_json: bool) -> None:
    from huoqi.ledger.service import utc_now

    run = service.import_file(
        make_engine(), source, file_name=file.name, data=_read(file), now=utc_now(),
        business_date=parse_date(day) if day else None,
    )  # fmt: skip
    if as_json:
        print(json.dumps(_as_json(run), ensure_ascii=False))
    else:
        show_run(run)
    if not run.clean:
        raise typer.Exit(1)


@reconcile_app.command("bank")
def reconcile_bank(
    file: Annotated[Path, typer.Argument(help="The bank statement (CSV).")],
    day: DateOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The run as JSON.")] = False,
) -> None:
    """Match a bank statement against the ledger's platform:bank account; store the run."""
    _import(Source.BANK, file, day, as_json)


@reconcile_app.command("fund")
def reconcile_fund(
    file: Annotated[Path, typer.Argument(help="The fund confirmation file (CSV).")],
    day: DateOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The run as JSON.")] = False,
) -> None:
    """Match a fund confirmation file against the fund orders; store the run."""
    _import(Source.FUND, file, day, as_json)


@reconcile_app.command("make-file")
def make_file(
    source: Annotated[Source, typer.Argument(help="bank or fund.")],
    day: Annotated[str, typer.Option("--date", help="The business date (YYYY-MM-DD).")],
    inject: Annotated[
        str,
        typer.Option(
            "--inject", help="Differences to put in: missing,duplicate,wrong-amount,split,extra."
        ),
    ] = "",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same choice of lines.")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write what the bank or the fund would send for a day, with injected differences."""
    text, done = service.make_file(
        make_engine(), source, parse_date(day), injections=parse_injections(inject), seed=seed
    )
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
        errors.print(f"wrote {len(text.splitlines()) - 1} lines to {output}")
    for injected in done:
        errors.print(
            f"injected {injected.injection.value}: {injected.reference} "
            f"({format_amount(injected.amount)} CNY)"
        )


@reconcile_app.command("runs")
def runs(limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20) -> None:
    """The latest runs, newest first."""
    table = Table("id", "source", "file", "business date", "imported at", *_COLUMNS)
    for run in service.list_runs(make_engine(), limit=limit):
        table.add_row(
            str(run.id), run.source, escape(run.file_name), str(run.business_date),
            f"{run.imported_at:%Y-%m-%d %H:%M}",
            *(str(run.summary[outcome]["groups"]) for outcome in _COLUMNS),
        )  # fmt: skip
    console.print(table)


@reconcile_app.command("show")
def show(
    run_id: Annotated[int, typer.Argument(help="The run's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="The run as JSON.")] = False,
) -> None:
    """A run's summary and every group that is not matched."""
    run = service.get_run(make_engine(), run_id)
    if as_json:
        print(json.dumps(_as_json(run), ensure_ascii=False))
    else:
        show_run(run)


_COLUMNS = ("matched", "mismatched", "duplicate", "missing_in_huoqi", "missing_in_file")


def show_run(run: service.Run) -> None:
    console.print(
        f"run {run.id}: {run.source} file {escape(run.file_name)} for {run.business_date} "
        f"(sha256 {run.file_sha256[:12]}…)"
    )
    table = Table("outcome", "groups", "file lines", "Huoqi items", "file CNY", "Huoqi CNY")
    for outcome in _COLUMNS:
        row = run.summary[outcome]
        table.add_row(
            outcome, str(row["groups"]), str(row["lines"]), str(row["items"]),
            format_amount(row["file_fen"]), format_amount(row["huoqi_fen"]),
        )  # fmt: skip
    console.print(table)
    for group in run.groups or []:
        if group["outcome"] != "matched":
            console.print(escape(describe(group)))
    console.print("[green]file and Huoqi agree[/]" if run.clean else "[red]differences found[/]")


def describe(group: dict[str, Any]) -> str:
    """One group in one line, for people."""
    lines = ", ".join(
        f"line {x['line']} {x['day']} {x['kind']} {format_amount(x['amount'])} {x['reference']}"
        for x in group["lines"]
    )
    items = ", ".join(
        f"{x['key']} {x['day']} {x['kind']} {format_amount(x['amount'])} {x['reference']}"
        for x in group["items"]
    )
    parts = [f"{group['outcome']} ({group['shape']})", lines and f"file: {lines}"]
    parts += [items and f"Huoqi: {items}", group["note"]]
    return " — ".join(part for part in parts if part)


def _as_json(run: service.Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "source": run.source,
        "file_name": run.file_name,
        "file_sha256": run.file_sha256,
        "business_date": run.business_date.isoformat() if run.business_date else None,
        "imported_at": run.imported_at.isoformat(),
        "clean": run.clean,
        "summary": run.summary,
        "groups": run.groups,
    }
