"""The resolver's settings: the `[resolver]` table of a TOML file, or `CARBONID_*` environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from common.settings import ServiceSettings, in_range, matches, optional, setting

SECTION: Final = "resolver"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolverSettings(ServiceSettings):
    """Where the federation starts, what the resolver trusts, and how it caches and waits."""

    port: int = setting(default=18000, doc="TCP port the resolver listens on.", validate=in_range(0, 65535))
    root_registry_url: str = setting(
        doc="Base URL of the top-level registry every resolution starts from (e.g. https://registry.example:18100).",
        validate=matches(r"https?://[^/?#\s]+(/[^?#\s]*)?", "an http(s) URL"),
    )
    trust_anchor: Path = setting(
        doc=(
            "The top-level registry's DID document (JSON file), pinned: a prefix record verifies only if it chains "
            "to a key listed here. Get it from the registry's operator (`carbonid registry anchor`), never from the "
            "network."
        ),
    )
    federation_ca: Path | None = setting(
        default=None,
        doc="CA certificate (PEM) that registries' and nodes' HTTPS certificates must chain to; unset: the system's CAs.",
    )
    client_certificate: Path | None = setting(
        default=None,
        doc=(
            "Client certificate (PEM, issued by the federation CA and bound to `prefix`) presented to nodes, so "
            "records granted to the resolver's prefix can be read. Needs client_key."
        ),
    )
    client_key: Path | None = setting(default=None, doc="Private key (PEM) of client_certificate.")
    prefix: str | None = setting(
        default=None,
        doc="The resolver's own identifier prefix (e.g. 88.100.9): what its client certificate is bound to.",
        validate=optional(matches(r"[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*", "a prefix such as 88.100.9")),
    )
    upstream_connect_timeout_seconds: float = setting(
        default=2.0,
        doc=(
            "How long connecting to a registry or node (TCP, and the TLS handshake) may take in one attempt: "
            "a host that does not accept is given up on sooner than one that is slow to answer."
        ),
        validate=in_range(0.05, 60),
    )
    upstream_attempt_timeout_seconds: float = setting(
        default=5.0,
        doc="How long one attempt of a request to a registry or node may take, connecting and reading included.",
        validate=in_range(0.1, 120),
    )
    upstream_attempts: int = setting(
        default=3,
        doc=(
            "How many times a request to a registry or node (a GET, so safe to repeat) is tried when the "
            "connection fails or breaks, an attempt times out, or the answer is HTTP 502, 503 or 504; any "
            "other answer (a 4xx included) is never asked again."
        ),
        validate=in_range(1, 10),
    )
    upstream_deadline_seconds: float = setting(
        default=10.0,
        doc=(
            "The most one resolution may spend asking registries and nodes: every referral, attempt and wait "
            "between attempts. Past it the resolver serves a stale answer if it may, else answers 503."
        ),
        validate=in_range(0.1, 300),
    )
    upstream_backoff_seconds: float = setting(
        default=0.2,
        doc=(
            "The wait before the first retry; it doubles for every further retry (at most 5 s), and a random "
            "part (up to half) keeps many resolvers from retrying in step."
        ),
        validate=in_range(0, 10),
    )
    upstream_retry_after_max_seconds: float = setting(
        default=2.0,
        doc=(
            "A 503 (or 502, 504) whose Retry-After asks for at most this many seconds is tried again after "
            "that wait; a longer Retry-After ends the request at once, since the resolution cannot wait."
        ),
        validate=in_range(0, 60),
    )
    upstream_breaker_failures: int = setting(
        default=5,
        doc=(
            "After this many requests in a row to one registry or node failed (each after its retries: "
            "unreachable, timed out, or 502-504), it is not asked again for upstream_breaker_cooldown_seconds "
            "and resolutions that need it fail at once (stale answers are still served); then one request "
            "probes it. 0 turns this off."
        ),
        validate=in_range(0, 10_000),
    )
    upstream_breaker_cooldown_seconds: float = setting(
        default=30.0,
        doc="How long a registry or node that keeps failing is left alone before one request probes it again.",
        validate=in_range(0, 3600),
    )
    max_referrals: int = setting(
        default=4,
        doc="How many delegation referrals a resolution follows before giving up.",
        validate=in_range(0, 16),
    )
    negative_ttl_seconds: int = setting(
        default=60, doc="How long a 'not found' answer is cached.", validate=in_range(0, 86400)
    )
    max_ttl_seconds: int = setting(
        default=86400,
        doc="Upper bound on how long any answer is cached, whatever its values' ttl.",
        validate=in_range(0, 7 * 86400),
    )
    max_prefix_ttl_seconds: int = setting(
        default=600,
        doc=(
            "Upper bound on how long a prefix record (the keys records are verified with) is trusted from the "
            "cache, whatever the registry's ttl: a key revoked at the registry is refused by this resolver at "
            "most this long after. Answers verified with a prefix record expire with it."
        ),
        validate=in_range(0, 7 * 86400),
    )
    max_stale_seconds: int = setting(
        default=86400,
        doc=(
            "When a registry or node does not answer, a cached answer up to this old (past its ttl) is served, "
            "flagged stale; older than that, the resolver answers 503."
        ),
        validate=in_range(0, 30 * 86400),
    )
    cache_max_entries: int = setting(
        default=100_000, doc="Most answers kept in the in-memory cache.", validate=in_range(1, 10_000_000)
    )
    sign_sm2: bool = setting(
        default=False,
        doc="Sign certificates with an SM2 key (sm2-rdfc-2024 proof) beside the Ed25519 one (eddsa-rdfc-2022).",
    )
    certificate_validity_days: int = setting(
        default=365,
        doc="How long an issued carbon-efficiency certificate is valid.",
        validate=in_range(1, 3660),
    )
    benchmark_table: Path | None = setting(
        default=None,
        doc=(
            "A published benchmark table (JSON, see carbon_efficiency.benchmark) to grade against; unset: "
            "benchmarks are computed from the population this resolver has evaluated for the same period."
        ),
    )
    benchmark_min_population: int = setting(
        default=5,
        doc=(
            "Fewest enterprises of an industry division in a region for its own benchmark; smaller groups fall "
            "back county -> city -> province -> national."
        ),
        validate=in_range(1, 10_000),
    )
    monte_carlo_draws: int = setting(
        default=10_000,
        doc="Monte Carlo draws of an evaluation's uncertainty.",
        validate=in_range(100, 1_000_000),
    )
    gwp: str = setting(
        default="AR6",
        doc="IPCC assessment report whose 100-year GWPs convert other gases: SAR, AR4, AR5 or AR6.",
        validate=matches(r"SAR|AR4|AR5|AR6", "SAR, AR4, AR5 or AR6"),
    )
    public_min_cell: int = setting(
        default=3,
        doc=(
            "Regional figures of fewer enterprises than this are not shown to the public (their count is), so "
            "a public aggregate never discloses one enterprise's data; regulators see them within their scope."
        ),
        validate=in_range(1, 1000),
    )
    index_refresh_seconds: float = setting(
        default=30.0,
        doc=(
            "How often, at most, a regional query checks whether the index changed and rebuilds it (a rebuild "
            "of 6 million rows takes ~15 s of one core, in the background; queries meanwhile use the last one)."
        ),
        validate=in_range(0, 3600),
    )
    expired_factors: str = setting(
        default="flag",
        doc=(
            "What an evaluation does with a library factor past its validity: flag (use it, warn, and mark "
            "the grade provisional) or refuse (no certificate)."
        ),
        validate=matches(r"flag|refuse", "flag or refuse"),
    )

    def __post_init__(self) -> None:
        if self.client_key is not None and self.client_certificate is None:
            raise ValueError(
                "client_key needs client_certificate: set both (or a certificate file holding both)"
            )
