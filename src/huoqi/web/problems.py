"""Every error answer is an RFC 9457 problem document with a stable ``code``.

`HuoqiError` carries its own status and code. FastAPI's own refusals (validation, unknown
route, wrong method) are rewritten into the same shape, so a client handles one format.
"""

from __future__ import annotations

import json
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
        key_errors = [
            item["type"] for item in error.errors()
            if _field(tuple(item.get("loc", ()))).lower() == "header.idempotency-key"
        ]  # fmt: skip
        if key_errors and key_errors[0] != "missing":
            return problem_response(
                ApiProblem(
                    400,
                    "invalid_idempotency_key",
                    "the Idempotency-Key must be 1 to 128 visible ASCII characters (a UUID is "
                    "ideal)",
                )
            )
        if key_errors:
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


# --- the OpenAPI description of refusals ----------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; `code` is stable, `detail` is for people.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["invalid_amount"]},
        "context": {"type": "object", "description": "what the refusal was about"},
        "errors": {
            "type": "array",
            "description": "invalid_input: each field and what is wrong with it",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
DOCUMENTED_PREFIXES = ("/api/", "/gateway/", "/bank/")
_PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_REFUSALS = {
    "400": "a malformed header, cursor or body (Idempotency-Key, cursor, undecodable JSON)",
    "401": "not signed in, or the session expired or was signed out",
    "403": "the role may not do this, or the CSRF token is missing (cookie sessions)",
    "404": "no such object (or not yours)",
    "413": "the request body is too large",
    "422": "invalid input, or a business rule refused it",
}


def document(app: FastAPI) -> None:
    """Describe every refusal of the API in its OpenAPI document, from the routes themselves.

    Each ``/api/`` operation lists the statuses it can refuse with: 401 where it reads the
    session, 403 where it checks a role or (a state change) the CSRF token, 400 where it
    takes an Idempotency-Key, a cursor or a body (bytes that are not JSON text), 404 where
    the path names an object, 413 always, 422 where anything is validated. Every such
    answer is a problem document: FastAPI's own validation-error schema is replaced, and a
    schema a route gives itself is kept.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = FastAPI.openapi(app)
            _describe_refusals(spec, _reads_session(app))
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _reads_session(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    """(method, path) → the refusals its dependencies can answer (401, 403)."""
    from fastapi.routing import iter_route_contexts

    from huoqi.web import context

    role_check = context.require("customer").__code__  # every require() shares this code
    found: dict[tuple[str, str], set[str]] = {}
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not route.path:
            continue
        calls = list(_calls(dependant))
        session = any(call is context.optional_principal for call in calls)
        role = any(getattr(call, "__code__", None) is role_check for call in calls)
        for method in route.methods or ():
            statuses = {"401"} if session else set()
            if role or (session and method not in context.SAFE_METHODS):
                statuses.add("403")
            found[(method.lower(), route.path)] = statuses
    return found


def _calls(dependant: Any) -> Any:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _describe_refusals(spec: dict[str, Any], session: dict[tuple[str, str], set[str]]) -> None:
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith(DOCUMENTED_PREFIXES):
            continue
        for method, operation in operations.items():
            statuses = session.get((method, path), set()) | _refusals_of(operation)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(status, {"description": _REFUSALS[status]})
            for status, response in responses.items():
                if status[0] in "45" and _framework_schema_or_none(response):
                    response["content"] = _PROBLEM_CONTENT
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in json.dumps(spec):
            schemas.pop(unused, None)


def _refusals_of(operation: dict[str, Any]) -> set[str]:
    """The refusals an operation's parameters and body make possible."""
    where = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    body = "requestBody" in operation
    statuses = {"413"}
    if body or ("header", "Idempotency-Key") in where or ("query", "cursor") in where:
        statuses.add("400")  # a malformed key or cursor; a body that is not JSON text
    if any(place == "path" for place, _name in where):
        statuses.add("404")
    if body or where:
        statuses.add("422")
    return statuses


def _framework_schema_or_none(response: dict[str, Any]) -> bool:
    content = response.get("content")
    if not content:
        return True
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return bool(ref.endswith("/HTTPValidationError"))
