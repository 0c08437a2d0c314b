"""The quantities of a CICES product form as PACT v2.3 needs them: PACT Decimals, the declared unit, the emission
factor per declared unit, and what the inventory says about its data (primary share, secondary sources, IPCC
reports). Pure: it reads only its own data file, `data/pact-units.json`.

Units are compared case-folded, without spaces, parentheses or the separators '·', '.', '*', and with superscript
digits as plain ones, so `kgCO₂e/(t·km)` and `kgco2e/tkm` are one unit. A factor unit is a CO2e mass (g, kg, t)
per unit; an inventory line is weighed when its factor's unit is its quantity's unit (or converts to it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from functools import cache
from importlib import resources
from typing import Any, Final, TypeGuard

SIGNIFICANT_DIGITS: Final = 15
"""Decimals are rounded to this many significant digits (what a double carries faithfully)."""
DEFAULT_IPCC_REPORT: Final = 6
"""The GWP set assumed when no factor source names one: AR6, the project's default (carbon_efficiency)."""

# Sections of the inventory whose activity data are the owner's own (primary data in the PACT Methodology).
OWN_ACTIVITY_SECTIONS: Final = ("primaryEnergy", "secondaryEnergy", "directEmissions", "transport")

_UNIT_NOISE: Final = re.compile(r"[\s·.*()（）]")
_SUPERSCRIPTS: Final = str.maketrans({"²": "2", "³": "3", "₂": "2"})
_FACTOR_UNIT: Final = re.compile(r"^(?P<num>[a-z]+)co2(?:e|eq)?/(?P<den>.+)$")
_IPCC_REPORT: Final = re.compile(r"\bAR\s?(\d{1,2})\b", re.IGNORECASE)
_YEAR: Final = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


class UnmappableForm(ValueError):
    """The form cannot be a v2.3 ProductFootprint; the message says which member and why."""


@dataclass(frozen=True, slots=True)
class DeclaredUnit:
    """A unit a form may be quantified in and the PACT declared unit it converts to."""

    unit: str
    kind: str
    declared: str
    factor: Decimal
    """Declared units in one of this unit."""


@dataclass(frozen=True, slots=True)
class UnitTable:
    """`data/pact-units.json`: product units by normalised alias, and CO2e mass units by normalised alias."""

    units: Mapping[str, DeclaredUnit]
    co2e_kg: Mapping[str, Decimal]


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _normalise_unit(text: str) -> str:
    return _UNIT_NOISE.sub("", text.translate(_SUPERSCRIPTS)).casefold()


@cache
def unit_table() -> UnitTable:
    """The units of `data/pact-units.json` (read once)."""
    text = resources.files("node").joinpath("data/pact-units.json").read_text("utf-8")
    data = json.loads(text)
    units: dict[str, DeclaredUnit] = {}
    for row in data["units"]:
        unit = DeclaredUnit(row["unit"], row["kind"], row["declaredUnit"], Decimal(row["factor"]))
        for alias in (row["unit"], *row["aliases"]):
            units[_normalise_unit(alias)] = unit
    co2e = {
        _normalise_unit(alias): Decimal(row["kgPerUnit"]) for row in data["co2e"] for alias in row["aliases"]
    }
    return UnitTable(units, co2e)


# --------------------------------------------------------------------------------------------------------------
# Numbers


def decimal_text(value: Decimal) -> str:
    """A PACT Decimal: dotted-decimal text, no exponent, no trailing zeros, rounded to 15 significant digits."""
    with localcontext() as context:
        context.prec = SIGNIFICANT_DIGITS
        rounded = (+value).normalize()
    text = format(rounded, "f")
    return "0" if rounded.is_zero() else text


def _decimal(value: object, pointer: str) -> Decimal:
    if not _is_number(value):
        raise UnmappableForm(f"{pointer}: expected a number, got {value!r}")
    try:
        # repr gives the shortest text that reads back as the same double: 12.9, not 12.9000000000000003553.
        number = Decimal(repr(value))
    except InvalidOperation:
        raise UnmappableForm(f"{pointer}: {value!r} is not a finite number") from None
    if not number.is_finite():
        raise UnmappableForm(f"{pointer}: {value!r} is not a finite number")
    return number


def dqr_to_pact(score: float) -> float:
    """A CICES data-quality score (1 best … 5 worst) on PACT's DQR scale (1 best … 3 worst): 1 + (s − 1) / 2."""
    return 1 + (score - 1) / 2


# --------------------------------------------------------------------------------------------------------------
# Units and the declared unit


def declared_unit(quantification: Mapping[str, Any]) -> tuple[DeclaredUnit, Decimal]:
    """The declared unit of a form's quantification and the product's amount in it."""
    kind, unit_text = quantification.get("kind"), quantification.get("unit")
    if not isinstance(unit_text, str) or not isinstance(kind, str):
        raise UnmappableForm("/quantification: kind and unit are required")
    unit = unit_table().units.get(_normalise_unit(unit_text))
    if unit is None:
        raise UnmappableForm(
            f"/quantification/unit: {unit_text!r} has no PACT v2.3 declared unit "
            "(kilogram, liter, cubic meter, square meter, kilowatt hour, megajoule, ton kilometer)"
        )
    if kind != "other" and unit.kind != kind:
        raise UnmappableForm(f"/quantification: unit {unit_text!r} is not a unit of {kind}")
    amount = _decimal(quantification.get("amount"), "/quantification/amount") * unit.factor
    if amount <= 0:
        raise UnmappableForm("/quantification/amount: must be greater than 0")
    return unit, amount


def _factor_unit(text: str) -> tuple[Decimal, str] | None:
    """(kg CO2e per unit of the numerator, normalised denominator) of a factor unit such as `kgCO2e/t`."""
    match = _FACTOR_UNIT.match(_normalise_unit(text))
    if match is None:
        return None
    kg = unit_table().co2e_kg.get(match.group("num"))
    return None if kg is None else (kg, match.group("den"))


def _per_unit(denominator: str, unit: str) -> Decimal | None:
    """How many `denominator` units one `unit` is (both normalised), when they are the same or convertible."""
    if denominator == unit:
        return Decimal(1)
    table = unit_table().units
    den, own = table.get(denominator), table.get(unit)
    if den is None or own is None or den.declared != own.declared:
        return None
    return own.factor / den.factor


def pcf_per_declared_unit(factor: Mapping[str, Any], unit: DeclaredUnit) -> Decimal:
    """The form's emission factor in kgCO2e per declared unit of its product."""
    value = _decimal(factor.get("value"), "/emissionFactor/value")
    unit_text = factor.get("unit")
    parsed = _factor_unit(unit_text) if isinstance(unit_text, str) else None
    if parsed is None:
        raise UnmappableForm(
            f"/emissionFactor/unit: {unit_text!r} is not a CO2e mass per unit, e.g. kgCO2e/kg"
        )
    kg_per_numerator, denominator = parsed
    declared = unit_table().units.get(denominator)
    if declared is None or declared.declared != unit.declared:
        raise UnmappableForm(
            f"/emissionFactor/unit: {unit_text!r} is not per {unit.declared} (the product is quantified in {unit.unit})"
        )
    # One denominator unit is `factor` declared units (1 t = 1000 kilogram), so divide.
    return value * kg_per_numerator / declared.factor


# --------------------------------------------------------------------------------------------------------------
# Inventory: primary data share, secondary sources, IPCC reports


@dataclass(frozen=True, slots=True)
class _Line:
    section: str
    line: Mapping[str, Any]

    @property
    def factor(self) -> Mapping[str, Any] | None:
        factor = self.line.get("emissionFactor")
        return factor if isinstance(factor, Mapping) else None

    @property
    def primary(self) -> bool:
        return self.section in OWN_ACTIVITY_SECTIONS or isinstance(self.line.get("supplierHandle"), str)

    def _quantity(self) -> tuple[Decimal, str] | None:
        """The line's quantity per functional unit and its normalised unit (t·km for transport)."""
        line = self.line
        if self.section == "transport":
            tonne_km, mass, distance = line.get("tonneKm"), line.get("massT"), line.get("distanceKm")
            if _is_number(tonne_km):
                return Decimal(repr(tonne_km)), "tkm"
            if _is_number(mass) and _is_number(distance):
                return Decimal(repr(mass)) * Decimal(repr(distance)), "tkm"
            return None
        quantity, unit = line.get("quantity"), line.get("unit")
        if _is_number(quantity) and isinstance(unit, str):
            return Decimal(repr(quantity)), _normalise_unit(unit)
        return None

    def emissions_kg(self) -> Decimal | None:
        """kgCO2e of the line per functional unit, when its factor's unit fits its quantity."""
        factor = self.factor
        unit_text = factor.get("unit") if factor is not None else None
        parsed = _factor_unit(unit_text) if isinstance(unit_text, str) else None
        quantity = self._quantity()
        if factor is None or parsed is None or quantity is None:
            return None
        kg, denominator = parsed
        per_unit = _per_unit(denominator, quantity[1])
        value = factor.get("value")
        if per_unit is None or not _is_number(value):
            return None
        return quantity[0] * per_unit * Decimal(repr(value)) * kg


def _lines(document: Mapping[str, Any]) -> list[_Line]:
    inventory = document.get("inventory")
    if not isinstance(inventory, Mapping):
        return []
    return [
        _Line(section, line)
        for section in ("materials", *OWN_ACTIVITY_SECTIONS)
        for line in (inventory.get(section) or ())
        if isinstance(line, Mapping)
    ]


def primary_data_share(document: Mapping[str, Any]) -> float:
    """Percent of the inventory's emissions from primary data (see the module docstring)."""
    source = document.get("emissionFactorSource")
    if isinstance(source, Mapping) and source.get("kind") == "literature":
        return 0.0
    primary = total = Decimal(0)
    for line in _lines(document):
        emissions = line.emissions_kg()
        if emissions is None:
            continue
        total += emissions
        if line.primary:
            primary += emissions
    if total <= 0:
        return 100.0
    return round(float(primary * 100 / total), 2)


def secondary_sources(document: Mapping[str, Any]) -> list[dict[str, str]]:
    """`secondaryEmissionFactorSources`: distinct factor sources of lines not taken from a supplier form."""
    seen: dict[str, dict[str, str]] = {}
    for line in _lines(document):
        factor = line.factor
        name = factor.get("source") if factor is not None else None
        # A direct-emission line's factor is a GWP (a characterization factor), not an emission factor.
        if line.section == "directEmissions" or isinstance(line.line.get("supplierHandle"), str):
            continue
        if not isinstance(name, str) or not name.strip():
            continue
        year = _YEAR.search(name)
        seen.setdefault(
            name.strip(), {"name": name.strip(), "version": year.group(1) if year else "unspecified"}
        )
    return list(seen.values())


def ipcc_reports(document: Mapping[str, Any]) -> list[int]:
    """The IPCC assessment reports the form's factor source and its inventory's name, oldest first (else [6])."""
    own = document.get("emissionFactor")
    texts = [own["source"]] if isinstance(own, Mapping) and isinstance(own.get("source"), str) else []
    for line in _lines(document):
        factor = line.factor
        if factor is not None and isinstance(factor.get("source"), str):
            texts.append(factor["source"])
    reports = sorted({int(match) for text in texts for match in _IPCC_REPORT.findall(text)})
    return reports or [DEFAULT_IPCC_REPORT]
