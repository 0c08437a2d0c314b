"""The resolver when registries and nodes fail: real servers behind a TCP fault proxy (`tests.faults`).

A node (88.200.2, directly under the root registry) is registered with the proxy's address as its URL, so
every request the resolver makes to it goes through the proxy; a resolver can also be pointed at the root
registry through a proxy. The proxy counts connections: after a fault, every attempt opens a new one, so
`accepted` is the number of attempts the resolver made, and the node's probe counts the requests that
reached it. No test waits on the clock: cache ages and breaker cool-downs move with the resolver's
injected clock.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from yarl import URL

from node.runtime import initialise_node
from node.settings import NodeSettings
from resolver.errors import NodeUnreachable, UpstreamError
from resolver.upstream import RetryPolicy, Upstream, UpstreamAnswer, UpstreamBudget
from tests.faults import Fault, FaultProxy, Mode
from tests.resolver.conftest import (
    HANDLE_TTL,
    MAX_STALE,
    NODE_SECRET,
    RECORD_TTL,
    Federation,
    Node,
    Probe,
    Resolver,
    _register,
    basic,
)

FAST: dict[str, Any] = {
    "upstream_attempts": 3,
    "upstream_connect_timeout_seconds": 0.5,
    "upstream_attempt_timeout_seconds": 0.5,
    "upstream_deadline_seconds": 10.0,
    "upstream_backoff_seconds": 0.05,
}
"""Short timeouts, so a fault costs a test a second or two, and room in the deadline for every attempt."""


@dataclass
class ProxiedNode:
    node: Node
    proxy: FaultProxy

    @property
    def public_url(self) -> str:
        return self.proxy.url


@pytest.fixture
async def proxied(federation: Federation) -> AsyncIterator[ProxiedNode]:
    """Node 88.200.2 under the root registry, known to the federation by the address of a fault proxy."""
    f = federation
    port = unused_port()
    proxy = await FaultProxy("127.0.0.1", port).start()
    settings = NodeSettings(
        prefix="88.200.2",
        data_dir=f.tmp / "node3",
        database_url=f"sqlite+aiosqlite:///{f.tmp / 'node3.db'}",
        port=port,
        public_url=proxy.url,
        handle_ttl=HANDLE_TTL,
        log_json=False,
    )
    # Published to directly; resolved through the proxy (the URL in its prefix record).
    node = Node(
        settings, f"http://127.0.0.1:{port}", basic(settings.admin_user, NODE_SECRET), f.session, Probe()
    )
    await initialise_node(settings, NODE_SECRET)
    await f.start_node(node)
    await _register(node, f.root, f.session)
    try:
        yield ProxiedNode(node, proxy)
    finally:
        await proxy.close()


async def get(f: Federation, resolver: Resolver, handle: str) -> tuple[int, Any, dict[str, str]]:
    """Resolve `handle`: status, Handle JSON body, headers."""
    url = URL(f"{resolver.url}/api/handles/{quote(handle, safe='/')}", encoded=True)
    async with f.session.get(url) as response:
        return response.status, await response.json(content_type=None), dict(response.headers)


def flags(body: Any) -> tuple[str, bool, bool]:
    verification = body["verification"]
    return verification["status"], verification["cached"], verification["stale"]


async def test_a_node_that_goes_down_is_served_stale_then_refused_with_retry_after_then_recovers(
    federation: Federation, proxied: ProxiedNode
):
    f, proxy = federation, proxied.proxy
    resolver = await f.start_resolver(**FAST)
    handle = await f.publish(proxied.node, "ACT.2025")
    status, body, _ = await get(f, resolver, handle)
    assert (status, flags(body)) == (200, ("verified", False, False))

    await proxy.refusing()
    resolver.clock.advance(HANDLE_TTL + 1)
    status, body, _ = await get(f, resolver, handle)
    assert (status, flags(body)) == (200, ("verified", True, True)), body
    assert proxied.node.probe.count(handle) == 1

    resolver.clock.advance(MAX_STALE + 1)
    status, body, headers = await get(f, resolver, handle)
    assert (status, body["responseCode"], body["handle"]) == (503, 2, handle)
    assert int(headers["Retry-After"]) > 0
    message = body["message"]
    assert message.startswith(f"node {proxied.public_url}/api/handles/{handle} cannot be reached"), message
    assert "(3 attempts)" in message

    # The node is back: the next request is answered fresh by the same resolver, nothing restarted.
    await proxy.passing()
    status, body, _ = await get(f, resolver, handle)
    assert (status, flags(body)) == (200, ("verified", False, False)), body
    assert proxied.node.probe.count(handle) == 2


async def test_a_node_slower_than_the_attempt_timeout_is_asked_upstream_attempts_times_then_refused(
    federation: Federation, proxied: ProxiedNode
):
    f, proxy = federation, proxied.proxy
    resolver = await f.start_resolver(**{**FAST, "upstream_attempt_timeout_seconds": 0.3})
    handle = await f.publish(proxied.node, "ACT.2025")
    await proxy.delaying(30_000)
    before = proxy.accepted
    status, body, headers = await get(f, resolver, handle)
    assert (status, body["responseCode"]) == (503, 2)
    assert "Retry-After" in headers
    assert "did not answer in time (3 attempts)" in body["message"], body["message"]
    # Every attempt reached the node, and the resolver stopped after the third.
    assert proxy.accepted - before == 3
    assert proxied.node.probe.count(handle) == 3

    await proxy.passing()
    status, body, _ = await get(f, resolver, handle)
    assert (status, flags(body)) == (200, ("verified", False, False))


async def test_a_node_that_never_answers_costs_a_resolution_its_deadline_not_every_attempt(
    federation: Federation, proxied: ProxiedNode
):
    f, proxy = federation, proxied.proxy
    deadline = 1.0
    settings = {
        **FAST,
        "upstream_attempts": 10,
        "upstream_attempt_timeout_seconds": 0.4,
        "upstream_deadline_seconds": deadline,
        "upstream_breaker_failures": 0,
    }
    resolver = await f.start_resolver(**settings)
    handle = await f.publish(proxied.node, "ACT.2025")
    # The prefix record first, so the whole deadline is the node's.
    assert (await get(f, resolver, "0.NA/88.200.2"))[0] == 200
    await proxy.blackholing()
    before = proxy.accepted
    started = time.monotonic()
    status, body, _ = await get(f, resolver, handle)
    elapsed = time.monotonic() - started
    assert (status, body["responseCode"]) == (503, 2)
    assert "did not answer in time" in body["message"]
    # Ten attempts of 0.4 s do not fit in one second: the deadline stopped them, not the attempt count.
    assert 2 <= proxy.accepted - before <= 3
    assert f"within the {deadline:g} s deadline" in body["message"] or "(3 attempts)" in body["message"]
    assert elapsed < deadline + 4  # seconds-scale bound with a generous margin for a loaded machine


async def test_a_connection_reset_mid_answer_is_retried_and_the_answer_is_fresh(
    federation: Federation, proxied: ProxiedNode
):
    f, proxy = federation, proxied.proxy
    resolver = await f.start_resolver(**FAST)
    handle = await f.publish(proxied.node, "ACT.2025")
    before = proxy.accepted
    proxy.script(Mode(Fault.RESET))
    status, body, _ = await get(f, resolver, handle)
    assert (status, flags(body)) == (200, ("verified", False, False)), body
    assert body["values"]
    # The first attempt reached the node and lost its answer half-way; the second got it whole.
    assert proxy.accepted - before == 2
    assert proxied.node.probe.count(handle) == 2


async def test_a_registry_that_goes_down_is_served_stale_then_refused_then_recovers(federation: Federation):
    f = federation
    proxy = await FaultProxy("127.0.0.1", f.root.settings.port).start()
    try:
        resolver = await f.start_resolver(**{**FAST, "root_registry_url": proxy.url})
        handle = await f.publish(f.node2, "ACT.2025")
        status, body, _ = await get(f, resolver, handle)
        assert (status, flags(body)) == (200, ("verified", False, False))

        await proxy.refusing()
        resolver.clock.advance(RECORD_TTL + 1)
        # The prefix record is past its ttl and the registry unreachable: the node's fresh values are
        # verified with the stale prefix record, and the answer says so.
        status, body, _ = await get(f, resolver, handle)
        assert (status, body["verification"]["status"], body["verification"]["stale"]) == (
            200,
            "verified",
            True,
        )

        resolver.clock.advance(MAX_STALE + 1)
        status, body, headers = await get(f, resolver, handle)
        assert (status, body["responseCode"]) == (503, 2)
        assert int(headers["Retry-After"]) > 0
        assert body["message"].startswith(f"registry {proxy.url}/api/handles/0.NA/88.200.1 cannot be reached")
        assert "(3 attempts)" in body["message"]

        await proxy.passing()
        status, body, _ = await get(f, resolver, handle)
        assert (status, flags(body)) == (200, ("verified", False, False)), body
    finally:
        await proxy.close()


async def test_a_node_that_keeps_failing_is_left_alone_for_the_cool_down_then_probed(
    federation: Federation, proxied: ProxiedNode
):
    f, proxy = federation, proxied.proxy
    cooldown = 60
    settings = {
        **FAST,
        "upstream_attempts": 2,
        "upstream_attempt_timeout_seconds": 0.3,
        "upstream_breaker_failures": 2,
        "upstream_breaker_cooldown_seconds": cooldown,
    }
    resolver = await f.start_resolver(**settings)
    first, second, third = [await f.publish(proxied.node, suffix) for suffix in ("A.1", "A.2", "A.3")]
    for handle in (first, second):
        assert (await get(f, resolver, handle))[0] == 200

    await proxy.blackholing()
    resolver.clock.advance(HANDLE_TTL + 1)
    before = proxy.accepted
    for handle in (first, second):
        status, body, _ = await get(f, resolver, handle)
        assert (status, flags(body)) == (200, ("verified", True, True))
    assert proxy.accepted - before == 4  # two failed requests of two attempts each: the breaker opens

    # Open: nothing is sent to the node. What is cached is still served stale; what is not fails at once.
    status, body, headers = await get(f, resolver, third)
    assert (status, body["responseCode"]) == (503, 2)
    assert "Retry-After" in headers
    assert f"node {proxied.public_url}/api/handles/{third} failed 2 requests in a row" in body["message"]
    assert f"not asked again for {cooldown} s" in body["message"]
    assert flags((await get(f, resolver, first))[1]) == ("verified", True, True)
    assert proxy.accepted - before == 4

    # Back, but the cool-down is not over: still not asked.
    await proxy.passing()
    assert (await get(f, resolver, third))[0] == 503
    assert proxy.accepted - before == 4

    # Past the cool-down one request probes it, succeeds, and closes the breaker.
    resolver.clock.advance(cooldown + 1)
    status, body, _ = await get(f, resolver, third)
    assert (status, flags(body)) == (200, ("verified", False, False)), body
    status, body, _ = await get(f, resolver, first)
    assert (status, flags(body)) == (200, ("verified", False, False)), body
    assert proxied.node.probe.count(third) == 1


# --------------------------------------------------------------------------------------------------------------
# What is retried and what is not: `Upstream` against an HTTP server answering a scripted sequence of statuses
# (a registry cannot be made to answer 503 on demand).

NOT_FOUND = b'{"responseCode": 100, "handle": "88.1/X"}'


class ScriptedServer:
    """Answers `GET /api/handles/...` with the next (status, headers) of its script, then 404 Handle JSON."""

    def __init__(self, *script: tuple[int, dict[str, str]]) -> None:
        self.script = list(script)
        self.requests = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.script:
            status, headers = self.script.pop(0)
            return web.Response(
                status=status, body=NOT_FOUND, headers=headers, content_type="application/json"
            )
        return web.Response(status=404, body=NOT_FOUND, content_type="application/json")


async def ask(aiohttp_server: Any, server: ScriptedServer, **policy: Any) -> UpstreamAnswer | UpstreamError:
    app = web.Application()
    app.router.add_get("/api/handles/{handle:.*}", server.handle)
    running = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        upstream = Upstream(session, lambda: datetime.now(UTC))
        budget = UpstreamBudget(RetryPolicy(**{"backoff_seconds": 0.01, **policy}))
        try:
            return await upstream.resolve(
                str(running.make_url("")), "88.1/X", unreachable=NodeUnreachable, budget=budget
            )
        except UpstreamError as exc:
            return exc


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_a_gateway_or_unavailable_answer_is_tried_again(aiohttp_server, status):
    server = ScriptedServer((status, {}), (status, {"Retry-After": "0"}))
    answer = await ask(aiohttp_server, server)
    assert isinstance(answer, UpstreamAnswer)
    assert (answer.status, answer.code, server.requests) == (404, 100, 3)


async def test_a_retry_after_beyond_the_cap_ends_the_request_at_once(aiohttp_server):
    server = ScriptedServer((503, {"Retry-After": "120"}))
    failure = await ask(aiohttp_server, server, retry_after_max_seconds=2.0)
    assert isinstance(failure, NodeUnreachable)
    assert failure.reason == "answered HTTP 503; it asks to be retried after 120 s"
    assert server.requests == 1


async def test_the_last_attempt_s_failure_is_reported_with_the_attempts(aiohttp_server):
    server = ScriptedServer((503, {}), (502, {}), (504, {}))
    failure = await ask(aiohttp_server, server)
    assert isinstance(failure, NodeUnreachable)
    assert (failure.reason, server.requests) == ("answered HTTP 504 (3 attempts)", 3)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429])
async def test_a_client_error_is_an_answer_never_asked_again(aiohttp_server, status):
    server = ScriptedServer((status, {"Retry-After": "0"}))
    answer = await ask(aiohttp_server, server)
    assert isinstance(answer, UpstreamAnswer)
    assert (answer.status, server.requests) == (status, 1)


@pytest.mark.parametrize("status", [500, 501, 505])
async def test_a_server_error_other_than_502_to_504_is_not_asked_again(aiohttp_server, status):
    server = ScriptedServer((status, {}))
    failure = await ask(aiohttp_server, server)
    assert isinstance(failure, NodeUnreachable)
    assert (failure.reason, server.requests) == (f"answered HTTP {status}", 1)
