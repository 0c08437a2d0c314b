"""Data checks of activity-data documents and of a period against the enterprise's own history."""

from __future__ import annotations

import copy
import math

import pytest

from carbon_efficiency.checks import check_activity, check_history
from metadata_templates import default_catalog

EXAMPLE = default_catalog().get("activity-data", 1).example_document()
METER = {"kind": "meter"}


def _example(**changes: object) -> dict:
    document = copy.deepcopy(EXAMPLE)
    document.update(changes)
    return document


def _found(issues, severity):
    return [(issue.pointer, issue.message) for issue in issues if issue.severity == severity]


def test_the_template_example_is_clean():
    assert check_activity(EXAMPLE) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-5, "is negative"),
        (math.nan, "finite number"),
        (math.inf, "finite number"),
        ("12", "finite number"),
        (True, "finite number"),
    ],
)
def test_bad_quantities_are_errors(value, message):
    document = _example()
    document["fuels"][1]["quantity"] = value
    (error,) = _found(check_activity(document), "error")
    assert error[0] == "/fuels/1/quantity"
    assert message in error[1]


def test_missing_quantity_is_an_error_in_every_section():
    document = _example()
    del document["heat"][0]["quantity"]
    del document["offsets"][0]["quantityTCo2"]
    errors = _found(check_activity(document), "error")
    assert [pointer for pointer, _ in errors] == ["/heat/0/quantity", "/offsets/0/quantityTCo2"]


def test_zero_lines_are_warnings():
    document = _example()
    document["electricity"][0]["quantity"] = 0
    document["processInputs"][1]["quantity"] = 0
    issues = check_activity(document)
    assert _found(issues, "error") == []
    assert [pointer for pointer, _ in _found(issues, "warning")] == [
        "/electricity/0/quantity",
        "/processInputs/1/quantity",
    ]


@pytest.mark.parametrize(
    ("fuel", "unit"),
    [("natural_gas", "t"), ("coke_oven_gas", "kg"), ("bituminous_coal", "Nm3"), ("diesel", "10^4 Nm3")],
)
def test_unit_that_does_not_fit_the_fuel(fuel, unit):
    document = _example(fuels=[{"fuel": fuel, "quantity": 1, "unit": unit, "dataSource": METER}])
    (error,) = _found(check_activity(document), "error")
    assert error[0] == "/fuels/0/unit"
    assert fuel in error[1]
    assert unit in error[1]


def test_fitting_units_pass():
    fuels = [
        {"fuel": "natural_gas", "quantity": 1, "unit": "Nm3", "dataSource": METER},
        {"fuel": "lng", "quantity": 1, "unit": "kg", "dataSource": METER},
        {
            "fuel": "other",
            "name": "x",
            "quantity": 1,
            "unit": "Nm3",
            "netCalorificValue": 1,
            "carbonContent": 1,
            "oxidationRate": 1,
            "dataSource": METER,
        },
    ]
    assert check_activity(_example(fuels=fuels)) == []


def test_other_fuel_needs_its_parameters():
    fuels = [
        {
            "fuel": "other",
            "name": "x",
            "quantity": 1,
            "unit": "t",
            "netCalorificValue": -2,
            "dataSource": METER,
        }
    ]
    errors = _found(check_activity(_example(fuels=fuels)), "error")
    assert [pointer for pointer, _ in errors] == [
        "/fuels/0/netCalorificValue",
        "/fuels/0/carbonContent",
        "/fuels/0/oxidationRate",
    ]


def test_green_electricity_without_evidence_is_an_error():
    document = _example()
    del document["electricity"][1]["evidence"]
    (error,) = _found(check_activity(document), "error")
    assert error[0] == "/electricity/1/evidence"


@pytest.mark.parametrize("value", ["48000", None, math.nan, False])
def test_added_value_must_be_a_number(value):
    (error,) = _found(check_activity(_example(industrialAddedValue10kCny=value)), "error")
    assert error[0] == "/industrialAddedValue10kCny"


@pytest.mark.parametrize("value", [0, -120.5])
def test_added_value_not_above_zero_is_a_warning(value):
    issues = check_activity(_example(industrialAddedValue10kCny=value))
    assert _found(issues, "error") == []
    ((pointer, message),) = _found(issues, "warning")
    assert pointer == "/industrialAddedValue10kCny"
    assert "not graded" in message


def test_heat_in_tonnes_needs_a_usable_enthalpy_or_temperature():
    heat = [
        {"kind": "purchased", "medium": "steam", "quantity": 1, "unit": "t", "dataSource": METER},
        {
            "kind": "purchased",
            "medium": "steam",
            "quantity": 1,
            "unit": "t",
            "enthalpyKjPerKg": 80,
            "dataSource": METER,
        },
        {
            "kind": "purchased",
            "medium": "hot-water",
            "quantity": 1,
            "unit": "t",
            "temperatureC": 15,
            "dataSource": METER,
        },
    ]
    errors = _found(check_activity(_example(heat=heat)), "error")
    assert [pointer for pointer, _ in errors] == [
        "/heat/0/enthalpyKjPerKg",
        "/heat/1/enthalpyKjPerKg",
        "/heat/2/temperatureC",
    ]
    assert "83.74" in errors[1][1]


def test_history_flags_a_month_far_from_the_others():
    # others of 2025-06: 100, 102, 98, 101, 99 → median 100, MAD 1; z = 0.6745 × (106 − 100) / 1 = 4.047 > 3.5
    totals = {"2025-01": 100, "2025-02": 102, "2025-03": 98, "2025-04": 101, "2025-05": 99, "2025-06": 106}
    (warning,) = check_history(totals)
    assert (warning.severity, warning.pointer) == ("warning", "2025-06")
    assert "median 100" in warning.message
    assert "+4.0" in warning.message


def test_history_keeps_a_month_within_reach():
    # 0.6745 × (105 − 100) / 1 = 3.37 ≤ 3.5
    totals = {"2025-01": 100, "2025-02": 102, "2025-03": 98, "2025-04": 101, "2025-05": 99, "2025-06": 105}
    assert check_history(totals) == []


def test_history_needs_four_other_periods():
    assert check_history({"2025-01": 100, "2025-02": 101, "2025-03": 99, "2025-04": 5000}) == []
    (warning,) = check_history(
        {"2025-01": 100, "2025-02": 101, "2025-03": 99, "2025-04": 100, "2025-05": 5000}
    )
    assert warning.pointer == "2025-05"


def test_history_with_a_flat_majority():
    # MAD of the others is 0: the mean absolute deviation scales instead; a flat history flags nothing
    assert check_history(dict.fromkeys(("2025-01", "2025-02", "2025-03", "2025-04", "2025-05"), 50.0)) == []
    totals = {"2025-01": 50, "2025-02": 50, "2025-03": 50, "2025-04": 50, "2025-05": 50, "2025-06": 80}
    (warning,) = check_history(totals)
    assert warning.pointer == "2025-06"


def test_history_reports_a_figure_that_is_not_a_number():
    (error,) = check_history({"2025-01": math.nan, "2025-02": 1})
    assert (error.severity, error.pointer) == ("error", "2025-01")
