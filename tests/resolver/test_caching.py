"""The resolver's cache: stale answers while a node is down, 503 beyond max_stale, negative caching, and
concurrent identical lookups answered by one upstream request."""

from __future__ import annotations

import asyncio

from handle_registry.identifiers import fold_ascii
from resolver.resolution import HANDLE_KEY
from tests.resolver.conftest import HANDLE_TTL, MAX_STALE, NEGATIVE_TTL, RECORD_TTL, Federation


async def test_a_cached_answer_is_served_stale_while_the_node_is_down(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node1, "ACT.2025")
    status, body = await f.resolve(resolver, handle)
    assert (status, body["verification"]["status"]) == (200, "verified")

    await f.stop_node(f.node1)
    resolver.clock.advance(HANDLE_TTL + 1)
    status, body = await f.resolve(resolver, handle)
    assert status == 200, body
    verification = body["verification"]
    assert (verification["status"], verification["cached"], verification["stale"]) == ("verified", True, True)

    await f.start_node(f.node1)
    status, body = await f.resolve(resolver, handle)
    assert status == 200, body
    assert (body["verification"]["cached"], body["verification"]["stale"]) == (False, False)

    # Down again, and now past the ttl by more than max_stale_seconds: no answer to give.
    await f.stop_node(f.node1)
    resolver.clock.advance(HANDLE_TTL + MAX_STALE + 1)
    status, body = await f.resolve(resolver, handle)
    assert (status, body["responseCode"], body["handle"]) == (503, 2, handle)
    assert f"node {f.node1.url}/api/handles/{handle}" in body["message"]


async def test_a_cached_prefix_record_is_served_stale_while_the_registry_is_down(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    assert (await f.resolve(resolver, handle))[0] == 200

    await f.stop_registry(f.root)
    resolver.clock.advance(RECORD_TTL + 1)
    # The prefix record is past its ttl and its registry silent: the node's fresh values are verified with
    # the stale prefix record, and the answer says so.
    status, body = await f.resolve(resolver, handle)
    assert status == 200, body
    assert (body["verification"]["status"], body["verification"]["stale"]) == ("verified", True)
    assert f.node2.probe.count(handle) == 2

    resolver.clock.advance(RECORD_TTL + MAX_STALE + 1)
    status, body = await f.resolve(resolver, handle)
    assert (status, body["responseCode"]) == (503, 2)
    assert f"registry {f.root.url}/api/handles/0.NA/88.200.1" in body["message"]

    await f.start_registry(f.root)
    status, body = await f.resolve(resolver, handle)
    assert (status, body["verification"]["status"], body["verification"]["stale"]) == (200, "verified", False)


async def test_not_found_is_cached_for_the_negative_ttl(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = "88.200.1/LATER"
    assert (await f.resolve(resolver, handle))[0] == 404
    await f.publish(f.node2, "LATER")
    assert (await f.resolve(resolver, handle))[0] == 404
    assert f.node2.probe.count(handle) == 1
    resolver.clock.advance(NEGATIVE_TTL + 1)
    status, body = await f.resolve(resolver, handle)
    assert (status, body["verification"]["status"]) == (200, "verified")
    assert f.node2.probe.count(handle) == 2

    # A prefix that does not exist is remembered as such: the root is asked once.
    asked = f.root.probe.counts["/api/handles/0.NA/88.999.1"]
    for _ in range(3):
        assert (await f.resolve(resolver, "88.999.1/X"))[0] == 404
        assert (await f.resolve(resolver, "88.999.1/Y"))[0] == 404
    assert f.root.probe.counts["/api/handles/0.NA/88.999.1"] == asked + 1


async def test_concurrent_identical_lookups_make_one_upstream_request(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    key = HANDLE_KEY + fold_ascii(handle)
    f.node2.probe.arm()
    requests = [asyncio.ensure_future(f.resolve(resolver, handle)) for _ in range(20)]
    async with asyncio.timeout(30):
        await f.node2.probe.arrived.wait()
        # Hold the node until every request has joined the lookup in flight.
        while resolver.ctx.flights.waiters(key) < 20:
            await asyncio.sleep(0)
    f.node2.probe.release()
    answers = await asyncio.gather(*requests)
    assert {(status, body["verification"]["status"]) for status, body in answers} == {(200, "verified")}
    assert f.node2.probe.count(handle) == 1
    assert resolver.ctx.flights.waiters(key) == 0


async def test_prefix_records_are_checked_again_within_max_prefix_ttl_whatever_the_registry_allows(
    federation: Federation,
):
    f = federation
    cap = RECORD_TTL // 2  # the registry allows RECORD_TTL; the resolver trusts its cache for half of it
    resolver = await f.start_resolver(max_prefix_ttl_seconds=cap)
    handle = await f.publish(f.node2, "ACT.2025")
    record = "/api/handles/0.NA/88.200.1"
    assert (await f.resolve(resolver, handle))[0] == 200
    asked = f.root.probe.counts[record]

    resolver.clock.advance(HANDLE_TTL + 1)  # the answer expired, the prefix record not yet
    assert (await f.resolve(resolver, handle))[0] == 200
    assert f.root.probe.counts[record] == asked

    resolver.clock.advance(cap)  # past the cap, still within the registry's ttl: the keys are asked for again
    status, body = await f.resolve(resolver, handle)
    assert (status, body["verification"]["status"]) == (200, "verified")
    assert f.root.probe.counts[record] == asked + 1
