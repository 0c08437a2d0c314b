"""Regional carbon-efficiency monitoring for regulators: how efficient is a province, city or county, which
child regions, industries and enterprises drive it, how is it moving.

`RegionalIndex.build` takes the verified activity data of every indexed prefix (`IndexRows`, one row per
activity-data record) and the official grades of their certificates (`Grades`); `RegionalIndex.query`
answers one region, period and (optionally) industry division with a JSON-ready report whose shape the
resolver's API, dashboard and CSV export render unchanged::

    {"region": {code, level, nameZh, nameEn}, "period": {text, granularity, official, months},
     "industry": null | {code, nameZh, nameEn}, "childLevel", "disclosure": "public" | "regulator",
     "totals": AGG, "children": [{code, nameZh, nameEn, **AGG}],
     "rankings": {"children": [code…], "industries": [{code, nameZh, nameEn, **AGG}],
                  "enterprises": [{prefix, region, industry, emissionsTCo2, addedValue10kCny, intensity,
                                   grade}] | null},
     "trend": {"granularity", "points": [{period, enterprises, emissionsTCo2, addedValue10kCny,
                                           intensity, suppressed}]}}

    AGG = {enterprises, emissionsTCo2, grossEmissionsTCo2, addedValue10kCny, intensity, benchmark,
           efficiencyValue, gradeCounts: {"1"…"5", "ungraded"}, energyGj: {carrier}, energyShares: {carrier},
           neutralityRate, suppressed}

**The figures.** Every ratio is of sums: intensity = Σ net emissions ÷ Σ added value (null when Σ added value
≤ 0), never a mean of enterprise ratios; the benchmark is the same ratio over the whole country for the same
period and industry filter (all industry without one), so the national efficiency value is 1; the efficiency
value is intensity ÷ benchmark; the neutrality rate is Σ offsets ÷ Σ gross emissions; an energy share is a
carrier's GJ ÷ all GJ. A row counts in a period only when every month it covers lies inside the period, and
in a trend bucket only when it lies inside the bucket. Grade counts are of enterprises (distinct prefixes) by
their official grade for the period's year (the year of its last month); `ungraded` have no certificate.

**Trend.** By month (the default), quarter or year: the 12 months or 4 quarters of the period's year (for
rolling 12 months, the year of the last month), or every year of the index. Rankings: child regions by
intensity ascending (nulls, hence suppressed cells, last, then by code); industries by emissions
descending (nulls last); enterprises by emissions descending, ties by prefix, the first `top`.

**Disclosure control.** The public sees aggregates only. An aggregate of fewer than `min_cell` enterprises
(default 3; region totals, a child region, an industry, a trend point) has every figure set to null and
``"suppressed": true``; its enterprise count and the national benchmark stay. A national benchmark of
fewer than `min_cell` enterprises is null too. This is the threshold rule of statistical disclosure
control: no published figure is that of fewer than `min_cell` enterprises. Its limit, as with any
threshold rule applied cell by cell: a suppressed cell can be recovered by difference from cells that are
published (a city's total minus its other counties); complementary suppression across the linked tables of
every region, period and industry is not done here, and neither is a dominance rule (one enterprise
making up most of a cell). A regulator (``disclose_enterprises=True``, which the caller grants only within
the regulator's scope) sees every figure and the enterprise rows; nothing is suppressed.

**Shape notes.** A county has no level below it: its report has ``"childLevel": null`` and no children.
Child regions are the GB/T 2260 rows at the child level; a municipality's cities are its coding groupings
(北京 110100 市辖区), and an enterprise registered at a city code with no county (东莞 441900) is its own
county-level child. An enterprise row is one prefix in one county and division (an enterprise that moved
within the period has one row per place).

**Speed.** The index (`carbon_efficiency.regional_index`) keeps rows sorted so that a region is one
contiguous range per year and an enterprise's year is one stored sum; a query is a few vectorised passes
over the region's enterprises, not over all rows (`carbon_efficiency.regional_cells`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from carbon_efficiency.periods import Period
from carbon_efficiency.regional_cells import (
    ALL_CODES,
    Cells,
    Selection,
    buckets,
    cells,
    enterprises,
    select,
    top_runs,
)
from carbon_efficiency.regional_index import IndexArrays, build_arrays
from carbon_efficiency.regional_report import (
    NATIONAL,
    TRENDS,
    Disclosure,
    Place,
    aggregate,
    by_emissions,
    by_intensity,
    named_cells,
    parse_child_level,
    parse_division,
    parse_place,
    parse_trend,
    ratio,
    trend_point,
)
from carbon_efficiency.regional_rows import ADDED_VALUE, EMISSIONS, Grades, IndexRows
from metadata_templates.codes import industry, region

__all__ = ["NATIONAL", "Grades", "IndexRows", "RegionalIndex"]


@dataclass(frozen=True, slots=True)
class _National:
    """The whole country in one period, by division id and in all: the benchmarks' populations."""

    by_division: Cells
    total: Cells

    def benchmark(self, division_id: int | None, disclosure: Disclosure) -> float | None:
        """B = national Σ emissions ÷ Σ added value, of a division or of all industry; None without added
        value, for a division with no data (id −1), or when the public may not see so few enterprises."""
        if division_id is not None and division_id < 0:
            return None
        found, cell = (self.total, 0) if division_id is None else (self.by_division, division_id)
        if disclosure.hides(int(found.enterprises[cell])):
            return None
        return ratio(float(found.sums[EMISSIONS, cell]), float(found.sums[ADDED_VALUE, cell]))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class RegionalIndex:
    """Activity data of every indexed prefix as sorted numpy columns, answering regional queries.

    Build it with `RegionalIndex.build`. It is immutable but for a cache of the national figures of each
    period asked (the benchmarks), so queries may run in several threads at once."""

    arrays: IndexArrays
    _national: dict[tuple[int, int], _National] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, rows: IndexRows, grades: Grades = ()) -> RegionalIndex:
        """Index the rows (the finest granularity kept, see `carbon_efficiency.regional_rows`) with the
        official grades. Raises ValueError naming the first row or grade at fault."""
        return cls(build_arrays(rows, grades))

    def __repr__(self) -> str:
        return f"RegionalIndex(size={self.size}, years={self.years}, dropped={self.dropped})"

    @property
    def size(self) -> int:
        """Rows indexed (after the finest-granularity rule)."""
        return int(self.arrays.row_run.size)

    @property
    def years(self) -> tuple[int, ...]:
        """Calendar years with data, ascending."""
        return self.arrays.years

    @property
    def dropped(self) -> int:
        """Rows left out because finer rows of the same prefix cover their months (or an earlier row of the
        same span overlaps them)."""
        return self.arrays.dropped

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays."""
        return self.arrays.nbytes

    def query(
        self,
        region: str,
        *,
        period: Period,
        level: str | None = None,
        industry: str | None = None,
        trend: str | None = None,
        disclose_enterprises: bool = False,
        min_cell: int = 3,
        top: int = 20,
    ) -> dict[str, Any]:
        """The report of a region (``000000``: the whole country) for a period: totals, each child region at
        `level` (default: the next level down), rankings and a trend series (see the module docstring).
        ValueError, in one line, for an unknown region, a level not below the region's, an industry that is
        not a GB/T 4754 division, an unknown trend, a min_cell below 1 or a negative top."""
        place = parse_place(region)
        child_level = parse_child_level(place, level)
        division = parse_division(industry)
        width = parse_trend(trend)
        if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
            raise ValueError(f"min_cell {min_cell!r}: expected an integer ≥ 1")
        if isinstance(top, bool) or not isinstance(top, int) or top < 0:
            raise ValueError(f"top {top!r}: expected an integer ≥ 0")
        disclosure = Disclosure(public=not disclose_enterprises, min_cell=min_cell)
        division_id = None
        if division is not None:  # −1: a division without indexed data, which selects nothing
            divisions = self.arrays.divisions
            division_id = divisions.index(division.code) if division.code in divisions else -1
        months = _month_index(period.first_month), _month_index(period.last_month)
        selection = select(self.arrays, place.codes, months, division_id)
        grades = self.arrays.grades_in(period.year)
        national = self._national_for(months)
        benchmark = national.benchmark(division_id, disclosure)
        totals = cells(self.arrays, selection, np.zeros(selection.runs.size, np.intp), 1, grades)
        children = (
            []
            if child_level is None
            else self._children(selection, child_level, grades, benchmark, disclosure)
        )
        return {
            "region": place.to_json(),
            "period": {
                "text": period.text,
                "granularity": period.granularity,
                "official": period.official,
                "months": list(period.months),
            },
            "industry": None
            if division is None
            else {"code": division.code, "nameZh": division.name_zh, "nameEn": division.name_en},
            "childLevel": child_level,
            "disclosure": "public" if disclosure.public else "regulator",
            "totals": aggregate(totals, 0, benchmark, disclosure),
            "children": children,
            "rankings": {
                "children": [child["code"] for child in sorted(children, key=by_intensity)],
                "industries": self._industries(selection, grades, national, disclosure),
                "enterprises": self._enterprises(selection, grades, top) if disclose_enterprises else None,
            },
            "trend": self._trend(place, period, width, division_id, disclosure),
        }

    def _national_for(self, months: tuple[int, int]) -> _National:
        """The whole country in a period: computed on first use (one pass over the runs), then cached."""
        found = self._national.get(months)
        if found is None:
            arrays = self.arrays
            selection = select(arrays, ALL_CODES, months, None)
            ungraded = np.zeros(len(arrays.prefixes), np.int8)  # benchmarks need no grades
            found = _National(
                by_division=cells(
                    arrays,
                    selection,
                    arrays.run_division[selection.runs].astype(np.intp),
                    len(arrays.divisions),
                    ungraded,
                ),
                total=cells(arrays, selection, np.zeros(selection.runs.size, np.intp), 1, ungraded),
            )
            self._national[months] = found
        return found

    def _children(
        self,
        selection: Selection,
        level: str,
        grades: NDArray[np.int8],
        benchmark: float | None,
        disclosure: Disclosure,
    ) -> list[dict[str, Any]]:
        place = self.arrays.places[level]
        ids = place.of_run[selection.runs]
        if ids.size == 0:
            return []
        low = int(ids.min())
        found = cells(self.arrays, selection, (ids - low).astype(np.intp), int(ids.max()) - low + 1, grades)
        present = np.flatnonzero(found.enterprises)
        names = []
        for cell in present.tolist():
            child = region(f"{int(place.codes[low + cell]):06d}")
            names.append((child.code, child.name_zh, child.short_en))
        return named_cells(found, names, present, [benchmark] * present.size, disclosure)

    def _industries(
        self, selection: Selection, grades: NDArray[np.int8], national: _National, disclosure: Disclosure
    ) -> list[dict[str, Any]]:
        arrays = self.arrays
        ids = arrays.run_division[selection.runs].astype(np.intp)
        found = cells(arrays, selection, ids, len(arrays.divisions), grades)
        present = np.flatnonzero(found.enterprises)
        names = []
        for cell in present.tolist():
            division = industry(arrays.divisions[cell])
            names.append((division.code, division.name_zh or "", division.name_en or ""))
        benchmarks = [national.benchmark(cell, disclosure) for cell in present.tolist()]
        return sorted(named_cells(found, names, present, benchmarks, disclosure), key=by_emissions)

    def _enterprises(self, selection: Selection, grades: NDArray[np.int8], top: int) -> list[dict[str, Any]]:
        arrays = self.arrays
        rows = []
        for position in top_runs(arrays, selection, top).tolist():
            run = int(selection.runs[position])
            prefix = int(arrays.run_prefix[run])
            emissions = float(selection.sums[EMISSIONS, position])
            added = float(selection.sums[ADDED_VALUE, position])
            rows.append(
                {
                    "prefix": arrays.prefixes[prefix],
                    "region": f"{int(arrays.run_code[run]):06d}",
                    "industry": arrays.divisions[int(arrays.run_division[run])],
                    "emissionsTCo2": emissions,
                    "addedValue10kCny": added,
                    "intensity": ratio(emissions, added),
                    "grade": int(grades[prefix]) or None,
                }
            )
        return rows

    def _trend(
        self, place: Place, period: Period, width: int, division_id: int | None, disclosure: Disclosure
    ) -> dict[str, Any]:
        granularity = next(name for name, months in TRENDS.items() if months == width)
        points = []
        if width == 12:
            for year in self.years:
                selection = select(self.arrays, place.codes, (year * 12, year * 12 + 11), division_id)
                emissions = float(selection.sums[EMISSIONS].sum())
                added = float(selection.sums[ADDED_VALUE].sum())
                count = enterprises(self.arrays, selection)
                points.append(trend_point(str(year), count, emissions, added, disclosure))
        else:
            found = buckets(self.arrays, place.codes, period.year, width, division_id)
            for bucket in range(12 // width):
                label = f"{period.year}-{bucket + 1:02d}" if width == 1 else f"{period.year}Q{bucket + 1}"
                emissions, added = float(found.emissions[bucket]), float(found.added_value[bucket])
                points.append(
                    trend_point(label, int(found.enterprises[bucket]), emissions, added, disclosure)
                )
        return {"granularity": granularity, "points": points}


def _month_index(month: str) -> int:
    """``YYYY-MM`` → year × 12 + month − 1, the index's month numbering."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1
