"""Backing up a node, registry or resolver into one archive, and restoring it with its history verified.

A backup is what it takes to bring the service back on another machine: its database (every record
version, the publication log, the registry's prefix records and events — history the services append and
never rewrite) and its signing keys. Taking one never stops the service: SQLite is copied through its online
backup API, PostgreSQL through pg_dump, both one consistent state while writes go on.

A restore checks the archive completely before it writes anything, refuses to replace a database or keys
that are already there unless forced, puts database and keys back, brings the schema up to this code's
version (as the service would when it starts) and then verifies the restored history against the restored
keys (`carbonid.backup_services`). The archive format is `carbonid.backup_archive`; the database copies are
`carbonid.backup_databases`.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from carbonid.backup_archive import (
    FORMAT,
    BackupError,
    BackupRefused,
    Member,
    copy_tree,
    read_archive,
    write_archive,
)
from carbonid.backup_databases import (
    POSTGRESQL,
    SQLITE,
    current_schema,
    database_kind,
    dump_postgres,
    existing_tables,
    restore_postgres,
    restore_sqlite,
    schema_version,
    service_tables,
    snapshot_sqlite,
    sqlite_holds_data,
    sqlite_path,
    sqlite_schema_version,
)
from carbonid.backup_services import ServiceSpec, Summary
from certs.data_integrity import format_datetime
from certs.did import did_web_for_url
from common.database import DatabaseUnavailable, MigrationError, create_engine, migrate

KEY_LOCK: Final = ".lock"
"""The lock file of a key directory (`certs.key_directory.LOCK_FILE`): taken, never archived."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A written archive: where, its manifest and its size in bytes."""

    path: Path
    manifest: dict[str, Any]
    size: int


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A verified restore: the archive's manifest, what verification found, keys set aside, migrations run."""

    manifest: dict[str, Any]
    summary: Summary
    replaced_keys: Path | None
    migrated: list[int]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def archive_path(out: Path, spec: ServiceSpec, settings: Any, moment: datetime) -> Path:
    """`out` itself, or in a directory `out` a name made of the service, its prefix and the time."""
    if not out.is_dir():
        return out
    label = spec.label(settings)
    return out / f"{spec.name}{'-' + label if label else ''}-{_stamp(moment)}.tar.gz"


def _known_version(spec: ServiceSpec) -> int:
    return max((m.version for m in spec.migrations), default=0)


def _key_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != KEY_LOCK)


def _copy_keys(keys_dir: Path, target: Path) -> None:
    """Copy the key directory while no rotation changes it.

    A rotation (`certs.key_directory`) holds an exclusive `flock` on `keys/.lock` while it renames files;
    the copy holds a shared one, so it sees the keys before or after a switch, never halfway.
    """
    with open(keys_dir / KEY_LOCK, "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_SH)
        try:
            copy_tree(keys_dir, target)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    (target / KEY_LOCK).unlink(missing_ok=True)


async def create_backup(spec: ServiceSpec, settings: Any, out: Path, *, force: bool = False) -> BackupResult:
    """Write a backup archive of the service configured by `settings` to `out` (a file, or a directory)."""
    moment = datetime.now(UTC).replace(microsecond=0)
    url = spec.database_url(settings)
    kind = database_kind(url)
    keys_dir = settings.data_dir / "keys"
    for algorithm in spec.key_algorithms(settings):
        if not (keys_dir / f"{algorithm}.key").is_file():
            raise BackupError(f"no {algorithm} key in {keys_dir}: is this the service's data_dir?")
    target = archive_path(out, spec, settings, moment)
    if not target.parent.is_dir():
        raise BackupError(f"cannot write {target}: {target.parent} is not a directory")
    if target.exists() and not force:
        raise BackupRefused(f"{target} exists; refusing to overwrite it (use --force)")
    with tempfile.TemporaryDirectory(prefix="carbonid-backup-") as temporary:
        staging = Path(temporary)
        database: dict[str, Any] = {"kind": kind, "migration_table": spec.migration_table}
        if kind == SQLITE:
            member = f"database/{spec.name}.db"
            copy = staging / member
            copy.parent.mkdir()
            await asyncio.to_thread(snapshot_sqlite, sqlite_path(url), copy)
            version = await asyncio.to_thread(sqlite_schema_version, copy, spec.migration_table)
        else:
            member = f"database/{spec.name}.pgdump"
            (staging / "database").mkdir()
            version, schema, tables = await _dump_postgres(spec, url, staging / member)
            database.update({"schema": schema, "tables": tables, "format": "pg_dump custom"})
        if version == 0:
            raise BackupError(f"the database at {_shown(url)} holds no {spec.name} schema")
        if version > _known_version(spec):
            raise BackupError(
                f"the database is at schema version {version}, newer than this carbonid knows "
                f"({_known_version(spec)}); back it up with the carbonid that runs the service"
            )
        database.update({"member": member, "schema_version": version})
        # Keys after the database: a rotation in between leaves the former key in the archived history, so
        # everything in the copied database still verifies; the other order could miss the newest key.
        await asyncio.to_thread(_copy_keys, keys_dir, staging / "keys")
        members = [Member(member, staging / member)]
        members += [Member(p.relative_to(staging).as_posix(), p) for p in _key_files(staging / "keys")]
        manifest = {
            "format": FORMAT,
            "service": spec.name,
            "did": did_web_for_url(settings.base_url()),
            **({"prefix": spec.label(settings)} if spec.label(settings) else {}),
            "carbonid_version": _version(),
            "created": format_datetime(moment),
            "database": database,
        }
        try:
            complete = await asyncio.to_thread(write_archive, target, manifest, members)
        except ValueError as exc:
            raise BackupError(str(exc)) from None
    return BackupResult(target, complete, target.stat().st_size)


async def _dump_postgres(spec: ServiceSpec, url: str, target: Path) -> tuple[int, str, list[str]]:
    wanted = await service_tables(spec.migrations, spec.migration_table)
    engine = create_engine(url)
    try:
        schema = await current_schema(engine, url)
        tables = await existing_tables(engine, schema, wanted)
        version = await schema_version(engine, spec.migration_table) if spec.migration_table in tables else 0
    finally:
        await engine.dispose()
    if version:
        await dump_postgres(url, schema, tables, target)
    return version, schema, tables


def _version() -> str:
    try:
        return metadata.version("carbonid")
    except metadata.PackageNotFoundError:
        return "unknown"


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------------------------------------------
# Restore


async def restore_backup(
    spec: ServiceSpec, settings: Any, archive: Path, *, force: bool = False
) -> RestoreResult:
    """Restore `archive` into the database and data directory `settings` name, then verify it.

    Raises `ArchiveInvalid` before writing anything when the archive is damaged, `BackupRefused` when it
    does not fit the configuration or the target holds data (without `force`), and
    `carbonid.backup_services.RestoredDataInvalid` when the restored history does not verify.
    """
    url = spec.database_url(settings)
    kind = database_kind(url)
    keys_dir: Path = settings.data_dir / "keys"
    with tempfile.TemporaryDirectory(prefix="carbonid-restore-") as temporary:
        staging = Path(temporary)
        manifest = await asyncio.to_thread(read_archive, archive, staging)
        database = _check_manifest(manifest, spec, settings, kind, archive)
        staged_database = staging / str(database["member"])
        engine = create_engine(url) if kind == POSTGRESQL else None
        schema = ""
        try:
            occupied: list[str] = []
            if engine is None:
                if sqlite_holds_data(sqlite_path(url)):
                    occupied.append(str(sqlite_path(url)))
            else:
                schema = await _postgres_target(spec, engine, url, database, occupied)
            if _key_files(keys_dir):
                occupied.append(str(keys_dir))
            if occupied and not force:
                raise BackupRefused(
                    f"refusing to overwrite {' and '.join(occupied)}: they hold data (use --force to replace it)"
                )
            if engine is None:
                await asyncio.to_thread(restore_sqlite, staged_database, sqlite_path(url))
            else:
                await restore_postgres(url, engine, schema, staged_database)
        finally:
            if engine is not None:
                await engine.dispose()
        replaced = await asyncio.to_thread(_restore_keys, staging / "keys", keys_dir)
    engine = create_engine(url)
    try:
        try:
            migrated = await migrate(engine, spec.migrations, table=spec.migration_table)
        except (MigrationError, DatabaseUnavailable) as exc:
            raise BackupError(f"the restored database cannot be opened: {exc}".splitlines()[0]) from None
        identity = await asyncio.to_thread(spec.identity, settings)
        summary = await spec.verify(engine, identity)
    finally:
        await engine.dispose()
    return RestoreResult(manifest, [("DID", identity.did.id), *summary], replaced, migrated)


def _check_manifest(
    manifest: dict[str, Any], spec: ServiceSpec, settings: Any, kind: str, archive: Path
) -> dict[str, Any]:
    """The manifest's database description, once the archive is known to fit this configuration."""
    if manifest.get("service") != spec.name:
        raise BackupRefused(f"{archive} is a backup of a {manifest.get('service')}, not of a {spec.name}")
    database = manifest.get("database")
    members = manifest["members"]
    if not isinstance(database, dict) or database.get("member") not in members:
        raise BackupRefused(f"{archive}: the manifest names no database member")
    expected = did_web_for_url(settings.base_url())
    if manifest.get("did") != expected:
        raise BackupRefused(
            f"{archive} is the backup of {manifest.get('did')}, but this configuration is {expected}: "
            "set public_url as the backed-up service had it"
        )
    label = spec.label(settings)
    if label is not None and str(manifest.get("prefix", "")).upper() != label.upper():
        raise BackupRefused(f"{archive} is the backup of prefix {manifest.get('prefix')}, not of {label}")
    if database.get("kind") != kind:
        raise BackupRefused(
            f"{archive} holds a {database.get('kind')} database and this configuration uses {kind}; "
            "restore into the same kind of database"
        )
    version = database.get("schema_version")
    if not isinstance(version, int) or version > _known_version(spec):
        raise BackupRefused(
            f"{archive} was made at schema version {version}, which this carbonid does not know: "
            "restore it with the carbonid that made it"
        )
    for algorithm in spec.key_algorithms(settings):
        if f"keys/{algorithm}.key" not in members:
            raise BackupRefused(f"{archive} holds no {algorithm} key, which this configuration signs with")
    return database


async def _postgres_target(
    spec: ServiceSpec, engine: Any, url: str, database: dict[str, Any], occupied: list[str]
) -> str:
    """The target schema (the archive's, or refused), noting in `occupied` whether the service is there."""
    schema = await current_schema(engine, url)
    if schema != database.get("schema"):
        raise BackupRefused(
            f"the archive's tables are in schema {database.get('schema')!r} but this database URL uses "
            f"{schema!r}: restore with ?search_path={database.get('schema')}"
        )
    known = await service_tables(spec.migrations, spec.migration_table)
    archived = [str(name) for name in database.get("tables", [])]
    present = await existing_tables(engine, schema, sorted({*known, *archived}))
    if present:
        occupied.append(f"the {spec.name} tables in schema {schema}")
    return schema


def _restore_keys(staged: Path, keys_dir: Path) -> Path | None:
    """Put the staged keys in place; keys already there are moved aside (returned), never deleted."""
    keys_dir.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(dir=keys_dir.parent, prefix=".keys.restoring-"))
    try:
        incoming.rmdir()
        copy_tree(staged, incoming)
        os.chmod(incoming, 0o700)
        replaced = None
        if keys_dir.exists():
            if _key_files(keys_dir):
                replaced = keys_dir.with_name(f"keys.replaced-{_stamp(datetime.now(UTC))}")
                os.replace(keys_dir, replaced)
            else:
                shutil.rmtree(keys_dir)
        os.replace(incoming, keys_dir)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return replaced
