"""Regional carbon-efficiency queries at the issue's scale: 500,000 enterprises × 12 months = 6,000,000 rows.

`regional()` generates the population (seeded), builds the `RegionalIndex` (timed, against a bare stable
argsort of the rows' keys; with the bytes of its arrays), then times province, city and county reports,
each without and with an industry filter, over QUERIES random regions of each level that hold data (p50
and p99, regulator view: every figure and the top enterprises), beside a bare
``np.bincount(child_ids, weights=emissions)`` over the same 6,000,000 rows in the same run (the goal: each
query within 3× of it). The largest region of each level is always among those timed. The national report,
the first query of a period (which computes the national benchmarks once) and province reports for a
quarter (where each enterprise's rows inside the quarter are summed again rather than read as one stored
year) are timed too.

The population: every county-level division of GB/T 2260 (and every city without counties, such as 东莞)
draws enterprises with a seeded log-normal weight, tripled in the ten most industrial provinces, so some
counties hold thousands of enterprises and many a handful; 30 manufacturing and power divisions with
log-normal sizes and their own carbon intensities; monthly added value, emissions, offsets and energy by
carrier; an official 2025 grade for four enterprises in five.

`tests.bench.regional_postgres` times the same reports as SQL on the same population.

`--quick` runs QUICK_ENTERPRISES enterprises and QUICK_QUERIES regions per level. Returns figures; asserts
nothing.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import numpy as np

from carbon_efficiency.model import CARRIERS
from carbon_efficiency.periods import parse_period
from carbon_efficiency.regional import IndexRows, RegionalIndex
from metadata_templates.codes import RegionLevel, children, provinces
from tests.bench.report import Figure, log
from tests.bench.timing import median_ms

ENTERPRISES: Final = 500_000
QUICK_ENTERPRISES: Final = 20_000
MONTHS: Final = 12
YEAR: Final = 2025
QUERIES: Final = 30
QUICK_QUERIES: Final = 5
SEED: Final = 2026
DIVISIONS: Final = (*(f"C{d}" for d in range(13, 42)), "D44")
INDUSTRIAL_PROVINCES: Final = ("13", "32", "33", "34", "35", "37", "41", "42", "44", "51")
"""A rough skew, not data: these provinces get three times the weight."""


def _places() -> list[str]:
    """Every county-level division, and every real city with no county under it."""
    found = []
    for province in provinces():
        for city in children(province.code):
            below = children(city.code)
            if below:
                found += [county.code for county in below if county.level is RegionLevel.COUNTY]
            elif not city.grouping:
                found.append(city.code)
    return found


def population(
    rng: np.random.Generator, enterprises: int = ENTERPRISES
) -> tuple[IndexRows, list[tuple[str, int, int]], np.ndarray[Any, Any]]:
    """The rows (month by month, as a crawl would bring them), the 2025 grades, and each row's province
    code (for the bare bincount)."""
    places = np.array(_places(), dtype=np.int64)
    weight = rng.lognormal(0.0, 1.0, places.size)
    weight[np.isin(places // 10_000, [int(p) for p in INDUSTRIAL_PROVINCES])] *= 3
    home = places[rng.choice(places.size, enterprises, p=weight / weight.sum())]
    division_weight = rng.lognormal(0.0, 0.8, len(DIVISIONS))
    division = rng.choice(len(DIVISIONS), enterprises, p=division_weight / division_weight.sum())
    classes = np.array(DIVISIONS, dtype=object)[division] + rng.integers(10, 100, enterprises).astype(
        str
    ).astype(object)
    prefixes = np.array([f"88.{100 + i // 1000}.{i % 1000 + 1}" for i in range(enterprises)], dtype=object)

    yearly_added = rng.lognormal(np.log(5_000), 1.2, enterprises)
    intensity = rng.lognormal(0.0, 0.8, len(DIVISIONS))[division] * rng.lognormal(0.0, 0.6, enterprises)
    offset_share = rng.uniform(0.0, 0.1, enterprises)
    shares = rng.dirichlet(np.ones(len(CARRIERS)), enterprises)
    noise = rng.lognormal(0.0, 0.15, (MONTHS, enterprises))
    added = (yearly_added / MONTHS) * noise
    emissions = added * intensity * rng.lognormal(0.0, 0.1, (MONTHS, enterprises))
    offsets = emissions * offset_share
    energy = (emissions * 12.0)[..., None] * shares  # ≈ 12 GJ per tCO₂, split by the enterprise's mix

    rows = IndexRows(
        prefix=np.tile(prefixes, MONTHS).tolist(),
        region=np.tile(home, MONTHS),
        industry=np.tile(classes, MONTHS).tolist(),
        month_start=np.repeat(YEAR * 12 + np.arange(MONTHS), enterprises),
        months=np.ones(MONTHS * enterprises, np.int64),
        emissions=emissions.ravel(),
        gross=(emissions + offsets).ravel(),
        added_value=added.ravel(),
        energy=energy.reshape(-1, len(CARRIERS)),
        offsets=offsets.ravel(),
    )
    graded = np.flatnonzero(rng.random(enterprises) < 0.8)
    grade = rng.choice(5, graded.size, p=[0.1, 0.2, 0.4, 0.2, 0.1]) + 1
    grades = [(prefixes[i], YEAR, int(g)) for i, g in zip(graded.tolist(), grade.tolist(), strict=True)]
    return rows, grades, np.tile(home // 10_000, MONTHS)


def percentiles(durations: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.array(durations) * 1000, [50, 99])
    return float(p50), float(p99)


def _timed(operation: Callable[[], object]) -> float:
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Prepared:
    """The population and its index, shared by the in-memory and the PostgreSQL benchmarks of one run."""

    enterprises: int
    rows: IndexRows
    grades: list[tuple[str, int, int]]
    province_of_row: np.ndarray[Any, Any]
    index: RegionalIndex
    generate_s: float
    build_s: float
    first_query_ms: float
    samples: dict[str, list[tuple[str, str]]]


@functools.lru_cache(maxsize=1)
def population_index(quick: bool) -> Prepared:
    """Generate the rows, build the index (timed) and its first query (timed), pick the regions to query."""
    enterprises, queries = (QUICK_ENTERPRISES, QUICK_QUERIES) if quick else (ENTERPRISES, QUERIES)
    log(f"  regional: generating {enterprises * MONTHS:,} rows")
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    rows, grades, province_of_row = population(rng, enterprises)
    generate_s = time.perf_counter() - started
    log("  regional: building the index")
    started = time.perf_counter()
    index = RegionalIndex.build(rows, grades)
    build_s = time.perf_counter() - started
    first_query_ms = _timed(lambda: index.query("330000", period=parse_period(str(YEAR)))) * 1000

    places = index.arrays.places
    choice = np.random.default_rng(SEED + 1)
    samples: dict[str, list[tuple[str, str]]] = {}
    for level in ("province", "city", "county"):
        codes = places[level].codes
        largest = int(np.argmax(np.bincount(places[level].of_run)))  # most enterprises: always timed
        others = np.delete(np.arange(codes.size), largest)
        picked = [largest, *choice.choice(others, min(queries, codes.size) - 1, replace=False).tolist()]
        divisions = choice.choice(len(DIVISIONS), len(picked))
        samples[level] = [
            (f"{int(codes[i]):06d}", DIVISIONS[d]) for i, d in zip(picked, divisions, strict=True)
        ]
    return Prepared(
        enterprises, rows, grades, province_of_row, index, generate_s, build_s, first_query_ms, samples
    )


def bare_bincount_ms(prepared: Prepared) -> float:
    """The ceiling of every query: one weighted bincount of all rows into provinces (median of 15)."""
    _, province_ids = np.unique(prepared.province_of_row, return_inverse=True)
    emissions = np.ascontiguousarray(prepared.rows.emissions, dtype=np.float64)
    return (
        statistics.median(_timed(lambda: np.bincount(province_ids, weights=emissions)) for _ in range(15))
        * 1000
    )


def index_query_seconds(prepared: Prepared, level: str, filtered: bool) -> list[float]:
    """Seconds of each regulator-view report of a level's sampled regions, with or without an industry."""
    period = parse_period(str(YEAR))
    query = partial(prepared.index.query, period=period, disclose_enterprises=True)
    return [
        _timed(partial(query, code, industry=division if filtered else None))
        for code, division in prepared.samples[level]
    ]


def regional(quick: bool) -> list[Figure]:
    """The regional index: build, size, and reports of every level against a bare bincount of all rows."""
    prepared = population_index(quick)
    rows, index = prepared.rows, prepared.index
    size = f"{len(rows):,} rows"
    keys = np.asarray(rows.region, dtype=np.int64) * 100_000 + np.asarray(rows.month_start, dtype=np.int64)
    bare_ms = bare_bincount_ms(prepared)
    bare_name = f"bare np.bincount(child_ids, weights=emissions), {size}"
    figures = [
        Figure(
            f"RegionalIndex.build, {size} ({prepared.enterprises:,} enterprises × {MONTHS})",
            prepared.build_s,
            "s",
            "lower",
            f"bare stable np.argsort of the {size}' region × month keys",
            median_ms(lambda: np.argsort(keys, kind="stable"), quick, runs=3) / 1000,
            f"validate, finest rule, sort, runs; generating the rows took {prepared.generate_s:.1f} s",
        ),
        Figure(
            "RegionalIndex arrays", index.nbytes / 2**20, "MB", "lower", note=f"{index.size:,} rows indexed"
        ),
        Figure(
            "first query of a period (+ national benchmarks, cached)",
            prepared.first_query_ms,
            "ms",
            "lower",
            bare_name,
            bare_ms,
        ),
    ]
    period = parse_period(str(YEAR))
    national = [
        _timed(lambda: index.query("000000", period=period, disclose_enterprises=True))
        for _ in range(3 if quick else 5)
    ]
    figures.append(
        Figure(
            "national report (every row, children = provinces)",
            statistics.median(national) * 1000,
            "ms",
            "lower",
            bare_name,
            bare_ms,
        )
    )
    for level in prepared.samples:
        for filtered in (False, True):
            p50, p99 = percentiles(index_query_seconds(prepared, level, filtered))
            what = (
                f"{level} report{' + industry' if filtered else ''}, {len(prepared.samples[level])} regions"
            )
            note = "regulator view: every figure and the top enterprises; goal: within 3× the bare bincount"
            figures.append(Figure(f"{what} p50", p50, "ms", "lower", bare_name, bare_ms, note))
            figures.append(Figure(f"{what} p99", p99, "ms", "lower", bare_name, bare_ms))
    quarter = parse_period(f"{YEAR}Q2")
    index.query("000000", period=quarter)  # the national figures of the quarter, once
    p50, p99 = percentiles(
        [_timed(partial(index.query, code, period=quarter)) for code, _ in prepared.samples["province"]]
    )
    note = "each enterprise's rows inside the quarter summed again"
    figures.append(
        Figure(f"province report, {quarter.text} p50", p50, "ms", "lower", bare_name, bare_ms, note)
    )
    figures.append(Figure(f"province report, {quarter.text} p99", p99, "ms", "lower", bare_name, bare_ms))
    return figures


if __name__ == "__main__":
    for figure in regional(quick=False):
        print(figure)
