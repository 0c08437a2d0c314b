"""The emission-factor library: shipped factor tables and the look-ups that choose a row and say why.

The figures live in ``data/*.json`` (one file per source document, every row with its source, year and
validity); this module only reads them and chooses. A look-up returns a `FactorChoice` recording what was
asked, how specific the chosen row is (a province's electricity factor, its grid's, or the national
average), whether an earlier data year or a less specific level was used, and whether the row is outside
its validity on the accounting date (`expired`). Nothing here decides what to do about an expired row:
`carbon_efficiency.accounting` flags or refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, TypeVar

from carbon_efficiency.model import Factor, FactorChoice
from metadata_templates.codes import level_of, provinces

__all__ = [
    "CO2_PER_C",
    "QUANTITY_UNITS",
    "FactorLibrary",
    "GwpSet",
    "HeatConversion",
    "UnknownFactor",
    "to_factor_unit",
]

CO2_PER_C: Final = 44 / 12
"""Molar-mass ratio CO₂ : C, the method's constant (not a factor of any edition)."""

QUANTITY_UNITS: Final[Mapping[str, tuple[str, float]]] = {
    "t": ("t", 1.0),
    "kg": ("t", 1e-3),
    "10^4 Nm3": ("10^4 Nm3", 1.0),
    "Nm3": ("10^4 Nm3", 1e-4),
}
"""A mass or volume unit of the activity data → (the factor-table unit it converts to, multiplier)."""

_DATA_FILES: Final = {
    "fuels": "fuels-gbt32150-2015.json",
    "electricity": "electricity-mee-nbs.json",
    "grids": "grid-regions.json",
    "heat": "heat-gbt32150.json",
    "carbonates": "carbonates.json",
    "gwp": "gwp-ipcc.json",
}


_K = TypeVar("_K")
_V = TypeVar("_V")


class UnknownFactor(LookupError):
    """The library has no factor for what was asked (a fuel, material, gas, GWP set or region it does not know)."""


@dataclass(frozen=True, slots=True)
class HeatConversion:
    """Constants turning a mass of steam or hot water into heat (GJ), with their source."""

    steam_reference_enthalpy_kj_per_kg: float
    water_specific_heat_kj_per_kg_k: float
    hot_water_reference_temperature_c: float
    source: str
    note: str | None = None

    def steam_gj(self, mass_t: float, enthalpy_kj_per_kg: float) -> float:
        """GJ = t × (enthalpy − reference enthalpy) × 10⁻³."""
        return mass_t * (enthalpy_kj_per_kg - self.steam_reference_enthalpy_kj_per_kg) * 1e-3

    def hot_water_gj(self, mass_t: float, temperature_c: float) -> float:
        """GJ = t × (T − reference temperature) × specific heat × 10⁻³."""
        return (
            mass_t
            * (temperature_c - self.hot_water_reference_temperature_c)
            * self.water_specific_heat_kj_per_kg_k
            * 1e-3
        )


@dataclass(frozen=True, slots=True)
class GwpSet:
    """One assessment report's GWP-100 values; None for a gas the set has no value of."""

    assessment: str
    source: str
    year: int
    valid_from: date
    note: str | None
    values: Mapping[str, float | None]


def to_factor_unit(quantity: float, unit: str, factor_unit: str) -> float | None:
    """`quantity` in `unit` expressed in the denominator of `factor_unit` (kg → t, Nm³ → 10⁴ Nm³).

    None when the unit does not fit the factor (a mass for a factor per volume, or the reverse).
    """
    target = factor_unit.split("/", 1)[1]
    known = QUANTITY_UNITS.get(unit)
    if known is None or known[0] != target:
        return None
    return quantity * known[1]


@dataclass(frozen=True, slots=True, eq=False)
class FactorLibrary:
    """The shipped factor tables. Build it with `FactorLibrary.default()`; every look-up is pure.

    Compared and hashed by identity (its tables are read-only mappings, not hashable values).
    """

    fuel_factors: Mapping[str, Factor]
    fuel_names: Mapping[str, str]
    fuel_carriers: Mapping[str, str]
    electricity_factors: Mapping[str, tuple[Factor, ...]]
    """Key (`national`, `grid:east`, `province:33`, …) → its rows in ascending data year."""
    electricity_labels: Mapping[str, str]
    province_grids: Mapping[str, str | None]
    """2-digit GB/T 2260 province code → grid name (`north`, …) or None (no regional grid)."""
    city_grids: Mapping[str, str]
    """6-digit city code → grid name, where a city is not on its province's grid."""
    heat_factor: Factor
    heat_conversion: HeatConversion
    carbonate_factors: Mapping[str, Factor]
    gwp_table: Mapping[str, GwpSet]
    factor_sets: tuple[str, ...]
    """The names of every factor set loaded, fuel set first."""

    @classmethod
    def default(cls) -> FactorLibrary:
        """The library of the shipped data files, loaded once."""
        return _default_library()

    @property
    def factor_set(self) -> str:
        """The name recorded with a result: the fuel-combustion set (the grid-factor year is recorded apart)."""
        return self.factor_sets[0]

    @property
    def gwp_sets(self) -> tuple[str, ...]:
        """The GWP assessment reports available (SAR, AR4, AR5, AR6)."""
        return tuple(self.gwp_table)

    @property
    def fuels(self) -> tuple[str, ...]:
        """The fuel codes with default parameters."""
        return tuple(self.fuel_factors)

    @property
    def carbonates(self) -> tuple[str, ...]:
        """The carbonates with a stoichiometric factor."""
        return tuple(self.carbonate_factors)

    def fuel(self, code: str, *, year: int, as_of: date) -> FactorChoice:
        """The default combustion factor of a fuel (tCO₂/t or tCO₂/10⁴ Nm³), with NCV, CC and OF in `parameters`."""
        factor = self.fuel_factors.get(code)
        if factor is None:
            raise UnknownFactor(
                f"unknown fuel {code!r}: the factor set {self.factor_set} has {', '.join(self.fuel_factors)}"
            )
        return _choice(factor, f"fuel {code}, accounting year {year}", "fuel", as_of)

    def carrier_of(self, code: str) -> str:
        """The energy carrier (coal, oil, gas, other) a fuel counts under in the energy structure."""
        try:
            return self.fuel_carriers[code]
        except KeyError:
            raise UnknownFactor(f"unknown fuel {code!r}: no energy carrier for it") from None

    def grid_of(self, region6: str) -> str | None:
        """The regional grid (`north`, `east`, …) of a GB/T 2260 region; None where there is none (71, 81, 82).

        Raises `CodeError` for a malformed code and `UnknownFactor` for a province the mapping does not know.
        """
        level_of(region6)
        if region6[:4] + "00" in self.city_grids:
            return self.city_grids[region6[:4] + "00"]
        try:
            return self.province_grids[region6[:2]]
        except KeyError:
            raise UnknownFactor(
                f"region {region6}: province {region6[:2]} does not exist in GB/T 2260"
            ) from None

    def electricity(self, region6: str, *, year: int, as_of: date) -> FactorChoice:
        """The grid electricity factor (tCO₂/MWh) for a region and accounting year.

        The province's factor if published, else its regional grid's, else the national average; of that
        series the latest data year not after `year` (the earliest if `year` precedes them all).
        `fallback` says which of these steps were taken.
        """
        province = region6[:2]
        grid = self.grid_of(region6)
        requested = f"electricity for region {region6}, accounting year {year}"
        province_key = f"province:{province}"
        grid_key = f"grid:{grid}" if grid is not None else None
        reasons: list[str] = []
        if province_key in self.electricity_factors:
            level, key = "province", province_key
        elif grid_key is not None and grid_key in self.electricity_factors:
            level, key = "grid", grid_key
            reasons.append(
                f"no provincial factor for {_province_name(province)}: used the {self._label(grid_key)} "
                f"({grid_key}) factor{self._city_grid_reason(region6)}"
            )
        else:
            level, key = "national", "national"
            reasons.append(
                f"{_province_name(province)} is on no regional grid: used the national average"
                if grid is None
                else f"no provincial or {grid_key} factor: used the national average"
            )
        factor, year_reason = _pick_year(self.electricity_factors[key], year)
        if year_reason:
            reasons.append(year_reason)
        return _choice(factor, requested, level, as_of, "; ".join(reasons) or None)

    def electricity_series(self, key: str, *, year: int, as_of: date) -> FactorChoice:
        """Any electricity series by key (`national:fossil`, `ets-compliance`, …), latest data year not after `year`."""
        rows = self.electricity_factors.get(key)
        if rows is None:
            raise UnknownFactor(
                f"unknown electricity factor {key!r}: known {', '.join(self.electricity_factors)}"
            )
        factor, year_reason = _pick_year(rows, year)
        level = key.split(":", 1)[0] if key.startswith(("province:", "grid:", "national")) else "default"
        return _choice(factor, f"electricity {key}, accounting year {year}", level, as_of, year_reason)

    def heat(self, *, year: int, as_of: date) -> FactorChoice:
        """The default factor of purchased heat (tCO₂/GJ)."""
        return _choice(self.heat_factor, f"purchased heat, accounting year {year}", "default", as_of)

    def carbonate(self, material: str, *, year: int, as_of: date) -> FactorChoice:
        """The stoichiometric process factor (tCO₂/t) of a carbonate (CaCO3, MgCO3, CaMg(CO3)2, Na2CO3)."""
        factor = self.carbonate_factors.get(material)
        if factor is None:
            raise UnknownFactor(
                f"unknown carbonate {material!r}: the library has {', '.join(self.carbonate_factors)}"
            )
        return _choice(factor, f"carbonate {material}, accounting year {year}", "default", as_of)

    def gwp(self, gas: str, assessment: str) -> float:
        """The 100-year GWP of a gas in an assessment report's set (CO₂ = 1)."""
        return self.gwp_factor(gas, assessment).factor.value

    def gwp_factor(self, gas: str, assessment: str) -> FactorChoice:
        """The GWP of a gas as a library row (kind `gwp`, unit tCO₂e/t), for an emission line's record."""
        table = self.gwp_table.get(assessment)
        if table is None:
            raise UnknownFactor(f"unknown GWP set {assessment!r}: known {', '.join(self.gwp_table)}")
        if gas not in table.values:
            raise UnknownFactor(f"unknown gas {gas!r}: the GWP sets cover {', '.join(table.values)}")
        value = table.values[gas]
        if value is None:
            covered = ", ".join(name for name, v in table.values.items() if v is not None)
            raise UnknownFactor(f"gas {gas} has no GWP in the {assessment} set (it covers {covered})")
        factor = Factor(
            kind="gwp",
            key=gas,
            value=value,
            unit="tCO2e/t",
            year=table.year,
            source=table.source,
            factor_set=f"IPCC {assessment} GWP-100",
            valid_from=table.valid_from,
            valid_until=None,
            note=table.note,
        )
        return FactorChoice(factor=factor, requested=f"GWP of {gas} ({assessment})", level="default")

    def _label(self, key: str) -> str:
        return self.electricity_labels.get(key, key)

    def _city_grid_reason(self, region6: str) -> str:
        city = region6[:4] + "00"
        return f" (city {city} is on this grid, not its province's)" if city in self.city_grids else ""


def _choice(
    factor: Factor, requested: str, level: str, as_of: date, fallback: str | None = None
) -> FactorChoice:
    expired = as_of < factor.valid_from or (factor.valid_until is not None and as_of > factor.valid_until)
    return FactorChoice(factor=factor, requested=requested, level=level, expired=expired, fallback=fallback)


def _pick_year(rows: tuple[Factor, ...], year: int) -> tuple[Factor, str | None]:
    """The latest row whose data year is not after `year`, else the earliest; and why, if not `year` itself."""
    earlier = [row for row in rows if row.year <= year]
    if not earlier:
        first = rows[0]
        return first, f"no data year {year} or earlier: used the earliest, data year {first.year}"
    chosen = earlier[-1]
    if chosen.year == year:
        return chosen, None
    return chosen, f"latest data year not after {year}: {chosen.year}"


def _province_name(code2: str) -> str:
    for item in provinces():
        if item.code[:2] == code2:
            return f"{code2} {item.name_zh}"
    return code2


@cache
def _default_library() -> FactorLibrary:
    return _build({name: _read(file) for name, file in _DATA_FILES.items()})


def _read(file: str) -> Any:
    return json.loads(resources.files("carbon_efficiency").joinpath("data", file).read_text("utf-8"))


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _valid_from(row: Mapping[str, Any]) -> date:
    found = _date(row["validFrom"])
    if found is None:
        raise ValueError(f"factor row {row.get('key') or row.get('code')}: validFrom is required")
    return found


def _build(data: Mapping[str, Any]) -> FactorLibrary:
    fuels = data["fuels"]
    fuel_factors = _frozen({row["code"]: _fuel_factor(row, fuels["factorSet"]) for row in fuels["rows"]})
    electricity = data["electricity"]
    series: dict[str, list[Factor]] = {}
    for row in electricity["rows"]:
        series.setdefault(row["key"], []).append(_row_factor("electricity", row, electricity["factorSet"]))
    heat = data["heat"]
    conversions = heat["conversions"]
    carbonates = data["carbonates"]
    gwp = data["gwp"]
    grids = data["grids"]
    return FactorLibrary(
        fuel_factors=fuel_factors,
        fuel_names=_frozen({row["code"]: row["nameZh"] for row in fuels["rows"]}),
        fuel_carriers=_frozen({row["code"]: row["carrier"] for row in fuels["rows"]}),
        electricity_factors=_frozen(
            {key: tuple(sorted(rows, key=lambda f: f.year)) for key, rows in series.items()}
        ),
        electricity_labels=_frozen(dict(electricity["labels"])),
        province_grids=_frozen({row["province"]: row["grid"] for row in grids["provinces"]}),
        city_grids=_frozen({row["city"]: row["grid"] for row in grids["cityOverrides"]}),
        heat_factor=_only(_row_factor("heat", row, heat["factorSet"]) for row in heat["rows"]),
        heat_conversion=HeatConversion(
            steam_reference_enthalpy_kj_per_kg=float(conversions["steamReferenceEnthalpyKjPerKg"]),
            water_specific_heat_kj_per_kg_k=float(conversions["waterSpecificHeatKjPerKgK"]),
            hot_water_reference_temperature_c=float(conversions["hotWaterReferenceTemperatureC"]),
            source=conversions["source"],
            note=conversions.get("note"),
        ),
        carbonate_factors=_frozen(
            {row["key"]: _row_factor("carbonate", row, carbonates["factorSet"]) for row in carbonates["rows"]}
        ),
        gwp_table=_frozen(
            {
                item["assessment"]: GwpSet(
                    assessment=item["assessment"],
                    source=item["source"],
                    year=int(item["year"]),
                    valid_from=_valid_from(item),
                    note=item.get("note"),
                    values=_frozen(
                        {gas: None if v is None else float(v) for gas, v in item["values"].items()}
                    ),
                )
                for item in gwp["sets"]
            }
        ),
        factor_sets=(
            fuels["factorSet"],
            electricity["factorSet"],
            heat["factorSet"],
            carbonates["factorSet"],
            gwp["factorSet"],
        ),
    )


def _frozen(mapping: dict[_K, _V]) -> Mapping[_K, _V]:
    return MappingProxyType(mapping)


def _only(factors: Iterable[Factor]) -> Factor:
    (factor,) = tuple(factors)
    return factor


def _fuel_factor(row: Mapping[str, Any], factor_set: str) -> Factor:
    ncv = float(row["netCalorificValue"])
    carbon = float(row["carbonContentTcPerTj"])
    oxidation = float(row["oxidationRate"])
    return Factor(
        kind="fuel",
        key=row["code"],
        value=ncv * carbon / 1000 * oxidation * CO2_PER_C,
        unit=row["unit"],
        year=int(row["year"]),
        source=row["source"],
        factor_set=factor_set,
        valid_from=_valid_from(row),
        valid_until=_date(row["validUntil"]),
        note=row.get("note"),
        parameters={"ncv": ncv, "carbonContent": carbon, "oxidation": oxidation},
    )


def _row_factor(kind: str, row: Mapping[str, Any], factor_set: str) -> Factor:
    return Factor(
        kind=kind,
        key=row["key"],
        value=float(row["value"]),
        unit=row["unit"],
        year=int(row["year"]),
        source=row["source"],
        factor_set=factor_set,
        valid_from=_valid_from(row),
        valid_until=_date(row["validUntil"]),
        note=row.get("note"),
    )
