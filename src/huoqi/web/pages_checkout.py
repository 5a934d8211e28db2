"""The checkout page: a merchant's order, confirmed by the customer in the Huoqi app.

``/pay/{order_no}`` (the ``checkout_url`` merchants link to) leads to
``/app/pay/{order_no}``, which shows the merchant, the amount, what the balance can pay,
and takes the confirmation; the payment itself is `api_payments.pay_plan`, the same unit of
work as the API's, idempotent by the form's key.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError
from huoqi.fund import statements
from huoqi.payments import merchants, orders, paying
from huoqi.service import customer as customer_service
from huoqi.web.api_payments import pay_plan
from huoqi.web.context import Services
from huoqi.web.idempotency import run_idempotent
from huoqi.web.pages import error_text, form_of, page_principal, render, translator

router = APIRouter(include_in_schema=False)
ORDER_NO = r"^HQ[0-9A-F]{18}$"


def _ctx(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


@router.get("/pay/{order_no}")
def short_link(order_no: str) -> Response:
    return RedirectResponse(f"/app/pay/{order_no}", status_code=303)


def _page(request: Request, order_no: str, *, status: int = 200, **extra: object) -> Response:
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    now = ctx.clock()
    with read_transaction(ctx.engine) as connection:
        order = orders.get_by_order_no(connection, order_no)
        merchant = merchants.merchant_by_id(connection, order.merchant_id)
        holder = customer_service.holder_of(connection, principal.user)
        summary = statements.summary(connection, holder, now=now)
        day = now.astimezone(statements.SHANGHAI).date()
        limit_left = max(
            0,
            paying.daily_limit(connection)
            - paying.used_today(connection, user_id=principal.user.id, day=day),
        )
    values = {
        "order": order,
        "status": order.status_at(now),
        "merchant": merchant,
        "available": summary.available,
        "limit_left": limit_left,
        "mine": order.payer_user_id == principal.user.id,
        **extra,
    }
    return render(request, "app/pay.html", values, status=status, principal=principal)


@router.get("/app/pay/{order_no}")
def checkout(request: Request, order_no: str) -> Response:
    return _page(request, order_no)


@router.post("/app/pay/{order_no}")
async def confirm(request: Request, order_no: str) -> Response:
    form = await form_of(request)
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    method = form.get("method", "balance")
    try:
        run_idempotent(
            ctx, principal, key=form.get("idempotency_key", ""),
            **pay_plan(ctx, request, principal, order_no, method),
        )  # fmt: skip
    except HuoqiError as error:
        return _page(
            request, order_no, status=error.status, error=error_text(translator(request), error)
        )
    return RedirectResponse(f"/app/pay/{order_no}?done=1", status_code=303)
