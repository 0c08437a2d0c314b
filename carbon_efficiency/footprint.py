"""The emission factor of one CICES product carbon form (`product-footprint/1`), computed from its inventory.

The CICES manual (basic data, item 12) has the form's factor computed by the system from the inventory,
"无需手动修改（引用文献数据和其他特殊情况除外）", and the inventory lists what one functional unit takes. So:

* Every inventory line becomes one `FootprintLine`, quantity × factor in kgCO₂e per functional unit (the
  unit CICES shows, kgCO₂/kg), naming its JSON pointer, the factor and where the factor comes from.
  The form's factor is Σ lines ÷ `quantification.amount`, in `kgCO2e/<quantification.unit>`: the
  inventory is per functional unit and the functional unit is `amount` × `unit` (1 kg → kgCO2e/kg).
* Materials/parts: a line with `supplierHandle` takes the supplier form's (rolled-up) factor when the
  caller supplies it; when the supplier is unavailable (missing, expired, not granted, not supplied) it
  falls back, flagged, to the default factor of its material name, else to the line's own factor. A line
  without a supplier uses its own `emissionFactor`, which must name its `source` (literature or database).
* Primary energy: fuels of the library (code or Chinese name, GB/T 32150 defaults, CO₂ only). Secondary
  energy: `electricity`/`grid_electricity`/`电力` takes the grid factor of the enterprise's region,
  `grid_electricity_<grid>` that grid's factor (the template example names `grid_electricity_east`),
  `heat`/`steam`/`热力`/`蒸汽` 0.11 tCO₂/GJ (the quantity in GJ or MJ). An energy the library does not
  know takes the line's factor, else it is an error. Where the library has the factor, a typed line
  factor is ignored (a warning when it differs by more than 1 %).
* Direct emissions: mass × GWP-100 of the chosen set (`other` gases need the line's factor).
* Transport: t·km × the line's factor; the library ships no transport factors, so the line must give one.
  A typed factor on an energy, gas or transport line that names no source is used with a warning (the
  template's own example has one); on a material line it is an error, materials being most of a footprint.
* `emissionFactorSource.kind == "literature"`: the typed `emissionFactor` is accepted as the form's factor
  with the literature named as its source (one line, pointer `/emissionFactor`, section `literature`);
  the inventory is not used (a warning if it has lines). For site data a typed `emissionFactor` is only
  compared with the computed one (a warning beyond 1 %): the node overwrites it on publication.
* Data quality: the DQR of the form's TiR, TeR, GeR, SoR; when any line of the form, or of a supplier
  form beneath it, used a fallback factor, every score is worsened by `FALLBACK_DQR_PENALTY` (capped
  at 5) before the mean, once per form: stacking per fallback would saturate at 5 and hide the ranking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Final, Literal

from carbon_efficiency.factors import FactorLibrary, UnknownFactor
from carbon_efficiency.model import AccountingError, FactorChoice, Issue
from carbon_efficiency.quality import dqr
from metadata_templates.codes import CodeError

__all__ = [
    "DQR_DIMENSIONS",
    "FALLBACK_DQR_PENALTY",
    "SECTIONS",
    "DefaultFactor",
    "FactorOrigin",
    "FootprintError",
    "FootprintLine",
    "FootprintQuality",
    "FormFootprint",
    "SupplierFactor",
    "UnavailableSupplier",
    "convert_quantity",
    "form_footprint",
    "parse_factor_unit",
    "supplier_handles",
]

SECTIONS: Final = ("materials", "primaryEnergy", "secondaryEnergy", "directEmissions", "transport")
LITERATURE: Final = "literature"
DQR_DIMENSIONS: Final = ("TiR", "TeR", "GeR", "SoR")
FALLBACK_DQR_PENALTY: Final = 1
"""Added to each DQR score of a form whose figure rests on a fallback factor anywhere beneath it."""
STATED_FACTOR_TOLERANCE: Final = 0.01
"""Relative difference above which a typed factor that was not used earns a warning (rounding on forms)."""

FactorOrigin = Literal["supplier", "default", "line", "library", "literature"]

_ELECTRICITY: Final = frozenset(
    {"electricity", "grid_electricity", "grid-electricity", "电力", "电网电力", "外购电力"}
)
_HEAT: Final = frozenset({"heat", "purchased_heat", "steam", "hot_water", "热力", "外购热力", "蒸汽", "热水"})
_GRID_PREFIX: Final = "grid_electricity_"
# Unit → (dimension, size in the dimension's base unit). Definitions, not emission figures.
_UNITS: Final[Mapping[str, tuple[str, float]]] = MappingProxyType(
    {
        "g": ("mass", 1e-3),
        "克": ("mass", 1e-3),
        "kg": ("mass", 1.0),
        "千克": ("mass", 1.0),
        "公斤": ("mass", 1.0),
        "t": ("mass", 1e3),
        "吨": ("mass", 1e3),
        "kwh": ("energy", 1.0),
        "度": ("energy", 1.0),
        "mwh": ("energy", 1e3),
        "gwh": ("energy", 1e6),
        "mj": ("energy", 1 / 3.6),
        "gj": ("energy", 1e3 / 3.6),
        "tj": ("energy", 1e6 / 3.6),
        "nm3": ("gas-volume", 1.0),
        "10^4nm3": ("gas-volume", 1e4),
        "万nm3": ("gas-volume", 1e4),
        "tkm": ("transport", 1.0),
        "kmt": ("transport", 1.0),
    }
)
_MASS_CO2E: Final = re.compile(r"^(g|kg|t)co2(e|eq|-eq)?$")


class FootprintError(AccountingError):
    """The form's factor cannot be computed: the errors, each naming its line (JSON pointer)."""


@dataclass(frozen=True, slots=True)
class SupplierFactor:
    """A supplier form's factor as the caller verified and (for a roll-up) computed it."""

    handle: str
    value: float
    unit: str
    """Like a form's factor unit: `kgCO2e/kg`, `kgCO2e/个`, `tCO2e/t`."""
    source: str
    """What the figure is, for the record, e.g. `supplier form 88.1.1/PF.A v3 (granted)`."""
    version: int | None = None
    fallbacks: int = 0
    """How many fallback factors the supplier's own figure rests on (0 for a clean roll-up)."""


@dataclass(frozen=True, slots=True)
class UnavailableSupplier:
    """A supplier form the caller could not use, and why (`not found`, `expired (…)`, `not granted`…)."""

    handle: str
    reason: str


@dataclass(frozen=True, slots=True)
class DefaultFactor:
    """A default cradle-to-gate factor of a material, used when its supplier's form is unavailable."""

    key: str
    names: tuple[str, ...]
    """Material names (as written on a form line) this factor stands for; looked up case-folded."""
    value: float
    unit: str
    source: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FootprintLine:
    """One inventory line: quantity × factor, traceable to the line and to the factor's origin."""

    pointer: str
    section: str
    """One of SECTIONS, or `literature`."""
    description: str
    quantity: float
    unit: str
    """The quantity as the form states it."""
    converted_quantity: float
    """The quantity in the denominator of `factor_unit`."""
    factor: float
    factor_unit: str
    """`kgCO2e/<denominator>`."""
    emissions_kg_co2e: float
    origin: FactorOrigin
    source: str
    choice: FactorChoice | None = None
    """The library row, for `library` lines."""
    supplier_handle: str | None = None
    supplier_version: int | None = None
    fallback: str | None = None
    """Why a fallback factor stands in for the supplier's form, when one does."""

    def to_json(self) -> dict[str, Any]:
        """The line for an API answer."""
        body: dict[str, Any] = {
            "pointer": self.pointer,
            "section": self.section,
            "description": self.description,
            "quantity": self.quantity,
            "unit": self.unit,
            "convertedQuantity": self.converted_quantity,
            "factor": self.factor,
            "factorUnit": self.factor_unit,
            "emissionsKgCo2e": self.emissions_kg_co2e,
            "origin": self.origin,
            "source": self.source,
        }
        if self.choice is not None:
            body["factorChoice"] = self.choice.to_json()
        if self.supplier_handle is not None:
            body["supplierHandle"] = self.supplier_handle
            body["supplierVersion"] = self.supplier_version
        if self.fallback is not None:
            body["fallback"] = self.fallback
        return body


@dataclass(frozen=True, slots=True)
class FootprintQuality:
    """The DQR: the form's stated scores, the fallback penalty, the scores used, their mean and band."""

    stated: tuple[int, int, int, int]
    penalty: int
    scores: tuple[int, int, int, int]
    score: float
    band: str

    def to_json(self) -> dict[str, Any]:
        """The rating for an API answer."""
        return {
            "stated": dict(zip(DQR_DIMENSIONS, self.stated, strict=True)),
            "penalty": self.penalty,
            "scores": dict(zip(DQR_DIMENSIONS, self.scores, strict=True)),
            "dqr": self.score,
            "band": self.band,
        }


@dataclass(frozen=True, slots=True)
class FormFootprint:
    """A form's footprint per functional unit, its factor per quantification unit, and how they were made."""

    handle: str | None
    version: int | None
    functional_unit: str
    quantification_amount: float
    quantification_unit: str
    factor_source: str
    """site-data | literature"""
    literature: str | None
    total_kg_co2e: float
    """Per functional unit."""
    factor: float
    """kgCO₂e per quantification unit: total ÷ quantification amount."""
    factor_unit: str
    lines: tuple[FootprintLine, ...]
    quality: FootprintQuality
    fallbacks: int
    """Fallback factors in this form's lines plus those its suppliers' figures rest on."""
    gwp: str
    factor_set: str
    year: int
    issues: tuple[Issue, ...] = field(default=())

    @property
    def by_section(self) -> dict[str, float]:
        """kgCO₂e per functional unit per section (every section present; `literature` when used)."""
        totals = dict.fromkeys(SECTIONS, 0.0)
        for line in self.lines:
            totals[line.section] = totals.get(line.section, 0.0) + line.emissions_kg_co2e
        return totals

    def to_json(self) -> dict[str, Any]:
        """The footprint for an API answer."""
        return {
            "handle": self.handle,
            "version": self.version,
            "functionalUnit": self.functional_unit,
            "quantification": {"amount": self.quantification_amount, "unit": self.quantification_unit},
            "emissionFactorSource": {"kind": self.factor_source, "literature": self.literature},
            "totalKgCo2e": self.total_kg_co2e,
            "emissionFactor": {"value": self.factor, "unit": self.factor_unit},
            "bySection": self.by_section,
            "lines": [line.to_json() for line in self.lines],
            "dataQuality": self.quality.to_json(),
            "fallbacks": self.fallbacks,
            "gwp": self.gwp,
            "factorSet": self.factor_set,
            "year": self.year,
            "issues": [issue.to_json() for issue in self.issues],
        }


def supplier_handles(document: Mapping[str, Any]) -> list[str]:
    """The supplier forms a site-data form's materials reference, once each (case-insensitive), in order.

    A literature form's inventory is not used, so it has none to fetch.
    """
    if document.get("emissionFactorSource", {}).get("kind") == LITERATURE:
        return []
    seen: dict[str, str] = {}
    for line in document.get("inventory", {}).get("materials", []):
        handle = line.get("supplierHandle")
        if handle:
            seen.setdefault(handle.casefold(), handle)
    return list(seen.values())


def form_footprint(
    document: Mapping[str, Any],
    *,
    region: str,
    as_of: date,
    library: FactorLibrary | None = None,
    year: int | None = None,
    gwp: str = "AR6",
    supplier_factors: Mapping[str, SupplierFactor | UnavailableSupplier] | None = None,
    default_factors: Mapping[str, DefaultFactor] | None = None,
) -> FormFootprint:
    """The footprint of one schema-valid product form of an enterprise in `region` (GB/T 2260).

    `year` picks the grid-factor year (default: the year the collection period ends); `as_of` decides
    whether a library factor is within its validity (an expired one is used with a warning).
    `supplier_factors` maps supplier handles (case-insensitive) to their factors or to why they are
    unavailable; `default_factors` maps case-folded material names to fallback factors (none by default:
    `carbon_efficiency.rollup.default_material_factors()` are the shipped ones). Raises `FootprintError`
    naming every line at fault.
    """
    library = library or FactorLibrary.default()
    if gwp not in library.gwp_sets:
        raise UnknownFactor(f"unknown GWP set {gwp!r}: known {', '.join(library.gwp_sets)}")
    year = year if year is not None else int(document["collectionPeriod"]["end"][:4])
    suppliers = {key.casefold(): value for key, value in (supplier_factors or {}).items()}
    run = _Run(library, region, year, as_of, gwp, suppliers, default_factors or {})
    quantification = document["quantification"]
    amount, q_unit = float(quantification["amount"]), str(quantification["unit"])
    source = document["emissionFactorSource"]
    if source["kind"] == LITERATURE:
        run.literature(document, amount, q_unit)
    else:
        handlers: Mapping[str, Callable[[str, Mapping[str, Any]], None]] = {
            "materials": run.material,
            "primaryEnergy": run.primary_energy,
            "secondaryEnergy": run.secondary_energy,
            "directEmissions": run.direct_emission,
            "transport": run.transport,
        }
        for section, handler in handlers.items():
            for index, line in enumerate(document["inventory"][section]):
                handler(f"/inventory/{section}/{index}", line)
    if run.errors:
        raise FootprintError(run.errors)
    total = math.fsum(line.emissions_kg_co2e for line in run.lines)
    factor = total / amount
    factor_unit = f"kgCO2e/{q_unit}"
    if source["kind"] != LITERATURE and "emissionFactor" in document:
        run.compare_stated("/emissionFactor", document["emissionFactor"], factor, q_unit)
    fallbacks = sum(1 for line in run.lines if line.fallback) + sum(
        value.fallbacks for value in suppliers.values() if isinstance(value, SupplierFactor)
    )
    return FormFootprint(
        handle=document.get("handle"),
        version=document.get("version"),
        functional_unit=document["functionalUnit"],
        quantification_amount=amount,
        quantification_unit=q_unit,
        factor_source=source["kind"],
        literature=source.get("literature"),
        total_kg_co2e=total,
        factor=factor,
        factor_unit=factor_unit,
        lines=tuple(run.lines),
        quality=_quality(document["dataQuality"], fallbacks),
        fallbacks=fallbacks,
        gwp=gwp,
        factor_set=library.factor_set,
        year=year,
        issues=tuple(run.warnings),
    )


def parse_factor_unit(unit: str) -> tuple[float, str] | None:
    """`kgCO2e/kg` → (kg of CO₂e per numerator unit, denominator): (1.0, "kg"); `tCO2/MWh` → (1000.0, "MWh").

    CO₂ and CO₂e numerators are both accepted (fuel and grid factors are CO₂ only). None if not a CO₂(e)
    mass per something.
    """
    numerator, slash, denominator = unit.replace("₂", "2").replace(" ", "").partition("/")
    match = _MASS_CO2E.match(numerator.casefold())
    denominator = denominator.strip()
    if denominator.startswith("(") and denominator.endswith(")"):
        denominator = denominator[1:-1]
    if not slash or match is None or not denominator:
        return None
    return {"g": 1e-3, "kg": 1.0, "t": 1e3}[match.group(1)], denominator


def convert_quantity(quantity: float, unit: str, to_unit: str) -> float | None:
    """`quantity` in `unit` expressed in `to_unit` (mass, energy, gas volume, t·km); same unit → unchanged.

    None when the units do not convert (different kinds of quantity, or a unit this module does not know).
    """
    source, target = _unit_key(unit), _unit_key(to_unit)
    if source == target:
        return quantity
    known, wanted = _UNITS.get(source), _UNITS.get(target)
    if known is None or wanted is None or known[0] != wanted[0]:
        return None
    return quantity * known[1] / wanted[1]


def _unit_key(unit: str) -> str:
    key = unit.strip().casefold().replace("³", "3")
    return re.sub(r"[\s·*.×\-]", "", key) if "km" in key else key.replace(" ", "")


def _quality(scores: Mapping[str, Any], fallbacks: int) -> FootprintQuality:
    stated = (int(scores["TiR"]), int(scores["TeR"]), int(scores["GeR"]), int(scores["SoR"]))
    penalty = FALLBACK_DQR_PENALTY if fallbacks else 0
    tir, ter, ger, sor = (min(5, score + penalty) for score in stated)
    score, band = dqr(tir, ter, ger, sor)
    return FootprintQuality(stated, penalty, (tir, ter, ger, sor), score, band)


@dataclass(frozen=True, slots=True)
class _Basis:
    """The factor a line is multiplied by, and its record."""

    value: float
    unit: str
    origin: FactorOrigin
    source: str
    choice: FactorChoice | None = None
    supplier: tuple[str, int | None] | None = None
    fallback: str | None = None

    @classmethod
    def typed(cls, factor: Mapping[str, Any], **record: Any) -> _Basis:
        """A factor typed on a form line (`{value, unit, source?}`)."""
        return cls(factor["value"], factor["unit"], "line", factor.get("source", "the form's line"), **record)


@dataclass(slots=True)
class _Run:
    """The lines, warnings and errors of one form as they accrue."""

    library: FactorLibrary
    region: str
    year: int
    as_of: date
    gwp: str
    suppliers: Mapping[str, SupplierFactor | UnavailableSupplier]
    defaults: Mapping[str, DefaultFactor]
    lines: list[FootprintLine] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    def material(self, pointer: str, line: Mapping[str, Any]) -> None:
        name, handle = line["name"], line.get("supplierHandle")
        reason = None
        if handle:
            supplied = self.suppliers.get(handle.casefold())
            if isinstance(supplied, SupplierFactor):
                record = (handle, supplied.version)
                basis = _Basis(supplied.value, supplied.unit, "supplier", supplied.source, supplier=record)
                self.add(pointer, "materials", name, line, basis)
                return
            reason = f"supplier form {handle} {supplied.reason if supplied else 'not supplied'}"
            default = self.defaults.get(name.casefold())
            if default is not None:
                fallback = f"{reason}: used the default factor of {default.key!r}"
                basis = _Basis(
                    default.value,
                    default.unit,
                    "default",
                    default.source,
                    supplier=(handle, None),
                    fallback=fallback,
                )
                self.add(pointer, "materials", name, line, basis)
                return
        own = line.get("emissionFactor")
        if own is None:
            missing = f"{reason}, no default factor for {name!r}, and" if reason else "no supplierHandle and"
            self.error(
                pointer, f"material {name!r}: {missing} no emissionFactor (with its source) of its own"
            )
        elif not own.get("source"):
            self.error(f"{pointer}/emissionFactor", f"material {name!r}: its own factor must name its source")
        else:
            why = f"{reason}: used the line's own factor" if reason else None
            basis = _Basis.typed(own, supplier=(handle, None) if handle else None, fallback=why)
            self.add(pointer, "materials", name, line, basis)

    def primary_energy(self, pointer: str, line: Mapping[str, Any]) -> None:
        code = line["energy"]
        fuel = code if code in self.library.fuel_factors else _code_of(self.library.fuel_names, code)
        if fuel is None:
            known = ", ".join(self.library.fuels)
            self.unknown(pointer, line, f"energy {code!r} is not a fuel of the library ({known})")
            return
        choice = self.library.fuel(fuel, year=self.year, as_of=self.as_of)
        self.from_library(pointer, "primaryEnergy", code, line, choice)

    def secondary_energy(self, pointer: str, line: Mapping[str, Any]) -> None:
        code = line["energy"].strip().casefold()
        grid = code[len(_GRID_PREFIX) :] if code.startswith(_GRID_PREFIX) else None
        try:
            if code in _ELECTRICITY:
                choice = self.library.electricity(self.region, year=self.year, as_of=self.as_of)
            elif grid is not None and f"grid:{grid}" in self.library.electricity_factors:
                choice = self.library.electricity_series(f"grid:{grid}", year=self.year, as_of=self.as_of)
                own = self.library.grid_of(self.region)
                if own != grid:
                    message = f"the line names grid {grid}, the enterprise's region {self.region} is on {own}"
                    self.warn(f"{pointer}/energy", message)
            elif code in _HEAT:
                choice = self.library.heat(year=self.year, as_of=self.as_of)
            else:
                self.unknown(pointer, line, f"energy {line['energy']!r} is neither grid electricity nor heat")
                return
        except (UnknownFactor, CodeError) as error:
            self.error(f"{pointer}/energy", str(error))
            return
        self.from_library(pointer, "secondaryEnergy", line["energy"], line, choice)

    def direct_emission(self, pointer: str, line: Mapping[str, Any]) -> None:
        gas = line["gas"]
        if gas == "other":
            self.unknown(pointer, line, "gas 'other' has no GWP in the library")
            return
        try:
            choice = self.library.gwp_factor(gas, self.gwp)
        except UnknownFactor as error:
            self.unknown(pointer, line, str(error))
            return
        self.from_library(pointer, "directEmissions", f"{gas} ({line['method']})", line, choice)

    def transport(self, pointer: str, line: Mapping[str, Any]) -> None:
        vehicle = f" ({line['vehicle']})" if line.get("vehicle") else ""
        tonne_km = float(line["tonneKm"])
        if "massT" in line and "distanceKm" in line:
            product = float(line["massT"]) * float(line["distanceKm"])
            if not math.isclose(product, tonne_km, rel_tol=1e-6, abs_tol=1e-12):
                message = f"{tonne_km} t·km is not massT × distanceKm = {product}: used tonneKm"
                self.warn(f"{pointer}/tonneKm", message)
        own = line.get("emissionFactor")
        if own is None:
            message = (
                "transport needs the line's factor (kgCO2e/(t·km)): the library ships no transport factors"
            )
            self.error(f"{pointer}/emissionFactor", message)
            return
        if not own.get("source"):
            self.warn(f"{pointer}/emissionFactor", "the transport factor names no source")
        quantity = {"quantity": tonne_km, "unit": "t·km"}
        self.add(pointer, "transport", f"{line['leg']} {line['mode']}{vehicle}", quantity, _Basis.typed(own))

    def literature(self, document: Mapping[str, Any], amount: float, q_unit: str) -> None:
        """The typed factor of a literature form, as its only line."""
        cited = document["emissionFactorSource"]["literature"]
        stated = document.get("emissionFactor")
        if stated is None:
            self.error("/emissionFactor", f"a literature form ({cited}) must state the factor it cites")
            return
        if any(document["inventory"][section] for section in SECTIONS):
            self.warn("/inventory", f"not used: the form's factor is cited from literature ({cited})")
        quantity = {"quantity": amount, "unit": q_unit}
        basis = _Basis(stated["value"], stated["unit"], "literature", cited)
        self.add("/emissionFactor", LITERATURE, document["functionalUnit"], quantity, basis)

    def unknown(self, pointer: str, line: Mapping[str, Any], why: str) -> None:
        """A line the library cannot factor: its own factor (a warning without a source), else an error."""
        own = line.get("emissionFactor")
        if own is None:
            self.error(pointer, f"{why}; give the line an emissionFactor with its source")
            return
        if not own.get("source"):
            self.warn(f"{pointer}/emissionFactor", "the line's factor names no source")
        description = line.get("name") or line.get("energy") or line["gas"]
        self.add(pointer, pointer.split("/")[2], description, line, _Basis.typed(own))

    def from_library(
        self, pointer: str, section: str, description: str, line: Mapping[str, Any], choice: FactorChoice
    ) -> None:
        """A line factored by a library row; the row's validity and any typed factor are checked."""
        factor = choice.factor
        basis = _Basis(factor.value, factor.unit, "library", factor.source, choice=choice)
        if not self.add(pointer, section, line.get("name") or description, line, basis):
            return
        if choice.expired:
            until = factor.valid_until.isoformat() if factor.valid_until else "open-ended"
            message = f"factor {factor.kind} {factor.key} is not valid on {self.as_of}: valid {factor.valid_from} to {until}"
            self.warn(pointer, f"{message}; used anyway")
        if "emissionFactor" in line:
            used = self.lines[-1]
            denominator = used.factor_unit.partition("/")[2]
            self.compare_stated(f"{pointer}/emissionFactor", line["emissionFactor"], used.factor, denominator)

    def add(
        self, pointer: str, section: str, description: str, line: Mapping[str, Any], basis: _Basis
    ) -> bool:
        """Append quantity × factor; False (and an error) when the factor's unit or the quantity's does not fit."""
        parsed = parse_factor_unit(basis.unit)
        if parsed is None:
            self.error(pointer, f"factor unit {basis.unit!r} is not a CO2e mass per unit (like kgCO2e/kg)")
            return False
        scale, denominator = parsed
        quantity, unit = float(line["quantity"]), str(line["unit"])
        converted = convert_quantity(quantity, unit, denominator)
        if converted is None:
            message = f"{unit!r} does not convert to {denominator!r}, the denominator of {basis.unit}"
            self.error(f"{pointer}/unit", message)
            return False
        value = float(basis.value) * scale
        supplier_handle, supplier_version = basis.supplier or (None, None)
        self.lines.append(
            FootprintLine(
                pointer=pointer,
                section=section,
                description=description,
                quantity=quantity,
                unit=unit,
                converted_quantity=converted,
                factor=value,
                factor_unit=f"kgCO2e/{denominator}",
                emissions_kg_co2e=converted * value,
                origin=basis.origin,
                source=basis.source,
                choice=basis.choice,
                supplier_handle=supplier_handle,
                supplier_version=supplier_version,
                fallback=basis.fallback,
            )
        )
        return True

    def compare_stated(self, pointer: str, stated: Mapping[str, Any], used: float, denominator: str) -> None:
        """Warn when a typed factor that was not used differs from the one that was (kgCO₂e per `denominator`)."""
        parsed = parse_factor_unit(str(stated["unit"]))
        per = convert_quantity(1.0, denominator, parsed[1]) if parsed else None
        if parsed is None or per is None:
            message = (
                f"the typed factor's unit {stated['unit']!r} cannot be compared with kgCO2e/{denominator}"
            )
            self.warn(pointer, message)
            return
        typed = float(stated["value"]) * parsed[0] * per
        if not math.isclose(typed, used, rel_tol=STATED_FACTOR_TOLERANCE):
            message = (
                f"the typed factor {typed:.6g} kgCO2e/{denominator} differs from the computed {used:.6g}"
            )
            self.warn(pointer, f"{message}: the computed one is used")

    def warn(self, pointer: str, message: str) -> None:
        """A warning on a line."""
        self.warnings.append(Issue("warning", pointer, message))

    def error(self, pointer: str, message: str) -> None:
        """An error on a line."""
        self.errors.append(Issue("error", pointer, message))


def _code_of(names: Mapping[str, str], name: str) -> str | None:
    for code, name_zh in names.items():
        if name_zh == name.strip():
            return code
    return None
