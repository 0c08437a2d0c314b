"""Product-form footprints against hand-computed figures (1e-9 relative), one case per inventory section."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from carbon_efficiency.footprint import (
    FootprintError,
    SupplierFactor,
    UnavailableSupplier,
    convert_quantity,
    form_footprint,
    parse_factor_unit,
    supplier_handles,
)
from carbon_efficiency.rollup import default_material_factors
from metadata_templates import default_catalog
from metadata_templates.validation import validate

AS_OF = date(2026, 3, 1)
REGION = "330522"  # 长兴县, Zhejiang: provincial electricity factor 0.4974 tCO2/MWh for data year 2023
REL = 1e-9
TEMPLATE = default_catalog().get("product-footprint", 1)
# GB/T 32150-2015 natural gas: NCV 389.31 GJ/10^4 Nm3 × CC 15.3 tC/TJ ÷ 1000 × OF 0.99 × 44/12, tCO2/10^4 Nm3
NATURAL_GAS_T_PER_10K_NM3 = 389.31 * 15.3 / 1000 * 0.99 * 44 / 12


def form(
    *,
    materials: list[dict[str, Any]] | None = None,
    primary: list[dict[str, Any]] | None = None,
    secondary: list[dict[str, Any]] | None = None,
    direct: list[dict[str, Any]] | None = None,
    transport: list[dict[str, Any]] | None = None,
    amount: float = 1,
    unit: str = "kg",
    quality: tuple[int, int, int, int] = (1, 2, 1, 2),
    valid_until: str = "2027-12-31",
    **basic: Any,
) -> dict[str, Any]:
    """A product form, checked against the template so every case is a real document."""
    document = {
        "@context": ["https://carbonid.org/contexts/product-footprint/v1.jsonld"],
        "type": "ProductCarbonForm",
        "name": "测试产品",
        "productType": "material-part-process",
        "public": False,
        "collectionPeriod": {"start": "2025-01-01", "end": "2025-12-31"},
        "functionalUnit": f"{amount} {unit} 测试产品",
        "quantification": {
            "kind": "mass" if unit in ("kg", "t") else "count",
            "amount": amount,
            "unit": unit,
        },
        "systemBoundary": "摇篮到大门",
        "emissionFactorSource": {"kind": "site-data"},
        "thirdPartyCertification": {"certified": False},
        "validUntil": valid_until,
        "inventory": {
            "materials": materials or [],
            "primaryEnergy": primary or [],
            "secondaryEnergy": secondary or [],
            "directEmissions": direct or [],
            "transport": transport or [],
        },
        "dataQuality": dict(zip(("TiR", "TeR", "GeR", "SoR"), quality, strict=True)),
        **basic,
    }
    validate(TEMPLATE, document)
    return document


def material(name: str, quantity: float, unit: str = "kg", **extra: Any) -> dict[str, Any]:
    """A material line."""
    return {"name": name, "quantity": quantity, "unit": unit, **extra}


def factor(value: float, unit: str = "kgCO2e/kg", source: str | None = "GB/T 51366-2019") -> dict[str, Any]:
    """A typed emission factor."""
    return {"value": value, "unit": unit, **({"source": source} if source else {})}


def _footprint(document: dict[str, Any], **options: Any) -> Any:
    return form_footprint(document, **{"region": REGION, "as_of": AS_OF, **options})


def test_every_section_against_a_hand_computed_factor():
    document = form(
        materials=[material("钢板", 0.8, emissionFactor=factor(2.05))],
        primary=[{"energy": "natural_gas", "quantity": 0.5, "unit": "Nm3"}],
        secondary=[{"energy": "electricity", "quantity": 2.5, "unit": "kWh"}],
        direct=[{"gas": "CH4", "method": "reaction", "quantity": 2, "unit": "g"}],
        transport=[
            {
                "leg": "outbound",
                "mode": "road",
                "massT": 0.001,
                "distanceKm": 200,
                "tonneKm": 0.2,
                "emissionFactor": factor(0.078, "kgCO2e/(t·km)", "GB/T 51366-2019 附录E"),
            }
        ],
    )
    result = _footprint(document)
    steel = 0.8 * 2.05  # kg × kgCO2e/kg = 1.64
    gas = 0.5 / 1e4 * NATURAL_GAS_T_PER_10K_NM3 * 1000  # Nm3 → 10^4 Nm3, tCO2 → kg: 0.10811
    power = 2.5 / 1000 * 0.4974 * 1000  # kWh → MWh × Zhejiang 2023 tCO2/MWh → kg: 1.2435
    methane = 2 / 1000 * 27.9  # g → kg × AR6 GWP of CH4: 0.0558
    road = 0.2 * 0.078  # t·km × kgCO2e/(t·km): 0.0156
    total = steel + gas + power + methane + road
    assert result.total_kg_co2e == pytest.approx(total, rel=REL)
    assert result.factor == pytest.approx(total, rel=REL)
    assert result.factor_unit == "kgCO2e/kg"
    assert result.by_section == pytest.approx(
        {
            "materials": steel,
            "primaryEnergy": gas,
            "secondaryEnergy": power,
            "directEmissions": methane,
            "transport": road,
        },
        rel=REL,
    )
    lines = {line.pointer: line for line in result.lines}
    assert lines["/inventory/materials/0"].origin == "line"
    assert lines["/inventory/materials/0"].source == "GB/T 51366-2019"
    assert lines["/inventory/primaryEnergy/0"].choice.factor.key == "natural_gas"
    assert lines["/inventory/secondaryEnergy/0"].choice.factor.key == "province:33"
    assert lines["/inventory/secondaryEnergy/0"].choice.factor.year == 2023
    assert lines["/inventory/directEmissions/0"].choice.factor.key == "CH4"
    assert lines["/inventory/transport/0"].source == "GB/T 51366-2019 附录E"
    assert result.quality.score == 1.5  # (1 + 2 + 1 + 2) / 4, no fallback
    assert result.quality.band == "excellent"
    assert result.fallbacks == 0
    assert result.issues == ()
    json.dumps(result.to_json())


def test_the_factor_is_per_quantification_unit():
    # inventory per functional unit of 1000 kg: 500 kg × 2.05 = 1025 kgCO2e → 1.025 kgCO2e/kg
    result = _footprint(form(amount=1000, materials=[material("钢板", 500, emissionFactor=factor(2.05))]))
    assert result.total_kg_co2e == pytest.approx(1025, rel=REL)
    assert result.factor == pytest.approx(1.025, rel=REL)
    assert result.factor_unit == "kgCO2e/kg"


def test_a_count_unit_gives_a_factor_per_piece():
    result = _footprint(form(unit="个", materials=[material("铝锭", 8.8, emissionFactor=factor(9.5))]))
    assert result.factor == pytest.approx(8.8 * 9.5, rel=REL)  # 83.6 kgCO2e per piece
    assert result.factor_unit == "kgCO2e/个"


def test_a_supplier_factor_is_used_with_its_unit_converted():
    document = form(materials=[material("铝锭", 200, "g", supplierHandle="88.1.1/PF.ALU")])
    supplied = SupplierFactor("88.1.1/pf.alu", 9500, "kgCO2e/t", "supplier form 88.1.1/PF.ALU v3", version=3)
    result = _footprint(document, supplier_factors={"88.1.1/pf.alu": supplied})
    assert result.total_kg_co2e == pytest.approx(200 / 1e6 * 9500, rel=REL)  # g → t × kgCO2e/t = 1.9
    line = result.lines[0]
    assert (line.origin, line.supplier_handle, line.supplier_version, line.fallback) == (
        "supplier",
        "88.1.1/PF.ALU",
        3,
        None,
    )


def test_an_unavailable_supplier_falls_back_to_the_default_factor_and_penalises_the_dqr():
    document = form(materials=[material("钢", 0.5, supplierHandle="88.9.1/PF.STEEL")])
    result = _footprint(
        document,
        supplier_factors={"88.9.1/PF.STEEL": UnavailableSupplier("88.9.1/PF.STEEL", "was not found")},
        default_factors=default_material_factors(),
    )
    assert result.total_kg_co2e == pytest.approx(0.5 / 1000 * 2050, rel=REL)  # kg → t × 2050 kgCO2e/t
    line = result.lines[0]
    assert line.origin == "default"
    assert line.fallback == "supplier form 88.9.1/PF.STEEL was not found: used the default factor of 'steel'"
    assert "GB/T 51366-2019" in line.source
    assert result.fallbacks == 1
    assert result.quality.stated == (1, 2, 1, 2)
    assert result.quality.scores == (2, 3, 2, 3)  # each worsened by 1
    assert result.quality.score == 2.5
    assert result.quality.band == "good"


def test_an_unsupplied_supplier_falls_back_to_the_lines_own_factor():
    document = form(
        materials=[material("氧化铝", 1.93, supplierHandle="88.7.1/PF.1", emissionFactor=factor(1.2))]
    )
    result = _footprint(document)
    assert result.total_kg_co2e == pytest.approx(1.93 * 1.2, rel=REL)
    assert result.lines[0].fallback == "supplier form 88.7.1/PF.1 not supplied: used the line's own factor"
    assert result.quality.penalty == 1


def test_the_penalty_is_capped_at_5():
    document = form(quality=(5, 4, 5, 1), materials=[material("钢", 1, supplierHandle="88.9.1/PF.STEEL")])
    result = _footprint(document, default_factors=default_material_factors())
    assert result.quality.scores == (5, 5, 5, 2)
    assert result.quality.score == 4.25


def test_a_suppliers_upstream_fallbacks_penalise_the_customer():
    document = form(materials=[material("铝锭", 1, supplierHandle="88.1.1/PF.ALU")])
    supplied = SupplierFactor("88.1.1/PF.ALU", 9.5, "kgCO2e/kg", "supplier form", version=1, fallbacks=2)
    result = _footprint(document, supplier_factors={"88.1.1/PF.ALU": supplied})
    assert result.fallbacks == 2
    assert result.quality.penalty == 1


def test_a_material_with_neither_supplier_nor_factor_is_an_error_naming_the_line():
    document = form(materials=[material("钢板", 1, emissionFactor=factor(2.05)), material("螺栓", 0.1)])
    with pytest.raises(FootprintError) as raised:
        _footprint(document)
    assert [issue.pointer for issue in raised.value.issues] == ["/inventory/materials/1"]
    assert "螺栓" in str(raised.value)
    assert "no supplierHandle and no emissionFactor" in str(raised.value)


def test_an_unavailable_supplier_without_any_fallback_says_what_is_missing():
    document = form(materials=[material("特种合金", 1, supplierHandle="88.9.1/PF.X")])
    with pytest.raises(FootprintError) as raised:
        _footprint(
            document,
            supplier_factors={
                "88.9.1/PF.X": UnavailableSupplier("88.9.1/PF.X", "has expired (valid until 2025-06-30)")
            },
            default_factors=default_material_factors(),
        )
    message = str(raised.value)
    assert message.startswith("/inventory/materials/0: material '特种合金'")
    assert "supplier form 88.9.1/PF.X has expired (valid until 2025-06-30)" in message
    assert "no default factor for '特种合金'" in message


def test_a_materials_own_factor_must_name_its_source():
    with pytest.raises(FootprintError) as raised:
        _footprint(form(materials=[material("钢板", 1, emissionFactor=factor(2.05, source=None))]))
    assert raised.value.issues[0].pointer == "/inventory/materials/0/emissionFactor"


def test_a_unit_that_does_not_fit_the_factor_is_an_error():
    with pytest.raises(FootprintError) as raised:
        _footprint(form(materials=[material("螺栓", 2, "个", emissionFactor=factor(2.05))]))
    assert raised.value.issues[0].pointer == "/inventory/materials/0/unit"
    assert "'个' does not convert to 'kg'" in str(raised.value)


def test_a_fuel_by_its_chinese_name_in_kg():
    result = _footprint(form(primary=[{"energy": "柴油", "quantity": 0.3, "unit": "kg"}]))
    # diesel: 42.652 GJ/t × 20.2 tC/TJ ÷ 1000 × 0.98 × 44/12 tCO2/t; 0.3 kg = 3e-4 t; × 1000 kg/t
    assert result.total_kg_co2e == pytest.approx(
        0.3e-3 * 42.652 * 20.2 / 1000 * 0.98 * 44 / 12 * 1000, rel=REL
    )


def test_an_unknown_fuel_takes_the_lines_factor_or_is_an_error():
    line = {"energy": "生物质颗粒", "quantity": 2, "unit": "kg"}
    result = _footprint(form(primary=[{**line, "emissionFactor": factor(0.05, source="企业实测")}]))
    assert result.total_kg_co2e == pytest.approx(0.1, rel=REL)
    assert result.lines[0].origin == "line"
    with pytest.raises(FootprintError) as raised:
        _footprint(form(primary=[line]))
    assert raised.value.issues[0].pointer == "/inventory/primaryEnergy/0"
    assert "'生物质颗粒' is not a fuel of the library" in str(raised.value)


def test_purchased_heat_in_gj():
    result = _footprint(form(secondary=[{"energy": "蒸汽", "quantity": 0.02, "unit": "GJ"}]))
    assert result.total_kg_co2e == pytest.approx(0.02 * 0.11 * 1000, rel=REL)  # GJ × tCO2/GJ → kg: 2.2


def test_a_named_grid_and_a_warning_when_it_is_not_the_enterprises():
    document = form(secondary=[{"energy": "grid_electricity_east", "quantity": 10, "unit": "kWh"}])
    assert _footprint(document).total_kg_co2e == pytest.approx(10 * 0.55, rel=REL)  # East China 2023
    assert _footprint(document).issues == ()
    elsewhere = _footprint(document, region="110000")
    assert [issue.pointer for issue in elsewhere.issues] == ["/inventory/secondaryEnergy/0/energy"]
    assert "grid east" in elsewhere.issues[0].message
    assert "north" in elsewhere.issues[0].message


def test_a_typed_factor_the_library_overrides_is_checked():
    line = {
        "energy": "electricity",
        "quantity": 10,
        "unit": "kWh",
        "emissionFactor": factor(0.58, "kgCO2/kWh"),
    }
    result = _footprint(form(secondary=[line]))
    assert result.total_kg_co2e == pytest.approx(10 * 0.4974, rel=REL)
    assert [issue.pointer for issue in result.issues] == ["/inventory/secondaryEnergy/0/emissionFactor"]
    same = {**line, "emissionFactor": factor(0.497, "kgCO2/kWh")}  # within 1 %: rounding, no warning
    assert _footprint(form(secondary=[same])).issues == ()


def test_direct_emissions_in_tonnes_and_other_gases():
    direct = [
        {"gas": "SF6", "method": "shielding-gas", "quantity": 1e-6, "unit": "t"},
        {
            "gas": "other",
            "method": "refrigerant",
            "quantity": 0.01,
            "unit": "kg",
            "emissionFactor": factor(1300, source="厂商"),
        },
    ]
    result = _footprint(form(direct=direct), gwp="AR5")
    assert result.total_kg_co2e == pytest.approx(1e-6 * 23500 * 1000 + 0.01 * 1300, rel=REL)  # 23.5 + 13
    unfactored = {key: value for key, value in direct[1].items() if key != "emissionFactor"}
    with pytest.raises(FootprintError) as raised:
        _footprint(form(direct=[unfactored]))
    assert raised.value.issues[0].pointer == "/inventory/directEmissions/0"
    assert "gas 'other' has no GWP" in str(raised.value)


def test_transport_requires_the_lines_factor():
    line = {"leg": "inbound", "mode": "rail", "tonneKm": 3}
    with pytest.raises(FootprintError) as raised:
        _footprint(form(transport=[line]))
    assert raised.value.issues[0].pointer == "/inventory/transport/0/emissionFactor"
    assert "ships no transport factors" in str(raised.value)


def test_transport_warns_when_tonne_km_is_not_mass_times_distance():
    line = {
        "leg": "inbound",
        "mode": "rail",
        "massT": 1,
        "distanceKm": 2,
        "tonneKm": 3,
        "emissionFactor": factor(0.01, "kgCO2e/tkm"),
    }
    result = _footprint(form(transport=[line]))
    assert result.total_kg_co2e == pytest.approx(0.03, rel=REL)
    assert [issue.pointer for issue in result.issues] == ["/inventory/transport/0/tonneKm"]


def test_a_literature_form_takes_its_typed_factor_with_the_literature_named():
    cited = "中国产品全生命周期温室气体排放系数集（2022）"
    document = form(
        unit="t",
        emissionFactorSource={"kind": "literature", "literature": cited},
        emissionFactor={"value": 720, "unit": "kgCO2e/t"},
    )
    result = _footprint(document)
    assert result.factor == pytest.approx(720, rel=REL)
    assert result.factor_unit == "kgCO2e/t"
    assert (result.factor_source, result.literature) == ("literature", cited)
    assert [(line.pointer, line.section, line.origin, line.source) for line in result.lines] == [
        ("/emissionFactor", "literature", "literature", cited)
    ]
    assert supplier_handles(document) == []


def test_a_literature_form_ignores_its_inventory_with_a_warning_and_needs_its_factor():
    cited = "某文献"
    with_inventory = form(
        emissionFactorSource={"kind": "literature", "literature": cited},
        emissionFactor={"value": 0.72, "unit": "kgCO2e/kg"},
        materials=[material("钢", 1, supplierHandle="88.9.1/PF.STEEL")],
    )
    result = _footprint(with_inventory)
    assert result.total_kg_co2e == pytest.approx(0.72, rel=REL)
    assert [issue.pointer for issue in result.issues] == ["/inventory"]
    without = copy.deepcopy(with_inventory)
    del without["emissionFactor"]
    with pytest.raises(FootprintError) as raised:
        _footprint(without)
    assert raised.value.issues[0].pointer == "/emissionFactor"


def test_the_template_example_and_its_stale_typed_factor():
    document = TEMPLATE.example_document()
    result = _footprint(document)
    expected = (
        1.93 * 1.2  # 氧化铝, its supplier form not supplied: the line's own factor (a fallback)
        + 0.42 * 0.6  # 预焙阳极, CICES default
        + 0.104 / 1e4 * NATURAL_GAS_T_PER_10K_NM3 * 1000  # natural gas
        + 13.75 / 1000 * 0.5500 * 1000  # East China grid 2023
        + 1.51 * 1  # process CO2
        + 8e-05 * 7380  # CF4, AR6
        + 0.2 * 0.078  # road
    )
    assert result.total_kg_co2e == pytest.approx(expected, rel=REL)  # ≈ 12.4714, the form says 12.9
    # the road factor names no source; the typed 12.9 kgCO2e/kg is not what the inventory gives
    assert [issue.pointer for issue in result.issues] == [
        "/inventory/transport/0/emissionFactor",
        "/emissionFactor",
    ]
    assert "differs from the computed 12.4714" in result.issues[1].message
    assert result.fallbacks == 1


def test_an_expired_library_factor_is_used_with_a_warning():
    result = _footprint(
        form(secondary=[{"energy": "heat", "quantity": 1, "unit": "GJ"}]), as_of=date(2030, 1, 1)
    )
    assert result.total_kg_co2e == pytest.approx(110, rel=REL)
    assert "not valid on 2030-01-01" in result.issues[0].message


def test_supplier_handles_once_each_in_order():
    document = form(
        materials=[
            material("a", 1, supplierHandle="88.1.1/PF.A"),
            material("b", 1, emissionFactor=factor(1)),
            material("c", 1, supplierHandle="88.2.1/PF.B"),
            material("d", 1, supplierHandle="88.1.1/pf.a"),
        ]
    )
    assert supplier_handles(document) == ["88.1.1/PF.A", "88.2.1/PF.B"]


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("kgCO2e/kg", (1.0, "kg")),
        ("tCO2/MWh", (1000.0, "MWh")),
        ("kgCO₂e/(t·km)", (1.0, "t·km")),
        ("gCO2e/kWh", (1e-3, "kWh")),
        ("kg/kg", None),
        ("kgCO2e", None),
    ],
)
def test_parse_factor_unit(unit, expected):
    assert parse_factor_unit(unit) == expected


@pytest.mark.parametrize(
    ("quantity", "unit", "to_unit", "expected"),
    [
        (13.75, "kWh", "MWh", 0.01375),
        (1, "GJ", "kWh", 1000 / 3.6),
        (2.5, "Nm3", "10^4 Nm3", 2.5e-4),
        (0.2, "t km", "t·km", 0.2),
        (3, "个", "个", 3),
        (1, "kg", "kWh", None),
        (1, "m3", "Nm3", None),
    ],
)
def test_convert_quantity(quantity, unit, to_unit, expected):
    result = convert_quantity(quantity, unit, to_unit)
    assert result == (None if expected is None else pytest.approx(expected, rel=REL))
