"""``/api/v1/credit``: a customer's consents, phone events, score and review requests;
``/api/v1/ops/credit``: the operators' model registry and review queue.

Thin over `huoqi.credit`: consent rules in consent.py, ingestion in events.py, decisions
and reviews in service.py. A customer only ever names their own objects: another user's
decision id answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from huoqi.credit import consent, decision_monitoring, events, service
from huoqi.credit.crypto import key_from_env
from huoqi.db.engine import read_transaction
from huoqi.web.context import Ctx, Customer, Operator, Staff, actor
from huoqi.web.schemas import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["credit"])
_MODELS: dict[str, Any] = {}  # version -> TrainedModel: a registered version never changes


class PolicyOut(BaseModel):
    purpose: str
    version: int
    text_en: str
    text_zh: str


class ConsentOut(BaseModel):
    purpose: str
    granted: bool
    policy_version: int | None
    granted_at: datetime | None
    revoked_at: datetime | None


class ConsentsOut(BaseModel):
    consents: list[ConsentOut]
    policies: list[PolicyOut]
    event_purposes: dict[str, list[str]] = Field(description="the consents each event kind needs")


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: consent.Purpose
    policy_version: int = Field(ge=1, le=1000, description="the version the user was shown")


class IngestOut(BaseModel):
    accepted: int
    duplicates: int


class ReasonOut(BaseModel):
    code: str
    en: str
    zh: str


class DecisionOut(BaseModel):
    id: int
    score: int
    band: str
    p_bad: float
    reasons: list[ReasonOut]
    model_version: str
    at: datetime


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class ReviewOut(BaseModel):
    id: int
    status: str


class ModelStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["champion", "challenger", "retired"]


class ReviewResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changed: bool = Field(description="true if the review changes the decision")
    outcome: str = Field(min_length=1, max_length=2000, description="what the customer reads")


def _consent_out(state: consent.ConsentState) -> ConsentOut:
    return ConsentOut(
        purpose=state.purpose,
        granted=state.granted,
        policy_version=state.policy_version,
        granted_at=state.granted_at,
        revoked_at=state.revoked_at,
    )


def _decision_out(decision: service.Decision) -> DecisionOut:
    from huoqi.credit.dictionary import register_reasons
    from huoqi.credit.models import reason_text

    register_reasons()
    return DecisionOut(
        id=decision.id,
        score=decision.score,
        band=decision.band,
        p_bad=round(decision.p_bad, 4),
        reasons=[
            ReasonOut(code=code, en=reason_text(code, "en"), zh=reason_text(code, "zh"))
            for code in decision.reasons
        ],
        model_version=decision.model_version,
        at=decision.at,
    )


@router.get("/credit/consents", response_model=ConsentsOut, summary="My consents, and the texts")
def get_consents(principal: Customer, ctx: Ctx) -> ConsentsOut:
    with read_transaction(ctx.engine) as connection:
        states = consent.states(connection, principal.user.id)
    return ConsentsOut(
        consents=[_consent_out(state) for state in states],
        policies=[
            PolicyOut(purpose=p.purpose, version=p.version, text_en=p.text_en, text_zh=p.text_zh)
            for p in consent.POLICIES.values()
        ],
        event_purposes={kind: sorted(needs) for kind, needs in consent.REQUIRED.items()},
    )


@router.post(
    "/credit/consents",
    status_code=201,
    response_model=ConsentOut,
    summary="Grant one purpose under the policy version shown",
    responses={"409": {"description": "the policy changed: show the new text"}},
)
def post_consent(body: ConsentIn, request: Request, principal: Customer, ctx: Ctx) -> ConsentOut:
    who = actor(request, principal)
    state = ctx.writer.run(
        lambda c: consent.grant(
            c, principal.user.id, body.purpose, policy_version=body.policy_version,
            now=ctx.clock(), actor=who,
        )
    )  # fmt: skip
    return _consent_out(state)


@router.delete(
    "/credit/consents/{purpose}",
    response_model=ConsentOut,
    summary="Revoke one purpose: collection stops now, raw data is deleted after 30 days",
    responses={"404": {"description": "the purpose is not granted"}},
)
def delete_consent(
    purpose: Annotated[str, Path(max_length=24)], request: Request, principal: Customer, ctx: Ctx
) -> ConsentOut:
    who = actor(request, principal)
    state = ctx.writer.run(
        lambda c: consent.revoke(c, principal.user.id, purpose, now=ctx.clock(), actor=who)
    )
    return _consent_out(state)


@router.post(
    "/credit/events",
    response_model=IngestOut,
    summary=f"A batch of at most {events.MAX_EVENTS} phone events (all or nothing)",
    responses={
        "413": {"description": "too many events in the batch"},
        "422": {"description": "an invalid event, or no consent for its purpose"},
        "503": {"description": "no credit key is configured (HUOQI_CREDIT_KEY)"},
    },
)
def post_events(body: events.EventBatch, principal: Customer, ctx: Ctx) -> IngestOut:
    key = key_from_env()
    result = ctx.writer.run(
        lambda c: events.ingest(c, key, principal.user.id, body.events, now=ctx.clock())
    )
    return IngestOut(accepted=result.accepted, duplicates=result.duplicates)


class RawEventOut(BaseModel):
    kind: str
    purpose: str
    day: date
    fields: dict[str, Any]


@router.get(
    "/credit/events",
    response_model=list[RawEventOut],
    summary="My raw data as stored (the read is logged), newest first",
    responses={"503": {"description": "no credit key is configured (HUOQI_CREDIT_KEY)"}},
)
def get_events(
    request: Request,
    principal: Customer,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[RawEventOut]:
    key = key_from_env()
    who = actor(request, principal)
    found = ctx.writer.run(
        lambda c: events.read_raw(
            c, key, principal.user.id, actor=who, now=ctx.clock(), why="the customer's own copy"
        )
    )
    return [
        RawEventOut(
            kind=e.kind,
            purpose=e.purpose,
            day=events.EPOCH + timedelta(days=e.day),
            fields=e.fields,
        )
        for e in reversed(found[-limit:])
    ]


@router.delete(
    "/credit/events",
    summary="Erase all my raw data now (consents stay as they are)",
)
def delete_events(request: Request, principal: Customer, ctx: Ctx) -> dict[str, int]:
    who = actor(request, principal)
    deleted = ctx.writer.run(
        lambda c: events.erase_raw(c, principal.user.id, actor=who, now=ctx.clock())
    )
    return {"deleted": deleted}


def _model(connection: Connection) -> tuple[str, Any]:
    from huoqi.credit.models import load_model

    version, path = service.champion(connection)
    if version not in _MODELS:
        _MODELS[version] = load_model(FilePath(path))
    return version, _MODELS[version]


@router.post(
    "/credit/score",
    status_code=201,
    response_model=DecisionOut,
    summary="Score me now on my consented data; the decision is kept with its inputs",
    responses={
        "404": {"description": "no model is in service"},
        "422": {"description": "no consent to credit assessment"},
        "503": {"description": "no credit key is configured (HUOQI_CREDIT_KEY)"},
    },
)
def post_score(request: Request, principal: Customer, ctx: Ctx) -> DecisionOut:
    key = key_from_env()
    who = actor(request, principal)

    def work(connection: Connection) -> service.Decision:
        consent.require_consent(connection, principal.user.id, ["device"])
        version, model = _model(connection)
        return service.score_user(
            connection, key, principal.user.id, model=model, model_version=version,
            actor=who, now=ctx.clock(),
        )  # fmt: skip

    return _decision_out(ctx.writer.run(work))


@router.get(
    "/credit/decisions", response_model=list[DecisionOut], summary="My scores, newest first"
)
def get_decisions(principal: Customer, ctx: Ctx) -> list[DecisionOut]:
    with read_transaction(ctx.engine) as connection:
        found = service.decisions_of(connection, principal.user.id)
    return [_decision_out(decision) for decision in found]


@router.post(
    "/credit/decisions/{decision_id}/review",
    status_code=201,
    response_model=ReviewOut,
    summary="Ask for a person to review one of my scores",
    responses={"404": {"description": "no such decision of yours"}, "409": {"description": "open"}},
)
def post_review(
    decision_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: ReviewIn,
    request: Request,
    principal: Customer,
    ctx: Ctx,
) -> ReviewOut:
    who = actor(request, principal)
    review_id = ctx.writer.run(
        lambda c: service.request_review(
            c, principal.user.id, decision_id, reason=body.reason, now=ctx.clock(), actor=who
        )
    )
    return ReviewOut(id=review_id, status="open")


@router.get("/ops/credit/models", summary="The model registry, newest first")
def get_models(principal: Staff, ctx: Ctx) -> list[dict[str, Any]]:
    with read_transaction(ctx.engine) as connection:
        return service.registry(connection)


@router.put(
    "/ops/credit/models/{version}/status",
    summary="Promote, demote or retire a model (a new champion retires the old one)",
    responses={"404": {"description": "unknown model"}},
)
def put_model_status(
    version: Annotated[str, Path(max_length=40)],
    body: ModelStatusIn,
    request: Request,
    principal: Operator,
    ctx: Ctx,
) -> dict[str, str]:
    from huoqi.audit.log import record

    who = actor(request, principal)

    def work(connection: Connection) -> None:
        service.set_status(connection, version, body.status)
        record(connection, who, "credit.model_status", now=ctx.clock(), object_type="credit_model",
               object_id=version, detail={"status": body.status})  # fmt: skip

    ctx.writer.run(work)
    return {"version": version, "status": body.status}


@router.get(
    "/ops/credit/monitoring",
    summary="Population stability: the last N days of decisions against the N days before",
)
def get_monitoring(
    principal: Staff, ctx: Ctx, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> dict[str, Any]:
    with read_transaction(ctx.engine) as connection:
        return decision_monitoring.monitoring(connection, now=ctx.clock(), days=days)


@router.get("/ops/credit/reviews", summary="Human review requests (the queue: status=open)")
def get_reviews(
    principal: Staff, ctx: Ctx, status: Literal["open", "upheld", "changed"] = "open"
) -> list[dict[str, Any]]:
    with read_transaction(ctx.engine) as connection:
        return service.review_queue(connection, status=status)


@router.post(
    "/ops/credit/reviews/{review_id}",
    summary="Resolve a review: uphold the decision or change it",
    responses={"404": {"description": "no open review with this id"}},
)
def post_review_outcome(
    review_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: ReviewResolveIn,
    request: Request,
    principal: Operator,
    ctx: Ctx,
) -> ReviewOut:
    who = actor(request, principal)
    ctx.writer.run(
        lambda c: service.resolve_review(
            c, review_id, changed=body.changed, outcome=body.outcome, now=ctx.clock(), actor=who
        )
    )
    return ReviewOut(id=review_id, status="changed" if body.changed else "upheld")
