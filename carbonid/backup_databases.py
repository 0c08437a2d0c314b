"""Copying a service's database out and back: SQLite through its online backup API, PostgreSQL through
pg_dump and pg_restore.

SQLite: `Connection.backup` copies every page in one step inside one read transaction, so the copy is the
database as of one commit, WAL content included, while the service keeps reading and writing (WAL readers
and writers do not block each other). The copy is switched to a rollback journal so it is one
self-contained file; the service turns WAL back on when it opens it.

PostgreSQL: several services may share a database (each keeps its own migration table, and may sit in its
own schema through `?search_path=`), so only the tables of the service being backed up are dumped:
those its migrations create, found by running them on a scratch SQLite file, in the schema the URL
selects. pg_dump takes one snapshot for all of them; `pg_restore --single-transaction` puts them back all
or nothing. Connection parameters go to the tools as libpq environment variables (the password never
appears on a command line).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from carbonid.backup_archive import BackupError
from common.database import Migration, create_engine, default_sqlite_url, migrate

SQLITE: Final = "sqlite"
POSTGRESQL: Final = "postgresql"
_BUSY_TIMEOUT_MS: Final = 30_000


def database_kind(url: str) -> str:
    """`sqlite` or `postgresql`, from a database URL."""
    backend = make_url(url).get_backend_name()
    if backend == SQLITE:
        return SQLITE
    if backend in ("postgresql", "postgres"):
        return POSTGRESQL
    raise BackupError(f"cannot back up a {backend} database")


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL."""
    database = make_url(url).database
    if not database:
        raise BackupError(f"the SQLite URL {url} names no file")
    return Path(database)


async def schema_version(engine: AsyncEngine, migration_table: str) -> int:
    """The newest migration applied (0 when the service's migration table does not exist)."""
    async with engine.connect() as conn:
        exists = await conn.run_sync(lambda sync: sa.inspect(sync).has_table(migration_table))
        if not exists:
            return 0
        table = sa.table(migration_table, sa.column("version"))
        value = (await conn.execute(sa.select(sa.func.max(table.c.version)))).scalar()
        return int(value or 0)


async def service_tables(migrations: Sequence[Migration], migration_table: str) -> list[str]:
    """The tables a service's migrations create (its migration table included), by running them on scratch."""
    with tempfile.TemporaryDirectory(prefix="carbonid-tables-") as scratch:
        engine = create_engine(default_sqlite_url(Path(scratch), "scratch"))
        try:
            await migrate(engine, migrations, table=migration_table)
            async with engine.connect() as conn:
                names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        finally:
            await engine.dispose()
    return sorted(names)


# --------------------------------------------------------------------------------------------------------------
# SQLite


def snapshot_sqlite(source: Path, target: Path) -> None:
    """Copy the live database `source` to `target`: one consistent state, while others go on writing."""
    if not source.is_file() or source.stat().st_size == 0:
        raise BackupError(f"no database at {source}")
    try:
        src = sqlite3.connect(source, timeout=_BUSY_TIMEOUT_MS / 1000)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")
                (result,) = dst.execute("PRAGMA quick_check").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from None
    if result != "ok":
        raise BackupError(f"the copy of {source} fails SQLite's quick_check: {result}")


def sqlite_schema_version(path: Path, migration_table: str) -> int:
    """The newest migration applied in a SQLite file (0 without the service's migration table)."""
    connection = sqlite3.connect(path)
    try:
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (migration_table,)
        ).fetchone()
        if found is None:
            return 0
        (value,) = connection.execute(f'SELECT max(version) FROM "{migration_table}"').fetchone()  # noqa: S608
        return int(value or 0)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read {path}: {exc}") from None
    finally:
        connection.close()


def sqlite_holds_data(path: Path) -> bool:
    """Whether a SQLite file exists and is not empty."""
    return path.is_file() and path.stat().st_size > 0


def restore_sqlite(staged: Path, target: Path) -> None:
    """Put the staged copy in place of `target`: copied beside it, then renamed over it.

    The old file's `-wal` and `-shm` go first: left behind, SQLite would replay the old journal onto the
    new file. The service must not be running.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".restoring")
    try:
        with os.fdopen(fd, "wb") as out, staged.open("rb") as source:
            shutil.copyfileobj(source, out)
            out.flush()
            os.fsync(out.fileno())
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------------------------
# PostgreSQL


def libpq_environment(url: str) -> dict[str, str]:
    """The libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE) naming `url`'s database."""
    parsed = make_url(url)
    query = {k: (v if isinstance(v, str) else v[0]) for k, v in parsed.query.items()}
    ssl = query.get("sslmode") or query.get("ssl")
    values = {
        "PGHOST": query.get("host") or parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": {"true": "require", "false": "disable"}.get(ssl.lower(), ssl) if ssl else None,
    }
    return {name: str(value) for name, value in values.items() if value}


def url_schema(url: str) -> str | None:
    """The first schema of the URL's `search_path`, if it sets one."""
    value = make_url(url).query.get("search_path")
    text = value if isinstance(value, str) else (value[0] if value else "")
    first = text.split(",")[0].strip().strip('"')
    return first or None


async def current_schema(engine: AsyncEngine, url: str) -> str:
    """The schema the service's unqualified table names land in."""
    named = url_schema(url)
    if named is not None:
        return named
    async with engine.connect() as conn:
        value = (await conn.execute(sa.select(sa.func.current_schema()))).scalar()
    if not value:
        raise BackupError("the database has no current schema (check search_path)")
    return str(value)


async def existing_tables(engine: AsyncEngine, schema: str, wanted: Sequence[str]) -> list[str]:
    """Which of `wanted` exist in `schema`."""
    query = sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema "
        "AND table_type = 'BASE TABLE'"
    )
    async with engine.connect() as conn:
        present = set((await conn.execute(query, {"schema": schema})).scalars())
    return [name for name in wanted if name in present]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed (PostgreSQL client tools are needed for a PostgreSQL backup)"
        )
    return found


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def _run(command: list[str], url: str, what: str) -> None:
    environment = {**os.environ, **libpq_environment(url)}
    completed = await asyncio.to_thread(
        subprocess.run, command, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit status {completed.returncode}'}")


async def dump_postgres(url: str, schema: str, tables: Sequence[str], target: Path) -> None:
    """`pg_dump --format=custom` of `tables` in `schema` into `target`, in one snapshot."""
    command = [_tool("pg_dump"), "--format=custom", "--no-password", f"--file={target}"]
    for table in tables:
        command.append(f"--table={_quoted(schema)}.{_quoted(table)}")
    await _run(command, url, "pg_dump")


async def restore_postgres(url: str, engine: AsyncEngine, schema: str, staged: Path) -> None:
    """Create `schema` if missing, then `pg_restore --clean --if-exists --no-owner` in one transaction."""
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {_quoted(schema)}")
    command = [
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={make_url(url).database or make_url(url).username or 'postgres'}",
        str(staged),
    ]
    await _run(command, url, "pg_restore")
