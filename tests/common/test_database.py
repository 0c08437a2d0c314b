from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.pytest_plugin import AiohttpClient
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.app_keys import ENGINE_KEY
from common.database import (
    ConstraintKind,
    DatabaseUnavailable,
    DatabaseURLError,
    Migration,
    MigrationError,
    SchemaTooNewError,
    constraint_kind,
    create_engine,
    default_sqlite_url,
    engine_context,
    migrate,
    transaction,
    translate_integrity_error,
)

metadata = sa.MetaData()
prefixes = sa.Table(
    "prefixes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("prefix", sa.Text, nullable=False, unique=True),
    sa.Column("weight", sa.Integer, sa.CheckConstraint("weight >= 0", name="ck_weight"), nullable=False),
)
handles = sa.Table(
    "handles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("prefix_id", sa.Integer, sa.ForeignKey("prefixes.id"), nullable=False),
)


async def create_prefixes(conn: AsyncConnection) -> None:
    await conn.run_sync(prefixes.create)


async def create_handles(conn: AsyncConnection) -> None:
    await conn.run_sync(handles.create)


async def add_note_column(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("ALTER TABLE prefixes ADD COLUMN note TEXT"))


MIGRATIONS = [
    Migration(1, "prefixes", create_prefixes),
    Migration(2, "handles", create_handles),
]


class PrefixTaken(Exception):
    pass


class UnknownPrefix(Exception):
    pass


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))


async def history(engine: AsyncEngine) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT version, description FROM schema_migrations ORDER BY version")
        )
        return [(row.version, row.description) for row in rows]


# --------------------------------------------------------------------------------------------------------------
# Engines


async def test_engine_connects(engine: AsyncEngine) -> None:
    async with transaction(engine) as conn:
        assert (await conn.execute(sa.select(sa.literal(1)))).scalar_one() == 1
    assert engine.dialect.driver in ("aiosqlite", "asyncpg")


async def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'deeper' / 'dir' / 'x.db'}")
    try:
        assert engine.url.drivername == "sqlite+aiosqlite"
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 2}
        assert (tmp_path / "deeper" / "dir" / "x.db").exists()
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://user@db.example/carbonid", "postgresql+asyncpg"),
        ("postgres://user@db.example/carbonid", "postgresql+asyncpg"),
        ("postgresql+asyncpg://user@db.example/carbonid?search_path=node", "postgresql+asyncpg"),
    ],
)
async def test_postgres_urls_get_the_async_driver(url: str, driver: str) -> None:
    engine = create_engine(url)  # connects lazily: no server needed
    try:
        assert engine.url.drivername == driver
        assert "search_path" not in engine.url.query  # moved to the server settings
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/x", "unsupported database URL scheme 'mysql'"),
        ("sqlite+pysqlite:///x.db", "unsupported database URL scheme 'sqlite+pysqlite'"),
        ("postgresql+psycopg2://db/x", "unsupported database URL scheme"),
        ("sqlite+aiosqlite://", "in-memory SQLite is not supported"),
        ("sqlite+aiosqlite:///:memory:", "in-memory SQLite is not supported"),
        ("not a url", "cannot parse database URL"),
    ],
)
def test_unsupported_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(DatabaseURLError, match=re.escape(message)):
        create_engine(url)


def test_default_sqlite_url(tmp_path: Path) -> None:
    url = default_sqlite_url(tmp_path / "data", "node")
    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'node.db').resolve()}"
    with pytest.raises(ValueError, match="plain file name"):
        default_sqlite_url(tmp_path, "../escape")


# --------------------------------------------------------------------------------------------------------------
# Migrations


async def test_migrations_apply_once_in_order(engine: AsyncEngine) -> None:
    assert await migrate(engine, list(reversed(MIGRATIONS))) == [1, 2]
    assert {"prefixes", "handles", "schema_migrations"} <= await table_names(engine)
    assert await history(engine) == [(1, "prefixes"), (2, "handles")]
    assert await migrate(engine, MIGRATIONS) == []  # idempotent
    assert await migrate(engine, [*MIGRATIONS, Migration(3, "note", add_note_column)]) == [3]
    assert await history(engine) == [(1, "prefixes"), (2, "handles"), (3, "note")]


async def test_history_records_when(engine: AsyncEngine) -> None:
    await migrate(engine, MIGRATIONS[:1], table="my_history")
    async with engine.connect() as conn:
        applied_at = (await conn.execute(sa.text("SELECT applied_at FROM my_history"))).scalar_one()
    assert applied_at is not None


async def test_newer_database_is_refused(engine: AsyncEngine) -> None:
    await migrate(engine, [*MIGRATIONS, Migration(3, "note", add_note_column)])
    with pytest.raises(SchemaTooNewError, match=r"at version 3 .* knows versions up to 2"):
        await migrate(engine, MIGRATIONS)


async def test_history_unknown_to_the_code_is_refused(engine: AsyncEngine) -> None:
    await migrate(engine, MIGRATIONS)
    with pytest.raises(MigrationError, match=r"migrations \[2\] that this code does not define"):
        await migrate(engine, [MIGRATIONS[0], Migration(3, "note", add_note_column)])


async def test_failing_migration_leaves_nothing_behind(engine: AsyncEngine) -> None:
    async def create_then_fail(conn: AsyncConnection) -> None:
        await conn.run_sync(handles.create)
        await conn.execute(sa.text("INSERT INTO no_such_table VALUES (1)"))

    broken = [MIGRATIONS[0], Migration(2, "handles", create_then_fail)]
    with pytest.raises(MigrationError, match=r"migration 2 \(handles\) failed"):
        await migrate(engine, broken)
    assert "handles" not in await table_names(engine)
    assert await history(engine) == [(1, "prefixes")]
    assert await migrate(engine, MIGRATIONS) == [2]


async def test_concurrent_starts_apply_each_migration_once(database_url: str) -> None:
    calls: list[int] = []

    def counted(version: int, upgrade: Migration) -> Migration:
        async def run(conn: AsyncConnection) -> None:
            calls.append(version)
            await upgrade.upgrade(conn)

        return Migration(version, upgrade.description, run)

    migrations = [counted(m.version, m) for m in MIGRATIONS]
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(e, migrations) for e in engines))
        assert sorted(v for applied in results for v in applied) == [1, 2]
        assert sorted(calls) == [1, 2]
        assert await history(engines[0]) == [(1, "prefixes"), (2, "handles")]
    finally:
        for e in engines:
            await e.dispose()


@pytest.mark.parametrize(
    ("migrations", "message"),
    [
        (
            [Migration(1, "a", create_prefixes), Migration(1, "b", create_handles)],
            "two migrations have version 1",
        ),
        ([Migration(0, "a", create_prefixes)], "must be a positive integer"),
    ],
)
async def test_malformed_migration_lists_are_refused(
    engine: AsyncEngine, migrations: list[Migration], message: str
) -> None:
    with pytest.raises(MigrationError, match=message):
        await migrate(engine, migrations)


# --------------------------------------------------------------------------------------------------------------
# Transactions and driver errors


async def insert(
    engine: AsyncEngine,
    table: sa.Table,
    values: dict[str, object],
    exc_map: Mapping[ConstraintKind, Callable[[], Exception]] | None = None,
) -> None:
    """A use-case inserting one row, translating constraint violations with ``exc_map``."""
    with translate_integrity_error(exc_map or {}):
        async with transaction(engine, write=True) as conn:
            await conn.execute(table.insert().values(**values))


async def test_transaction_commits_or_rolls_back(engine: AsyncEngine) -> None:
    async def write_then_fail() -> None:
        async with transaction(engine, write=True) as conn:
            await conn.execute(prefixes.insert().values(id=2, prefix="88.2", weight=1))
            raise RuntimeError("use-case failed after writing")

    await migrate(engine, MIGRATIONS)
    await insert(engine, prefixes, {"id": 1, "prefix": "88.1", "weight": 1})
    with pytest.raises(RuntimeError):
        await write_then_fail()
    async with transaction(engine) as conn:
        assert (await conn.execute(sa.select(prefixes.c.prefix))).scalars().all() == ["88.1"]


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        ({"id": 2, "prefix": "88.1", "weight": 1}, "unique", PrefixTaken),
        ({"id": 1, "prefix": "88.9", "weight": 1}, "unique", PrefixTaken),  # primary key
        ({"id": 2, "prefix": "88.2", "weight": -1}, "check", ValueError),
        ({"id": 2, "prefix": None, "weight": 1}, "not_null", ValueError),
    ],
)
async def test_integrity_errors_become_domain_errors(
    engine: AsyncEngine, values: dict[str, object], kind: str, expected: type[Exception]
) -> None:
    await migrate(engine, MIGRATIONS)
    await insert(engine, prefixes, {"id": 1, "prefix": "88.1", "weight": 1})
    exc_map: dict[ConstraintKind, Callable[[], Exception]] = {
        "unique": lambda: PrefixTaken("88.1"),
        "check": lambda: ValueError("weight must not be negative"),
        "not_null": lambda: ValueError("prefix is required"),
    }
    with pytest.raises(expected) as caught:
        await insert(engine, prefixes, values, exc_map)
    cause = caught.value.__cause__
    assert isinstance(cause, sa_exc.IntegrityError)
    assert constraint_kind(cause) == kind


async def test_foreign_keys_are_enforced_and_translated(engine: AsyncEngine) -> None:
    await migrate(engine, MIGRATIONS)
    with pytest.raises(UnknownPrefix):
        await insert(engine, handles, {"id": 1, "prefix_id": 42}, {"foreign_key": UnknownPrefix})


async def test_unmapped_integrity_error_propagates(engine: AsyncEngine) -> None:
    await migrate(engine, MIGRATIONS)
    with pytest.raises(sa_exc.IntegrityError):
        await insert(engine, handles, {"id": 1, "prefix_id": 42}, {"unique": lambda: PrefixTaken("x")})


async def test_refused_connection_is_database_unavailable() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        with pytest.raises(DatabaseUnavailable, match="database unavailable"):
            async with transaction(engine):
                pass
    finally:
        await engine.dispose()


async def test_unopenable_sqlite_file_is_database_unavailable(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a-directory.db'}")
    try:
        with pytest.raises(DatabaseUnavailable, match="unable to open database file"):
            async with transaction(engine):
                pass
    finally:
        await engine.dispose()


async def test_locked_sqlite_database_is_database_unavailable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    holder, waiter = create_engine(url), create_engine(url, sqlite_busy_timeout_ms=50)
    try:
        async with transaction(holder, write=True) as conn:
            await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            with pytest.raises(DatabaseUnavailable, match="database is locked"):
                async with transaction(waiter, write=True):
                    pass
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_a_bug_is_not_mistaken_for_an_outage(engine: AsyncEngine) -> None:
    with pytest.raises(sa_exc.DBAPIError, match="no_such_table"):
        async with transaction(engine) as conn:
            await conn.execute(sa.text("SELECT * FROM no_such_table"))


# --------------------------------------------------------------------------------------------------------------
# aiohttp lifecycle


async def test_engine_context_makes_migrates_and_disposes(
    aiohttp_client: AiohttpClient, database_url: str
) -> None:
    async def count(request: web.Request) -> web.Response:
        async with transaction(request.config_dict[ENGINE_KEY]) as conn:
            n = (await conn.execute(sa.select(sa.func.count()).select_from(prefixes))).scalar_one()
        return web.json_response({"prefixes": n})

    app = web.Application()
    app.cleanup_ctx.append(engine_context(database_url, migrations=MIGRATIONS))
    app.router.add_get("/count", count)
    client = await aiohttp_client(app)
    response = await client.get("/count")
    assert response.status == 200
    assert await response.json() == {"prefixes": 0}
    engine = app[ENGINE_KEY]
    await client.close()
    assert engine.pool.checkedout() == 0
