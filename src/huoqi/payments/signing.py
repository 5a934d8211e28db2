"""Signatures of gateway requests and merchant notifications (HMAC-SHA256).

Both directions sign the same seven-line canonical text (``docs/payments.md``): a scheme
name, the method, the path and query as sent, a Unix timestamp, a nonce and the SHA-256 of
the body. A merchant's secret is derived from the gateway master key, the merchant id and
the key's version, so no secret is stored in the database.

Everything here is pure: checking the clock window and the nonce's shape is done here,
remembering nonces is the caller's business.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from huoqi.errors import HuoqiError

SCHEME = "HUOQI-HMAC-SHA256"
VERSION = "v1"
WINDOW_SECONDS = 300
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
HEADERS = ("huoqi-merchant", "huoqi-timestamp", "huoqi-nonce", "huoqi-signature")


class SignatureRefused(HuoqiError):
    """A gateway request whose signature cannot be accepted (HTTP 401)."""

    status = 401
    code = "bad_signature"
    title = "Signature refused"


class SignatureMissing(SignatureRefused):
    code = "signature_missing"
    title = "Signature missing"


class StaleTimestamp(SignatureRefused):
    code = "stale_timestamp"
    title = "Timestamp outside the window"


class ReplayedNonce(SignatureRefused):
    code = "replayed_nonce"
    title = "Nonce already used"


class MerchantInactive(SignatureRefused):
    status = 403
    code = "merchant_inactive"
    title = "Merchant not active"


class UnknownMerchant(SignatureRefused):
    code = "unknown_merchant"
    title = "Unknown merchant"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of a request the signature covers, plus who claims to send it."""

    merchant: str
    timestamp: int
    nonce: str
    signature: str


def derive_secret(master_key: bytes, merchant: str, key_version: int) -> str:
    """A merchant's secret: base64url (no padding) of HMAC(master, merchant and version)."""
    digest = hmac.new(master_key, f"merchant:{merchant}:{key_version}".encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def canonical_text(
    *, method: str, path: str, query: str, timestamp: int | str, nonce: str, body: bytes
) -> str:
    return "\n".join(
        (
            SCHEME,
            method.upper(),
            path,
            query,
            str(timestamp),
            nonce,
            hashlib.sha256(body).hexdigest(),
        )
    )


def sign(
    secret: str,
    *,
    method: str,
    path: str,
    query: str = "",
    timestamp: int | str,
    nonce: str,
    body: bytes = b"",
) -> str:
    """The ``Huoqi-Signature`` value for one request."""
    text = canonical_text(
        method=method, path=path, query=query, timestamp=timestamp, nonce=nonce, body=body
    )
    mac = hmac.new(secret.encode(), text.encode(), "sha256").hexdigest()
    return f"{VERSION}={mac}"


def signed_headers(
    secret: str,
    *,
    merchant: str,
    method: str,
    path: str,
    query: str = "",
    timestamp: int,
    nonce: str,
    body: bytes = b"",
) -> dict[str, str]:
    """The four headers a merchant sends (used by the Mall, the tests and the benchmarks)."""
    return {
        "Huoqi-Merchant": merchant,
        "Huoqi-Timestamp": str(timestamp),
        "Huoqi-Nonce": nonce,
        "Huoqi-Signature": sign(
            secret, method=method, path=path, query=query, timestamp=timestamp, nonce=nonce,
            body=body,
        ),
    }  # fmt: skip


def read_headers(headers: Mapping[str, str]) -> SignedRequest:
    """The signature headers of a request, checked for shape only."""
    merchant, stamp, nonce, signature = (headers.get(name, "") for name in HEADERS)
    if not (merchant and stamp and nonce and signature):
        missing = [name for name in HEADERS if not headers.get(name)]
        raise SignatureMissing(f"signed request headers missing: {', '.join(missing)}")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise StaleTimestamp("Huoqi-Timestamp must be Unix time in whole seconds")
    if not NONCE.match(nonce):
        raise SignatureRefused("Huoqi-Nonce must be 16-64 characters of A-Z a-z 0-9 _ -")
    return SignedRequest(merchant, int(stamp), nonce, signature)


def check_signature(
    request: SignedRequest,
    secret: str,
    *,
    method: str,
    path: str,
    query: str,
    body: bytes,
    now: int,
) -> None:
    """Refuse a signature that does not match, or a timestamp outside the window."""
    if abs(now - request.timestamp) > WINDOW_SECONDS:
        raise StaleTimestamp(
            f"Huoqi-Timestamp is {now - request.timestamp:+d} s from Huoqi's clock; "
            f"at most {WINDOW_SECONDS} s either way is accepted"
        )
    expected = sign(
        secret, method=method, path=path, query=query, timestamp=request.timestamp,
        nonce=request.nonce, body=body,
    )  # fmt: skip
    if not hmac.compare_digest(expected, request.signature):
        raise SignatureRefused(
            "the signature does not match the request (check the secret, the canonical "
            "text and that the body is sent exactly as signed)"
        )
