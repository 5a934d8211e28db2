"""Every error answer is an RFC 9457 problem document with a stable ``code``.

`HuoqiError` carries its own status and code. FastAPI's own refusals (validation, unknown
route, wrong method) are rewritten into the same shape, so a client handles one format.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from huoqi.errors import HuoqiError

PROBLEM = "application/problem+json"
log = logging.getLogger("huoqi.web")

_STATUS_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Sign-in required"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("body_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
}


class ApiProblem(HuoqiError):
    """An HTTP-level refusal with its own status (bad headers, body too large, ...)."""

    def __init__(self, status: int, code: str, detail: str, **context: Any) -> None:
        super().__init__(detail, **context)
        self.status = status  # type: ignore[misc]
        self.code = code  # type: ignore[misc]
        self.title = _STATUS_CODES.get(status, (code, "Request refused"))[1]  # type: ignore[misc]


def problem_response(error: HuoqiError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = error.as_problem()
    extra = dict(headers or {})
    retry = error.context.get("retry_after")
    if isinstance(retry, int):
        extra["Retry-After"] = str(retry)
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM, headers=extra)


def _plain(status: int, detail: str, **extra: Any) -> JSONResponse:
    code, title = _STATUS_CODES.get(status, ("error", "Request refused"))
    body = {
        "type": f"https://huoqi.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location if part not in ("body",)) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(HuoqiError)
    async def huoqi_error(_request: Request, error: HuoqiError) -> JSONResponse:
        return problem_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": _field(tuple(item.get("loc", ()))), "message": item.get("msg", "")}
            for item in error.errors()
        ]
        if any(p["field"].lower() == "header.idempotency-key" for p in problems):
            return problem_response(
                ApiProblem(
                    400,
                    "idempotency_key_missing",
                    "money-moving requests need an Idempotency-Key header (1 to 128 characters "
                    "of your choosing, new for each new request)",
                )
            )
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        body = {
            "type": "https://huoqi.dev/problems/invalid_input",
            "title": "Invalid input",
            "status": 422,
            "detail": summary or "the request is not valid",
            "code": "invalid_input",
            "errors": problems,
        }
        return JSONResponse(body, status_code=422, media_type=PROBLEM)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else "request refused"
        return _plain(error.status_code, detail)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _plain(
            500,
            "something went wrong on our side; nothing was changed twice "
            "(retry with the same Idempotency-Key)",
        )
