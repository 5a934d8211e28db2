"""Logs, metrics and health: what an on-call engineer needs from the running service.

* One JSON object per log line (``huoqi.web.access`` has one per request: method, route,
  status, milliseconds, user, request id).
* ``/metrics`` in Prometheus' text format: requests by route template and status, and
  their latency histogram; the route template (``/api/v1/account/orders/{order_id}``),
  never the raw path, keeps the number of series bounded.
* ``/healthz``: the process answers. ``/readyz``: the database answers and its schema is
  at the version this code expects.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from huoqi.web.problems import PROBLEM

access_log = logging.getLogger("huoqi.web.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = name != "uvicorn.access"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "huoqi_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "huoqi_http_request_duration_seconds",
            "Time to answer, by route",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=self.registry,
        )


class ServiceMiddleware:
    """Request id, body size limit, access log and metrics, as plain ASGI (no per-request
    task switching)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body: int,
        large_body_paths: tuple[str, ...] = (),
        large_body: int = 1 << 20,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.large_body_paths = large_body_paths
        self.large_body = large_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = secrets.token_hex(8)
        path: str = scope["path"]
        limit = self.large_body if path.startswith(self.large_body_paths) else self.max_body
        status = [500]
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            self._observe(scope, 413, started, request_id)
            return
        seen = [0]

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            status[0] = 413
            await _too_large(send, limit)
        finally:
            self._observe(scope, status[0], started, request_id)

    def _observe(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(elapsed)
        principal = getattr(scope.get("state", {}).get("principal"), "user", None)
        access_log.info(
            "%s %s %s",
            method,
            scope["path"],
            status,
            extra={
                "fields": {
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                    "request_id": request_id,
                    "user": getattr(principal, "id", None),
                    "client": (scope.get("client") or ("", 0))[0],
                }
            },
        )


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://huoqi.dev/problems/body_too_large",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
            "code": "body_too_large",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
