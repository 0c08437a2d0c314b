"""The resolver's memory: answers by key with a ttl, LRU-bounded; encoded responses; lookups in flight.

- `TtlCache` keeps values by key until `expires_at`, and past it for stale serving (the caller decides how
  stale is too stale); beyond `max_entries` the least recently used entry goes. A replaced or evicted
  entry is marked dead, so anything derived from it (an encoded response) stops being served.
- `EncodedResponses` maps a raw request target (path and query, exactly as received) to the bytes of the
  answer, so a cached resolution is one dictionary lookup, not a parse, a filter and a JSON encoding.
- `SingleFlight` runs one task per key: concurrent identical lookups await the same upstream fetch, and a
  waiter that goes away (a client disconnects) does not cancel it for the others.

Times are seconds on the resolver's clock (injected, so tests expire entries without sleeping).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True, eq=False)
class CacheEntry(Generic[T]):
    """One cached value: when it was stored, until when it is fresh, and whether it is still the current one."""

    key: str
    value: T
    stored_at: float
    expires_at: float
    live: bool = True

    def fresh(self, now: float) -> bool:
        """True while the entry is current and within its ttl."""
        return self.live and now < self.expires_at

    def stale_for(self, now: float) -> float:
        """Seconds past its ttl (0 while fresh)."""
        return max(0.0, now - self.expires_at)


class TtlCache(Generic[T]):
    """Values by key with a ttl each, at most `max_entries` of them (least recently used go first)."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("a cache holds at least one entry")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CacheEntry[T]] = OrderedDict()

    def get(self, key: str) -> CacheEntry[T] | None:
        """The entry for `key`, fresh or not (and mark it recently used)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def touch(self, key: str) -> None:
        """Mark `key` recently used (a hit served from an encoded response)."""
        if key in self._entries:
            self._entries.move_to_end(key)

    def put(self, key: str, value: T, *, now: float, ttl: float) -> CacheEntry[T]:
        """Store `value` under `key` for `ttl` seconds, replacing (and killing) any previous entry."""
        entry = CacheEntry(key, value, now, now + max(ttl, 0.0))
        previous = self._entries.pop(key, None)
        if previous is not None:
            previous.live = False
        self._entries[key] = entry
        while len(self._entries) > self.max_entries:
            _, evicted = self._entries.popitem(last=False)
            evicted.live = False
        return entry

    def drop(self, key: str) -> None:
        """Forget `key`."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            entry.live = False

    def clear(self) -> None:
        """Forget everything."""
        for entry in self._entries.values():
            entry.live = False
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))


@dataclass(frozen=True, slots=True)
class EncodedResponse:
    """The status and body bytes of an answer derived from `entry`: valid while the entry is fresh."""

    entry: CacheEntry[Any]
    status: int
    body: bytes


class EncodedResponses:
    """Encoded answers by raw request target, at most `max_entries` (least recently used go first)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._responses: OrderedDict[str, EncodedResponse] = OrderedDict()

    def lookup(self, target: str, now: float) -> EncodedResponse | None:
        """The encoded answer for `target` if its entry is still current and fresh; None otherwise."""
        response = self._responses.get(target)
        if response is None:
            return None
        if not response.entry.fresh(now):
            del self._responses[target]
            return None
        self._responses.move_to_end(target)
        return response

    def store(self, target: str, entry: CacheEntry[Any], status: int, body: bytes) -> None:
        """Remember the encoded answer for `target`."""
        self._responses[target] = EncodedResponse(entry, status, body)
        self._responses.move_to_end(target)
        while len(self._responses) > self.max_entries:
            self._responses.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        self._responses.clear()

    def __len__(self) -> int:
        return len(self._responses)


@dataclass(slots=True)
class SingleFlight(Generic[T]):
    """At most one running task per key; every caller asking for the key meanwhile awaits that task."""

    _tasks: dict[str, asyncio.Task[T]] = field(default_factory=dict)
    _waiters: dict[str, int] = field(default_factory=dict)

    async def run(self, key: str, start: Callable[[], Awaitable[T]]) -> T:
        """The result of the task running for `key`, starting `start()` as that task if none is."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(start())
            self._tasks[key] = task
            task.add_done_callback(lambda done, key=key: self._finished(key, done))  # type: ignore[misc]
        self._waiters[key] = self._waiters.get(key, 0) + 1
        # Shielded: a waiter cancelled (its client went away) leaves the fetch running for the others.
        return await asyncio.shield(task)

    def waiters(self, key: str) -> int:
        """How many callers have awaited the task now running for `key` (0 when none runs)."""
        return self._waiters.get(key, 0) if key in self._tasks else 0

    def _finished(self, key: str, task: asyncio.Task[T]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
            self._waiters.pop(key, None)
        if not task.cancelled():
            # Retrieved here, so a failure every waiter walked away from is not reported as never retrieved.
            task.exception()

    async def close(self) -> None:
        """Cancel every running task and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._waiters.clear()
