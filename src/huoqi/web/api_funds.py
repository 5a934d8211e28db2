"""``/api/v1/funds``: the money funds on offer and their yields (public information)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from huoqi.db.engine import read_transaction
from huoqi.fund import registry, statements
from huoqi.fund.statements import SHANGHAI
from huoqi.fund.yields import YieldRow
from huoqi.web.context import Ctx
from huoqi.web.schemas import FundOut, YieldOut

router = APIRouter(prefix="/api/v1/funds", tags=["funds"])


def _percent(value: object) -> str | None:
    return None if value is None else str(value)


def yield_out(row: YieldRow) -> YieldOut:
    whole, frac = divmod(row.rate_e4, 10**4)
    return YieldOut(
        date=row.date,
        income_per_10k=f"{whole}.{frac:04d}",
        yield_7d=_percent(row.yield_7d),
        yield_14d=_percent(row.yield_14d),
        yield_28d=_percent(row.yield_28d),
    )


@router.get("", response_model=list[FundOut], summary="Funds with their latest 7-day yield")
def get_funds(ctx: Ctx) -> list[FundOut]:
    today = ctx.clock().astimezone(SHANGHAI).date()
    found = []
    with read_transaction(ctx.engine) as connection:
        for fund in registry.list_funds(connection):
            rows = statements.fund_yields(
                connection, fund, start=today - timedelta(days=10), end=today
            )
            latest = rows[-1] if rows else None
            found.append(
                FundOut(
                    code=fund.code,
                    name=fund.name,
                    manager=fund.manager,
                    carry=fund.carry.value,
                    status=fund.status,
                    yield_7d=_percent(latest.yield_7d if latest else None),
                    yield_date=latest.date if latest else None,
                )
            )
    return found


@router.get(
    "/{fund_code}/yields",
    response_model=list[YieldOut],
    summary="Income per 10,000 shares and 7/14/28-day yields, oldest first",
    responses={"404": {"description": "unknown fund"}},
)
def get_yields(
    fund_code: str, ctx: Ctx, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[YieldOut]:
    today = ctx.clock().astimezone(SHANGHAI).date()
    with read_transaction(ctx.engine) as connection:
        fund = registry.get_fund(connection, fund_code)
        rows = statements.fund_yields(
            connection, fund, start=today - timedelta(days=days), end=today
        )
    return [yield_out(row) for row in rows]
