"""``Idempotency-Key`` on money-moving POSTs: the first answer, again, for a retry.

The answer is stored in the same transaction as the change it reports, so either both
exist or neither does: a retry after a lost answer finds the first answer, and a retry
after a failure runs the request again. The same key with another body (or on another
route) is refused with 409. Refusals (4xx) are not stored: they changed nothing, so
running them again is harmless. Keys belong to the user who sent them.

Two requests with one key at the same moment: on SQLite the writer lock orders them; on
PostgreSQL the second one's insert waits on the first's key and fails when it commits,
and is then run again, finding the stored answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from huoqi.db.engine import run_in_write_transaction
from huoqi.errors import Conflict
from huoqi.identity.service import Principal
from huoqi.web.context import Services
from huoqi.web.problems import ApiProblem
from huoqi.web.tables import api_requests

KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
REPLAYED = "Idempotent-Replayed"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "Idempotency key reused"


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise ApiProblem(
            400,
            "invalid_idempotency_key",
            "the Idempotency-Key must be 1 to 128 visible ASCII characters (a UUID is ideal)",
        )
    return key


def run_idempotent(
    ctx: Services,
    principal: Principal,
    *,
    key: str,
    route: str,
    body: BaseModel | None,
    work: Callable[[Connection], tuple[int, Any]],
    after_commit: Callable[[Any], None] | None = None,
) -> JSONResponse:
    """Run ``work`` once per (user, key); it returns (status, JSON-ready payload)."""
    check_key(key)
    payload_text = body.model_dump_json() if body is not None else ""
    digest = hashlib.sha256(f"{route}\n{payload_text}".encode()).digest()
    user_id = principal.user.id

    def attempt(connection: Connection) -> tuple[int, str, bool, Any]:
        stored = connection.execute(
            select(
                api_requests.c.route,
                api_requests.c.body_hash,
                api_requests.c.status,
                api_requests.c.response,
            ).where(api_requests.c.user_id == user_id, api_requests.c.idempotency_key == key)
        ).first()
        if stored is not None:
            if stored.route != route or bytes(stored.body_hash) != digest:
                raise IdempotencyConflict(
                    f"Idempotency-Key {key!r} was already used for a different request; "
                    "use a new key for a new request",
                    key=key,
                )
            return int(stored.status), stored.response, True, None
        status, payload = work(connection)
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        connection.execute(
            insert(api_requests).values(
                user_id=user_id,
                idempotency_key=key,
                route=route,
                body_hash=digest,
                status=status,
                response=text,
                created_at=ctx.clock(),
            )
        )
        return status, text, False, payload

    for tries in range(3):
        try:
            status, text, replayed, payload = run_in_write_transaction(ctx.engine, attempt)
            break
        except IntegrityError:
            if tries == 2:
                raise
    if not replayed and after_commit is not None:
        after_commit(payload)
    return JSONResponse(
        content=json.loads(text),
        status_code=status,
        headers={REPLAYED: "true" if replayed else "false"},
    )
