"""`carbonid node`: initialise, serve and configure an enterprise node, apply for its prefix, publish records,
manage reviewer accounts and PACT client credentials; `carbonid node keys` (rotate, revoke) is in keys_cli.

Exit codes: 0 success; 1 the operation was refused (already initialised, invalid document, the registry
said no or could not be reached); 2 the command could not run (bad settings, unreadable file, bad option).
Errors are one line on stderr.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any, NoReturn

import click

from carbonid.cli_support import (
    EXIT_INVALID,
    client_tls,
    config_option,
    fail,
    load_service_settings,
    read_json,
    serving_tls,
)
from carbonid.keys_cli import node_keys
from certs.errors import CertsError
from common.database import DatabaseUnavailable, DatabaseURLError, MigrationError
from common.passwords import new_secret
from common.settings import render_settings_toml
from metadata_templates import TemplateValidationError, default_catalog
from node.context import load_identity, now_text
from node.handle_service import AlreadyInitialised
from node.pact_clients import InvalidClientRequest, IssuedClient, add_client, list_clients, revoke_client
from node.pact_store import ClientRow, PactStore
from node.records import HandleInUse, Publication, RecordRejected, publish_record
from node.registry_client import (
    ApplicationRefused,
    RegistryUnreachable,
    build_application,
    sign_application,
    submit_application,
)
from node.registry_client import registry_did as did_of_registry
from node.reviewers import InvalidReviewerName, ReviewerExists, add_reviewer, check_name, remove_reviewer
from node.runtime import initialise_node, open_node
from node.settings import SECTION, NodeSettings

CONFIG = config_option(SECTION, required=True)


def _database_errors(exc: Exception) -> NoReturn:
    fail(f"database: {exc}".splitlines()[0])


@click.group("node", context_settings={"help_option_names": ["-h", "--help"]})
def node() -> None:
    """The enterprise node: publishes signed carbon records under its prefix, speaks the Handle REST API."""


@node.command("init")
@CONFIG
@click.option("--rotate-secret", is_flag=True, help="Replace the admin secret of an initialised node.")
def init(config: Path, rotate_secret: bool) -> None:
    """Create the keys, the database and <prefix>/ADMIN; print the admin secret (once)."""
    settings = load_service_settings(NodeSettings, config, SECTION)
    secret = new_secret()
    try:
        ctx = asyncio.run(initialise_node(settings, secret, rotate=rotate_secret))
    except AlreadyInitialised:
        fail(
            f"node {settings.prefix} is already initialised ({settings.prefix}/ADMIN exists); "
            "use --rotate-secret to replace the admin secret",
            EXIT_INVALID,
        )
    except (DatabaseURLError, DatabaseUnavailable, MigrationError) as exc:
        _database_errors(exc)
    except (OSError, CertsError) as exc:
        fail(f"keys in {settings.data_dir / 'keys'}: {exc}")
    click.echo(f"node         {settings.prefix}{' (admin secret rotated)' if rotate_secret else ''}")
    click.echo(f"DID          {ctx.identity.did.id}")
    click.echo(f"service URL  {settings.base_url()}")
    click.echo(f"admin user   {settings.admin_user}")
    click.echo(f"admin secret {secret}")
    click.echo("The secret is shown once and stored only as a salted hash: keep it now.")


@node.command("serve")
@CONFIG
def serve(config: Path) -> None:
    """Serve the node (HTTPS when tls_certificate is set; peer certificates when tls_client_ca is)."""
    import uvloop

    from common.web import run_service
    from node.app import create_app

    settings = load_service_settings(NodeSettings, config, SECTION)
    try:
        context = serving_tls(settings)
    except (OSError, ssl.SSLError, ValueError) as exc:
        fail(f"TLS: {exc}")
    uvloop.install()
    try:
        run_service(create_app(settings), settings, ssl_context=context)
    except ValueError as exc:
        fail(str(exc))


@node.command("settings")
def settings_command() -> None:
    """Print every setting with its documentation and default, as a TOML file."""
    click.echo(render_settings_toml(NodeSettings, section=SECTION), nl=False)


@node.command("apply")
@CONFIG
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The enterprise profile (an enterprise-profile/1 document).",
)
@click.option("--registry", "registry_url", help="Registry base URL (default: registry_url of the settings).")
@click.option("--registry-did", help="Registry DID (default: registry_did, or the did:web of the URL).")
@click.option("--note", help="A note for the registry's reviewers.")
@click.option(
    "--ca",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CA certificate to verify an HTTPS registry with (default: the system's).",
)
def apply(
    config: Path,
    profile: Path,
    registry_url: str | None,
    registry_did: str | None,
    note: str | None,
    ca: Path | None,
) -> None:
    """Apply to the registry for the node's prefix with a signed prefix-application/1."""
    settings = load_service_settings(NodeSettings, config, SECTION)
    url = registry_url or settings.registry_url
    if not url:
        fail("no registry: give --registry or set registry_url")
    document = read_json(profile)
    if not isinstance(document, dict):
        fail(f"{profile} must hold a JSON object (an enterprise-profile document)")
    catalog = default_catalog()
    try:
        identity = load_identity(settings)
        application = build_application(settings, identity, catalog, document, note=note)
        domain = did_of_registry(url, registry_did or settings.registry_did)
        signed = sign_application(identity, catalog, application, domain=domain)
    except TemplateValidationError as exc:
        fail("; ".join(str(issue) for issue in exc.issues), EXIT_INVALID)
    except ValueError as exc:
        fail(str(exc))
    context = client_tls(ca)
    try:
        answer = asyncio.run(submit_application(url, signed, ssl_context=context))
    except ApplicationRefused as exc:
        fail(f"the registry refused the application ({exc.status}): {exc}", EXIT_INVALID)
    except RegistryUnreachable as exc:
        fail(f"the registry did not answer: {exc}", EXIT_INVALID)
    click.echo(json.dumps(answer.body, ensure_ascii=False, indent=2))


@node.command("publish")
@CONFIG
@click.argument("template")
@click.argument("document_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--suffix", help="The handle suffix (default: the document's handle, or generated).")
@click.option("--visibility", type=click.Choice(["public", "private"]), help="Default: public, or unchanged.")
@click.option("--reason", help="Why the record changes (required from version 2 on).")
def publish(
    config: Path,
    template: str,
    document_file: Path,
    suffix: str | None,
    visibility: str | None,
    reason: str | None,
) -> None:
    """Publish FILE as a new version of a record of TEMPLATE, directly into the node's database."""
    settings = load_service_settings(NodeSettings, config, SECTION)
    document = read_json(document_file)
    if not isinstance(document, dict):
        fail(f"{document_file} must hold a JSON object")
    publication = Publication(template, document, suffix=suffix, visibility=visibility, reason=reason)

    async def run() -> dict[str, Any]:
        async with open_node(settings) as ctx:
            published = await publish_record(ctx, publication, actor=f"{settings.admin_user} (cli)")
            return published.to_json()

    try:
        result = asyncio.run(run())
    except RecordRejected as exc:
        issues = exc.extensions.get("issues")
        lines = [f"{i['pointer'] or '/'}: {i['message']}" for i in issues] if isinstance(issues, list) else []
        fail("; ".join(lines) or str(exc), EXIT_INVALID)
    except HandleInUse as exc:
        fail(str(exc.detail), EXIT_INVALID)
    except (DatabaseURLError, DatabaseUnavailable, MigrationError) as exc:
        _database_errors(exc)
    click.echo(json.dumps(result, ensure_ascii=False))


@node.group("reviewer")
def reviewer() -> None:
    """Reviewer accounts: who approves or rejects the node's product forms (HTTP Basic reviewer:<name>)."""


@reviewer.command("add")
@CONFIG
@click.argument("name")
def reviewer_add(config: Path, name: str) -> None:
    """Create reviewer NAME and print its secret (once)."""
    settings = load_service_settings(NodeSettings, config, SECTION)
    try:
        check_name(name)
    except InvalidReviewerName as exc:
        fail(str(exc))
    secret = new_secret()

    async def run() -> None:
        async with open_node(settings) as ctx:
            await add_reviewer(ctx, name, secret)

    try:
        asyncio.run(run())
    except ReviewerExists as exc:
        fail(str(exc), EXIT_INVALID)
    except (DatabaseURLError, DatabaseUnavailable, MigrationError) as exc:
        _database_errors(exc)
    click.echo(f"reviewer user   reviewer:{name}")
    click.echo(f"reviewer secret {secret}")
    click.echo("The secret is shown once and stored only as a salted hash: hand it to the reviewer now.")


@reviewer.command("remove")
@CONFIG
@click.argument("name")
def reviewer_remove(config: Path, name: str) -> None:
    """Delete reviewer NAME (its name stays in the forms' history)."""
    settings = load_service_settings(NodeSettings, config, SECTION)

    async def run() -> bool:
        async with open_node(settings) as ctx:
            return await remove_reviewer(ctx, name)

    try:
        removed = asyncio.run(run())
    except (DatabaseURLError, DatabaseUnavailable, MigrationError) as exc:
        _database_errors(exc)
    if not removed:
        fail(f"no reviewer {name}", EXIT_INVALID)
    click.echo(f"reviewer {name} removed")


@node.group("pact-client")
def pact_client() -> None:
    """PACT client credentials: the data recipients allowed to call /auth/token and /2/footprints."""


@pact_client.command("add")
@CONFIG
@click.argument("name")
@click.option(
    "--prefix",
    help="The peer prefix the client reads as: it sees the forms granted to it (default: public forms only).",
)
def pact_client_add(config: Path, name: str, prefix: str | None) -> None:
    """Issue credentials to data recipient NAME and print them (the secret once)."""
    settings = load_service_settings(NodeSettings, config, SECTION)

    async def run() -> IssuedClient:
        async with open_node(settings) as ctx:
            return await add_client(PactStore(ctx.store.engine), settings, name, prefix=prefix, at=now_text())

    try:
        issued = asyncio.run(run())
    except InvalidClientRequest as exc:
        fail(str(exc), EXIT_INVALID)
    except (DatabaseURLError, DatabaseUnavailable, MigrationError) as exc:
        _database_errors(exc)
    click.echo(f"client name   {issued.name}")
    click.echo(f"client_id     {issued.client_id}")
    click.echo(f"client_secret {issued.client_secret}")
    click.echo(f"reads as      {issued.prefix or '(no prefix: public forms only)'}")
    click.echo(f"token URL     {settings.base_url()}/auth/token")
    click.echo("The secret is shown once and stored only as a salted hash: hand it to the client now.")


@pact_client.command("list")
@CONFIG
def pact_client_list(config: Path) -> None:
    """List the PACT clients (never their secrets)."""
    settings = load_service_settings(NodeSettings, config, SECTION)

    async def run() -> list[ClientRow]:
        async with open_node(settings) as ctx:
            return await list_clients(PactStore(ctx.store.engine))

    try:
        clients = asyncio.run(run())
    except (DatabaseURLError, DatabaseUnavailable, MigrationError) as exc:
        _database_errors(exc)
    for client in clients:
        state = f"revoked {client.revoked_at}" if client.revoked_at else "active"
        click.echo(f"{client.client_id}\t{client.name}\t{client.prefix or '-'}\t{state}")


@pact_client.command("revoke")
@CONFIG
@click.argument("client_id")
def pact_client_revoke(config: Path, client_id: str) -> None:
    """Revoke CLIENT_ID: its tokens stop working at once."""
    settings = load_service_settings(NodeSettings, config, SECTION)

    async def run() -> None:
        async with open_node(settings) as ctx:
            await revoke_client(PactStore(ctx.store.engine), client_id, at=now_text())

    try:
        asyncio.run(run())
    except InvalidClientRequest as exc:
        fail(str(exc), EXIT_INVALID)
    except (DatabaseURLError, DatabaseUnavailable, MigrationError) as exc:
        _database_errors(exc)
    click.echo(f"PACT client {client_id} revoked")


node.add_command(node_keys)
