"""Monitoring what the credit models see in service: population stability of the score and
of every input, the last N days of stored decisions against the N days before them, read
with MISSION's thresholds (below 0.10 stable, 0.10-0.25 watch, above 0.25 shifted)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from huoqi.credit.tables import credit_decisions

MIN_DECISIONS = 20  # per window: fewer cannot fill ten bins


def monitoring(connection: Connection, *, now: datetime, days: int = 30) -> dict[str, Any]:
    """PSI of the score and of every input between the last ``days`` days of decisions and
    the ``days`` before them, with MISSION's reading (stable / watch / shifted)."""
    from huoqi.credit.models import psi, psi_status

    start = now - timedelta(days=2 * days)
    rows = connection.execute(
        select(credit_decisions.c.at, credit_decisions.c.score, credit_decisions.c.inputs)
        .where(credit_decisions.c.at >= start, credit_decisions.c.at <= now)
        .order_by(credit_decisions.c.id)
    ).all()
    split = now - timedelta(days=days)
    recent = [row for row in rows if _utc(row.at) >= split]
    baseline = [row for row in rows if _utc(row.at) < split]
    report: dict[str, Any] = {
        "window_days": days,
        "recent": len(recent),
        "baseline": len(baseline),
        "enough": min(len(recent), len(baseline)) >= MIN_DECISIONS,
        "score": None,
        "features": {},
    }
    if not report["enough"]:
        return report

    def reading(expected: list[float], actual: list[float]) -> dict[str, Any]:
        value = psi(expected, actual)
        return {"psi": round(value, 4), "status": psi_status(value)}

    report["score"] = reading([r.score for r in baseline], [r.score for r in recent])
    before = [json.loads(r.inputs) for r in baseline]
    after = [json.loads(r.inputs) for r in recent]
    for name in sorted(set(before[0]) & set(after[0])):
        report["features"][name] = reading(
            [float(i.get(name, 0.0)) for i in before], [float(i.get(name, 0.0)) for i in after]
        )
    return report


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
