"""The enterprise node's aiohttp application: `create_app(settings)`, and the TLS context it is served with."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from certs.canonical import w3c_contexts
from common.app_keys import ENGINE_KEY
from common.database import engine_context
from common.passwords import SecretChecker
from common.web import create_service_app
from metadata_templates import Catalog, default_catalog
from node import forms_api, handles, pact_api, records_api
from node.context import NodeContext, load_identity
from node.handle_service import admin_handle_exists
from node.keys import NODE_KEY, NOTIFIER_KEY
from node.notify import Notifier, open_notify_session
from node.openapi import build_openapi
from node.repository import NodeStore
from node.runtime import SERVICE_NAME, database_url
from node.schema import MIGRATION_TABLE, MIGRATIONS
from node.settings import NodeSettings

_log = logging.getLogger(__name__)


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
    """The node: Handle REST API, carbon records, publication log, DID document, health, OpenAPI, contexts."""
    catalog = default_catalog()
    app = create_service_app(
        settings,
        name=SERVICE_NAME,
        openapi=build_openapi,
        contexts={**w3c_contexts(), **catalog.contexts},
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
    return app
