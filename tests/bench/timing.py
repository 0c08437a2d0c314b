"""How the benchmarks time things, in one place: medians of batches after a warm-up, full or quick.

A rate is the median of BATCHES batches, each running for about BATCH_SECONDS; a duration is the median of
a few runs. `--quick` shortens both, to try the machinery in seconds (its figures are not for comparing).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    """How long to measure: batches × seconds per batch for rates, runs for durations."""

    batches: int
    batch_seconds: float
    runs: int


FULL = Timing(batches=5, batch_seconds=0.2, runs=7)
QUICK = Timing(batches=3, batch_seconds=0.04, runs=3)


def timing(quick: bool) -> Timing:
    """The timing of a full or a quick run."""
    return QUICK if quick else FULL


def rate(operation: Callable[[], object], quick: bool) -> float:
    """Median operations per second of `operation` (called once first to warm caches)."""
    plan = timing(quick)
    operation()
    per_second = []
    for _ in range(plan.batches):
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < plan.batch_seconds:
            operation()
            count += 1
        per_second.append(count / elapsed)
    return statistics.median(per_second)


async def async_rate(operation: Callable[[], Awaitable[object]], quick: bool) -> float:
    """`rate` for a coroutine function, awaited one call at a time on the running loop."""
    plan = timing(quick)
    await operation()
    per_second = []
    for _ in range(plan.batches):
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < plan.batch_seconds:
            await operation()
            count += 1
        per_second.append(count / elapsed)
    return statistics.median(per_second)


def median_ms(operation: Callable[[], object], quick: bool, runs: int | None = None) -> float:
    """Median milliseconds of `operation` over `runs` runs (the timing's default) after one warm-up."""
    operation()  # imports, cached tables, page faults of first allocations
    durations = []
    for _ in range(runs or timing(quick).runs):
        started = time.perf_counter()
        operation()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000
