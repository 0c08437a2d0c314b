"""The array work of a regional query: runs of a region inside a period, grouped into cells.

Two passes, both vectorised (`carbon_efficiency.regional_index` describes the layout they rely on):

1. `select`: the runs of a region (one contiguous range per year partition) that have rows entirely inside
   the period, optionally of one division, with their figures. When every run lies wholly inside the
   period (a year of monthly data) the stored Σ are used as they are; otherwise (a quarter of a year's
   data, a row reaching into the next year) one `np.add.reduceat` over the region's rows sums each run's
   rows inside the period.
2. `cells`: the selected runs grouped by child region, division or nothing (`np.bincount` with weights),
   with the distinct enterprises of each cell and their official grades.

`buckets` is the trend: rows of one year's partition per month or quarter bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from carbon_efficiency.regional_index import GRADE_SLOTS, IndexArrays, TrendCube
from carbon_efficiency.regional_rows import (
    ADDED_VALUE,
    COLUMNS,
    EMISSIONS,
)

ALL_CODES: Final = (0, 999_999)


@dataclass(frozen=True, slots=True)
class Selection:
    """Runs with rows inside a period, and their figures (len(COLUMNS) × runs)."""

    runs: NDArray[np.intp]
    sums: NDArray[np.float64]
    distinct: bool
    """True when no two runs are the same enterprise (one partition of a one-home index)."""


def select(
    arrays: IndexArrays, codes: tuple[int, int], months: tuple[int, int], division: int | None
) -> Selection:
    """The runs of region codes[0] … codes[1] with rows lying entirely inside months (first, last month
    index), of one division id if given, each with the Σ of those rows."""
    first, last = months
    parts = [
        _select_in(arrays, arrays.region_runs(partition, codes), months, division)
        for partition in arrays.partitions(first // 12, last // 12)
    ]
    if not parts:
        return Selection(np.zeros(0, np.intp), np.zeros((len(COLUMNS), 0)), distinct=True)
    if len(parts) == 1:
        runs, sums = parts[0]
        return Selection(runs, sums, distinct=arrays.one_home)
    runs, sums = _merge(arrays, np.concatenate([r for r, _ in parts]), np.hstack([s for _, s in parts]))
    return Selection(runs, sums, distinct=False)


def _merge(
    arrays: IndexArrays, runs: NDArray[np.intp], sums: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """One run per (county, prefix, division) across partitions (a period over a year end): the first
    run stands for the group and carries its Σ, in (county, prefix, division) order."""
    key = (arrays.run_code[runs].astype(np.int64) * len(arrays.prefixes) + arrays.run_prefix[runs]) * len(
        arrays.divisions
    ) + arrays.run_division[runs]
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    merged = np.stack([_weighted(group, column, first.size) for column in sums])
    return runs[first], merged


def _select_in(
    arrays: IndexArrays, runs: tuple[int, int], months: tuple[int, int], division: int | None
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    r0, r1 = runs
    first_month, last_month = arrays.run_first_month[r0:r1], arrays.run_last_month[r0:r1]
    wanted = np.ones(r1 - r0, bool) if division is None else arrays.run_division[r0:r1] == division
    touching = wanted & (first_month <= months[1]) & (last_month >= months[0])
    whole = touching & (first_month >= months[0]) & (last_month <= months[1])
    if whole.all():  # every run wholly inside (a year of monthly data): the stored sums, as they are
        return np.arange(r0, r1), arrays.run_totals[:, r0:r1]
    if np.array_equal(whole, touching):  # the same, for the runs of one division
        found = np.flatnonzero(whole) + r0
        return found, arrays.run_totals[:, found]
    # Inside a run, rows are in month order and do not overlap, so its rows inside the period are one
    # range [first, end): after the rows starting before the period, as many as lie inside it. One
    # reduceat over the region's rows with those bounds sums them, without gathering rows.
    a, b = int(arrays.run_first_row[r0]), int(arrays.run_first_row[r1])
    row_first, row_last = arrays.row_first_month[a:b], arrays.row_last_month[a:b]
    starts = arrays.run_first_row[r0:r1] - a
    before = np.add.reduceat(row_first < months[0], starts, dtype=np.int64)
    inside = np.add.reduceat((row_first >= months[0]) & (row_last <= months[1]), starts, dtype=np.int64)
    present = np.flatnonzero(touching & (inside > 0))
    if present.size == 0:
        return present, np.zeros((len(COLUMNS), 0))
    bounds = np.empty(2 * present.size, np.intp)
    bounds[0::2] = starts[present] + before[present]
    bounds[1::2] = bounds[0::2] + inside[present]
    if bounds[-1] == b - a:  # the last range runs to the end of the rows: reduceat's last sum does so
        bounds = bounds[:-1]
    sums = np.stack([np.add.reduceat(column[a:b], bounds)[0::2] for column in arrays.values])
    return present + r0, sums


@dataclass(frozen=True, slots=True)
class Cells:
    """Figures of a set of cells (child regions, divisions, one total): aligned arrays by cell id."""

    enterprises: NDArray[np.int64]
    grade_counts: NDArray[np.int64]
    """cells × GRADE_SLOTS (0 ungraded, 1 … 5)."""
    sums: NDArray[np.float64]
    """len(COLUMNS) × cells."""


def cells(
    arrays: IndexArrays,
    selection: Selection,
    cell_of_run: NDArray[np.intp],
    size: int,
    grades: NDArray[np.int8],
) -> Cells:
    """Group the selected runs into `size` cells (`cell_of_run` aligned with `selection.runs`): Σ figures,
    distinct enterprises, and enterprises by grade (`grades`: the grade of every prefix id)."""
    prefixes = arrays.run_prefix[selection.runs]
    if selection.distinct:
        cell, grade = cell_of_run, grades[prefixes]
    else:
        pairs = np.unique(cell_of_run.astype(np.int64) * len(arrays.prefixes) + prefixes)
        cell, grade = pairs // len(arrays.prefixes), grades[pairs % len(arrays.prefixes)]
    return Cells(
        enterprises=np.bincount(cell, minlength=size),
        grade_counts=np.bincount(cell * GRADE_SLOTS + grade, minlength=size * GRADE_SLOTS).reshape(
            size, GRADE_SLOTS
        ),
        sums=_sums_by_cell(selection.sums, cell_of_run, size),
    )


def _sums_by_cell(sums: NDArray[np.float64], cell_of_run: NDArray[np.intp], size: int) -> NDArray[np.float64]:
    """Σ of each figure per cell. Child regions of runs in code order are contiguous: one reduceat over
    all figures then, a bincount per figure otherwise."""
    if size == 1:
        return np.asarray(sums.sum(axis=1, keepdims=True), dtype=np.float64)
    steps = np.diff(cell_of_run)
    if steps.size and steps.min() >= 0:
        starts = np.flatnonzero(np.diff(cell_of_run, prepend=-1))
        found = np.zeros((sums.shape[0], size))
        found[:, cell_of_run[starts]] = np.add.reduceat(sums, starts, axis=1)
        return found
    return np.stack([_weighted(cell_of_run, column, size) for column in sums])


def enterprises(arrays: IndexArrays, selection: Selection) -> int:
    """Distinct enterprises among the selected runs."""
    if selection.distinct:
        return int(selection.runs.size)
    return int(np.unique(arrays.run_prefix[selection.runs]).size)


@dataclass(frozen=True, slots=True)
class Buckets:
    """A trend series: per bucket, distinct enterprises and Σ emissions and added value."""

    enterprises: NDArray[np.int64]
    emissions: NDArray[np.float64]
    added_value: NDArray[np.float64]


def buckets(
    arrays: IndexArrays, codes: tuple[int, int], year: int, width: int, division: int | None
) -> Buckets:
    """The months (width 1) or quarters (width 3) of a year in a region; a row counts in a bucket only when
    its whole span lies inside it. From the trend cube when the index has one, else from the rows."""
    count = 12 // width
    found = arrays.partitions(year, year)
    if not found:
        return Buckets(np.zeros(count, np.int64), np.zeros(count), np.zeros(count))
    if arrays.trend_cube is not None:
        return _cube_buckets(arrays.trend_cube, found[0], codes, width, division)
    r0, r1 = arrays.region_runs(found[0], codes)
    a, b = int(arrays.run_first_row[r0]), int(arrays.run_first_row[r1])
    start = arrays.row_first_month[a:b] - year * 12  # every row of the partition starts in the year
    bucket = start // width
    keep = (arrays.row_last_month[a:b] - year * 12) // width == bucket
    if division is not None:
        keep &= arrays.row_division[a:b] == division
    rows = np.flatnonzero(keep)
    bucket, rows = bucket[rows], rows + a
    pairs = np.unique(
        bucket.astype(np.int64) * len(arrays.prefixes) + arrays.run_prefix[arrays.row_run[rows]]
    )
    return Buckets(
        enterprises=np.bincount(pairs // len(arrays.prefixes), minlength=count),
        emissions=_weighted(bucket, arrays.values[EMISSIONS][rows], count),
        added_value=_weighted(bucket, arrays.values[ADDED_VALUE][rows], count),
    )


def _cube_buckets(
    cube: TrendCube, partition: int, codes: tuple[int, int], width: int, division: int | None
) -> Buckets:
    low, high = int(cube.partition_first_cell[partition]), int(cube.partition_first_cell[partition + 1])
    in_partition = cube.code[low:high]
    first = low + int(np.searchsorted(in_partition, codes[0], "left"))
    last = low + int(np.searchsorted(in_partition, codes[1], "right"))
    cells: slice | NDArray[np.intp] = slice(first, last)
    if division is not None:
        cells = np.flatnonzero(cube.division[first:last] == division) + first
    return Buckets(
        enterprises=cube.enterprises[width][cells].sum(axis=0),
        emissions=cube.emissions[width][cells].sum(axis=0),
        added_value=cube.added_value[width][cells].sum(axis=0),
    )


def top_runs(arrays: IndexArrays, selection: Selection, count: int) -> NDArray[np.intp]:
    """Positions in `selection` of the `count` runs of highest emissions, highest first (ties by prefix)."""
    emissions = selection.sums[EMISSIONS]
    if count <= 0 or emissions.size == 0:
        return np.zeros(0, np.intp)
    candidates = np.arange(emissions.size)
    if count < emissions.size:
        threshold = np.partition(emissions, emissions.size - count)[emissions.size - count]
        candidates = np.flatnonzero(emissions >= threshold)
    prefixes = arrays.run_prefix[selection.runs[candidates]]
    return candidates[np.lexsort((prefixes, -emissions[candidates]))][:count]


def _weighted(
    groups: NDArray[np.integer[Any]], weights: NDArray[np.float64], size: int
) -> NDArray[np.float64]:
    """Σ weights per group id (np.bincount, typed)."""
    return np.asarray(np.bincount(groups, weights=weights, minlength=size), dtype=np.float64)
