"""`carbonid resolver` (serve and configure the resolver) and `carbonid resolve HANDLE` (ask one).

`carbonid resolve` exit codes: 0 the answer is verified; 1 it failed verification, is unsigned, or the
handle does not exist (one line on stderr says which); 2 the resolver cannot be reached, has no answer
now (a registry or node it needs does not answer), or the usage is wrong.
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import click

from carbonid.cli_support import (
    EXIT_INVALID,
    EXIT_USAGE,
    client_tls,
    config_option,
    fail,
    load_service_settings,
    serving_tls,
)
from carbonid.keys_cli import resolver_keys
from common.settings import render_settings_toml
from resolver.settings import SECTION, ResolverSettings

if TYPE_CHECKING:
    from aiohttp import web

    from resolver.index_sync import SyncReport

DEFAULT_RESOLVER_URL: Final = "http://127.0.0.1:18000"
RESOLVER_URL_VARIABLE: Final = "CARBONID_RESOLVER_URL"
TIMEOUT_SECONDS: Final = 30
VALUE_WIDTH: Final = 72

CONFIG: Callable[[Callable[..., None]], Callable[..., None]] = config_option(SECTION, required=False)


@click.group("resolver", context_settings={"help_option_names": ["-h", "--help"]})
def resolver() -> None:
    """The resolver: turns any handle into an answer verified back to the pinned trust anchor."""


@resolver.command("serve")
@CONFIG
def serve(config: Path | None) -> None:
    """Run the resolver until interrupted (HTTPS when tls_certificate is set)."""
    import uvloop

    from common.database import DatabaseURLError, MigrationError
    from common.web import run_service
    from resolver.app import create_app

    settings = load_service_settings(ResolverSettings, config, SECTION)
    ssl_context = serving_tls(settings)
    try:
        app = create_app(settings)
    except ValueError as exc:
        fail(str(exc).splitlines()[0])
    except (OSError, ssl.SSLError) as exc:
        fail(f"cannot start the resolver: {exc}")
    uvloop.install()
    try:
        run_service(app, settings, ssl_context=ssl_context)
    except (ValueError, DatabaseURLError, MigrationError, OSError, ssl.SSLError) as exc:
        fail(str(exc).splitlines()[0])


@resolver.group("operator")
def operator() -> None:
    """Operator accounts: who may ask for evaluations and revoke certificates (HTTP Basic name:secret)."""


async def _on_store(settings: ResolverSettings, use: Callable[[Any], Awaitable[str]]) -> str:
    """Run `use(store)` on the resolver's (migrated) database, outside the running service."""
    from common.database import create_engine, migrate
    from resolver.context import database_url
    from resolver.repository import ResolverStore
    from resolver.schema import MIGRATION_TABLE, MIGRATIONS

    engine = create_engine(database_url(settings))
    try:
        await migrate(engine, MIGRATIONS, table=MIGRATION_TABLE)
        return await use(ResolverStore(engine))
    finally:
        await engine.dispose()


@operator.command("add")
@click.argument("name")
@CONFIG
def operator_add(name: str, config: Path | None) -> None:
    """Create operator NAME and print its secret (shown this once; only a hash is kept)."""
    import asyncio
    from datetime import UTC, datetime

    from common.database import DatabaseUnavailable, DatabaseURLError, MigrationError
    from resolver.certificates import InvalidOperatorName, add_operator
    from resolver.repository import OperatorTaken

    settings = load_service_settings(ResolverSettings, config, SECTION)
    try:
        secret = asyncio.run(
            _on_store(settings, lambda store: add_operator(store, name, at=datetime.now(UTC)))
        )
    except InvalidOperatorName as exc:
        fail(str(exc))
    except OperatorTaken:
        fail(f"operator {name!r} already exists", EXIT_INVALID)
    except (DatabaseURLError, MigrationError, DatabaseUnavailable) as exc:
        fail(str(exc).splitlines()[0])
    click.echo(f"operator {name} created; its secret follows and is not shown again", err=True)
    click.echo(secret)


@resolver.group("regulator")
def regulator() -> None:
    """Regulator accounts: government users who see a region and below in full (HTTP Basic name:secret)."""


@regulator.command("add")
@click.argument("name")
@click.option(
    "--region",
    required=True,
    help="The region overseen: 000000 (national) or a GB/T 2260 code (330000, 330500).",
)
@CONFIG
def regulator_add(name: str, region: str, config: Path | None) -> None:
    """Create regulator NAME overseeing --region and print its secret (shown this once)."""
    import asyncio
    from datetime import UTC, datetime

    from common.database import DatabaseUnavailable, DatabaseURLError, MigrationError
    from resolver.regulators import InvalidRegulator, add_regulator
    from resolver.repository import RegulatorTaken

    settings = load_service_settings(ResolverSettings, config, SECTION)
    try:
        secret = asyncio.run(
            _on_store(settings, lambda store: add_regulator(store, name, region, at=datetime.now(UTC)))
        )
    except InvalidRegulator as exc:
        fail(str(exc))
    except RegulatorTaken:
        fail(f"regulator {name!r} already exists", EXIT_INVALID)
    except (DatabaseURLError, MigrationError, DatabaseUnavailable) as exc:
        fail(str(exc).splitlines()[0])
    click.echo(
        f"regulator {name} created for region {region}; its secret follows and is not shown again", err=True
    )
    click.echo(secret)


@resolver.command("sync")
@CONFIG
@click.option(
    "--registry",
    "registry_url",
    help="The registry the crawl starts from (default: root_registry_url); delegations are followed.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Records read and indexed at a time.",
)
def sync(config: Path | None, registry_url: str | None, concurrency: int) -> None:
    """Index every verified activity-data record of every approved prefix (catch the regional index up).

    Crawls the registries' approved prefixes, lists each enterprise's activity-data records at its node (as
    the resolver's prefix, so records granted to it are found) and indexes each after verifying it. Exit 0
    everything found is indexed; 1 some records, registries or nodes were refused (listed with why); 2 the
    sync cannot run.
    """
    import asyncio

    from common.database import DatabaseUnavailable, DatabaseURLError, MigrationError
    from resolver.app import create_app
    from resolver.index_sync import RootRegistryUnreachable

    settings = load_service_settings(ResolverSettings, config, SECTION)
    if registry_url is not None and not registry_url.startswith(("http://", "https://")):
        fail(f"--registry must be an http(s) URL, got {registry_url!r}")
    try:
        app = create_app(settings, regional_index=False)
    except ValueError as exc:
        fail(str(exc).splitlines()[0])
    except (OSError, ssl.SSLError) as exc:
        fail(f"cannot start the resolver: {exc}")
    try:
        report = asyncio.run(_sync(app, registry_url, concurrency))
    except RootRegistryUnreachable as exc:
        fail(f"cannot list the prefixes: {exc}")
    except (DatabaseURLError, MigrationError, DatabaseUnavailable, OSError) as exc:
        fail(str(exc).splitlines()[0])
    _print_sync_report(report)
    if not report.complete:
        sys.exit(EXIT_INVALID)


async def _sync(app: web.Application, registry_url: str | None, concurrency: int) -> SyncReport:
    """Run the resolver's cleanup contexts without serving, crawl, index, and stop."""
    from aiohttp import web

    from resolver.index_sync import index_handles, plan_sync
    from resolver.keys import CERTIFICATES_KEY, RESOLVER_KEY

    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        ctx = app[RESOLVER_KEY]
        start = registry_url or ctx.settings.root_registry_url
        click.echo(f"listing the approved prefixes from {start} and their activity data", err=True)
        plan = await plan_sync(ctx, registry_url)
        with click.progressbar(
            length=len(plan.handles),
            label=f"indexing {len(plan.handles)} records",
            file=sys.stderr,
        ) as bar:
            return await index_handles(
                ctx,
                app[CERTIFICATES_KEY].store,
                plan,
                concurrency=concurrency,
                progress=lambda _: bar.update(1),
            )
    finally:
        await runner.cleanup()


def _print_sync_report(report: SyncReport) -> None:
    plan, counts = report.plan, report.counts
    click.echo(
        f"{len(plan.registries)} registries, {len(plan.prefixes)} enterprise prefixes, "
        f"{len(plan.handles)} activity-data records"
    )
    click.echo(
        f"indexed {report.indexed}: {counts['inserted']} new, {counts['replaced']} replaced, "
        f"{counts['unchanged']} unchanged; {counts['older']} older than the version indexed"
    )
    if report.refused:
        click.echo(f"refused {len(report.refused)}:")
        for outcome in report.refused:
            click.echo(f"  {outcome.handle}  {outcome.status}: {outcome.reason}")
    if plan.problems:
        click.echo(f"not listed {len(plan.problems)}:")
        for problem in plan.problems:
            click.echo(f"  {problem}")


@resolver.command("settings")
def show_settings() -> None:
    """Print every setting with its documentation and default, as a TOML file to start from."""
    click.echo(render_settings_toml(ResolverSettings, section=SECTION), nl=False)


# --- carbonid resolve ------------------------------------------------------------------------------


def fetch_json(
    url: str,
    context: ssl.SSLContext | None,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """GET `url` (POST `body` as JSON when given); the status and the JSON body (None when not JSON)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    all_headers = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=all_headers)  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=context) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def _shorten(text: str, width: int = VALUE_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _value_text(value: dict[str, Any]) -> str:
    data = value.get("data", {})
    content = data.get("value") if isinstance(data, dict) else data
    return _shorten(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))


def _print_answer(body: dict[str, Any]) -> None:
    verification = body.get("verification", {})
    click.echo(f"{body.get('handle')}  {verification.get('status', '?')}")
    if verification.get("reason"):
        click.echo(f"  reason         {verification['reason']}")
    if verification.get("verificationMethod"):
        suites = ", ".join(verification.get("cryptosuites", []))
        click.echo(
            f"  key            {verification['verificationMethod']}" + (f" ({suites})" if suites else "")
        )
    if verification.get("version") is not None:
        click.echo(f"  version        {verification['version']}")
    record = verification.get("prefixRecord")
    if record:
        click.echo(
            f"  prefix record  {record['handle']} version {record['version']}, issued {record['issued']} "
            f"by {record['registry']}"
        )
    if verification.get("registries"):
        click.echo(f"  registries     {' → '.join(verification['registries'])}")
    flags = [name for name in ("cached", "stale") if verification.get(name)]
    click.echo(
        f"  checked        {verification.get('checkedAt', '?')}" + (f" ({', '.join(flags)})" if flags else "")
    )
    values = body.get("values", [])
    click.echo(f"values ({len(values)})")
    for value in values:
        click.echo(f"  {value.get('index', ''):>6}  {value.get('type', ''):<28} {_value_text(value)}")


RESOLVER_OPTION: Final = click.option(
    "--resolver",
    "resolver_url",
    envvar=RESOLVER_URL_VARIABLE,
    default=DEFAULT_RESOLVER_URL,
    show_default=True,
    help=f"The resolver's base URL (also from {RESOLVER_URL_VARIABLE}).",
)
JSON_OPTION: Final = click.option(
    "--json", "as_json", is_flag=True, help="Print the resolver's JSON answer as it came."
)
CA_OPTION: Final = click.option(
    "--ca",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="CA certificate to verify an HTTPS resolver with (default: the system's).",
)


def ask_resolver(
    resolver_url: str,
    path: str,
    ca: Path | None,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Call the resolver; its status and JSON object, or exit 2 when it cannot be reached or answers no JSON."""
    if not resolver_url.startswith(("http://", "https://")):
        fail(f"the resolver URL must be http(s)://..., got {resolver_url!r}")
    try:
        status, answer = fetch_json(
            resolver_url.rstrip("/") + path, client_tls(ca), body=body, headers=headers
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        fail(f"cannot reach the resolver at {resolver_url}: {reason}", EXIT_USAGE)
    if not isinstance(answer, dict):
        fail(f"the resolver at {resolver_url} answered HTTP {status} without JSON", EXIT_USAGE)
    return status, answer


@click.command("resolve", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("handle")
@RESOLVER_OPTION
@JSON_OPTION
@CA_OPTION
def resolve_command(handle: str, resolver_url: str, as_json: bool, ca: Path | None) -> None:
    """Resolve HANDLE through a resolver and say whether the answer verifies.

    Exit 0 verified; 1 failed, unsigned or not found; 2 the resolver (or what it needs) cannot be reached.
    """
    if not handle:
        fail("give a handle, e.g. 88.186.1/ACT.2025")
    status, body = ask_resolver(resolver_url, "/api/handles/" + quote(handle, safe="/"), ca)
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    message = body.get("message") or f"HTTP {status}"
    if status == 404:
        fail(f"not found: {handle}: {message}", EXIT_INVALID)
    if status >= 500 or status == 300:
        fail(f"no answer now: {message}", EXIT_USAGE)
    if status != 200 or "verification" not in body:
        fail(f"the resolver refused {handle!r} (HTTP {status}): {message}", EXIT_USAGE)
    if not as_json:
        _print_answer(body)
    verification = body["verification"]
    state = verification.get("status")
    if state == "verified":
        return
    if state == "unsigned":
        fail(f"unsigned: {handle} carries no signed document; nothing vouches for its values", EXIT_INVALID)
    fail(f"failed: {verification.get('reason') or 'verification failed'}", EXIT_INVALID)


resolver.add_command(resolver_keys)
