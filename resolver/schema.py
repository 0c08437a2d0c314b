"""The resolver's tables (SQLAlchemy Core) and the migrations that create them.

- `resolver_versions`: for every signed record (and prefix record, keyed `0.NA/<PREFIX>`) the resolver has
  verified, the highest version seen and the digest of that version's signed document, by the handle's
  normalised key (ASCII upper case). A record served below that version is a rollback, the same version
  with another digest an equivocation: both are refused, across restarts and across resolver replicas
  sharing the database.

Times are ISO-8601 UTC text (`2025-01-02T03:04:05Z`), identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from common.database import Migration

metadata: Final = sa.MetaData()

versions: Final = sa.Table(
    "resolver_versions",
    metadata,
    sa.Column("handle_key", sa.Text, primary_key=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("first_seen_at", sa.Text, nullable=False),
    sa.Column("seen_at", sa.Text, nullable=False),
)


async def _create_tables(conn: AsyncConnection) -> None:
    # Version 1 of the schema is exactly the table above; later changes get their own migrations.
    await conn.run_sync(metadata.create_all)


MIGRATION_TABLE: Final = "resolver_schema_migrations"
"""The resolver keeps its own migration history, so it can share a database with a registry or a node."""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "resolver: highest verified version per record", _create_tables),
)
"""Every schema migration of the resolver, in version order."""
