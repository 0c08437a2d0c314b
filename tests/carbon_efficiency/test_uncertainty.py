"""Monte Carlo uncertainty: reproducible by seed, intervals around the point, correlation through shared
factors, and provisional grades at band edges."""

import json
from importlib import resources

import pytest

from carbon_efficiency.model import (
    COMBUSTION,
    PURCHASED_ELECTRICITY,
    ZERO_CARBON_DEDUCTIONS,
)
from carbon_efficiency.uncertainty import UnknownUncertainty, monte_carlo, uncertainty_table
from tests.carbon_efficiency.emission_lines import grid_choice, line

LINES = [
    line("/fuels/0", COMBUSTION, 600.0, data_source="invoice", factor_kind="fuel-default", factor=2.0),
    line("/fuels/1", COMBUSTION, 50.0, data_source="estimate", factor_kind="fuel-default", factor=3.0),
    line(
        "/electricity/0", PURCHASED_ELECTRICITY, 500.0, factor_kind="electricity-grid", choice=grid_choice()
    ),
    line("/offsets/0", ZERO_CARBON_DEDUCTIONS, -100.0, data_source="evidence", factor_kind="stated"),
]
NET = 1050.0  # 600 + 50 + 500 − 100


def test_the_same_seed_gives_the_same_interval_bit_for_bit():
    first = monte_carlo(LINES, added_value=1000.0, benchmark_intensity=1.0, seed=20260201)
    again = monte_carlo(LINES, added_value=1000.0, benchmark_intensity=1.0, seed=20260201)
    assert first == again
    assert (first.draws, first.seed) == (10_000, 20260201)


def test_a_different_seed_gives_a_different_interval():
    first = monte_carlo(LINES, added_value=1000.0, benchmark_intensity=1.0, seed=1)
    other = monte_carlo(LINES, added_value=1000.0, benchmark_intensity=1.0, seed=2)
    assert first.emissions_interval != other.emissions_interval


def test_the_interval_contains_the_point_estimate_and_k_follows_it():
    result = monte_carlo(LINES, added_value=1000.0, benchmark_intensity=1.25, seed=7)
    low, high = result.emissions_interval
    assert low < NET < high
    # K = emissions / (added value × B) = emissions / 1250
    assert result.efficiency_interval == pytest.approx((low / 1250, high / 1250), rel=1e-12)


def test_exact_lines_give_a_point_interval():
    exact = [line("/offsets/0", ZERO_CARBON_DEDUCTIONS, -100.0, data_source="evidence", factor_kind="stated")]
    result = monte_carlo(exact, added_value=10.0, benchmark_intensity=None, seed=1)
    assert result.emissions_interval == (-100.0, -100.0)


def test_one_metered_line_has_the_meter_s_two_percent():
    # meter ±2 % (95 %), factor exact: P2.5 … P97.5 ≈ 0.98 … 1.02 × 1000 t (sampling error ≪ 0.2 %)
    metered = [line("/fuels/0", COMBUSTION, 1000.0, data_source="meter", factor_kind="stated")]
    low, high = monte_carlo(metered, added_value=1.0, benchmark_intensity=None, seed=3).emissions_interval
    assert 977 < low < 983
    assert 1017 < high < 1023


def test_lines_sharing_a_factor_share_its_error():
    # Twelve monthly electricity lines of 100 t with one grid factor (±7.5 %) err together: the total's
    # half-width is about 7.5 % of 1200 t. With twelve different factors it shrinks by about √12.
    shared = [
        line(
            f"2025-{m:02d}/electricity/0",
            PURCHASED_ELECTRICITY,
            100.0,
            factor_kind="electricity-grid",
            factor=0.55,
        )
        for m in range(1, 13)
    ]
    separate = [
        line(
            f"2025-{m:02d}/electricity/0",
            PURCHASED_ELECTRICITY,
            100.0,
            factor_kind="electricity-grid",
            factor=0.55 + m / 1000,
        )
        for m in range(1, 13)
    ]
    low, high = monte_carlo(shared, added_value=1.0, benchmark_intensity=None, seed=5).emissions_interval
    low_separate, high_separate = monte_carlo(
        separate, added_value=1.0, benchmark_intensity=None, seed=5
    ).emissions_interval
    assert high - low > 2.5 * (high_separate - low_separate)
    # factor ±7.5 % of the whole; meters ±2 % each, independent: ±2 %/√12 of the whole; √(7.5² + 2²/12) = 7.52
    assert (high - low) / 2 / 1200 == pytest.approx(0.0752, abs=0.003)


def test_an_interval_across_a_band_edge_is_provisional():
    # K = 800 / (1000 × 1.0) = 0.8 exactly on the 2|3 edge: the interval holds grades 2 and 3.
    at_edge = [line("/fuels/0", COMBUSTION, 800.0, data_source="meter", factor_kind="fuel-default")]
    result = monte_carlo(at_edge, added_value=1000.0, benchmark_intensity=1.0, seed=11)
    low, high = result.efficiency_interval
    assert low < 0.8 < high
    assert result.provisional


def test_an_interval_far_from_the_edges_is_not_provisional():
    # K = 1000 / 1000 = 1.0, ±2 %: 0.98 … 1.02, inside grade 3 (0.8 … 1.2)
    far = [line("/fuels/0", COMBUSTION, 1000.0, data_source="meter", factor_kind="stated")]
    result = monte_carlo(far, added_value=1000.0, benchmark_intensity=1.0, seed=11)
    assert not result.provisional


def test_no_k_interval_without_benchmark_or_added_value():
    for added_value, benchmark in ((1000.0, None), (0.0, 1.0), (-5.0, 1.0), (1000.0, 0.0)):
        result = monte_carlo(LINES, added_value=added_value, benchmark_intensity=benchmark, seed=1)
        assert result.efficiency_interval is None
        assert not result.provisional


def test_unknown_kinds_name_the_line():
    wrong = [line("/fuels/3", COMBUSTION, 1.0, data_source="guess")]
    with pytest.raises(UnknownUncertainty, match=r"/fuels/3: data source kind 'guess' has no uncertainty"):
        monte_carlo(wrong, added_value=1.0, benchmark_intensity=None, seed=1)
    wrong = [line("/fuels/3", COMBUSTION, 1.0, factor_kind="magic")]
    with pytest.raises(UnknownUncertainty, match=r"/fuels/3: factor kind 'magic'"):
        monte_carlo(wrong, added_value=1.0, benchmark_intensity=None, seed=1)


@pytest.mark.parametrize(("draws", "seed"), [(10, 1), (True, 1), (1000, -1), (1000, 2**53), (1000, 1.5)])
def test_draws_and_seed_are_checked(draws, seed):
    with pytest.raises(ValueError, match=r"^(draws|seed) "):
        monte_carlo(LINES, added_value=1.0, benchmark_intensity=None, draws=draws, seed=seed)


def test_every_kind_the_documents_and_accounting_use_has_a_row_with_a_source():
    schema = json.loads(
        resources.files("metadata_templates")
        .joinpath("templates/activity-data/1/schema.json")
        .read_text("utf-8")
    )
    document_kinds = set(schema["$defs"]["dataSource"]["properties"]["kind"]["enum"])
    table = uncertainty_table()
    assert document_kinds | {"evidence"} <= set(table.data_sources)
    factor_kinds = {
        "fuel-default", "fuel-measured", "electricity-grid", "heat-default",
        "carbonate", "enterprise-factor", "gwp", "stated", "zero",
    }  # fmt: skip
    assert factor_kinds <= set(table.factor_kinds)
    for spread in [*table.data_sources.values(), *table.factor_kinds.values()]:
        assert spread.source
    assert table.factor_kinds["gwp"].distribution == "exact"
    assert table.factor_kinds["non-co2-default"].distribution == "lognormal"
    assert table.data_sources["estimate"].distribution == "lognormal"
