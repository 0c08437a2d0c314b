"""Asking registries and nodes: Handle REST GETs over one pooled `aiohttp.ClientSession`.

This is the boundary where the HTTP client's failures are translated: a connection refused, a TLS
failure, a timeout, a 5xx, a body that is not Handle JSON all become the `UpstreamError` the caller
names (`RegistryUnreachable` or `NodeUnreachable`). What comes back is the status, the Handle response
code and the decoded values; judging them is the caller's business.

TLS: with `federation_ca` a session trusts that CA only (`certs.tls.client_ssl_context`). The resolver keeps
two sessions: the public one, which answers the Handle API for anyone and never presents the client
certificate (so it only ever sees public records), and the peer one, which presents `client_certificate` so
nodes answer with the records granted to the resolver's prefix, for the resolver's own use (evaluations),
never for republishing.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote

import aiohttp
from yarl import URL

from certs.tls import client_ssl_context
from handle_registry.codec import CodecError, decode_resolution, parse_json
from handle_registry.values import HandleValue
from resolver.errors import UpstreamError
from resolver.settings import ResolverSettings

MAX_ANSWER_BYTES: Final = 8 * 1024 * 1024
"""The largest Handle JSON answer read from a registry or node: a resolution is kilobytes, not megabytes."""

USER_AGENT: Final = "carbonid-resolver"


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    """A Handle answer from a registry or node: HTTP status, response code, values, message."""

    url: str
    status: int
    code: int
    values: tuple[HandleValue, ...]
    message: str | None = None


def client_tls(settings: ResolverSettings, *, as_peer: bool) -> ssl.SSLContext | bool:
    """The TLS a session speaks: the federation CA when set, else the system's CAs; the client certificate
    only for the peer session."""
    certificate = settings.client_certificate if as_peer else None
    key = settings.client_key if as_peer else None
    if settings.federation_ca is not None:
        return client_ssl_context(settings.federation_ca, cert_file=certificate, key_file=key)
    if certificate is not None:
        context = ssl.create_default_context()
        context.load_cert_chain(certificate, key)
        return context
    return True


def open_session(settings: ResolverSettings, tls: ssl.SSLContext | bool) -> aiohttp.ClientSession:
    """The pooled session every upstream request goes through (call from a running event loop)."""
    connector = aiohttp.TCPConnector(ssl=tls, limit=256, limit_per_host=64)
    timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_seconds)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        # Handle JSON is parsed strictly by the codec; the session never decodes it itself.
        raise_for_status=False,
    )


def handle_url(base_url: str, handle: str) -> URL:
    """`<base_url>/api/handles/<handle>`, the handle percent-encoded so the server decodes it back exactly."""
    # Everything but unreserved characters and "/" is escaped: the Handle server decodes the raw path once,
    # so "%2B" comes back as "+", which a literal "+" might not on every proxy.
    return URL(base_url.rstrip("/") + "/api/handles/" + quote(handle, safe="/"), encoded=True)


class Upstream:
    """Handle REST GETs to registries and nodes."""

    def __init__(self, session: aiohttp.ClientSession, clock: Callable[[], datetime]) -> None:
        self.session = session
        self.clock = clock

    async def resolve(
        self, base_url: str, handle: str, *, unreachable: type[UpstreamError]
    ) -> UpstreamAnswer:
        """GET `handle` from the service at `base_url`; raises `unreachable` when no usable answer comes."""
        url = handle_url(base_url, handle)
        shown = str(url)
        try:
            async with self.session.get(url, allow_redirects=False) as response:
                status = response.status
                body = await _read_bounded(response)
        except TimeoutError:
            raise unreachable(shown, "did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise unreachable(shown, f"cannot be reached: {exc or type(exc).__name__}") from None
        if body is None:
            raise unreachable(shown, f"answered more than {MAX_ANSWER_BYTES} bytes")
        if status >= 500:
            raise unreachable(shown, f"answered HTTP {status}")
        try:
            decoded = decode_resolution(parse_json(body), clock=self.clock)
        except CodecError as exc:
            raise unreachable(shown, f"answered HTTP {status} without readable Handle JSON: {exc}") from None
        return UpstreamAnswer(shown, status, decoded.response_code, decoded.values, decoded.message)


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes | None:
    if response.content_length is not None and response.content_length > MAX_ANSWER_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
