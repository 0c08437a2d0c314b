"""The database engine, transactions, schema migrations, and driver errors translated at the boundary.

SQLite (``sqlite+aiosqlite``, a file in the data directory) is the default; PostgreSQL (``postgresql+asyncpg``)
is chosen by URL. Services describe their tables with SQLAlchemy Core and change them only through
:class:`Migration` s applied by :func:`migrate`.
"""

from __future__ import annotations

import hashlib
import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from common.app_keys import ENGINE_KEY

__all__ = [
    "ConstraintKind",
    "DatabaseURLError",
    "DatabaseUnavailable",
    "Migration",
    "MigrationError",
    "SchemaTooNewError",
    "constraint_kind",
    "create_engine",
    "default_sqlite_url",
    "engine_context",
    "migrate",
    "transaction",
    "translate_integrity_error",
    "translate_unavailable",
]

SQLITE_BUSY_TIMEOUT_MS: Final = 5_000
"""How long an ordinary SQLite statement waits for another process's write lock."""

MIGRATION_LOCK_TIMEOUT_MS: Final = 120_000
"""How long a starting process waits for another one's migrations on SQLite."""

# Execution options read by the SQLite "begin" hook. SQLAlchemy keeps unknown options for us to read.
_SQLITE_BEGIN: Final = "carbonid_sqlite_begin"
_SQLITE_BUSY_MS: Final = "carbonid_sqlite_busy_timeout_ms"
_BUSY_INFO: Final = "carbonid_busy_timeout_ms"

# asyncpg takes these as server settings, not as connect() arguments (as asyncpg itself does for its DSNs),
# so ``?search_path=tenant`` in a URL puts a service's tables in a schema of a shared database.
_PG_SERVER_SETTINGS: Final = frozenset(
    {
        "search_path",
        "application_name",
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
    }
)


class DatabaseURLError(ValueError):
    """The database URL names a scheme or driver carbonid does not run on, or cannot be parsed."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is too busy; the operation may succeed if retried later."""


class MigrationError(Exception):
    """The migrations or the database's migration history are inconsistent, or a migration failed."""


class SchemaTooNewError(MigrationError):
    """The database was migrated by newer code than this; running on it could corrupt it."""


# --------------------------------------------------------------------------------------------------------------
# Engines


def default_sqlite_url(data_dir: Path, name: str) -> str:
    """Return the URL of the SQLite database ``<data_dir>/<name>.db`` (absolute, async driver)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"database name {name!r} must be a plain file name")
    path = (data_dir / f"{name}.db").resolve()
    return sa.URL.create("sqlite+aiosqlite", database=str(path)).render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 5,
    max_overflow: int = 10,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> AsyncEngine:
    """Create the async engine for ``url``: SQLite through aiosqlite or PostgreSQL through asyncpg.

    ``sqlite:///`` and ``postgresql://`` URLs get their async driver; any other scheme or driver raises
    :class:`DatabaseURLError`. SQLite files get their directory created, WAL with durable commits
    (``synchronous=FULL``), foreign keys, a busy timeout and transactions that really begin at BEGIN (DDL
    included). PostgreSQL gets a small pre-pinged pool;
    ``search_path`` and a few other server settings may be given as URL query parameters.
    """
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise DatabaseURLError(f"cannot parse database URL: {exc}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite"):
        return _create_sqlite_engine(
            parsed.set(drivername="sqlite+aiosqlite"), echo=echo, busy_timeout_ms=sqlite_busy_timeout_ms
        )
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        return _create_postgres_engine(
            parsed.set(drivername="postgresql+asyncpg"),
            echo=echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
    raise DatabaseURLError(
        f"unsupported database URL scheme {parsed.drivername!r}: "
        "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
    )


def _create_sqlite_engine(url: sa.URL, *, echo: bool, busy_timeout_ms: int) -> AsyncEngine:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        # Every pooled connection would see its own empty database, or all would share one transaction.
        raise DatabaseURLError(
            "in-memory SQLite is not supported; give a file path (sqlite+aiosqlite:///path)"
        )
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo)
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # The sqlite3 module would otherwise BEGIN lazily and never before DDL, so a failing migration could
        # leave half its tables behind; SQLAlchemy's "begin" hook below emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # FULL, not NORMAL: under WAL, NORMAL survives a killed process but may lose the last commits on power
        # loss or an OS crash, after the client was told they were done; the service could then sign something
        # else under a number it already acknowledged (a forked signed log). FULL fsyncs the WAL at each
        # commit, about 0.25 ms on the development machine.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA journal_mode")
        row = cursor.fetchone()
        if row is None or str(row[0]).lower() != "wal":
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                # Connections racing to convert a new file get SQLITE_BUSY without the busy handler being
                # consulted. WAL is a property of the file: whoever wins sets it for every connection.
                if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in (5, 6):
                    raise
        cursor.close()
        record.info[_BUSY_INFO] = busy_timeout_ms

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        mode = options.get(_SQLITE_BEGIN, "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"unknown SQLite transaction mode {mode!r}")
        busy = int(options.get(_SQLITE_BUSY_MS, busy_timeout_ms))
        info = connection.connection.info
        if info.get(_BUSY_INFO) != busy:
            # Only a migration asks for a longer wait; the pragma is re-issued only when the value changes.
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy}")
            info[_BUSY_INFO] = busy
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _create_postgres_engine(url: sa.URL, *, echo: bool, pool_size: int, max_overflow: int) -> AsyncEngine:
    query = dict(url.query)
    server_settings = {k: str(query.pop(k)) for k in list(query) if k in _PG_SERVER_SETTINGS}
    connect_args: dict[str, Any] = {"timeout": 10}
    if server_settings:
        connect_args["server_settings"] = server_settings
    return create_async_engine(
        url.set(query=query),
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=10,
        # Connections outlive PostgreSQL restarts and fail-overs; a ping on checkout finds the dead ones.
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args,
    )


def engine_context(
    url: str,
    *,
    migrations: Sequence[Migration] = (),
    migration_table: str = "schema_migrations",
    **engine_options: Any,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Return an aiohttp ``cleanup_ctx`` piece: create the engine, apply ``migrations``, dispose at shutdown.

    The engine is stored under :data:`common.app_keys.ENGINE_KEY`; ``engine_options`` go to
    :func:`create_engine`. Each service names its own ``migration_table`` so that services may share
    one database.
    """

    async def _engine(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(url, **engine_options)
        try:
            if migrations:
                await migrate(engine, migrations, table=migration_table)
            app[ENGINE_KEY] = engine
            yield
        finally:
            await engine.dispose()

    return _engine


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
    """Run one use-case in one transaction: commit on success, roll back on any error.

    ``write=True`` takes SQLite's write lock at BEGIN, so the transaction waits for its turn instead of
    failing when it first writes after another process did. Unavailability becomes
    :class:`DatabaseUnavailable`.
    """
    with translate_unavailable():
        async with engine.connect() as conn:
            if write:
                await conn.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                yield conn


# --------------------------------------------------------------------------------------------------------------
# Driver errors


ConstraintKind = Literal["unique", "foreign_key", "not_null", "check"]

# SQLite extended result codes (sqlite3.IntegrityError.sqlite_errorcode) and PostgreSQL SQLSTATEs.
_SQLITE_CONSTRAINTS: Final[Mapping[int, ConstraintKind]] = {
    2067: "unique",  # SQLITE_CONSTRAINT_UNIQUE
    1555: "unique",  # SQLITE_CONSTRAINT_PRIMARYKEY
    787: "foreign_key",  # SQLITE_CONSTRAINT_FOREIGNKEY
    1299: "not_null",  # SQLITE_CONSTRAINT_NOTNULL
    275: "check",  # SQLITE_CONSTRAINT_CHECK
}
_PG_CONSTRAINTS: Final[Mapping[str, ConstraintKind]] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23502": "not_null",
    "23514": "check",
}
# SQLite primary result codes meaning "cannot use the database now", not "your statement is wrong":
# BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE: Final = frozenset({5, 6, 7, 10, 13, 14, 15})


def constraint_kind(exc: sa_exc.IntegrityError) -> ConstraintKind | None:
    """Say which kind of constraint ``exc`` violated, the same way on SQLite and PostgreSQL."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_CONSTRAINTS.get(code)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str):
        return _PG_CONSTRAINTS.get(sqlstate)
    return None


@contextmanager
def translate_integrity_error(exc_map: Mapping[ConstraintKind, Callable[[], Exception]]) -> Iterator[None]:
    """Turn an ``IntegrityError`` into the domain exception made by ``exc_map[kind]``.

    ``with translate_integrity_error({"unique": lambda: PrefixTaken(prefix)}): ...``. The driver error stays
    the ``__cause__``; a violation of a kind not in the map propagates unchanged.
    """
    try:
        yield
    except sa_exc.IntegrityError as exc:
        kind = constraint_kind(exc)
        factory = exc_map.get(kind) if kind is not None else None
        if factory is None:
            raise
        raise factory() from exc


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            code = getattr(exc.orig, "sqlite_errorcode", None)
            # SQLite reports "no such table" as an OperationalError too: that is a bug, not an outage.
            return code is None or (code & 0xFF) in _SQLITE_UNAVAILABLE
    return False


@contextmanager
def translate_unavailable() -> Iterator[None]:
    """Turn "cannot reach / cannot lock the database" errors into :class:`DatabaseUnavailable`."""
    try:
        yield
    except (OSError, sa_exc.SQLAlchemyError) as exc:
        if not _is_unavailable(exc):
            raise
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).splitlines() or [type(cause).__name__])[0]
        raise DatabaseUnavailable(f"database unavailable: {reason}") from exc


# --------------------------------------------------------------------------------------------------------------
# Migrations


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema change: applied once, in version order, in its own transaction."""

    version: int
    description: str
    upgrade: Callable[[AsyncConnection], Awaitable[None]]


def _history_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )


def _check_migrations(migrations: Sequence[Migration]) -> list[Migration]:
    ordered = sorted(migrations, key=lambda m: m.version)
    seen: set[int] = set()
    for m in ordered:
        if m.version < 1:
            raise MigrationError(f"migration version {m.version} must be a positive integer")
        if m.version in seen:
            raise MigrationError(f"two migrations have version {m.version}")
        seen.add(m.version)
    return ordered


def _check_history(applied: set[int], ordered: Sequence[Migration], table: str) -> None:
    known = {m.version for m in ordered}
    newest_known = max(known, default=0)
    newest_applied = max(applied, default=0)
    if newest_applied > newest_known:
        raise SchemaTooNewError(
            f"the database schema is at version {newest_applied} ({table}) but this code knows versions up to "
            f"{newest_known}; run a newer carbonid or restore a matching backup"
        )
    unknown = sorted(applied - known)
    if unknown:
        raise MigrationError(
            f"the database has migrations {unknown} that this code does not define ({table})"
        )
    skipped = sorted(v for v in known - applied if v < newest_applied)
    if skipped:
        raise MigrationError(
            f"migrations {skipped} are not applied but later version {newest_applied} is ({table}); "
            "the database and the code disagree about the schema history"
        )


def _advisory_lock_key(table: str) -> int:
    digest = hashlib.blake2b(f"carbonid.migrate:{table}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def migrate(
    engine: AsyncEngine, migrations: Sequence[Migration], *, table: str = "schema_migrations"
) -> list[int]:
    """Apply the pending ``migrations`` in version order and return the versions applied now.

    Each migration runs in its own transaction together with its row in ``table`` (version, description,
    applied_at), so a failing one leaves nothing behind and re-running is a no-op. A database migrated by
    newer code raises :class:`SchemaTooNewError`. Processes starting at once take turns: PostgreSQL through a
    transaction-scoped advisory lock, SQLite through ``BEGIN IMMEDIATE`` (its write lock).
    """
    ordered = _check_migrations(migrations)
    history = _history_table(table)
    applied_now: list[int] = []
    while True:
        with translate_unavailable():
            async with engine.connect() as conn:
                await conn.execution_options(
                    **{_SQLITE_BEGIN: "IMMEDIATE", _SQLITE_BUSY_MS: MIGRATION_LOCK_TIMEOUT_MS}
                )
                async with conn.begin():
                    if conn.dialect.name == "postgresql":
                        await conn.execute(
                            sa.select(sa.func.pg_advisory_xact_lock(_advisory_lock_key(table)))
                        )
                    # Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can collide on PostgreSQL.
                    await conn.run_sync(history.create, checkfirst=True)
                    applied = set((await conn.execute(sa.select(history.c.version))).scalars())
                    _check_history(applied, ordered, table)
                    pending = [m for m in ordered if m.version not in applied]
                    if not pending:
                        return applied_now
                    step = pending[0]
                    try:
                        await step.upgrade(conn)
                    except Exception as exc:
                        if _is_unavailable(exc):
                            raise
                        raise MigrationError(
                            f"migration {step.version} ({step.description}) failed: {exc}".splitlines()[0]
                        ) from exc
                    await conn.execute(
                        history.insert().values(
                            version=step.version,
                            description=step.description,
                            applied_at=datetime.now(UTC),
                        )
                    )
        applied_now.append(step.version)
