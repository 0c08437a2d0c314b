"""Cross-node roll-up of product forms: a three-tier chain with fallbacks, cycles, the depth limit, errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from carbon_efficiency.footprint import DefaultFactor
from carbon_efficiency.rollup import (
    FetchedForm,
    MissingForm,
    RollupError,
    default_material_factors,
    rollup,
)
from tests.carbon_efficiency.test_footprint import AS_OF, NATURAL_GAS_T_PER_10K_NM3, factor, form, material

REL = 1e-9
INGOT, HUB, WHEEL = "88.1.1/PF.ALU", "88.2.1/PF.HUB", "88.3.1/PF.WHEEL"
STEEL, RUBBER = "88.9.1/PF.STEEL", "88.4.1/PF.RUBBER"


def _electricity(kwh: float) -> dict[str, Any]:
    return {"energy": "electricity", "quantity": kwh, "unit": "kWh"}


def three_tiers() -> dict[str, FetchedForm | MissingForm]:
    """Raw material (88.1.1, Zhejiang) → part (88.2.1, Jiangsu) → vehicle component (88.3.1, Beijing).

    The part's steel supplier was not found; the component's rubber supplier form has expired.
    """
    ingot = form(
        name="A00 铝锭",
        materials=[material("氧化铝", 1.93, emissionFactor=factor(1.2, source="某文献"))],
        secondary=[_electricity(13.75)],
        direct=[{"gas": "CF4", "method": "other", "quantity": 8e-5, "unit": "kg"}],
        quality=(1, 2, 1, 2),
    )
    hub = form(
        name="铝合金轮毂",
        unit="个",
        materials=[
            material("铝锭", 8.8, supplierHandle=INGOT),
            material("钢", 0.5, supplierHandle=STEEL),
        ],
        primary=[{"energy": "natural_gas", "quantity": 1.5, "unit": "Nm3"}],
        secondary=[_electricity(20)],
        transport=[
            {
                "leg": "inbound",
                "mode": "road",
                "massT": 0.0093,
                "distanceKm": 300,
                "tonneKm": 2.79,
                "emissionFactor": factor(0.078, "kgCO2e/(t·km)", "GB/T 51366-2019 附录E"),
            }
        ],
        quality=(1, 1, 2, 2),
    )
    wheel = form(
        name="车轮总成",
        unit="套",
        materials=[
            material("轮毂", 4, "个", supplierHandle=HUB),
            material("橡胶", 36, supplierHandle=RUBBER),
        ],
        secondary=[_electricity(5)],
        direct=[{"gas": "CH4", "method": "reaction", "quantity": 2, "unit": "g"}],
        quality=(1, 1, 1, 1),
    )
    rubber = form(
        name="轮胎橡胶", valid_until="2025-12-31", materials=[material("天然胶", 1, emissionFactor=factor(2))]
    )
    return {
        WHEEL: FetchedForm(WHEEL, 2, wheel, "110000", access="own"),
        HUB: FetchedForm(HUB, 5, hub, "320500", access="granted", granted_to="88.3.1"),
        INGOT: FetchedForm(INGOT, 1, ingot, "330522"),
        STEEL: MissingForm(STEEL, "not-found"),
        RUBBER: FetchedForm(RUBBER, 1, rubber, "330522"),
    }


# Hand computation, kgCO2e per functional unit (grid factors of data year 2023, AR6 GWPs)
INGOT_KG = (
    1.93 * 1.2 + 13.75 / 1000 * 0.4974 * 1000 + 8e-5 * 7380
)  # 2.316 + 6.83925 + 0.5904 = 9.74565 per kg
HUB_KG = (
    8.8 * INGOT_KG  # aluminium ingot from 88.1.1, per kg
    + 0.5 / 1000 * 2050  # steel: supplier not found → GB/T 51366 default 2050 kgCO2e/t
    + 1.5 / 1e4 * NATURAL_GAS_T_PER_10K_NM3 * 1000  # natural gas, GB/T 32150
    + 20 / 1000 * 0.5827 * 1000  # Jiangsu 0.5827 tCO2/MWh
    + 2.79 * 0.078  # road t·km
)
WHEEL_KG = (
    4 * HUB_KG  # four hubs from 88.2.1, per piece
    + 36 * 3.08  # rubber: supplier form expired → CICES default 3.08 kgCO2/kg
    + 5 / 1000 * 0.6361 * 1000  # Beijing: no provincial factor, North China grid 0.6361
    + 2 / 1000 * 27.9  # CH4
)


def test_three_tiers_across_three_nodes_with_fallbacks():
    tree = rollup(WHEEL, three_tiers(), as_of=AS_OF)
    assert tree.total_kg_co2e == pytest.approx(WHEEL_KG, rel=REL)
    wheel = tree.root
    assert (wheel.handle, wheel.version, wheel.access) == (WHEEL, 2, "own")
    assert wheel.footprint.factor_unit == "kgCO2e/套"
    hub_link, rubber_link = wheel.links
    hub = hub_link.supplier
    assert hub is not None
    assert (hub.handle, hub.version, hub.access, hub.granted_to) == (HUB, 5, "granted", "88.3.1")
    assert hub.footprint.factor == pytest.approx(HUB_KG, rel=REL)
    assert hub.footprint.factor_unit == "kgCO2e/个"
    assert hub_link.line.emissions_kg_co2e == pytest.approx(4 * HUB_KG, rel=REL)
    assert (hub_link.line.origin, hub_link.line.supplier_version, hub_link.line.fallback) == (
        "supplier",
        5,
        None,
    )
    assert rubber_link.supplier is None
    assert rubber_link.missing is not None
    assert rubber_link.missing.reason == "expired"
    assert rubber_link.line.origin == "default"
    assert rubber_link.line.fallback == (
        "supplier form 88.4.1/PF.RUBBER has expired (valid until 2025-12-31, before 2026-03-01): "
        "used the default factor of 'rubber'"
    )
    ingot_link, steel_link = hub.links
    assert ingot_link.supplier is not None
    assert ingot_link.supplier.footprint.factor == pytest.approx(INGOT_KG, rel=REL)
    assert steel_link.missing == MissingForm(STEEL, "not-found")
    assert (
        steel_link.line.fallback
        == "supplier form 88.9.1/PF.STEEL was not found: used the default factor of 'steel'"
    )
    assert wheel.own_kg_co2e == pytest.approx(5 * 0.6361 + 2 / 1000 * 27.9, rel=REL)
    assert wheel.suppliers_kg_co2e == pytest.approx(4 * HUB_KG + 36 * 3.08, rel=REL)


def test_fallbacks_are_listed_and_penalise_the_dqr_up_the_tree():
    tree = rollup(WHEEL, three_tiers(), as_of=AS_OF)
    assert [(path, line.pointer, line.supplier_handle) for path, line in tree.fallbacks] == [
        ((WHEEL,), "/inventory/materials/1", RUBBER),
        ((WHEEL, HUB), "/inventory/materials/1", STEEL),
    ]
    ingot = tree.root.links[0].supplier.links[0].supplier
    assert (ingot.footprint.quality.score, ingot.footprint.quality.penalty) == (1.5, 0)
    hub = tree.root.links[0].supplier
    assert hub.footprint.quality.scores == (2, 2, 3, 3)  # stated (1, 1, 2, 2), worsened by 1
    assert (hub.footprint.quality.score, hub.footprint.quality.band) == (2.5, "good")
    assert tree.root.footprint.fallbacks == 2  # its own rubber line and the hub's steel
    assert tree.quality.scores == (2, 2, 2, 2)  # stated (1, 1, 1, 1)
    assert (tree.quality.score, tree.quality.band) == (2.0, "very-good")


def test_the_tree_serialises_for_an_api():
    body = json.loads(json.dumps(rollup(WHEEL, three_tiers(), as_of=AS_OF).to_json(), ensure_ascii=False))
    assert body["root"] == WHEEL
    assert body["totalKgCo2e"] == pytest.approx(WHEEL_KG, rel=REL)
    assert [item["supplierHandle"] for item in body["fallbacks"]] == [RUBBER, STEEL]
    hub = body["tree"]["suppliers"][0]
    assert (hub["status"], hub["supplier"]["handle"], hub["supplier"]["access"]) == (
        "resolved",
        HUB,
        "granted",
    )
    assert body["tree"]["suppliers"][1]["status"] == "fallback"
    assert body["tree"]["suppliers"][1]["missing"]["reason"] == "expired"
    steel = hub["supplier"]["suppliers"][1]
    assert (steel["status"], steel["missing"]["reason"]) == ("fallback", "not-found")


def test_handles_compare_case_insensitively():
    forms = {key.lower(): value for key, value in three_tiers().items()}
    assert rollup(WHEEL.lower(), forms, as_of=AS_OF).total_kg_co2e == pytest.approx(WHEEL_KG, rel=REL)


def test_a_not_granted_or_unverified_supplier_falls_back():
    forms = three_tiers()
    forms[HUB] = MissingForm(HUB, "not-granted")
    forms[RUBBER] = FetchedForm(RUBBER, 1, forms[INGOT].document, "330522", verified=False)
    hub_default = DefaultFactor("hub", ("轮毂",), 95.0, "kgCO2e/个", "a test figure")
    tree = rollup(
        WHEEL, forms, as_of=AS_OF, default_factors={**default_material_factors(), "轮毂": hub_default}
    )
    hub_link, rubber_link = tree.root.links
    assert (
        hub_link.line.fallback
        == "supplier form 88.2.1/PF.HUB is not granted to this node: used the default factor of 'hub'"
    )
    assert hub_link.line.emissions_kg_co2e == pytest.approx(4 * 95.0, rel=REL)
    assert rubber_link.missing.reason == "failed-verification"
    assert rubber_link.line.emissions_kg_co2e == pytest.approx(36 * 3.08, rel=REL)


def test_a_missing_supplier_without_any_fallback_is_an_error_saying_what_is_missing():
    with pytest.raises(RollupError) as raised:
        rollup(WHEEL, three_tiers(), as_of=AS_OF, default_factors={})
    pointers = [issue.pointer for issue in raised.value.issues]
    assert pointers == [f"{HUB}#/inventory/materials/1"]  # the hub fails first, so the wheel is not computed
    assert "supplier form 88.9.1/PF.STEEL was not found, no default factor for '钢'" in str(raised.value)


def test_an_error_in_a_supplier_form_names_the_form_and_the_line():
    forms = three_tiers()
    broken = form(materials=[material("未知料", 1)])
    forms[INGOT] = FetchedForm(INGOT, 1, broken, "330522")
    with pytest.raises(RollupError) as raised:
        rollup(WHEEL, forms, as_of=AS_OF)
    assert [issue.pointer for issue in raised.value.issues] == [f"{INGOT}#/inventory/materials/0"]


def test_a_cycle_is_refused_with_its_path():
    a, b = "88.1.1/PF.A", "88.2.1/PF.B"
    forms = {
        a: FetchedForm(a, 1, form(materials=[material("b", 1, supplierHandle=b)]), "330522"),
        b: FetchedForm(b, 1, form(materials=[material("a", 1, supplierHandle=a.lower())]), "320500"),
    }
    with pytest.raises(RollupError) as raised:
        rollup(a, forms, as_of=AS_OF)
    (issue,) = raised.value.issues
    assert issue.pointer == "88.2.1/PF.B#/inventory/materials/0/supplierHandle"
    assert (
        issue.message
        == "supplier cycle 88.1.1/PF.A → 88.2.1/PF.B → 88.1.1/pf.a: a form cannot contain itself"
    )


def test_a_cycle_beyond_the_depth_limit_is_still_refused():
    a, b, c = "88.1.1/PF.A", "88.2.1/PF.B", "88.3.1/PF.C"
    forms = {
        a: FetchedForm(a, 1, form(materials=[material("钢", 1, supplierHandle=b)]), "330522"),
        b: FetchedForm(b, 1, form(materials=[material("钢", 1, supplierHandle=c)]), "330522"),
        c: FetchedForm(c, 1, form(materials=[material("钢", 1, supplierHandle=b)]), "330522"),
    }
    with pytest.raises(
        RollupError, match=re.escape("supplier cycle 88.2.1/PF.B → 88.3.1/PF.C → 88.2.1/PF.B")
    ):
        rollup(a, forms, as_of=AS_OF, depth_limit=1)


def test_a_form_that_lists_itself_is_a_cycle():
    a = "88.1.1/PF.A"
    forms = {a: FetchedForm(a, 1, form(materials=[material("a", 1, supplierHandle=a)]), "330522")}
    with pytest.raises(RollupError, match=re.escape("supplier cycle 88.1.1/PF.A → 88.1.1/PF.A")):
        rollup(a, forms, as_of=AS_OF)


def _chain() -> dict[str, FetchedForm | MissingForm]:
    """88.1.1/PF.A ← 2 kg of 88.2.1/PF.B ← 3 kg of 88.3.1/PF.C (steel, 1 kgCO2e/kg of its own)."""
    a, b, c = "88.1.1/PF.A", "88.2.1/PF.B", "88.3.1/PF.C"
    return {
        a: FetchedForm(a, 1, form(materials=[material("钢", 2, supplierHandle=b)]), "330522"),
        b: FetchedForm(b, 1, form(materials=[material("钢", 3, supplierHandle=c)]), "330522"),
        c: FetchedForm(c, 1, form(materials=[material("生铁", 1, emissionFactor=factor(1.0))]), "330522"),
    }


def test_the_depth_limit_turns_deeper_links_into_fallbacks():
    full = rollup("88.1.1/PF.A", _chain(), as_of=AS_OF)
    assert full.total_kg_co2e == pytest.approx(2 * 3 * 1.0, rel=REL)
    assert full.fallbacks == ()
    cut = rollup("88.1.1/PF.A", _chain(), as_of=AS_OF, depth_limit=1)
    assert cut.total_kg_co2e == pytest.approx(2 * 3 / 1000 * 2050, rel=REL)  # C replaced by the steel default
    ((path, line),) = cut.fallbacks
    assert path == ("88.1.1/PF.A", "88.2.1/PF.B")
    assert (
        line.fallback
        == "supplier form 88.3.1/PF.C is beyond the depth limit (limit 1): used the default factor of 'steel'"
    )
    root_only = rollup("88.1.1/PF.A", _chain(), as_of=AS_OF, depth_limit=0)
    assert root_only.total_kg_co2e == pytest.approx(2 / 1000 * 2050, rel=REL)


def test_a_supplier_shared_by_two_parents_is_computed_once():
    shared = "88.9.9/PF.Z"
    forms = {
        "88.1.1/PF.R": FetchedForm(
            "88.1.1/PF.R",
            1,
            form(
                materials=[
                    material("x", 1, supplierHandle="88.2.1/PF.X"),
                    material("y", 1, supplierHandle="88.3.1/PF.Y"),
                ]
            ),
            "330522",
        ),
        "88.2.1/PF.X": FetchedForm(
            "88.2.1/PF.X", 1, form(materials=[material("z", 2, supplierHandle=shared)]), "330522"
        ),
        "88.3.1/PF.Y": FetchedForm(
            "88.3.1/PF.Y", 1, form(materials=[material("z", 5, supplierHandle=shared)]), "330522"
        ),
        shared: FetchedForm(
            shared, 4, form(materials=[material("生铁", 1, emissionFactor=factor(1.7))]), "330522"
        ),
    }
    tree = rollup("88.1.1/PF.R", forms, as_of=AS_OF)
    assert tree.total_kg_co2e == pytest.approx((2 + 5) * 1.7, rel=REL)
    x, y = (link.supplier for link in tree.root.links)
    assert x.links[0].supplier is y.links[0].supplier


def test_the_root_must_be_fetched():
    with pytest.raises(RollupError, match="the root form was not found"):
        rollup(WHEEL, {WHEEL: MissingForm(WHEEL, "not-found")}, as_of=AS_OF)
    with pytest.raises(RollupError, match="the root form was not fetched"):
        rollup(WHEEL, {}, as_of=AS_OF)


def test_the_shipped_default_factors_name_their_sources():
    defaults = default_material_factors()
    assert defaults["钢"] is defaults["steel"]
    assert (defaults["steel"].value, defaults["steel"].unit) == (2050, "kgCO2e/t")
    for item in set(defaults.values()):
        assert item.source
        assert "*unverified*" in item.source
