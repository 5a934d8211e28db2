"""``/api/v1/ops``: the operator console's API. Operators change things; auditors read.

Phone numbers are masked in every answer here: operators see enough to recognise a
customer, not a number they could call or export.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection

from huoqi.audit import log as audit
from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError
from huoqi.fund import close
from huoqi.fund.limits import instant_limits
from huoqi.fund.statements import SHANGHAI
from huoqi.money import parse_amount
from huoqi.service import operator as ops
from huoqi.service.customer import scoped_key
from huoqi.web.api_account import MONEY_MOVING, IdempotencyKey
from huoqi.web.context import Ctx, Operator, Staff, actor
from huoqi.web.idempotency import run_idempotent
from huoqi.web.jobs import Job
from huoqi.web.problems import ApiProblem
from huoqi.web.schemas import (
    MAX_ID,
    AmountIn,
    AuditOut,
    AuditPage,
    CloseIn,
    DayReportOut,
    FundIn,
    FundOut,
    IncomeReportOut,
    JobOut,
    LimitsIn,
    LimitsOut,
    Money,
    PoolOut,
    UserCardOut,
    UserPage,
    as_utc,
    decode_cursor,
    encode_cursor,
)

router = APIRouter(prefix="/api/v1/ops", tags=["operations"])
MAX_INCOME_FILE = 1 << 20


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,  # type: ignore[arg-type]
        through=job.through,
        fund=job.fund,
        step=job.step,
        done=job.done,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        closed=job.closed,
    )


@router.post(
    "/funds/{fund_code}/income",
    response_model=IncomeReportOut,
    summary="Upload a fund's income per 10,000 shares (CSV: date,income_per_10k)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "date,income_per_10k\n2025-06-05,0.6512\n",
                }
            },
        }
    },
    responses={
        "415": {"description": "the file is not UTF-8 text"},
        "422": {
            "model": IncomeReportOut,
            "description": "the file was refused; the report says why",
        },
    },
)
async def post_income(fund_code: str, request: Request, principal: Operator, ctx: Ctx) -> Response:
    raw = await request.body()
    if len(raw) > MAX_INCOME_FILE:
        raise ApiProblem(413, "body_too_large", "an income file is at most 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(415, "not_utf8", "the income file must be UTF-8 text") from None
    who = actor(request, principal)
    return income_report(ctx, fund_code, text, who)


def income_report(ctx: Ctx, fund_code: str, text: str, who: audit.Actor) -> Response:
    try:
        report = ctx.writer.run(
            lambda c: ops.import_income(
                c, fund_code=fund_code, text=text, actor=who, now=ctx.clock()
            ),
        )
        status = 200
    except HuoqiError as error:
        if error.status == 404:
            raise
        report = ops.refused_income(fund_code, error)
        status = 422
        problem = error.detail
        ctx.writer.run(
            lambda c: audit.record(
                c,
                who,
                "income.import",
                now=ctx.clock(),
                object_type="fund",
                object_id=fund_code,
                outcome="refused",
                detail={"problem": problem},
            ),
        )
    body = IncomeReportOut(**asdict(report))
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


@router.post(
    "/funds",
    status_code=201,
    response_model=FundOut,
    summary="List a money fund (its share asset and ledger accounts are created)",
    responses={"409": {"description": "the code is taken with other settings"}},
)
def post_fund(body: FundIn, request: Request, principal: Operator, ctx: Ctx) -> FundOut:
    who = actor(request, principal)
    fund = ctx.writer.run(
        lambda c: ops.register_fund(
            c,
            code=body.code,
            name=body.name,
            manager=body.manager,
            carry=body.carry,
            actor=who,
            now=ctx.clock(),
        ),
    )
    return FundOut(
        code=fund.code,
        name=fund.name,
        manager=fund.manager,
        carry=body.carry,
        status=fund.status,
        yield_7d=None,
        yield_date=None,
    )


@router.get("/advance-pool", response_model=PoolOut, summary="The instant-redemption pool")
def get_pool(principal: Staff, ctx: Ctx) -> PoolOut:
    with read_transaction(ctx.engine) as connection:
        return PoolOut(balance=Money.of(ops.advance_pool_balance(connection)))


@router.post(
    "/advance-pool",
    status_code=201,
    response_model=PoolOut,
    summary="Put platform money into the instant-redemption pool",
    responses=MONEY_MOVING,
)
def post_pool(
    body: AmountIn, request: Request, principal: Operator, ctx: Ctx, key: IdempotencyKey
) -> Response:
    who = actor(request, principal)
    fen = body.fen()

    def work(connection: Connection) -> tuple[int, Any]:
        ops.fund_advance_pool(
            connection, amount=fen, key=scoped_key(principal.user, key), actor=who, now=ctx.clock()
        )  # keys are each operator's own, as each customer's are
        balance = ops.advance_pool_balance(connection)
        return 201, PoolOut(balance=Money.of(balance)).model_dump(mode="json")

    return run_idempotent(
        ctx, principal, key=key, route="POST /ops/advance-pool", body=body, work=work
    )


@router.post(
    "/close-jobs",
    status_code=202,
    response_model=JobOut,
    summary="Start the daily close through a day (default: yesterday)",
    responses={"409": {"description": "a close is already running"}},
)
def post_close(body: CloseIn, request: Request, principal: Operator, ctx: Ctx) -> JobOut:
    through = body.through or ctx.clock().astimezone(SHANGHAI).date() - timedelta(days=1)
    job = ctx.jobs.start_close(
        through=through, fund=body.fund_code, actor=actor(request, principal)
    )
    return job_out(job)


@router.get("/close-jobs", response_model=list[JobOut], summary="Recent close jobs")
def get_close_jobs(principal: Staff, ctx: Ctx) -> list[JobOut]:
    return [job_out(job) for job in ctx.jobs.recent()]


@router.get("/close-jobs/{job_id}", response_model=JobOut, summary="One close job's progress")
def get_close_job(job_id: int, principal: Staff, ctx: Ctx) -> JobOut:
    return job_out(ctx.jobs.get(job_id))


@router.get("/close-status", summary="Per fund: last closed day, a close in progress, next day")
def get_close_status(principal: Staff, ctx: Ctx) -> list[dict[str, str | None]]:
    return close.status(ctx.engine)


@router.get(
    "/funds/{fund_code}/reports",
    response_model=list[DayReportOut],
    summary="AUM and flows per closed day",
)
def get_reports(
    fund_code: str,
    principal: Staff,
    ctx: Ctx,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[DayReportOut]:
    today = ctx.clock().astimezone(SHANGHAI).date()
    with read_transaction(ctx.engine) as connection:
        rows = ops.daily_reports(
            connection, fund_code=fund_code, start=today - timedelta(days=days), end=today
        )
    return [
        DayReportOut(
            date=date.fromisoformat(row["date"]),
            aum=Money.of(row["aum_shares"]),
            income=Money.of(row["income_distributed"]),
            purchases=Money.of(row["purchases_confirmed"]),
            redemptions=Money.of(row["redemptions_confirmed"]),
            instant_redemptions=Money.of(row["instant_redemptions"]),
            accounts_earning=row["accounts_earning"],
        )
        for row in rows
    ]


def limits_out(per_holder: int, platform: int) -> LimitsOut:
    return LimitsOut(per_customer_daily=Money.of(per_holder), platform_daily=Money.of(platform))


@router.get("/instant-limits", response_model=LimitsOut, summary="Instant redemption limits")
def get_limits(principal: Staff, ctx: Ctx) -> LimitsOut:
    with read_transaction(ctx.engine) as connection:
        now = instant_limits(connection)
    return limits_out(now.per_holder_daily, now.platform_daily)


@router.put(
    "/instant-limits",
    response_model=LimitsOut,
    summary="Change the instant redemption limits (0 switches instant off)",
)
def put_limits(body: LimitsIn, request: Request, principal: Operator, ctx: Ctx) -> LimitsOut:
    def fen(text: str | None) -> int | None:
        return None if text is None else parse_amount(text, allow_zero=True)

    per_holder, platform = fen(body.per_customer_daily), fen(body.platform_daily)
    who = actor(request, principal)
    now = ctx.writer.run(
        lambda c: ops.change_limits(
            c, per_holder_daily=per_holder, platform_daily=platform, actor=who, now=ctx.clock()
        ),
    )
    return limits_out(now.per_holder_daily, now.platform_daily)


@router.get("/audit", response_model=AuditPage, summary="The audit log, newest first")
def get_audit(  # noqa: PLR0917 (FastAPI passes query parameters by name)
    principal: Staff,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> AuditPage:
    before = decode_cursor("audit", cursor)
    with read_transaction(ctx.engine) as connection:
        rows = audit.read(
            connection, before_id=before, limit=limit + 1, action=action, actor_id=actor_id
        )
    items = [AuditOut(**asdict(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(
        items=items, next_cursor=encode_cursor("audit", items[-1].id) if more else None
    )


@router.get("/users", response_model=UserPage, summary="Look up users (phones masked)")
def get_users(
    principal: Staff,
    ctx: Ctx,
    phone: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> UserPage:
    before = decode_cursor("user", cursor)
    with read_transaction(ctx.engine) as connection:
        cards = ops.find_users(
            connection, phone=phone, before_id=before, limit=limit + 1, now=ctx.clock()
        )
    items = [
        UserCardOut(
            id=c.id,
            phone=c.phone_masked,
            role=c.role,
            display_name=c.display_name,
            fund_code=c.fund_code,
            locked=c.locked,
            created_at=as_utc(c.created_at),
        )
        for c in cards[:limit]
    ]
    more = len(cards) > limit
    return UserPage(items=items, next_cursor=encode_cursor("user", items[-1].id) if more else None)
