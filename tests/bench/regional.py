"""Regional carbon-efficiency queries at the issue's scale: 500,000 enterprises × 12 months = 6,000,000 rows.

`run()` generates the population (seeded), builds the `RegionalIndex` (timed, with the bytes of its arrays),
then times province, city and county reports, each without and with an industry filter, over QUERIES
random regions of each level that hold data (p50 and p99, regulator view: every figure and the top
enterprises), beside a bare ``np.bincount(child_ids, weights=emissions)`` over the same 6,000,000 rows in
the same run (the goal: each query within 3× of it). The largest region of each level is always among
those timed. The national report, the first query of a period (which computes the national benchmarks
once) and province reports for a quarter (where each enterprise's rows inside the quarter are summed
again rather than read as one stored year) are timed too.

The population: every county-level division of GB/T 2260 (and every city without counties, such as 东莞)
draws enterprises with a seeded log-normal weight, tripled in the ten most industrial provinces, so some
counties hold thousands of enterprises and many a handful; 30 manufacturing and power divisions with
log-normal sizes and their own carbon intensities; monthly added value, emissions, offsets and energy by
carrier; an official 2025 grade for four enterprises in five.

When PostgreSQL answers (``CARBONID_TEST_POSTGRES_URL``, else 127.0.0.1:5432 as user postgres, database
test) the same rows are copied into a table of a throw-away schema (dropped afterwards), indexed, and the
equivalent SQL (child regions with grade counts, industries, top enterprises, monthly trend: four GROUP BY
statements) is timed on the same regions. The SQL relies on what the generated population guarantees (one
monthly row per enterprise and month, so no finest-granularity rule is needed; codes in letter form,
so the division is the first three characters).

Prints figures and returns them; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from carbon_efficiency.model import CARRIERS
from carbon_efficiency.periods import parse_period
from carbon_efficiency.regional import IndexRows, RegionalIndex
from metadata_templates.codes import RegionLevel, children, provinces

ENTERPRISES: Final = 500_000
MONTHS: Final = 12
YEAR: Final = 2025
QUERIES: Final = 30
SEED: Final = 2026
DIVISIONS: Final = (*(f"C{d}" for d in range(13, 42)), "D44")
INDUSTRIAL_PROVINCES: Final = ("13", "32", "33", "34", "35", "37", "41", "42", "44", "51")
"""A rough skew, not data: these provinces get three times the weight."""
POSTGRES_DEFAULT: Final = "postgresql://postgres@127.0.0.1:5432/test"


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
    rng: np.random.Generator,
) -> tuple[IndexRows, list[tuple[str, int, int]], np.ndarray[Any, Any]]:
    """The rows (month by month, as a crawl would bring them), the 2025 grades, and each row's province
    code (for the bare bincount)."""
    places = np.array(_places(), dtype=np.int64)
    weight = rng.lognormal(0.0, 1.0, places.size)
    weight[np.isin(places // 10_000, [int(p) for p in INDUSTRIAL_PROVINCES])] *= 3
    home = places[rng.choice(places.size, ENTERPRISES, p=weight / weight.sum())]
    division_weight = rng.lognormal(0.0, 0.8, len(DIVISIONS))
    division = rng.choice(len(DIVISIONS), ENTERPRISES, p=division_weight / division_weight.sum())
    classes = np.array(DIVISIONS, dtype=object)[division] + rng.integers(10, 100, ENTERPRISES).astype(
        str
    ).astype(object)
    prefixes = np.array([f"88.{100 + i // 1000}.{i % 1000 + 1}" for i in range(ENTERPRISES)], dtype=object)

    yearly_added = rng.lognormal(np.log(5_000), 1.2, ENTERPRISES)
    intensity = rng.lognormal(0.0, 0.8, len(DIVISIONS))[division] * rng.lognormal(0.0, 0.6, ENTERPRISES)
    offset_share = rng.uniform(0.0, 0.1, ENTERPRISES)
    shares = rng.dirichlet(np.ones(len(CARRIERS)), ENTERPRISES)
    noise = rng.lognormal(0.0, 0.15, (MONTHS, ENTERPRISES))
    added = (yearly_added / MONTHS) * noise
    emissions = added * intensity * rng.lognormal(0.0, 0.1, (MONTHS, ENTERPRISES))
    offsets = emissions * offset_share
    energy = (emissions * 12.0)[..., None] * shares  # ≈ 12 GJ per tCO₂, split by the enterprise's mix

    rows = IndexRows(
        prefix=np.tile(prefixes, MONTHS).tolist(),
        region=np.tile(home, MONTHS),
        industry=np.tile(classes, MONTHS).tolist(),
        month_start=np.repeat(YEAR * 12 + np.arange(MONTHS), ENTERPRISES),
        months=np.ones(MONTHS * ENTERPRISES, np.int64),
        emissions=emissions.ravel(),
        gross=(emissions + offsets).ravel(),
        added_value=added.ravel(),
        energy=energy.reshape(-1, len(CARRIERS)),
        offsets=offsets.ravel(),
    )
    graded = np.flatnonzero(rng.random(ENTERPRISES) < 0.8)
    grade = rng.choice(5, graded.size, p=[0.1, 0.2, 0.4, 0.2, 0.1]) + 1
    grades = [(prefixes[i], YEAR, int(g)) for i, g in zip(graded.tolist(), grade.tolist(), strict=True)]
    return rows, grades, np.tile(home // 10_000, MONTHS)


def _percentiles(durations: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.array(durations) * 1000, [50, 99])
    return float(p50), float(p99)


def _timed(operation: Callable[[], object]) -> float:
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


def _line(name: str, text: str) -> None:
    print(f"{name:58} {text}", flush=True)


def run() -> dict[str, float]:
    """Measure and print the regional figures; return them by name (ms, MB, ratios)."""
    rng = np.random.default_rng(SEED)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    rows, grades, province_of_row = population(rng)
    figures["generate_s"] = time.perf_counter() - started
    _line(
        f"generate {len(rows):,} rows ({ENTERPRISES:,} enterprises × {MONTHS})",
        f"{figures['generate_s']:10.1f} s",
    )

    started = time.perf_counter()
    index = RegionalIndex.build(rows, grades)
    figures["build_s"] = time.perf_counter() - started
    figures["index_mb"] = index.nbytes / 2**20
    _line(
        "RegionalIndex.build (validate, finest rule, sort, runs)",
        f"{figures['build_s']:10.1f} s   {figures['index_mb']:,.0f} MB of arrays, {index.size:,} rows",
    )

    period = parse_period(str(YEAR))
    figures["first_query_ms"] = _timed(lambda: index.query("330000", period=period)) * 1000
    _line(
        "  first query of the period (+ national benchmarks, cached)", f"{figures['first_query_ms']:10.1f} ms"
    )

    _, province_ids = np.unique(province_of_row, return_inverse=True)
    emissions = np.ascontiguousarray(rows.emissions, dtype=np.float64)
    bare = [_timed(lambda: np.bincount(province_ids, weights=emissions)) for _ in range(15)]
    figures["bare_bincount_ms"] = statistics.median(bare) * 1000
    _line(
        f"bare np.bincount(child_ids, weights=emissions), {emissions.size:,} rows",
        f"{figures['bare_bincount_ms']:10.1f} ms",
    )

    national = [
        _timed(lambda: index.query("000000", period=period, disclose_enterprises=True)) for _ in range(5)
    ]
    figures["national_ms"] = statistics.median(national) * 1000
    _line("national report (all 6M rows, children = provinces)", f"{figures['national_ms']:10.1f} ms")

    places = index.arrays.places
    choice = np.random.default_rng(SEED + 1)
    samples: dict[str, list[tuple[str, str]]] = {}
    for level in ("province", "city", "county"):
        codes = places[level].codes
        largest = int(np.argmax(np.bincount(places[level].of_run)))  # most enterprises: always timed
        others = np.delete(np.arange(codes.size), largest)
        picked = [largest, *choice.choice(others, min(QUERIES, codes.size) - 1, replace=False).tolist()]
        divisions = choice.choice(len(DIVISIONS), len(picked))
        samples[level] = [
            (f"{int(codes[i]):06d}", DIVISIONS[d]) for i, d in zip(picked, divisions, strict=True)
        ]
    print(
        f"{'report (regulator view), ' + str(QUERIES) + ' regions each':58} {'p50':>10} {'p99':>10} {'p50/bare':>9} {'p99/bare':>9}"
    )
    for level, sample in samples.items():
        for filtered in (False, True):
            durations = [
                _timed(
                    lambda code=code, industry=division if filtered else None: index.query(
                        code, period=period, industry=industry, disclose_enterprises=True
                    )
                )
                for code, division in sample
            ]
            name = f"{level}{'_industry' if filtered else ''}"
            p50, p99 = _percentiles(durations)
            bare_ms = figures["bare_bincount_ms"]
            figures[f"{name}_p50_ms"], figures[f"{name}_p99_ms"] = p50, p99
            figures[f"{name}_p50_ratio"], figures[f"{name}_p99_ratio"] = p50 / bare_ms, p99 / bare_ms
            print(
                f"{'  ' + level + (' + industry' if filtered else ''):58} {p50:8.1f}ms {p99:8.1f}ms"
                f" {p50 / bare_ms:8.2f}× {p99 / bare_ms:8.2f}×",
                flush=True,
            )
    quarter = parse_period(f"{YEAR}Q2")
    index.query("000000", period=quarter)  # the national figures of the quarter, once
    durations = [
        _timed(lambda code=code: index.query(code, period=quarter)) for code, _ in samples["province"]
    ]
    figures["province_quarter_p50_ms"], figures["province_quarter_p99_ms"] = _percentiles(durations)
    _line(
        f"  province, {quarter.text} (runs summed again from their rows)",
        f"{figures['province_quarter_p50_ms']:8.1f}ms {figures['province_quarter_p99_ms']:8.1f}ms",
    )
    figures.update(_postgres(rows, grades, samples))
    return figures


def _postgres(
    rows: IndexRows, grades: list[tuple[str, int, int]], samples: dict[str, list[tuple[str, str]]]
) -> dict[str, float]:
    """The same queries on PostgreSQL, or a line saying why there is none."""
    url = os.environ.get("CARBONID_TEST_POSTGRES_URL") or POSTGRES_DEFAULT
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        import asyncpg  # only this benchmark talks to the driver directly
    except ImportError as error:
        _line("PostgreSQL", f"not available ({error})")
        return {}

    async def measure() -> dict[str, float]:
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            _line("PostgreSQL", f"not available ({dsn}: {type(error).__name__}: {error})")
            return {}
        schema = f"bench_regional_{os.getpid()}"
        try:
            await connection.execute(f"CREATE SCHEMA {schema}; SET search_path TO {schema}")
            return await _postgres_run(connection, rows, grades, samples)
        finally:
            await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await connection.close()

    return asyncio.run(measure())


CHUNK: Final = 200_000

CHILDREN_SQL: Final = """
SELECT r.region / $4 AS child, count(DISTINCT r.prefix), sum(emissions), sum(gross), sum(added_value), sum(offsets),
       sum(coal), sum(oil), sum(gas), sum(electricity), sum(heat), sum(other),
       count(DISTINCT r.prefix) FILTER (WHERE g.grade = 1), count(DISTINCT r.prefix) FILTER (WHERE g.grade = 2),
       count(DISTINCT r.prefix) FILTER (WHERE g.grade = 3), count(DISTINCT r.prefix) FILTER (WHERE g.grade = 4),
       count(DISTINCT r.prefix) FILTER (WHERE g.grade = 5), count(DISTINCT r.prefix) FILTER (WHERE g.grade IS NULL)
FROM rows r LEFT JOIN grades g ON g.prefix = r.prefix AND g.year = $5
WHERE r.region BETWEEN $1 AND $2 AND r.month_start >= $3 AND r.month_start + r.months <= $3 + 12 {division}
GROUP BY 1 ORDER BY 1
"""
INDUSTRIES_SQL: Final = """
SELECT division, count(DISTINCT prefix), sum(emissions), sum(gross), sum(added_value), sum(offsets),
       sum(coal), sum(oil), sum(gas), sum(electricity), sum(heat), sum(other)
FROM rows WHERE region BETWEEN $1 AND $2 AND month_start >= $3 AND month_start + months <= $3 + 12 {division}
GROUP BY 1 ORDER BY 3 DESC
"""
ENTERPRISES_SQL: Final = """
SELECT prefix, region, division, sum(emissions) AS e, sum(added_value)
FROM rows WHERE region BETWEEN $1 AND $2 AND month_start >= $3 AND month_start + months <= $3 + 12 {division}
GROUP BY 1, 2, 3 ORDER BY e DESC, prefix LIMIT 20
"""
TREND_SQL: Final = """
SELECT month_start, count(DISTINCT prefix), sum(emissions), sum(added_value)
FROM rows WHERE region BETWEEN $1 AND $2 AND month_start >= $3 AND month_start < $3 + 12 AND months = 1 {division}
GROUP BY 1 ORDER BY 1
"""
SPAN: Final = {"province": 10_000, "city": 100, "county": 1}
CHILD: Final = {"province": 100, "city": 1, "county": 1}


async def _postgres_run(
    connection: Any,
    rows: IndexRows,
    grades: list[tuple[str, int, int]],
    samples: dict[str, list[tuple[str, str]]],
) -> dict[str, float]:
    """Load, index and time the equivalent SQL in the connection's (throw-away) schema."""
    figures: dict[str, float] = {}
    await connection.execute(
        "CREATE TABLE rows (prefix text, region integer, division text, month_start integer, months smallint,"
        " emissions float8, gross float8, added_value float8, offsets float8, coal float8, oil float8,"
        " gas float8, electricity float8, heat float8, other float8);"
        " CREATE TABLE grades (prefix text, year integer, grade smallint)"
    )
    started = time.perf_counter()
    await _copy(connection, rows)
    await connection.copy_records_to_table("grades", records=grades)
    figures["pg_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    await connection.execute(
        "CREATE INDEX ON rows (region, month_start); CREATE INDEX ON rows (division, region);"
        " CREATE UNIQUE INDEX ON grades (prefix, year); ANALYZE rows; ANALYZE grades"
    )
    figures["pg_index_s"] = time.perf_counter() - started
    _line(
        f"PostgreSQL: COPY {len(rows):,} rows / CREATE INDEX + ANALYZE",
        f"{figures['pg_load_s']:10.1f} s {figures['pg_index_s']:8.1f} s",
    )
    month = YEAR * 12
    for level, sample in samples.items():
        for filtered in (False, True):
            durations = []
            for code, division in sample:
                low = int(code)
                arguments = (low, low + SPAN[level] - 1, month)
                extra = (division,) if filtered else ()
                started = time.perf_counter()
                clause = "AND division = $6" if filtered else ""
                await connection.fetch(
                    CHILDREN_SQL.format(division=clause), *arguments, CHILD[level], YEAR, *extra
                )
                clause = "AND division = $4" if filtered else ""
                for sql in (INDUSTRIES_SQL, ENTERPRISES_SQL, TREND_SQL):
                    await connection.fetch(sql.format(division=clause), *arguments, *extra)
                durations.append(time.perf_counter() - started)
            name = f"pg_{level}{'_industry' if filtered else ''}"
            p50, p99 = _percentiles(durations)
            figures[f"{name}_p50_ms"], figures[f"{name}_p99_ms"] = p50, p99
            _line(f"  PostgreSQL {level}{' + industry' if filtered else ''}", f"{p50:8.1f}ms {p99:8.1f}ms")
    return figures


async def _copy(connection: Any, rows: IndexRows) -> None:
    energy = np.asarray(rows.energy)
    columns = [
        rows.prefix,
        np.asarray(rows.region),
        [code[:3] for code in rows.industry],
        np.asarray(rows.month_start),
        np.asarray(rows.months),
        np.asarray(rows.emissions),
        np.asarray(rows.gross),
        np.asarray(rows.added_value),
        np.asarray(rows.offsets),
        *(energy[:, i] for i in range(len(CARRIERS))),
    ]
    for start in range(0, len(rows), CHUNK):
        chunk = [
            column[start : start + CHUNK].tolist()
            if isinstance(column, np.ndarray)
            else column[start : start + CHUNK]
            for column in columns
        ]
        await connection.copy_records_to_table("rows", records=zip(*chunk, strict=True))


if __name__ == "__main__":
    run()
