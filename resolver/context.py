"""What every use-case of the resolver works with, made once at start-up: settings, the pinned trust
anchor, the upstream session, the caches, the version guard, the clock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certs.did import DidDocument
from certs.identity import ServiceIdentity
from certs.keys import signing_algorithms
from common.database import default_sqlite_url
from metadata_templates import Catalog
from resolver.answers import Answer, PrefixChain
from resolver.cache import EncodedResponses, SingleFlight, TtlCache
from resolver.errors import TrustAnchorError
from resolver.settings import ResolverSettings
from resolver.stats import ResolverStats
from resolver.upstream import Upstream
from resolver.verification import ProofVerifier
from resolver.versions import VersionGuard

SERVICE_NAME = "resolver"


def utc_now() -> datetime:
    """The current time in UTC: the resolver's clock unless a test injects another."""
    return datetime.now(UTC)


def database_url(settings: ResolverSettings) -> str:
    """The configured database, or `<data_dir>/resolver.db` (SQLite)."""
    return settings.database_url or default_sqlite_url(settings.data_dir, SERVICE_NAME)


def load_trust_anchor(path: Path) -> DidDocument:
    """The pinned trust anchor: the top-level registry's DID document, read from `path`."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise TrustAnchorError(f"cannot read the trust anchor {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise TrustAnchorError(f"the trust anchor {path} is not JSON: {exc}") from None
    try:
        anchor = DidDocument.from_json(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TrustAnchorError(f"the trust anchor {path} is not a DID document: {exc}") from None
    if not anchor.relationships.get("assertionMethod"):
        raise TrustAnchorError(f"the trust anchor {path} lists no assertionMethod key")
    return anchor


def load_identity(settings: ResolverSettings) -> ServiceIdentity:
    """The resolver's own keys (created on first use in `data_dir/keys`: Ed25519, and SM2 when `sign_sm2`)
    and did:web DID document."""
    return ServiceIdentity.load_or_create(
        settings.data_dir / "keys", settings.base_url(), algorithms=signing_algorithms(settings.sign_sm2)
    )


@dataclass(frozen=True, slots=True)
class ResolverContext:
    """The resolver's long-lived parts, shared by every request."""

    settings: ResolverSettings
    catalog: Catalog
    anchor: DidDocument
    identity: ServiceIdentity
    upstream: Upstream
    """Public reads: never presents the client certificate, so only public records are ever served."""
    peer_upstream: Upstream
    """Reads as a peer of the resolver's prefix (granted records), for the resolver's own use only."""
    guard: VersionGuard
    verifier: ProofVerifier
    clock: Callable[[], datetime] = utc_now
    prefixes: TtlCache[PrefixChain] = field(init=False)
    answers: TtlCache[Answer] = field(init=False)
    responses: EncodedResponses = field(init=False)
    flights: SingleFlight[Any] = field(default_factory=SingleFlight)
    stats: ResolverStats = field(default_factory=ResolverStats)
    """Cache hits, verification failures and federation errors, for `/metrics`."""
    seconds: Callable[[], float] = field(init=False)
    """The current time as POSIX seconds: what cache entries are dated with (read on every request)."""

    def __post_init__(self) -> None:
        size = self.settings.cache_max_entries
        object.__setattr__(self, "prefixes", TtlCache(size))
        object.__setattr__(self, "answers", TtlCache(size))
        object.__setattr__(self, "responses", EncodedResponses(size))
        clock = self.clock
        # The hot path reads the time once per request: the real clock as a float directly, 10x cheaper.
        object.__setattr__(self, "seconds", time.time if clock is utc_now else lambda: clock().timestamp())

    def now(self) -> datetime:
        """The current time (the injected clock), UTC."""
        return self.clock()

    def clear_caches(self) -> None:
        """Forget every cached answer, prefix record and verification (the persisted versions stay)."""
        self.prefixes.clear()
        self.answers.clear()
        self.responses.clear()
        self.verifier.clear()
        self.guard.forget()
