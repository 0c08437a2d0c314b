"""One enterprise's carbon-efficiency evaluation: from an accounting and a benchmark to the certificate's figures.

`evaluate` puts the pieces together: intensity L and its absolute level, K against the benchmark, the grade
and colour, the neutrality rate, the Monte Carlo intervals, the data quality, and, when there is no grade,
why. `Evaluation.subject_fields` gives the computed members of a carbon-efficiency-certificate/1
``credentialSubject``, rounded for signing.

Decisions:

- **No grade** when the added value is ≤ 0 (no intensity), when there is no benchmark (or its B is not > 0),
  or when the period is not official (half-year, quarter, month). Checked in that order; the first applies.
- **Trends.** For a period that is not official, K is still computed, as a trend, against the benchmark
  pro-rated to the period. B is an intensity (Σ emissions ÷ Σ added value): pro-rating both sums by
  months ÷ 12 leaves it unchanged, so the trend K is L ÷ B, with L the period's own emissions ÷ its own
  added value. (`periods.pro_rata` scales totals, not ratios.)
- **Provisional.** A grade is provisional when K's 95 % interval crosses a band edge, or when a line used
  a factor outside its validity (`FactorChoice.expired`, which accounting records when it uses an expired
  factor anyway). The reasons are kept in `Evaluation.provisional_reasons`. Without a grade there is nothing
  to be provisional about: `provisional` is False and the certificate leaves the member out.
- **The accounting must cover exactly the period's months** (one document for the period, or documents
  combined without gaps or overlaps): a quarter's accounting evaluated as a year would make an official
  grade out of three months. `PeriodMismatch` says what is covered and what was needed.
- **Data-quality warnings** are the activity-data score's own and every warning of the accounting (data
  checks, expired factors), each at most 300 characters, as the certificate allows.
- **Rounding for the signed document** (plain JSON numbers, whole values written as integers so every
  JSON-LD implementation reads the same literal): tonnes to 0.1 t; added value to 1 CNY (0.0001 × 10⁴);
  L, B and K and K's interval to 6 significant digits, except that K keeps every digit when 6 would carry
  it across a band edge (the published K always grades as the certificate says); neutrality rate to 4
  significant digits; data-quality score to 0.01.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from carbon_efficiency.benchmark import Benchmark
from carbon_efficiency.grading import (
    absolute_level_for,
    colour_for,
    grade_for,
    intensities,
)
from carbon_efficiency.model import EXPORTED, SOURCES, ZERO_CARBON_DEDUCTIONS, Accounting
from carbon_efficiency.periods import InvalidPeriod, Period, parse_period
from carbon_efficiency.quality import MAX_WARNING_LENGTH, DataQuality, activity_data_quality
from carbon_efficiency.uncertainty import Uncertainty, monte_carlo

METHOD_VERSION: Final = "carbonid-efficiency/1"
NO_ADDED_VALUE: Final = "industrial added value is ≤ 0: no intensity, no grade"
NO_BENCHMARK: Final = "no benchmark for this industry and region: no efficiency value, no grade"
TREND: Final = (
    "monthly and quarterly figures are trends, not grades (half-years too): "
    "an official grade needs a year or rolling 12 months"
)
_DEDUCTED: Final = frozenset({EXPORTED, ZERO_CARBON_DEDUCTIONS})
"""Sources the certificate shows as positive amounts deducted."""


class PeriodMismatch(ValueError):
    """The accounting does not cover exactly the months of the period evaluated."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The carbon-efficiency result of one accounting over one period."""

    accounting: Accounting
    period: Period
    benchmark: Benchmark | None
    """The benchmark K is computed against; None when none was given or its B is not > 0."""
    intensity: float | None
    """L, tCO₂ per 10⁴ CNY (net emissions ÷ added value); None when the added value is ≤ 0."""
    absolute_level: str | None
    """low | medium | high"""
    efficiency_value: float | None
    """K = L ÷ B (a trend value when the period is not official)."""
    grade: int | None
    neutrality_rate: float | None
    uncertainty: Uncertainty
    provisional: bool
    provisional_reasons: tuple[str, ...]
    data_quality: DataQuality
    ungraded_reason: str | None
    method_version: str = METHOD_VERSION

    @property
    def colour(self) -> str | None:
        """The grade's colour (dark-green … red); None without a grade."""
        return None if self.grade is None else colour_for(self.grade)

    def subject_fields(self) -> dict[str, Any]:
        """The computed members of a carbon-efficiency-certificate/1 ``credentialSubject``, rounded; members
        without a value are left out."""
        accounting = self.accounting
        by_source = accounting.by_source
        fields: dict[str, Any] = {
            "period": self.period.text,
            "granularity": self.period.granularity,
            "official": self.period.official,
            "emissionsTCo2": _tonnes(accounting.gross_emissions),
            "netEmissionsTCo2": _tonnes(accounting.net_emissions),
            "emissionsBySource": {
                source: _tonnes(-by_source[source] if source in _DEDUCTED else by_source[source])
                for source in SOURCES
            },
            "addedValue10kCny": _plain(round(accounting.added_value, 4)),
        }
        if self.intensity is not None:
            fields["intensity"] = _significant(self.intensity, 6)
        if self.absolute_level is not None:
            fields["absoluteLevel"] = self.absolute_level
        if self.benchmark is not None:
            benchmark = self.benchmark.to_json()
            benchmark["intensity"] = _significant(self.benchmark.intensity, 6)
            fields["benchmark"] = benchmark
        if self.efficiency_value is not None:
            fields["efficiencyValue"] = _efficiency(self.efficiency_value)
        if self.grade is not None:
            fields["grade"] = self.grade
            fields["gradeColour"] = colour_for(self.grade)
            fields["provisional"] = self.provisional
        if self.ungraded_reason is not None:
            fields["ungradedReason"] = self.ungraded_reason
        if self.neutrality_rate is not None:
            fields["neutralityRate"] = _significant(self.neutrality_rate, 4)
        uncertainty: dict[str, Any] = {
            "draws": self.uncertainty.draws,
            "seed": self.uncertainty.seed,
            "emissionsInterval": [_tonnes(x) for x in self.uncertainty.emissions_interval],
        }
        if self.uncertainty.efficiency_interval is not None:
            uncertainty["efficiencyValueInterval"] = [
                _significant(x, 6) for x in self.uncertainty.efficiency_interval
            ]
        fields["uncertainty"] = uncertainty
        quality: dict[str, Any] = {}
        if self.data_quality.score is not None:
            quality["score"] = _plain(round(self.data_quality.score, 2))
        if self.data_quality.band is not None:
            quality["band"] = self.data_quality.band
        if self.data_quality.warnings:
            quality["warnings"] = list(self.data_quality.warnings)
        if quality:
            fields["dataQuality"] = quality
        method: dict[str, Any] = {"methodVersion": self.method_version, "factorSet": accounting.factor_set}
        if accounting.grid_factor_year is not None:
            method["gridFactorYear"] = accounting.grid_factor_year
        method["gwp"] = accounting.gwp
        fields["method"] = method
        return fields


def evaluate(
    accounting: Accounting,
    *,
    period: Period,
    benchmark: Benchmark | None,
    draws: int = 10_000,
    seed: int,
) -> Evaluation:
    """Evaluate an accounting over ``period`` against ``benchmark`` (None: none found): L, K, grade, neutrality
    rate, Monte Carlo intervals (``draws``, ``seed``), data quality and, without a grade, why not."""
    _check_coverage(accounting, period)
    if not math.isfinite(accounting.added_value) or not math.isfinite(accounting.net_emissions):
        raise ValueError(
            f"accounting: added value {accounting.added_value!r} and net emissions {accounting.net_emissions!r} "
            "must be finite numbers"
        )
    [level] = intensities([accounting.net_emissions], [accounting.added_value]).tolist()
    intensity = level if math.isfinite(level) else None
    usable = benchmark if benchmark is not None and 0 < benchmark.intensity < math.inf else None
    efficiency = intensity / usable.intensity if intensity is not None and usable is not None else None
    if intensity is None:
        reason: str | None = NO_ADDED_VALUE
    elif usable is None:
        reason = NO_BENCHMARK
    elif not period.official:
        reason = TREND
    else:
        reason = None
    grade = grade_for(efficiency) if reason is None and efficiency is not None else None
    uncertainty = monte_carlo(
        accounting.lines,
        added_value=accounting.added_value,
        benchmark_intensity=usable.intensity if usable is not None else None,
        draws=draws,
        seed=seed,
    )
    reasons = _provisional_reasons(accounting, uncertainty)
    return Evaluation(
        accounting=accounting,
        period=period,
        benchmark=usable,
        intensity=intensity,
        absolute_level=absolute_level_for(intensity) if intensity is not None else None,
        efficiency_value=efficiency,
        grade=grade,
        neutrality_rate=accounting.neutrality_rate,
        uncertainty=uncertainty,
        provisional=grade is not None and bool(reasons),
        provisional_reasons=reasons,
        data_quality=_data_quality(accounting),
        ungraded_reason=reason,
    )


def _check_coverage(accounting: Accounting, period: Period) -> None:
    covered: list[str] = []
    for text in accounting.periods:
        try:
            covered.extend(parse_period(text).months)
        except InvalidPeriod as error:
            raise PeriodMismatch(f"accounting period: {error}") from None
    if len(set(covered)) != len(covered) or sorted(covered) != list(period.months):
        have = f"{min(covered)} … {max(covered)} ({len(covered)} months)" if covered else "no months"
        raise PeriodMismatch(
            f"the accounting ({', '.join(accounting.periods) or 'no period'}) covers {have}, but period "
            f"{period.text} ({period.granularity}) is {period.first_month} … {period.last_month} "
            f"({len(period.months)} months, each once)"
        )


def _provisional_reasons(accounting: Accounting, uncertainty: Uncertainty) -> tuple[str, ...]:
    reasons = []
    if uncertainty.provisional and uncertainty.efficiency_interval is not None:
        low, high = uncertainty.efficiency_interval
        reasons.append(f"K's 95 % interval {low:.4g} … {high:.4g} crosses a band edge")
    expired: dict[str, list[str]] = {}
    for line in accounting.lines:
        if line.choice is not None and line.choice.expired:
            factor = line.choice.factor
            expired.setdefault(f"{factor.kind} {factor.key} ({factor.year})", []).append(line.pointer)
    for factor_name, pointers in expired.items():
        where = pointers[0] if len(pointers) == 1 else f"{pointers[0]} and {len(pointers) - 1} more lines"
        reasons.append(f"factor {factor_name} is out of its validity: used by {where}")
    return tuple(reasons)


def _data_quality(accounting: Accounting) -> DataQuality:
    rated = activity_data_quality(accounting.lines)
    warnings = list(rated.warnings)
    for issue in accounting.issues:
        if issue.severity == "warning":
            text = str(issue)
            warnings.append(text if len(text) <= MAX_WARNING_LENGTH else text[: MAX_WARNING_LENGTH - 1] + "…")
    return DataQuality(rated.score, rated.band, tuple(warnings))


def _plain(value: float) -> float | int:
    """A whole number as an int (one JSON literal for one value in every implementation), else the float."""
    if value == 0:
        return 0
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _tonnes(value: float) -> float | int:
    return _plain(round(value, 1))


def _significant(value: float, digits: int) -> float | int:
    return _plain(float(f"{value:.{digits}g}"))


def _efficiency(value: float) -> float | int:
    """K to 6 significant digits, or every digit when rounding would move it into another grade."""
    rounded = _significant(value, 6)
    return rounded if grade_for(rounded) == grade_for(value) else _plain(value)
