"""Carbon intensity L, carbon-efficiency value K and grade, on whole populations at once (numpy).

The Zhejiang/Huzhou method (DB33/T 1347-2023): L = emissions ÷ industrial added value (tCO₂ per 10⁴ CNY),
K = L ÷ benchmark L, and K falls into one of five bands::

    grade 1 dark green   K ≤ 0.6
    grade 2 light green  0.6 < K ≤ 0.8
    grade 3 yellow       0.8 < K ≤ 1.2
    grade 4 orange       1.2 < K ≤ 2.0
    grade 5 red          K > 2.0

A value exactly on an edge gets the better grade. L also has an absolute level: low (≤ 0.6), medium
(≤ 2.0), high (> 2.0). The bands, colours and names are read from ``data/grading.json`` (with their
sources); the functions here only apply them.

Arrays are graded without a Python loop per enterprise: a population of a million is a handful of
vectorised passes. Missing results are NaN (L, K) or 0 (grade, absolute level): no intensity where the
added value is ≤ 0 or not finite, no K where the benchmark is not > 0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, slots=True)
class GradeBand:
    """One carbon-efficiency grade: its K band, colour and names."""

    grade: int
    upper_edge: float | None
    """K up to and including this value (None: no upper edge)."""
    colour: str
    """The certificate's ``gradeColour``: dark-green, light-green, yellow, orange, red."""
    name_zh: str
    name_en: str
    hex: str
    """The display colour (``#RRGGBB``)."""
    source: str


@dataclass(frozen=True, slots=True)
class AbsoluteLevel:
    """One absolute intensity level (low, medium, high carbon) and its L band."""

    code: int
    """1 low, 2 medium, 3 high (0 is used for no level in arrays)."""
    level: str
    upper_edge: float | None
    name_zh: str
    name_en: str
    source: str


@dataclass(frozen=True, slots=True)
class GradedPopulation:
    """Intensity, efficiency value and grade of every enterprise of a population (aligned arrays)."""

    intensity: NDArray[np.float64]
    """L, tCO₂ per 10⁴ CNY; NaN where the added value is ≤ 0 or missing."""
    efficiency_value: NDArray[np.float64]
    """K = L ÷ B; NaN where there is no L or no benchmark."""
    grade: NDArray[np.int8]
    """1 … 5; 0 where there is no K."""

    @property
    def colour_index(self) -> NDArray[np.int8]:
        """Index into `GRADES` / `COLOURS` (grade − 1); −1 where there is no grade."""
        return self.grade - np.int8(1)


def _load() -> tuple[tuple[GradeBand, ...], tuple[AbsoluteLevel, ...]]:
    document: dict[str, Any] = json.loads(
        resources.files("carbon_efficiency.data").joinpath("grading.json").read_text("utf-8")
    )
    grades = tuple(
        GradeBand(
            row["grade"],
            row["upperEdge"],
            row["colour"],
            row["nameZh"],
            row["nameEn"],
            row["hex"],
            row["source"],
        )
        for row in document["grades"]
    )
    levels = tuple(
        AbsoluteLevel(code, row["level"], row["upperEdge"], row["nameZh"], row["nameEn"], row["source"])
        for code, row in enumerate(document["absoluteLevels"], start=1)
    )
    for pointer, bands in (("/grades", grades), ("/absoluteLevels", levels)):
        edges = [band.upper_edge for band in bands]
        inner = [edge for edge in edges[:-1] if edge is not None]
        if edges[-1] is not None or len(inner) != len(edges) - 1 or any(a >= b for a, b in pairwise(inner)):
            raise ValueError(f"data/grading.json{pointer}: upper edges must rise, the last one null")
    if [band.grade for band in grades] != list(range(1, len(grades) + 1)):
        raise ValueError("data/grading.json/grades: grades must be numbered 1, 2, 3 … in order")
    return grades, levels


GRADES, ABSOLUTE_LEVELS = _load()
GRADE_EDGES: Final[tuple[float, ...]] = tuple(b.upper_edge for b in GRADES if b.upper_edge is not None)
"""(0.6, 0.8, 1.2, 2.0): the K edges between grades 1|2, 2|3, 3|4 and 4|5."""
LEVEL_EDGES: Final[tuple[float, ...]] = tuple(
    b.upper_edge for b in ABSOLUTE_LEVELS if b.upper_edge is not None
)
"""(0.6, 2.0): the L edges between low|medium and medium|high."""
COLOURS: Final[tuple[str, ...]] = tuple(b.colour for b in GRADES)
"""Colour of grade g at index g − 1."""


def intensities(emissions_t: ArrayLike, added_value_10k_cny: ArrayLike) -> NDArray[np.float64]:
    """L = emissions ÷ added value (tCO₂ per 10⁴ CNY), elementwise; NaN where the added value is ≤ 0 or
    either figure is not finite."""
    added = np.asarray(added_value_10k_cny, dtype=np.float64)
    with np.errstate(all="ignore"):
        result = np.asarray(np.asarray(emissions_t, dtype=np.float64) / added, dtype=np.float64)
    # A non-finite emissions figure makes a non-finite quotient; an infinite added value a zero one.
    np.copyto(result, np.nan, where=~((added > 0) & (added < np.inf) & np.isfinite(result)))
    return result


def efficiency_values(intensity: ArrayLike, benchmark: ArrayLike) -> NDArray[np.float64]:
    """K = L ÷ B, elementwise (B may be one value for all); NaN where B is not a finite value > 0 or L is
    missing."""
    bench = np.asarray(benchmark, dtype=np.float64)
    with np.errstate(all="ignore"):
        result = np.asarray(np.asarray(intensity, dtype=np.float64) / bench, dtype=np.float64)
    np.copyto(result, np.nan, where=~((bench > 0) & (bench < np.inf) & np.isfinite(result)))
    return result


def grades(efficiency_value: ArrayLike) -> NDArray[np.int8]:
    """The grade (1 … 5) of every K; 0 where K is NaN or infinite. K on an edge gets the better grade."""
    return _bands(np.asarray(efficiency_value, dtype=np.float64), GRADE_EDGES)


def absolute_levels(intensity: ArrayLike) -> NDArray[np.int8]:
    """The absolute level code of every L: 1 low, 2 medium, 3 high (`ABSOLUTE_LEVELS`); 0 where L is missing."""
    return _bands(np.asarray(intensity, dtype=np.float64), LEVEL_EDGES)


def grade_population(
    emissions_t: ArrayLike, added_value_10k_cny: ArrayLike, benchmark: ArrayLike
) -> GradedPopulation:
    """Grade a population: L, K and grade of every enterprise. ``benchmark`` is one B for all or one per
    enterprise (e.g. `BenchmarkTable.lookup_many`'s intensities, NaN where none)."""
    intensity = intensities(emissions_t, added_value_10k_cny)
    efficiency = efficiency_values(intensity, benchmark)
    return GradedPopulation(intensity, efficiency, grades(efficiency))


def grade_for(efficiency_value: float) -> int | None:
    """The grade of one K (1 … 5), None when K is not a finite number."""
    if not math.isfinite(efficiency_value):
        return None
    return 1 + sum(1 for edge in GRADE_EDGES if efficiency_value > edge)


def grade_band(grade: int) -> GradeBand:
    """The band (colour, names, display colour) of a grade 1 … 5; ValueError for any other number."""
    if isinstance(grade, bool) or not isinstance(grade, int | np.integer) or not 1 <= grade <= len(GRADES):
        raise ValueError(f"grade {grade!r}: grades run 1 to {len(GRADES)}")
    return GRADES[int(grade) - 1]


def colour_for(grade: int) -> str:
    """The certificate colour of a grade: ``dark-green`` … ``red``."""
    return grade_band(grade).colour


def absolute_level_for(intensity: float) -> str | None:
    """``low``, ``medium`` or ``high`` for one L (tCO₂ per 10⁴ CNY); None when L is not a finite number."""
    if not math.isfinite(intensity):
        return None
    return ABSOLUTE_LEVELS[sum(1 for edge in LEVEL_EDGES if intensity > edge)].level


def _bands(values: NDArray[np.float64], edges: tuple[float, ...]) -> NDArray[np.int8]:
    """1 + the number of edges strictly below each value, 0 for NaN/±inf: one comparison pass per edge."""
    band = np.ones(values.shape, dtype=np.int8)
    for edge in edges:
        band += values > edge
    band *= np.isfinite(values)
    return band
