"""What a resolution establishes, as values: the verified prefix chain, the verification of a record, the
answer (values and verification, or not found) and how it was served.

Frozen dataclasses, shared by the use-cases (`resolver.resolution`), the cache and the encoding of
answers (`resolver.views`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from certs.data_integrity import format_datetime
from handle_registry.prefix_records import PrefixRecord
from handle_registry.values import HandleValue
from resolver.cache import CacheEntry

VERIFIED: Final = "verified"
UNSIGNED: Final = "unsigned"
FAILED: Final = "failed"

Status = Literal["verified", "unsigned", "failed"]


@dataclass(frozen=True, slots=True)
class PrefixRecordSummary:
    """The prefix record a verification rests on, as the answer names it."""

    handle: str
    version: int
    registry: str
    issued: datetime

    @classmethod
    def of(cls, record: PrefixRecord) -> PrefixRecordSummary:
        """The summary of a parsed prefix record."""
        return cls(str(record.prefix.record_handle), record.version, record.registry, record.issued)

    def to_json(self) -> dict[str, Any]:
        """`{"handle","version","registry","issued"}`."""
        return {
            "handle": self.handle,
            "version": self.version,
            "registry": self.registry,
            "issued": format_datetime(self.issued),
        }


@dataclass(frozen=True, slots=True)
class PrefixChain:
    """The outcome of looking a prefix up, from the root registry down the delegations.

    `status` is verified (`record` is the verified prefix record), failed (`reason` says why; `record` is
    there when the record was read but refused) or not found (no registry holds the prefix).
    `registries` lists the registry URLs asked, root first; `values` are the final answer's Handle values.
    """

    status: Literal["verified", "failed", "not_found"]
    registries: tuple[str, ...]
    checked_at: datetime
    ttl: float
    record: PrefixRecord | None = None
    values: tuple[HandleValue, ...] = ()
    digest: str | None = None
    reason: str | None = None
    verification_method: str | None = None
    cryptosuites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verification:
    """How far the values of an answer can be trusted, and why."""

    status: Status
    registries: tuple[str, ...]
    checked_at: datetime
    reason: str | None = None
    verification_method: str | None = None
    cryptosuites: tuple[str, ...] = ()
    version: int | None = None
    digest: str | None = None
    prefix_record: PrefixRecordSummary | None = None
    prefix_digest: str | None = None
    """The digest of the prefix record verified against: with `digest`, what a later refetch compares."""
    code: str | None = None
    """Why verification failed, as a stable code (`resolver.stats.FAILURE_CODES`)."""

    def to_json(self, *, cached: bool, stale: bool) -> dict[str, Any]:
        """The `verification` member of an answer (members without a value are left out)."""
        body: dict[str, Any] = {"status": self.status}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.code is not None:
            body["code"] = self.code
        if self.verification_method is not None:
            body["verificationMethod"] = self.verification_method
        if self.cryptosuites:
            body["cryptosuites"] = list(self.cryptosuites)
        if self.version is not None:
            body["version"] = self.version
        if self.digest is not None:
            body["digest"] = self.digest
        if self.prefix_record is not None:
            body["prefixRecord"] = self.prefix_record.to_json()
        body["registries"] = list(self.registries)
        body["cached"] = cached
        body["stale"] = stale
        body["checkedAt"] = format_datetime(self.checked_at)
        return body


@dataclass(frozen=True, slots=True)
class Found:
    """The handle exists: its values (all of them; filters apply when answering) and their verification."""

    values: tuple[HandleValue, ...]
    verification: Verification


@dataclass(frozen=True, slots=True)
class NotFound:
    """The handle, or its prefix, does not exist (or is not readable by this resolver)."""

    message: str


Answer = Found | NotFound


@dataclass(frozen=True, slots=True)
class Served:
    """An answer as one request gets it: from the cache or not, stale or not."""

    answer: Answer
    cached: bool = False
    stale: bool = False
    entry: CacheEntry[Answer] | None = None
    """The fresh cache entry the answer was served from: an encoding of it may be kept while it lives."""
