"""The factor library: shipped rows, look-ups, the province → grid → national fallback, years and validity."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from importlib import resources

import pytest

from carbon_efficiency.factors import FactorLibrary, UnknownFactor, to_factor_unit
from metadata_templates import default_catalog
from metadata_templates.codes import CodeError, provinces

AS_OF = date(2026, 3, 1)


@pytest.fixture(scope="module")
def library() -> FactorLibrary:
    return FactorLibrary.default()


def _data(name: str) -> dict:
    return json.loads(resources.files("carbon_efficiency").joinpath("data", name).read_text("utf-8"))


def test_default_is_loaded_once_and_frozen(library):
    assert FactorLibrary.default() is library
    with pytest.raises(dataclasses.FrozenInstanceError):
        library.heat_factor = library.heat_factor  # type: ignore[misc]
    with pytest.raises(TypeError):
        library.fuel_factors["coke"] = library.fuel_factors["anthracite"]  # type: ignore[index]


def test_every_shipped_factor_row_names_source_year_and_validity():
    for name in (
        "fuels-gbt32150-2015.json",
        "electricity-mee-nbs.json",
        "heat-gbt32150.json",
        "carbonates.json",
    ):
        for row in _data(name)["rows"]:
            assert row["source"], row
            assert isinstance(row["year"], int), row
            assert date.fromisoformat(row["validFrom"])
            assert row["validUntil"] is None or date.fromisoformat(row["validUntil"])
            if "*unverified*" in row["source"]:
                assert "*unverified*" in row["note"]
    for item in _data("gwp-ipcc.json")["sets"]:
        assert item["source"]
        assert item["year"]
        assert item["validFrom"]


def test_fuel_factor_is_computed_from_its_parameters(library):
    choice = library.fuel("natural_gas", year=2025, as_of=AS_OF)
    factor = choice.factor
    # 389.31 GJ/10^4 Nm3 × 15.3 tC/TJ / 1000 × 0.99 × 44/12
    assert factor.value == pytest.approx(389.31 * 15.3 / 1000 * 0.99 * 44 / 12, rel=1e-12)
    assert factor.value == pytest.approx(21.62188809, rel=1e-9)
    assert factor.unit == "tCO2/10^4 Nm3"
    assert factor.parameters == {"ncv": 389.31, "carbonContent": 15.3, "oxidation": 0.99}
    assert factor.factor_set == "GB/T 32150-2015 常用化石燃料相关参数缺省值"
    assert (factor.valid_from, factor.valid_until) == (date(2016, 6, 1), date(2028, 12, 31))
    assert "2026-01-01" in factor.note
    assert "3 years" in factor.note
    assert (choice.level, choice.expired, choice.fallback) == ("fuel", False, None)
    # 26.7 GJ/t × 27.4 / 1000 × 0.94 × 44/12
    anthracite = library.fuel("anthracite", year=2025, as_of=AS_OF).factor
    assert anthracite.value == pytest.approx(26.7 * 27.4 / 1000 * 0.94 * 44 / 12, rel=1e-12)
    assert anthracite.unit == "tCO2/t"


def test_library_covers_every_fuel_of_the_template_with_a_carrier(library):
    schema = default_catalog().get("activity-data", 1).schema
    fuels = set(schema["properties"]["fuels"]["items"]["properties"]["fuel"]["enum"]) - {"other"}
    assert set(library.fuels) == fuels
    assert library.carrier_of("coke") == "coal"
    assert library.carrier_of("petroleum_coke") == "oil"
    assert library.carrier_of("lng") == "gas"
    assert library.carrier_of("blast_furnace_gas") == "other"
    gases = {code for code in fuels if library.fuel_factors[code].unit == "tCO2/10^4 Nm3"}
    assert gases == {"natural_gas", "coke_oven_gas", "blast_furnace_gas", "converter_gas", "other_gas"}


def test_fuel_factor_expires_after_three_years_from_review(library):
    assert library.fuel("coke", year=2028, as_of=date(2028, 12, 31)).expired is False
    assert library.fuel("coke", year=2028, as_of=date(2029, 1, 1)).expired is True
    assert library.fuel("coke", year=2015, as_of=date(2016, 5, 31)).expired is True  # before it was in force


def test_unknown_fuel_material_gas_and_set_are_named(library):
    with pytest.raises(UnknownFactor, match="unknown fuel 'peat'"):
        library.fuel("peat", year=2025, as_of=AS_OF)
    with pytest.raises(UnknownFactor, match="unknown carbonate 'BaCO3'"):
        library.carbonate("BaCO3", year=2025, as_of=AS_OF)
    with pytest.raises(UnknownFactor, match="unknown gas 'H2O'"):
        library.gwp("H2O", "AR6")
    with pytest.raises(UnknownFactor, match="unknown GWP set 'AR7'"):
        library.gwp("CH4", "AR7")
    with pytest.raises(UnknownFactor, match="unknown electricity factor 'grid:mars'"):
        library.electricity_series("grid:mars", year=2023, as_of=AS_OF)
    assert isinstance(UnknownFactor("x"), LookupError)


def test_province_factor_for_a_county_of_zhejiang(library):
    choice = library.electricity("330522", year=2023, as_of=AS_OF)
    assert (choice.level, choice.factor.key, choice.factor.year, choice.factor.value) == (
        "province",
        "province:33",
        2023,
        0.4974,
    )
    assert choice.fallback is None
    assert choice.requested == "electricity for region 330522, accounting year 2023"
    assert "2025年第47号" in choice.factor.source
    assert library.electricity("320500", year=2021, as_of=date(2024, 6, 1)).factor.value == 0.6451
    assert library.electricity("310115", year=2022, as_of=date(2025, 1, 1)).factor.value == 0.5849
    assert library.electricity("340100", year=2023, as_of=AS_OF).factor.value == 0.6553


def test_latest_data_year_not_after_the_accounting_year(library):
    assert library.electricity("330522", year=2022, as_of=AS_OF).factor.value == 0.5153
    later = library.electricity("330522", year=2025, as_of=AS_OF)
    assert (later.factor.year, later.factor.value) == (2023, 0.4974)
    assert later.fallback == "latest data year not after 2025: 2023"
    earlier = library.electricity("330522", year=2019, as_of=AS_OF)
    assert (earlier.factor.year, earlier.factor.value) == (2021, 0.5422)
    assert earlier.fallback == "no data year 2019 or earlier: used the earliest, data year 2021"


def test_hebei_falls_back_to_the_north_grid(library):
    choice = library.electricity("130209", year=2022, as_of=AS_OF)
    assert (choice.level, choice.factor.key, choice.factor.value) == ("grid", "grid:north", 0.6776)
    assert "no provincial factor for 13 河北省" in choice.fallback
    assert "华北区域电网" in choice.fallback


def test_regions_off_the_mainland_grids_use_the_national_average(library):
    for code in ("710000", "810000", "820000"):
        assert library.grid_of(code) is None
        choice = library.electricity(code, year=2023, as_of=AS_OF)
        assert (choice.level, choice.factor.key, choice.factor.value) == ("national", "national", 0.5306)
        assert "on no regional grid" in choice.fallback


def test_every_mainland_province_maps_to_its_grid(library):
    expected = {
        "north": ["11", "12", "13", "14", "15", "37"],
        "northeast": ["21", "22", "23"],
        "east": ["31", "32", "33", "34", "35"],
        "central": ["36", "41", "42", "43"],
        "southwest": ["50", "51", "54"],
        "northwest": ["61", "62", "63", "64", "65"],
        "south": ["44", "45", "46", "52", "53"],
    }
    mapped = {code: grid for grid, codes in expected.items() for code in codes}
    assert len(mapped) == 31
    for item in provinces():
        assert library.grid_of(item.code) == mapped.get(item.code[:2]), item.code
    for grid in expected:
        rows = library.electricity_factors[f"grid:{grid}"]
        assert [row.year for row in rows] == [2021, 2022, 2023]


def test_inner_mongolia_west_is_north_and_the_eastern_cities_northeast(library):
    assert library.grid_of("150102") == "north"  # Hohhot
    assert library.grid_of("150402") == "northeast"  # a district of Chifeng
    choice = library.electricity("150702", year=2023, as_of=AS_OF)
    assert (choice.factor.key, choice.factor.value) == ("grid:northeast", 0.5122)
    assert "city 150700" in choice.fallback


def test_region_codes_are_checked(library):
    with pytest.raises(CodeError):
        library.grid_of("33052")
    with pytest.raises(UnknownFactor, match="province 99"):
        library.electricity("990000", year=2023, as_of=AS_OF)


def test_other_national_series_and_the_compliance_factor_are_separate_keys(library):
    assert library.electricity_series("national:fossil", year=2022, as_of=AS_OF).factor.value == 0.8325
    assert (
        library.electricity_series("national:excl-market-nonfossil", year=2023, as_of=AS_OF).factor.value
        == 0.6096
    )
    compliance = library.electricity_series("ets-compliance", year=2025, as_of=date(2025, 6, 1))
    assert compliance.factor.value == 0.5703
    assert "*unverified*" in compliance.factor.source
    # the regional look-up never picks the compliance factor or the other national series
    assert library.electricity("810000", year=2025, as_of=AS_OF).factor.key == "national"


def test_electricity_factor_valid_one_year_from_publication(library):
    # 2021 data: published 2024-04-12 (approximate), valid until 2025-04-11
    assert library.electricity("330100", year=2021, as_of=date(2025, 4, 11)).expired is False
    stale = library.electricity("330100", year=2021, as_of=date(2025, 4, 12))
    assert stale.expired is True
    assert "approximate" in stale.factor.note
    # accounting year 2026 on 2027-03-01: the 2023 data (valid until 2026-11-30) is expired
    assert library.electricity("330100", year=2026, as_of=date(2027, 3, 1)).expired is True


def test_heat_factor_and_conversions(library):
    choice = library.heat(year=2025, as_of=AS_OF)
    assert (choice.factor.value, choice.factor.unit, choice.level) == (0.11, "tCO2/GJ", "default")
    assert "GB/T 32150-2025" in choice.factor.source
    conversion = library.heat_conversion
    # 10 t × (2780 − 83.74) kJ/kg × 1e-3 = 26.9626 GJ
    assert conversion.steam_gj(10, 2780) == pytest.approx(10 * (2780 - 83.74) * 1e-3, rel=1e-12)
    # 10 t × (90 − 20) °C × 4.1868 × 1e-3 = 2.93076 GJ
    assert conversion.hot_water_gj(10, 90) == pytest.approx(10 * 70 * 4.1868 * 1e-3, rel=1e-12)
    assert "*unverified*" in conversion.source


def test_carbonate_factors(library):
    values = {m: library.carbonate(m, year=2025, as_of=AS_OF).factor.value for m in library.carbonates}
    assert values == {"CaCO3": 0.440, "MgCO3": 0.522, "CaMg(CO3)2": 0.477, "Na2CO3": 0.415}
    assert library.carbonate("CaCO3", year=2025, as_of=AS_OF).factor.valid_until is None


def test_gwp_sets(library):
    assert library.gwp_sets == ("SAR", "AR4", "AR5", "AR6")
    table = {
        "CH4": (21, 25, 28, 27.9),
        "N2O": (310, 298, 265, 273),
        "SF6": (23900, 22800, 23500, 25200),
        "NF3": (None, None, 16100, 17400),
        "HFC-134a": (None, 1430, 1300, 1530),
        "HFC-32": (None, 675, 677, 771),
        "HFC-23": (None, None, 12400, 14600),
        "CF4": (None, None, 6630, 7380),
    }
    for gas, values in table.items():
        for assessment, value in zip(library.gwp_sets, values, strict=True):
            if value is None:
                with pytest.raises(UnknownFactor, match=f"gas {gas} has no GWP in the {assessment} set"):
                    library.gwp(gas, assessment)
            else:
                assert library.gwp(gas, assessment) == value
    for assessment in library.gwp_sets:
        assert library.gwp("CO2", assessment) == 1
    choice = library.gwp_factor("CH4", "AR6")
    assert (choice.factor.kind, choice.factor.unit, choice.factor.factor_set) == (
        "gwp",
        "tCO2e/t",
        "IPCC AR6 GWP-100",
    )
    assert "29.8" in choice.factor.note


def test_factor_set_names(library):
    assert library.factor_set == "GB/T 32150-2015 常用化石燃料相关参数缺省值"
    assert library.factor_sets[0] == library.factor_set
    assert len(library.factor_sets) == 5


def test_unit_conversion_to_the_factor_unit():
    assert to_factor_unit(2500, "kg", "tCO2/t") == 2.5
    assert to_factor_unit(30000, "Nm3", "tCO2/10^4 Nm3") == pytest.approx(3.0, rel=1e-12)
    assert to_factor_unit(3, "t", "tCO2/10^4 Nm3") is None
    assert to_factor_unit(3, "Nm3", "tCO2/t") is None
    assert to_factor_unit(3, "barrel", "tCO2/t") is None
