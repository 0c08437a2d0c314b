"""The enterprise node's settings: the `[node]` table of a TOML file, or `CARBONID_*` environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.settings import ServiceSettings, in_range, matches, optional, setting
from handle_registry.identifiers import InvalidPrefix, parse_prefix
from metadata_templates import TemplateNotFoundError, default_catalog
from node.pact_peers import load_peer_credentials

SECTION = "node"
"""The TOML table the node reads its settings from."""

DEFAULT_TEMPLATES = ("enterprise-profile", "activity-data", "product-footprint")


def _prefix(value: str) -> None:
    try:
        prefix = parse_prefix(value)
    except InvalidPrefix as exc:
        raise ValueError(str(exc)) from None
    if prefix.is_na:
        raise ValueError("0.NA holds prefix records; a node publishes under its own prefix")


def _templates(value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError("list at least one template id the node may publish")
    catalog = default_catalog()
    for item in value:
        try:
            template = catalog.get(item)
        except TemplateNotFoundError as exc:
            raise ValueError(str(exc)) from None
        if "handle" not in template.schema.get("properties", {}):
            # A record names its own handle inside what is signed; a template without one is a request
            # to another service (key-change), not something a node publishes.
            raise ValueError(f"template {item} has no 'handle' member, so its documents cannot be records")


def _urls(value: tuple[str, ...]) -> None:
    check = matches(r"https?://[^/?#\s]+(/[^?#\s]*)?", "an http(s) URL without query or fragment")
    for url in value:
        check(url)


def _peer_credentials(value: Path | None) -> None:
    if value is not None:
        load_peer_credentials(value)


def _delays(value: tuple[float, ...]) -> None:
    if not value or any(not 0 <= delay <= 86400 for delay in value):
        raise ValueError("list one or more delays, each from 0 to 86400 seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSettings(ServiceSettings):
    """Settings of an enterprise node: where it listens, which prefix it serves, how it signs."""

    port: int = setting(
        default=18443,
        doc="TCP port the HTTP server listens on (0 picks a free port).",
        validate=in_range(0, 65535),
    )
    prefix: str = setting(
        doc=(
            "The identifier prefix this node serves and publishes under, e.g. 88.186.1. Handles under any "
            "other prefix are answered with Handle code 301 (server not responsible)."
        ),
        validate=_prefix,
    )
    sign_sm2: bool = setting(
        default=False,
        doc=(
            "Also sign every published record with an SM2 key (cryptosuite sm2-rdfc-2024) beside the Ed25519 "
            "proof, where national cryptography is required. The key is created in data_dir/keys on first use."
        ),
    )
    handle_ttl: int = setting(
        default=86400,
        doc="TTL in seconds given to the Handle values of published records (how long resolvers may cache them).",
        validate=in_range(0, 2**31 - 1),
    )
    templates: tuple[str, ...] = setting(
        default=DEFAULT_TEMPLATES,
        doc=(
            "Ids of the metadata templates this node publishes records of (a reference without version means "
            "the latest). Each must have a 'handle' member. Registry artefacts (prefix records, prefix "
            "applications) and resolver-issued certificates are not published by a node."
        ),
        validate=_templates,
    )
    plain_http_credentials: bool = setting(
        default=False,
        doc=(
            "Accept Basic credentials over plain HTTP from non-loopback clients (only behind a proxy that "
            "terminates TLS). Like the Handle.Net server, the node otherwise ignores credentials sent in the "
            "clear and answers 403; loopback clients are always accepted."
        ),
    )
    registry_url: str | None = setting(
        default=None,
        doc="Base URL of the registry `node apply` sends the prefix application to (POST <url>/api/prefixes).",
        validate=optional(
            matches(r"https?://[^/?#\s]+(/[^?#\s]*)?", "an http(s) URL without query or fragment")
        ),
    )
    notify_resolvers: tuple[str, ...] = setting(
        default=(),
        doc=(
            "Base URLs of the resolvers told of every record published (POST <url>/api/notifications, a "
            "request signed with the node's key for the resolver's did:web DID), so their regional index "
            "follows at once. Sent in the background and retried after 1, 4 and 16 s; a publication never "
            "waits for it or fails because of it. HTTPS resolvers are checked against tls_client_ca (the "
            "federation CA) when set, else the system's CAs. Empty: no notifications (resolvers catch up "
            "with `carbonid resolver sync`)."
        ),
        validate=_urls,
    )
    registry_did: str | None = setting(
        default=None,
        doc=(
            "DID of that registry: the domain the application is signed for. Default: the did:web DID of "
            "registry_url."
        ),
        validate=optional(matches(r"did:[a-z0-9]+:\S+", "a DID (did:method:...)")),
    )

    pact_token_ttl: int = setting(
        default=3600,
        doc=(
            "Lifetime in seconds of the bearer tokens POST /auth/token issues to PACT clients (credentials "
            "from `carbonid node pact-client add`); an expired token is answered 401 TokenExpired."
        ),
        validate=in_range(60, 86400),
    )
    pact_product_category_cpc: str = setting(
        default="4",
        doc=(
            "UN CPC 2.1 code given as productCategoryCpc to the PACT footprints of product forms that carry no "
            "`CPC:<code>` tag. Default 4, the CPC section of metal products, machinery and equipment."
        ),
        validate=matches(r"\d{1,5}", "a UN CPC 2.1 code of 1 to 5 digits"),
    )
    pact_peer_credentials: Path | None = setting(
        default=None,
        doc=(
            "JSON file of the client credentials the node signs in with when it answers a PACT footprint "
            'request: {"<requester host[:port]>": {"client_id": "...", "client_secret": "..."}}. A request '
            "from a requester not listed (its event's source) is refused with 400, so answers only ever go to "
            "known peers. Unset: footprint requests are refused."
        ),
        validate=_peer_credentials,
    )
    pact_retry_delays: tuple[float, ...] = setting(
        default=(10.0, 60.0, 300.0, 1800.0, 7200.0, 43200.0),
        doc=(
            "Seconds waited before each retry of an answer to a PACT footprint request the requester did not "
            "take (exponential back-off; given up after the last, well within the spec's three days)."
        ),
        validate=_delays,
    )

    @property
    def admin_user(self) -> str:
        """The Basic-auth user of the node's administrator, `300:<prefix>/ADMIN`."""
        return f"300:{self.prefix}/ADMIN"
