"""SQLAlchemy async lookups on aiosqlite, against bare aiosqlite running the same SELECT on the same file.

`lookups()` publishes RECORDS records through the node's use-case (SQLite in a temporary directory), then
reads record versions by primary key, at random: each in its own unit of work (`NodeStore.unit`, what a
request handler does: pool checkout, BEGIN, SELECT, COMMIT), and one after another inside one open unit
(SQLAlchemy Core and the driver only). The ceiling is aiosqlite alone: the same SQL on one open connection,
fetching the row. aiosqlite runs each statement on its own thread, so every figure pays two thread hops.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path
from typing import Final

import aiosqlite

from node.records import Publication, publish_record
from node.runtime import open_node
from node.schema import record_versions
from node.settings import NodeSettings
from tests.bench.report import Figure
from tests.bench.timing import async_rate

RECORDS: Final = 200
QUICK_RECORDS: Final = 20
TEMPLATE: Final = "activity-data/1"


async def _measure(records: int, quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="carbonid-bench-storage-") as directory:
        settings = NodeSettings(prefix="88.186.1", data_dir=Path(directory), log_json=False)
        async with open_node(settings) as ctx:
            document = ctx.catalog.resolve(TEMPLATE).example_document()
            document.pop("handle", None)
            keys = []
            for number in range(records):
                suffix = f"ACT.BENCH.{number}"
                await publish_record(
                    ctx, Publication(TEMPLATE, document, suffix=suffix), actor=settings.admin_user
                )
                keys.append(ctx.prefix.handle(suffix).key)
            chooser = random.Random(2026)
            store = ctx.store

            async def in_own_unit() -> None:
                async with store.unit() as db:
                    if await db.get_version(chooser.choice(keys), 1) is None:
                        raise RuntimeError("a published record version was not found")

            unit_rate = await async_rate(in_own_unit, quick)
            async with store.unit() as db:

                async def in_open_unit() -> None:
                    if await db.get_version(chooser.choice(keys), 1) is None:
                        raise RuntimeError("a published record version was not found")

                open_rate = await async_rate(in_open_unit, quick)
            database = store.engine.url.database
            if database is None:
                raise RuntimeError("the node's database is not a SQLite file")
            sql = f"SELECT * FROM {record_versions.name} WHERE handle_key = ? AND version = ?"
            async with aiosqlite.connect(database) as connection:

                async def bare() -> None:
                    async with connection.execute(sql, (chooser.choice(keys), 1)) as cursor:
                        if await cursor.fetchone() is None:
                            raise RuntimeError("a published record version was not found")

                bare_rate = await async_rate(bare, quick)

    ceiling = "aiosqlite alone: the same SELECT on one open connection"
    return [
        Figure(
            "record version by key, one unit of work each (NodeStore.unit)",
            unit_rate,
            "/s",
            "higher",
            ceiling,
            bare_rate,
            f"{records} records; pool checkout, BEGIN, SELECT, COMMIT",
        ),
        Figure(
            "record version by key, inside one open unit (SQLAlchemy Core)",
            open_rate,
            "/s",
            "higher",
            ceiling,
            bare_rate,
        ),
    ]


def lookups(quick: bool) -> list[Figure]:
    """SQLAlchemy async lookups by primary key, against bare aiosqlite."""
    return asyncio.run(_measure(QUICK_RECORDS if quick else RECORDS, quick))
