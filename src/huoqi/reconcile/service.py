"""Import a bank statement or fund confirmation file, match it, and keep the run.

A run reads the file whole (a bad file is refused and nothing is stored), reads what
Huoqi expects in one snapshot, matches the two with the pure matcher, and stores the file's
name and SHA-256, its business day, the summary and every group of the report in
``reconciliation_runs``. Importing a file again makes a new run: the ledger may have
moved on, and the old run stays as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from huoqi.audit.log import SYSTEM, Actor, record
from huoqi.db.engine import read_transaction, run_in_write_transaction
from huoqi.errors import InvalidInput, NotFound
from huoqi.payments.tables import reconciliation_runs
from huoqi.reconcile import formats, inject, ledger_side
from huoqi.reconcile.formats import Source
from huoqi.reconcile.matching import Item, Line, Report, reconcile

MAX_FILE_NAME = 200


class UnknownRun(NotFound):
    code = "unknown_reconciliation_run"
    title = "Unknown reconciliation run"


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    source: str
    file_name: str
    file_sha256: str
    business_date: date | None
    imported_at: datetime
    imported_by: int | None
    summary: dict[str, dict[str, int]]
    groups: list[dict[str, Any]] | None  # None when only the summary was read

    @property
    def clean(self) -> bool:
        return all(
            row["groups"] == 0 for outcome, row in self.summary.items() if outcome != "matched"
        )


def business_day(lines: list[Line]) -> date:
    """The day a file is for: the day most of its lines carry (the latest on a tie)."""
    if not lines:
        raise InvalidInput("the file has no lines: give its business date")
    counts = Counter(line.day for line in lines)
    return max(counts, key=lambda day: (counts[day], day))


def expected_items(
    connection: Connection, source: Source, day: date, lines: list[Line]
) -> list[Item]:
    references = {line.reference for line in lines if line.reference}
    if source is Source.BANK:
        earliest = min((line.day for line in lines), default=day)
        return ledger_side.bank_items(connection, day, earliest=earliest, references=references)
    return ledger_side.fund_items(connection, day, references=references)


def match_file(
    connection: Connection, source: Source, data: bytes, *, business_date: date | None = None
) -> tuple[date, list[Line], Report]:
    """Parse ``data`` and match it against what Huoqi expects; nothing is written."""
    lines = formats.parse(source, data)
    day = business_date or business_day(lines)
    return day, lines, reconcile(lines, expected_items(connection, source, day, lines))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A matched file, ready to store as a run."""

    source: Source
    file_name: str
    file_sha256: bytes
    business_date: date
    report: Report


def prepare(
    connection: Connection, source: Source | str, *, file_name: str, data: bytes,
    business_date: date | None = None,
) -> Prepared:  # fmt: skip
    """Read and match a file (in a read transaction); a bad file raises, nothing is written."""
    source = _source(source)
    day, _lines, report = match_file(connection, source, data, business_date=business_date)
    printable = "".join(ch for ch in file_name if ch.isprintable())
    name = printable.strip()[:MAX_FILE_NAME] or "upload.csv"
    return Prepared(source, name, hashlib.sha256(data).digest(), day, report)


def store(
    connection: Connection, prepared: Prepared, *, now: datetime, actor: Actor = SYSTEM
) -> int:
    """Keep the run and an audit row of who imported what; returns the run's id."""
    summary = prepared.report.summary()
    groups = [group.as_dict() for group in prepared.report.groups]
    run_id = int(
        connection.execute(
            insert(reconciliation_runs)
            .values(
                source=prepared.source.value, file_name=prepared.file_name,
                file_sha256=prepared.file_sha256, business_date=prepared.business_date,
                imported_at=now, imported_by=actor.id,
                summary=json.dumps(summary, sort_keys=True),
                report=json.dumps({"groups": groups}, separators=(",", ":")),
            )
            .returning(reconciliation_runs.c.id)
        ).scalar_one()
    )  # fmt: skip
    record(
        connection, actor, "reconciliation.import", now=now,
        object_type="reconciliation_run", object_id=run_id,
        detail={
            "source": prepared.source.value, "file_name": prepared.file_name,
            "business_date": prepared.business_date,
            "differences": sum(
                row["groups"] for outcome, row in summary.items() if outcome != "matched"
            ),
        },
    )  # fmt: skip
    return run_id


def import_file(
    engine: Engine, source: Source | str, *, file_name: str, data: bytes, now: datetime,
    actor: Actor = SYSTEM, business_date: date | None = None,
) -> Run:  # fmt: skip
    """Match a file and store the run; a refused file stores nothing."""
    with read_transaction(engine) as connection:
        prepared = prepare(
            connection, source, file_name=file_name, data=data, business_date=business_date
        )
    run_id = run_in_write_transaction(engine, lambda c: store(c, prepared, now=now, actor=actor))
    return get_run(engine, run_id)


def _source(source: Source | str) -> Source:
    try:
        return Source(source)
    except ValueError:
        raise InvalidInput(f"source {source!r} must be bank or fund") from None


def _run(row: Any, *, with_report: bool) -> Run:
    return Run(
        int(row.id), row.source, row.file_name, bytes(row.file_sha256).hex(), row.business_date,
        row.imported_at, row.imported_by, json.loads(row.summary),
        json.loads(row.report)["groups"] if with_report else None,
    )  # fmt: skip


def get_run(engine: Engine, run_id: int) -> Run:
    with read_transaction(engine) as connection:
        row = connection.execute(
            select(reconciliation_runs).where(reconciliation_runs.c.id == run_id)
        ).first()
    if row is None:
        raise UnknownRun(f"reconciliation run {run_id} does not exist", run=run_id)
    return _run(row, with_report=True)


def list_runs(engine: Engine, *, limit: int = 50) -> list[Run]:
    """The latest runs, newest first, without their reports."""
    columns = [c for c in reconciliation_runs.c if c.name != "report"]
    with read_transaction(engine) as connection:
        rows = connection.execute(
            select(*columns).order_by(reconciliation_runs.c.id.desc()).limit(max(1, limit))
        ).all()
    return [_run(row, with_report=False) for row in rows]


def make_file(
    engine: Engine, source: Source | str, day: date, *,
    injections: list[inject.Injection] = (), seed: int = 0,  # type: ignore[assignment]
) -> tuple[str, list[inject.Injected]]:  # fmt: skip
    """The file the bank or fund would send for ``day``, with ``injections`` put in."""
    source = _source(source)
    with read_transaction(engine) as connection:
        items = expected_items(connection, source, day, [])
    lines, done = inject.inject(inject.file_lines(items), injections, seed=seed)
    return formats.write(source, lines), done
