"""Industry benchmarks B: computed from a population of enterprises, or taken from a published table.

**Computed** (`population_benchmarks`): B = Σ emissions ÷ Σ added value of the enterprises of one industry
division (GB/T 4754-2017, ``C32`` for any ``C32xx``) in one region, at four region levels: county (the
6-digit code), city (first 4 digits + ``00``), province (first 2 + ``0000``) and national. It is the
intensity of the group taken as one enterprise, not a mean of ratios. Only enterprises with added value
> 0 (and finite figures) count. An enterprise registered with a city code counts from the city level up,
one with a province code from the province level up. `BenchmarkTable.lookup` falls back county → city →
province → national while the group has fewer than ``min_population`` members or its B is not > 0.

**Published** (`PublishedBenchmarks`): a regulator's table (Zhejiang publishes B for all industry, each
division, each city and county, every year). The JSON shape `PublishedBenchmarks.from_json` reads::

    {
      "rows": [
        {
          "industry": "C32",          // a division (C32 or 32), or "all" for all industry
          "region": "330500",         // a 6-digit GB/T 2260 code; "000000" for national
          "period": "2024",           // the year the benchmark is for
          "intensity": 2.31,          // B, tCO₂ per 10⁴ CNY, > 0
          "population": 14,           // optional: enterprises in the group
          "source": "浙江省经信厅 2024 年度分行业碳效基准值"
        }
      ]
    }

Its look-up tries the division at the region, city, province and national level, then ``all`` at the
same levels, for the year asked; the result's level is ``published``.

Both kinds of computation are array work (np.unique, np.bincount, np.searchsorted): the Python loops run
over the four levels, never over enterprises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from carbon_efficiency.periods import InvalidPeriod, parse_period
from metadata_templates.codes import CodeError, IndustryLevel, divisions, level_of, validate_industry_code

LEVELS: Final = ("county", "city", "province", "national", "published")
"""Benchmark levels; in arrays a level is coded as its index + 1 (1 county … 5 published), 0 for none."""
COMPUTED_LEVELS: Final = LEVELS[:4]
NATIONAL: Final = "000000"
ALL_INDUSTRIES: Final = "all"
_REGION_SPAN: Final = 1_000_000
"""Group key = division number × 10⁶ + region code at the level (0 for national)."""


class InvalidBenchmarks(ValueError):
    """A published benchmark table that is not as documented; the message names the row (JSON pointer)."""


@dataclass(frozen=True, slots=True)
class Benchmark:
    """The B an enterprise is compared with, and where it comes from."""

    intensity: float
    """B, tCO₂ per 10⁴ CNY."""
    level: str
    """county | city | province | national | published"""
    region: str | None
    """The 6-digit code of the group's region; None for national."""
    industry: str | None
    """The division (``C32``); None for a published all-industry benchmark."""
    population: int | None = None
    """Enterprises in the group (unknown for a published row that does not say)."""
    source: str | None = None
    """For a published benchmark: the publication."""
    period: str | None = None
    """For a published benchmark: the year it is for."""

    def to_json(self) -> dict[str, Any]:
        """The certificate's ``benchmark`` member (members without a value left out)."""
        body: dict[str, Any] = {"intensity": self.intensity, "level": self.level}
        if self.region is not None:
            body["region"] = self.region
        if self.industry is not None:
            body["industry"] = self.industry
        if self.population is not None:
            body["population"] = self.population
        return body


@dataclass(frozen=True, slots=True)
class LevelGroups:
    """The groups (division × region) of one level, sorted by key, with their totals."""

    level: str
    keys: NDArray[np.int64]
    """division number × 10⁶ + region code (0 for national), ascending."""
    emissions: NDArray[np.float64]
    """Σ emissions, tCO₂."""
    added_value: NDArray[np.float64]
    """Σ added value, 10⁴ CNY (> 0: only enterprises with added value > 0 are counted)."""
    population: NDArray[np.int64]
    intensity: NDArray[np.float64]
    """B = Σ emissions ÷ Σ added value."""
    usable: NDArray[np.bool_]
    """Population ≥ the table's minimum and B > 0."""

    def benchmark(self, at: int) -> Benchmark:
        """The group at index ``at`` as a `Benchmark`."""
        division, region = divmod(int(self.keys[at]), _REGION_SPAN)
        return Benchmark(
            intensity=float(self.intensity[at]),
            level=self.level,
            region=None if self.level == "national" else f"{region:06d}",
            industry=_division_code(division),
            population=int(self.population[at]),
        )


@dataclass(frozen=True, slots=True)
class BenchmarkTable:
    """Computed benchmarks of every division × region at the four levels, with the fallback look-up."""

    groups: tuple[LevelGroups, ...]
    """county, city, province, national."""
    min_population: int

    def lookup(self, region: str | int, industry: str) -> Benchmark | None:
        """The benchmark for an enterprise of ``industry`` (any GB/T 4754 code of the division) in ``region``
        (6 digits), falling back county → city → province → national; None if no level has a usable group."""
        level, index = self._locate(_region_codes([region]), _division_numbers([industry]))
        return None if level[0] < 0 else self.groups[level[0]].benchmark(int(index[0]))

    def lookup_many(
        self, regions: ArrayLike, industries: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
        """Vectorised `lookup`: B of every enterprise (NaN where none) and its level code (1 county,
        2 city, 3 province, 4 national; 0 where none)."""
        region_codes, division_numbers = _region_codes(regions), _division_numbers(industries)
        if region_codes.size != division_numbers.size:
            raise ValueError(
                f"lookup_many: {region_codes.size} regions but {division_numbers.size} industries (expected aligned arrays)"
            )
        # Enterprises share few (division, region) pairs: locate each pair once.
        pairs, inverse = np.unique(division_numbers * _REGION_SPAN + region_codes, return_inverse=True)
        division, region = np.divmod(pairs, _REGION_SPAN)
        level, index = self._locate(region, division)
        intensity = np.full(level.shape, np.nan)
        for position, groups in enumerate(self.groups):
            chosen = level == position
            intensity[chosen] = groups.intensity[index[chosen]]
        return intensity[inverse], (level + 1).astype(np.int8)[inverse]

    def benchmarks(self, level: str) -> tuple[Benchmark, ...]:
        """Every usable benchmark of one level (county, city, province or national), in key order."""
        if level not in COMPUTED_LEVELS:
            raise ValueError(f"level {level!r}: computed benchmarks are {', '.join(COMPUTED_LEVELS)}")
        groups = self.groups[COMPUTED_LEVELS.index(level)]
        return tuple(groups.benchmark(int(at)) for at in np.flatnonzero(groups.usable))

    def _locate(
        self, region: NDArray[np.int64], division: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """For each query, the index of the level that answers it (−1: none) and of the group in it."""
        level = np.full(region.shape, -1, dtype=np.int64)
        index = np.zeros(region.shape, dtype=np.int64)
        pending = np.ones(region.shape, dtype=bool)
        for position, groups in enumerate(self.groups):
            if not groups.keys.size:
                continue
            applies, level_region = _at_level(region, groups.level)
            keys = division * _REGION_SPAN + level_region
            at = np.minimum(np.searchsorted(groups.keys, keys), groups.keys.size - 1)
            found = pending & applies & (groups.keys[at] == keys) & groups.usable[at]
            level[found] = position
            index[found] = at[found]
            pending &= ~found
        return level, index


def population_benchmarks(
    regions: ArrayLike,
    industries: ArrayLike,
    emissions: ArrayLike,
    added_value: ArrayLike,
    *,
    min_population: int = 5,
) -> BenchmarkTable:
    """Benchmarks of a population: B = Σ emissions ÷ Σ added value per division and region, at the county,
    city, province and national levels. ``regions`` are 6-digit codes (str or int), ``industries`` GB/T 4754
    codes of any level below the section (``C3216``, ``3216``, ``C32``); the four arrays are aligned."""
    if isinstance(min_population, bool) or not isinstance(min_population, int) or min_population < 1:
        raise ValueError(f"min_population {min_population!r}: expected an integer ≥ 1")
    region = _region_codes(regions)
    division = _division_numbers(industries)
    emitted = np.asarray(emissions, dtype=np.float64)
    added = np.asarray(added_value, dtype=np.float64)
    sizes = {
        "regions": region.size,
        "industries": division.size,
        "emissions": emitted.size,
        "added_value": added.size,
    }
    if len(set(sizes.values())) != 1 or emitted.ndim != 1 or added.ndim != 1:
        raise ValueError(f"population_benchmarks: expected four aligned 1-D arrays, got sizes {sizes}")
    counted = (added > 0) & np.isfinite(added) & np.isfinite(emitted)
    keys, inverse, population = np.unique(
        division[counted] * _REGION_SPAN + region[counted], return_inverse=True, return_counts=True
    )
    finest_emissions = _sums(inverse, emitted[counted], keys.size)
    finest_added = _sums(inverse, added[counted], keys.size)
    finest_division, finest_region = np.divmod(keys, _REGION_SPAN)
    levels = []
    # The finest groups are few (divisions × regions), so rolling them up per level is cheap.
    for level in COMPUTED_LEVELS:
        applies, level_region = _at_level(finest_region, level)
        level_keys, level_inverse = np.unique(
            finest_division[applies] * _REGION_SPAN + level_region[applies], return_inverse=True
        )
        size = level_keys.size
        sum_emissions = _sums(level_inverse, finest_emissions[applies], size)
        sum_added = _sums(level_inverse, finest_added[applies], size)
        members = np.bincount(level_inverse, weights=population[applies], minlength=size).astype(np.int64)
        intensity = sum_emissions / sum_added
        usable = (members >= min_population) & (intensity > 0)
        levels.append(LevelGroups(level, level_keys, sum_emissions, sum_added, members, intensity, usable))
    return BenchmarkTable(tuple(levels), min_population)


@dataclass(frozen=True, slots=True)
class PublishedBenchmarks:
    """A published benchmark table, looked up by division, region and year (see the module docstring)."""

    rows: Mapping[tuple[str, str, int], Benchmark]
    """(division or ``all``, 6-digit region, year) → benchmark."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublishedBenchmarks:
        """Read a table of the documented shape; `InvalidBenchmarks` names the first row at fault."""
        rows = data.get("rows") if isinstance(data, Mapping) else None
        if not isinstance(rows, list):
            raise InvalidBenchmarks("/rows: expected an array of benchmark rows")
        table: dict[tuple[str, str, int], Benchmark] = {}
        seen: dict[tuple[str, str, int], int] = {}
        for number, row in enumerate(rows):
            key, benchmark = _published_row(row, f"/rows/{number}")
            if key in seen:
                raise InvalidBenchmarks(
                    f"/rows/{number}: same industry, region and period as /rows/{seen[key]} "
                    f"({key[0]}, {key[1]}, {key[2]})"
                )
            seen[key] = number
            table[key] = benchmark
        return cls(table)

    def lookup(self, region: str, industry: str, *, year: int) -> Benchmark | None:
        """The published B for ``industry`` in ``region`` for ``year``: the division at the region, city,
        province and national level, then all industry at the same levels; None if none is published."""
        [code] = _region_codes([region]).tolist()
        division = _division_code(int(_division_numbers([industry])[0]))
        chain = [f"{code:06d}", f"{code // 100 * 100:06d}", f"{code // 10_000 * 10_000:06d}", NATIONAL]
        regions = list(dict.fromkeys(chain))
        for wanted in (division, ALL_INDUSTRIES):
            for candidate in regions:
                found = self.rows.get((wanted, candidate, year))
                if found is not None:
                    return found
        return None


def _published_row(row: object, pointer: str) -> tuple[tuple[str, str, int], Benchmark]:
    if not isinstance(row, Mapping):
        raise InvalidBenchmarks(f"{pointer}: expected an object")
    industry = row.get("industry")
    if industry == ALL_INDUSTRIES:
        division: str | None = None
    else:
        try:
            found = validate_industry_code(industry) if isinstance(industry, str) else None
        except CodeError as error:
            raise InvalidBenchmarks(f"{pointer}/industry: {error}") from None
        if found is None or found.level is not IndustryLevel.DIVISION:
            raise InvalidBenchmarks(f"{pointer}/industry: {industry!r} is neither a division (C32) nor 'all'")
        division = found.code
    region = row.get("region")
    if not isinstance(region, str):
        raise InvalidBenchmarks(f"{pointer}/region: {region!r} is not a 6-digit region code (a string)")
    if region != NATIONAL:
        try:
            level_of(region)
        except CodeError as error:
            raise InvalidBenchmarks(f"{pointer}/region: {error}") from None
    period = row.get("period")
    if not isinstance(period, str):
        raise InvalidBenchmarks(f'{pointer}/period: {period!r} is not a year as a string ("2024")')
    try:
        parsed = parse_period(period)
    except InvalidPeriod as error:
        raise InvalidBenchmarks(f"{pointer}/period: {error}") from None
    if parsed.granularity != "year":
        raise InvalidBenchmarks(
            f"{pointer}/period: {period!r} is not a year; published benchmarks are annual"
        )
    intensity = row.get("intensity")
    if not isinstance(intensity, int | float) or isinstance(intensity, bool) or not 0 < intensity < math.inf:
        raise InvalidBenchmarks(f"{pointer}/intensity: {intensity!r} is not a number > 0")
    population = row.get("population")
    if population is not None and (
        isinstance(population, bool) or not isinstance(population, int) or population < 0
    ):
        raise InvalidBenchmarks(f"{pointer}/population: {population!r} is not an integer ≥ 0")
    source = row.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InvalidBenchmarks(f"{pointer}/source: every published row names its source")
    benchmark = Benchmark(
        intensity=float(intensity),
        level="published",
        region=None if region == NATIONAL else region,
        industry=division,
        population=population,
        source=source,
        period=parsed.text,
    )
    return (division or ALL_INDUSTRIES, region, parsed.year), benchmark


def _sums(groups: NDArray[np.intp], weights: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Σ weights per group index (np.bincount, typed)."""
    return np.asarray(np.bincount(groups, weights=weights, minlength=size), dtype=np.float64)


def _at_level(region: NDArray[np.int64], level: str) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Which codes take part at a level, and their region code there (0 for national).

    A code counts at its own level and above: a city code (xxxx00) is no county, a province code is no city.
    """
    if level == "county":
        return region % 100 != 0, region
    if level == "city":
        return region % 10_000 != 0, region // 100 * 100
    if level == "province":
        return np.ones(region.shape, dtype=bool), region // 10_000 * 10_000
    return np.ones(region.shape, dtype=bool), np.zeros_like(region)


def _region_codes(regions: ArrayLike) -> NDArray[np.int64]:
    """6-digit GB/T 2260 codes (str or int) as integers; ValueError naming the first malformed one."""
    raw = np.asarray(regions)
    if raw.ndim != 1:
        raw = raw.reshape(-1)
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    if raw.dtype.kind in "iu":
        codes = raw.astype(np.int64)
        bad = (codes < 10_000) | (codes > 999_999)
    else:
        text = raw.astype(str) if raw.dtype.kind == "O" else raw
        if text.dtype.kind != "U":
            raise ValueError(f"regions: expected 6-digit codes as str or int, got an array of {raw.dtype}")
        if text.dtype.itemsize != 6 * 4:
            lengths = np.char.str_len(text)
            first = int(np.flatnonzero(lengths != 6)[0]) if (lengths != 6).any() else 0
            raise ValueError(f"regions[{first}]: {text[first].item()!r} is not a 6-digit region code")
        digits = text.view(np.uint32).reshape(-1, 6) - np.uint32(48)  # '0' → 0; anything else wraps > 9
        codes = np.zeros(text.shape, dtype=np.int64)
        for column in range(6):
            codes = codes * 10 + digits[:, column]
        bad = (digits > 9).any(axis=1) | (codes < 10_000)  # 10_000: province part 00
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"regions[{first}]: {raw[first].item()!r} is not a 6-digit region code")
    return codes


@cache
def _sections_by_division() -> tuple[NDArray[np.uint32], tuple[str, ...]]:
    """Per division number 0 … 99: its section letter's code point (0 if no such division) and its code."""
    letters = np.zeros(100, dtype=np.uint32)
    codes = [""] * 100
    for entry in divisions():
        number = int(entry.code[1:])
        letters[number] = ord(entry.section)
        codes[number] = entry.code
    return letters, tuple(codes)


def _division_code(number: int) -> str:
    return _sections_by_division()[1][number]


def _division_numbers(industries: ArrayLike) -> NDArray[np.int64]:
    """The GB/T 4754 division number (32 for C3216, 3216, C32) of every code; ValueError naming the first
    code that is not a division, group or class of an existing division (with its section letter, if any)."""
    raw = np.asarray(industries)
    if raw.ndim != 1:
        raw = raw.reshape(-1)
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    text = raw.astype(str) if raw.dtype.kind == "O" else raw
    if text.dtype.kind != "U":
        raise ValueError(
            f"industries: expected GB/T 4754 codes as str (C3216 or 3216), got an array of {raw.dtype}"
        )
    too_long = np.char.str_len(text) > 5 if text.dtype.itemsize > 5 * 4 else np.zeros(text.shape, dtype=bool)
    # Five code points per code, 0-padded: an optional section letter, then 2 to 4 digits. Column by column.
    points = text.astype("<U5", copy=False).view(np.uint32).reshape(-1, 5)
    first = points[:, 0]
    letter = first & ~np.uint32(32)  # a-z → A-Z; digits and padding are left below 'A'
    lettered = letter - np.uint32(65) < 26  # unsigned: anything below 'A' wraps around
    body = [np.where(lettered, points[:, k + 1], points[:, k]) for k in range(4)]
    overflow = np.where(lettered, 0, points[:, 4])
    digit = [character - np.uint32(48) < 10 for character in body]
    valid = digit[0] & digit[1] & (overflow == 0) & ~too_long
    # the third and fourth characters: two digits, one digit then padding, or padding
    valid &= (digit[2] & (digit[3] | (body[3] == 0))) | ((body[2] | body[3]) == 0)
    number = np.where(valid, (body[0].astype(np.int64) - 48) * 10 + body[1].astype(np.int64) - 48, 0)
    sections, _ = _sections_by_division()
    section = sections[number]
    valid &= (section != 0) & (~lettered | (letter == section))
    if not valid.all():
        at = int(np.flatnonzero(~valid)[0])
        raise ValueError(
            f"industries[{at}]: {raw[at].item()!r} is not a GB/T 4754-2017 division, group or class code (C32, C3216 or 3216)"
        )
    return number
