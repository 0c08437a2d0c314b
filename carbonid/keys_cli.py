"""`carbonid node keys …` and `carbonid resolver keys …`: list, rotate and revoke a service's signing keys.

A node's keys are listed in its registry's record of its prefix, which is what verifiers trust, so a node's
rotation and revocation are key changes the registry accepts first (`node.key_rotation`); the node's key
directory follows. A resolver's certificate keys are listed only in its own DID document, so it rotates them
by itself. Former keys keep their public part only, with the times they were retired or revoked, so what
they signed before keeps verifying.

A running node or resolver follows without a restart: it notices the key files changed on its next
signature or DID document and reads them again.

Exit codes: 0 done; 1 refused (by the registry; or here: an unknown key, revoking the key the node signs
with without `--rotate`; or a rotation whose old key the registry has not retired yet: run it again);
2 could not run (bad settings or option, no registry URL, unreadable key files, the registry did not
answer). Errors are one line on stderr.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TypeVar

import click

from carbonid.cli_support import EXIT_INVALID, client_tls, config_option, fail, load_service_settings
from certs.data_integrity import format_datetime
from certs.errors import CertsError
from certs.identity import IdentityState, ServiceIdentity
from metadata_templates import TemplateValidationError, default_catalog
from node import settings as node_settings
from node.context import load_identity as load_node_identity
from node.key_rotation import (
    KeyChangeNotAllowed,
    KeyChangeOutcome,
    RegistryLink,
    RotationIncomplete,
    revoke_key,
    rotate_keys,
)
from node.registry_client import RegistryRefused, RegistryUnreachable, registry_did
from node.settings import NodeSettings
from resolver import settings as resolver_settings
from resolver.context import load_identity as load_resolver_identity
from resolver.settings import ResolverSettings

S = TypeVar("S", NodeSettings, ResolverSettings)

Decorator = Callable[[Callable[..., None]], Callable[..., None]]
NODE_CONFIG: Decorator = config_option(node_settings.SECTION, required=True)
RESOLVER_CONFIG: Decorator = config_option(resolver_settings.SECTION, required=False)
REGISTRY = click.option("--registry", "registry_url", help="Registry base URL (default: registry_url).")
REGISTRY_DID = click.option(
    "--registry-did", help="Registry DID (default: registry_did, or the URL's did:web)."
)
CA = click.option(
    "--ca",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CA certificate to verify an HTTPS registry with (default: the system's).",
)


def _when(moment: datetime | None) -> str:
    return format_datetime(moment) if moment is not None else "-"


def print_keys(identity: ServiceIdentity, state: IdentityState) -> None:
    """One line per key: state, algorithm, verification method id, and the times that bound it."""
    for key in state.keys:
        click.echo(f"current     {key.algorithm.value:8} {identity.method_id(key)}")
    for successor in state.prepared:
        click.echo(
            f"prepared    {successor.algorithm.value:8} {identity.method_id(successor)}  "
            "(a rotation did not finish: run `keys rotate` again)"
        )
    for former in state.former:
        times = f"superseded {_when(former.superseded_at)}"
        if former.retired_at is not None:
            times += f", retired {_when(former.retired_at)}"
        if former.revoked_at is not None:
            times += f", revoked {_when(former.revoked_at)}"
        if former.reason:
            times += f"; {former.reason}"
        method = f"{state.did.id}#{former.public_key.multibase}"
        click.echo(f"{former.state:11} {former.public_key.algorithm.value:8} {method}  {times}")


def _identity(load: Callable[[S], ServiceIdentity], settings: S) -> ServiceIdentity:
    """A service's identity as `load` reads it; a one-line error naming the key directory when it cannot."""
    try:
        return load(settings)
    except (OSError, CertsError) as exc:
        fail(f"keys in {settings.data_dir / 'keys'}: {exc}")


def _link(settings: NodeSettings, url: str | None, did: str | None, ca: Path | None) -> RegistryLink:
    registry_url = url or settings.registry_url
    if not registry_url:
        fail("no registry: give --registry or set registry_url")
    try:
        domain = registry_did(registry_url, did or settings.registry_did)
    except ValueError as exc:
        fail(str(exc))
    return RegistryLink(registry_url, domain, client_tls(ca))


def _registry_failed(exc: Exception) -> NoReturn:
    if isinstance(exc, RegistryUnreachable):
        fail(f"the registry did not answer: {exc}; the node's keys are unchanged")
    if isinstance(exc, RegistryRefused):
        fail(
            f"the registry refused the key change ({exc.status}): {exc}; the node's keys are unchanged",
            EXIT_INVALID,
        )
    if isinstance(exc, (KeyChangeNotAllowed, RotationIncomplete)):
        fail(str(exc), EXIT_INVALID)
    if isinstance(exc, TemplateValidationError):
        fail("; ".join(str(issue) for issue in exc.issues))
    fail(f"keys: {exc}")


def _report(outcome: KeyChangeOutcome) -> None:
    if outcome.finished_interrupted:
        click.echo("finished a key change an earlier attempt had started")
    for label, ids in (("added", outcome.added), ("retired", outcome.retired), ("revoked", outcome.revoked)):
        for method_id in ids:
            click.echo(f"{label:8} {method_id}")
    click.echo(f"registry record version {outcome.record_version}")


@click.group("keys")
def node_keys() -> None:
    """The node's signing keys: list, rotate, revoke (each change accepted by the registry first)."""


@node_keys.command("list")
@NODE_CONFIG
def node_keys_list(config: Path) -> None:
    """List the node's keys: current, prepared, and former ones with when they were retired or revoked."""
    settings = load_service_settings(NodeSettings, config, node_settings.SECTION)
    identity = _identity(load_node_identity, settings)
    print_keys(identity, identity.state)


@node_keys.command("rotate")
@NODE_CONFIG
@click.option("--reason", default="key rotation", show_default=True, help="Why (kept by the registry).")
@REGISTRY
@REGISTRY_DID
@CA
def node_keys_rotate(
    config: Path, reason: str, registry_url: str | None, registry_did: str | None, ca: Path | None
) -> None:
    """Replace the node's keys: the registry adds the new ones, the node switches, the registry retires the
    old ones (what they signed before stays valid)."""
    settings = load_service_settings(NodeSettings, config, node_settings.SECTION)
    link = _link(settings, registry_url, registry_did, ca)
    identity = _identity(load_node_identity, settings)
    try:
        outcome = asyncio.run(rotate_keys(identity, default_catalog(), settings, link, reason=reason))
    except (RegistryRefused, RegistryUnreachable, RotationIncomplete, TemplateValidationError) as exc:
        _registry_failed(exc)
    except (OSError, CertsError) as exc:
        fail(f"keys in {settings.data_dir / 'keys'}: {exc}")
    _report(outcome)


@node_keys.command("revoke")
@click.argument("key_id")
@NODE_CONFIG
@click.option("--reason", required=True, help="Why (for example: the key leaked).")
@click.option(
    "--rotate", is_flag=True, help="Revoking the key the node signs with: add a new one in the same change."
)
@REGISTRY
@REGISTRY_DID
@CA
def node_keys_revoke(
    key_id: str,
    config: Path,
    reason: str,
    rotate: bool,
    registry_url: str | None,
    registry_did: str | None,
    ca: Path | None,
) -> None:
    """Revoke KEY_ID (a verification method id, or just its z… multibase): proofs dated from now on are
    refused everywhere; earlier ones still verify."""
    settings = load_service_settings(NodeSettings, config, node_settings.SECTION)
    link = _link(settings, registry_url, registry_did, ca)
    identity = _identity(load_node_identity, settings)
    if "#" not in key_id:
        key_id = f"{identity.did.id}#{key_id}"
    try:
        outcome = asyncio.run(
            revoke_key(identity, default_catalog(), settings, link, key_id, reason=reason, rotate=rotate)
        )
    except (RegistryRefused, RegistryUnreachable, KeyChangeNotAllowed, TemplateValidationError) as exc:
        _registry_failed(exc)
    except (OSError, CertsError) as exc:
        fail(f"keys in {settings.data_dir / 'keys'}: {exc}")
    _report(outcome)


@click.group("keys")
def resolver_keys() -> None:
    """The resolver's certificate-signing keys: list, rotate."""


@resolver_keys.command("list")
@RESOLVER_CONFIG
def resolver_keys_list(config: Path | None) -> None:
    """List the resolver's keys: current and former ones with when they were retired."""
    settings = load_service_settings(ResolverSettings, config, resolver_settings.SECTION)
    identity = _identity(load_resolver_identity, settings)
    print_keys(identity, identity.state)


@resolver_keys.command("rotate")
@RESOLVER_CONFIG
@click.option("--reason", default="key rotation", show_default=True, help="Why (kept in keys/history.json).")
def resolver_keys_rotate(config: Path | None, reason: str) -> None:
    """Replace the resolver's keys; the old ones stay in its DID document, retired, so certificates issued
    before keep verifying."""
    settings = load_service_settings(ResolverSettings, config, resolver_settings.SECTION)
    identity = _identity(load_resolver_identity, settings)
    before = identity.state
    try:
        after = identity.rotate(reason=reason)
    except (OSError, CertsError) as exc:
        fail(f"keys in {settings.data_dir / 'keys'}: {exc}")
    retired = {former.public_key: former for former in after.former}
    for key in before.keys:
        former = retired.get(key.public_key)
        click.echo(f"retired  {identity.method_id(key)}  at {_when(former.retired_at if former else None)}")
    for key in after.keys:
        click.echo(f"current  {identity.method_id(key)}")
