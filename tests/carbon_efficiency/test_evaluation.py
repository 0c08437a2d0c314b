"""Evaluation: grades, trends and ungraded cases from hand-built accountings, and the certificate members."""

import copy
from dataclasses import replace

import pytest

from carbon_efficiency.benchmark import Benchmark
from carbon_efficiency.evaluation import (
    NO_ADDED_VALUE,
    NO_BENCHMARK,
    TREND,
    PeriodMismatch,
    evaluate,
)
from carbon_efficiency.model import COMBUSTION, PURCHASED_ELECTRICITY, ZERO_CARBON_DEDUCTIONS, Issue
from carbon_efficiency.periods import parse_period
from metadata_templates import default_catalog, validate
from tests.carbon_efficiency.emission_lines import accounting, grid_choice, line

# Gross 600 + 500 = 1100 t; net 1100 − 100 = 1000 t; added value 1000 × 10⁴ CNY → L = 1.0 (medium)
LINES = [
    line("/fuels/0", COMBUSTION, 600.0, data_source="meter", factor_kind="fuel-default", factor=2.0),
    line(
        "/electricity/0", PURCHASED_ELECTRICITY, 500.0, factor_kind="electricity-grid", choice=grid_choice()
    ),
    line("/offsets/0", ZERO_CARBON_DEDUCTIONS, -100.0, data_source="evidence", factor_kind="stated"),
]
CITY = Benchmark(intensity=2.0, level="city", region="330500", industry="C32", population=14)
YEAR = parse_period("2025")


def test_a_graded_year():
    # K = 1.0 / 2.0 = 0.5: grade 1, and its interval (≈ ±5 %) stays below 0.6
    result = evaluate(
        accounting(LINES, added_value=1000.0, neutrality_offsets=50.0), period=YEAR, benchmark=CITY, seed=1
    )
    assert (result.intensity, result.absolute_level, result.efficiency_value) == (1.0, "medium", 0.5)
    assert (result.grade, result.colour, result.ungraded_reason) == (1, "dark-green", None)
    assert not result.provisional
    assert result.neutrality_rate == 50.0 / 1100.0
    assert result.uncertainty.efficiency_interval[1] < 0.6
    # meter 1 on 1100 t, evidence 1 on 100 t: score 1.0
    assert (result.data_quality.score, result.data_quality.band) == (1.0, "excellent")


def test_k_on_an_edge_gets_the_better_grade_and_is_provisional():
    # K = 1.0 / 1.25 = 0.8: grade 2; its interval crosses 0.8
    benchmark = Benchmark(intensity=1.25, level="county", region="330522", industry="C32", population=6)
    result = evaluate(accounting(LINES, added_value=1000.0), period=YEAR, benchmark=benchmark, seed=1)
    assert (result.efficiency_value, result.grade) == (0.8, 2)
    assert result.provisional
    assert result.provisional_reasons[0].startswith("K's 95 % interval")
    assert result.subject_fields()["provisional"] is True


def test_an_expired_factor_makes_the_grade_provisional():
    lines = [
        *LINES[:1],
        line(
            "/electricity/0",
            PURCHASED_ELECTRICITY,
            500.0,
            factor_kind="electricity-grid",
            choice=grid_choice(expired=True),
        ),
    ]
    # net 1100 t → L = 1.1, K = 0.55: grade 1, interval clear of 0.6? ±≈5 % → 0.52 … 0.58
    result = evaluate(accounting(lines, added_value=1000.0), period=YEAR, benchmark=CITY, seed=1)
    assert result.grade == 1
    assert result.provisional
    assert result.provisional_reasons == (
        "factor electricity grid:east (2023) is out of its validity: used by /electricity/0",
    )


def test_no_added_value_no_intensity_no_grade():
    result = evaluate(accounting(LINES, added_value=0.0), period=YEAR, benchmark=CITY, seed=1)
    assert (result.intensity, result.efficiency_value, result.grade) == (None, None, None)
    assert result.ungraded_reason == NO_ADDED_VALUE == "industrial added value is ≤ 0: no intensity, no grade"
    fields = result.subject_fields()
    for member in ("intensity", "absoluteLevel", "efficiencyValue", "grade", "gradeColour", "provisional"):
        assert member not in fields
    assert "efficiencyValueInterval" not in fields["uncertainty"]
    assert fields["ungradedReason"] == NO_ADDED_VALUE


def test_no_benchmark_no_grade():
    for benchmark in (None, Benchmark(intensity=0.0, level="national", region=None, industry="C32")):
        result = evaluate(accounting(LINES, added_value=1000.0), period=YEAR, benchmark=benchmark, seed=1)
        assert (result.intensity, result.efficiency_value, result.grade) == (1.0, None, None)
        assert result.ungraded_reason == NO_BENCHMARK
        assert result.benchmark is None
        assert "benchmark" not in result.subject_fields()


def test_a_month_is_a_trend_without_a_grade():
    # One month: 1000 t over 1000 → L = 1.0; B is an intensity, unchanged by pro-rating: trend K = 0.5
    month = parse_period("2025-03")
    result = evaluate(
        accounting(LINES, added_value=1000.0, periods=["2025-03"]), period=month, benchmark=CITY, seed=1
    )
    assert (result.efficiency_value, result.grade, result.provisional) == (0.5, None, False)
    assert result.ungraded_reason == TREND
    assert "monthly and quarterly figures are trends, not grades" in TREND
    fields = result.subject_fields()
    assert (fields["granularity"], fields["official"], fields["efficiencyValue"]) == ("month", False, 0.5)
    assert "grade" not in fields
    assert "efficiencyValueInterval" in fields["uncertainty"]


def test_rolling_twelve_months_are_graded_from_twelve_monthly_documents():
    period = parse_period("2025-06", rolling=True)
    result = evaluate(
        accounting(LINES, added_value=1000.0, periods=period.months), period=period, benchmark=CITY, seed=1
    )
    assert result.grade == 1
    quarters = ["2024Q3", "2024Q4", "2025H1"]
    assert (
        evaluate(
            accounting(LINES, added_value=1000.0, periods=quarters), period=period, benchmark=CITY, seed=1
        ).grade
        == 1
    )


@pytest.mark.parametrize(
    ("periods", "period"),
    [(["2025Q1"], "2025"), (["2025", "2025Q1"], "2025"), (["2025-01"], "2025-02"), ([], "2025")],
)
def test_the_accounting_must_cover_the_period_exactly(periods, period):
    with pytest.raises(PeriodMismatch, match=f"but period {period}"):
        evaluate(
            accounting(LINES, added_value=1000.0, periods=periods),
            period=parse_period(period),
            benchmark=CITY,
            seed=1,
        )


def test_subject_fields():
    result = evaluate(
        accounting(LINES, added_value=1000.0, neutrality_offsets=50.0), period=YEAR, benchmark=CITY, seed=42
    )
    fields = result.subject_fields()
    assert {k: fields[k] for k in ("period", "granularity", "official")} == {
        "period": "2025",
        "granularity": "year",
        "official": True,
    }
    assert fields["emissionsTCo2"] == 1100
    assert isinstance(fields["emissionsTCo2"], int)
    assert fields["netEmissionsTCo2"] == 1000
    assert fields["emissionsBySource"] == {
        "combustion": 600,
        "process": 0,
        "otherGases": 0,
        "purchasedElectricity": 500,
        "purchasedHeat": 0,
        "exported": 0,
        "zeroCarbonDeductions": 100,  # shown as the amount deducted
    }
    assert fields["addedValue10kCny"] == 1000
    assert (fields["intensity"], fields["absoluteLevel"], fields["efficiencyValue"]) == (1, "medium", 0.5)
    assert fields["benchmark"] == {
        "intensity": 2,
        "level": "city",
        "region": "330500",
        "industry": "C32",
        "population": 14,
    }
    assert (fields["grade"], fields["gradeColour"], fields["provisional"]) == (1, "dark-green", False)
    assert fields["neutralityRate"] == 0.04545  # 50 / 1100 = 0.0454545… to 4 significant digits
    assert fields["uncertainty"]["draws"] == 10_000
    assert fields["uncertainty"]["seed"] == 42
    low, high = fields["uncertainty"]["emissionsInterval"]
    assert low < 1000 < high
    assert fields["dataQuality"] == {"score": 1, "band": "excellent"}
    assert fields["method"] == {
        "methodVersion": "carbonid-efficiency/1",
        "factorSet": "test factors",
        "gridFactorYear": 2023,
        "gwp": "AR6",
    }
    assert "ungradedReason" not in fields
    assert None not in fields.values()


def test_k_keeps_its_digits_when_rounding_would_change_its_grade():
    # K = 600.0000001 / 1000 / 1 = 0.6000000001: grade 2, but 6 significant digits would read 0.6 (grade 1)
    lines = [line("/fuels/0", COMBUSTION, 600.0000001)]
    unit = Benchmark(intensity=1.0, level="national", region=None, industry="C32", population=100)
    fields = evaluate(
        accounting(lines, added_value=1000.0), period=YEAR, benchmark=unit, seed=1
    ).subject_fields()
    assert fields["grade"] == 2
    assert fields["efficiencyValue"] > 0.6
    assert fields["intensity"] == 0.6


def test_accounting_warnings_reach_the_data_quality_warnings():
    issue = Issue("warning", "/fuels/0", "net calorific value outside the usual range")
    built = accounting(
        [*LINES, line("/fuels/1", COMBUSTION, 10.0, data_source="estimate")], added_value=1000.0
    )
    warnings = evaluate(
        replace(built, issues=(issue,)), period=YEAR, benchmark=CITY, seed=1
    ).subject_fields()["dataQuality"]["warnings"]
    # 10 t of 1210 t (|−100| counted) = 0.83 %
    assert warnings == [
        "estimate (score 5 of 5): 0.8% of emissions (/fuels/1)",
        "/fuels/0: net calorific value outside the usual range",
    ]


@pytest.mark.parametrize(
    ("added_value", "benchmark", "period", "periods"),
    [
        (1000.0, CITY, "2025", ["2025"]),
        (0.0, CITY, "2025", ["2025"]),
        (1000.0, None, "2025Q1", ["2025Q1"]),
    ],
)
def test_subject_fields_fit_the_certificate_schema(added_value, benchmark, period, periods):
    template = default_catalog().get("carbon-efficiency-certificate")
    certificate = copy.deepcopy(template.example_document())
    result = evaluate(
        accounting(LINES, added_value=added_value, periods=periods),
        period=parse_period(period),
        benchmark=benchmark,
        seed=1,
    )
    subject = certificate["credentialSubject"]
    keep = {k: subject[k] for k in ("prefix", "enterpriseName", "uscc", "region", "industry", "sources")}
    certificate["credentialSubject"] = {**keep, **result.subject_fields()}
    validate(template, certificate)


def test_an_accounting_with_figures_that_are_not_finite_is_refused():
    with pytest.raises(ValueError, match="must be finite numbers"):
        evaluate(accounting(LINES, added_value=float("nan")), period=YEAR, benchmark=CITY, seed=1)
