"""Emissions accounting of one `activity-data/1` document (GB/T 32150 method), and of several periods combined.

Every document line becomes at most one `EmissionLine` that names the line (JSON pointer), its quantity in
the factor's unit, the factor and the library row chosen, so that a certificate's figure can be traced
back to both. Signs: exported energy and zero-carbon deductions are negative lines; `Accounting` sums them.

Decisions the method leaves open, made here:

* A fuel line's measured netCalorificValue / carbonContent / oxidationRate replace the defaults they name
  (fuel `other` must give all three); the line is then `fuel-measured`.
* A self-produced fuel (by-product gas, own coke) counts 0 tCO₂ and 0 GJ: its carbon and energy are in the
  fuels it is made from.
* Self-generated fossil electricity counts 0 (its fuel is in `fuels`); self-generated renewable
  electricity is one negative `zeroCarbonDeductions` line of the grid electricity it displaces, also
  counted in the neutrality offsets. Purchased green electricity with evidence is 0 and is not an offset.
* CO₂ reported in `ghgEmissions` is direct process CO₂ (source `process`, factor 1); other gases go to
  `otherGases` at the GWP of the chosen set.
* Purity multiplies every process input, `other` materials included (default 1).
* Energy structure: purchased and self-generated electricity at 3.6 GJ/MWh (exported electricity is not
  subtracted), purchased heat, and fuels at quantity × NCV under the carrier of the fuel table
  (`other` fuels under `other`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Final, Literal

from carbon_efficiency.checks import check_activity
from carbon_efficiency.factors import CO2_PER_C, QUANTITY_UNITS, FactorLibrary, UnknownFactor, to_factor_unit
from carbon_efficiency.model import (
    CARRIERS,
    COMBUSTION,
    EXPORTED,
    OTHER_GASES,
    PROCESS,
    PURCHASED_ELECTRICITY,
    PURCHASED_HEAT,
    ZERO_CARBON_DEDUCTIONS,
    Accounting,
    AccountingError,
    EmissionLine,
    FactorChoice,
    Issue,
)
from metadata_templates.codes import CodeError

__all__ = ["GJ_PER_MWH", "OnExpired", "account", "combine"]

GJ_PER_MWH: Final = 3.6
OnExpired = Literal["flag", "refuse"]

_SELF_PRODUCED: Final = (
    "self-produced: its carbon and energy are counted in the fuels it is made from; counting it again would "
    "double count"
)
_MEASURED: Final = (
    ("netCalorificValue", "ncv"),
    ("carbonContent", "carbonContent"),
    ("oxidationRate", "oxidation"),
)


def account(
    document: Mapping[str, Any],
    *,
    region: str,
    library: FactorLibrary | None = None,
    gwp: str = "AR6",
    as_of: date,
    on_expired: OnExpired = "flag",
) -> Accounting:
    """Account for one schema-valid activity-data document of an enterprise in `region` (GB/T 2260).

    `as_of` is the accounting date deciding whether a factor is within its validity; an expired factor is
    used with a warning (`on_expired="flag"`) or refused (`"refuse"`). Raises `AccountingError` listing
    every line at fault (the data checks' errors, unit mismatches, unknown factors, refused factors).
    """
    if on_expired not in ("flag", "refuse"):
        raise ValueError(f"on_expired must be 'flag' or 'refuse', not {on_expired!r}")
    library = library or FactorLibrary.default()
    if gwp not in library.gwp_sets:
        raise UnknownFactor(f"unknown GWP set {gwp!r}: known {', '.join(library.gwp_sets)}")
    findings = check_activity(document, library=library)
    errors = [issue for issue in findings if issue.severity == "error"]
    if errors:
        raise AccountingError(errors)
    period = str(document["period"])
    run = _Run(library, region, int(period[:4]), as_of, on_expired, gwp)
    run.issues.extend(findings)
    run.fuels(document.get("fuels", ()))
    run.electricity(document.get("electricity", ()))
    run.heat(document.get("heat", ()))
    run.process(document.get("processInputs", ()))
    run.gases(document.get("ghgEmissions", ()))
    run.offsets(document.get("offsets", ()), document.get("electricity", ()))
    if run.errors:
        raise AccountingError(run.errors)
    return Accounting(
        periods=(period,),
        lines=tuple(run.lines),
        added_value=float(document["industrialAddedValue10kCny"]),
        gwp=gwp,
        factor_set=library.factor_set,
        grid_factor_year=max(run.grid_years) if run.grid_years else None,
        energy_gj=run.energy,
        neutrality_offsets=run.neutrality,
        issues=tuple(run.issues),
    )


def combine(accountings: Sequence[Accounting]) -> Accounting:
    """Several periods as one: lines, added value, energy and offsets summed; pointers prefixed by period.

    All must use the same GWP set and factor set. The grid-factor year is the latest one used.
    """
    if not accountings:
        raise ValueError("combine() needs at least one accounting")
    periods = [period for item in accountings for period in item.periods]
    repeated = sorted({period for period in periods if periods.count(period) > 1})
    if repeated:
        raise ValueError(f"period {', '.join(repeated)} given more than once")
    for attribute in ("gwp", "factor_set"):
        values = {getattr(item, attribute) for item in accountings}
        if len(values) > 1:
            raise ValueError(
                f"cannot combine accountings with different {attribute}: {', '.join(sorted(values))}"
            )
    years = [item.grid_factor_year for item in accountings if item.grid_factor_year is not None]
    return Accounting(
        periods=tuple(periods),
        lines=tuple(
            replace(line, pointer=_prefixed(item, line.pointer))
            for item in accountings
            for line in item.lines
        ),
        added_value=sum(item.added_value for item in accountings),
        gwp=accountings[0].gwp,
        factor_set=accountings[0].factor_set,
        grid_factor_year=max(years) if years else None,
        energy_gj={
            carrier: sum(item.energy_gj.get(carrier, 0.0) for item in accountings) for carrier in CARRIERS
        },
        neutrality_offsets=sum(item.neutrality_offsets for item in accountings),
        issues=tuple(
            replace(issue, pointer=_prefixed(item, issue.pointer))
            for item in accountings
            for issue in item.issues
        ),
    )


def _prefixed(item: Accounting, pointer: str) -> str:
    """A single period's pointer under its period (`/fuels/0` → `2025-03/fuels/0`); combined ones stay."""
    return f"{item.periods[0]}{pointer}" if len(item.periods) == 1 else pointer


@dataclass(slots=True)
class _Run:
    """The mutable state of one document's accounting: lines, findings and sums as they accrue."""

    library: FactorLibrary
    region: str
    year: int
    as_of: date
    on_expired: OnExpired
    gwp: str
    lines: list[EmissionLine] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    grid_years: list[int] = field(default_factory=list)
    energy: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CARRIERS, 0.0))
    neutrality: float = 0.0

    def add(
        self,
        pointer: str,
        source: str,
        description: str,
        quantity: tuple[float, str],
        factor: tuple[float, str],
        *,
        choice: FactorChoice | None,
        data_source: str,
        factor_kind: str,
        note: str | None = None,
        sign: float = 1.0,
    ) -> None:
        """One emission line: `sign` × quantity × factor (sign −1 for exports and deductions)."""
        self.lines.append(
            EmissionLine(
                pointer=pointer,
                source=source,
                description=description,
                quantity=quantity[0],
                quantity_unit=quantity[1],
                factor=factor[0],
                factor_unit=factor[1],
                emissions=sign * quantity[0] * factor[0],
                choice=choice,
                data_source=data_source,
                factor_kind=factor_kind,
                note=note,
            )
        )

    def fuels(self, lines: Sequence[Mapping[str, Any]]) -> None:
        for index, line in enumerate(lines):
            pointer = f"/fuels/{index}"
            try:
                self._fuel(pointer, line)
            except UnknownFactor as exc:
                self.errors.append(Issue("error", f"{pointer}/fuel", str(exc)))

    def _fuel(self, pointer: str, line: Mapping[str, Any]) -> None:
        code = str(line["fuel"])
        own = {name: float(line[key]) for key, name in _MEASURED if key in line}
        choice: FactorChoice | None = None
        if code == "other":
            parameters, carrier = own, "other"
            unit = QUANTITY_UNITS.get(str(line["unit"]), (str(line["unit"]), 1.0))[0]
            description = f"other fuel {line['name']}"
        else:
            choice = self.library.fuel(code, year=self.year, as_of=self.as_of)
            parameters = {**choice.factor.parameters, **own}
            unit, carrier = choice.factor.unit.split("/", 1)[1], self.library.carrier_of(code)
            description = f"{code} {self.library.fuel_names[code]}"
        quantity = to_factor_unit(float(line["quantity"]), str(line["unit"]), f"tCO2/{unit}")
        if quantity is None:
            self.errors.append(
                Issue("error", f"{pointer}/unit", f"{line['unit']} does not fit {code} (per {unit})")
            )
            return
        data_source = str(line["dataSource"]["kind"])
        if line.get("origin") == "self-produced":
            self.add(
                pointer,
                COMBUSTION,
                f"{description}, self-produced",
                (quantity, unit),
                (0.0, f"tCO2/{unit}"),
                choice=None,
                data_source=data_source,
                factor_kind="zero",
                note=_SELF_PRODUCED,
            )
            return
        factor = parameters["ncv"] * parameters["carbonContent"] / 1000 * parameters["oxidation"] * CO2_PER_C
        measured = [key for key, name in _MEASURED if name in own]
        note: str | None = None
        if len(measured) == len(_MEASURED):
            choice, note = None, "measured netCalorificValue, carbonContent and oxidationRate"
        elif measured and choice is not None:
            note = f"measured {', '.join(measured)}; the other parameters are the defaults of {choice.factor.factor_set}"
        self._check_expiry(pointer, choice)
        self.add(
            pointer,
            COMBUSTION,
            description,
            (quantity, unit),
            (factor, f"tCO2/{unit}"),
            choice=choice,
            data_source=data_source,
            factor_kind="fuel-measured" if measured else "fuel-default",
            note=note,
        )
        self.energy[carrier] += quantity * parameters["ncv"]

    def electricity(self, lines: Sequence[Mapping[str, Any]]) -> None:
        for index, line in enumerate(lines):
            pointer = f"/electricity/{index}"
            try:
                self._electricity(pointer, line)
            except (UnknownFactor, CodeError) as exc:
                where = f"{pointer}/gridRegion" if "gridRegion" in line else pointer
                self.errors.append(Issue("error", where, f"grid region: {exc}"))

    def _electricity(self, pointer: str, line: Mapping[str, Any]) -> None:
        kind = str(line["kind"])
        quantity = (float(line["quantity"]) / (1000 if line["unit"] == "kWh" else 1), "MWh")
        data_source = str(line["dataSource"]["kind"])
        # Self-generated fossil power is made from fuels already counted as energy; counting it too would
        # count the same energy twice.
        if kind not in ("exported", "self-generated-fossil"):
            self.energy["electricity"] += quantity[0] * GJ_PER_MWH
        if kind == "purchased-green":
            evidence = line["evidence"]
            self.add(
                pointer,
                PURCHASED_ELECTRICITY,
                "purchased green electricity",
                quantity,
                (0.0, "tCO2/MWh"),
                choice=None,
                data_source=data_source,
                factor_kind="zero",
                note=f"green electricity, evidence {evidence['kind']} {evidence['reference']}",
            )
            return
        if kind == "self-generated-fossil":
            self.add(
                pointer,
                COMBUSTION,
                "self-generated fossil electricity",
                quantity,
                (0.0, "tCO2/MWh"),
                choice=None,
                data_source=data_source,
                factor_kind="zero",
                note="its fuel is accounted for in fuels; the electricity adds nothing",
            )
            return
        choice = self.library.electricity(
            str(line.get("gridRegion") or self.region), year=self.year, as_of=self.as_of
        )
        self._check_expiry(pointer, choice)
        self.grid_years.append(choice.factor.year)
        factor = (choice.factor.value, "tCO2/MWh")
        if kind == "purchased-grid":
            self.add(
                pointer,
                PURCHASED_ELECTRICITY,
                "purchased grid electricity",
                quantity,
                factor,
                choice=choice,
                data_source=data_source,
                factor_kind="electricity-grid",
            )
        elif kind == "self-generated-renewable":
            self.neutrality += quantity[0] * factor[0]
            self.add(
                pointer,
                ZERO_CARBON_DEDUCTIONS,
                f"self-generated {line.get('source', 'renewable')} electricity",
                quantity,
                factor,
                choice=choice,
                data_source=data_source,
                factor_kind="electricity-grid",
                note="consumed at zero emissions; the grid electricity it displaces is deducted",
                sign=-1.0,
            )
        elif kind == "exported":
            self.add(
                pointer,
                EXPORTED,
                "exported electricity",
                quantity,
                factor,
                choice=choice,
                data_source=data_source,
                factor_kind="electricity-grid",
                sign=-1.0,
            )
        else:
            self.errors.append(Issue("error", f"{pointer}/kind", f"unknown electricity kind {kind!r}"))

    def heat(self, lines: Sequence[Mapping[str, Any]]) -> None:
        conversion = self.library.heat_conversion
        for index, line in enumerate(lines):
            pointer = f"/heat/{index}"
            mass, medium, kind = float(line["quantity"]), str(line["medium"]), str(line["kind"])
            note = None
            if line["unit"] == "GJ":
                gj = mass
            elif medium == "steam":
                enthalpy = float(line["enthalpyKjPerKg"])
                gj = conversion.steam_gj(mass, enthalpy)
                note = f"{mass:g} t of steam at {enthalpy:g} kJ/kg = {gj:g} GJ"
            else:
                temperature = float(line["temperatureC"])
                gj = conversion.hot_water_gj(mass, temperature)
                note = f"{mass:g} t of hot water at {temperature:g} °C = {gj:g} GJ"
            choice = self.library.heat(year=self.year, as_of=self.as_of)
            self._check_expiry(pointer, choice)
            if kind == "purchased":
                self.energy["heat"] += gj
            self.add(
                pointer,
                PURCHASED_HEAT if kind == "purchased" else EXPORTED,
                f"{kind} {medium}",
                (gj, "GJ"),
                (choice.factor.value, "tCO2/GJ"),
                choice=choice,
                data_source=str(line["dataSource"]["kind"]),
                factor_kind="heat-default",
                note=note,
                sign=1.0 if kind == "purchased" else -1.0,
            )

    def process(self, lines: Sequence[Mapping[str, Any]]) -> None:
        for index, line in enumerate(lines):
            pointer = f"/processInputs/{index}"
            material = str(line["material"])
            purity = float(line.get("purity", 1.0))
            quantity = float(line["quantity"]) / (1000 if line["unit"] == "kg" else 1) * purity
            notes = [f"purity {purity:g}"] if "purity" in line else []
            choice: FactorChoice | None = None
            if material == "other":
                factor, kind, description = (
                    float(line["emissionFactor"]),
                    "enterprise-factor",
                    str(line["name"]),
                )
                notes.insert(0, f"enterprise factor: {line['factorSource']}")
            else:
                try:
                    choice = self.library.carbonate(material, year=self.year, as_of=self.as_of)
                except UnknownFactor as exc:
                    self.errors.append(Issue("error", f"{pointer}/material", str(exc)))
                    continue
                self._check_expiry(pointer, choice)
                factor, kind, description = choice.factor.value, "carbonate", material
            self.add(
                pointer,
                PROCESS,
                description,
                (quantity, "t"),
                (factor, "tCO2/t"),
                choice=choice,
                data_source=str(line["dataSource"]["kind"]),
                factor_kind=kind,
                note="; ".join(notes) or None,
            )

    def gases(self, lines: Sequence[Mapping[str, Any]]) -> None:
        for index, line in enumerate(lines):
            pointer = f"/ghgEmissions/{index}"
            gas = str(line["gas"])
            quantity = (float(line["quantity"]) / (1000 if line["unit"] == "kg" else 1), "t")
            data_source = str(line["dataSource"]["kind"])
            if gas == "CO2":
                self.add(
                    pointer,
                    PROCESS,
                    "CO2 emitted directly",
                    quantity,
                    (1.0, "tCO2/t"),
                    choice=None,
                    data_source=data_source,
                    factor_kind="stated",
                    note="CO2 reported as such: counted as process CO2",
                )
                continue
            try:
                choice = self.library.gwp_factor(gas, self.gwp)
            except UnknownFactor as exc:
                self.errors.append(Issue("error", f"{pointer}/gas", str(exc)))
                continue
            self.add(
                pointer,
                OTHER_GASES,
                f"{gas} emitted directly",
                quantity,
                (choice.factor.value, "tCO2e/t"),
                choice=choice,
                data_source=data_source,
                factor_kind="gwp",
                note=f"GWP-100 of {gas} in {self.gwp}",
            )

    def offsets(self, lines: Sequence[Mapping[str, Any]], electricity: Sequence[Mapping[str, Any]]) -> None:
        own_renewables = [
            f"/electricity/{i}"
            for i, line in enumerate(electricity)
            if line["kind"] == "self-generated-renewable"
        ]
        for index, line in enumerate(lines):
            pointer = f"/offsets/{index}"
            kind = str(line["kind"])
            quantity = float(line["quantityTCo2"])
            evidence = line["evidence"]
            if kind in ("ccer", "green-certificate"):
                self.neutrality += quantity
            elif kind == "self-generated-renewable" and own_renewables:
                message = (
                    f"self-generated renewables are already deducted from {', '.join(own_renewables)}: "
                    "this offset is not counted twice"
                )
                self.issues.append(Issue("warning", pointer, message))
            else:
                self.neutrality += quantity
                self.add(
                    pointer,
                    ZERO_CARBON_DEDUCTIONS,
                    kind,
                    (quantity, "tCO2"),
                    (1.0, "tCO2/tCO2"),
                    choice=None,
                    data_source="evidence",
                    factor_kind="stated",
                    note=f"{kind}, evidence {evidence['kind']} {evidence['reference']}",
                    sign=-1.0,
                )

    def _check_expiry(self, pointer: str, choice: FactorChoice | None) -> None:
        if choice is None or not choice.expired:
            return
        factor = choice.factor
        until = factor.valid_until.isoformat() if factor.valid_until else "open-ended"
        message = (
            f"factor {factor.kind} {factor.key} (year {factor.year}, {factor.factor_set}) is not valid on "
            f"{self.as_of.isoformat()}: valid {factor.valid_from.isoformat()} to {until}"
        )
        if self.on_expired == "refuse":
            self.errors.append(Issue("error", pointer, f"{message}; refused"))
        else:
            self.issues.append(Issue("warning", pointer, f"{message}; used anyway"))
