"""Salted secret hashes for HTTP Basic credentials (registry administrators, Handle HS_SECKEY values).

Only the hash is stored: `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`. Checking costs a few tens of
milliseconds by design; `SecretChecker` remembers recent successes in memory (keyed by a keyed hash of
the secret, never the secret itself) so a client making many authenticated calls pays that once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from typing import Final

_N, _R, _P = 2**14, 8, 1
_PREFIX = "scrypt"


def hash_secret(secret: str) -> str:
    """A new salted scrypt hash of `secret`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    encode = base64.b64encode
    return f"{_PREFIX}${_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether `secret` matches a hash made by `hash_secret` (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != _PREFIX:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            secret.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_secret() -> str:
    """A fresh random secret to hand to an administrator once."""
    return secrets.token_urlsafe(24)


class SecretChecker:
    """`check_secret` with a small in-memory cache of recent successes."""

    def __init__(self, *, max_entries: int = 1024, ttl_seconds: float = 300.0) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_seconds

    def check(self, secret: str, stored: str) -> bool:
        """Whether `secret` matches `stored`; a recent success is answered from memory."""
        token = hmac.new(self._key, f"{stored}\0{secret}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        seen = self._seen.get(token)
        if seen is not None and now - seen < self._ttl:
            return True
        if not check_secret(secret, stored):
            return False
        self._seen[token] = now
        self._seen.move_to_end(token)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True


class MalformedCredentials(ValueError):
    """An `Authorization: Basic` header that is not base64 of UTF-8 `name:secret`."""


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The (name, secret) of an `Authorization: Basic` header; None without one; `MalformedCredentials`."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise MalformedCredentials("authenticate with HTTP Basic (name:secret)")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise MalformedCredentials("the Basic credentials are not base64 of UTF-8 name:secret") from None
    name, colon, secret = decoded.partition(":")
    if not colon:
        raise MalformedCredentials("the Basic credentials must be name:secret")
    return name, secret


ACCOUNT_NAME: Final = re.compile(r"[A-Za-z0-9._@-]{1,64}")
"""The names of HTTP Basic accounts: registry administrators, resolver operators and regulators."""
ACCOUNT_NAME_RULE: Final = "1-64 letters, digits, '.', '_', '@' or '-'"
"""`ACCOUNT_NAME` in words, for error messages."""
