"""Running the node's use-cases outside the web server: `node init`, `node publish`, benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.database import create_engine, default_sqlite_url, migrate
from common.passwords import SecretChecker
from handle_registry.identifiers import parse_prefix
from metadata_templates import default_catalog
from node.context import NodeContext, load_identity
from node.handle_service import initialise_admin
from node.repository import NodeStore
from node.schema import MIGRATION_TABLE, MIGRATIONS
from node.settings import NodeSettings

SERVICE_NAME = "node"


def database_url(settings: NodeSettings) -> str:
    """The configured database, or `data_dir/node.db` (SQLite)."""
    return settings.database_url or default_sqlite_url(settings.data_dir, SERVICE_NAME)


@asynccontextmanager
async def open_node(settings: NodeSettings) -> AsyncIterator[NodeContext]:
    """The node's context with its database migrated, disposed of when the block ends."""
    engine = create_engine(database_url(settings))
    try:
        await migrate(engine, MIGRATIONS, table=MIGRATION_TABLE)
        identity = await asyncio.to_thread(load_identity, settings)
        yield NodeContext(settings, identity, default_catalog(), NodeStore(engine), SecretChecker())
    finally:
        await engine.dispose()


async def initialise_node(settings: NodeSettings, secret: str, *, rotate: bool = False) -> NodeContext:
    """Create the keys, the schema and `<prefix>/ADMIN` holding the salted hash of `secret`.

    Raises `node.handle_service.AlreadyInitialised` when the node exists and `rotate` is false; with
    `rotate` the admin secret is replaced. Returns the context (its store is closed).
    """
    async with open_node(settings) as ctx:
        await initialise_admin(ctx.store, parse_prefix(settings.prefix), secret, rotate=rotate)
        return ctx
