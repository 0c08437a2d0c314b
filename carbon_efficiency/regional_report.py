"""The JSON pieces of a regional report: the region asked about, the aggregate of a cell (AGG), a trend
point, and the disclosure rule that decides which figures the public sees.

`carbon_efficiency.regional` describes the whole shape; this module only turns sums into JSON-ready
dicts (plain floats and ints, None for null) and parses the query's words (region, level, industry, trend).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from carbon_efficiency.model import CARRIERS
from carbon_efficiency.regional_cells import Cells
from carbon_efficiency.regional_rows import ADDED_VALUE, EMISSIONS, ENERGY, GROSS, OFFSETS
from metadata_templates.codes import CodeError, Industry, IndustryLevel, region, validate_industry_code

NATIONAL: Final = "000000"
"""The code of the whole country in a query (its children are the provinces)."""
NATIONAL_NAMES: Final = ("全国", "China")
LEVELS: Final = ("national", "province", "city", "county")
TRENDS: Final = {"month": 1, "quarter": 3, "year": 12}
"""Trend granularity → months per bucket."""
GRADE_KEYS: Final = ("1", "2", "3", "4", "5", "ungraded")
"""The keys of ``gradeCounts``; "ungraded" is grade code 0 in the arrays."""
_SPAN: Final = {"province": 10_000, "city": 100, "county": 1}
"""Codes a region of the level spans: province 33 is 330000 … 339999."""


@dataclass(frozen=True, slots=True)
class Place:
    """The region a report is about."""

    code: str
    level: str
    name_zh: str
    name_en: str

    @property
    def codes(self) -> tuple[int, int]:
        """The first and last 6-digit code inside the region."""
        if self.level == "national":
            return 0, 999_999
        return int(self.code), int(self.code) + _SPAN[self.level] - 1

    def to_json(self) -> dict[str, str]:
        """The report's ``region``."""
        return {"code": self.code, "level": self.level, "nameZh": self.name_zh, "nameEn": self.name_en}


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Who is asking: the public (threshold rule: cells of fewer than min_cell enterprises are hidden) or
    a regulator (nothing hidden)."""

    public: bool
    min_cell: int

    def hides(self, enterprises: int) -> bool:
        """Whether a cell of this many enterprises must be suppressed."""
        return self.public and enterprises < self.min_cell


def parse_place(code: str) -> Place:
    """The region of a 6-digit GB/T 2260 code, or the whole country for ``000000``; ValueError otherwise."""
    if code == NATIONAL:
        return Place(NATIONAL, "national", *NATIONAL_NAMES)
    if not isinstance(code, str):
        raise ValueError(f"region {code!r}: expected a 6-digit GB/T 2260 code as a string, as in 330522")
    found = region(code)  # CodeError is a ValueError whose message says what is wrong
    return Place(found.code, str(found.level), found.name_zh, found.short_en)


def parse_child_level(place: Place, level: str | None) -> str | None:
    """The level of the children: the one asked, which must be below the region's, or the next one down
    (None for a county, which has no level below)."""
    rank = LEVELS.index(place.level)
    if level is None:
        return LEVELS[rank + 1] if rank + 1 < len(LEVELS) else None
    if level not in LEVELS[1:]:
        raise ValueError(f"level {level!r}: expected province, city or county")
    if LEVELS.index(level) <= rank:
        raise ValueError(f"level {level}: region {place.code} is a {place.level}, the level must be below it")
    return level


def parse_division(code: str | None) -> Industry | None:
    """The GB/T 4754 division of an industry filter (``C32`` or ``32``); ValueError for anything else."""
    if code is None:
        return None
    try:
        found = validate_industry_code(code)
    except CodeError as error:
        raise ValueError(str(error)) from None
    if found.level is not IndustryLevel.DIVISION:
        raise ValueError(
            f"industry {code}: filter by a GB/T 4754 division, as in C32 (the index keeps divisions)"
        )
    return found


def parse_trend(trend: str | None) -> int:
    """Months per trend bucket: month (the default), quarter or year."""
    if trend is None:
        return TRENDS["month"]
    if trend not in TRENDS:
        raise ValueError(f"trend {trend!r}: expected month, quarter or year")
    return TRENDS[trend]


def aggregate(found: Cells, cell: int, benchmark: float | None, disclosure: Disclosure) -> dict[str, Any]:
    """AGG of one cell: its figures, or nulls (but the enterprise count and benchmark) when hidden."""
    enterprises = int(found.enterprises[cell])
    if disclosure.hides(enterprises):
        return {
            "enterprises": enterprises,
            "emissionsTCo2": None,
            "grossEmissionsTCo2": None,
            "addedValue10kCny": None,
            "intensity": None,
            "benchmark": benchmark,
            "efficiencyValue": None,
            "gradeCounts": dict.fromkeys(GRADE_KEYS),
            "energyGj": dict.fromkeys(CARRIERS),
            "energyShares": dict.fromkeys(CARRIERS),
            "neutralityRate": None,
            "suppressed": True,
        }
    sums = found.sums[:, cell]
    emissions, gross, added = float(sums[EMISSIONS]), float(sums[GROSS]), float(sums[ADDED_VALUE])
    intensity = ratio(emissions, added)
    energy = [float(gj) for gj in sums[ENERGY]]
    all_energy = sum(energy)
    grades = found.grade_counts[cell]
    return {
        "enterprises": enterprises,
        "emissionsTCo2": emissions,
        "grossEmissionsTCo2": gross,
        "addedValue10kCny": added,
        "intensity": intensity,
        "benchmark": benchmark,
        "efficiencyValue": intensity / benchmark if intensity is not None and benchmark else None,
        "gradeCounts": {key: int(grades[(i + 1) % len(GRADE_KEYS)]) for i, key in enumerate(GRADE_KEYS)},
        "energyGj": dict(zip(CARRIERS, energy, strict=True)),
        "energyShares": {
            carrier: ratio(gj, all_energy) for carrier, gj in zip(CARRIERS, energy, strict=True)
        },
        "neutralityRate": ratio(float(sums[OFFSETS]), gross),
        "suppressed": False,
    }


def trend_point(
    label: str, enterprises: int, emissions: float, added: float, disclosure: Disclosure
) -> dict[str, Any]:
    """One point of the trend series (figures null when hidden)."""
    hidden = disclosure.hides(enterprises)
    return {
        "period": label,
        "enterprises": enterprises,
        "emissionsTCo2": None if hidden else emissions,
        "addedValue10kCny": None if hidden else added,
        "intensity": None if hidden else ratio(emissions, added),
        "suppressed": hidden,
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator ÷ denominator, None unless the denominator is > 0."""
    return numerator / denominator if denominator > 0 else None


def named_cells(
    found: Cells,
    names: list[tuple[str, str, str]],
    ids: NDArray[np.intp],
    benchmarks: list[float | None],
    disclosure: Disclosure,
) -> list[dict[str, Any]]:
    """One row per cell id: its code and names, then its AGG."""
    return [
        {
            "code": code,
            "nameZh": name_zh,
            "nameEn": name_en,
            **aggregate(found, int(cell), benchmark, disclosure),
        }
        for (code, name_zh, name_en), cell, benchmark in zip(names, ids.tolist(), benchmarks, strict=True)
    ]


def by_intensity(row: dict[str, Any]) -> tuple[bool, float, str]:
    """Sort key: intensity ascending, nulls last, then code."""
    intensity = row["intensity"]
    return intensity is None, intensity if intensity is not None else 0.0, row["code"]


def by_emissions(row: dict[str, Any]) -> tuple[bool, float, str]:
    """Sort key: emissions descending, nulls last, then code."""
    emissions = row["emissionsTCo2"]
    return emissions is None, -emissions if emissions is not None else 0.0, row["code"]
