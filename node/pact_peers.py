"""Answering a PACT requester: where its events go, the credentials the node signs in with, the delivery.

A ProductFootprintRequest.Created event names its sender in `source`: an absolute `https://host[:port][/subpath]`
URL or, as the spec writes it, `//host[:port]/subpath`. The answer (Fulfilled or Rejected) goes to
`<base>/2/events`, authenticated with a bearer token from the requester's own token endpoint, found by the spec's
authentication flow: `token_endpoint` of `<base>/.well-known/openid-configuration` when it offers one, else
`<base>/auth/token` (client credentials in Basic auth, `grant_type=client_credentials`).

The node answers only requesters it holds credentials for (setting `pact_peer_credentials`, a JSON file):

    {"pact.peer.example:8443": {"client_id": "…", "client_secret": "…"},
     "conformance.services.carbon-transparency.org": {"client_id": "…", "client_secret": "…"}}

keyed by the requester's authority (host, and port unless 443; hosts compared case-insensitively). That is how
the spec's "MUST validate the value of source" is met: an event from anyone else is refused at once (400), so
the node never posts footprints to an address a client made up. Delivery is HTTPS only, checked against the
system's CAs and, when `tls_client_ca` is set, the federation CA as well.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote_plus, urlsplit

import aiohttp

from common.logging import request_id_trace

EVENTS_PATH: Final = "/2/events"
AUTH_PATH: Final = "/auth/token"
DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
CLOUDEVENTS_JSON: Final = "application/cloudevents+json; charset=UTF-8"
TIMEOUT_SECONDS: Final = 15.0
"""The most one HTTP call of a delivery (discovery, token, event) may take, connecting included."""
CONNECT_TIMEOUT_SECONDS: Final = 5.0
"""The most connecting to a requester (TCP and TLS) may take."""
USER_AGENT: Final = "carbonid-node"


class InvalidSource(ValueError):
    """The `source` of an event is no HTTPS base URL the node could answer."""


class DeliveryFailed(Exception):
    """The requester did not take the answer (unreachable, no token, or no 2xx): the spec says retry."""


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    """The client credentials the node authenticates with at one requester."""

    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class Requester:
    """Where a requester's events go: its base URL (scheme, authority, subpath) and its authority."""

    base: str
    authority: str


def _authority(host: str, port: int | None) -> str:
    host = host.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host if port in (None, 443) else f"{host}:{port}"


def requester_of(source: str) -> Requester:
    """The requester an event's `source` names; `InvalidSource` unless it is an HTTPS base URL."""
    text = "https:" + source if source.startswith("//") else source
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidSource(f"source {source!r} is not a URL: {exc}") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InvalidSource(
            f"source {source!r} must be https://host[:port][/subpath] or //host[:port]/subpath"
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise InvalidSource(f"source {source!r} may not carry credentials, a query or a fragment")
    authority = _authority(parts.hostname, port)
    return Requester(f"https://{authority}{parts.path.rstrip('/')}", authority)


def parse_peer_credentials(text: str, origin: str) -> dict[str, PeerCredentials]:
    """Read a `pact_peer_credentials` document; ValueError names the member at fault."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{origin} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{origin} must hold a JSON object keyed by requester host[:port]")
    peers: dict[str, PeerCredentials] = {}
    for key, entry in data.items():
        try:
            authority = requester_of(f"//{key}").authority
        except InvalidSource:
            authority = ""
        if not authority or authority != key.lower() or "/" in key:
            raise ValueError(f"{origin} /{key}: expected a requester host[:port] (port omitted for 443)")
        if not isinstance(entry, dict) or set(entry) != {"client_id", "client_secret"}:
            raise ValueError(f'{origin} /{key}: expected {{"client_id": …, "client_secret": …}}')
        if not all(isinstance(entry[name], str) and entry[name] for name in entry):
            raise ValueError(f"{origin} /{key}: client_id and client_secret must be non-empty strings")
        peers[authority] = PeerCredentials(entry["client_id"], entry["client_secret"])
    return peers


def load_peer_credentials(path: Path) -> dict[str, PeerCredentials]:
    """The credentials file named by `pact_peer_credentials`; ValueError when unreadable or malformed."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    return parse_peer_credentials(text, str(path))


def delivery_tls(federation_ca: Path | None) -> ssl.SSLContext:
    """The system's CAs, plus the federation CA when given (requesters may be peers or public services)."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if federation_ca is not None:
        context.load_verify_locations(cafile=str(federation_ca))
    return context


def open_delivery_session(federation_ca: Path | None) -> aiohttp.ClientSession:
    """The pooled HTTPS session answers go through (call from a running event loop)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=delivery_tls(federation_ca), limit=16),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS, sock_connect=CONNECT_TIMEOUT_SECONDS),
        headers={"User-Agent": USER_AGENT},
        trace_configs=[request_id_trace()],
    )


async def _token_endpoint(session: aiohttp.ClientSession, base: str) -> str:
    """The requester's token endpoint: OpenID discovery's `token_endpoint` when offered (HTTPS), else /auth/token."""
    try:
        async with session.get(base + DISCOVERY_PATH, headers={"Accept": "application/json"}) as response:
            if response.status == 200:
                document: Any = await response.json(content_type=None)
                endpoint = document.get("token_endpoint") if isinstance(document, dict) else None
                if isinstance(endpoint, str) and endpoint.startswith("https://"):
                    return endpoint
    except (aiohttp.ClientError, ValueError):
        pass  # no usable discovery document: the spec's fallback
    return base + AUTH_PATH


def _basic(credentials: PeerCredentials) -> str:
    """`Basic …` as RFC 6749 section 2.3.1 wants it: id and secret form-encoded, then base64 of id:secret."""
    pair = f"{quote_plus(credentials.client_id)}:{quote_plus(credentials.client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


async def _access_token(session: aiohttp.ClientSession, base: str, credentials: PeerCredentials) -> str:
    endpoint = await _token_endpoint(session, base)
    headers = {"Accept": "application/json", "Authorization": _basic(credentials)}
    async with session.post(endpoint, data={"grant_type": "client_credentials"}, headers=headers) as response:
        text = await response.text()
        if response.status != 200:
            raise DeliveryFailed(
                f"token endpoint {endpoint} answered HTTP {response.status}: {text.strip()[:200]}"
            )
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise DeliveryFailed(f"token endpoint {endpoint} gave no access_token")
    return token


async def deliver(
    session: aiohttp.ClientSession,
    requester: Requester,
    credentials: PeerCredentials,
    event: Mapping[str, Any],
) -> None:
    """Sign in at the requester and POST `event` to its events endpoint; `DeliveryFailed` unless it answers 2xx."""
    try:
        token = await _access_token(session, requester.base, credentials)
        async with session.post(
            requester.base + EVENTS_PATH,
            data=json.dumps(event, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": CLOUDEVENTS_JSON, "Authorization": f"Bearer {token}"},
        ) as response:
            if 200 <= response.status < 300:
                return
            text = await response.text()
            raise DeliveryFailed(
                f"{requester.base}{EVENTS_PATH} answered HTTP {response.status}: {text.strip()[:200]}"
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryFailed(f"{requester.base} unreachable: {exc or type(exc).__name__}") from None
