"""Accounting of activity-data documents against hand-computed figures (1e-9 relative), one case per source."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from carbon_efficiency.accounting import account, combine
from carbon_efficiency.factors import FactorLibrary, UnknownFactor
from carbon_efficiency.model import (
    COMBUSTION,
    EXPORTED,
    OTHER_GASES,
    PROCESS,
    PURCHASED_ELECTRICITY,
    PURCHASED_HEAT,
    ZERO_CARBON_DEDUCTIONS,
    Accounting,
    AccountingError,
)
from metadata_templates import default_catalog
from metadata_templates.validation import validate

AS_OF = date(2026, 3, 1)
REGION = "330522"  # 长兴县, Zhejiang: provincial electricity factor 0.4974 for data year 2023
REL = 1e-9
METER = {"kind": "meter", "reference": "M-1"}
TEMPLATE = default_catalog().get("activity-data", 1)


def _doc(period: str = "2025", granularity: str = "year", added_value: float = 1000, **sections: Any) -> dict:
    """A minimal activity-data document, checked against the template so every case is a real document."""
    document = {
        "@context": ["https://carbonid.org/contexts/activity-data/v1.jsonld"],
        "type": "ActivityData",
        "prefix": "88.186.1",
        "period": period,
        "granularity": granularity,
        "industrialAddedValue10kCny": added_value,
        "fuels": [],
        "electricity": [],
        **sections,
    }
    validate(TEMPLATE, document)
    return document


def _fuel(fuel: str, quantity: float, unit: str, **extra: Any) -> dict:
    return {"fuel": fuel, "quantity": quantity, "unit": unit, "dataSource": METER, **extra}


def _power(kind: str, quantity: float, unit: str = "MWh", **extra: Any) -> dict:
    return {"kind": kind, "quantity": quantity, "unit": unit, "dataSource": METER, **extra}


def _account(document: dict, **options: Any) -> Accounting:
    return account(document, **{"region": REGION, "as_of": AS_OF, **options})


def test_coal_combustion():
    result = _account(_doc(fuels=[_fuel("bituminous_coal", 1000, "t"), _fuel("anthracite", 500000, "kg")]))
    coal, anthracite = result.lines
    # 1000 t × 19.570 GJ/t × 26.1 tC/TJ / 1000 × 0.93 × 44/12 = 1741.74957 tCO2
    assert coal.emissions == pytest.approx(1000 * 19.570 * 26.1 / 1000 * 0.93 * 44 / 12, rel=REL)
    assert coal.emissions == pytest.approx(1741.74957, rel=REL)
    # 500000 kg = 500 t × 26.7 × 27.4 / 1000 × 0.94 × 44/12
    assert (anthracite.quantity, anthracite.quantity_unit) == (500, "t")
    assert anthracite.emissions == pytest.approx(500 * 26.7 * 27.4 / 1000 * 0.94 * 44 / 12, rel=REL)
    assert (coal.source, coal.factor_kind, coal.data_source, coal.pointer) == (
        COMBUSTION,
        "fuel-default",
        "meter",
        "/fuels/0",
    )
    assert coal.choice is not None
    assert coal.choice.factor.key == "bituminous_coal"
    assert coal.factor == coal.choice.factor.value
    # energy: 1000 × 19.570 + 500 × 26.7 GJ of coal
    assert result.energy_gj["coal"] == pytest.approx(19570 + 13350, rel=REL)


def test_natural_gas_in_nm3():
    result = _account(_doc(fuels=[_fuel("natural_gas", 2_000_000, "Nm3")]))
    (line,) = result.lines
    # 2 000 000 Nm3 = 200 × 10^4 Nm3; × 389.31 × 15.3 / 1000 × 0.99 × 44/12 = 4324.377618 tCO2
    assert (line.quantity, line.quantity_unit, line.factor_unit) == (
        pytest.approx(200, rel=REL),
        "10^4 Nm3",
        "tCO2/10^4 Nm3",
    )
    assert line.emissions == pytest.approx(200 * 389.31 * 15.3 / 1000 * 0.99 * 44 / 12, rel=REL)
    assert line.emissions == pytest.approx(4324.377618, rel=REL)
    assert result.energy_gj["gas"] == pytest.approx(200 * 389.31, rel=REL)


def test_other_fuel_with_its_own_parameters():
    other = _fuel(
        "other", 100, "t", name="自备燃料", netCalorificValue=30.0, carbonContent=25.0, oxidationRate=0.95
    )
    result = _account(_doc(fuels=[other]))
    (line,) = result.lines
    # 100 t × 30 GJ/t × 25 tC/TJ / 1000 × 0.95 × 44/12 = 261.25 tCO2
    assert line.emissions == pytest.approx(100 * 30 * 25 / 1000 * 0.95 * 44 / 12, rel=REL)
    assert line.emissions == pytest.approx(261.25, rel=REL)
    assert (line.choice, line.factor_kind) == (None, "fuel-measured")
    assert result.energy_gj["other"] == pytest.approx(3000, rel=REL)


def test_measured_parameter_replaces_only_its_default():
    result = _account(_doc(fuels=[_fuel("bituminous_coal", 1000, "t", netCalorificValue=21.0)]))
    (line,) = result.lines
    # 1000 t × 21.0 (measured) × 26.1 / 1000 × 0.93 (defaults) × 44/12
    assert line.emissions == pytest.approx(1000 * 21.0 * 26.1 / 1000 * 0.93 * 44 / 12, rel=REL)
    assert line.factor_kind == "fuel-measured"
    assert line.choice is not None
    assert "measured netCalorificValue" in line.note


def test_self_produced_blast_furnace_gas_counts_zero():
    fuels = [
        _fuel("coke", 1000, "t"),
        _fuel("bituminous_coal", 200, "t", note="喷吹煤"),
        _fuel("blast_furnace_gas", 50000, "10^4 Nm3", origin="self-produced"),
    ]
    result = _account(_doc(fuels=fuels))
    *_, gas = result.lines
    assert (gas.emissions, gas.factor_kind, gas.choice) == (0.0, "zero", None)
    assert "made from" in gas.note
    # coke 1000 × 28.435 × 29.5/1000 × 0.93 × 44/12 + coal 200 × 19.570 × 26.1/1000 × 0.93 × 44/12
    expected = 1000 * 28.435 * 29.5 / 1000 * 0.93 * 44 / 12 + 200 * 19.570 * 26.1 / 1000 * 0.93 * 44 / 12
    assert result.net_emissions == pytest.approx(expected, rel=REL)
    assert result.energy_gj["coal"] == pytest.approx(1000 * 28.435 + 200 * 19.570, rel=REL)
    assert result.energy_gj["other"] == 0.0


def test_grid_electricity_with_the_provincial_factor():
    result = _account(
        _doc(electricity=[_power("purchased-grid", 1000), _power("purchased-grid", 250000, "kWh")])
    )
    mwh, kwh = result.lines
    # 1000 MWh × 0.4974 (Zhejiang, data year 2023, latest not after 2025)
    assert mwh.emissions == pytest.approx(497.4, rel=REL)
    # 250000 kWh = 250 MWh × 0.4974
    assert (kwh.quantity, kwh.emissions) == (250, pytest.approx(124.35, rel=REL))
    assert (mwh.source, mwh.factor_kind, mwh.choice.level) == (
        PURCHASED_ELECTRICITY,
        "electricity-grid",
        "province",
    )
    assert result.grid_factor_year == 2023
    assert result.energy_gj["electricity"] == pytest.approx(1250 * 3.6, rel=REL)


def test_grid_electricity_falls_back_to_the_regional_grid():
    document = _doc(electricity=[_power("purchased-grid", 1000, gridRegion="130209")])
    (line,) = _account(document).lines
    # Hebei has no provincial factor: North grid 2023, 1000 MWh × 0.6361
    assert line.emissions == pytest.approx(636.1, rel=REL)
    assert (line.choice.level, line.choice.factor.key) == ("grid", "grid:north")
    (same,) = _account(_doc(electricity=[_power("purchased-grid", 1000)]), region="130209").lines
    assert same.emissions == pytest.approx(636.1, rel=REL)


def test_green_electricity_with_evidence_is_zero():
    evidence = {"kind": "green-certificate", "reference": "GEC-1"}
    result = _account(_doc(electricity=[_power("purchased-green", 800, evidence=evidence)]))
    (line,) = result.lines
    assert (line.emissions, line.factor, line.factor_kind, line.choice) == (0.0, 0.0, "zero", None)
    assert "GEC-1" in line.note
    assert result.neutrality_offsets == 0.0
    assert result.energy_gj["electricity"] == pytest.approx(800 * 3.6, rel=REL)
    assert result.grid_factor_year is None


def test_self_generated_renewable_is_a_deduction_and_an_offset():
    result = _account(
        _doc(
            electricity=[
                _power("purchased-grid", 10000),
                _power("self-generated-renewable", 5200, source="solar"),
            ]
        )
    )
    _, solar = result.lines
    # 5200 MWh × 0.4974 = 2586.48 tCO2 of displaced grid power
    assert solar.source == ZERO_CARBON_DEDUCTIONS
    assert solar.emissions == pytest.approx(-2586.48, rel=REL)
    assert result.neutrality_offsets == pytest.approx(2586.48, rel=REL)
    assert result.gross_emissions == pytest.approx(4974, rel=REL)
    assert result.net_emissions == pytest.approx(4974 - 2586.48, rel=REL)
    # the neutrality rate is 2586.48 / 4974
    assert result.neutrality_rate == pytest.approx(2586.48 / 4974, rel=REL)
    assert result.energy_gj["electricity"] == pytest.approx(15200 * 3.6, rel=REL)


def test_self_generated_fossil_electricity_adds_nothing():
    result = _account(_doc(electricity=[_power("self-generated-fossil", 300)]))
    (line,) = result.lines
    assert (line.source, line.emissions, line.factor_kind) == (COMBUSTION, 0.0, "zero")
    assert "fuels" in line.note


def test_exported_electricity():
    result = _account(_doc(electricity=[_power("purchased-grid", 1000), _power("exported", 300)]))
    _, exported = result.lines
    # −300 MWh × 0.4974
    assert (exported.source, exported.emissions) == (EXPORTED, pytest.approx(-149.22, rel=REL))
    assert result.by_source[EXPORTED] == pytest.approx(-149.22, rel=REL)
    assert result.energy_gj["electricity"] == pytest.approx(1000 * 3.6, rel=REL)


def test_steam_hot_water_and_exported_heat():
    heat = [
        {
            "kind": "purchased",
            "medium": "steam",
            "quantity": 12000,
            "unit": "t",
            "enthalpyKjPerKg": 2780,
            "dataSource": METER,
        },
        {
            "kind": "purchased",
            "medium": "hot-water",
            "quantity": 5000,
            "unit": "t",
            "temperatureC": 95,
            "dataSource": METER,
        },
        {"kind": "exported", "medium": "steam", "quantity": 1000, "unit": "GJ", "dataSource": METER},
    ]
    result = _account(_doc(heat=heat))
    steam, water, exported = result.lines
    # steam: 12000 t × (2780 − 83.74) × 1e-3 = 32355.12 GJ; × 0.11 = 3559.0632 tCO2
    assert steam.quantity == pytest.approx(32355.12, rel=REL)
    assert steam.emissions == pytest.approx(3559.0632, rel=REL)
    # hot water: 5000 t × (95 − 20) × 4.1868 × 1e-3 = 1570.05 GJ; × 0.11 = 172.7055 tCO2
    assert water.quantity == pytest.approx(1570.05, rel=REL)
    assert water.emissions == pytest.approx(172.7055, rel=REL)
    # exported: −1000 GJ × 0.11
    assert (exported.source, exported.emissions) == (EXPORTED, pytest.approx(-110, rel=REL))
    assert steam.source == water.source == PURCHASED_HEAT
    assert steam.factor_kind == "heat-default"
    assert result.energy_gj["heat"] == pytest.approx(32355.12 + 1570.05, rel=REL)


def test_carbonate_with_purity_and_other_material():
    inputs = [
        {"material": "CaCO3", "quantity": 300, "unit": "t", "purity": 0.95, "dataSource": METER},
        {"material": "MgCO3", "quantity": 2000, "unit": "kg", "dataSource": METER},
        {
            "material": "other",
            "name": "预焙阳极",
            "quantity": 50400,
            "unit": "t",
            "emissionFactor": 3.593,
            "factorSource": "企业实测",
            "dataSource": METER,
        },
    ]
    caco3, mgco3, anode = _account(_doc(processInputs=inputs)).lines
    # 300 t × 0.95 × 0.440 = 125.4
    assert (caco3.quantity, caco3.emissions) == (pytest.approx(285, rel=REL), pytest.approx(125.4, rel=REL))
    # 2000 kg = 2 t × 0.522 = 1.044
    assert mgco3.emissions == pytest.approx(1.044, rel=REL)
    # 50400 t × 3.593 = 181087.2
    assert anode.emissions == pytest.approx(181087.2, rel=REL)
    assert (anode.choice, anode.factor_kind) == (None, "enterprise-factor")
    assert "企业实测" in anode.note
    assert caco3.source == anode.source == PROCESS
    assert caco3.factor_kind == "carbonate"


def test_methane_with_ar6_and_ar5():
    gases = [{"gas": "CH4", "quantity": 10, "unit": "t", "dataSource": METER}]
    ar6 = _account(_doc(ghgEmissions=gases))
    ar5 = _account(_doc(ghgEmissions=gases), gwp="AR5")
    # 10 t × 27.9 = 279 (AR6); 10 t × 28 = 280 (AR5)
    assert ar6.by_source[OTHER_GASES] == pytest.approx(279, rel=REL)
    assert ar5.by_source[OTHER_GASES] == pytest.approx(280, rel=REL)
    assert (ar6.gwp, ar5.gwp) == ("AR6", "AR5")
    assert ar6.lines[0].factor_kind == "gwp"
    assert ar6.lines[0].choice.factor.factor_set == "IPCC AR6 GWP-100"


def test_nitrous_oxide_in_kg_and_direct_co2():
    gases = [
        {"gas": "N2O", "quantity": 500, "unit": "kg", "dataSource": METER},
        {"gas": "CO2", "quantity": 40, "unit": "t", "dataSource": METER},
    ]
    n2o, co2 = _account(_doc(ghgEmissions=gases)).lines
    # 0.5 t × 273 = 136.5
    assert n2o.emissions == pytest.approx(136.5, rel=REL)
    assert (co2.source, co2.emissions, co2.factor_kind) == (PROCESS, 40, "stated")


def test_gas_missing_from_the_chosen_set_is_an_error_naming_the_line():
    gases = [{"gas": "NF3", "quantity": 1, "unit": "t", "dataSource": METER}]
    with pytest.raises(AccountingError) as raised:
        _account(_doc(ghgEmissions=gases), gwp="SAR")
    (issue,) = raised.value.issues
    assert issue.pointer == "/ghgEmissions/0/gas"
    assert "NF3" in issue.message
    assert "SAR" in issue.message


def test_ccs_and_sinks_are_deducted_and_count_as_offsets():
    offsets = [
        {"kind": "ccs", "quantityTCo2": 1000, "evidence": {"kind": "report", "reference": "CCS-1"}},
        {
            "kind": "carbon-sink",
            "quantityTCo2": 200,
            "evidence": {"kind": "certificate", "reference": "SINK-1"},
        },
    ]
    result = _account(_doc(fuels=[_fuel("bituminous_coal", 1000, "t")], offsets=offsets))
    _, ccs, sink = result.lines
    assert (ccs.source, ccs.emissions, ccs.data_source) == (ZERO_CARBON_DEDUCTIONS, -1000, "evidence")
    assert sink.emissions == -200
    assert result.by_source[ZERO_CARBON_DEDUCTIONS] == -1200
    assert result.neutrality_offsets == 1200
    # net = 1741.74957 − 1200
    assert result.net_emissions == pytest.approx(1741.74957 - 1200, rel=REL)


def test_ccer_counts_only_in_neutrality():
    offsets = [
        {"kind": "ccer", "quantityTCo2": 5000, "evidence": {"kind": "ccer-registry", "reference": "CCER-1"}},
        {
            "kind": "green-certificate",
            "quantityTCo2": 100,
            "evidence": {"kind": "green-certificate", "reference": "G"},
        },
    ]
    result = _account(_doc(fuels=[_fuel("bituminous_coal", 1000, "t")], offsets=offsets))
    assert len(result.lines) == 1
    assert result.net_emissions == pytest.approx(1741.74957, rel=REL)
    assert result.neutrality_offsets == 5100


def test_renewable_offset_is_not_counted_twice():
    offsets = [
        {
            "kind": "self-generated-renewable",
            "quantityTCo2": 99,
            "evidence": {"kind": "report", "reference": "PV"},
        }
    ]
    with_power = _account(
        _doc(electricity=[_power("self-generated-renewable", 100, source="wind")], offsets=offsets)
    )
    assert with_power.neutrality_offsets == pytest.approx(49.74, rel=REL)  # 100 MWh × 0.4974 only
    (warning,) = with_power.issues
    assert (warning.severity, warning.pointer) == ("warning", "/offsets/0")
    assert "/electricity/0" in warning.message
    alone = _account(_doc(offsets=offsets))
    assert (alone.net_emissions, alone.neutrality_offsets) == (-99, 99)


def test_unit_that_does_not_fit_the_fuel_is_an_error_naming_the_line():
    with pytest.raises(AccountingError) as raised:
        _account(
            _doc(
                fuels=[
                    _fuel("diesel", 1, "t"),
                    _fuel("natural_gas", 12, "t"),
                    _fuel("bituminous_coal", 5, "Nm3"),
                ]
            )
        )
    assert [issue.pointer for issue in raised.value.issues] == ["/fuels/1/unit", "/fuels/2/unit"]
    assert "natural_gas" in str(raised.value)


def test_data_check_errors_stop_accounting():
    document = _doc(fuels=[_fuel("diesel", 1, "t")])
    document["fuels"][0]["quantity"] = -1
    with pytest.raises(AccountingError, match="/fuels/0/quantity"):
        _account(document)


def test_expired_factor_is_flagged_or_refused():
    document = _doc(period="2026", electricity=[_power("purchased-grid", 1000)])
    flagged = _account(document, as_of=date(2027, 3, 1))
    # the 2023 data (the latest not after 2026) was valid until 2026-11-30
    (warning,) = flagged.issues
    assert warning.pointer == "/electricity/0"
    assert "province:33" in warning.message
    assert "2026-11-30" in warning.message
    assert flagged.net_emissions == pytest.approx(497.4, rel=REL)
    with pytest.raises(AccountingError) as raised:
        _account(document, as_of=date(2027, 3, 1), on_expired="refuse")
    assert raised.value.issues[0].pointer == "/electricity/0"


def test_arguments_are_checked():
    document = _doc()
    with pytest.raises(UnknownFactor, match="AR7"):
        _account(document, gwp="AR7")
    with pytest.raises(ValueError, match="on_expired"):
        _account(document, on_expired="ignore")
    with pytest.raises(AccountingError, match="/electricity/0: grid region: region 990000"):
        _account(_doc(electricity=[_power("purchased-grid", 1)]), region="990000")


def test_energy_structure_by_carrier():
    fuels = [
        _fuel("washed_coal", 10, "t"),
        _fuel("diesel", 2, "t"),
        _fuel("lng", 3, "t"),
        _fuel("coke_oven_gas", 1, "10^4 Nm3"),
    ]
    heat = [{"kind": "purchased", "medium": "steam", "quantity": 50, "unit": "GJ", "dataSource": METER}]
    energy = _account(_doc(fuels=fuels, electricity=[_power("purchased-grid", 10)], heat=heat)).energy_gj
    # coal 10 × 26.334; oil 2 × 42.652; gas 3 × 51.498; other 1 × 179.81; electricity 10 × 3.6; heat 50
    assert energy == {
        "coal": pytest.approx(263.34, rel=REL),
        "oil": pytest.approx(85.304, rel=REL),
        "gas": pytest.approx(154.494, rel=REL),
        "electricity": pytest.approx(36, rel=REL),
        "heat": pytest.approx(50, rel=REL),
        "other": pytest.approx(179.81, rel=REL),
    }


def test_combine_two_months():
    march = _account(
        _doc(
            period="2025-03",
            granularity="month",
            added_value=400,
            fuels=[_fuel("bituminous_coal", 100, "t")],
            electricity=[_power("purchased-grid", 0)],
        )
    )
    april = _account(
        _doc(
            period="2025-04",
            granularity="month",
            added_value=500,
            electricity=[_power("purchased-grid", 200)],
        )
    )
    both = combine([march, april])
    assert both.periods == ("2025-03", "2025-04")
    assert [line.pointer for line in both.lines] == [
        "2025-03/fuels/0",
        "2025-03/electricity/0",
        "2025-04/electricity/0",
    ]
    assert both.added_value == 900
    # 100 t × 19.570 × 26.1/1000 × 0.93 × 44/12 + 200 MWh × 0.4974
    assert both.net_emissions == pytest.approx(
        100 * 19.570 * 26.1 / 1000 * 0.93 * 44 / 12 + 200 * 0.4974, rel=REL
    )
    assert both.grid_factor_year == 2023
    assert both.energy_gj["electricity"] == pytest.approx(200 * 3.6, rel=REL)
    assert both.energy_gj["coal"] == pytest.approx(1957, rel=REL)
    # the zero-quantity warning of March is kept, under its period
    assert [issue.pointer for issue in both.issues] == ["2025-03/electricity/0/quantity"]
    assert combine([both]).lines == both.lines  # combined pointers are not prefixed again
    with pytest.raises(ValueError, match="more than once"):
        combine([march, march])
    with pytest.raises(ValueError, match="different gwp"):
        combine([march, _account(_doc(period="2025-05", granularity="month"), gwp="AR5")])
    with pytest.raises(ValueError, match="at least one"):
        combine([])


def test_the_template_example_accounted_by_hand():
    document = TEMPLATE.example_document()
    result = _account(document)
    natural_gas = 1250 * 389.31 * 15.3 / 1000 * 0.99 * 44 / 12  # = 27027.3601125
    diesel = 85.4 * 42.652 * 20.2 / 1000 * 0.98 * 44 / 12  # = 264.390683028...
    grid = 1650000 * 0.4974  # = 820710 (Zhejiang 2023 factor for accounting year 2025)
    solar = 5200 * 0.4974  # = 2586.48 deducted
    steam = 12000 * (2780 - 83.74) * 1e-3 * 0.11  # = 32355.12 GJ × 0.11 = 3559.0632
    anode = 50400 * 3.593  # = 181087.2
    limestone = 300 * 0.95 * 0.440  # = 125.4
    cf4 = 9.6 * 7380  # = 70848 (AR6)
    assert result.by_source == {
        "combustion": pytest.approx(natural_gas + diesel, rel=REL),
        "process": pytest.approx(anode + limestone, rel=REL),
        "otherGases": pytest.approx(cf4, rel=REL),
        "purchasedElectricity": pytest.approx(grid, rel=REL),
        "purchasedHeat": pytest.approx(steam, rel=REL),
        "exported": 0.0,
        "zeroCarbonDeductions": pytest.approx(-solar, rel=REL),
    }
    gross = natural_gas + diesel + grid + steam + anode + limestone + cf4  # = 1103621.413995528
    assert result.gross_emissions == pytest.approx(gross, rel=REL)
    assert result.gross_emissions == pytest.approx(1103621.4139955, rel=REL)
    assert result.net_emissions == pytest.approx(gross - solar, rel=REL)
    assert result.neutrality_offsets == pytest.approx(
        solar + 5000, rel=REL
    )  # + the CCER, which leaves L unchanged
    assert result.added_value == 48000
    assert (result.gwp, result.grid_factor_year, result.periods) == ("AR6", 2023, ("2025",))
    assert result.factor_set == FactorLibrary.default().factor_set
    assert result.issues == ()
    assert result.energy_gj == {
        "coal": 0.0,
        "oil": pytest.approx(85.4 * 42.652, rel=REL),
        "gas": pytest.approx(1250 * 389.31, rel=REL),
        # purchased grid + green + self-generated solar: (1650000 + 120000 + 5200) MWh × 3.6
        "electricity": pytest.approx(1775200 * 3.6, rel=REL),
        "heat": pytest.approx(32355.12, rel=REL),
        "other": 0.0,
    }
    assert len(result.lines) == 9
    json.dumps([line.to_json() for line in result.lines], ensure_ascii=False)
