"""Data checks: what is wrong with an activity-data document, and which periods leave the enterprise's own history.

`check_activity` finds the faults accounting cannot work around (errors: a negative or missing quantity,
a unit that does not fit the fuel, green electricity without evidence, …) and those a reviewer should see
(warnings: zero lines, an added value that leaves the period ungraded). It does not assume the document
passed the schema, so every value is looked at before it is used. `check_history` flags a period whose
figure is far from the enterprise's other periods (median and MAD, modified z-score).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from carbon_efficiency.factors import QUANTITY_UNITS, FactorLibrary
from carbon_efficiency.model import Issue

__all__ = ["MIN_OTHER_PERIODS", "MODIFIED_Z_LIMIT", "check_activity", "check_history"]

MODIFIED_Z_LIMIT: Final = 3.5
"""Iglewicz and Hoaglin's cut-off for an outlier by modified z-score."""
MIN_OTHER_PERIODS: Final = 4
"""Fewer other periods than this make no history to compare with."""
_MAD_TO_SIGMA: Final = 0.6745
"""Φ⁻¹(0.75): scales the MAD to a normal standard deviation in the modified z-score."""
_MEAN_AD_TO_SIGMA: Final = 1.253314
"""√(π/2): scales the mean absolute deviation when the MAD is 0 (more than half the values equal)."""

_QUANTITY_SECTIONS: Final = ("fuels", "electricity", "heat", "processInputs", "ghgEmissions")
_ELECTRICITY_UNITS: Final = ("MWh", "kWh")
_MEASURED: Final = ("netCalorificValue", "carbonContent", "oxidationRate")


def check_activity(document: Mapping[str, Any], *, library: FactorLibrary | None = None) -> list[Issue]:
    """Errors and warnings of one activity-data document, each naming its line (JSON pointer)."""
    library = library or FactorLibrary.default()
    issues: list[Issue] = []
    added = document.get("industrialAddedValue10kCny")
    if not _is_number(added):
        issues.append(
            Issue("error", "/industrialAddedValue10kCny", f"added value must be a number, not {added!r}")
        )
    elif added <= 0:
        issues.append(
            Issue(
                "warning",
                "/industrialAddedValue10kCny",
                f"added value {added:g} ≤ 0: the period can be accounted for but not graded",
            )
        )
    for section in _QUANTITY_SECTIONS:
        for index, line in enumerate(_lines(document, section)):
            issues.extend(_check_quantity(f"/{section}/{index}", line, "quantity"))
    for index, line in enumerate(_lines(document, "offsets")):
        issues.extend(_check_quantity(f"/offsets/{index}", line, "quantityTCo2"))
    for index, line in enumerate(_lines(document, "fuels")):
        issues.extend(_check_fuel(f"/fuels/{index}", line, library))
    for index, line in enumerate(_lines(document, "electricity")):
        issues.extend(_check_electricity(f"/electricity/{index}", line))
    for index, line in enumerate(_lines(document, "heat")):
        issues.extend(_check_heat(f"/heat/{index}", line, library))
    for index, line in enumerate(_lines(document, "processInputs")):
        if line.get("material") == "other" and not _is_number(line.get("emissionFactor")):
            issues.append(
                Issue(
                    "error",
                    f"/processInputs/{index}/emissionFactor",
                    "material other needs its emissionFactor",
                )
            )
    return issues


def check_history(totals: Mapping[str, float]) -> list[Issue]:
    """Warnings for periods far outside the others: modified z-score against the OTHER periods above 3.5.

    `totals` maps a period (`2025-03`) to one figure of it (net emissions, total energy…). A period is
    judged only when at least four other periods have a finite figure; a non-finite figure is an error.
    """
    issues: list[Issue] = []
    finite = {period: float(value) for period, value in totals.items() if _is_number(value)}
    for period, value in totals.items():
        if period not in finite:
            issues.append(Issue("error", period, f"period {period}: {value!r} is not a finite number"))
    for period, value in finite.items():
        others = [other for name, other in finite.items() if name != period]
        if len(others) < MIN_OTHER_PERIODS:
            continue
        median = statistics.median(others)
        mad = statistics.median(abs(other - median) for other in others)
        if mad > 0:
            score = _MAD_TO_SIGMA * (value - median) / mad
        else:
            mean_ad = statistics.fmean(abs(other - median) for other in others)
            scale = _MEAN_AD_TO_SIGMA * mean_ad
            score = (value - median) / scale if scale > 0 else (0.0 if value == median else math.inf)
        if abs(score) > MODIFIED_Z_LIMIT:
            issues.append(
                Issue(
                    "warning",
                    period,
                    f"period {period}: {value:g} is far from the enterprise's own history (median {median:g} "
                    f"of {len(others)} other periods, modified z-score {score:+.1f}, limit ±{MODIFIED_Z_LIMIT:g})",
                )
            )
    return issues


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _lines(document: Mapping[str, Any], section: str) -> list[Mapping[str, Any]]:
    found = document.get(section)
    if not isinstance(found, list):
        return []
    return [line if isinstance(line, Mapping) else {} for line in found]


def _check_quantity(pointer: str, line: Mapping[str, Any], key: str) -> list[Issue]:
    if key not in line:
        return [Issue("error", f"{pointer}/{key}", f"{key} is missing")]
    value = line[key]
    if not _is_number(value):
        return [Issue("error", f"{pointer}/{key}", f"{key} must be a finite number, not {value!r}")]
    if value < 0:
        return [Issue("error", f"{pointer}/{key}", f"{key} {value:g} is negative")]
    if value == 0:
        return [Issue("warning", f"{pointer}/{key}", "zero quantity: is the line needed?")]
    return []


def _check_fuel(pointer: str, line: Mapping[str, Any], library: FactorLibrary) -> list[Issue]:
    issues: list[Issue] = []
    fuel, unit = line.get("fuel"), line.get("unit")
    for key in _MEASURED:
        if key in line and (not _is_number(line[key]) or line[key] <= 0):
            issues.append(
                Issue("error", f"{pointer}/{key}", f"{key} must be a positive number, not {line[key]!r}")
            )
        elif key not in line and fuel == "other":
            issues.append(Issue("error", f"{pointer}/{key}", f"fuel other needs its measured {key}"))
    if not isinstance(unit, str) or unit not in QUANTITY_UNITS:
        issues.append(
            Issue("error", f"{pointer}/unit", f"unknown fuel unit {unit!r}: use {', '.join(QUANTITY_UNITS)}")
        )
    elif fuel != "other":
        factor = library.fuel_factors.get(str(fuel))
        if factor is None:
            issues.append(Issue("error", f"{pointer}/fuel", f"unknown fuel {fuel!r}"))
        elif QUANTITY_UNITS[unit][0] != factor.unit.split("/", 1)[1]:
            per = factor.unit.split("/", 1)[1]
            issues.append(
                Issue(
                    "error",
                    f"{pointer}/unit",
                    f"{fuel} is accounted per {per} ({factor.unit}): a quantity in {unit} does not fit",
                )
            )
    return issues


def _check_electricity(pointer: str, line: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    if line.get("unit") not in _ELECTRICITY_UNITS:
        issues.append(
            Issue("error", f"{pointer}/unit", f"electricity unit {line.get('unit')!r}: use MWh or kWh")
        )
    evidence = line.get("evidence")
    has_evidence = isinstance(evidence, Mapping) and bool(evidence.get("reference"))
    if line.get("kind") == "purchased-green" and not has_evidence:
        issues.append(
            Issue(
                "error",
                f"{pointer}/evidence",
                "purchased green electricity needs its evidence (certificate, contract)",
            )
        )
    return issues


def _check_heat(pointer: str, line: Mapping[str, Any], library: FactorLibrary) -> list[Issue]:
    if line.get("unit") != "t":
        return []
    conversion = library.heat_conversion
    if line.get("medium") == "steam":
        key, floor, what = "enthalpyKjPerKg", conversion.steam_reference_enthalpy_kj_per_kg, "kJ/kg"
    else:
        key, floor, what = "temperatureC", conversion.hot_water_reference_temperature_c, "°C"
    value = line.get(key)
    if not _is_number(value):
        return [Issue("error", f"{pointer}/{key}", f"a quantity in t needs {key} to convert it to GJ")]
    if value <= floor:
        return [
            Issue(
                "error",
                f"{pointer}/{key}",
                f"{key} {value:g} {what} is not above the reference {floor:g} {what}",
            )
        ]
    return []
