"""The credit pages: ``/app/credit`` for a customer, ``/console/credit`` for staff.

A customer sees their latest score on MISSION's bands with the four reasons that lowered
it, the history of their scores, asks for a person to review one, and grants or revokes
each consent purpose under the policy text shown. Staff see the model registry, population
stability of what the models see in service, fairness figures where a model carries them,
and the queue of review requests; operators resolve reviews and change a model's status,
auditors only look. Thin over `huoqi.credit` (the same functions as `api_credit`).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import Connection

from huoqi.audit.log import Actor, record
from huoqi.credit import consent, decision_monitoring, service
from huoqi.credit.crypto import key_from_env
from huoqi.credit.retention import RETENTION
from huoqi.db.engine import read_transaction
from huoqi.errors import HuoqiError, InvalidInput
from huoqi.identity.service import Principal
from huoqi.web.api_credit import _model as champion_model
from huoqi.web.charts import line_chart
from huoqi.web.context import Services, actor
from huoqi.web.pages import error_text, form_of, page_principal, render, translator
from huoqi.web.schemas import MAX_ID

customer_router = APIRouter(prefix="/app/credit", include_in_schema=False)
console_router = APIRouter(prefix="/console/credit", include_in_schema=False)
STAFF = ("operator", "auditor")
BAND_COLOURS = ("#e03131", "#f08c00", "#fab005", "#74b816", "#2f9e44")
FOUR_FIFTHS = 0.8  # a disparate-impact ratio below this is flagged
Work = Callable[[Connection, Actor], object]
CustomerWork = Callable[[Connection, int, Actor], object]  # connection, user id, actor


def _ctx(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def score_gauge(score: int, title: str) -> Markup:
    """MISSION's five bands as one bar from 350 to 950 with a marker at ``score``."""
    from huoqi.credit.model_fit import BAND_FLOORS, MAX_SCORE, MIN_SCORE
    from huoqi.credit.models import BANDS

    width, left, right, top, height = 640, 12, 628, 20, 30

    def x(value: int) -> float:
        return left + (right - left) * (value - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)

    parts = [
        f'<svg class="chart gauge" viewBox="0 0 {width} 80" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    floors = (MIN_SCORE, *BAND_FLOORS)
    ends = (*BAND_FLOORS, MAX_SCORE)
    for name, floor, end, colour in zip(BANDS, floors, ends, BAND_COLOURS, strict=True):
        parts.append(
            f'<rect x="{x(floor):.1f}" y="{top}" width="{x(end) - x(floor):.1f}" '
            f'height="{height}" fill="{colour}"><title>{name}: {floor}-{end}</title></rect>'
        )
        parts.append(
            f'<text x="{x(floor):.1f}" y="{top + height + 24}" font-size="20" '
            f'fill="#868e96">{floor}</text>'
        )
    parts.append(
        f'<text x="{right}" y="{top + height + 24}" font-size="20" fill="#868e96" '
        f'text-anchor="end">{MAX_SCORE}</text>'
    )
    marker = x(min(max(score, MIN_SCORE), MAX_SCORE))
    parts.append(
        f'<path d="M {marker - 9:.1f} 2 L {marker + 9:.1f} 2 L {marker:.1f} {top + 2} Z" '
        f'fill="#212529"/><line x1="{marker:.1f}" x2="{marker:.1f}" y1="{top}" '
        f'y2="{top + height}" stroke="#212529" stroke-width="3"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped or numeric)


# --- the customer -----------------------------------------------------------------------


def _reasons(codes: list[str], language: str) -> list[str]:
    from huoqi.credit.dictionary import register_reasons
    from huoqi.credit.models import reason_text

    register_reasons()
    return [reason_text(code, "zh" if language == "zh" else "en") for code in codes if code]


def _customer_page(
    request: Request, principal: Principal, *, status: int = 200, **extra: object
) -> Response:
    t = translator(request)
    with read_transaction(_ctx(request).engine) as connection:
        states = consent.states(connection, principal.user.id)
        decisions = service.decisions_of(connection, principal.user.id)
        reviews = service.reviews_of(connection, principal.user.id)
    latest = decisions[0] if decisions else None
    history = [(d.at.date(), d.score) for d in reversed(decisions)]
    values = {
        "consents": states,
        "reviews": reviews,
        "policies": consent.POLICIES,
        "decisions": decisions,
        "latest": latest,
        "reasons": _reasons(latest.reasons, t.language) if latest else [],
        "gauge": score_gauge(latest.score, t("credit.gauge")) if latest else None,
        "chart": line_chart(history, label=lambda v: f"{v:.0f}", title=t("credit.history"))
        if len(history) > 1
        else None,
        "retention_days": RETENTION.days,
        **extra,
    }
    return render(request, "app/credit.html", values, status=status, principal=principal)


@customer_router.get("")
def credit_page(request: Request, done: str = "") -> Response:
    principal = page_principal(request, "customer")
    return _customer_page(request, principal, done=done[:20])


async def _customer_action(request: Request, work: CustomerWork, done: str) -> Response:
    """Run ``work`` for the signed-in customer after the form's CSRF check; a refusal is
    shown on the page and changes nothing."""
    await form_of(request)
    principal = page_principal(request, "customer")
    ctx = _ctx(request)
    who = actor(request, principal)
    try:
        ctx.writer.run(lambda c: work(c, principal.user.id, who))
    except HuoqiError as error:
        message = error_text(translator(request), error)
        return _customer_page(request, principal, status=error.status, error=message)
    return RedirectResponse(f"/app/credit?done={done}", status_code=303)


def _form_int(text: str, what: str) -> int:
    if not text.strip().isdigit() or len(text.strip()) > 6:
        raise InvalidInput(f"{what} must be a whole number")
    return int(text)


@customer_router.post("/consents/{purpose}/grant")
async def grant_consent(request: Request, purpose: Annotated[str, Path(max_length=24)]) -> Response:
    form = await form_of(request)
    now = _ctx(request).clock()

    def work(connection: Connection, user_id: int, who: Actor) -> object:
        version = _form_int(form.get("policy_version", ""), "the policy version")
        return consent.grant(
            connection, user_id, purpose, policy_version=version, now=now, actor=who
        )

    return await _customer_action(request, work, "granted")


@customer_router.post("/consents/{purpose}/revoke")
async def revoke_consent(
    request: Request, purpose: Annotated[str, Path(max_length=24)]
) -> Response:
    now = _ctx(request).clock()

    def work(connection: Connection, user_id: int, who: Actor) -> object:
        return consent.revoke(connection, user_id, purpose, now=now, actor=who)

    return await _customer_action(request, work, "revoked")


@customer_router.post("/score")
async def compute_score(request: Request) -> Response:
    now = _ctx(request).clock()

    def work(connection: Connection, user_id: int, who: Actor) -> object:
        key = key_from_env()
        consent.require_consent(connection, user_id, ["device"])
        version, model = champion_model(connection)
        return service.score_user(
            connection, key, user_id, model=model, model_version=version, actor=who, now=now
        )

    return await _customer_action(request, work, "scored")


@customer_router.post("/decisions/{decision_id}/review")
async def ask_for_review(
    request: Request, decision_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    form = await form_of(request)
    now = _ctx(request).clock()

    def work(connection: Connection, user_id: int, who: Actor) -> object:
        return service.request_review(
            connection, user_id, decision_id, reason=form.get("reason", "")[:2000], now=now,
            actor=who,
        )  # fmt: skip

    return await _customer_action(request, work, "review")


# --- the console -------------------------------------------------------------------------


def _fairness(metrics: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The fairness tables a model's metrics carry (``fairness_by_<group>``: per group n,
    approval rate, AUC and disparate-impact ratio), flagged below four fifths."""
    found: dict[str, list[dict[str, Any]]] = {}
    for key, groups in metrics.items():
        if not key.startswith("fairness_by_") or not isinstance(groups, dict):
            continue
        rows = []
        for group, row in sorted(groups.items()):
            try:
                rate, ratio = float(row["approval_rate"]), float(row["disparate_impact"])
                auc = None if row.get("auc") is None else float(row["auc"])
            except (KeyError, TypeError, ValueError):
                continue  # not a fairness row this page knows how to read
            rows.append(
                {"group": str(group), "n": row.get("n", ""), "approval_rate": rate, "auc": auc,
                 "disparate_impact": ratio, "flagged": ratio < FOUR_FIFTHS}
            )  # fmt: skip
        if rows:
            found[key.removeprefix("fairness_by_")] = rows
    return found


def _console_page(
    request: Request, *, days: int = 30, status: int = 200, **extra: object
) -> Response:
    principal = page_principal(request, *STAFF)
    ctx = _ctx(request)
    with read_transaction(ctx.engine) as connection:
        models = service.registry(connection)
        report = decision_monitoring.monitoring(connection, now=ctx.clock(), days=days)
        reviews = service.review_queue(connection, status="open")
    t = translator(request)
    for model in models:
        model["fairness"] = _fairness(model["metrics"])
        model["plain_metrics"] = {
            k: v for k, v in model["metrics"].items() if isinstance(v, int | float | str)
        }
    for review in reviews:
        review["reason_texts"] = _reasons(review["reasons"], t.language)
    values = {"models": models, "report": report, "reviews": reviews, "days": days, **extra}
    return render(request, "console/credit.html", values, status=status, principal=principal)


@console_router.get("")
def console_credit(
    request: Request, days: Annotated[int, Query(ge=1, le=365)] = 30, done: str = ""
) -> Response:
    return _console_page(request, days=days, done=done[:20])


async def _operator_action(request: Request, work: Work, done: str) -> Response:
    await form_of(request)
    principal = page_principal(request, "operator")
    ctx = _ctx(request)
    who = actor(request, principal)
    try:
        ctx.writer.run(lambda c: work(c, who))
    except HuoqiError as error:
        message = error_text(translator(request), error)
        return _console_page(request, status=error.status, error=message)
    return RedirectResponse(f"/console/credit?done={done}", status_code=303)


@console_router.post("/reviews/{review_id}")
async def resolve_review(
    request: Request, review_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    form = await form_of(request)
    now = _ctx(request).clock()

    def work(connection: Connection, who: Actor) -> object:
        verdict = form.get("verdict", "")
        if verdict not in ("upheld", "changed"):
            raise InvalidInput("choose whether the decision is upheld or changed")
        service.resolve_review(
            connection, review_id, changed=verdict == "changed", outcome=form.get("outcome", ""),
            now=now, actor=who,
        )  # fmt: skip
        return None

    return await _operator_action(request, work, "resolved")


@console_router.post("/models/{version}/status")
async def model_status(request: Request, version: Annotated[str, Path(max_length=40)]) -> Response:
    form = await form_of(request)
    now = _ctx(request).clock()

    def work(connection: Connection, who: Actor) -> object:
        status = form.get("status", "")
        service.set_status(connection, version, status)
        record(connection, who, "credit.model_status", now=now, object_type="credit_model",
               object_id=version, detail={"status": status})  # fmt: skip
        return None

    return await _operator_action(request, work, "status")
