"""One error hierarchy for the whole platform.

Every error a user can cause is a `HuoqiError`: it carries a stable machine-readable
``code``, the HTTP status the API answers with, and a sentence a person can act on. The
HTTP layer turns it into an RFC 9457 problem document; the CLI prints it and exits 2.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HuoqiError(Exception):
    """Base of every expected, user-facing failure."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request refused"

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context

    def as_problem(self) -> dict[str, Any]:
        """The RFC 9457 body for this error."""
        return {
            "type": f"https://huoqi.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **({"context": self.context} if self.context else {}),
        }


class InvalidInput(HuoqiError):
    code = "invalid_input"
    status = 422
    title = "Invalid input"


class NotFound(HuoqiError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(HuoqiError):
    code = "conflict"
    status = 409
    title = "Conflict"


class RuleViolation(HuoqiError):
    """The request is well-formed but a business rule forbids it."""

    code = "rule_violation"
    status = 422
    title = "Refused by a business rule"
