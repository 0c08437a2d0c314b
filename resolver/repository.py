"""The resolver's storage: one store class over `resolver.schema`; nothing else touches SQLAlchemy.

A use-case opens one transaction (`async with store.transaction(write=True) as db:`) and calls the methods
of the `StoreSession` it gets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.database import transaction, translate_integrity_error
from resolver.schema import versions


class VersionRowTaken(Exception):
    """Another resolver sharing the database recorded the same record first (a race; read again)."""


@dataclass(frozen=True, slots=True)
class SeenVersion:
    """The highest version of a record verified so far, and the digest of its signed document."""

    key: str
    handle: str
    version: int
    digest: str


class ResolverStore:
    """The resolver's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[StoreSession]:
        """One transaction: committed when the block ends, rolled back on error."""
        async with transaction(self.engine, write=write) as conn:
            yield StoreSession(conn)


class StoreSession:
    """The queries of one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def highest(self, key: str, *, for_update: bool = False) -> SeenVersion | None:
        """The highest version verified for the record with normalised key `key`, if any."""
        query = sa.select(versions.c.handle, versions.c.version, versions.c.digest).where(
            versions.c.handle_key == key
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        return SeenVersion(key, row.handle, row.version, row.digest)

    async def insert(self, seen: SeenVersion, *, at: str) -> None:
        """Record the first verified version of a record; `VersionRowTaken` when another resolver just did."""
        with translate_integrity_error({"unique": lambda: VersionRowTaken(seen.key)}):
            await self.conn.execute(
                versions.insert().values(
                    handle_key=seen.key,
                    handle=seen.handle,
                    version=seen.version,
                    digest=seen.digest,
                    first_seen_at=at,
                    seen_at=at,
                )
            )

    async def raise_to(self, seen: SeenVersion, *, at: str) -> None:
        """Record a higher verified version (only ever upwards, even if a replica raced ahead meanwhile)."""
        await self.conn.execute(
            versions.update()
            .where(versions.c.handle_key == seen.key, versions.c.version < seen.version)
            .values(version=seen.version, digest=seen.digest, seen_at=at)
        )
