"""Periods: the accepted shapes, their months, which are official, and the precise refusal of the rest."""

import pytest

from carbon_efficiency.periods import InvalidPeriod, parse_period, pro_rata


@pytest.mark.parametrize(
    ("text", "granularity", "first", "last", "count", "official"),
    [
        ("2025", "year", "2025-01", "2025-12", 12, True),
        ("2025H1", "half-year", "2025-01", "2025-06", 6, False),
        ("2025H2", "half-year", "2025-07", "2025-12", 6, False),
        ("2025Q1", "quarter", "2025-01", "2025-03", 3, False),
        ("2025Q4", "quarter", "2025-10", "2025-12", 3, False),
        ("2025-03", "month", "2025-03", "2025-03", 1, False),
    ],
)
def test_calendar_periods(text, granularity, first, last, count, official):
    period = parse_period(text)
    assert (period.text, period.granularity, period.official) == (text, granularity, official)
    assert (period.months[0], period.months[-1], len(period.months)) == (first, last, count)
    assert period.year == 2025
    assert pro_rata(period) == count / 12


def test_a_quarter_lists_its_months_in_order():
    assert parse_period("2025Q2").months == ("2025-04", "2025-05", "2025-06")


def test_rolling_twelve_months_end_in_the_month_named_and_take_its_year():
    period = parse_period("2025-06", rolling=True)
    assert period.granularity == "rolling-12-months"
    assert period.official
    assert period.months == tuple(f"2024-{m:02d}" for m in range(7, 13)) + tuple(
        f"2025-{m:02d}" for m in range(1, 7)
    )
    assert period.year == 2025
    assert pro_rata(period) == 1.0
    assert parse_period("2025-12", rolling=True).months == parse_period("2025").months
    assert parse_period("2025-01", rolling=True).first_month == "2024-02"


@pytest.mark.parametrize(
    "text", ["2025-13", "2025-00", "2025Q5", "2025H3", "25", "2025h1", " 2025", "2025-3", ""]
)
def test_anything_else_is_refused_with_one_line(text):
    with pytest.raises(InvalidPeriod) as caught:
        parse_period(text)
    assert str(caught.value) == (
        f"period {text!r} is not a year (2025), half-year (2025H1), quarter (2025Q1) or month (2025-03)"
    )


@pytest.mark.parametrize("text", ["2025", "2025H1", "2025Q3"])
def test_rolling_needs_a_month(text):
    with pytest.raises(InvalidPeriod, match="rolling 12 months are named by their last month"):
        parse_period(text, rolling=True)


def test_invalid_period_is_a_value_error():
    assert issubclass(InvalidPeriod, ValueError)
