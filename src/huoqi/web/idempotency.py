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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

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


_STORED = select(
    api_requests.c.route, api_requests.c.body_hash, api_requests.c.status, api_requests.c.response
).where(
    api_requests.c.user_id == bindparam("user"),
    api_requests.c.idempotency_key == bindparam("key"),
)

_INSERT = insert(api_requests)

Outcome = tuple[int, str, bool, Any]  # status, answer text, replayed, payload


@dataclass(frozen=True, slots=True)
class Attempt:
    """One keyed request as the writer sees it: ``user_id``, ``key``, ``route`` and the
    request's ``digest``; `stored` and `store` are the two halves of the idempotent unit,
    for callers that book many requests together (see `Writer`'s batches)."""

    user_id: int
    key: str
    route: str
    digest: bytes

    def stored(self, connection: Connection) -> Outcome | None:
        """The first answer to this key, or None; another request's key is refused."""
        row = connection.execute(_STORED, {"user": self.user_id, "key": self.key}).first()
        if row is None:
            return None
        if row.route != self.route or bytes(row.body_hash) != self.digest:
            raise IdempotencyConflict(
                f"Idempotency-Key {self.key!r} was already used for a different request; "
                "use a new key for a new request",
                key=self.key,
            )
        return int(row.status), row.response, True, None

    def answer_row(
        self, status: int, payload: Any, now: datetime
    ) -> tuple[Outcome, dict[str, Any]]:
        """The outcome of a new answer and the row that stores it."""
        text = (
            payload.model_dump_json()
            if isinstance(payload, BaseModel)
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        )
        row = {
            "user_id": self.user_id, "idempotency_key": self.key, "route": self.route,
            "body_hash": self.digest, "status": status, "response": text, "created_at": now,
        }  # fmt: skip
        return (status, text, False, payload), row


def store_answers(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(_INSERT, rows)


def _attempt(
    ctx: Services,
    principal: Principal,
    *,
    key: str,
    route: str,
    body: BaseModel | None,
    work: Callable[[Connection], tuple[int, Any]],
) -> Callable[[Connection], Outcome]:
    """The unit of work: the stored answer for this key, or ``work`` and its answer stored."""
    check_key(key)
    payload_text = body.model_dump_json() if body is not None else ""
    digest = hashlib.sha256(f"{route}\n{payload_text}".encode()).digest()
    keyed = Attempt(principal.user.id, key, route, digest)

    def attempt(connection: Connection) -> Outcome:
        stored = keyed.stored(connection)
        if stored is not None:
            return stored
        status, payload = work(connection)
        outcome, row = keyed.answer_row(status, payload, ctx.clock())
        store_answers(connection, [row])
        return outcome

    attempt.keyed = keyed  # type: ignore[attr-defined]
    return attempt


def _answer(outcome: Outcome, after_commit: Callable[[Any], None] | None) -> Response:
    status, text, replayed, payload = outcome
    if not replayed and after_commit is not None:
        after_commit(payload)
    # the stored text is the answer, byte for byte: no second encoding
    return Response(
        content=text,
        status_code=status,
        media_type="application/json",
        headers={REPLAYED: "true" if replayed else "false"},
    )


def run_idempotent(
    ctx: Services,
    principal: Principal,
    *,
    key: str,
    route: str,
    body: BaseModel | None,
    work: Callable[[Connection], tuple[int, Any]],
    after_commit: Callable[[Any], None] | None = None,
) -> Response:
    """Run ``work`` once per (user, key); it returns (status, JSON-ready payload)."""
    attempt = _attempt(ctx, principal, key=key, route=route, body=body, work=work)
    for tries in range(3):
        try:
            return _answer(ctx.writer.run(attempt), after_commit)
        except IntegrityError:  # PostgreSQL: the same key committed by a request beside it
            if tries == 2:
                raise
    raise AssertionError("unreachable")


async def run_idempotent_async(
    ctx: Services,
    principal: Principal,
    *,
    key: str,
    route: str,
    body: BaseModel | None,
    work: Callable[[Connection], tuple[int, Any]],
    after_commit: Callable[[Any], None] | None = None,
    batch: tuple[Callable[..., Any], Any] | None = None,
) -> Response:
    """`run_idempotent` for ``async`` routes: the event loop waits for the writer, not a
    thread of the pool. ``batch`` (a function and this request's item) lets the writer book
    this request together with others of its kind in one go (`Writer`)."""
    attempt = _attempt(ctx, principal, key=key, route=route, body=body, work=work)
    if batch is not None:
        attempt.batch_with, attempt.batch_item = batch  # type: ignore[attr-defined]
    for tries in range(3):
        try:
            return _answer(await ctx.writer.run_async(attempt), after_commit)
        except IntegrityError:
            if tries == 2:
                raise
    raise AssertionError("unreachable")
