"""Secrets: argon2 password hashes, random tokens and session ids stored as SHA-256 hashes.

A token or session id is 256 random bits, so one SHA-256 (no salt, no stretching) is enough to
make a stolen table useless, and lets the database find the row by its hash.
"""

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Every API token starts with this, so secret scanners and people recognise one.
TOKEN_MARKER = "jmmc_"
#: Characters of a token shown in lists (the marker plus a few random ones).
TOKEN_PREFIX_LENGTH = len(TOKEN_MARKER) + 6

_hasher = PasswordHasher()


@functools.cache
def _unknown_user_hash() -> str:
    """Verified against when the username is unknown, so both answers take the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """True when ``password`` is the one hashed; never for a missing hash, after the same work."""
    try:
        verified = _hasher.verify(password_hash or _unknown_user_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return verified and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return TOKEN_MARKER + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a token or session id."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(expected: str, given: str) -> bool:
    """Constant-time comparison (a wrong guess takes as long whatever its first characters)."""
    return hmac.compare_digest(expected.encode(), given.encode())
