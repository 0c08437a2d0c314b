"""`carbonid registry`: run a registry, print its settings and trust anchor, manage its administrators.

Exit codes: 0 success; 1 a refused operation (the administrator exists); 2 bad configuration or usage.
Errors are one line on stderr.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from carbonid.cli_support import (
    EXIT_INVALID,
    config_option,
    fail,
    load_service_settings,
    serving_tls,
)
from certs.errors import CertsError
from common.database import DatabaseUnavailable, DatabaseURLError, MigrationError, create_engine, migrate
from common.settings import render_settings_toml
from handle_registry.service.administration import InvalidAdminName, create_admin
from handle_registry.service.app import create_app, database_url, load_identity
from handle_registry.service.errors import AdminExists
from handle_registry.service.repository import RegistryStore
from handle_registry.service.schema import MIGRATION_TABLE, MIGRATIONS
from handle_registry.service.settings import SECTION, RegistrySettings

CONFIG_OPTION = config_option(SECTION, required=False)


@click.group("registry", context_settings={"help_option_names": ["-h", "--help"]})
def registry() -> None:
    """The registry: prefix applications, signed prefix records, delegation to secondary registries."""


@registry.command("serve")
@CONFIG_OPTION
def serve(config: Path | None) -> None:
    """Run the registry until interrupted."""
    import uvloop

    from common.web import run_service

    settings = load_service_settings(RegistrySettings, config, SECTION)
    ssl_context = serving_tls(settings)
    uvloop.install()
    try:
        run_service(create_app(settings), settings, ssl_context=ssl_context)
    except (ValueError, DatabaseURLError, MigrationError, CertsError) as exc:
        fail(str(exc).splitlines()[0])


@registry.command("settings")
def show_settings() -> None:
    """Print every setting with its documentation and default, as a TOML file to start from."""
    click.echo(render_settings_toml(RegistrySettings, section=SECTION), nl=False)


@registry.command("anchor")
@CONFIG_OPTION
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write it to this file."
)
def anchor(config: Path | None, out: Path | None) -> None:
    """Print (or write) the registry's DID document: the trust anchor resolvers pin."""
    settings = load_service_settings(RegistrySettings, config, SECTION)
    try:
        identity = load_identity(settings)
    except (OSError, CertsError, ValueError) as exc:
        fail(f"cannot load the registry's keys from {settings.data_dir / 'keys'}: {exc}")
    text = json.dumps(identity.did.to_json(), ensure_ascii=False, indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, "utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")


@registry.group("admin")
def admin() -> None:
    """Administrator accounts (HTTP Basic name:secret)."""


async def _add_admin(settings: RegistrySettings, name: str) -> str:
    engine = create_engine(database_url(settings))
    try:
        await migrate(engine, MIGRATIONS, table=MIGRATION_TABLE)
        return await create_admin(RegistryStore(engine), name, at=datetime.now(UTC))
    finally:
        await engine.dispose()


@admin.command("add")
@click.argument("name")
@CONFIG_OPTION
def admin_add(name: str, config: Path | None) -> None:
    """Create administrator NAME and print its secret (shown this once; only a hash is kept)."""
    settings = load_service_settings(RegistrySettings, config, SECTION)
    try:
        secret = asyncio.run(_add_admin(settings, name))
    except InvalidAdminName as exc:
        fail(str(exc))
    except AdminExists:
        fail(f"administrator {name!r} already exists", EXIT_INVALID)
    except (DatabaseURLError, MigrationError, DatabaseUnavailable) as exc:
        fail(str(exc).splitlines()[0])
    click.echo(f"administrator {name} created; its secret follows and is not shown again", err=True)
    click.echo(secret)
