"""The regional reports as SQL on PostgreSQL, on the population of `tests.bench.regional`.

When PostgreSQL answers (``CARBONID_TEST_POSTGRES_URL``, else 127.0.0.1:5432 as user postgres, database
test; otherwise the benchmark is skipped, before any row is generated), the rows of the regional benchmark
(the same population, generated once per run) are copied into a table of a throw-away schema (dropped
afterwards), indexed, and the equivalent SQL (child regions with grade counts, industries, top enterprises,
monthly trend: four GROUP BY statements) is timed on the same regions. The ceiling is the same bare bincount
of all rows; the in-memory index's time for the same regions is in each figure's note.

The SQL relies on what the generated population guarantees (one monthly row per enterprise and month, so no
finest-granularity rule is needed; codes in letter form, so the division is the first three characters).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Final

import numpy as np

from carbon_efficiency.model import CARRIERS
from carbon_efficiency.regional import IndexRows
from tests.bench.regional import (
    YEAR,
    Prepared,
    bare_bincount_ms,
    index_query_seconds,
    percentiles,
    population_index,
)
from tests.bench.report import Figure, Skipped, log

POSTGRES_DEFAULT: Final = "postgresql://postgres@127.0.0.1:5432/test"


def regional_postgres(quick: bool) -> list[Figure]:
    """The same reports as SQL on PostgreSQL (when it answers), against the same bare bincount."""
    url = os.environ.get("CARBONID_TEST_POSTGRES_URL") or POSTGRES_DEFAULT
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        import asyncpg  # type: ignore[import-untyped]  # only this benchmark talks to the driver directly
    except ImportError as error:
        raise Skipped(f"asyncpg is not installed ({error})") from None

    async def connect() -> Any:
        try:
            return await asyncpg.connect(dsn, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            raise Skipped(f"PostgreSQL does not answer at {dsn}: {type(error).__name__}: {error}") from None

    async def measure() -> list[Figure]:
        connection = await connect()  # before the population is generated: skipping costs nothing
        schema = f"bench_regional_{os.getpid()}"
        try:
            version = await connection.fetchval("SHOW server_version")
            prepared = population_index(quick)
            await connection.execute(f"CREATE SCHEMA {schema}; SET search_path TO {schema}")
            return await _postgres_run(connection, prepared, f"PostgreSQL {version}")
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


async def _postgres_run(connection: Any, prepared: Prepared, server: str) -> list[Figure]:
    """Load, index and time the equivalent SQL in the connection's (throw-away) schema."""
    rows, grades = prepared.rows, prepared.grades
    await connection.execute(
        "CREATE TABLE rows (prefix text, region integer, division text, month_start integer, months smallint,"
        " emissions float8, gross float8, added_value float8, offsets float8, coal float8, oil float8,"
        " gas float8, electricity float8, heat float8, other float8);"
        " CREATE TABLE grades (prefix text, year integer, grade smallint)"
    )
    log(f"  regional_postgres: COPY {len(rows):,} rows")
    started = time.perf_counter()
    await _copy(connection, rows)
    await connection.copy_records_to_table("grades", records=grades)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    await connection.execute(
        "CREATE INDEX ON rows (region, month_start); CREATE INDEX ON rows (division, region);"
        " CREATE UNIQUE INDEX ON grades (prefix, year); ANALYZE rows; ANALYZE grades"
    )
    index_s = time.perf_counter() - started
    figures = [
        Figure(f"COPY {len(rows):,} rows and the grades", load_s, "s", "lower", note=server),
        Figure("CREATE INDEX (2) + ANALYZE", index_s, "s", "lower"),
    ]
    bare_ms = bare_bincount_ms(prepared)
    bare_name = f"bare np.bincount(child_ids, weights=emissions), {len(rows):,} rows"
    month = YEAR * 12
    for level, sample in prepared.samples.items():
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
            p50, p99 = percentiles(durations)
            index_p50, index_p99 = percentiles(index_query_seconds(prepared, level, filtered))
            what = f"{level}{' + industry' if filtered else ''}, four GROUP BY, {len(sample)} regions"
            figures.append(
                Figure(
                    f"{what} p50",
                    p50,
                    "ms",
                    "lower",
                    bare_name,
                    bare_ms,
                    f"RegionalIndex: {index_p50:.1f} ms",
                )
            )
            figures.append(
                Figure(
                    f"{what} p99",
                    p99,
                    "ms",
                    "lower",
                    bare_name,
                    bare_ms,
                    f"RegionalIndex: {index_p99:.1f} ms",
                )
            )
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
    for figure in regional_postgres(quick=False):
        print(figure)
