"""Evaluation periods: a year, half-year, quarter, month or the rolling 12 months ending in a month.

The period decides whether a result is an official grade or a trend: only a year and the rolling 12 months
are official (the Zhejiang/Huzhou method grades annual data); half-years, quarters and months are trends,
compared with the benchmark but not graded. A period is written as the certificate and the activity-data
document write it: ``2025``, ``2025H1``, ``2025Q1``, ``2025-03``; the rolling 12 months are written as their
last month (``2025-06`` with ``rolling=True`` is 2024-07 … 2025-06).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Granularity = Literal["year", "half-year", "quarter", "month", "rolling-12-months"]

OFFICIAL_GRANULARITIES: Final = frozenset({"year", "rolling-12-months"})

_SHAPE: Final = re.compile(
    r"(?P<year>[0-9]{4})(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|-(?P<month>0[1-9]|1[0-2]))?"
)


class InvalidPeriod(ValueError):
    """A period text that is none of the accepted shapes."""


@dataclass(frozen=True, slots=True)
class Period:
    """One evaluation period and the calendar months it covers, in order."""

    text: str
    """As written: ``2025``, ``2025H1``, ``2025Q1``, ``2025-03`` (the last month for rolling 12 months)."""
    granularity: Granularity
    months: tuple[str, ...]
    """``YYYY-MM`` of every month covered, oldest first."""
    official: bool
    """True for a year and rolling 12 months: only those are graded; shorter periods are trends."""

    @property
    def year(self) -> int:
        """The accounting year: the year of the last month (factors are chosen for it)."""
        return int(self.months[-1][:4])

    @property
    def first_month(self) -> str:
        """``YYYY-MM`` of the first month."""
        return self.months[0]

    @property
    def last_month(self) -> str:
        """``YYYY-MM`` of the last month."""
        return self.months[-1]

    def __str__(self) -> str:
        return self.text


def parse_period(text: str, *, rolling: bool = False) -> Period:
    """Parse ``2025``, ``2025H1``, ``2025Q1`` or ``2025-03``; with ``rolling=True`` a month names the
    12 months ending in it. Raises `InvalidPeriod` naming the text otherwise."""
    shape = _SHAPE.fullmatch(text) if isinstance(text, str) else None
    if shape is None:
        raise InvalidPeriod(
            f"period {text!r} is not a year (2025), half-year (2025H1), quarter (2025Q1) or month (2025-03)"
        )
    year = int(shape["year"])
    if rolling:
        if shape["month"] is None:
            raise InvalidPeriod(
                f"period {text!r}: rolling 12 months are named by their last month, as in 2025-06"
            )
        return Period(text, "rolling-12-months", _months(year, int(shape["month"]) - 11, 12), official=True)
    if shape["half"] is not None:
        return Period(text, "half-year", _months(year, 6 * int(shape["half"]) - 5, 6), official=False)
    if shape["quarter"] is not None:
        return Period(text, "quarter", _months(year, 3 * int(shape["quarter"]) - 2, 3), official=False)
    if shape["month"] is not None:
        return Period(text, "month", _months(year, int(shape["month"]), 1), official=False)
    return Period(text, "year", _months(year, 1, 12), official=True)


def pro_rata(period: Period) -> float:
    """The share of a year the period covers (months ÷ 12), to scale annual totals for a trend."""
    return len(period.months) / 12


def _months(year: int, first: int, count: int) -> tuple[str, ...]:
    """``count`` consecutive ``YYYY-MM`` from month ``first`` of ``year`` (``first`` ≤ 0 reaches into the year
    before), crossing year ends as needed."""
    index = year * 12 + first - 1
    return tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, index + count))
