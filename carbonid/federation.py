"""The local demo federation: every service of carbonid in one process, on loopback, over real HTTP(S).

`running_federation(data_dir, base_port)` starts, in the running event loop, a root registry, a secondary
(industry) registry, one enterprise node per `carbonid.demo_enterprises.ENTERPRISES` and the resolver, each
as an aiohttp `AppRunner` + `TCPSite` (ports: `carbonid.demo_layout`); then `carbonid.provisioning` makes the
federation (administrators, delegation, applications, approvals, publications) and `federation.json` is
written. Leaving the block stops every service.

Data directory: `layout.json` (the base port), `federation.json` (0600: it holds secrets), `ca/` (the demo
federation CA), `registries/{root,industry}/` (database, keys, `admin.json`), `nodes/<name>/` (database,
keys, `tls/`, `admin.secret`, `pact.json`), `resolver/` (database, keys, `tls/` client certificate, `trust-anchor.json`,
`benchmarks.json`, `operator.secret`, `regulator.secret`), `certificates/` (each enterprise's QR codes, written by the demo).
Running again on the same directory reuses all of it.
"""

from __future__ import annotations

import errno
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web

from carbonid.demo_benchmarks import DEMO_BENCHMARKS
from carbonid.demo_enterprises import ENTERPRISES, RESOLVER_PREFIX, EnterpriseSpec
from carbonid.demo_layout import (
    FIRST_NODE_OFFSET,
    HOST,
    INDUSTRY_REGISTRY_OFFSET,
    LAYOUT_FILE,
    RESOLVER_OFFSET,
    ROOT_REGISTRY_OFFSET,
    DemoError,
    PortInUse,
    check_ports_free,
    choose_base_port,
    ensure_certificate,
    load_or_create_ca,
    port_message,
    write_json,
)
from carbonid.provisioning import provision
from certs.did import did_web_for_url
from certs.files import write_private_file
from certs.tls import client_ssl_context, serving_ssl_context
from certs.x509 import CertificateAuthority, issue_client_certificate, issue_server_certificate
from common.database import create_engine, migrate
from common.passwords import new_secret
from handle_registry.service.app import create_app as create_registry_app
from handle_registry.service.app import load_identity as load_registry_identity
from handle_registry.service.settings import RegistrySettings
from node.app import create_app as create_node_app
from node.context import now_text
from node.handle_service import AlreadyInitialised
from node.pact_clients import add_client, list_clients
from node.pact_store import PactStore
from node.runtime import initialise_node, open_node
from node.settings import NodeSettings
from resolver.app import create_app as create_resolver_app
from resolver.certificates import ensure_operator
from resolver.context import database_url as resolver_database_url
from resolver.regulators import ensure_regulator
from resolver.repository import ResolverStore
from resolver.schema import MIGRATION_TABLE as RESOLVER_MIGRATION_TABLE
from resolver.schema import MIGRATIONS as RESOLVER_MIGRATIONS
from resolver.settings import ResolverSettings

ROOT_PREFIX: Final = "88"
INDUSTRY_PREFIX: Final = "88.186"
FEDERATION_FILE: Final = "federation.json"
PACT_FILE: Final = "pact.json"
BENCHMARK_FILE: Final = "benchmarks.json"
OPERATOR_NAME: Final = "demo"
"""The resolver operator the demo evaluates enterprises as (its secret: `resolver/operator.secret`)."""
REGULATOR_NAME: Final = "zhejiang"
REGULATOR_REGION: Final = "330000"
"""The demo's regulator oversees Zhejiang (its secret: `resolver/regulator.secret`)."""


# --- what runs --------------------------------------------------------------------------------------


@dataclass
class RegistryService:
    """A registry of the federation, with the administrator provisioning made for it."""

    name: str
    prefix: str
    settings: RegistrySettings
    parent: str | None = None
    """The registry that delegated `prefix` to this one (None for the root)."""
    app: web.Application | None = None
    admin_name: str | None = None
    admin_secret: str | None = None

    @property
    def url(self) -> str:
        """Its base URL."""
        return self.settings.base_url()

    @property
    def did(self) -> str:
        """Its did:web DID (named by its URL)."""
        return did_web_for_url(self.url)


@dataclass
class NodeService:
    """An enterprise node of the federation and what provisioning did for it."""

    spec: EnterpriseSpec
    settings: NodeSettings
    admin_secret: str
    secret_is_new: bool = False
    """The secret file was made by this run (so an existing database must be told the new secret)."""
    app: web.Application | None = None
    published: int = 0
    """Record versions published by this run (0 when everything was there already)."""
    records: int = 0
    """Records the demo keeps on the node."""
    pact: dict[str, str] = field(default_factory=dict)
    """The demo's PACT client credentials on this node (`clientId`, `clientSecret`)."""

    @property
    def name(self) -> str:
        """Its short name."""
        return self.spec.name

    @property
    def prefix(self) -> str:
        """The prefix it publishes under."""
        return self.spec.prefix

    @property
    def url(self) -> str:
        """Its base URL (https)."""
        return self.settings.base_url()

    @property
    def did(self) -> str:
        """Its did:web DID."""
        return did_web_for_url(self.url)

    @property
    def admin_handle(self) -> str:
        """`<prefix>/ADMIN`, whose index 300 holds the admin secret's hash."""
        return f"{self.prefix}/ADMIN"


@dataclass
class ResolverService:
    """The federation's resolver."""

    settings: ResolverSettings
    operator_secret: str
    regulator_secret: str
    app: web.Application | None = None

    @property
    def url(self) -> str:
        """Its base URL."""
        return self.settings.base_url()

    @property
    def prefix(self) -> str:
        """The prefix its client certificate is bound to."""
        return self.settings.prefix or RESOLVER_PREFIX

    @property
    def did(self) -> str:
        """Its did:web DID."""
        return did_web_for_url(self.url)


@dataclass
class Federation:
    """The running demo federation: where everything is, and the secrets to administer it."""

    data_dir: Path
    base_port: int
    ca_file: Path
    registries: list[RegistryService]
    nodes: list[NodeService]
    resolver: ResolverService

    def registry(self, name: str) -> RegistryService:
        """The registry called `name` (root, industry)."""
        return next(registry for registry in self.registries if registry.name == name)

    def client_ssl_context(self) -> ssl.SSLContext:
        """A TLS client context trusting the demo CA only (the nodes' server certificates chain to it)."""
        return client_ssl_context(self.ca_file)

    def to_json(self) -> dict[str, Any]:
        """What `federation.json` holds."""
        return {
            "ca": str(self.ca_file),
            "basePort": self.base_port,
            "registries": [
                {
                    "name": registry.name,
                    "url": registry.url,
                    "prefix": registry.prefix,
                    "did": registry.did,
                    "delegatedBy": registry.parent,
                    "admin": {"name": registry.admin_name, "secret": registry.admin_secret},
                }
                for registry in self.registries
            ],
            "resolver": {
                "url": self.resolver.url,
                "prefix": self.resolver.prefix,
                "did": self.resolver.did,
                "trustAnchor": str(self.resolver.settings.trust_anchor),
                "operator": {"name": OPERATOR_NAME, "secret": self.resolver.operator_secret},
                "regulator": {
                    "name": REGULATOR_NAME,
                    "secret": self.resolver.regulator_secret,
                    "region": REGULATOR_REGION,
                },
            },
            "nodes": [
                {
                    "name": node.name,
                    "prefix": node.prefix,
                    "url": node.url,
                    "did": node.did,
                    "registry": node.spec.registry,
                    "enterprise": node.spec.legal_name,
                    "region": node.spec.region,
                    "industry": node.spec.industry,
                    "admin": {"handle": node.admin_handle, "index": 300, "secret": node.admin_secret},
                    "pact": {
                        **node.pact,
                        "tokenUrl": f"{node.url}/auth/token",
                        "footprintsUrl": f"{node.url}/2/footprints",
                        "eventsUrl": f"{node.url}/2/events",
                    },
                }
                for node in self.nodes
            ],
        }


# --- the services -----------------------------------------------------------------------------------


def plan_federation(data_dir: Path, base_port: int, ca: CertificateAuthority) -> Federation:
    """Settings, certificates and directories of every service (nothing started)."""
    data_dir = data_dir.resolve()
    ca_file = data_dir / "ca" / "ca.pem"
    common: dict[str, Any] = {"host": HOST, "log_json": False, "log_level": "warning"}

    def registry(name: str, prefix: str, offset: int, parent: str | None) -> RegistryService:
        port = base_port + offset
        settings = RegistrySettings(
            served_prefixes=(prefix,),
            data_dir=data_dir / "registries" / name,
            port=port,
            public_url=f"http://{HOST}:{port}",
            **common,
        )
        return RegistryService(name, prefix, settings, parent=parent)

    registries = [
        registry("root", ROOT_PREFIX, ROOT_REGISTRY_OFFSET, None),
        registry("industry", INDUSTRY_PREFIX, INDUSTRY_REGISTRY_OFFSET, "root"),
    ]
    registry_urls = {service.name: service.url for service in registries}
    nodes = []
    for position, spec in enumerate(ENTERPRISES):
        port = base_port + FIRST_NODE_OFFSET + position
        directory = data_dir / "nodes" / spec.name
        certificate, key = ensure_certificate(
            directory / "tls", "server", ca, lambda: issue_server_certificate(ca, [HOST, "localhost"])
        )
        settings = NodeSettings(
            prefix=spec.prefix,
            data_dir=directory,
            port=port,
            public_url=f"https://{HOST}:{port}",
            tls_certificate=certificate,
            tls_key=key,
            tls_client_ca=ca_file,
            registry_url=registry_urls[spec.registry],
            # Each publication tells the resolver, which verifies it and indexes the record.
            notify_resolvers=(f"http://{HOST}:{base_port + RESOLVER_OFFSET}",),
            **common,
        )
        secret, created = _secret_file(directory / "admin.secret")
        nodes.append(NodeService(spec, settings, admin_secret=secret, secret_is_new=created))
    resolver_dir = data_dir / "resolver"
    client_certificate, client_key = ensure_certificate(
        resolver_dir / "tls", "client", ca, lambda: issue_client_certificate(ca, RESOLVER_PREFIX)
    )
    port = base_port + RESOLVER_OFFSET
    resolver = ResolverService(
        ResolverSettings(
            data_dir=resolver_dir,
            port=port,
            public_url=f"http://{HOST}:{port}",
            root_registry_url=registry_urls["root"],
            trust_anchor=resolver_dir / "trust-anchor.json",
            federation_ca=ca_file,
            client_certificate=client_certificate,
            client_key=client_key,
            prefix=RESOLVER_PREFIX,
            benchmark_table=resolver_dir / BENCHMARK_FILE,
            **common,
        ),
        operator_secret=_secret_file(resolver_dir / "operator.secret")[0],
        regulator_secret=_secret_file(resolver_dir / "regulator.secret")[0],
    )
    return Federation(data_dir, base_port, ca_file, registries, nodes, resolver)


def _secret_file(path: Path) -> tuple[str, bool]:
    """A secret kept in `path` (0600; made on first use), and whether it is new."""
    if path.exists():
        secret = path.read_text("utf-8").strip()
        if secret:
            return secret, False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    write_private_file(path, (secret + "\n").encode("utf-8"))
    return secret, True


async def initialise_nodes(federation: Federation) -> None:
    """Keys, database and `<prefix>/ADMIN` of every node; a node initialised before keeps its secret.

    The secret on file wins: when the file is new but the database is not (the file was lost), the admin
    secret is rotated to the new one, since the old one cannot be recovered from its hash.
    """
    for node in federation.nodes:
        try:
            await initialise_node(node.settings, node.admin_secret)
        except AlreadyInitialised:
            if node.secret_is_new:
                await initialise_node(node.settings, node.admin_secret, rotate=True)
        node.pact = await _ensure_pact_client(node)


async def _ensure_pact_client(node: NodeService) -> dict[str, str]:
    """The node's demo PACT client credentials, kept in `<node dir>/pact.json` (0600); issued when the file
    is missing or the node no longer knows its client (a lost database)."""
    path = node.settings.data_dir / PACT_FILE
    saved = json.loads(path.read_text("utf-8")) if path.exists() else None
    async with open_node(node.settings) as ctx:
        store = PactStore(ctx.store.engine)
        active = {row.client_id for row in await list_clients(store) if row.revoked_at is None}
        if saved is not None and saved.get("clientId") in active:
            return dict(saved)
        issued = await add_client(store, node.settings, "demo", at=now_text())
    credentials = {"clientId": issued.client_id, "clientSecret": issued.client_secret}
    write_private_file(path, json.dumps(credentials).encode("utf-8"))
    return credentials


async def initialise_resolver(federation: Federation) -> None:
    """The resolver's database, its demo operator and regulator (the secrets on file win) and its benchmark
    table."""
    settings = federation.resolver.settings
    write_json(settings.data_dir / BENCHMARK_FILE, DEMO_BENCHMARKS)
    engine = create_engine(resolver_database_url(settings))
    try:
        await migrate(engine, RESOLVER_MIGRATIONS, table=RESOLVER_MIGRATION_TABLE)
        store, now = ResolverStore(engine), datetime.now(UTC)
        await ensure_operator(store, OPERATOR_NAME, federation.resolver.operator_secret, at=now)
        await ensure_regulator(
            store, REGULATOR_NAME, federation.resolver.regulator_secret, REGULATOR_REGION, at=now
        )
    finally:
        await engine.dispose()


def write_trust_anchor(federation: Federation) -> None:
    """The root registry's DID document, pinned by the resolver (taken from the registry's keys, not the network)."""
    root = federation.registry("root")
    anchor = load_registry_identity(root.settings).did.to_json()
    path = federation.resolver.settings.trust_anchor
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, anchor)


async def _serve(
    app: web.Application, port: int, label: str, ssl_context: ssl.SSLContext | None
) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, port, ssl_context=ssl_context).start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(port_message(port, label)) from None
        raise
    return runner


async def start_services(federation: Federation, stack: AsyncExitStack) -> None:
    """Start registries, nodes and the resolver (in that order); `stack` stops them in reverse."""
    for registry in federation.registries:
        registry.app = create_registry_app(registry.settings)
        runner = await _serve(registry.app, registry.settings.port, f"{registry.name} registry", None)
        stack.push_async_callback(runner.cleanup)
    for node in federation.nodes:
        settings = node.settings
        assert settings.tls_certificate is not None
        assert settings.tls_key is not None
        context = serving_ssl_context(settings.tls_certificate, settings.tls_key, settings.tls_client_ca)
        node.app = create_node_app(settings)
        runner = await _serve(node.app, settings.port, f"node {node.name}", context)
        stack.push_async_callback(runner.cleanup)
    resolver = federation.resolver
    try:
        resolver.app = create_resolver_app(resolver.settings)
    except (ValueError, OSError) as exc:  # its trust anchor or client certificate is unusable
        raise DemoError(f"the resolver cannot start: {exc}") from exc
    runner = await _serve(resolver.app, resolver.settings.port, "resolver", None)
    stack.push_async_callback(runner.cleanup)


def write_federation_file(federation: Federation) -> Path:
    """`<data_dir>/federation.json` (0600: it holds the administrators' secrets)."""
    path = federation.data_dir / FEDERATION_FILE
    write_json(path, federation.to_json(), private=True)
    return path


@asynccontextmanager
async def running_federation(
    data_dir: Path, base_port: int | None = None, *, timeout_seconds: float = 60
) -> AsyncIterator[Federation]:
    """Start the demo federation in `data_dir`, make (or find) everything it holds, and stop it on exit.

    Raises `UsageError` (a port in use, another base port than the directory's) before touching anything,
    and `DemoError` when a service refuses a step.
    """
    base_port = choose_base_port(data_dir, base_port)
    check_ports_free(base_port)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_json(data_dir / LAYOUT_FILE, {"basePort": base_port})
    ca = load_or_create_ca(data_dir / "ca")
    federation = plan_federation(data_dir, base_port, ca)
    await initialise_nodes(federation)
    await initialise_resolver(federation)
    write_trust_anchor(federation)
    async with AsyncExitStack() as stack:
        await start_services(federation, stack)
        connector = aiohttp.TCPConnector(ssl=federation.client_ssl_context())
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_seconds))
        )
        await provision(federation, session)
        write_federation_file(federation)
        yield federation
