"""Credit services over the database: the model registry, score decisions, human review.

A decision is never automation alone in the sense of PIPL art. 24: every score is stored
with the model version that made it and the exact feature values it saw (and their
SHA-256), so it can be explained and reproduced, and the user can ask for a person to
review it; operators work through the queue of open requests. Scoring reads the user's
raw events through `events.read_raw`, so each scoring is in the audit log as a read, and,
with ``financial_data`` consent, the current-account balance every week from the ledger.
Functions take a connection and never commit: the caller's transaction does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Connection, insert, select, update

from huoqi.audit.log import Actor, record
from huoqi.credit.consent import granted_purposes
from huoqi.credit.crypto import CreditKey
from huoqi.credit.dictionary import NAMES
from huoqi.credit.events import EPOCH, RawEvent, day_number, read_raw
from huoqi.credit.features import compute_features
from huoqi.credit.simulate import EVENT_SCHEMA, HISTORY_DAYS
from huoqi.credit.tables import credit_decisions, credit_models, credit_reviews
from huoqi.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from huoqi.credit.models import TrainedModel

STATUSES = ("champion", "challenger", "retired")


class UnknownModel(NotFound):
    code = "unknown_model"


class NoChampion(NotFound):
    code = "no_champion"
    title = "No credit model is in service"


class UnknownDecision(NotFound):
    code = "unknown_decision"


class UnknownReview(NotFound):
    code = "unknown_review"


class ReviewPending(Conflict):
    code = "review_pending"


# -- the registry --------------------------------------------------------------------------


def register_model(
    connection: Connection, model: TrainedModel, *, artefacts: Path, status: str, now: datetime
) -> str:
    """Enter a saved model in the registry; a new champion retires the old one."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    version = str(model.metadata["version"])
    if connection.execute(
        select(credit_models.c.version).where(credit_models.c.version == version)
    ).first():
        raise Conflict(f"model {version} is registered already", version=version)
    if status == "champion":
        _retire_champion(connection)
    connection.execute(
        insert(credit_models).values(
            version=version,
            kind=model.kind,
            training_sha256=str(model.metadata.get("training_sha256", "")),
            metrics=json.dumps(_metrics(model, artefacts), sort_keys=True),
            features=json.dumps(list(model.features)),
            status=status,
            artefact_path=str(artefacts.resolve()),
            created_at=now,
        )
    )
    return version


def _metrics(model: TrainedModel, artefacts: Path) -> dict[str, object]:
    """The model's training metrics, with the out-of-time evaluation (fairness by group
    included) that `huoqi credit pipeline --out` saves beside the artefacts."""
    metrics = dict(model.metadata.get("metrics", {}))
    evaluation = artefacts / "evaluation.json"
    if evaluation.is_file():
        metrics.update(json.loads(evaluation.read_text()))
    return metrics


def _retire_champion(connection: Connection) -> None:
    connection.execute(
        update(credit_models).where(credit_models.c.status == "champion").values(status="retired")
    )


def set_status(connection: Connection, version: str, status: str) -> None:
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if not connection.execute(
        select(credit_models.c.version).where(credit_models.c.version == version)
    ).first():
        raise UnknownModel(f"no model {version} in the registry", version=version)
    if status == "champion":
        _retire_champion(connection)
    connection.execute(
        update(credit_models).where(credit_models.c.version == version).values(status=status)
    )


def registry(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(credit_models).order_by(credit_models.c.created_at.desc()))
    return [
        {
            "version": row.version,
            "kind": row.kind,
            "status": row.status,
            "training_sha256": row.training_sha256,
            "metrics": json.loads(row.metrics),
            "features": json.loads(row.features),
            "artefact_path": row.artefact_path,
            "created_at": _utc(row.created_at),
        }
        for row in rows
    ]


def champion(connection: Connection) -> tuple[str, Path]:
    row = connection.execute(
        select(credit_models.c.version, credit_models.c.artefact_path).where(
            credit_models.c.status == "champion"
        )
    ).first()
    if row is None:
        raise NoChampion("no credit model is the champion yet: an operator must promote one")
    return row.version, Path(row.artefact_path)


# -- from stored events to features ----------------------------------------------------------


def _place(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=7).digest(), "big")


def events_frame(user_id: int, raw: Sequence[RawEvent]) -> pl.DataFrame:
    """Stored phone events in the feature pipeline's schema (`EVENT_SCHEMA`)."""
    rows = []
    for event in raw:
        f = event.fields
        row: dict[str, Any] = {"user_id": user_id, "day": event.day, "kind": event.kind}
        if event.kind == "device":
            row |= {"place": _place(f["device_id"]), "value": f.get("loan_apps_installed", 0),
                    "category": "rooted" if f.get("rooted") else "stock"}  # fmt: skip
        elif event.kind == "location":
            row["place"] = round(f["lat"] * 100) * 100_000 + round(f["lon"] * 100)
        elif event.kind == "app_session":
            row |= {"category": f["app_category"], "value": f["minutes"]}
        elif event.kind == "purchase":
            row |= {"category": f["merchant_category"], "amount_fen": f["amount_fen"]}
        elif event.kind == "bill_payment":
            row |= {"category": f["biller_category"], "amount_fen": f["amount_fen"],
                    "days_late": f["days_late"]}  # fmt: skip
        rows.append({name: row.get(name) for name in EVENT_SCHEMA})
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


# -- decisions and reviews -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    user_id: int
    model_version: str
    score: int
    band: str
    p_bad: float
    reasons: list[str]
    inputs: dict[str, float]
    at: datetime


def balance_events(connection: Connection, user_id: int, *, today: int) -> pl.DataFrame:
    """Weekly current-account balances over the history, from the ledger (platform data,
    collected under ``financial_data``): shares at NAV 1.00, so shares in 0.01 = fen."""
    from huoqi.fund.statements import holdings_of
    from huoqi.identity.service import get_user
    from huoqi.ledger.queries import balance_as_of
    from huoqi.service.customer import holder_of

    user = get_user(connection, user_id)
    if user.role != "customer" or user.customer_ref is None:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    accounts = [h.account_id for h in holdings_of(connection, holder_of(connection, user))]
    days = [today - 1 - 7 * week for week in range(HISTORY_DAYS // 7)]  # yesterday back
    rows = []
    for day in days:
        on = EPOCH + timedelta(days=day)
        balances = [balance_as_of(connection, account, on) for account in accounts]
        total = sum(b.credits_posted - b.debits_posted for b in balances)
        rows.append({"user_id": user_id, "day": day, "kind": "balance", "amount_fen": total})
    return pl.DataFrame(
        [{name: row.get(name) for name in EVENT_SCHEMA} for row in rows], schema=EVENT_SCHEMA
    )


def score_user(
    connection: Connection,
    key: CreditKey,
    user_id: int,
    *,
    model: TrainedModel,
    model_version: str,
    actor: Actor,
    now: datetime,
) -> Decision:
    """Score a user on their stored events now; the decision is stored with its inputs."""
    raw = read_raw(connection, key, user_id, actor=actor, now=now, why="credit score")
    today = day_number(now)
    frames = [events_frame(user_id, raw)]
    if "financial_data" in granted_purposes(connection, user_id):
        frames.append(balance_events(connection, user_id, today=today))
    applications = pl.DataFrame({"user_id": [user_id], "as_of": [today]})
    features = compute_features(pl.concat(frames), applications)
    inputs = {name: float(features[name][0]) for name in NAMES}
    scored = model.score(features.select(NAMES).to_pandas()).iloc[0]
    reasons = [str(scored[f"reason_{n}"]) for n in range(1, 5) if scored[f"reason_{n}"]]
    text = json.dumps(inputs, sort_keys=True)
    decision_id = connection.execute(
        insert(credit_decisions)
        .values(
            user_id=user_id,
            model_version=model_version,
            inputs_sha256=hashlib.sha256(text.encode()).hexdigest(),
            inputs=text,
            score=int(scored["score"]),
            band=str(scored["band"]),
            p_bad=float(scored["p_bad"]),
            reasons=json.dumps(reasons),
            at=now,
        )
        .returning(credit_decisions.c.id)
    ).scalar_one()
    record(connection, actor, "credit.scored", now=now, object_type="credit_decision",
           object_id=decision_id, detail={"model": model_version})  # fmt: skip
    return Decision(
        decision_id, user_id, model_version, int(scored["score"]), str(scored["band"]),
        float(scored["p_bad"]), reasons, inputs, now,
    )  # fmt: skip


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _decision(row: Any) -> Decision:
    return Decision(
        row.id, row.user_id, row.model_version, row.score, row.band, row.p_bad,
        json.loads(row.reasons), json.loads(row.inputs), _utc(row.at) or row.at,
    )  # fmt: skip


def decisions_of(connection: Connection, user_id: int, limit: int = 50) -> list[Decision]:
    rows = connection.execute(
        select(credit_decisions)
        .where(credit_decisions.c.user_id == user_id)
        .order_by(credit_decisions.c.id.desc())
        .limit(limit)
    )
    return [_decision(row) for row in rows]


def request_review(
    connection: Connection, user_id: int, decision_id: int, *, reason: str, now: datetime,
    actor: Actor,
) -> int:  # fmt: skip
    """Ask for a person to review one of the user's own decisions (others' answer 404)."""
    owner = connection.execute(
        select(credit_decisions.c.user_id).where(credit_decisions.c.id == decision_id)
    ).scalar_one_or_none()
    if owner != user_id:
        raise UnknownDecision(f"you have no credit decision {decision_id}")
    if connection.execute(
        select(credit_reviews.c.id).where(
            credit_reviews.c.decision_id == decision_id, credit_reviews.c.status == "open"
        )
    ).first():
        raise ReviewPending("a review of this decision is already waiting for a person")
    review_id = connection.execute(
        insert(credit_reviews)
        .values(
            decision_id=decision_id,
            user_id=user_id,
            reason=reason.strip()[:2000],
            status="open",
            requested_at=now,
        )
        .returning(credit_reviews.c.id)
    ).scalar_one()
    record(connection, actor, "credit.review_requested", now=now, object_type="credit_review",
           object_id=review_id)  # fmt: skip
    return int(review_id)


def reviews_of(connection: Connection, user_id: int) -> list[dict[str, Any]]:
    """One customer's review requests, newest first, with the reviewer's outcome."""
    rows = connection.execute(
        select(credit_reviews, credit_decisions.c.score)
        .join(credit_decisions, credit_decisions.c.id == credit_reviews.c.decision_id)
        .where(credit_reviews.c.user_id == user_id)
        .order_by(credit_reviews.c.id.desc())
        .limit(50)
    )
    return [
        {"id": row.id, "decision_id": row.decision_id, "score": row.score,
         "status": row.status, "outcome": row.outcome, "requested_at": _utc(row.requested_at),
         "resolved_at": _utc(row.resolved_at) if row.resolved_at else None}
        for row in rows
    ]  # fmt: skip


def review_queue(connection: Connection, *, status: str = "open") -> list[dict[str, Any]]:
    query = (
        select(
            credit_reviews,
            credit_decisions.c.score,
            credit_decisions.c.band,
            credit_decisions.c.reasons,
            credit_decisions.c.model_version,
        )
        .join(credit_decisions, credit_decisions.c.id == credit_reviews.c.decision_id)
        .where(credit_reviews.c.status == status)
        .order_by(credit_reviews.c.id)
        .limit(200)
    )
    return [
        {
            "id": row.id,
            "decision_id": row.decision_id,
            "user_id": row.user_id,
            "reason": row.reason,
            "status": row.status,
            "requested_at": _utc(row.requested_at),
            "score": row.score,
            "band": row.band,
            "reasons": json.loads(row.reasons),
            "model_version": row.model_version,
            "outcome": row.outcome,
            "resolved_at": _utc(row.resolved_at),
        }
        for row in connection.execute(query)
    ]


def resolve_review(
    connection: Connection, review_id: int, *, changed: bool, outcome: str, now: datetime,
    actor: Actor,
) -> None:  # fmt: skip
    if not outcome.strip():
        raise InvalidInput("write the outcome the customer will read")
    done = connection.execute(
        update(credit_reviews)
        .where(credit_reviews.c.id == review_id, credit_reviews.c.status == "open")
        .values(
            status="changed" if changed else "upheld",
            outcome=outcome.strip()[:2000],
            reviewer_id=actor.id,
            resolved_at=now,
        )
    ).rowcount
    if not done:
        raise UnknownReview(f"no open review {review_id}")
    record(connection, actor, "credit.review_resolved", now=now, object_type="credit_review",
           object_id=review_id, detail={"changed": changed})  # fmt: skip
