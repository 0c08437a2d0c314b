"""`carbonid backup SERVICE` and `carbonid restore SERVICE`: one archive per service, restored and verified.

Top-level commands taking the service as an argument, because the three services are backed up the same way
and an operator's cron line should read the same for each.

Exit codes: 0 done (a restore: done and verified); 1 refused (the archive is damaged or does not fit the
configuration, the target already holds data, the restored history does not verify); 2 could not run (bad
settings, unreadable file, missing pg_dump, database unreachable). Errors are one line on stderr.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from carbonid.backup_archive import BackupError, BackupRefused
from carbonid.backup_services import SERVICES, RestoredDataInvalid, ServiceSpec
from carbonid.cli_support import EXIT_INVALID, fail, load_service_settings
from common.database import DatabaseUnavailable, DatabaseURLError, MigrationError

SERVICE = click.argument("service", type=click.Choice(sorted(SERVICES)))
CONFIG = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The service's settings file (TOML; its table is [node], [registry] or [resolver]); CARBONID_* "
    "variables override it.",
)
FORCE = click.option("--force", is_flag=True, help="Replace what is there.")


def _settings(service: str, config: Path | None) -> tuple[ServiceSpec, Any]:
    spec = SERVICES[service]()
    return spec, load_service_settings(spec.settings_type, config, spec.section)


def _line(label: str, value: str) -> str:
    return f"{label:<15}{value}"


def _mebibytes(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MiB" if size >= 1024 * 1024 else f"{size / 1024:.1f} KiB"


@click.command("backup")
@SERVICE
@CONFIG
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The archive to write (.tar.gz), or a directory to write SERVICE[-PREFIX]-<UTC time>.tar.gz in.",
)
@FORCE
def backup_command(service: str, config: Path | None, out: Path, force: bool) -> None:
    """Write a backup of SERVICE (node, registry or resolver) while it runs: database and signing keys.

    The archive holds the service's PRIVATE KEYS: it is written with mode 0600; keep it as you keep the
    keys. SQLite is copied with its online backup API and PostgreSQL with pg_dump (the service's tables
    only), each one consistent state while the service goes on writing. The archive appears under its
    name only once complete. Refuses to overwrite an existing archive unless --force.
    """
    spec, settings = _settings(service, config)
    try:
        result = asyncio.run(_backup(spec, settings, out, force))
    except BackupRefused as exc:
        fail(str(exc), EXIT_INVALID)
    except (BackupError, DatabaseURLError, DatabaseUnavailable, OSError) as exc:
        fail(str(exc).splitlines()[0])
    manifest = result.manifest
    database = manifest["database"]
    keys = [name for name in manifest["members"] if name.startswith("keys/")]
    size = manifest["members"][database["member"]]["size"]
    subject = f" {manifest['prefix']}" if "prefix" in manifest else ""
    click.echo(
        _line("archive", f"{result.path} ({_mebibytes(result.size)}, mode 0600: it holds private keys)")
    )
    click.echo(_line("service", f"{spec.name}{subject}  {manifest['did']}"))
    click.echo(
        _line(
            "database", f"{database['kind']}, schema version {database['schema_version']}, {_mebibytes(size)}"
        )
    )
    click.echo(_line("keys", f"{len(keys)} files"))
    click.echo(_line("created", manifest["created"]))


async def _backup(spec: ServiceSpec, settings: Any, out: Path, force: bool) -> Any:
    from carbonid.backup import create_backup

    return await create_backup(spec, settings, out, force=force)


@click.command("restore")
@SERVICE
@CONFIG
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@FORCE
def restore_command(service: str, config: Path | None, archive: Path, force: bool) -> None:
    """Restore SERVICE from ARCHIVE into the configured database and data_dir, then verify it.

    Every member is checked against the archive's manifest before anything is written. A database or keys
    already there are replaced only with --force (replaced keys are kept as keys.replaced-<time>). Stop
    the service first. After restoring, a node's whole publication log is verified against its restored
    keys and every record version against its log entry; a registry's every signed prefix record; a
    resolver's every issued certificate. Exit 1 names the first one that does not verify.
    """
    spec, settings = _settings(service, config)
    try:
        result = asyncio.run(_restore(spec, settings, archive, force))
    except RestoredDataInvalid as exc:
        fail(f"restored, but it does not verify: {exc}", EXIT_INVALID)
    except BackupRefused as exc:
        fail(str(exc), EXIT_INVALID)
    except (BackupError, DatabaseURLError, DatabaseUnavailable, MigrationError, OSError) as exc:
        fail(str(exc).splitlines()[0])
    manifest = result.manifest
    subject = f" {manifest['prefix']}" if "prefix" in manifest else ""
    click.echo(_line("restored", f"{spec.name}{subject} from {archive}"))
    click.echo(
        _line("backed up", f"{manifest['created']} by carbonid {manifest.get('carbonid_version', '?')}")
    )
    database = manifest["database"]
    migrated = f", migrated to {result.migrated[-1]}" if result.migrated else ""
    click.echo(
        _line("database", f"{database['kind']}, schema version {database['schema_version']}{migrated}")
    )
    if result.replaced_keys is not None:
        click.echo(_line("old keys", f"kept in {result.replaced_keys}"))
    for label, value in result.summary:
        click.echo(_line(label, value))
    click.echo(_line("verified", "yes"))


async def _restore(spec: ServiceSpec, settings: Any, archive: Path, force: bool) -> Any:
    from carbonid.backup import restore_backup

    return await restore_backup(spec, settings, archive, force=force)
