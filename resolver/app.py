"""`create_app(settings)`: the resolver's aiohttp application."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Final

from aiohttp import web

from carbon_efficiency.benchmark import PublishedBenchmarks
from carbon_efficiency.factors import FactorLibrary
from certs.canonical import w3c_contexts
from certs.did import DidDocument
from certs.x509 import CertificateError, prefix_from_certificate
from common.app_keys import ENGINE_KEY, METRICS_KEY
from common.database import engine_context
from common.ratelimit import Limit, RateLimits
from common.web import create_service_app
from handle_registry.identifiers import fold_ascii
from handle_registry.response_codes import SERVER_TOO_BUSY
from metadata_templates import Catalog, default_catalog
from resolver import certificates_api, handle_api, notifications_api, regions_api
from resolver.breakers import CircuitBreakers
from resolver.certificates import CertificateAuthority, load_published_benchmarks
from resolver.context import (
    SERVICE_NAME,
    ResolverContext,
    database_url,
    load_identity,
    load_trust_anchor,
    utc_now,
)
from resolver.keys import CERTIFICATES_KEY, REGIONAL_KEY, RESOLVER_KEY
from resolver.openapi import build_openapi
from resolver.regional_state import RegionalState
from resolver.repository import ResolverStore
from resolver.schema import MIGRATION_TABLE, MIGRATIONS
from resolver.settings import ResolverSettings
from resolver.stats import register_metrics
from resolver.upstream import Upstream, client_tls, open_session
from resolver.verification import ProofVerifier
from resolver.versions import VersionGuard
from resolver.views import error_response


def _handle_too_busy(request: web.Request, retry_after: int) -> web.StreamResponse:
    """A refused resolution in Handle JSON (responseCode 3, HTTP 429), as its other errors are."""
    message = f"Too many requests from this client; retry after {retry_after} s"
    status, body = error_response(SERVER_TOO_BUSY, message, None, status=429)
    return web.Response(status=status, body=body, content_type="application/json", charset="utf-8")


_PUBLISH: Final = Limit("publish", key_by="account")

RATE_LIMITED_ROUTES: Final[Mapping[tuple[str, str], Limit]] = {
    ("GET", "/api/handles/{handle}"): Limit("resolve", render=_handle_too_busy, error_schema="HandleError"),
    ("GET", "/c/{handle}"): Limit("resolve"),
    ("POST", "/api/evaluations"): _PUBLISH,
    ("POST", "/api/evaluations/{handle}/revoke"): _PUBLISH,
    ("POST", "/api/rollups"): _PUBLISH,
    ("POST", "/api/notifications"): Limit("publish"),
}
"""The resolver's rate-limited routes: resolution and certificate pages by address, operators' requests by
the account they name, nodes' (signed) notifications by address."""


def check_client_certificate(settings: ResolverSettings) -> None:
    """Refuse a client certificate bound to another prefix than the resolver's `prefix` (ValueError)."""
    if settings.client_certificate is None or settings.prefix is None:
        return
    try:
        bound = prefix_from_certificate(settings.client_certificate.read_bytes())
    except OSError as exc:
        raise ValueError(
            f"cannot read client_certificate {settings.client_certificate}: {exc.strerror}"
        ) from None
    except CertificateError as exc:
        raise ValueError(f"client_certificate {settings.client_certificate}: {exc}") from None
    if fold_ascii(bound) != fold_ascii(settings.prefix):
        raise ValueError(
            f"client_certificate is bound to prefix {bound}, but the resolver's prefix is {settings.prefix}"
        )


def _resolver_context(
    settings: ResolverSettings,
    catalog: Catalog,
    anchor: DidDocument,
    tls: ssl.SSLContext | bool,
    peer_tls: ssl.SSLContext | bool,
    clock: Callable[[], datetime],
    published: PublishedBenchmarks | None,
    regional_index: bool,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def resolver_context(app: web.Application) -> AsyncIterator[None]:
        # Key files are read (or created) once, off the event loop.
        identity = await asyncio.to_thread(load_identity, settings)
        size = settings.cache_max_entries
        session = open_session(settings, tls)
        # Only with a client certificate is there anything a peer session would see that the public one does not.
        peer_session = (
            open_session(settings, peer_tls) if settings.client_certificate is not None else session
        )
        breakers = CircuitBreakers()
        store = ResolverStore(app[ENGINE_KEY])
        app[CERTIFICATES_KEY] = CertificateAuthority(store, FactorLibrary.default(), published)
        regional = RegionalState(refresh_seconds=settings.index_refresh_seconds)
        if regional_index:
            regional.start(store)
        app[REGIONAL_KEY] = regional
        try:
            context = ResolverContext(
                settings=settings,
                catalog=catalog,
                anchor=anchor,
                identity=identity,
                upstream=Upstream(session, clock, breakers=breakers),
                peer_upstream=Upstream(peer_session, clock, breakers=breakers),
                guard=VersionGuard(store, max_entries=size),
                verifier=ProofVerifier(catalog.loader, max_entries=size),
                clock=clock,
            )
            app[RESOLVER_KEY] = context
            yield
            await context.flights.close()
        finally:
            await regional.close()
            await session.close()
            if peer_session is not session:
                await peer_session.close()

    return resolver_context


def create_app(
    settings: ResolverSettings, *, clock: Callable[[], datetime] = utc_now, regional_index: bool = True
) -> web.Application:
    """The resolver: verified Handle resolution, evaluations and certificates, regional monitoring, its DID
    document, health, OpenAPI, contexts.

    `clock` replaces the real time (cache expiry, proof times), so tests expire entries without sleeping.
    Rate-limited per client as `RATE_LIMITED_ROUTES` says.
    `regional_index=False` skips loading the regional index at start-up (for `carbonid resolver sync`, which
    only writes it; a query would still load it on first use).
    Raises `TrustAnchorError` when the trust anchor cannot be read, ValueError for a client certificate
    bound to another prefix or a benchmark table that cannot be read, OSError / ssl.SSLError for TLS files
    that cannot be loaded: at once, not when the server starts.
    """
    catalog = default_catalog()
    anchor = load_trust_anchor(settings.trust_anchor)
    check_client_certificate(settings)
    published = load_published_benchmarks(settings.benchmark_table)
    tls = client_tls(settings, as_peer=False)
    peer_tls = client_tls(settings, as_peer=True)
    limits = RateLimits(settings, RATE_LIMITED_ROUTES)
    app = create_service_app(
        settings,
        name=SERVICE_NAME,
        openapi=build_openapi,
        contexts={**w3c_contexts(), **catalog.contexts},
        middlewares=limits.middlewares(),
    )
    app.cleanup_ctx.append(
        engine_context(database_url(settings), migrations=MIGRATIONS, migration_table=MIGRATION_TABLE)
    )
    app.cleanup_ctx.append(
        _resolver_context(settings, catalog, anchor, tls, peer_tls, clock, published, regional_index)
    )
    handle_api.add_routes(app)
    certificates_api.add_routes(app)
    notifications_api.add_routes(app)
    regions_api.add_routes(app)
    limits.bind(app)
    register_metrics(
        app[METRICS_KEY],
        lambda: app[RESOLVER_KEY].stats if RESOLVER_KEY in app else None,
        lambda: app[RESOLVER_KEY].verifier.verifications if RESOLVER_KEY in app else 0,
    )
    return app
