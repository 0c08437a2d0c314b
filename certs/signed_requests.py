"""Signed requests: a JSON-LD request document carrying one Data Integrity proof for authentication.

A request proves who sent it (the key, listed for `authentication` by the sender's record), whom it
was meant for (`domain` = the receiver's DID), and when (`created`, which must be recent). Its `nonce`
lets the receiver refuse a replay: the receiver remembers (verification method, nonce) for at least
`max_age` and refuses a pair it has seen; that memory is storage, so it lives in the service.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from certs.canonical import OfflineDocumentLoader
from certs.data_integrity import (
    AUTHENTICATION,
    CLOCK_SKEW,
    KeyResolver,
    VerifiedProof,
    add_proof,
    parse_datetime,
    verify_proofs,
)
from certs.errors import DomainMismatchError, MalformedProofError, StaleRequestError
from certs.keys import SigningKey

DEFAULT_MAX_AGE = timedelta(minutes=5)
MIN_NONCE_LENGTH = 16


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """A verified request: the proof, its nonce and creation time."""

    proof: VerifiedProof
    nonce: str
    created: datetime

    @property
    def verification_method(self) -> str:
        """The key that signed the request."""
        return self.proof.verification_method


def sign_request(
    document: Mapping[str, Any],
    key: SigningKey,
    *,
    verification_method: str,
    domain: str,
    loader: OfflineDocumentLoader | None = None,
    created: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, Any]:
    """Sign a request for the receiver `domain` with a fresh nonce and the current time."""
    return add_proof(
        document,
        key,
        verification_method=verification_method,
        loader=loader,
        proof_purpose=AUTHENTICATION,
        created=created or datetime.now(UTC),
        domain=domain,
        nonce=nonce or secrets.token_urlsafe(24),
    )


def verify_request(
    document: Mapping[str, Any],
    keys: KeyResolver,
    *,
    domain: str,
    loader: OfflineDocumentLoader | None = None,
    now: datetime | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> VerifiedRequest:
    """Verify a signed request addressed to `domain`; raise a `VerificationError` subclass otherwise."""
    proof = document.get("proof")
    if not isinstance(proof, Mapping):
        raise MalformedProofError("a signed request carries exactly one proof")
    if proof.get("domain") != domain:
        raise DomainMismatchError(f"request was signed for {proof.get('domain')!r}, not {domain!r}")
    nonce = proof.get("nonce")
    if not isinstance(nonce, str) or len(nonce) < MIN_NONCE_LENGTH:
        raise MalformedProofError(f"a signed request needs a nonce of at least {MIN_NONCE_LENGTH} characters")
    try:
        created = parse_datetime(str(proof.get("created")))
    except ValueError:
        raise MalformedProofError("a signed request needs its creation time") from None
    now = now or datetime.now(UTC)
    # Freshness first: it is cheaper than the signature and tells the sender exactly what is wrong.
    if created < now - max_age:
        raise StaleRequestError(f"request signed at {created:%Y-%m-%dT%H:%M:%SZ} is older than {max_age}")
    if created > now + CLOCK_SKEW:
        raise StaleRequestError("request is dated in the future")
    (result,) = verify_proofs(document, keys, loader=loader, expected_purpose=AUTHENTICATION, now=now)
    return VerifiedRequest(result, nonce, created)
