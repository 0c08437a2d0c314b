"""The registry's settings: the `[registry]` table of a carbonid TOML file, or `CARBONID_*` variables."""

from __future__ import annotations

from dataclasses import dataclass

from common.settings import ServiceSettings, in_range, setting
from handle_registry.identifiers import InvalidPrefix, Prefix

DEFAULT_PORT = 18100
SECTION = "registry"
"""The table of the settings file the registry reads."""


def _check_served_prefixes(value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError('name at least one prefix, e.g. ["88"]')
    seen: set[Prefix] = set()
    for text in value:
        try:
            prefix = Prefix(text)
        except InvalidPrefix as exc:
            raise ValueError(str(exc)) from None
        if prefix.is_na:
            raise ValueError("0.NA holds prefix records; it cannot be served as a prefix")
        if prefix in seen:
            raise ValueError(f"prefix {text!r} is listed twice")
        seen.add(prefix)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrySettings(ServiceSettings):
    """Settings of a registry (the top-level node or a secondary node of the identifier system)."""

    port: int = setting(
        default=DEFAULT_PORT,
        doc="TCP port the HTTP server listens on (0 picks a free port).",
        validate=in_range(0, 65535),
    )
    served_prefixes: tuple[str, ...] = setting(
        doc=(
            'Prefixes under which this registry accepts applications and delegations, e.g. ["88"] for the '
            'top-level registry or ["88.186"] for a secondary one. Only prefixes strictly below one of them '
            "are registered here."
        ),
        validate=_check_served_prefixes,
    )
    sign_sm2: bool = setting(
        default=False,
        doc=(
            "Also sign every prefix record with an SM2 key (sm2-rdfc-2024) beside the Ed25519 proof, where "
            "national cryptography is required. The key is created in data_dir/keys on first start."
        ),
    )
    record_ttl: int = setting(
        default=86400,
        doc="Handle ttl, in seconds, of the values served at 0.NA/<prefix>: how long resolvers may cache them.",
        validate=in_range(0, 2**31 - 1),
    )
    request_max_age_seconds: int = setting(
        default=300,
        doc=(
            "How old, in seconds, a signed request (prefix application, key change) may be when it arrives; "
            "older ones are refused as stale. Nonces are remembered this long to refuse replays."
        ),
        validate=in_range(10, 86400),
    )

    def served(self) -> tuple[Prefix, ...]:
        """`served_prefixes` parsed."""
        return tuple(Prefix(text) for text in self.served_prefixes)
