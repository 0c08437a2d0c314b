"""The enterprise node's aiohttp application: `create_app(settings)`, and the TLS context it is served with."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Final

from aiohttp import web

from certs.canonical import w3c_contexts
from common.app_keys import ENGINE_KEY, METRICS_KEY
from common.database import engine_context
from common.metrics import Sample
from common.passwords import SecretChecker
from common.ratelimit import Limit, RateLimits
from common.web import create_service_app
from handle_registry.response_codes import SERVER_TOO_BUSY
from metadata_templates import Catalog, default_catalog
from node import forms_api, handles, pact_api, records_api
from node.context import NodeContext, load_identity
from node.handle_service import HandleApiError, admin_handle_exists
from node.keys import NODE_KEY, NOTIFIER_KEY
from node.notify import Notifier, open_notify_session
from node.openapi import build_openapi
from node.repository import NodeStore
from node.runtime import SERVICE_NAME, database_url
from node.schema import MIGRATION_TABLE, MIGRATIONS
from node.settings import NodeSettings

_log = logging.getLogger(__name__)


def _handle_too_busy(request: web.Request, retry_after: int) -> web.StreamResponse:
    """A refused Handle request in Handle JSON (responseCode 3, HTTP 429), as its other errors are."""
    message = f"Too many requests from this client; retry after {retry_after} s"
    return handles.error_response(HandleApiError(SERVER_TOO_BUSY, message, status=429))


_RESOLVE: Final = Limit("resolve", render=_handle_too_busy, error_schema="HandleError")
_HANDLE_WRITE: Final = Limit("publish", key_by="account", render=_handle_too_busy, error_schema="HandleError")
_PUBLISH: Final = Limit("publish", key_by="account")

RATE_LIMITED_ROUTES: Final[Mapping[tuple[str, str], Limit]] = {
    ("GET", "/api/handles"): _RESOLVE,
    ("GET", "/api/handles/{handle}"): _RESOLVE,
    ("PUT", "/api/handles/{handle}"): _HANDLE_WRITE,
    ("DELETE", "/api/handles/{handle}"): _HANDLE_WRITE,
    ("POST", "/api/records"): _PUBLISH,
    ("POST", "/api/records/{handle}/grants"): _PUBLISH,
    ("DELETE", "/api/records/{handle}/grants/{prefix}"): _PUBLISH,
    ("POST", "/api/forms"): _PUBLISH,
    ("PUT", "/api/forms/{handle}"): _PUBLISH,
    ("PUT", "/api/forms/{handle}/tags"): _PUBLISH,
    **{
        ("POST", f"/api/forms/{{handle}}/{action}"): _PUBLISH
        for action in ("submit", "approve", "reject", "publish", "copy", "send")
    },
    ("POST", "/api/forms/received"): _PUBLISH,
    ("DELETE", "/api/forms/received/{handle}"): _PUBLISH,
}
"""The node's rate-limited routes: Handle resolution by address; every write by the account it names."""


def _node_context(
    settings: NodeSettings, catalog: Catalog
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def node_context(app: web.Application) -> AsyncIterator[None]:
        # Key files are read (or created) once, off the event loop.
        identity = await asyncio.to_thread(load_identity, settings)
        context = NodeContext(settings, identity, catalog, NodeStore(app[ENGINE_KEY]), SecretChecker())
        if not await admin_handle_exists(context.store, context.prefix):
            _log.warning(
                "node not initialised: %s/ADMIN does not exist, so nobody can publish; run `carbonid node init`",
                settings.prefix,
            )
        app[NODE_KEY] = context
        yield

    return node_context


def _notifier_context(
    settings: NodeSettings, catalog: Catalog
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def notifier_context(app: web.Application) -> AsyncIterator[None]:
        session = open_notify_session(settings) if settings.notify_resolvers else None
        notifier = Notifier(settings.notify_resolvers, app[NODE_KEY].identity, catalog, session)
        app[NOTIFIER_KEY] = notifier
        try:
            yield
        finally:
            await notifier.close()
            if session is not None:
                await session.close()

    return notifier_context


def create_app(settings: NodeSettings) -> web.Application:
    """The node: Handle REST API, carbon records, publication log, DID document, health, OpenAPI, contexts;
    rate-limited per client as `RATE_LIMITED_ROUTES` says."""
    catalog = default_catalog()
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
    app.cleanup_ctx.append(_node_context(settings, catalog))
    app.cleanup_ctx.append(_notifier_context(settings, catalog))
    app.cleanup_ctx.append(pact_api.pact_context(settings))
    handles.add_routes(app)
    records_api.add_routes(app)
    forms_api.add_routes(app)
    pact_api.add_routes(app)
    limits.bind(app)
    _register_metrics(app)
    return app


def _register_metrics(app: web.Application) -> None:
    """The node's own figures at `/metrics`: resolver notifications by outcome."""

    def notifications() -> list[Sample]:
        notifier = app.get(NOTIFIER_KEY)
        outcomes = notifier.outcomes if notifier is not None else {}
        return [
            Sample({"outcome": name}, outcomes.get(name, 0)) for name in ("delivered", "refused", "failed")
        ]

    app[METRICS_KEY].collector(
        "node_notifications_total",
        "Notifications of publications and grants sent to resolvers, by how they ended (failed: no answer "
        "after every retry).",
        notifications,
    )
