"""Benchmarks: Σ emissions ÷ Σ added value per division and region, the county → national fallback,
and published tables."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon_efficiency.benchmark import (
    Benchmark,
    InvalidBenchmarks,
    PublishedBenchmarks,
    population_benchmarks,
)

# Three C32 enterprises in Changxing (330522): (emissions t, added value 10⁴ CNY)
#   (10, 1), (30, 10), (60, 89): ratios 10, 3, 0.674… (mean 4.558…); Σ/Σ = 100 / 100 = 1.0
# plus two that do not count: added value 0 and −5.
CHANGXING = [("330522", "C3216", 10.0, 1.0), ("330522", "3216", 30.0, 10.0), ("330522", "C32", 60.0, 89.0)]
NOT_COUNTED = [("330522", "C3211", 50.0, 0.0), ("330522", "C3211", 50.0, -5.0)]


def table(rows, *, min_population=1):
    regions, industries, emissions, added = zip(*rows, strict=True) if rows else ([], [], [], [])
    return population_benchmarks(
        list(regions), list(industries), list(emissions), list(added), min_population=min_population
    )


def test_benchmark_is_sum_over_sum_not_a_mean_of_ratios():
    found = table(CHANGXING + NOT_COUNTED).lookup("330522", "C3216")
    assert found == Benchmark(intensity=1.0, level="county", region="330522", industry="C32", population=3)


def test_other_divisions_do_not_mix_in():
    # A C33 enterprise (100 t, 10) in the same county has its own B = 10.
    rows = [*CHANGXING, ("330522", "C3311", 100.0, 10.0)]
    assert table(rows).lookup("330522", "C32").intensity == 1.0
    assert table(rows).lookup("330522", "3311").intensity == 10.0
    assert table(rows).lookup("330522", "C17") is None


# Fallback with min_population = 3:
#   330522 Changxing: the 3 above                         → county, B = 100/100 = 1.0
#   330523 Anji: (20, 10), (20, 10)                        → 2 < 3: city 330500 (5 members)
#        city 330500 = 100 + 40 = 140 t over 100 + 20 = 120 → B = 7/6
#   330102 in Hangzhou: (5, 1)                             → county 1, city 330100 1: province 330000
#        province 330000 = 140 + 5 = 145 t over 121         → B = 145/121
#   320581 in Jiangsu: (9, 1)                              → county, city, province 1 each: national
#        national = 145 + 9 = 154 t over 122                → B = 154/122
FALLBACK = [
    *CHANGXING,
    ("330523", "C32", 20.0, 10.0),
    ("330523", "C32", 20.0, 10.0),
    ("330102", "C32", 5.0, 1.0),
    ("320581", "C32", 9.0, 1.0),
]


@pytest.mark.parametrize(
    ("region", "level", "benchmark_region", "intensity", "population"),
    [
        ("330522", "county", "330522", 1.0, 3),
        ("330523", "city", "330500", 140 / 120, 5),
        ("330102", "province", "330000", 145 / 121, 6),
        ("320581", "national", None, 154 / 122, 7),
    ],
)
def test_fallback_county_city_province_national(region, level, benchmark_region, intensity, population):
    found = table(FALLBACK, min_population=3).lookup(region, "C32")
    assert found is not None
    assert (found.level, found.region, found.population) == (level, benchmark_region, population)
    assert found.intensity == pytest.approx(intensity, rel=1e-9)


def test_lookup_many_agrees_with_lookup():
    benchmarks = table(FALLBACK, min_population=3)
    regions = np.array([330522, 330523, 330102, 320581, 330522])
    intensity, level = benchmarks.lookup_many(regions, ["C32", "C3216", "3219", "C32", "C33"])
    assert level.tolist() == [1, 2, 3, 4, 0]
    assert intensity[:4] == pytest.approx([1.0, 140 / 120, 145 / 121, 154 / 122], rel=1e-9)
    assert math.isnan(intensity[4])
    with pytest.raises(ValueError, match="lookup_many: 2 regions but 1 industries"):
        benchmarks.lookup_many(["330522", "330523"], ["C32"])


def test_no_group_large_enough_anywhere_gives_none():
    assert table(FALLBACK, min_population=8).lookup("330522", "C32") is None


def test_a_group_whose_benchmark_is_not_positive_falls_back():
    # Changxing's C32 sums to −10 t (a large deduction): B ≤ 0 is no benchmark; city 330500 = (−10 + 40) / 30 = 1.0
    rows = [("330522", "C32", -10.0, 10.0), ("330523", "C32", 40.0, 20.0)]
    found = table(rows).lookup("330522", "C32")
    assert (found.level, found.region, found.intensity) == ("city", "330500", 1.0)


def test_an_enterprise_registered_with_a_city_code_counts_from_the_city_level_up():
    # 330500 itself is not a county: its lookup starts at the city, which also holds Changxing.
    rows = [*CHANGXING, ("330500", "C32", 100.0, 100.0)]
    benchmarks = table(rows)
    assert [b.region for b in benchmarks.benchmarks("county")] == ["330522"]
    found = benchmarks.lookup("330500", "C32")
    # (100 + 100) / (100 + 100) = 1.0, 4 members
    assert (found.level, found.region, found.population, found.intensity) == ("city", "330500", 4, 1.0)


def test_every_level_lists_its_benchmarks():
    benchmarks = table(FALLBACK)
    assert [b.region for b in benchmarks.benchmarks("city")] == ["320500", "330100", "330500"]
    assert benchmarks.benchmarks("national")[0].population == 7
    with pytest.raises(ValueError, match="computed benchmarks are"):
        benchmarks.benchmarks("published")


@pytest.mark.parametrize(
    ("regions", "industries", "message"),
    [
        (["33052"], ["C32"], r"regions\[0\]: '33052' is not a 6-digit region code"),
        (["330522", "33O522"], ["C32", "C32"], r"regions\[1\]: '33O522'"),
        ([99], ["C32"], r"regions\[0\]: 99 is not a 6-digit region code"),
        (["330522"], ["D32"], r"industries\[0\]: 'D32' is not a GB/T 4754-2017 division"),
        (["330522"], ["C"], r"industries\[0\]: 'C'"),
        (["330522"], ["C32160"], r"industries\[0\]: 'C32160'"),
    ],
)
def test_malformed_codes_are_named(regions, industries, message):
    with pytest.raises(ValueError, match=message):
        population_benchmarks(regions, industries, [1.0] * len(regions), [1.0] * len(regions))


def test_arrays_must_be_aligned_and_min_population_positive():
    with pytest.raises(ValueError, match="aligned"):
        population_benchmarks(["330522"], ["C32"], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="min_population"):
        population_benchmarks(["330522"], ["C32"], [1.0], [1.0], min_population=0)


PUBLISHED = {
    "rows": [
        {
            "industry": "C32",
            "region": "330522",
            "period": "2024",
            "intensity": 2.5,
            "population": 9,
            "source": "S1",
        },
        {"industry": "C32", "region": "330500", "period": "2024", "intensity": 3.0, "source": "S2"},
        {"industry": "32", "region": "000000", "period": "2024", "intensity": 4.0, "source": "S3"},
        {"industry": "all", "region": "330500", "period": "2024", "intensity": 0.9, "source": "S4"},
        {"industry": "C32", "region": "330522", "period": "2025", "intensity": 2.2, "source": "S5"},
    ]
}


def test_published_table_looks_up_division_then_region_levels():
    published = PublishedBenchmarks.from_json(PUBLISHED)
    county = published.lookup("330522", "C3216", year=2024)
    assert county == Benchmark(2.5, "published", "330522", "C32", 9, "S1", "2024")
    assert published.lookup("330523", "C32", year=2024).source == "S2"  # city
    assert published.lookup("320581", "C32", year=2024).source == "S3"  # national, region None
    assert published.lookup("320581", "C32", year=2024).region is None
    assert published.lookup("330522", "C32", year=2025).intensity == 2.2


def test_published_table_falls_back_to_all_industry_then_gives_none():
    published = PublishedBenchmarks.from_json(PUBLISHED)
    found = published.lookup("330523", "C17", year=2024)
    assert (found.source, found.industry, found.region) == ("S4", None, "330500")
    assert found.to_json() == {"intensity": 0.9, "level": "published", "region": "330500"}
    assert published.lookup("320581", "C17", year=2024) is None
    assert published.lookup("330523", "C17", year=2023) is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"industry": "C3216"}, "/rows/0/industry: 'C3216' is neither a division"),
        ({"industry": "Z99"}, "/rows/0/industry: industry code"),
        ({"region": "3305"}, "/rows/0/region: region code '3305'"),
        ({"region": 330500}, "/rows/0/region: 330500 is not a 6-digit region code"),
        ({"period": "2024Q1"}, "/rows/0/period: '2024Q1' is not a year"),
        ({"period": 2024}, "/rows/0/period: 2024 is not a year as a string"),
        ({"intensity": 0}, "/rows/0/intensity: 0 is not a number > 0"),
        ({"intensity": True}, "/rows/0/intensity: True is not a number > 0"),
        ({"population": -1}, "/rows/0/population: -1 is not an integer ≥ 0"),
        ({"source": ""}, "/rows/0/source: every published row names its source"),
    ],
)
def test_published_rows_are_checked(row, message):
    good = {"industry": "C32", "region": "330500", "period": "2024", "intensity": 1.0, "source": "S"}
    with pytest.raises(InvalidBenchmarks) as caught:
        PublishedBenchmarks.from_json({"rows": [{**good, **row}]})
    assert str(caught.value).startswith(message)


def test_published_duplicates_and_shape():
    row = {"industry": "C32", "region": "330500", "period": "2024", "intensity": 1.0, "source": "S"}
    with pytest.raises(InvalidBenchmarks, match="/rows/1: same industry, region and period as /rows/0"):
        PublishedBenchmarks.from_json({"rows": [row, {**row, "industry": "32"}]})
    with pytest.raises(InvalidBenchmarks, match="/rows: expected an array"):
        PublishedBenchmarks.from_json({"benchmarks": []})


REGIONS = ["330522", "330523", "330102", "320581", "330500", "330000"]


def naive_lookup(rows, region, division, min_population):
    """The same rule, one enterprise at a time in plain Python."""
    levels = [
        ("county", lambda r: r, lambda r: r[4:] != "00"),
        ("city", lambda r: r[:4] + "00", lambda r: r[2:] != "0000"),
        ("province", lambda r: r[:2] + "0000", lambda r: True),
        ("national", lambda r: "", lambda r: True),
    ]
    for name, at_level, applies in levels:
        if not applies(region):
            continue
        members = [
            (e, v)
            for r, industry, e, v in rows
            if industry[:3] == division and v > 0 and applies(r) and at_level(r) == at_level(region)
        ]
        if len(members) >= min_population:
            intensity = sum(e for e, _ in members) / sum(v for _, v in members)
            if intensity > 0:
                return name, intensity
    return None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(REGIONS),
            st.sampled_from(["C3216", "C3311"]),
            # whole tonnes and 10⁴ CNY: every sum is exact, in any order
            st.integers(-50, 1000).map(float),
            st.integers(-10, 100).map(float),
        ),
        max_size=30,
    ),
    st.integers(1, 4),
)
def test_lookups_agree_with_a_plain_python_grouping(rows, min_population):
    benchmarks = table(rows, min_population=min_population)
    for region in REGIONS:
        for division in ("C32", "C33"):
            expected = naive_lookup(rows, region, division, min_population)
            found = benchmarks.lookup(region, division)
            if expected is None:
                assert found is None
            else:
                assert found.level == expected[0]
                assert found.intensity == pytest.approx(expected[1], rel=1e-9)
