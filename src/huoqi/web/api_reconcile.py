"""``/api/v1/ops/reconciliation``: upload a bank statement or fund confirmation file, list
the runs, read one run's report. Operators upload; auditors read.

The file is the request body (``text/csv``, at most 1 MiB here; larger files go through
``huoqi reconcile``). Matching reads one snapshot; the run is stored through the writer.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from huoqi.db.engine import read_transaction
from huoqi.reconcile import service
from huoqi.web.context import Ctx, Operator, Services, Staff, actor
from huoqi.web.problems import ApiProblem
from huoqi.web.schemas import MAX_ID, Money, as_utc

router = APIRouter(prefix="/api/v1/ops/reconciliation", tags=["reconciliation"])
MAX_UPLOAD = 1 << 20
OUTCOMES = ("matched", "mismatched", "duplicate", "missing_in_huoqi", "missing_in_file")


class OutcomeOut(BaseModel):
    groups: int
    lines: int = Field(description="file lines in these groups")
    items: int = Field(description="Huoqi items in these groups")
    file_amount: Money
    huoqi_amount: Money


class RunOut(BaseModel):
    id: int
    source: Literal["bank", "fund"]
    file_name: str
    file_sha256: str
    business_date: date | None
    imported_at: datetime
    imported_by: int | None
    clean: bool = Field(description="every line and item matched")
    summary: dict[str, OutcomeOut]


class RunReportOut(RunOut):
    groups: list[dict[str, Any]] = Field(
        description="every group: outcome, rule, shape (1:1, 1:N, N:1), its file lines "
        "(line, day, kind, amount in fen, reference) and Huoqi items (key, day, kind, "
        "amount in fen, reference), and a note"
    )


def run_out(run: service.Run) -> dict[str, Any]:
    summary = {
        outcome: OutcomeOut(
            groups=row["groups"],
            lines=row["lines"],
            items=row["items"],
            file_amount=Money.of(row["file_fen"]),
            huoqi_amount=Money.of(row["huoqi_fen"]),
        )
        for outcome, row in run.summary.items()
    }
    out: dict[str, Any] = {
        "id": run.id,
        "source": run.source,
        "file_name": run.file_name,
        "file_sha256": run.file_sha256,
        "business_date": run.business_date,
        "imported_at": as_utc(run.imported_at),
        "imported_by": run.imported_by,
        "clean": run.clean,
        "summary": summary,
    }
    if run.groups is not None:
        out["groups"] = run.groups
    return out


@router.post(
    "/{source}",
    response_model=RunReportOut,
    status_code=201,
    summary="Upload a bank statement or fund confirmation file (CSV) and match it",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "value_date,direction,amount,reference,memo\n"
                    "2026-11-02,CR,100.00,HQ5f2c0e,card payment\n",
                }
            },
        }
    },
    responses={
        "413": {"description": "the file is larger than 1 MiB"},
        "422": {"description": "the file was refused (the problem names the line)"},
    },
)
async def post_run(  # noqa: PLR0917 (FastAPI passes parameters by name)
    source: Literal["bank", "fund"],
    request: Request,
    principal: Operator,
    ctx: Ctx,
    file_name: Annotated[str, Query(max_length=200)] = "upload.csv",
    business_date: Annotated[date | None, Query()] = None,
) -> JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_UPLOAD:
        raise ApiProblem(413, "body_too_large", "upload at most 1 MiB; use huoqi reconcile")
    who = actor(request, principal)
    prepared = await _prepare(ctx, source, file_name, raw, business_date)
    run_id = await ctx.writer.run_async(
        lambda c: service.store(c, prepared, now=ctx.clock(), actor=who)
    )
    return JSONResponse(
        RunReportOut(**run_out(service.get_run(ctx.engine, run_id))).model_dump(mode="json"),
        status_code=201,
    )


async def _prepare(
    ctx: Services, source: str, file_name: str, raw: bytes, business_date: date | None
) -> service.Prepared:
    def work() -> service.Prepared:
        with read_transaction(ctx.engine) as connection:
            return service.prepare(
                connection, source, file_name=file_name, data=raw, business_date=business_date
            )

    return await asyncio.to_thread(work)


@router.get("", response_model=list[RunOut], summary="The latest runs, newest first")
def get_runs(
    principal: Staff, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    return [run_out(run) for run in service.list_runs(ctx.engine, limit=limit)]


@router.get("/{run_id}", response_model=RunReportOut, summary="One run's report")
def get_run(
    run_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: Staff, ctx: Ctx
) -> dict[str, Any]:
    return run_out(service.get_run(ctx.engine, run_id))
