"""The resolver's memory on its own: ttl and LRU, encoded responses tied to their entry, single flight."""

from __future__ import annotations

import asyncio

import pytest

from resolver.cache import EncodedResponses, SingleFlight, TtlCache


def test_entries_expire_by_ttl_and_the_least_recently_used_go_first():
    cache: TtlCache[str] = TtlCache(2)
    a = cache.put("a", "A", now=100.0, ttl=10)
    assert a.fresh(109.9)
    assert not a.fresh(110.0)
    assert a.stale_for(115.0) == 5.0
    cache.put("b", "B", now=100.0, ttl=10)
    assert cache.get("a") is a  # a is now the most recently used
    cache.put("c", "C", now=100.0, ttl=10)
    assert list(cache) == ["a", "c"]
    assert cache.get("b") is None
    replaced = cache.put("a", "A2", now=101.0, ttl=10)
    assert not a.live
    assert replaced.live
    cache.clear()
    assert len(cache) == 0
    assert not replaced.live
    with pytest.raises(ValueError, match="at least one"):
        TtlCache(0)


def test_encoded_responses_live_only_as_long_as_their_entry():
    cache: TtlCache[str] = TtlCache(10)
    responses = EncodedResponses(2)
    entry = cache.put("k", "v", now=0.0, ttl=10)
    responses.store("/api/handles/x", entry, 200, b"{}")
    hit = responses.lookup("/api/handles/x", 5.0)
    assert hit is not None
    assert hit.body == b"{}"
    assert responses.lookup("/api/handles/x", 10.0) is None  # expired: dropped
    responses.store("/api/handles/x", entry, 200, b"{}")
    cache.put("k", "v2", now=1.0, ttl=10)  # a new answer replaces the entry
    assert responses.lookup("/api/handles/x", 2.0) is None
    fresh = cache.put("k", "v3", now=1.0, ttl=10)
    for n in range(3):
        responses.store(f"/t{n}", fresh, 200, b"x")
    assert len(responses) == 2
    assert responses.lookup("/t0", 2.0) is None


async def test_one_task_per_key_whose_result_or_failure_every_waiter_gets():
    flight: SingleFlight[int] = SingleFlight()
    started = 0
    gate = asyncio.Event()

    async def fetch() -> int:
        nonlocal started
        started += 1
        await gate.wait()
        return 7

    waiters = [asyncio.ensure_future(flight.run("k", fetch)) for _ in range(5)]
    while flight.waiters("k") < 5:
        await asyncio.sleep(0)
    # A waiter that goes away does not take the fetch down with it.
    waiters[0].cancel()
    gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert results == [7, 7, 7, 7]
    assert started == 1
    assert flight.waiters("k") == 0

    async def broken() -> int:
        raise RuntimeError("upstream said no")

    outcomes = await asyncio.gather(*(flight.run("b", broken) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)

    slow = asyncio.ensure_future(flight.run("s", asyncio.Event().wait))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await flight.close()
    with pytest.raises(asyncio.CancelledError):
        await slow
