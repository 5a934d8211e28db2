"""Consent to collect credit data: four purposes, each granted and revoked on its own.

PIPL treats location and financial data as sensitive: each needs separate, explicit
consent for a stated purpose. A grant is a row tied to the policy version the user was
shown (the text itself is stored, once per version, in ``credit_consent_policies``); a
revocation stamps that row, and collection for the purpose stops at once, because
ingestion asks `granted_purposes` inside the same transaction that writes the events.
Raw data collected under a revoked purpose is deleted by the retention job
(`huoqi.credit.retention`) once the retention period has passed.

Which event needs which consent (`REQUIRED`): every event needs ``credit_assessment`` (the
purpose all collection serves) and, for the sensitive kinds, the kind's own purpose too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import Connection, insert, select, update

from huoqi.audit.log import Actor, record
from huoqi.credit.tables import credit_consent_policies, credit_consents
from huoqi.errors import Conflict, InvalidInput, NotFound, RuleViolation

Purpose = Literal["credit_assessment", "location", "app_usage", "financial_data"]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)

#: The purpose each kind of event is collected under (besides credit_assessment).
EVENT_PURPOSE: dict[str, Purpose] = {
    "device": "credit_assessment",
    "app_session": "app_usage",
    "location": "location",
    "purchase": "financial_data",
    "bill_payment": "financial_data",
    "balance": "financial_data",
    "repayment": "financial_data",
}
REQUIRED: dict[str, frozenset[Purpose]] = {
    kind: frozenset({"credit_assessment", purpose}) for kind, purpose in EVENT_PURPOSE.items()
}


@dataclass(frozen=True, slots=True)
class Policy:
    purpose: Purpose
    version: int
    text_en: str
    text_zh: str

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(f"{self.text_en}\n{self.text_zh}".encode()).digest()


POLICIES: dict[Purpose, Policy] = {
    policy.purpose: policy
    for policy in (
        Policy(
            "credit_assessment",
            1,
            "Huoqi may use the data you allow below, and your repayments with us, to assess "
            "your credit and set your credit score. You can see why you got your score and ask "
            "a person to review it.",
            "活期可使用您在下方授权的数据以及您在本平台的还款记录评估您的信用并给出信用分。"
            "您可以查看得分原因并申请人工复核。",
        ),
        Policy(
            "location",
            1,
            "Your phone sends its coarse location (about 1 km) a few times a day; we use how "
            "settled it is, never where you are, to assess your credit.",
            "您的手机每天数次上报粗略位置(约一公里);我们只用其稳定程度评估信用,不关心您身在何处。",
        ),
        Policy(
            "app_usage",
            1,
            "Your phone sends how long you use apps of each category (not which app, not what "
            "you do in it) to assess your credit.",
            "您的手机上报各类应用的使用时长(不含具体应用及其内容),用于评估信用。",
        ),
        Policy(
            "financial_data",
            1,
            "Your purchases, bill payments and current-account balances are used to assess "
            "your ability to pay.",
            "您的消费、账单缴付和活期余额将用于评估您的还款能力。",
        ),
    )
}


class ConsentRequired(RuleViolation):
    code = "consent_required"
    title = "Consent is needed first"


class UnknownPurpose(InvalidInput):
    code = "unknown_purpose"


class PolicyChanged(Conflict):
    code = "policy_changed"
    title = "The policy text changed"


class NoConsent(NotFound):
    code = "no_consent"


@dataclass(frozen=True, slots=True)
class ConsentState:
    purpose: Purpose
    granted: bool
    policy_version: int | None
    granted_at: datetime | None
    revoked_at: datetime | None


# -- the pure rules -----------------------------------------------------------------------


def missing_purposes(kinds: Iterable[str], granted: frozenset[str]) -> dict[str, list[str]]:
    """For each kind of event whose consent is missing, the purposes still to be granted."""
    missing: dict[str, list[str]] = {}
    for kind in sorted(set(kinds)):
        lacking: list[str] = sorted(REQUIRED[kind] - granted)
        if lacking:
            missing[kind] = lacking
    return missing


def check_purpose(purpose: str) -> Purpose:
    if purpose not in PURPOSES:
        raise UnknownPurpose(
            f"unknown purpose {purpose!r}; choose from {', '.join(PURPOSES)}", purpose=purpose
        )
    return purpose


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


# -- persistence ---------------------------------------------------------------------------


def granted_purposes(connection: Connection, user_id: int) -> frozenset[str]:
    rows = connection.execute(
        select(credit_consents.c.purpose).where(
            credit_consents.c.user_id == user_id, credit_consents.c.revoked_at.is_(None)
        )
    )
    return frozenset(row.purpose for row in rows)


def require_consent(connection: Connection, user_id: int, kinds: Iterable[str]) -> None:
    """Refuse unless every kind of event has the consents it needs."""
    missing = missing_purposes(kinds, granted_purposes(connection, user_id))
    if missing:
        wanted = sorted({purpose for purposes in missing.values() for purpose in purposes})
        raise ConsentRequired(
            f"no consent for {', '.join(wanted)}: nothing was collected; grant it first "
            "(POST /api/v1/credit/consents)",
            missing=missing,
        )


def states(connection: Connection, user_id: int) -> list[ConsentState]:
    """The current state of each purpose, in `PURPOSES` order."""
    latest: dict[str, ConsentState] = {}
    rows = connection.execute(
        select(credit_consents)
        .where(credit_consents.c.user_id == user_id)
        .order_by(credit_consents.c.id)
    )
    for row in rows:
        latest[row.purpose] = ConsentState(
            row.purpose,
            row.revoked_at is None,
            row.policy_version,
            _utc(row.granted_at),
            _utc(row.revoked_at),
        )
    return [latest.get(p, ConsentState(p, False, None, None, None)) for p in PURPOSES]


def _store_policy(connection: Connection, policy: Policy, now: datetime) -> None:
    known = connection.execute(
        select(credit_consent_policies.c.text_sha256).where(
            credit_consent_policies.c.purpose == policy.purpose,
            credit_consent_policies.c.version == policy.version,
        )
    ).scalar_one_or_none()
    if known is None:
        connection.execute(
            insert(credit_consent_policies).values(
                purpose=policy.purpose,
                version=policy.version,
                text_en=policy.text_en,
                text_zh=policy.text_zh,
                text_sha256=policy.sha256,
                published_at=now,
            )
        )
    elif known != policy.sha256:
        raise AssertionError(f"policy {policy.purpose} v{policy.version} was edited in place")


def grant(
    connection: Connection,
    user_id: int,
    purpose: str,
    *,
    policy_version: int,
    now: datetime,
    actor: Actor,
) -> ConsentState:
    """Grant one purpose under the policy version the user was shown (the current one).

    Granting an already granted purpose changes nothing and answers its state.
    """
    checked = check_purpose(purpose)
    policy = POLICIES[checked]
    if policy_version != policy.version:
        raise PolicyChanged(
            f"the {checked} policy is now version {policy.version}, not {policy_version}: "
            "show the user the current text and ask again",
            current_version=policy.version,
        )
    if checked in granted_purposes(connection, user_id):
        return next(s for s in states(connection, user_id) if s.purpose == checked)
    _store_policy(connection, policy, now)
    connection.execute(
        insert(credit_consents).values(
            user_id=user_id, purpose=checked, policy_version=policy.version, granted_at=now
        )
    )
    record(
        connection,
        actor,
        "credit.consent_granted",
        now=now,
        object_type="credit_consent",
        object_id=user_id,
        detail={"purpose": checked, "policy_version": policy.version},
    )
    return ConsentState(checked, True, policy.version, now, None)


def revoke(
    connection: Connection, user_id: int, purpose: str, *, now: datetime, actor: Actor
) -> ConsentState:
    """Revoke one purpose: collection for it stops with this transaction's commit."""
    checked = check_purpose(purpose)
    changed = connection.execute(
        update(credit_consents)
        .where(
            credit_consents.c.user_id == user_id,
            credit_consents.c.purpose == checked,
            credit_consents.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    if not changed:
        raise NoConsent(f"{checked} is not granted, so there is nothing to revoke")
    record(
        connection,
        actor,
        "credit.consent_revoked",
        now=now,
        object_type="credit_consent",
        object_id=user_id,
        detail={"purpose": checked},
    )
    return next(s for s in states(connection, user_id) if s.purpose == checked)
