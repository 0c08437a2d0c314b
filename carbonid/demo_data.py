"""Twelve months of activity data for each demo enterprise (`carbonid.demo_enterprises`).

Monthly `activity-data/1` documents for 2025-01 .. 2025-12. The numbers come from a seeded
random generator (the same seed gives the same documents, byte for byte, on every run and machine), around
per-industry magnitudes that make sense:

| enterprise | output / month | energy per unit of output | added value |
|---|---|---|---|
| aluminium smelter (C3216) | ≈ 10 kt primary aluminium | ≈ 13.5 MWh electricity and 0.42 t prebaked anode per t; CF₄ from anode effects | ≈ 0.40 × 10⁴ CNY / t |
| steel mill (C3120) | ≈ 300 kt crude steel | 0.30 t coke, 0.13 t injected coal, 400 Nm³ blast-furnace gas, 120 kWh grid electricity per t; limestone and dolomite fluxes | ≈ 0.11 × 10⁴ CNY / t |
| auto-parts supplier (C3670) | ≈ 1 M parts | 2.4 kWh and 0.15 Nm³ natural gas per part; rooftop solar | ≈ 35 CNY / part |
| car maker (C3612) | ≈ 20 k vehicles | 800 kWh and 60 Nm³ natural gas per vehicle; ≈ 30 % green power; winter steam | ≈ 1.8 × 10⁴ CNY / vehicle |

Seasons: days per month; the Spring Festival dip and year-end rush of car sales (parts follow); the
heating-season output limits of Tangshan's steel mills (January-March, November-December); Zhejiang's
summer peak-load shedding; solar yield over the year. Every line names its data source. Pure: no I/O.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from carbonid.demo_enterprises import EnterpriseSpec

SEED: Final = 20250101
"""The fixed seed: the demo data are the same on every run."""
YEAR: Final = 2025
MONTHS: Final = tuple(f"{YEAR}-{month:02d}" for month in range(1, 13))
ACTIVITY_TEMPLATE: Final = "activity-data/1"
ACTIVITY_CONTEXT: Final = "https://carbonid.org/contexts/activity-data/v1.jsonld"

# Car sales in China: the Spring Festival dip in February, the year-end rush; parts suppliers follow.
AUTO_SEASON: Final = (0.95, 0.70, 1.00, 0.97, 1.00, 1.03, 0.95, 0.98, 1.05, 1.06, 1.10, 1.15)
# Tangshan limits sintering and blast furnaces in the heating season (mid-November to mid-March).
STEEL_SEASON: Final = (0.90, 0.88, 0.93, 1.00, 1.02, 1.02, 1.00, 1.00, 1.02, 1.01, 0.95, 0.90)
# Zhejiang sheds industrial load at the summer peak; a smelter's pot lines slow down a little.
SMELTER_SEASON: Final = (1.00, 1.00, 1.00, 1.00, 1.00, 0.99, 0.97, 0.97, 1.00, 1.00, 1.00, 1.00)
# Rooftop solar yield relative to the yearly mean, Yangtze delta.
SOLAR_SEASON: Final = (0.55, 0.65, 0.80, 0.95, 1.05, 1.10, 1.25, 1.20, 1.00, 0.85, 0.65, 0.55)
# Price level of the product relative to the yearly mean (added value moves with it).
ALUMINIUM_PRICE: Final = (0.97, 0.98, 1.00, 1.02, 1.01, 0.99, 1.00, 1.03, 1.04, 1.02, 0.98, 0.96)
STEEL_PRICE: Final = (1.04, 1.03, 1.01, 0.99, 0.98, 0.96, 0.97, 0.99, 1.00, 1.01, 1.01, 1.01)


def activity_suffix(period: str) -> str:
    """The handle suffix of a month's activity data: `ACT.2025-01`."""
    return f"ACT.{period}"


# --- the generator ---------------------------------------------------------------------------------


def _number(value: float, digits: int = 1) -> float | int:
    """Rounded; a whole number as an int, so the JSON (and what is signed) has one spelling of it."""
    rounded = round(value, digits)
    return int(rounded) if rounded == int(rounded) else rounded


def _source(kind: str, reference: str, month: int) -> dict[str, str]:
    # Monthly figures are collected on the 5th of the next month, Beijing time.
    year, next_month = (YEAR + 1, 1) if month == 12 else (YEAR, month + 1)
    return {"kind": kind, "reference": reference, "collectedAt": f"{year}-{next_month:02d}-05T09:00:00+08:00"}


@dataclass
class _Month:
    """What a generator fills in for one month."""

    month: int
    rng: random.Random
    fuels: list[dict[str, Any]] = field(default_factory=list)
    electricity: list[dict[str, Any]] = field(default_factory=list)
    heat: list[dict[str, Any]] = field(default_factory=list)
    process: list[dict[str, Any]] = field(default_factory=list)
    ghg: list[dict[str, Any]] = field(default_factory=list)
    output: list[dict[str, Any]] = field(default_factory=list)
    added_value_10k_cny: float = 0.0

    @property
    def days(self) -> int:
        return calendar.monthrange(YEAR, self.month)[1]

    @property
    def index(self) -> int:
        return self.month - 1

    def vary(self, spread: float) -> float:
        """A factor around 1 (normal, `spread` standard deviation, clipped at three)."""
        return 1 + max(-3 * spread, min(3 * spread, self.rng.gauss(0, spread)))

    def fuel(
        self,
        fuel: str,
        quantity: float,
        unit: str,
        source: dict[str, str],
        note: str | None = None,
        *,
        origin: str | None = None,
    ) -> None:
        line: dict[str, Any] = {"fuel": fuel, "quantity": _number(quantity), "unit": unit}
        if origin:
            line["origin"] = origin
        line["dataSource"] = source
        if note:
            line["note"] = note
        self.fuels.append(line)

    def power(self, kind: str, mwh: float, data_source: dict[str, str], **extra: Any) -> None:
        self.electricity.append(
            {"kind": kind, "quantity": _number(mwh), "unit": "MWh", **extra, "dataSource": data_source}
        )

    def green_certificate(self, reference: str) -> dict[str, str]:
        """Evidence of purchased green power: a green electricity certificate (GEC) batch."""
        return {
            "kind": "green-certificate",
            "reference": reference,
            "issuer": "国家可再生能源信息管理中心",
            "issuedOn": f"{YEAR}-{self.month:02d}-{self.days}",
        }


def _aluminium(m: _Month) -> None:
    tonnes = 330 * m.days * SMELTER_SEASON[m.index] * m.vary(0.012)
    kwh_per_tonne = 13_500 * m.vary(0.008) * (1.004 if m.month in (7, 8) else 1.0)
    total_mwh = tonnes * kwh_per_tonne / 1000
    solar = 1_150 * SOLAR_SEASON[m.index] * m.vary(0.08)
    green = total_mwh * 0.10 * m.vary(0.05)
    m.power("purchased-grid", total_mwh - solar - green, _source("meter", "关口表 220kV-1/2", m.month))
    m.power(
        "purchased-green",
        green,
        _source("purchase-record", f"绿电交易结算单 ZJ-{YEAR}-{m.month:02d}", m.month),
        evidence=m.green_certificate(f"GEC-{YEAR}-330522-{m.month:02d}0117"),
    )
    m.power("self-generated-renewable", solar, _source("meter", "光伏计量表 PV-01", m.month), source="solar")
    m.fuel(
        "natural_gas",
        tonnes * 70 * m.vary(0.03) / 10_000,
        "10^4 Nm3",
        _source("meter", "燃气表 NG-01（铸造炉）", m.month),
    )
    m.fuel(
        "diesel",
        7 * m.vary(0.08) * m.days / 30,
        "t",
        _source("invoice", f"柴油采购结算单 {YEAR}-{m.month:02d}", m.month),
    )
    m.process.append(
        {
            "material": "other",
            "name": "预焙阳极消耗",
            "quantity": _number(tonnes * 0.42 * m.vary(0.01)),
            "unit": "t",
            "emissionFactor": 3.593,
            "factorSource": "阳极含碳量 98%（企业实测）× 44/12",
            "dataSource": _source("production-statistics", "电解车间月报", m.month),
        }
    )
    m.ghg.append(
        {
            "gas": "CF4",
            "quantity": _number(tonnes * 0.075 * m.vary(0.1) / 1000, 2),
            "unit": "t",
            "dataSource": _source("engineering-calculation", "阳极效应系数法（斜率法）", m.month),
        }
    )
    m.output.append(
        {
            "product": "原铝（铝液）",
            "quantity": _number(tonnes),
            "unit": "t",
            "dataSource": _source("production-statistics", "生产统计月报", m.month),
        }
    )
    m.added_value_10k_cny = tonnes * 0.40 * ALUMINIUM_PRICE[m.index] * m.vary(0.02)


def _steel(m: _Month) -> None:
    tonnes = 10_000 * m.days * STEEL_SEASON[m.index] * m.vary(0.015)
    m.fuel(
        "coke",
        tonnes * 0.30 * m.vary(0.015),
        "t",
        _source("production-statistics", "炼铁厂焦炭消耗月报", m.month),
    )
    m.fuel(
        "bituminous_coal",
        tonnes * 0.13 * m.vary(0.025),
        "t",
        _source("meter", "喷煤计量秤 PCI-1/2", m.month),
        note="高炉喷吹煤",
    )
    m.fuel(
        "blast_furnace_gas",
        tonnes * 0.040 * m.vary(0.03),
        "10^4 Nm3",
        _source("meter", "煤气流量计 BFG-03（热风炉、加热炉）", m.month),
        note="自产高炉煤气（热风炉、轧钢加热炉）",
        # Its carbon comes from the coke and coal above: counting it again would double count.
        origin="self-produced",
    )
    m.fuel(
        "natural_gas", tonnes * 0.0006 * m.vary(0.05), "10^4 Nm3", _source("meter", "燃气表 NG-02", m.month)
    )
    m.fuel(
        "diesel",
        45 * m.vary(0.08) * m.days / 30,
        "t",
        _source("invoice", f"柴油采购结算单 {YEAR}-{m.month:02d}", m.month),
    )
    m.power("purchased-grid", tonnes * 0.120 * m.vary(0.03), _source("meter", "关口表 220kV 钢铁变", m.month))
    m.power(
        "self-generated-fossil",
        tonnes * 0.250 * m.vary(0.03),
        _source("meter", "自备电厂出线表 G1-G3", m.month),
    )
    m.process.append(
        {
            "material": "CaCO3",
            "quantity": _number(tonnes * 0.080 * m.vary(0.03)),
            "unit": "t",
            "purity": 0.92,
            "dataSource": _source("purchase-record", "石灰石入库单", m.month),
        }
    )
    m.process.append(
        {
            "material": "CaMg(CO3)2",
            "quantity": _number(tonnes * 0.030 * m.vary(0.03)),
            "unit": "t",
            "purity": 0.95,
            "dataSource": _source("purchase-record", "白云石入库单", m.month),
        }
    )
    m.output.append(
        {
            "product": "粗钢",
            "quantity": _number(tonnes),
            "unit": "t",
            "dataSource": _source("production-statistics", "炼钢厂生产月报", m.month),
        }
    )
    m.added_value_10k_cny = tonnes * 0.11 * STEEL_PRICE[m.index] * m.vary(0.03)


def _auto_parts(m: _Month) -> None:
    parts = 1_000_000 * AUTO_SEASON[m.index] * m.vary(0.02)
    total_mwh = parts * 2.4 * m.vary(0.02) / 1000
    solar = 260 * SOLAR_SEASON[m.index] * m.vary(0.08)
    m.power("purchased-grid", total_mwh - solar, _source("meter", "关口表 10kV-1", m.month))
    m.power(
        "self-generated-renewable", solar, _source("meter", "屋顶光伏计量表 PV-A", m.month), source="solar"
    )
    m.fuel(
        "natural_gas",
        parts * 0.15 * m.vary(0.04) / 10_000,
        "10^4 Nm3",
        _source("meter", "燃气表 NG-A（热处理、涂装）", m.month),
    )
    m.fuel(
        "diesel", 3 * m.vary(0.1), "t", _source("invoice", f"叉车柴油结算单 {YEAR}-{m.month:02d}", m.month)
    )
    m.output.append(
        {
            "product": "底盘及车身结构件",
            "quantity": _number(parts, 0),
            "unit": "件",
            "dataSource": _source("database", "MES 产量报表", m.month),
        }
    )
    m.added_value_10k_cny = parts * 35 * m.vary(0.03) / 10_000


def _automaker(m: _Month) -> None:
    vehicles = 20_000 * AUTO_SEASON[m.index] * m.vary(0.03)
    total_mwh = vehicles * 0.800 * m.vary(0.02)
    green = total_mwh * 0.30 * m.vary(0.04)
    m.power("purchased-grid", total_mwh - green, _source("meter", "关口表 110kV 总降", m.month))
    m.power(
        "purchased-green",
        green,
        _source("purchase-record", f"安徽电力交易中心绿电结算单 {YEAR}-{m.month:02d}", m.month),
        evidence=m.green_certificate(f"GEC-{YEAR}-340111-{m.month:02d}0458"),
    )
    m.fuel(
        "natural_gas",
        vehicles * 60 * m.vary(0.04) / 10_000,
        "10^4 Nm3",
        _source("meter", "燃气表 NG-P（涂装车间）", m.month),
    )
    m.fuel(
        "diesel", 8 * m.vary(0.1), "t", _source("invoice", f"柴油采购结算单 {YEAR}-{m.month:02d}", m.month)
    )
    if m.month in (1, 2, 12):
        # Purchased steam heats the paint shop and offices in winter.
        m.heat.append(
            {
                "kind": "purchased",
                "medium": "steam",
                "quantity": _number(2_000 * m.vary(0.1)),
                "unit": "t",
                "enthalpyKjPerKg": 2780,
                "dataSource": _source("invoice", f"园区供热结算单 {YEAR}-{m.month:02d}", m.month),
            }
        )
    m.output.append(
        {
            "product": "新能源乘用车",
            "quantity": _number(vehicles, 0),
            "unit": "辆",
            "dataSource": _source("database", "整车下线统计（MES）", m.month),
        }
    )
    m.added_value_10k_cny = vehicles * 1.8 * m.vary(0.03)


GENERATORS: Final[Mapping[str, Callable[[_Month], None]]] = {
    "aluminium": _aluminium,
    "steel": _steel,
    "auto-parts": _auto_parts,
    "automaker": _automaker,
}


def activity_documents(spec: EnterpriseSpec, *, seed: int = SEED) -> list[dict[str, Any]]:
    """Twelve monthly activity-data/1 documents of `spec` for 2025 (unsigned, without handles), in order."""
    generate = GENERATORS[spec.kind]
    # A string seed is hashed with SHA-512 by `random`: stable across runs, processes and machines.
    rng = random.Random(f"{seed}:{spec.prefix}")  # noqa: S311 - demo figures, not secrets
    documents = []
    for month, period in enumerate(MONTHS, start=1):
        m = _Month(month, rng)
        generate(m)
        document: dict[str, Any] = {
            "@context": [ACTIVITY_CONTEXT],
            "type": "ActivityData",
            "prefix": spec.prefix,
            "period": period,
            "granularity": "month",
            "industry": spec.industry,
            "industrialAddedValue10kCny": _number(m.added_value_10k_cny),
            "fuels": m.fuels,
            "electricity": m.electricity,
        }
        for name, lines in (
            ("heat", m.heat),
            ("processInputs", m.process),
            ("ghgEmissions", m.ghg),
            ("output", m.output),
        ):
            if lines:
                document[name] = lines
        document["preparedBy"] = spec.contact
        document["note"] = (
            f"演示数据：由固定随机种子 {seed} 生成 / demonstration data generated with fixed seed {seed}"
        )
        documents.append(document)
    return documents
