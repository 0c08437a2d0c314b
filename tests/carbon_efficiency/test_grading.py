"""Grading: band edges of K and of L, missing values, and the array and scalar forms agreeing."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon_efficiency.grading import (
    ABSOLUTE_LEVELS,
    COLOURS,
    GRADE_EDGES,
    GRADES,
    absolute_level_for,
    absolute_levels,
    colour_for,
    efficiency_values,
    grade_band,
    grade_for,
    grade_population,
    grades,
    intensities,
)


def above(value: float) -> float:
    return float(np.nextafter(value, math.inf))


def test_the_shipped_bands_are_the_method_s():
    assert GRADE_EDGES == (0.6, 0.8, 1.2, 2.0)
    assert COLOURS == ("dark-green", "light-green", "yellow", "orange", "red")
    assert [band.name_zh for band in GRADES] == ["深绿", "浅绿", "黄", "橙", "红"]
    assert all(band.hex.startswith("#") and len(band.hex) == 7 for band in GRADES)
    assert [(level.level, level.upper_edge) for level in ABSOLUTE_LEVELS] == [
        ("low", 0.6),
        ("medium", 2.0),
        ("high", None),
    ]


def test_k_exactly_on_an_edge_gets_the_better_grade_and_just_above_the_worse():
    k = [0.0, 0.6, above(0.6), 0.8, above(0.8), 1.2, above(1.2), 2.0, above(2.0), 1e9]
    expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert grades(k).tolist() == expected
    assert grades(k).dtype == np.int8
    assert [grade_for(x) for x in k] == expected


def test_missing_k_is_ungraded_and_a_negative_k_is_grade_one():
    # A negative K is a negative net intensity (more deducted than emitted): the best grade.
    assert grades([math.nan, math.inf, -math.inf, -0.5]).tolist() == [0, 0, 0, 1]
    assert grade_for(math.nan) is None
    assert grade_for(math.inf) is None
    assert grade_for(-0.5) == 1


def test_absolute_level_edges():
    values = [0.6, above(0.6), 2.0, above(2.0), math.nan]
    assert absolute_levels(values).tolist() == [1, 2, 2, 3, 0]
    assert [absolute_level_for(x) for x in values] == ["low", "medium", "medium", "high", None]


def test_intensity_is_missing_where_added_value_is_not_positive_or_a_figure_is_not_finite():
    emissions = [120.0, 5.0, 5.0, 5.0, math.nan, 5.0, 5.0]
    added = [100.0, 0.0, -3.0, math.nan, 10.0, math.inf, 2.0]
    result = intensities(emissions, added)
    # 120 / 100 = 1.2; 5 / 2 = 2.5
    assert result[0] == 1.2
    assert result[6] == 2.5
    assert np.isnan(result[1:6]).all()


def test_efficiency_value_is_missing_without_a_positive_benchmark():
    result = efficiency_values([1.0, 1.0, 1.0, math.nan, 3.0], [2.0, 0.0, math.nan, 2.0, -1.0])
    assert result[0] == 0.5
    assert np.isnan(result[1:]).all()
    # one benchmark for all
    assert efficiency_values([1.0, 3.0], 2.0).tolist() == [0.5, 1.5]


def test_grade_population_by_hand():
    # L = 12/10 = 1.2, 40/10 = 4.0, 5/0 → none; K = L / 2 = 0.6 (edge: grade 1), 2.0 (edge: grade 4), none
    graded = grade_population([12.0, 40.0, 5.0], [10.0, 10.0, 0.0], 2.0)
    assert graded.intensity[:2].tolist() == [1.2, 4.0]
    assert graded.efficiency_value[:2].tolist() == [0.6, 2.0]
    assert math.isnan(graded.intensity[2])
    assert math.isnan(graded.efficiency_value[2])
    assert graded.grade.tolist() == [1, 4, 0]
    assert graded.colour_index.tolist() == [0, 3, -1]


def test_grade_population_takes_one_benchmark_per_enterprise():
    # K = 1/1 = 1 (grade 3), 1/0.4 = 2.5 (grade 5), benchmark NaN → none
    graded = grade_population([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.4, math.nan])
    assert graded.grade.tolist() == [3, 5, 0]


def test_colours_and_names_of_a_grade():
    assert [colour_for(g) for g in range(1, 6)] == list(COLOURS)
    assert grade_band(2).name_en == "light green"
    assert grade_band(np.int8(5)).colour == "red"
    for wrong in (0, 6, True, 2.0):
        with pytest.raises(ValueError, match="grades run 1 to 5"):
            grade_band(wrong)  # type: ignore[arg-type]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_array_and_scalar_grading_agree(k):
    assert grades([k]).tolist() == [grade_for(k) or 0]
