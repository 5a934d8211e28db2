"""Passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommendation).

A hash is a PHC string that carries its own parameters, so raising the cost later only
needs `needs_rehash` at the next sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from huoqi.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128
_hasher = PasswordHasher()

# Verifying against this hash when the user does not exist keeps the answer's timing
# the same as for a wrong password, so timing does not reveal who has an account.
_DECOY = _hasher.hash("not-a-real-password-decoy")


class WeakPassword(InvalidInput):
    code = "weak_password"
    title = "Password not accepted"


def check_new_password(password: object, *, phone: str) -> str:
    if not isinstance(password, str):
        raise WeakPassword("the password must be text")
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    if password.isdigit() or phone.endswith(password) or len(set(password)) < 4:
        raise WeakPassword(
            "choose a password that is not your phone number, not only digits and not "
            "a few repeated characters"
        )
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DECOY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
