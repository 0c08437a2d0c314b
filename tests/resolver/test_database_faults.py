"""The node, the registry and the resolver when their database fails, and after it is back.

The federation of `tests.resolver.conftest` puts the root registry, node 88.186.1 and the resolver on the
test's database. The outage is real:

- SQLite: another connection holds the file's write lock (`BEGIN EXCLUSIVE`) for longer than the services'
  busy timeout, so every write transaction gives up with SQLITE_BUSY (reads go on: WAL);
- PostgreSQL (`CARBONID_TEST_POSTGRES_URL`): the services reach the server through a TCP fault proxy, which
  refuses connections and cuts the open ones, so everything fails until it passes again.

Each service must answer 503 with Retry-After (problem+json, or Handle JSON on the Handle routes), leave
nothing half-written, and work again once the database is back, without a restart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import make_url

from tests.faults import FaultProxy
from tests.resolver.conftest import CATALOG, Federation
from tests.resolver.test_faults import get

_PROXIES: dict[str, FaultProxy] = {}
"""The fault proxy in front of PostgreSQL, by the URL the services were given."""


@pytest.fixture
async def database_url(database_url: str) -> AsyncIterator[str]:
    """The test's database; on PostgreSQL, reached through a fault proxy."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield database_url
        return
    proxy = await FaultProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    _PROXIES[proxied] = proxy
    try:
        yield proxied
    finally:
        del _PROXIES[proxied]
        await proxy.close()


class DatabaseOutage:
    """Takes the test's database away from the services, and gives it back."""

    def __init__(self, url: str) -> None:
        self.proxy = _PROXIES.get(url)
        self.path = None if self.proxy is not None else make_url(url).database
        self._lock: sqlite3.Connection | None = None

    async def begin(self) -> None:
        if self.proxy is not None:
            await self.proxy.refusing()
            return
        assert self.path is not None
        self._lock = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._lock.execute("BEGIN EXCLUSIVE")

    async def end(self) -> None:
        if self.proxy is not None:
            await self.proxy.passing()
            return
        assert self._lock is not None
        self._lock.execute("ROLLBACK")
        self._lock.close()
        self._lock = None


@pytest.fixture
async def outage(database_url: str) -> AsyncIterator[DatabaseOutage]:
    outage = DatabaseOutage(database_url)
    try:
        yield outage
    finally:
        if outage._lock is not None:
            outage._lock.close()


def assert_unavailable_problem(status: int, headers: Any, body: Any) -> None:
    assert status == 503, body
    assert headers["Content-Type"].startswith("application/problem+json")
    assert int(headers["Retry-After"]) > 0
    assert body["type"].endswith("database-unavailable"), body


async def test_the_node_refuses_a_publication_while_its_database_is_down_and_keeps_nothing_of_it(
    federation: Federation, outage: DatabaseOutage
):
    f = federation
    node = f.node1
    async with node.session.get(f"{node.url}/api/log") as response:
        head = (await response.json())["head"]
    body = {"template": "activity-data/1", "document": _activity(node.prefix), "suffix": "ACT.DB"}

    await outage.begin()
    try:
        async with node.session.post(f"{node.url}/api/records", json=body, headers=node.admin) as response:
            assert_unavailable_problem(
                response.status, response.headers, await response.json(content_type=None)
            )
    finally:
        await outage.end()

    # Nothing of the refused publication: no record, no log entry.
    async with node.session.get(
        f"{node.url}/api/records/{node.prefix}/ACT.DB", headers=node.admin
    ) as response:
        assert response.status == 404
    async with node.session.get(f"{node.url}/api/log") as response:
        assert (await response.json())["head"] == head
    # Back, without a restart: the same publication is version 1.
    async with node.session.post(f"{node.url}/api/records", json=body, headers=node.admin) as response:
        assert response.status == 201, await response.text()
        assert (await response.json())["version"] == 1


async def test_the_registry_refuses_a_delegation_while_its_database_is_down_and_keeps_nothing_of_it(
    federation: Federation, outage: DatabaseOutage
):
    f = federation
    root = f.root
    delegation = {
        "prefix": "88.187",
        "serviceUrl": f.delegated.url,
        "didDocument": (await _did(f, f.delegated.url)),
    }
    await outage.begin()
    try:
        async with f.session.post(
            f"{root.url}/api/delegations", json=delegation, headers=root.admin
        ) as response:
            assert_unavailable_problem(
                response.status, response.headers, await response.json(content_type=None)
            )
    finally:
        await outage.end()

    async with f.session.get(f"{root.url}/api/handles/0.NA/88.187") as response:
        assert response.status == 404
    async with f.session.post(f"{root.url}/api/delegations", json=delegation, headers=root.admin) as response:
        assert response.status == 201, await response.text()
        assert (await response.json())["version"] == 1
    async with f.session.get(f"{root.url}/api/handles/0.NA/88.187") as response:
        assert response.status == 200


async def test_the_resolver_answers_503_while_its_database_is_down_and_resolves_once_it_is_back(
    federation: Federation, outage: DatabaseOutage
):
    f = federation
    resolver = await f.start_resolver()
    # Node 88.200.1 keeps its own database; its prefix record is verified (and cached) before the outage, so
    # what fails below is the resolver's own database: recording the first verified version of the record.
    assert (await get(f, resolver, "0.NA/88.200.1"))[0] == 200
    handle = await f.publish(f.node2, "ACT.DB")

    await outage.begin()
    try:
        status, body, headers = await get(f, resolver, handle)
    finally:
        await outage.end()
    assert (status, body["responseCode"], body["handle"]) == (503, 3, handle), body
    assert "database is unavailable" in body["message"]
    assert int(headers["Retry-After"]) > 0

    status, body, _ = await get(f, resolver, handle)
    assert status == 200, body
    verification = body["verification"]
    assert (verification["status"], verification["cached"], verification["stale"]) == (
        "verified",
        False,
        False,
    )


def _activity(prefix: str) -> dict[str, Any]:
    document = CATALOG.resolve("activity-data/1").example_document()
    document.pop("handle", None)
    document["prefix"] = prefix
    return document


async def _did(f: Federation, url: str) -> Any:
    async with f.session.get(f"{url}/.well-known/did.json") as response:
        return await response.json()
