"""The Mall's side of the merchant gateway: signed requests out, signed notifications in.

`Gateway` is a small synchronous HTTP client (httpx) of ``/gateway/v1``: each request is
sent with exactly the body bytes it was signed over, a fresh nonce and the current Unix
time. A refusal comes back as `GatewayRefused` carrying the problem's ``code`` and
``detail``; an unreachable Huoqi as `GatewayUnavailable`. The signatures themselves are
Huoqi's own functions (`huoqi.payments.signing`), the same ones the gateway checks with.

`verify_notification` checks a notification Huoqi POSTed to the shop: the same canonical
text over the notify URL's path and query, with the event id as the nonce.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from huoqi.errors import HuoqiError
from huoqi.payments.signing import sign, signed_headers

PREFIX = "/gateway/v1"


class GatewayRefused(HuoqiError):
    """Huoqi answered a gateway request with a problem (4xx/5xx)."""

    code = "gateway_refused"
    title = "Huoqi refused the request"

    status = 502

    def __init__(self, http_status: int, problem_code: str, detail: str) -> None:
        super().__init__(detail)
        self.http_status = http_status
        self.problem_code = problem_code


class GatewayUnavailable(HuoqiError):
    status = 502
    code = "gateway_unavailable"
    title = "Huoqi cannot be reached"


class NotificationRefused(HuoqiError):
    status = 401
    code = "bad_notification_signature"
    title = "Notification signature refused"


@dataclass(frozen=True, slots=True)
class Credentials:
    merchant_id: str
    secret: str


class Gateway:
    """``/gateway/v1`` of one Huoqi, as one merchant."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._clock = clock
        self._client = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def absolute(self, path: str) -> str:
        """Huoqi's URL of one of its paths (the checkout page's ``checkout_url``)."""
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Send one signed request; answers the JSON body of a 2xx answer."""
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        full_path = PREFIX + path
        headers = signed_headers(
            self.credentials.secret,
            merchant=self.credentials.merchant_id,
            method=method,
            path=full_path,
            timestamp=int(self._clock()),
            nonce=secrets.token_urlsafe(24),
            body=body,
        )
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            answer = self._client.request(method, full_path, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise GatewayUnavailable(f"{method} {full_path}: {error}") from None
        if answer.is_success:
            return answer.json()
        try:
            problem = answer.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        raise GatewayRefused(
            answer.status_code,
            str(problem.get("code", f"http_{answer.status_code}")),
            str(problem.get("detail") or problem.get("title") or answer.text[:200]),
        )

    def create_order(
        self,
        *,
        out_trade_no: str,
        amount: str,
        description: str,
        notify_url: str,
        return_url: str,
    ) -> Any:
        return self.request(
            "POST",
            "/orders",
            {
                "out_trade_no": out_trade_no,
                "amount": amount,
                "description": description,
                "notify_url": notify_url,
                "return_url": return_url,
            },
        )

    def order(self, out_trade_no: str) -> Any:
        return self.request("GET", f"/orders/{out_trade_no}")

    def refund(self, out_trade_no: str, *, out_refund_no: str, amount: str, reason: str) -> Any:
        return self.request(
            "POST",
            f"/orders/{out_trade_no}/refunds",
            {"out_refund_no": out_refund_no, "amount": amount, "reason": reason},
        )

    def balance(self) -> Any:
        return self.request("GET", "/balance")


def verify_notification(
    secret: str, *, headers: Mapping[str, str], path: str, query: str, body: bytes
) -> str:
    """The event id of a notification whose signature is Huoqi's; else `NotificationRefused`.

    The timestamp is signed but not held to a window: a notification may be a retry of an
    old event, and a replayed one is harmless because the shop deduplicates by event id.
    """
    stamp = headers.get("huoqi-timestamp", "")
    nonce = headers.get("huoqi-nonce", "")
    signature = headers.get("huoqi-signature", "")
    event_id = headers.get("huoqi-event-id", "")
    if not (stamp and nonce and signature and event_id):
        raise NotificationRefused("signature headers missing")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise NotificationRefused("Huoqi-Timestamp must be Unix time in whole seconds")
    if nonce != event_id:
        raise NotificationRefused("Huoqi-Nonce must be the event id")
    expected = sign(
        secret, method="POST", path=path, query=query, timestamp=stamp, nonce=nonce, body=body
    )
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise NotificationRefused("the signature does not match the notification")
    return event_id
