"""The columnar index behind regional carbon-efficiency queries: activity-data rows as numpy arrays.

`carbon_efficiency.regional` answers a regulator's question (a region, a period, perhaps an industry) from
this index, with the array work of `carbon_efficiency.regional_cells`; this module lays out, once, the rows
that `carbon_efficiency.regional_rows` validated and freed of double counting.

**Layout.** Rows are sorted by (year of the first month, county code, prefix, division, first month):

* a *partition* is the rows starting in one calendar year; inside it, a region is one contiguous range
  (province ``33`` is the codes 330000 … 339999, city ``3305`` the codes 330500 … 330599, a county its own
  code), found with two binary searches;
* a *run* is the rows of one prefix in one county and division starting in one year: contiguous and in
  month order. Each run keeps the Σ of its rows (`run_totals`) and the months it spans, so a yearly query
  reads one number per enterprise instead of its twelve monthly rows, and only runs that stick out of the
  period are summed again from their rows;
* each figure is one contiguous float64 array (`values[column]`, `run_totals[column]`), read without
  strides.

**Enterprises.** An enterprise is a prefix; counts are of distinct prefixes. When every prefix has a
single county and division in each year (the usual case, checked at build time), a run *is* an
enterprise within a partition and counting is a `bincount`; otherwise distinct prefixes are counted with
`np.unique`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from carbon_efficiency.regional_rows import (
    ADDED_VALUE,
    EMISSIONS,
    Grades,
    IndexRows,
    check_rows,
    finest_rows,
    grade_table,
)

GRADE_SLOTS: Final = 6
"""Grade codes in arrays: 0 ungraded, 1 … 5 the official grades."""


@dataclass(frozen=True, slots=True)
class PlaceLevel:
    """The regions of one GB/T 2260 level that hold data, and the run → region id map."""

    codes: NDArray[np.int32]
    """6-digit codes in ascending order; the region id is the position."""
    of_run: NDArray[np.int32]
    """The region id of each run (non-decreasing inside a partition, as runs are in code order there)."""


@dataclass(frozen=True, slots=True)
class TrendCube:
    """Trend figures per cell (partition, county, division) and month or quarter, so a region's trend is
    the Σ of a contiguous range of cells rather than a pass over its rows. Kept only for a one-home index
    (`IndexArrays.one_home`), where enterprise counts of different cells add up."""

    code: NDArray[np.int32]
    """The county code of each cell; cells are in (partition, code, division) order."""
    division: NDArray[np.int16]
    partition_first_cell: NDArray[np.int64]
    enterprises: dict[int, NDArray[np.int64]]
    """Months per bucket (1, 3) → cells × buckets: enterprises with a row inside the bucket."""
    emissions: dict[int, NDArray[np.float64]]
    added_value: dict[int, NDArray[np.float64]]

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        arrays: list[NDArray[Any]] = [self.code, self.division, self.partition_first_cell]
        arrays += [*self.enterprises.values(), *self.emissions.values(), *self.added_value.values()]
        return sum(a.nbytes for a in arrays)


@dataclass(frozen=True, slots=True)
class IndexArrays:
    """The sorted rows, their runs, the year partitions and the dictionaries of their codes."""

    row_run: NDArray[np.int32]
    row_division: NDArray[np.int16]
    row_first_month: NDArray[np.int32]
    """Month index (year × 12 + month − 1) of the first month a row covers."""
    row_last_month: NDArray[np.int32]
    values: NDArray[np.float64]
    """len(COLUMNS) × rows, each figure a contiguous row."""
    run_first_row: NDArray[np.int64]
    """Where each run starts, plus the row count at the end."""
    run_code: NDArray[np.int32]
    run_prefix: NDArray[np.int32]
    run_division: NDArray[np.int16]
    run_first_month: NDArray[np.int32]
    run_last_month: NDArray[np.int32]
    """The last month any row of the run covers."""
    run_totals: NDArray[np.float64]
    """len(COLUMNS) × runs: Σ of each run's rows."""
    partition_years: tuple[int, ...]
    """The years rows start in, ascending; partition i holds the runs of partition_first_run[i:i + 2]."""
    partition_first_run: NDArray[np.int64]
    places: dict[str, PlaceLevel]
    """By level: province, city, county."""
    prefixes: tuple[str, ...]
    """In ascending order; a prefix id is the position."""
    divisions: tuple[str, ...]
    """Division codes (``C32``) in ascending order; a division id is the position."""
    grade_years: tuple[int, ...]
    grades: NDArray[np.int8]
    """prefixes × grade_years, 0 where there is no certificate."""
    years: tuple[int, ...]
    """Calendar years any row covers, ascending."""
    one_home: bool
    """True when inside each partition every prefix has a single run (one county, one division)."""
    dropped: int
    """Rows left out by the finest-granularity rule."""
    trend_cube: TrendCube | None

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (not the prefix strings)."""
        arrays: list[NDArray[Any]] = [
            self.row_run,
            self.row_division,
            self.row_first_month,
            self.row_last_month,
            self.values,
            self.run_first_row,
            self.run_code,
            self.run_prefix,
            self.run_division,
            self.run_first_month,
            self.run_last_month,
            self.run_totals,
            self.partition_first_run,
            self.grades,
        ]
        arrays += [a for level in self.places.values() for a in (level.codes, level.of_run)]
        return sum(a.nbytes for a in arrays) + (self.trend_cube.nbytes if self.trend_cube else 0)

    def grades_in(self, year: int) -> NDArray[np.int8]:
        """The grade of every prefix for a year (0 where none)."""
        if year not in self.grade_years:
            return np.zeros(len(self.prefixes), np.int8)
        return self.grades[:, self.grade_years.index(year)]

    def partitions(self, first_year: int, last_year: int) -> range:
        """The partitions of rows starting in first_year … last_year."""
        years = self.partition_years
        return range(bisect_left(years, first_year), bisect_right(years, last_year))

    def region_runs(self, partition: int, codes: tuple[int, int]) -> tuple[int, int]:
        """The runs of a partition whose region code lies in codes[0] … codes[1]: one contiguous range."""
        low, high = int(self.partition_first_run[partition]), int(self.partition_first_run[partition + 1])
        in_partition = self.run_code[low:high]
        return (
            low + int(np.searchsorted(in_partition, codes[0], "left")),
            low + int(np.searchsorted(in_partition, codes[1], "right")),
        )


def build_arrays(rows: IndexRows, grades: Grades) -> IndexArrays:
    """Validate the rows, apply the finest-granularity rule, sort, and find the runs and partitions.

    Raises ValueError naming the first row (or grade) at fault."""
    checked = check_rows(rows)
    n = checked.first.size
    rows_first, rows_span, rows_codes = checked.first, checked.span, checked.codes
    prefixes, rows_prefix_ids = checked.prefixes, checked.prefix_ids
    divisions, rows_division_ids = checked.divisions, checked.division_ids
    county_codes = checked.county_codes

    kept = np.flatnonzero(finest_rows(rows_prefix_ids, rows_first, rows_span))
    year = rows_first[kept] // 12
    order = kept[
        _sort_order(
            (year - (year.min() if year.size else 0), int(np.ptp(year)) + 1 if year.size else 1),
            (np.searchsorted(county_codes, rows_codes[kept]), county_codes.size),
            (rows_prefix_ids[kept], len(prefixes)),
            (rows_division_ids[kept], len(divisions)),
            (rows_first[kept] % 12, 12),
        )
    ]
    first, span, codes = rows_first[order], rows_span[order], rows_codes[order]
    prefix_ids, division_ids = rows_prefix_ids[order], rows_division_ids[order]
    values = checked.values[:, order]
    last = first + span - 1
    year = first // 12

    new_run = np.ones(first.size, bool)
    new_run[1:] = (year[1:] != year[:-1]) | (codes[1:] != codes[:-1]) | (prefix_ids[1:] != prefix_ids[:-1])
    new_run[1:] |= division_ids[1:] != division_ids[:-1]
    starts = np.flatnonzero(new_run)
    run_code = codes[starts].astype(np.int32)
    run_prefix = prefix_ids[starts].astype(np.int32)
    run_year = year[starts]
    partition_years, partition_of_run = np.unique(run_year, return_inverse=True)
    partition_of_run = partition_of_run.reshape(-1)
    one_home = np.unique(partition_of_run * len(prefixes) + run_prefix).size == run_prefix.size
    row_run = (np.cumsum(new_run) - 1).astype(np.int32)
    grade_years, grades_by_year = grade_table(grades, prefixes)
    return IndexArrays(
        row_run=row_run,
        row_division=division_ids.astype(np.int16),
        row_first_month=first.astype(np.int32),
        row_last_month=last.astype(np.int32),
        values=values,
        run_first_row=np.append(starts, first.size).astype(np.int64),
        run_code=run_code,
        run_prefix=run_prefix,
        run_division=division_ids[starts].astype(np.int16),
        run_first_month=first[starts].astype(np.int32),
        run_last_month=(np.maximum.reduceat(last, starts) if n else last).astype(np.int32),
        run_totals=np.add.reduceat(values, starts, axis=1) if n else values,
        partition_years=tuple(int(y) for y in partition_years),
        partition_first_run=np.searchsorted(run_year, np.append(partition_years, np.iinfo(np.int64).max)),
        places={
            "province": _place_level(run_code // 10_000 * 10_000),
            "city": _place_level(run_code // 100 * 100),
            "county": _place_level(run_code),
        },
        prefixes=prefixes,
        divisions=divisions,
        grade_years=grade_years,
        grades=grades_by_year,
        years=tuple(int(y) for y in np.unique(np.concatenate((first // 12, last // 12)))),
        one_home=one_home,
        dropped=n - kept.size,
        trend_cube=_trend_cube(
            partition_of_run,
            run_code,
            division_ids[starts],
            (len(partition_years), len(divisions)),
            row_run,
            first,
            last,
            values,
        )
        if one_home
        else None,
    )


def _trend_cube(
    partition_of_run: NDArray[np.int64],
    code_of_run: NDArray[np.int32],
    division_of_run: NDArray[np.int64],
    sizes: tuple[int, int],
    row_run: NDArray[np.int32],
    first: NDArray[np.int64],
    last: NDArray[np.int64],
    values: NDArray[np.float64],
) -> TrendCube:
    """Sum the rows that fit one month or one quarter into cells (partition, county, division) × bucket,
    and count the runs (enterprises) with such rows. `sizes`: partitions and divisions."""
    partitions, division_count = sizes[0], max(sizes[1], 1)
    code_span = 1_000_000  # cell key: (partition × code span + county code) × divisions + division
    keys, cell_of_run = np.unique(
        (partition_of_run * code_span + code_of_run) * division_count + division_of_run, return_inverse=True
    )
    cell_of_row = cell_of_run.reshape(-1)[row_run]
    enterprises: dict[int, NDArray[np.int64]] = {}
    emissions: dict[int, NDArray[np.float64]] = {}
    added_value: dict[int, NDArray[np.float64]] = {}
    for width in (1, 3):
        count = 12 // width
        month = first % 12  # a row's position in the year it starts in
        fits = np.flatnonzero((last - first + month) // width == month // width)
        bucket, run = month[fits] // width, row_run[fits]
        key = cell_of_row[fits] * count + bucket
        new_pair = np.ones(fits.size, bool)  # rows of a run are in month order
        new_pair[1:] = (run[1:] != run[:-1]) | (bucket[1:] != bucket[:-1])
        size = keys.size * count
        enterprises[width] = np.bincount(key[new_pair], minlength=size).reshape(keys.size, count)
        emissions[width] = _weighted(key, values[EMISSIONS][fits], size).reshape(keys.size, count)
        added_value[width] = _weighted(key, values[ADDED_VALUE][fits], size).reshape(keys.size, count)
    return TrendCube(
        code=(keys // division_count % code_span).astype(np.int32),
        division=(keys % division_count).astype(np.int16),
        partition_first_cell=np.searchsorted(keys // division_count // code_span, np.arange(partitions + 1)),
        enterprises=enterprises,
        emissions=emissions,
        added_value=added_value,
    )


def _weighted(
    groups: NDArray[np.integer[Any]], weights: NDArray[np.float64], size: int
) -> NDArray[np.float64]:
    """Σ weights per group id (np.bincount, typed)."""
    return np.asarray(np.bincount(groups, weights=weights, minlength=size), dtype=np.float64)


def _place_level(codes_of_runs: NDArray[np.int32]) -> PlaceLevel:
    codes, ids = np.unique(codes_of_runs, return_inverse=True)
    return PlaceLevel(codes.astype(np.int32), ids.astype(np.int32).reshape(-1))


def _sort_order(*keys: tuple[NDArray[np.int64], int]) -> NDArray[np.intp]:
    """The permutation sorting rows by the keys, first key first; one int64 argsort when the keys fit in
    63 bits together (they do for any real population), a lexsort otherwise."""
    if int(np.prod([size for _, size in keys], dtype=object)) < 2**63:
        combined = np.zeros(keys[0][0].size, np.int64)
        for values, size in keys:
            combined = combined * size + values
        return np.argsort(combined)
    return np.lexsort(tuple(values for values, _ in reversed(keys)))
