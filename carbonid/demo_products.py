"""The demo's product carbon forms (`product-footprint/1`): a small supply chain over the four nodes.

    smelter 88.186.1  PF.1 A00 aluminium ingot (public)      PF.2 ADC12 alloy ingot (public)
    steel   88.131.1  PF.1 Q235 hot-rolled plate (public)     PF.2 cold-rolled coil (public)
    parts   88.186.2  PF.1 aluminium steering knuckle: ingot from 88.186.1/PF.1; PRIVATE, granted to the
                      car maker 88.136.1 (with its part code) and to the resolver 88.100.9
                      PF.2 steel bracket: plate from 88.131.1/PF.1 (public)
    car     88.136.1  PF.1 front subframe assembly: knuckles from 88.186.2/PF.1 (granted), brackets from
                      88.186.2/PF.2, bolts from 88.131.1/PF.9, which the steel mill never published: a
                      missing link that a roll-up must fall back on
                      PF.2 battery tray (public, literature factor named)

Each form's `emissionFactor` is computed from its inventory (`carbon_efficiency.footprint`), the suppliers'
factors taken from the forms above in supply order, never typed in; a material whose supplier form is
missing keeps its own stated factor. Figures are magnitudes that make sense for the products, not
measurements. Pure: no I/O.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from carbon_efficiency.footprint import SupplierFactor, form_footprint

TEMPLATE: Final = "product-footprint/1"
CONTEXT: Final = "https://carbonid.org/contexts/product-footprint/v1.jsonld"
AS_OF: Final = date(2026, 1, 15)
"""The date the demo's forms are computed as of (fixed, so the documents never change between runs)."""


@dataclass(frozen=True, slots=True)
class ProductForm:
    """One form the demo publishes: where, the document, who may read it."""

    prefix: str
    suffix: str
    document: dict[str, Any]
    visibility: str
    grants: tuple[tuple[str, str | None], ...] = ()
    """(prefix, the customer's part code) of each grant."""

    @property
    def handle(self) -> str:
        return f"{self.prefix}/{self.suffix}"


def _factor(value: float, unit: str, source: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": source}


def _material(
    name: str, quantity: float, unit: str, factor: dict[str, Any], supplier: str | None = None
) -> dict[str, Any]:
    line: dict[str, Any] = {"name": name, "quantity": quantity, "unit": unit}
    if supplier is not None:
        line["supplierHandle"] = supplier
    line["emissionFactor"] = factor
    return line


def _electricity(kwh: float) -> dict[str, Any]:
    return {"energy": "electricity", "quantity": kwh, "unit": "kWh"}


def _road(tonne_km: float) -> dict[str, Any]:
    return {
        "leg": "outbound",
        "mode": "road",
        "vehicle": "重型柴油货车",
        "tonneKm": tonne_km,
        "emissionFactor": _factor(0.078, "kgCO2e/(t·km)", "demo: heavy diesel truck, illustrative"),
    }


def _form(
    name: str,
    model: str,
    description: str,
    unit: tuple[str, float, str],
    inventory: dict[str, list[dict[str, Any]]],
    *,
    quality: tuple[int, int, int, int],
    literature: str | None = None,
) -> dict[str, Any]:
    functional_unit, amount, quantity_unit = unit
    document: dict[str, Any] = {
        "@context": [CONTEXT],
        "type": "ProductCarbonForm",
        "name": name,
        "model": model,
        "productType": "material-part-process",
        "public": True,
        "description": description,
        "collectionPeriod": {"start": "2025-01-01", "end": "2025-12-31"},
        "functionalUnit": functional_unit,
        "quantification": {
            "kind": "mass" if quantity_unit == "kg" else "count",
            "amount": amount,
            "unit": quantity_unit,
        },
        "systemBoundary": "摇篮到大门 cradle to gate",
        "emissionFactor": {"value": 0, "unit": f"kgCO2e/{quantity_unit}"},
        "emissionFactorSource": {"kind": "literature", "literature": literature}
        if literature
        else {"kind": "site-data"},
        "thirdPartyCertification": {"certified": False},
        "validUntil": "2027-12-31",
        "inventory": {
            "materials": inventory.get("materials", []),
            "primaryEnergy": inventory.get("primaryEnergy", []),
            "secondaryEnergy": inventory.get("secondaryEnergy", []),
            "directEmissions": inventory.get("directEmissions", []),
            "transport": inventory.get("transport", []),
        },
        "dataQuality": dict(zip(("TiR", "TeR", "GeR", "SoR"), quality, strict=True)),
        "tags": ["demo"],
    }
    return document


# (prefix, suffix, region, visibility, grants, document) in supply order: suppliers before their customers.
def _chain() -> list[tuple[str, str, str, str, tuple[tuple[str, str | None], ...], dict[str, Any]]]:
    stated = "demo: supplier's published factor when its form is missing"
    ingot = _form(
        "A00 铝锭",
        "Al99.70",
        "重熔用铝锭",
        ("1 kg 铝锭", 1, "kg"),
        {
            "materials": [
                _material(
                    "氧化铝",
                    1.93,
                    "kg",
                    _factor(1.2, "kgCO2e/kg", "demo: alumina refinery average, illustrative"),
                ),
                _material(
                    "预焙阳极", 0.42, "kg", _factor(0.6, "kgCO2e/kg", "demo: prebaked anode, illustrative")
                ),
            ],
            "secondaryEnergy": [_electricity(13.75)],
            "directEmissions": [
                {"gas": "CO2", "method": "reaction", "quantity": 1.51, "unit": "kg"},
                {"gas": "CF4", "method": "other", "quantity": 0.00008, "unit": "kg"},
            ],
            "transport": [_road(0.2)],
        },
        quality=(1, 2, 1, 1),
    )
    alloy = _form(
        "ADC12 铝合金锭",
        "ADC12",
        "压铸用铝合金锭",
        ("1 kg 铝合金锭", 1, "kg"),
        {
            "materials": [
                _material(
                    "再生铝", 0.6, "kg", _factor(0.72, "kgCO2e/kg", "demo: recycled aluminium, illustrative")
                ),
                _material(
                    "硅", 0.11, "kg", _factor(11.0, "kgCO2e/kg", "demo: metallurgical silicon, illustrative")
                ),
            ],
            "secondaryEnergy": [_electricity(1.1)],
            "primaryEnergy": [{"energy": "natural_gas", "quantity": 0.09, "unit": "Nm3"}],
        },
        quality=(1, 2, 1, 2),
    )
    plate = _form(
        "Q235 热轧钢板",
        "Q235B 10mm",
        "热轧中厚板",
        ("1 kg 钢板", 1, "kg"),
        {
            "materials": [
                _material(
                    "铁矿石", 1.55, "kg", _factor(0.03, "kgCO2e/kg", "demo: imported iron ore, illustrative")
                ),
            ],
            "primaryEnergy": [
                {"energy": "coke", "quantity": 0.3, "unit": "kg"},
                {"energy": "bituminous_coal", "quantity": 0.13, "unit": "kg"},
            ],
            "secondaryEnergy": [_electricity(0.12)],
        },
        quality=(1, 2, 2, 1),
    )
    coil = _form(
        "冷轧钢卷",
        "SPCC 1.0mm",
        "冷轧薄板卷",
        ("1 kg 钢卷", 1, "kg"),
        {
            "materials": [
                _material(
                    "热轧卷", 1.04, "kg", _factor(2.05, "kgCO2e/kg", "GB/T 51366-2019 D.0.1, unverified")
                )
            ],
            "secondaryEnergy": [_electricity(0.18)],
        },
        quality=(1, 2, 2, 2),
    )
    knuckle = _form(
        "铝合金转向节",
        "ZJ-A356-01",
        "低压铸造铝合金转向节",
        ("1 个转向节", 1, "个"),
        {
            "materials": [
                _material("A00 铝锭", 3.4, "kg", _factor(12.9, "kgCO2e/kg", stated), "88.186.1/PF.1"),
            ],
            "secondaryEnergy": [_electricity(9.5)],
            "primaryEnergy": [{"energy": "natural_gas", "quantity": 0.6, "unit": "Nm3"}],
            "transport": [_road(0.5)],
        },
        quality=(1, 2, 1, 2),
    )
    bracket = _form(
        "钢制支架",
        "ZJ-Q235-07",
        "冲压焊接支架",
        ("1 个支架", 1, "个"),
        {
            "materials": [
                _material("Q235 热轧钢板", 1.8, "kg", _factor(2.05, "kgCO2e/kg", stated), "88.131.1/PF.1")
            ],
            "secondaryEnergy": [_electricity(1.2)],
        },
        quality=(1, 2, 2, 2),
    )
    subframe = _form(
        "前副车架总成",
        "FSF-2025",
        "前副车架（含转向节、支架、螺栓）",
        ("1 套前副车架", 1, "套"),
        {
            "materials": [
                _material("铝合金转向节", 2, "个", _factor(60.0, "kgCO2e/个", stated), "88.186.2/PF.1"),
                _material("钢制支架", 4, "个", _factor(5.0, "kgCO2e/个", stated), "88.186.2/PF.2"),
                _material(
                    "钢",
                    0.8,
                    "kg",
                    _factor(2.05, "kgCO2e/kg", "GB/T 51366-2019 D.0.1, unverified"),
                    "88.131.1/PF.9",
                ),
            ],
            "secondaryEnergy": [_electricity(6.0)],
        },
        quality=(1, 2, 1, 2),
    )
    tray = _form(
        "电池托盘",
        "BT-ALU-3",
        "铝合金电池托盘（文献值）",
        ("1 个电池托盘", 1, "个"),
        {
            "materials": [
                _material("铝型材", 18.0, "kg", _factor(18.0, "kgCO2e/kg", "demo: literature, illustrative"))
            ]
        },
        quality=(2, 3, 3, 3),
        literature="demo: published LCA of aluminium battery trays, illustrative",
    )
    tray["emissionFactor"] = {
        "value": 340.0,
        "unit": "kgCO2e/个",
        "source": "demo: literature value, illustrative",
    }
    granted = (("88.136.1", "FSF-KN-01"), ("88.100.9", None))
    return [
        ("88.186.1", "PF.1", "330522", "public", (), ingot),
        ("88.186.1", "PF.2", "330522", "public", (), alloy),
        ("88.131.1", "PF.1", "130209", "public", (), plate),
        ("88.131.1", "PF.2", "130209", "public", (), coil),
        ("88.186.2", "PF.1", "330206", "private", granted, knuckle),
        ("88.186.2", "PF.2", "330206", "public", (), bracket),
        ("88.136.1", "PF.1", "340111", "public", (), subframe),
        ("88.136.1", "PF.2", "340111", "public", (), tray),
    ]


def product_forms() -> list[ProductForm]:
    """Every demo form with its computed emission factor, suppliers before their customers."""
    computed: dict[str, SupplierFactor] = {}
    forms = []
    for prefix, suffix, region, visibility, grants, template in _chain():
        document = copy.deepcopy(template)
        handle = f"{prefix}/{suffix}"
        if document["emissionFactorSource"]["kind"] != "literature":
            footprint = form_footprint(document, region=region, as_of=AS_OF, supplier_factors=computed)
            document["emissionFactor"] = {"value": round(footprint.factor, 4), "unit": footprint.factor_unit}
        factor = document["emissionFactor"]
        computed[handle] = SupplierFactor(
            handle, float(factor["value"]), str(factor["unit"]), f"{handle} (demo)"
        )
        forms.append(ProductForm(prefix, suffix, document, visibility, grants))
    return forms


def forms_of(prefix: str) -> list[ProductForm]:
    """The demo forms the node of `prefix` publishes."""
    return [form for form in product_forms() if form.prefix == prefix]
