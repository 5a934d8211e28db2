"""Encryption at rest for raw credit data: AES-256-GCM, and keyed hashes for look-ups.

One master key comes from configuration (``HUOQI_CREDIT_KEY``: 32 bytes, base64 or hex;
`new_key` makes one). Two sub-keys are derived from it with HMAC-SHA256 so that the key
that seals payloads is never the key that hashes identifiers: ``seal`` encrypts a payload
under a fresh 96-bit nonce with the row's user id as associated data (a payload copied to
another user's row no longer opens), and ``blind_index`` turns a client's event id into a
32-byte keyed hash, so duplicates are found without the id being stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from huoqi.errors import HuoqiError

ENV = "HUOQI_CREDIT_KEY"
NONCE_BYTES = 12
DEMO_MASTER = hashlib.sha256(b"huoqi demo credit key: public, for synthetic data only").digest()


class CreditKeyMissing(HuoqiError):
    code = "credit_key_missing"
    status = 503
    title = "Credit data is not configured"


class SealBroken(HuoqiError):
    code = "credit_seal_broken"
    status = 500
    title = "Stored credit data does not open"


@dataclass(frozen=True)
class CreditKey:
    """The sub-keys derived from the master key; build with `CreditKey.from_master`."""

    sealing: bytes = field(repr=False)
    indexing: bytes = field(repr=False)

    @classmethod
    def from_master(cls, master: bytes) -> CreditKey:
        if len(master) != 32:
            raise CreditKeyMissing(f"{ENV} must be 32 bytes (base64 or hex); it is {len(master)}")
        return cls(
            sealing=hmac.new(master, b"huoqi-credit-seal-v1", hashlib.sha256).digest(),
            indexing=hmac.new(master, b"huoqi-credit-index-v1", hashlib.sha256).digest(),
        )


def new_key() -> str:
    """A fresh master key, base64, for ``HUOQI_CREDIT_KEY``."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str) -> CreditKey:
    text = text.strip()
    try:
        master = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise CreditKeyMissing(f"{ENV} is neither base64 nor hex") from None
    return CreditKey.from_master(master)


def key_from_env() -> CreditKey:
    """The configured key, or a clear error naming the setting (nothing is stored without it).

    The demo (the demo clock on, or ``HUOQI_DEMO_SETUP=1``) runs without configuration on
    `DEMO_MASTER`, a key everyone can read in this file: fine for synthetic data, never for
    real people's (and no real platform runs on a demo clock).
    """
    text = os.environ.get(ENV, "")
    if not text.strip() and _demo():
        return CreditKey.from_master(DEMO_MASTER)
    if not text.strip():
        raise CreditKeyMissing(
            f"set {ENV} to a 32-byte key (base64) before collecting credit data; "
            "`huoqi credit new-key` prints one"
        )
    return parse_key(text)


def _demo() -> bool:
    return (
        os.environ.get("HUOQI_DEMO_SETUP", "") == "1"
        or os.environ.get("HUOQI_DEMO_CLOCK", "") == "1"
        or bool(os.environ.get("HUOQI_DEMO_CLOCK_START", "").strip())
    )


def seal(key: CreditKey, plaintext: bytes, *, user_id: int) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key.sealing).encrypt(nonce, plaintext, _aad(user_id))


def open_sealed(key: CreditKey, sealed: bytes, *, user_id: int) -> bytes:
    try:
        return AESGCM(key.sealing).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(user_id)
        )
    except InvalidTag:
        raise SealBroken(
            "a stored credit payload does not open with the configured key (wrong key, or the "
            "row was altered or moved to another user)"
        ) from None


def blind_index(key: CreditKey, value: str) -> bytes:
    return hmac.new(key.indexing, value.encode(), hashlib.sha256).digest()


def _aad(user_id: int) -> bytes:
    return f"user:{user_id}".encode()
