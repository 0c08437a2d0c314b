"""The rows a regional index is built from: `IndexRows`, their validation, and the finest-granularity rule.

The resolver hands over verified activity data as equal-length columns (`IndexRows`, one row per
activity-data record) and the official grades of the certificates (`Grades`); `check_rows` turns them into
typed arrays with dense ids for prefixes and divisions, raising ValueError naming the first row at fault.

**Double counting.** An enterprise may publish the same months twice: monthly documents and an annual one,
or a quarter and its months. `finest_rows` keeps the finest: rows are taken span by span from the shortest
(months) up, and a row is kept only when none of its months is already covered for its prefix. Two rows of
the same span overlapping each other (a republished document, shifted rolling windows) are settled in the
order given: the last one wins, so a caller passing rows oldest first has the newest document count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from carbon_efficiency.model import CARRIERS
from metadata_templates.codes import CodeError, division_of, validate_region_code

COLUMNS: Final = ("emissions", "gross", "added_value", "offsets", *(f"energy:{c}" for c in CARRIERS))
"""The figures of a row, in the order of `IndexArrays.values`."""
EMISSIONS: Final = 0
GROSS: Final = 1
ADDED_VALUE: Final = 2
OFFSETS: Final = 3
ENERGY: Final = slice(4, 4 + len(CARRIERS))
SPANS: Final = (1, 3, 6, 12)
"""Months a row may cover: a month, a quarter, a half-year, a year (or rolling 12 months)."""

Column = Sequence[Any] | NDArray[Any]
Grades = Sequence[tuple[str, int, int]]
"""Official grades from certificates: (prefix, year, grade 1 … 5). A certificate of year Y or of the
rolling 12 months ending in Y counts for Y; of several for one prefix and year, the last given counts."""


@dataclass(frozen=True, slots=True)
class IndexRows:
    """Verified activity data to index: equal-length columns, one row per activity-data record."""

    prefix: Column
    """The enterprise's identifier prefix (``88.186.1``)."""
    region: Column
    """The 6-digit GB/T 2260 code (int) of the enterprise's county (or city, where it has no county)."""
    industry: Column
    """GB/T 4754 code (``C3216``, ``3216`` or ``C32``); only its division counts."""
    month_start: Column
    """The first month covered, as year × 12 + month − 1."""
    months: Column
    """Months covered: 1, 3, 6 or 12."""
    emissions: Column
    """Net emissions, tCO₂."""
    gross: Column
    """Gross emissions, tCO₂."""
    added_value: Column
    """Industrial added value, 10⁴ CNY."""
    energy: Column
    """Energy by carrier, GJ: rows × len(CARRIERS), in the order of CARRIERS."""
    offsets: Column
    """Zero-carbon offsets counted in the neutrality rate, tCO₂."""

    def __post_init__(self) -> None:
        expected = len(self.prefix)
        for name in ("region", "industry", "month_start", "months", "emissions", "gross", "added_value"):
            _check_length(name, len(getattr(self, name)), expected)
        _check_length("energy", len(self.energy), expected)
        _check_length("offsets", len(self.offsets), expected)

    def __len__(self) -> int:
        return len(self.prefix)


def _check_length(name: str, length: int, expected: int) -> None:
    if length != expected:
        raise ValueError(f"IndexRows.{name} has {length} rows, IndexRows.prefix has {expected}")


@dataclass(frozen=True, slots=True)
class CheckedRows:
    """Validated rows as arrays, in the order given."""

    first: NDArray[np.int64]
    """Month index of the first month covered."""
    span: NDArray[np.int64]
    codes: NDArray[np.int64]
    """6-digit region codes."""
    values: NDArray[np.float64]
    """len(COLUMNS) × rows."""
    prefixes: tuple[str, ...]
    """Distinct prefixes, ascending; a prefix id is the position."""
    prefix_ids: NDArray[np.int64]
    divisions: tuple[str, ...]
    """Distinct divisions (``C32``), ascending; a division id is the position."""
    division_ids: NDArray[np.int64]
    county_codes: NDArray[np.int32]
    """Distinct region codes, ascending."""


def check_rows(rows: IndexRows) -> CheckedRows:
    """Validate the rows and give them as arrays; ValueError naming the first row at fault."""
    n = len(rows)
    first = _integers(rows.month_start, "month_start", n)
    span = _integers(rows.months, "months", n)
    codes = _integers(rows.region, "region", n)
    _check_spans(first, span)
    values = _values(rows, n)
    prefixes, prefix_ids = _factorize(rows.prefix, "prefix")
    divisions, division_ids = _divisions(rows.industry)
    return CheckedRows(
        first, span, codes, values, prefixes, prefix_ids, divisions, division_ids, _region_codes(codes)
    )


def _integers(column: Column, name: str, n: int) -> NDArray[np.int64]:
    array = np.asarray(column)
    if array.size == 0:
        return np.zeros(0, np.int64)
    if array.shape != (n,) or array.dtype.kind not in "iu":
        raise ValueError(
            f"IndexRows.{name}: expected {n} integers, got an array of {array.dtype} {array.shape}"
        )
    return array.astype(np.int64)


def _check_spans(first: NDArray[np.int64], span: NDArray[np.int64]) -> None:
    bad = np.flatnonzero(~np.isin(span, SPANS))
    if bad.size:
        raise ValueError(f"IndexRows.months[{bad[0]}]: {span[bad[0]]} months; a row covers 1, 3, 6 or 12")
    bad = np.flatnonzero((first < 1000 * 12) | (first >= 10_000 * 12))
    if bad.size:
        raise ValueError(
            f"IndexRows.month_start[{bad[0]}]: {first[bad[0]]} is not year × 12 + month − 1 of a 4-digit year"
        )


def _values(rows: IndexRows, n: int) -> NDArray[np.float64]:
    values = np.empty((len(COLUMNS), n), np.float64)
    for column, name in enumerate(("emissions", "gross", "added_value", "offsets")):
        array = np.asarray(getattr(rows, name), np.float64)
        if array.shape != (n,) and n:
            raise ValueError(f"IndexRows.{name}: expected {n} numbers, got shape {array.shape}")
        values[column] = array.reshape(n)
    energy = np.asarray(rows.energy, np.float64)
    if energy.shape != (n, len(CARRIERS)) and n:
        raise ValueError(
            f"IndexRows.energy: expected {n} rows × {len(CARRIERS)} carriers {CARRIERS}, got shape {energy.shape}"
        )
    values[ENERGY] = energy.reshape(n, len(CARRIERS)).T
    finite = np.isfinite(values)
    if not finite.all():
        column, row = np.argwhere(~finite)[0]
        raise ValueError(
            f"IndexRows row {row}: {COLUMNS[column]} is {values[column, row]}, not a finite number"
        )
    return values


def _factorize(column: Column, name: str) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """The distinct strings in ascending order and each row's position among them (dicts run at C speed,
    far faster than sorting millions of strings)."""
    items = column.tolist() if isinstance(column, np.ndarray) else column
    distinct = list(dict.fromkeys(items))
    for item in distinct:
        if not isinstance(item, str) or not item:
            raise ValueError(f"IndexRows.{name}[{items.index(item)}]: {item!r} is not a non-empty string")
    distinct.sort()
    position = {item: i for i, item in enumerate(distinct)}
    ids = np.fromiter(map(position.__getitem__, items), np.int64, count=len(items))
    return tuple(distinct), ids


def _divisions(column: Column) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    labels, label_ids = _factorize(column, "industry")
    by_label: list[str] = []
    for label in labels:
        try:
            by_label.append(division_of(label).code)
        except CodeError as error:
            row = int(np.flatnonzero(label_ids == len(by_label))[0])
            raise ValueError(f"IndexRows.industry[{row}]: {error}") from None
    divisions = tuple(sorted(set(by_label)))
    division_of_label = np.array([divisions.index(code) for code in by_label], np.int64)
    return divisions, division_of_label[label_ids] if labels else label_ids


def _region_codes(codes: NDArray[np.int64]) -> NDArray[np.int32]:
    distinct = np.unique(codes)
    for code in distinct.tolist():
        try:
            validate_region_code(f"{code:06d}")
        except CodeError as error:
            row = int(np.flatnonzero(codes == code)[0])
            raise ValueError(f"IndexRows.region[{row}]: {error}") from None
    return distinct.astype(np.int32)


def grade_table(grades: Grades, prefixes: tuple[str, ...]) -> tuple[tuple[int, ...], NDArray[np.int8]]:
    """The years with grades, and prefixes × years of grades (0: no certificate); ValueError naming a bad
    entry. Of several certificates of one prefix and year, the last given counts."""
    position = {prefix: i for i, prefix in enumerate(prefixes)}
    found: list[tuple[int, int, int]] = []
    for i, entry in enumerate(grades):
        if not isinstance(entry, tuple | list) or len(entry) != 3:
            raise ValueError(f"grades[{i}]: expected (prefix, year, grade), got {entry!r}")
        prefix, year, grade = entry
        if not isinstance(grade, int) or isinstance(grade, bool) or not 1 <= grade <= 5:
            raise ValueError(f"grades[{i}]: grade {grade!r} of {prefix} is not 1 … 5")
        if not isinstance(year, int) or isinstance(year, bool) or not 1000 <= year <= 9999:
            raise ValueError(f"grades[{i}]: year {year!r} of {prefix} is not a 4-digit year")
        if prefix in position:  # a certificate of an enterprise with no indexed data changes no count
            found.append((position[prefix], year, grade))
    years = tuple(sorted({year for _, year, _ in found}))
    table = np.zeros((len(prefixes), len(years)), np.int8)
    for prefix_id, year, grade in found:  # in the order given: the last certificate counts
        table[prefix_id, years.index(year)] = grade
    return years, table


def finest_rows(
    prefix_ids: NDArray[np.int64], first: NDArray[np.int64], span: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Which rows to keep so no month of a prefix counts twice: spans from the finest up, each row kept
    only if none of its months is covered yet; among rows of one span, the last given wins."""
    kept = np.zeros(first.size, bool)
    if first.size == 0:
        return kept
    base = int(first.min())
    width = int((first + span).max()) - base
    start_key = prefix_ids * width + (first - base)  # one key per (prefix, month)
    covered = np.zeros(0, np.int64)
    for months in np.unique(span).tolist():
        rows = np.flatnonzero(span == months)[::-1]  # the last given first: it wins
        keys = start_key[rows, None] + np.arange(months)
        if covered.size:
            free = ~_contains(covered, keys).any(axis=1)
            rows, keys = rows[free], keys[free]
        _, winners = np.unique(keys[:, 0], return_index=True)  # of rows with the same months, the first here
        winners.sort()
        rows, keys = rows[winners], keys[winners]
        if months > 1:
            rows, keys = _settle_overlaps(rows, keys)
        kept[rows] = True
        covered = np.concatenate((covered, keys.ravel()))
        covered.sort()
    return kept


def _settle_overlaps(
    rows: NDArray[np.intp], keys: NDArray[np.int64]
) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """Rows of one span whose months overlap without being equal (shifted windows): the first here (the
    last given) wins. Only the contested rows go through the Python loop; there are few."""
    flat = np.sort(keys.ravel())
    repeated = np.unique(flat[1:][flat[1:] == flat[:-1]])
    if repeated.size == 0:
        return rows, keys
    contested = _contains(repeated, keys).any(axis=1)
    keep = np.logical_not(contested)
    taken: set[int] = set()
    for i in np.flatnonzero(contested).tolist():
        months = keys[i].tolist()
        if taken.isdisjoint(months):
            taken.update(months)
            keep[i] = True
    return rows[keep], keys[keep]


def _contains(ordered: NDArray[np.int64], values: NDArray[np.int64]) -> NDArray[np.bool_]:
    found = np.minimum(np.searchsorted(ordered, values), ordered.size - 1)
    return np.asarray(ordered[found] == values, dtype=np.bool_)
