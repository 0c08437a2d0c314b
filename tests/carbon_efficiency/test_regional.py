"""Regional carbon-efficiency reports: every aggregate against hand sums, disclosure control, the
finest-granularity rule, trends, errors; and the numpy paths against a plain-Python reference.

The population (2025 unless said; per month, monthly rows all year):

    enterprise  county               division  emissions  added value  offsets  energy GJ per month
    88.100.1    330522 长兴 (湖州)    C32       10         1            1        coal 100, electricity 50
    88.100.2    330522 长兴 (湖州)    C30       30         10           0        gas 60, electricity 40
    88.100.3    330523 安吉 (湖州)    C32       5          5            0        electricity 10
    88.100.4    330523 安吉 (湖州)    C32       20         4            0        electricity 10
    88.100.5    330106 西湖 (杭州)    C30       2          1            0        electricity 10
    88.100.6    330106 西湖 (杭州)    C32       8          2            0        electricity 10
    88.100.7    320281 江阴 (无锡)    C32       50         25           5        electricity 10
    88.100.8    320281 江阴 (无锡)    C30       one annual row: emissions 480, added value 60, oil 240 GJ

Gross emissions = emissions + offsets. Rows that must not count twice: 88.100.5 also has a Q2 row
(100 t, 1) and 88.100.7 an annual 2025 row (999 t, 1), both covered by their monthly rows. 88.100.1 also
has a 2024-12 row (7 t, 1, coal 14 GJ). Official 2025 grades: .1 → 5, .2 → 3, .3 → 1, .4 → 4, .5 → 2,
.6 → 3, .7 → 2; .8 has none for 2025 (one for 2024).

2025 by enterprise (× 12 for monthly rows): emissions 120, 360, 60, 240, 24, 96, 600, 480;
added value 12, 120, 60, 48, 12, 24, 300, 60.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_efficiency.model import CARRIERS
from carbon_efficiency.periods import parse_period
from carbon_efficiency.regional import IndexRows, RegionalIndex

YEAR = parse_period("2025")
REL = 1e-9

Row = tuple[str, int, str, str, int, float, float, dict[str, float], float]
"""(prefix, region, industry, first month YYYY-MM, months, emissions, added value, energy, offsets)"""

MONTHLY = [
    ("88.100.1", 330522, "C3216", 10.0, 1.0, {"coal": 100.0, "electricity": 50.0}, 1.0),
    ("88.100.2", 330522, "C3011", 30.0, 10.0, {"gas": 60.0, "electricity": 40.0}, 0.0),
    ("88.100.3", 330523, "C3216", 5.0, 5.0, {"electricity": 10.0}, 0.0),
    ("88.100.4", 330523, "C3211", 20.0, 4.0, {"electricity": 10.0}, 0.0),
    ("88.100.5", 330106, "C3021", 2.0, 1.0, {"electricity": 10.0}, 0.0),
    ("88.100.6", 330106, "C32", 8.0, 2.0, {"electricity": 10.0}, 0.0),
    ("88.100.7", 320281, "3216", 50.0, 25.0, {"electricity": 10.0}, 5.0),
]
EXTRA: list[Row] = [
    ("88.100.8", 320281, "C3011", "2025-01", 12, 480.0, 60.0, {"oil": 240.0}, 0.0),
    ("88.100.5", 330106, "C3021", "2025-04", 3, 100.0, 1.0, {}, 0.0),  # covered by its monthly rows
    ("88.100.7", 320281, "C3216", "2025-01", 12, 999.0, 1.0, {}, 0.0),  # covered by its monthly rows
    ("88.100.1", 330522, "C3216", "2024-12", 1, 7.0, 1.0, {"coal": 14.0}, 0.0),
]
GRADES = [
    ("88.100.1", 2025, 5),
    ("88.100.2", 2025, 3),
    ("88.100.3", 2025, 1),
    ("88.100.4", 2025, 4),
    ("88.100.5", 2025, 2),
    ("88.100.6", 2025, 3),
    ("88.100.7", 2025, 2),
    ("88.100.8", 2024, 1),  # another year: .8 is ungraded for 2025
    ("88.999.1", 2025, 1),  # no indexed data: changes nothing
]


def rows_of(rows: list[Row]) -> IndexRows:
    """IndexRows from readable tuples."""

    def month_index(text: str) -> int:
        return int(text[:4]) * 12 + int(text[5:]) - 1

    return IndexRows(
        prefix=[r[0] for r in rows],
        region=[r[1] for r in rows],
        industry=[r[2] for r in rows],
        month_start=[month_index(r[3]) for r in rows],
        months=[r[4] for r in rows],
        emissions=[r[5] for r in rows],
        gross=[r[5] + r[8] for r in rows],
        added_value=[r[6] for r in rows],
        energy=np.array([[r[7].get(c, 0.0) for c in CARRIERS] for r in rows]).reshape(
            len(rows), len(CARRIERS)
        ),
        offsets=[r[8] for r in rows],
    )


def population() -> list[Row]:
    monthly = [
        (prefix, county, code, f"2025-{m:02d}", 1, e, v, energy, offsets)
        for m in range(1, 13)
        for prefix, county, code, e, v, energy, offsets in MONTHLY
    ]
    return monthly + EXTRA


@pytest.fixture(scope="module")
def index() -> RegionalIndex:
    return RegionalIndex.build(rows_of(population()), GRADES)


def regulator(index: RegionalIndex, code: str, period: str = "2025", **options: Any) -> dict[str, Any]:
    return index.query(code, period=parse_period(period), disclose_enterprises=True, **options)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=REL)


def test_index_size_years_and_dropped_rows(index: RegionalIndex) -> None:
    # 7 × 12 monthly rows + 4 extra = 88 given; the Q2 row of .5 and the annual row of .7 are dropped
    assert index.size == 86
    assert index.dropped == 2
    assert index.years == (2024, 2025)
    assert index.nbytes > 0


def test_national_totals_are_hand_sums_and_intensity_is_sum_over_sum(index: RegionalIndex) -> None:
    totals = regulator(index, "000000")["totals"]
    # emissions 120 + 360 + 60 + 240 + 24 + 96 + 600 + 480 = 1980
    # added value 12 + 120 + 60 + 48 + 12 + 24 + 300 + 60 = 636
    assert totals["enterprises"] == 8
    assert totals["emissionsTCo2"] == approx(1980.0)
    assert totals["addedValue10kCny"] == approx(636.0)
    assert totals["intensity"] == approx(1980.0 / 636.0)
    # the mean of the enterprises' ratios (10, 3, 1, 5, 2, 4, 2, 8) is 35 / 8 = 4.375: not what we report
    assert not math.isclose(totals["intensity"], 35.0 / 8.0)
    # gross = net + offsets: offsets 12 (.1) + 60 (.7) = 72 → 1980 + 72 = 2052
    assert totals["grossEmissionsTCo2"] == approx(2052.0)
    assert totals["neutralityRate"] == approx(72.0 / 2052.0)
    # the national benchmark is the national Σ/Σ itself: K = 1
    assert totals["benchmark"] == approx(1980.0 / 636.0)
    assert totals["efficiencyValue"] == approx(1.0)
    assert totals["suppressed"] is False


def test_grade_counts_are_enterprises_by_their_grade_for_the_period_year(index: RegionalIndex) -> None:
    counts = regulator(index, "000000")["totals"]["gradeCounts"]
    # 1: .3; 2: .5 .7; 3: .2 .6; 4: .4; 5: .1; ungraded: .8 (its certificate is for 2024)
    assert counts == {"1": 1, "2": 2, "3": 2, "4": 1, "5": 1, "ungraded": 1}
    huzhou = regulator(index, "330500")["totals"]["gradeCounts"]
    assert huzhou == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1, "ungraded": 0}


def test_energy_totals_and_shares(index: RegionalIndex) -> None:
    changxing = regulator(index, "330522")["totals"]
    # .1: coal 100 × 12 = 1200, electricity 50 × 12 = 600; .2: gas 60 × 12 = 720, electricity 40 × 12 = 480
    assert changxing["energyGj"] == {
        "coal": approx(1200.0),
        "oil": 0.0,
        "gas": approx(720.0),
        "electricity": approx(1080.0),
        "heat": 0.0,
        "other": 0.0,
    }
    # of 3000 GJ: 0.4, 0.24, 0.36
    assert changxing["energyShares"] == {
        "coal": approx(0.4),
        "oil": 0.0,
        "gas": approx(0.24),
        "electricity": approx(0.36),
        "heat": 0.0,
        "other": 0.0,
    }


def test_province_children_are_cities_with_their_hand_sums(index: RegionalIndex) -> None:
    report = regulator(index, "330000")
    assert report["region"] == {
        "code": "330000",
        "level": "province",
        "nameZh": "浙江省",
        "nameEn": "Zhejiang",
    }
    assert report["childLevel"] == "city"
    # Zhejiang: .1 … .6: emissions 120 + 360 + 60 + 240 + 24 + 96 = 900, added value 276
    assert report["totals"]["emissionsTCo2"] == approx(900.0)
    assert report["totals"]["addedValue10kCny"] == approx(276.0)
    assert report["totals"]["efficiencyValue"] == approx((900.0 / 276.0) / (1980.0 / 636.0))
    children = {child["code"]: child for child in report["children"]}
    assert list(children) == ["330100", "330500"]
    # 杭州: .5 .6 = 24 + 96 = 120, 12 + 24 = 36; 湖州: .1 … .4 = 120 + 360 + 60 + 240 = 780, 240
    assert children["330100"]["nameZh"] == "杭州市"
    assert children["330100"]["nameEn"] == "Hangzhou"
    assert (children["330100"]["enterprises"], children["330100"]["emissionsTCo2"]) == (2, approx(120.0))
    assert children["330100"]["intensity"] == approx(120.0 / 36.0)
    assert (children["330500"]["enterprises"], children["330500"]["emissionsTCo2"]) == (4, approx(780.0))
    assert children["330500"]["intensity"] == approx(780.0 / 240.0)
    assert children["330500"]["benchmark"] == approx(1980.0 / 636.0)
    # 3.333… (杭州) < 3.25? no: 湖州 3.25 < 杭州 3.333…
    assert report["rankings"]["children"] == ["330500", "330100"]


def test_levels_below_the_next_one(index: RegionalIndex) -> None:
    report = regulator(index, "000000", level="county")
    assert report["childLevel"] == "county"
    counties = {child["code"]: child["emissionsTCo2"] for child in report["children"]}
    # 长兴 120 + 360, 安吉 60 + 240, 西湖 24 + 96, 江阴 600 + 480
    assert counties == {
        "320281": approx(1080.0),
        "330106": approx(120.0),
        "330522": approx(480.0),
        "330523": approx(300.0),
    }
    provinces = regulator(index, "000000")
    assert [child["code"] for child in provinces["children"]] == ["320000", "330000"]
    # 江苏 1080 / 360 = 3.0 < 浙江 900 / 276 = 3.26…
    assert provinces["rankings"]["children"] == ["320000", "330000"]


def test_a_county_has_no_children(index: RegionalIndex) -> None:
    report = regulator(index, "330523")
    assert report["childLevel"] is None
    assert report["children"] == []
    assert report["rankings"]["children"] == []
    assert report["region"]["level"] == "county"
    # 安吉: .3 and .4: 60 + 240 = 300, 60 + 48 = 108
    assert report["totals"]["intensity"] == approx(300.0 / 108.0)


def test_industry_filter_and_the_benchmark_of_that_industry(index: RegionalIndex) -> None:
    report = regulator(index, "330000", industry="C32")
    assert report["industry"] == {
        "code": "C32",
        "nameZh": "有色金属冶炼和压延加工业",
        "nameEn": "Smelting and Pressing of Non-ferrous Metals",
    }
    # C32 in Zhejiang: .1 .3 .4 .6 = 120 + 60 + 240 + 96 = 516, added value 12 + 60 + 48 + 24 = 144
    totals = report["totals"]
    assert (totals["enterprises"], totals["emissionsTCo2"], totals["addedValue10kCny"]) == (
        4,
        approx(516.0),
        approx(144.0),
    )
    # national C32: .1 .3 .4 .6 .7 = 516 + 600 = 1116, 144 + 300 = 444
    assert totals["benchmark"] == approx(1116.0 / 444.0)
    assert totals["efficiencyValue"] == approx((516.0 / 144.0) / (1116.0 / 444.0))
    children = {child["code"]: (child["enterprises"], child["emissionsTCo2"]) for child in report["children"]}
    assert children == {"330100": (1, approx(96.0)), "330500": (3, approx(420.0))}
    assert [row["code"] for row in report["rankings"]["industries"]] == ["C32"]
    assert regulator(index, "000000", industry="32")["totals"]["emissionsTCo2"] == approx(1116.0)


def test_industry_ranking_by_emissions_with_each_industry_benchmark(index: RegionalIndex) -> None:
    industries = regulator(index, "000000")["rankings"]["industries"]
    # C32 1116 t before C30 360 + 24 + 480 = 864 t
    assert [(row["code"], row["enterprises"]) for row in industries] == [("C32", 5), ("C30", 3)]
    assert industries[0]["benchmark"] == approx(1116.0 / 444.0)
    assert industries[1]["emissionsTCo2"] == approx(864.0)
    assert industries[1]["benchmark"] == approx(864.0 / 192.0)  # 120 + 12 + 60 = 192
    assert industries[1]["efficiencyValue"] == approx(1.0)
    assert industries[1]["nameEn"] == "Manufacture of Non-metallic Mineral Products"


def test_enterprise_rows_only_for_a_regulator(index: RegionalIndex) -> None:
    rows = regulator(index, "000000", top=3)["rankings"]["enterprises"]
    assert rows == [
        {
            "prefix": "88.100.7",
            "region": "320281",
            "industry": "C32",
            "emissionsTCo2": approx(600.0),
            "addedValue10kCny": approx(300.0),
            "intensity": approx(2.0),
            "grade": 2,
        },
        {
            "prefix": "88.100.8",
            "region": "320281",
            "industry": "C30",
            "emissionsTCo2": approx(480.0),
            "addedValue10kCny": approx(60.0),
            "intensity": approx(8.0),
            "grade": None,
        },
        {
            "prefix": "88.100.2",
            "region": "330522",
            "industry": "C30",
            "emissionsTCo2": approx(360.0),
            "addedValue10kCny": approx(120.0),
            "intensity": approx(3.0),
            "grade": 3,
        },
    ]
    assert len(regulator(index, "000000")["rankings"]["enterprises"]) == 8
    public = index.query("000000", period=YEAR)
    assert public["rankings"]["enterprises"] is None
    assert public["disclosure"] == "public"


def test_public_cells_below_min_cell_are_suppressed(index: RegionalIndex) -> None:
    report = index.query("330000", period=YEAR)
    children = {child["code"]: child for child in report["children"]}
    hangzhou = children["330100"]  # 2 enterprises < 3
    assert hangzhou["suppressed"] is True
    assert hangzhou["enterprises"] == 2
    for name in ("emissionsTCo2", "grossEmissionsTCo2", "addedValue10kCny", "intensity", "efficiencyValue"):
        assert hangzhou[name] is None
    assert hangzhou["neutralityRate"] is None
    assert set(hangzhou["gradeCounts"].values()) == {None}
    assert set(hangzhou["energyGj"].values()) == set(hangzhou["energyShares"].values()) == {None}
    assert hangzhou["benchmark"] == approx(1980.0 / 636.0)  # a national figure of 8 enterprises
    assert children["330500"]["suppressed"] is False
    assert children["330500"]["emissionsTCo2"] == approx(780.0)
    # a suppressed child ranks last, as if it had no intensity
    assert report["rankings"]["children"] == ["330500", "330100"]
    national = index.query("000000", period=YEAR)
    assert [c["code"] for c in national["children"] if c["suppressed"]] == ["320000"]  # 江苏: 2
    assert national["rankings"]["children"] == ["330000", "320000"]


def test_public_totals_industries_trend_and_benchmarks_follow_the_same_rule(index: RegionalIndex) -> None:
    county = index.query("330106", period=YEAR)  # 西湖: 2 enterprises
    assert county["totals"]["suppressed"] is True
    assert county["totals"]["emissionsTCo2"] is None
    assert {p["suppressed"] for p in county["trend"]["points"]} == {True}
    assert {p["emissionsTCo2"] for p in county["trend"]["points"]} == {None}
    assert [p["enterprises"] for p in county["trend"]["points"]] == [2] * 12
    # with min_cell 4, C30 (3 enterprises nationally) is hidden, and so is its national benchmark
    strict = index.query("000000", period=YEAR, min_cell=4)
    c30 = next(row for row in strict["rankings"]["industries"] if row["code"] == "C30")
    assert (c30["suppressed"], c30["benchmark"], c30["enterprises"]) == (True, None, 3)
    # the suppressed row sorts last, whatever its hidden emissions
    assert [row["code"] for row in strict["rankings"]["industries"]] == ["C32", "C30"]
    assert index.query("000000", period=YEAR, industry="C30", min_cell=4)["totals"]["benchmark"] is None


def test_a_regulator_sees_every_cell(index: RegionalIndex) -> None:
    report = regulator(index, "330106")
    assert report["disclosure"] == "regulator"
    assert report["totals"]["suppressed"] is False
    # 西湖: .5 and .6: 24 + 96 = 120, 12 + 24 = 36
    assert report["totals"]["emissionsTCo2"] == approx(120.0)
    assert not any(p["suppressed"] for p in report["trend"]["points"])


def test_finest_granularity_counts_an_enterprise_once(index: RegionalIndex) -> None:
    # .7 has monthly rows (600 t in all) and an annual row of 999 t: only the months count
    jiangyin = regulator(index, "320281", industry="C32")["totals"]
    assert (jiangyin["enterprises"], jiangyin["emissionsTCo2"]) == (1, approx(600.0))
    # .5's Q2 row (100 t) is dropped: Q2 of 西湖 is 3 × (2 + 8) = 30 t
    q2 = regulator(index, "330106", "2025Q2")["totals"]
    assert q2["emissionsTCo2"] == approx(30.0)


def test_of_two_rows_for_the_same_months_the_last_given_counts() -> None:
    # a March document republished (40 t after 10 t), and two quarters shifted by a month: the later wins
    rows = [
        ("88.1", 330522, "C32", "2025-03", 1, 10.0, 1.0, {}, 0.0),
        ("88.1", 330522, "C32", "2025-03", 1, 40.0, 2.0, {}, 0.0),
        ("88.2", 330522, "C32", "2025-01", 3, 5.0, 1.0, {}, 0.0),
        ("88.2", 330522, "C32", "2025-02", 3, 7.0, 1.0, {}, 0.0),
    ]
    built = RegionalIndex.build(rows_of(rows))
    assert (built.size, built.dropped) == (2, 2)
    totals = built.query("330522", period=YEAR, disclose_enterprises=True)["totals"]
    assert (totals["emissionsTCo2"], totals["addedValue10kCny"]) == (approx(40.0 + 7.0), approx(2.0 + 1.0))


def test_only_rows_inside_the_period_count(index: RegionalIndex) -> None:
    q1 = regulator(index, "000000", "2025Q1")
    # the annual row of .8 is not inside Q1: 3 months × (10 + 30 + 5 + 20 + 2 + 8 + 50 = 125) = 375;
    # added value 3 × (1 + 10 + 5 + 4 + 1 + 2 + 25 = 48) = 144
    assert q1["totals"]["enterprises"] == 7
    assert q1["totals"]["emissionsTCo2"] == approx(375.0)
    assert q1["totals"]["addedValue10kCny"] == approx(144.0)
    assert q1["period"] == {
        "text": "2025Q1",
        "granularity": "quarter",
        "official": False,
        "months": ["2025-01", "2025-02", "2025-03"],
    }
    # the benchmark is the national Σ/Σ of the same quarter
    assert q1["totals"]["benchmark"] == approx(375.0 / 144.0)
    december = regulator(index, "000000", "2024-12")["totals"]
    assert (december["enterprises"], december["emissionsTCo2"], december["addedValue10kCny"]) == (
        1,
        approx(7.0),
        approx(1.0),
    )
    assert december["energyGj"]["coal"] == approx(14.0)


def test_rolling_twelve_months_across_two_years_counts_an_enterprise_once(index: RegionalIndex) -> None:
    report_period = parse_period("2025-06", rolling=True)
    report = index.query("000000", period=report_period, disclose_enterprises=True)
    # 2024-07 … 2025-06: .1's 2024-12 row (7 t, 1) + 6 months × (125 t, 48) = 757 t, 289
    totals = report["totals"]
    assert (totals["enterprises"], totals["emissionsTCo2"], totals["addedValue10kCny"]) == (
        7,
        approx(757.0),
        approx(289.0),
    )
    # grades are those of the period's year, 2025: .8 is not in (annual row), .1 is once
    assert totals["gradeCounts"] == {"1": 1, "2": 2, "3": 2, "4": 1, "5": 1, "ungraded": 0}
    by_county = index.query("330000", period=report_period, level="county", disclose_enterprises=True)
    assert {c["code"]: c["enterprises"] for c in by_county["children"]} == {
        "330522": 2,
        "330523": 2,
        "330106": 2,
    }
    changxing = next(c for c in by_county["children"] if c["code"] == "330522")
    assert changxing["emissionsTCo2"] == approx(67.0 + 6 * 30.0)  # .1 and .2
    # one enterprise row for .1, though its rows fall in two years: 7 + 6 × 10 = 67 t, 1 + 6 × 1 = 7
    rows = [row for row in report["rankings"]["enterprises"] if row["prefix"] == "88.100.1"]
    assert [(row["emissionsTCo2"], row["addedValue10kCny"]) for row in rows] == [(approx(67.0), approx(7.0))]


def test_month_trend_of_the_period_year(index: RegionalIndex) -> None:
    trend = regulator(index, "000000", "2025Q2")["trend"]
    assert trend["granularity"] == "month"
    assert [p["period"] for p in trend["points"]] == [f"2025-{m:02d}" for m in range(1, 13)]
    # each month: 7 enterprises with monthly rows, 125 t, 48 (the annual row of .8 fits no month)
    assert [(p["enterprises"], p["emissionsTCo2"], p["addedValue10kCny"]) for p in trend["points"]] == [
        (7, approx(125.0), approx(48.0))
    ] * 12
    assert trend["points"][0]["intensity"] == approx(125.0 / 48.0)
    assert trend["points"][0]["suppressed"] is False


def test_quarter_and_year_trends(index: RegionalIndex) -> None:
    quarters = regulator(index, "330500", trend="quarter")["trend"]
    # 湖州 per quarter: 3 × (10 + 30 + 5 + 20) = 195 t, 3 × (1 + 10 + 5 + 4) = 60
    assert [p["period"] for p in quarters["points"]] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert [(p["enterprises"], p["emissionsTCo2"], p["addedValue10kCny"]) for p in quarters["points"]] == [
        (4, approx(195.0), approx(60.0))
    ] * 4
    years = regulator(index, "000000", trend="year")["trend"]
    assert years["granularity"] == "year"
    assert [(p["period"], p["enterprises"], p["emissionsTCo2"]) for p in years["points"]] == [
        ("2024", 1, approx(7.0)),
        ("2025", 8, approx(1980.0)),
    ]


def test_trend_with_an_industry_filter(index: RegionalIndex) -> None:
    points = regulator(index, "330500", industry="C30")["trend"]["points"]
    # 湖州 C30: .2 alone, 30 t and 10 a month
    assert [(p["enterprises"], p["emissionsTCo2"], p["addedValue10kCny"]) for p in points] == [
        (1, approx(30.0), approx(10.0))
    ] * 12


def test_an_industry_without_data_and_a_region_without_data(index: RegionalIndex) -> None:
    report = regulator(index, "330000", industry="C13")
    assert report["totals"]["enterprises"] == 0
    assert report["totals"]["emissionsTCo2"] == 0.0
    assert report["totals"]["intensity"] is None
    assert report["totals"]["benchmark"] is None
    assert report["children"] == []
    assert report["rankings"]["industries"] == []
    assert report["rankings"]["enterprises"] == []
    empty = regulator(index, "110000")  # 北京: valid, no data
    assert empty["totals"]["enterprises"] == 0
    assert empty["children"] == []


def test_the_report_is_plain_json(index: RegionalIndex) -> None:
    report = regulator(index, "000000")
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {
        "region",
        "period",
        "industry",
        "childLevel",
        "disclosure",
        "totals",
        "children",
        "rankings",
        "trend",
    }
    assert set(report["totals"]) == {
        "enterprises",
        "emissionsTCo2",
        "grossEmissionsTCo2",
        "addedValue10kCny",
        "intensity",
        "benchmark",
        "efficiencyValue",
        "gradeCounts",
        "energyGj",
        "energyShares",
        "neutralityRate",
        "suppressed",
    }
    assert report["region"] == {"code": "000000", "level": "national", "nameZh": "全国", "nameEn": "China"}


@pytest.mark.parametrize(
    ("code", "options", "message"),
    [
        ("339999", {}, "339999"),
        ("33", {}, "6 digits"),
        ("330000", {"level": "town"}, "level 'town'"),
        ("330500", {"level": "province"}, "must be below"),
        ("330500", {"level": "city"}, "must be below"),
        ("330522", {"level": "county"}, "must be below"),
        ("330000", {"industry": "C3216"}, "division"),
        ("330000", {"industry": "Z99"}, "Z99"),
        ("330000", {"trend": "week"}, "trend 'week'"),
        ("330000", {"min_cell": 0}, "min_cell"),
        ("330000", {"top": -1}, "top"),
    ],
)
def test_bad_queries_raise_one_line_value_errors(
    index: RegionalIndex, code: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        index.query(code, period=YEAR, **options)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"region": [339999]}, r"IndexRows.region\[0\]: region code 339999"),
        ({"industry": ["X1"]}, r"IndexRows.industry\[0\]"),
        ({"months": [2]}, r"IndexRows.months\[0\]: 2 months"),
        ({"emissions": [math.nan]}, r"row 0: emissions is nan"),
        ({"prefix": [""]}, r"IndexRows.prefix\[0\]"),
        ({"month_start": [12]}, r"IndexRows.month_start\[0\]"),
    ],
)
def test_bad_rows_raise_value_errors_naming_the_row(change: dict[str, Any], message: str) -> None:
    good = rows_of([("88.1", 330522, "C32", "2025-01", 1, 1.0, 1.0, {}, 0.0)])
    fields = {name: getattr(good, name) for name in good.__dataclass_fields__} | change
    with pytest.raises(ValueError, match=message):
        RegionalIndex.build(IndexRows(**fields))


def test_columns_of_different_lengths_and_bad_grades_are_refused() -> None:
    good = rows_of([("88.1", 330522, "C32", "2025-01", 1, 1.0, 1.0, {}, 0.0)])
    fields = {name: getattr(good, name) for name in good.__dataclass_fields__}
    with pytest.raises(ValueError, match=r"IndexRows\.gross has 2 rows"):
        IndexRows(**(fields | {"gross": [1.0, 2.0]}))
    with pytest.raises(ValueError, match=r"grades\[0\]: grade 6"):
        RegionalIndex.build(good, [("88.1", 2025, 6)])


def test_an_enterprise_in_two_counties_counts_once_above_them() -> None:
    # 88.200.1 moves from 长兴 to 安吉 in July; .2 stays in 长兴, .3 in 安吉; 10 t and 1 a month each
    rows = [
        ("88.200.1", 330522 if m <= 6 else 330523, "C32", f"2025-{m:02d}", 1, 10.0, 1.0, {}, 0.0)
        for m in range(1, 13)
    ]
    rows += [("88.200.2", 330522, "C32", f"2025-{m:02d}", 1, 10.0, 1.0, {}, 0.0) for m in range(1, 13)]
    rows += [("88.200.3", 330523, "C32", f"2025-{m:02d}", 1, 10.0, 1.0, {}, 0.0) for m in range(1, 13)]
    moved = RegionalIndex.build(rows_of(rows), [("88.200.1", 2025, 2)])
    report = moved.query("330500", period=YEAR, disclose_enterprises=True)
    assert report["totals"]["enterprises"] == 3
    assert report["totals"]["gradeCounts"]["2"] == 1
    assert report["totals"]["emissionsTCo2"] == approx(360.0)
    # each county counts it: 长兴 .1 (6 months) + .2, 安吉 .1 (6 months) + .3
    children = {c["code"]: (c["enterprises"], c["emissionsTCo2"]) for c in report["children"]}
    assert children == {"330522": (2, approx(180.0)), "330523": (2, approx(180.0))}
    assert [p["enterprises"] for p in report["trend"]["points"]] == [3] * 12
    # its enterprise rows: one per county
    assert sorted((r["prefix"], r["region"]) for r in report["rankings"]["enterprises"])[:2] == [
        ("88.200.1", "330522"),
        ("88.200.1", "330523"),
    ]


def test_an_empty_index_answers_with_zeros() -> None:
    empty = RegionalIndex.build(rows_of([]))
    report = empty.query("000000", period=YEAR, disclose_enterprises=True, trend="year")
    assert (empty.size, empty.years) == (0, ())
    assert report["totals"]["enterprises"] == 0
    assert report["children"] == []
    assert report["trend"]["points"] == []


# --- the numpy paths against a plain-Python reference -------------------------------------------------

COUNTIES = (330522, 330523, 330106, 320281, 441900)
DIVISIONS = ("C30", "C32")
PREFIXES = ("88.1", "88.2", "88.3", "88.4", "88.5")
MONTHS = tuple(range(2024 * 12, 2026 * 12))


def _reference_rows(rows: list[Row]) -> list[Row]:
    """The finest-granularity rule, row by row: spans from the shortest, the last given first."""
    covered: dict[str, set[int]] = defaultdict(set)
    kept = []
    for span in sorted({row[4] for row in rows}):
        for row in reversed(rows):
            if row[4] != span:
                continue
            first = int(row[3][:4]) * 12 + int(row[3][5:]) - 1
            months = set(range(first, first + span))
            if not months & covered[row[0]]:
                covered[row[0]] |= months
                kept.append(row)
    return kept


def _reference_totals(
    rows: list[Row], codes: tuple[int, int], months: tuple[int, int], division: str | None
) -> tuple[int, float, float]:
    prefixes, emissions, added = set(), 0.0, 0.0
    for prefix, county, code, month, span, e, v, _, _ in rows:
        first = int(month[:4]) * 12 + int(month[5:]) - 1
        inside = months[0] <= first and first + span - 1 <= months[1]
        if inside and codes[0] <= county <= codes[1] and (division is None or code[:3] == division):
            prefixes.add(prefix)
            emissions += e
            added += v
    return len(prefixes), emissions, added


def _month_text(index: int) -> str:
    return f"{index // 12}-{index % 12 + 1:02d}"


row_strategy = st.tuples(
    st.sampled_from(PREFIXES),
    st.sampled_from(COUNTIES),
    st.sampled_from(DIVISIONS),
    st.sampled_from(MONTHS),
    st.sampled_from((1, 1, 1, 3, 6, 12)),
    st.floats(-10, 100, allow_nan=False),
    st.floats(0, 50, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(row_strategy, max_size=40),
    st.none()
    | st.lists(st.tuples(st.sampled_from(COUNTIES), st.sampled_from(DIVISIONS)), min_size=5, max_size=5),
    st.sampled_from(("2024", "2025", "2025Q2", "2025H2", "2025-03", "2025-06R", "2024-12R")),
    st.sampled_from(("000000", "330000", "330500", "330522", "320000", "441900")),
    st.sampled_from((None, "C30", "C32")),
)
def test_reports_match_a_plain_python_reference(
    drawn: list[tuple[str, int, str, int, int, float, float]],
    homes: list[tuple[int, str]] | None,
    text: str,
    code: str,
    division: str | None,
) -> None:
    # with `homes`, each prefix keeps one county and division (the index's one-home fast paths)
    rows: list[Row] = [
        (
            prefix,
            homes[PREFIXES.index(prefix)][0] if homes else county,
            homes[PREFIXES.index(prefix)][1] if homes else division_code,
            _month_text(month),
            span,
            e,
            v,
            {"coal": 1.0},
            0.0,
        )
        for prefix, county, division_code, month, span, e, v in drawn
    ]
    period = parse_period(text.rstrip("R"), rolling=text.endswith("R"))
    months = (
        int(period.first_month[:4]) * 12 + int(period.first_month[5:]) - 1,
        int(period.last_month[:4]) * 12 + int(period.last_month[5:]) - 1,
    )
    index = RegionalIndex.build(rows_of(rows))
    kept = _reference_rows(rows)
    assert index.size == len(kept)
    report = index.query(code, period=period, industry=division, disclose_enterprises=True, trend="month")
    span = {"000000": (0, 999_999), "330000": (330000, 339999), "320000": (320000, 329999)}
    codes = span.get(code, (int(code), int(code) + 99) if code.endswith("00") else (int(code), int(code)))
    count, emissions, added = _reference_totals(kept, codes, months, division)
    totals = report["totals"]
    assert totals["enterprises"] == count
    assert totals["emissionsTCo2"] == pytest.approx(emissions, rel=REL, abs=1e-9)
    assert totals["addedValue10kCny"] == pytest.approx(added, rel=REL, abs=1e-9)
    assert totals["energyGj"]["coal"] == pytest.approx(
        sum(1.0 for r in kept if _reference_totals([r], codes, months, division)[0]), abs=1e-9
    )
    for child in report["children"]:
        low = int(child["code"])
        child_codes = (low, low + {"city": 99, "county": 0, "province": 9999}[report["childLevel"]])
        assert (child["enterprises"], child["emissionsTCo2"]) == (
            _reference_totals(kept, child_codes, months, division)[0],
            pytest.approx(_reference_totals(kept, child_codes, months, division)[1], rel=REL, abs=1e-9),
        )
    if report["childLevel"] is not None:  # every enterprise is in some child
        assert sum(child["enterprises"] for child in report["children"]) >= count
    national = _reference_totals(kept, (0, 999_999), months, division)
    assert totals["benchmark"] == (
        pytest.approx(national[1] / national[2], rel=REL) if national[2] > 0 and national[0] else None
    )
    for point in report["trend"]["points"]:
        month = int(point["period"][:4]) * 12 + int(point["period"][5:]) - 1
        expected = _reference_totals(kept, codes, (month, month), division)
        assert point["enterprises"] == expected[0]
        assert point["emissionsTCo2"] == pytest.approx(expected[1], rel=REL, abs=1e-9)
    enterprise_rows = report["rankings"]["enterprises"]
    assert [row["emissionsTCo2"] for row in enterprise_rows] == sorted(
        (row["emissionsTCo2"] for row in enterprise_rows), reverse=True
    )
    assert len({(row["prefix"], row["region"], row["industry"]) for row in enterprise_rows}) == len(
        enterprise_rows
    )
