"""Monte Carlo uncertainty of an accounting's emissions and K (IPCC 2006 Guidelines Vol.1 Ch.3, Approach 2).

Each emission line is its point emissions times two random multipliers: one for the activity data (by the
line's data-source kind: a meter is known to ±2 %, an estimate to ×/÷ 1.3) and one for the factor (by the
line's factor kind: a default fuel factor ±7 %, a grid factor ±7.5 %, a GWP exactly). The relative 95 %
half-widths and distributions are read from ``data/uncertainty.json``, each row with its source:

- ``normal``: multiplier ~ N(1, (h / 1.96)²), truncated at 0. The table may give a normal row at most
  h = 0.25, where P(multiplier < 0) < 10⁻¹⁴: truncating is then clipping at 0, which never happens in
  practice, so the draws are not reshaped.
- ``lognormal``: ln(multiplier) ~ N(−s²/2, s²), s = ln(1 + h) / 1.96: mean 1 (the point estimate stays the
  expected value), 95 % range ×/÷ (1 + h) around the median; h = 1 is “a factor of 2”.
- ``exact``: multiplier 1.

Correlation: lines that use the same factor (the same library row, or the same stated value and unit for
factors that are not from the library) share one factor draw, since an error in the factor is the same error
in every line that uses it (twelve monthly electricity lines with one grid factor are not twelve independent
grid factors). Activity data are drawn independently per line.

The draw matrix is (lines × draws): the activity and factor multipliers are multiplied once and summed per
draw with the line emissions, net of exported energy and deductions. The interval is P2.5–P97.5 (NumPy's
default linear percentile). Added value is taken as exact: K's interval is the emissions interval divided
by added value × benchmark, and the benchmark is taken as exact too.

Reproducibility: the generator is ``np.random.Generator(PCG64(seed))`` and the sum per draw is NumPy's own
(pairwise) summation, not BLAS, so with the same NumPy the same lines and seed give the same interval bit for
bit. PCG64's bit stream is stable, but NumPy may change how a Generator turns bits into normal draws between
feature releases (NEP 19), and ``np.exp`` may differ in the last bit between CPUs: a recomputation elsewhere
agrees to far more digits than the certificate shows, not necessarily to the last bit. The seed is limited
to 0 … 2⁵³ − 1 so it survives a JSON round trip in any language.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from carbon_efficiency.grading import grade_for
from carbon_efficiency.model import EmissionLine

Distribution = Literal["normal", "lognormal", "exact"]

Z_95: Final = 1.959963984540054
"""The standard normal's 97.5 % quantile: a 95 % half-width is 1.96 standard deviations."""
MAX_NORMAL_HALF_WIDTH: Final = 0.25
MIN_DRAWS: Final = 100
MAX_SEED: Final = 2**53 - 1


class UnknownUncertainty(ValueError):
    """A line whose data-source or factor kind has no row in data/uncertainty.json."""


@dataclass(frozen=True, slots=True)
class Spread:
    """How well one kind of figure is known: its relative 95 % half-width and distribution."""

    kind: str
    half_width: float
    distribution: Distribution
    source: str

    @property
    def sigma(self) -> float:
        """The standard deviation of the multiplier (normal) or of its logarithm (lognormal)."""
        if self.distribution == "lognormal":
            return math.log1p(self.half_width) / Z_95
        return self.half_width / Z_95


@dataclass(frozen=True, slots=True)
class UncertaintyTable:
    """The shipped table: spreads by data-source kind and by factor kind."""

    data_sources: Mapping[str, Spread]
    factor_kinds: Mapping[str, Spread]


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """The Monte Carlo result: 95 % intervals of net emissions and of K, and whether K straddles an edge."""

    draws: int
    seed: int
    emissions_interval: tuple[float, float]
    """P2.5 and P97.5 of net emissions, tCO₂."""
    efficiency_interval: tuple[float, float] | None
    """P2.5 and P97.5 of K; None without added value > 0 or without a benchmark."""
    provisional: bool
    """K's interval holds values of two grades: it crosses a band edge."""


@cache
def uncertainty_table() -> UncertaintyTable:
    """Read and check ``data/uncertainty.json`` (once)."""
    document: dict[str, Any] = json.loads(
        resources.files("carbon_efficiency.data").joinpath("uncertainty.json").read_text("utf-8")
    )
    return UncertaintyTable(_spreads(document, "dataSources"), _spreads(document, "factorKinds"))


def monte_carlo(
    lines: Sequence[EmissionLine],
    *,
    added_value: float,
    benchmark_intensity: float | None,
    draws: int = 10_000,
    seed: int,
) -> Uncertainty:
    """Draw ``draws`` accountings of ``lines`` and report the 95 % intervals of net emissions and of K
    (against ``benchmark_intensity``, with ``added_value`` in 10⁴ CNY taken as exact)."""
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < MIN_DRAWS:
        raise ValueError(
            f"draws {draws!r}: expected an integer ≥ {MIN_DRAWS} (P2.5 needs a few draws below it)"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed {seed!r}: expected an integer from 0 to 2**53 - 1")
    table = uncertainty_table()
    activity = [_spread(table.data_sources, line.data_source, line.pointer, "data source") for line in lines]
    factor_of_line: list[int] = []
    factors: dict[Hashable, int] = {}
    factor_spreads: list[Spread] = []
    for line in lines:
        key = _factor_identity(line)
        if key not in factors:
            factors[key] = len(factor_spreads)
            factor_spreads.append(_spread(table.factor_kinds, line.factor_kind, line.pointer, "factor"))
        factor_of_line.append(factors[key])
    emissions = np.array([line.emissions for line in lines], dtype=np.float64)
    generator = np.random.Generator(np.random.PCG64(seed))
    # Lines × draws (one row per line, contiguous): the factor rows are gathered to their lines.
    multipliers = _multipliers(generator, draws, activity)
    multipliers *= _multipliers(generator, draws, factor_spreads)[np.asarray(factor_of_line, dtype=np.intp)]
    multipliers *= emissions[:, np.newaxis]
    totals = multipliers.sum(axis=0)
    low, high = (float(x) for x in np.percentile(totals, (2.5, 97.5)))
    efficiency: tuple[float, float] | None = None
    provisional = False
    if (
        benchmark_intensity is not None
        and math.isfinite(benchmark_intensity)
        and benchmark_intensity > 0
        and math.isfinite(added_value)
        and added_value > 0
    ):
        scale = added_value * benchmark_intensity
        efficiency = (low / scale, high / scale)
        provisional = grade_for(efficiency[0]) != grade_for(efficiency[1])
    return Uncertainty(draws, seed, (low, high), efficiency, provisional)


def _factor_identity(line: EmissionLine) -> Hashable:
    """Lines with the same identity share one factor draw."""
    if line.choice is not None:
        factor = line.choice.factor
        return ("library", factor.factor_set, factor.kind, factor.key, factor.year, factor.value)
    return ("stated", line.factor_kind, line.factor_unit, line.factor)


def _spread(spreads: Mapping[str, Spread], kind: str, pointer: str, what: str) -> Spread:
    found = spreads.get(kind)
    if found is None:
        raise UnknownUncertainty(
            f"{pointer}: {what} kind {kind!r} has no uncertainty in data/uncertainty.json "
            f"(known: {', '.join(sorted(spreads))})"
        )
    return found


def _multipliers(
    generator: np.random.Generator, draws: int, spreads: Sequence[Spread]
) -> NDArray[np.float64]:
    """Multipliers drawn for each spread: one row of ``draws`` per spread."""
    sigma = np.array([spread.sigma for spread in spreads], dtype=np.float64)[:, np.newaxis]
    lognormal = np.array([spread.distribution == "lognormal" for spread in spreads], dtype=bool)
    drawn = generator.standard_normal((len(spreads), draws))
    # In place, row by row through the ufuncs' `where` (no copies of the matrix).
    drawn *= sigma
    np.subtract(drawn, sigma**2 / 2, out=drawn, where=lognormal[:, np.newaxis])
    np.exp(drawn, out=drawn, where=lognormal[:, np.newaxis])
    np.add(drawn, 1.0, out=drawn, where=~lognormal[:, np.newaxis])
    np.maximum(drawn, 0.0, out=drawn)
    return drawn


def _spreads(document: Mapping[str, Any], member: str) -> dict[str, Spread]:
    found: dict[str, Spread] = {}
    for index, row in enumerate(document[member]):
        pointer = f"data/uncertainty.json/{member}/{index}"
        spread = Spread(row["kind"], float(row["halfWidth95"]), row["distribution"], row["source"])
        if (
            spread.distribution not in ("normal", "lognormal", "exact")
            or not 0 <= spread.half_width < math.inf
        ):
            raise ValueError(
                f"{pointer}: expected a distribution normal|lognormal|exact and a half-width ≥ 0"
            )
        if (spread.distribution == "exact") != (spread.half_width == 0):
            raise ValueError(f"{pointer}: a half-width of 0 is 'exact', and 'exact' has a half-width of 0")
        if spread.distribution == "normal" and spread.half_width > MAX_NORMAL_HALF_WIDTH:
            raise ValueError(
                f"{pointer}: a normal half-width above {MAX_NORMAL_HALF_WIDTH} would put draws below 0; use lognormal"
            )
        if spread.kind in found:
            raise ValueError(f"{pointer}: kind {spread.kind!r} appears twice")
        found[spread.kind] = spread
    return found
