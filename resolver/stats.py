"""What the resolver counts for its operators: cache hits, verification failures, federation errors.

The counts are plain integers kept where the events happen (one dict increment, no locks: one event loop),
and `register_metrics` shows them at `/metrics` through scrape-time collectors, so the cached hot path pays
for a dict increment and nothing else.

Verification failures are counted by a stable code (`failure_code`), which answers also carry as
`verification.code`, so a client can tell a revoked key from a broken signature without parsing text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from certs.errors import (
    InvalidSignatureError,
    KeyExpiredError,
    KeyRevokedError,
    MalformedProofError,
    ProofExpiredError,
    UnknownVerificationMethodError,
    UnsupportedCryptosuiteError,
    VerificationError,
)
from common.metrics import Metrics, Sample
from resolver.errors import NodeUnreachable, RollbackRefused, UpstreamError
from resolver.verification import RecordMismatch

_CODES: Final[tuple[tuple[type[VerificationError], str], ...]] = (
    (KeyRevokedError, "key-revoked"),
    (KeyExpiredError, "key-retired"),
    (UnknownVerificationMethodError, "key-unknown"),
    (InvalidSignatureError, "signature-invalid"),
    (ProofExpiredError, "proof-expired"),
    (UnsupportedCryptosuiteError, "cryptosuite-unsupported"),
    (MalformedProofError, "proof-malformed"),
    (RecordMismatch, "record-mismatch"),
    (RollbackRefused, "version-rollback"),
)

PREFIX_UNTRUSTED: Final = "prefix-untrusted"
"""The handle's prefix record (or a delegation above it) did not verify."""

FAILURE_CODES: Final = (
    *(code for _, code in _CODES),
    PREFIX_UNTRUSTED,
    "prefix-delegated",
    "verification-failed",
)
"""Every `verification.code` an answer may carry."""

KEY_CODES: Final = frozenset({"key-revoked", "key-retired", "key-unknown"})
"""Failures a newer prefix record may explain (a key added, retired or revoked since it was cached)."""


def failure_code(error: VerificationError) -> str:
    """The stable code of a verification failure."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return "verification-failed"


@dataclass(slots=True)
class ResolverStats:
    """Counts since the resolver started."""

    cache: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(cache, result): cache is `responses` (encoded answers), `answers` or `prefixes`; result `hit`, `miss`
    or `stale` (served past its ttl because an upstream did not answer)."""
    verification_failures: Counter[str] = field(default_factory=Counter)
    """By failure code."""
    federation_errors: Counter[str] = field(default_factory=Counter)
    """By upstream kind: `registry` or `node` (after retries: one per failed request)."""
    key_refreshes: int = 0
    """Prefix records fetched again because a record's key was not in the cached one."""

    def upstream_failed(self, error: UpstreamError) -> None:
        """Count a registry or node that gave no usable answer."""
        self.federation_errors["node" if isinstance(error, NodeUnreachable) else "registry"] += 1


def register_metrics(
    metrics: Metrics, stats: Callable[[], ResolverStats | None], verifications: Callable[[], int]
) -> None:
    """Show the resolver's counts at `/metrics` (`stats` is read at scrape time; None before start-up)."""

    def cache() -> Iterable[Sample]:
        current = stats()
        counts = current.cache if current is not None else Counter()
        return [Sample({"cache": c, "result": r}, n) for (c, r), n in sorted(counts.items())]

    def failures() -> Iterable[Sample]:
        current = stats()
        counts = current.verification_failures if current is not None else Counter()
        return [Sample({"code": code}, n) for code, n in sorted(counts.items())]

    def federation() -> Iterable[Sample]:
        current = stats()
        counts = current.federation_errors if current is not None else Counter()
        return [Sample({"upstream": kind}, n) for kind, n in sorted(counts.items())]

    def refreshes() -> Iterable[Sample]:
        current = stats()
        return [Sample({}, current.key_refreshes if current is not None else 0)]

    metrics.collector("resolver_cache_total", "Cache look-ups by cache and result (hit, miss, stale).", cache)
    metrics.collector(
        "verification_failures_total",
        "Records and prefix records that failed verification, by code.",
        failures,
    )
    metrics.collector(
        "federation_errors_total",
        "Registry and node requests that gave no usable answer after their retries, by upstream kind.",
        federation,
    )
    metrics.collector(
        "resolver_key_refreshes_total",
        "Prefix records fetched again because a record named a key the cached one did not allow.",
        refreshes,
    )
    metrics.collector(
        "proof_verifications_total",
        "Documents whose proofs were really verified (canonicalized), not answered from the result cache.",
        lambda: [Sample({}, verifications())],
    )
