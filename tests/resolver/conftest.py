"""A whole federation in one process, on loopback ports: a root registry serving 88, a registry serving 88.186
by delegation, a node 88.186.1 under it (HTTPS, peers identified by federation client certificates), a node
88.200.1 directly under the root (plain HTTP), and resolvers pinned to the root registry's DID document.

The root registry, node 88.186.1 and the resolver share the test's database (SQLite file or PostgreSQL
schema; each keeps its own tables and migration history); the delegated registry and node 88.200.1 get
SQLite files of their own (two registries, or two nodes, never share a database).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from yarl import URL

from certs.identity import ServiceIdentity
from certs.tls import client_ssl_context, serving_ssl_context
from certs.x509 import create_ca, issue_client_certificate, issue_server_certificate
from common.database import create_engine
from handle_registry.identifiers import fold_ascii
from handle_registry.service.administration import create_admin
from handle_registry.service.app import create_app as create_registry
from handle_registry.service.app import load_identity
from handle_registry.service.keys import REGISTRY_KEY
from handle_registry.service.settings import RegistrySettings
from metadata_templates import default_catalog
from node.app import create_app as create_node
from node.registry_client import build_application, sign_application, submit_application
from node.runtime import database_url as node_database_url
from node.runtime import initialise_node
from node.settings import NodeSettings
from resolver.app import create_app as create_resolver
from resolver.context import ResolverContext
from resolver.keys import RESOLVER_KEY
from resolver.settings import ResolverSettings

CATALOG = default_catalog()
NODE_SECRET = "node admin secret"
RESOLVER_PREFIX = "88.100.9"
HANDLE_TTL = 60
RECORD_TTL = 300
NEGATIVE_TTL = 30
MAX_STALE = 3600


class FakeClock:
    """The resolver's clock: real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Probe:
    """A node middleware counting requests by raw path; when armed, holds them until released."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.request_ids: list[tuple[str, str | None]] = []
        """(raw path, X-Request-Id header) of every request, in arrival order."""
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()

    def arm(self) -> None:
        self.gate = asyncio.Event()
        self.arrived = asyncio.Event()

    def release(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.gate = None

    def count(self, handle: str) -> int:
        return self.counts[f"/api/handles/{quote(handle, safe='/')}"]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.counts[request.raw_path.split("?", 1)[0]] += 1
        self.request_ids.append((request.raw_path.split("?", 1)[0], request.headers.get("X-Request-Id")))
        if self.gate is not None and request.path.startswith("/api/handles/"):
            self.arrived.set()
            await self.gate.wait()
        return await handler(request)


def basic(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{quote(user, safe='/')}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class Registry:
    settings: RegistrySettings
    url: str
    did: str
    admin: dict[str, str]
    probe: Probe
    server: TestServer | None = None


@dataclass
class Node:
    settings: NodeSettings
    url: str
    admin: dict[str, str]
    session: aiohttp.ClientSession
    probe: Probe
    ssl: Any = None
    server: TestServer | None = None

    @property
    def prefix(self) -> str:
        return self.settings.prefix

    @property
    def database(self) -> str:
        return node_database_url(self.settings)


@dataclass
class Resolver:
    app: web.Application
    url: str
    clock: FakeClock
    server: TestServer

    @property
    def ctx(self) -> ResolverContext:
        return self.app[RESOLVER_KEY]


@dataclass
class Federation:
    tmp: Path
    database_url: str
    root: Registry
    delegated: Registry
    node1: Node
    node2: Node
    anchor_file: Path
    ca_file: Path
    client_cert: tuple[Path, Path]
    session: aiohttp.ClientSession
    start_server: Callable[..., Awaitable[TestServer]]
    resolvers: list[Resolver] = field(default_factory=list)

    def resolver_settings(self, **overrides: Any) -> ResolverSettings:
        cert, key = self.client_cert
        options: dict[str, Any] = {
            "port": 0,
            "data_dir": self.tmp / "resolver",
            "database_url": self.database_url,
            "root_registry_url": self.root.url,
            "trust_anchor": self.anchor_file,
            "federation_ca": self.ca_file,
            "client_certificate": cert,
            "client_key": key,
            "prefix": RESOLVER_PREFIX,
            "negative_ttl_seconds": NEGATIVE_TTL,
            "max_stale_seconds": MAX_STALE,
            "upstream_attempt_timeout_seconds": 5.0,
            "log_json": False,
        }
        options.update(overrides)
        return ResolverSettings(**options)

    async def start_resolver(self, clock: FakeClock | None = None, **overrides: Any) -> Resolver:
        clock = clock or FakeClock()
        app = create_resolver(self.resolver_settings(**overrides), clock=clock)
        server = await self.start_server(app)
        resolver = Resolver(app, str(server.make_url("")).rstrip("/"), clock, server)
        self.resolvers.append(resolver)
        return resolver

    async def resolve(self, resolver: Resolver, handle: str, query: str = "") -> tuple[int, Any]:
        url = f"{resolver.url}/api/handles/{quote(handle, safe='/')}{query}"
        async with self.session.get(URL(url, encoded=True)) as response:
            return response.status, await response.json(content_type=None)

    async def publish(
        self,
        node: Node,
        suffix: str,
        *,
        template: str = "activity-data/1",
        visibility: str | None = None,
        reason: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> str:
        document = CATALOG.resolve(template).example_document()
        document.pop("handle", None)
        document["prefix"] = node.prefix
        document.update(changes or {})
        body: dict[str, Any] = {"template": template, "document": document, "suffix": suffix}
        if visibility:
            body["visibility"] = visibility
        if reason:
            body["reason"] = reason
        async with node.session.post(f"{node.url}/api/records", json=body, headers=node.admin) as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["handle"])

    async def grant(self, node: Node, handle: str, prefix: str) -> None:
        async with node.session.post(
            f"{node.url}/api/records/{handle}/grants", json={"prefix": prefix}, headers=node.admin
        ) as response:
            assert response.status == 201, await response.text()

    async def stop_node(self, node: Node) -> None:
        assert node.server is not None
        await node.server.close()
        node.server = None

    async def start_node(self, node: Node) -> None:
        app = create_node(node.settings)
        app.middlewares.append(node.probe.middleware)
        node.server = await self.start_server(app, port=node.settings.port, ssl=node.ssl)

    async def stop_registry(self, registry: Registry) -> None:
        assert registry.server is not None
        await registry.server.close()
        registry.server = None

    async def start_registry(self, registry: Registry) -> None:
        app = create_registry(registry.settings)
        app.middlewares.append(registry.probe.middleware)
        registry.server = await self.start_server(app, port=registry.settings.port)

    async def edit_node_database(self, node: Node, edit: Callable[[Any], Awaitable[None]]) -> None:
        engine = create_engine(node.database)
        try:
            async with engine.begin() as conn:
                await edit(conn)
        finally:
            await engine.dispose()


def handle_key(handle: str) -> str:
    return fold_ascii(handle)


async def _start_registry(
    start_server: Callable[..., Awaitable[TestServer]],
    tmp: Path,
    name: str,
    database: str,
    served: tuple[str, ...],
) -> Registry:
    port = unused_port()
    settings = RegistrySettings(
        served_prefixes=served,
        data_dir=tmp / name,
        database_url=database,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        record_ttl=RECORD_TTL,
        log_json=False,
    )
    probe = Probe()
    app = create_registry(settings)
    app.middlewares.append(probe.middleware)
    server = await start_server(app, port=port)
    secret = await create_admin(app[REGISTRY_KEY].store, "operator", at=datetime.now(UTC))
    return Registry(
        settings,
        settings.base_url(),
        load_identity(settings).did.id,
        basic("operator", secret),
        probe,
        server,
    )


async def _register(node: Node, registry: Registry, session: aiohttp.ClientSession) -> None:
    settings = node.settings
    identity = ServiceIdentity.load_or_create(settings.data_dir / "keys", settings.base_url())
    profile = CATALOG.resolve("enterprise-profile").example_document()
    profile.pop("handle")
    profile["prefix"] = settings.prefix
    application = build_application(settings, identity, CATALOG, profile)
    answer = await submit_application(
        registry.url, sign_application(identity, CATALOG, application, domain=registry.did)
    )
    assert answer.status == 201
    async with session.post(
        f"{registry.url}/api/prefixes/{settings.prefix}/approve", headers=registry.admin
    ) as response:
        assert response.status == 200, await response.text()


@pytest.fixture
async def federation(tmp_path: Path, aiohttp_server: Any, database_url: str) -> AsyncIterator[Federation]:
    ca = create_ca("carbonid resolver test federation")
    pki = tmp_path / "pki"
    ca.save(pki)
    ca_file = pki / "ca.pem"
    server_cert, server_key = issue_server_certificate(ca, ["localhost", "127.0.0.1"]).save(pki, "server")
    client_cert = issue_client_certificate(ca, RESOLVER_PREFIX).save(pki, "resolver")

    session = aiohttp.ClientSession()
    tls_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ssl_context(ca_file)))
    try:
        root = await _start_registry(aiohttp_server, tmp_path, "root", database_url, ("88",))
        delegated = await _start_registry(
            aiohttp_server,
            tmp_path,
            "delegated",
            f"sqlite+aiosqlite:///{tmp_path / 'delegated.db'}",
            ("88.186",),
        )
        async with session.post(
            f"{root.url}/api/delegations",
            json={
                "prefix": "88.186",
                "serviceUrl": delegated.url,
                "didDocument": load_identity(delegated.settings).did.to_json(),
            },
            headers=root.admin,
        ) as response:
            assert response.status == 201, await response.text()

        port1, port2 = unused_port(), unused_port()
        node1_settings = NodeSettings(
            prefix="88.186.1",
            data_dir=tmp_path / "node1",
            database_url=database_url,
            port=port1,
            public_url=f"https://127.0.0.1:{port1}",
            tls_certificate=server_cert,
            tls_key=server_key,
            tls_client_ca=ca_file,
            handle_ttl=HANDLE_TTL,
            log_json=False,
        )
        node2_settings = NodeSettings(
            prefix="88.200.1",
            data_dir=tmp_path / "node2",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'node2.db'}",
            port=port2,
            public_url=f"http://127.0.0.1:{port2}",
            handle_ttl=HANDLE_TTL,
            log_json=False,
        )
        node1 = Node(
            node1_settings,
            node1_settings.base_url(),
            basic(node1_settings.admin_user, NODE_SECRET),
            tls_session,
            Probe(),
            ssl=serving_ssl_context(server_cert, server_key, ca_file),
        )
        node2 = Node(
            node2_settings,
            node2_settings.base_url(),
            basic(node2_settings.admin_user, NODE_SECRET),
            session,
            Probe(),
        )
        anchor_file = tmp_path / "anchor.json"
        anchor_file.write_text(json.dumps(load_identity(root.settings).did.to_json()), "utf-8")
        federation = Federation(
            tmp_path,
            database_url,
            root,
            delegated,
            node1,
            node2,
            anchor_file,
            ca_file,
            client_cert,
            session,
            aiohttp_server,
        )
        for node, registry in ((node1, delegated), (node2, root)):
            await initialise_node(node.settings, NODE_SECRET)
            await federation.start_node(node)
            await _register(node, registry, session)
        yield federation
    finally:
        await session.close()
        await tls_session.close()
