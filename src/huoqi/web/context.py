"""What every request can reach: the engine, the clock, the bank, the jobs, the limiter.

`Services` is built once per app; routes get it and the signed-in principal through
FastAPI dependencies. Authentication reads ``Authorization: Bearer <token>`` (API
clients) or the ``hq_session`` cookie (the web app). A cookie-authenticated request that
changes state must also carry the CSRF token (double submit: the ``hq_csrf`` cookie's value
in an ``X-CSRF-Token`` header or a ``csrf_token`` form field); a forged cross-site form
cannot read that cookie, so it cannot send the token.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine

from huoqi.audit.log import Actor
from huoqi.db.engine import read_transaction
from huoqi.identity.service import Forbidden, Principal, Unauthenticated, authenticate
from huoqi.web.problems import ApiProblem
from huoqi.web.writer import Writer

SESSION_COOKIE = "hq_session"
CSRF_COOKIE = "hq_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window in memory).

    One process keeps its own counts; that bounds guessing per server process, and the
    per-account lock-out in the database bounds it across processes.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> float | None:
        """None if allowed (and counted), else the seconds until the next one is."""
        now = time.monotonic()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return events[0] + self.window - now
            events.append(now)
            return None


@dataclass
class Services:
    engine: Engine
    clock: Callable[[], datetime]
    bank: Any
    jobs: Any
    writer: Writer  # every write of this process goes through it
    secure_cookies: bool = False
    sign_in_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(20, 60.0))
    demo_clock: Any = None
    notifier: Any = None  # sends merchant notifications; woken after payments commit

    def notifier_wake(self) -> None:
        if self.notifier is not None:
            self.notifier.wake()


# The dependencies that do no I/O (`services`, `current_principal`, `require`'s check) are
# ``async``: FastAPI runs a plain ``def`` dependency in the thread pool, one hop each, and
# under load those hops (the GIL handed between the event loop's thread and the pool's)
# cost more than the checks. `optional_principal` reads the database, so it stays a
# ``def`` (and pages call it directly). See docs/benchmarks.md, "HTTP service".
async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def _token(request: Request) -> tuple[str, bool] | None:
    """(token, from_cookie) or None."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("use 'Authorization: Bearer <token>' from POST /api/v1/sessions")
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else None


def check_csrf(request: Request, form_token: str | None = None) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = form_token or request.headers.get(CSRF_HEADER, "")
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise ApiProblem(
            403,
            "csrf_failed",
            "this form or request is missing its CSRF token or it does not match: "
            "reload the page and try again",
        )


async def optional_principal(request: Request) -> Principal | None:
    """The signed-in principal, or None. Runs on the event loop: one indexed read of a
    local database costs less than a hop into the thread pool and back."""
    return principal_of(request)


def principal_of(request: Request) -> Principal | None:
    found = _token(request)
    if found is None:
        return None
    token, from_cookie = found
    ctx: Services = request.app.state.services
    with read_transaction(ctx.engine) as connection:
        principal = authenticate(connection, token, now=ctx.clock())
    if from_cookie and request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
        check_csrf(request)
    request.state.principal = principal
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthenticated(
            "sign in first: send 'Authorization: Bearer <token>' or the session cookie"
        )
    return principal


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.user.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return principal

    return check


def actor(request: Request, principal: Principal | None) -> Actor:
    if principal is None:
        return Actor(None, "anonymous", client_address(request))
    return Actor(principal.user.id, principal.user.role, client_address(request))


Customer = Annotated[Principal, Depends(require("customer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Staff = Annotated[Principal, Depends(require("operator", "auditor"))]
SignedIn = Annotated[Principal, Depends(current_principal)]
Ctx = Annotated[Services, Depends(services)]
