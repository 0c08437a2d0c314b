"""The regional carbon-efficiency report as CSV (``/api/regions/{code}/efficiency?format=csv``).

One table for a spreadsheet: a header row, then one row per line of the report, told apart by ``scope``
(``totals``, ``child``, ``industry``, ``enterprise``, ``trend``). Every row names its own ``region``,
``industry`` and ``period``, so rows can be filtered and pivoted without the rest of the file; the
aggregate figures are flattened (``gradeCounts.1`` … ``energyShares.other``) and a column a scope does not
have is left empty, as is every null (a cell suppressed for the public).

Figures are written exactly as the JSON carries them (integers as integers, floats by Python's ``repr``,
the shortest text that reads back to the same float), so a reader gets the JSON's numbers back. Text that a
spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a
leading apostrophe (OWASP "CSV injection"); no code or name of the shipped tables starts that way.

RFC 4180: comma separated, ``"`` quoted where needed, ``\\r\\n`` line ends. `report_csv` returns text; the
byte-order mark Excel needs to read UTF-8 is the HTTP layer's business, where the text becomes bytes.
"""

from __future__ import annotations

import csv
import io
import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

__all__ = ["AGGREGATE_COLUMNS", "CARRIERS", "COLUMNS", "GRADE_KEYS", "report_csv", "report_csv_filename"]

GRADE_KEYS: Final = ("1", "2", "3", "4", "5", "ungraded")
CARRIERS: Final = ("coal", "oil", "gas", "electricity", "heat", "other")
AGGREGATE_COLUMNS: Final = (
    "enterprises",
    "emissionsTCo2",
    "grossEmissionsTCo2",
    "addedValue10kCny",
    "intensity",
    "benchmark",
    "efficiencyValue",
    "grade",
    *(f"gradeCounts.{key}" for key in GRADE_KEYS),
    *(f"energyGj.{key}" for key in CARRIERS),
    *(f"energyShares.{key}" for key in CARRIERS),
    "neutralityRate",
    "suppressed",
)
"""The figure columns: every AGG member flattened, plus an enterprise's ``grade``."""
COLUMNS: Final = ("scope", "code", "nameZh", "nameEn", "region", "industry", "period", *AGGREGATE_COLUMNS)
_TEXT: Final = frozenset(("scope", "code", "nameZh", "nameEn", "region", "industry", "period"))
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def report_csv(report: Mapping[str, Any]) -> str:
    """The report as RFC 4180 CSV text: one header row (`COLUMNS`), then the totals, the child regions,
    the industries, the enterprises (regulator view only) and the trend points, one row each. ValueError,
    naming the JSON pointer, for a figure that is not a number (or a boolean where one is expected)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for pointer, row in _rows(report):
        writer.writerow(_cell(pointer, column, row.get(column)) for column in COLUMNS)
    return out.getvalue()


def report_csv_filename(report: Mapping[str, Any]) -> str:
    """A download name for ``Content-Disposition``: ``carbon-efficiency-330000-2025-C32.csv`` (ASCII only)."""
    parts = [
        _mapping(report.get("region")).get("code"),
        _mapping(report.get("period")).get("text"),
        _mapping(report.get("industry")).get("code"),
    ]
    words = ["carbon-efficiency"] + [
        "".join(c for c in str(part) if c.isascii() and (c.isalnum() or c == "-")) for part in parts if part
    ]
    return "-".join(word for word in words if word) + ".csv"


def _rows(report: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON pointer, flat row) for every line of the report, in the order of the file."""
    place = _mapping(report.get("region"))
    region = place.get("code")
    industry = _mapping(report.get("industry")).get("code")
    period = _mapping(report.get("period")).get("text")
    common = {"region": region, "industry": industry, "period": period}
    yield (
        "/totals",
        {
            "scope": "totals",
            "code": region,
            "nameZh": place.get("nameZh"),
            "nameEn": place.get("nameEn"),
            **common,
            **_flat(_mapping(report.get("totals"))),
        },
    )
    for i, child in enumerate(_list(report.get("children"))):
        yield (
            f"/children/{i}",
            {
                **_flat(child),
                **common,
                "scope": "child",
                "code": child.get("code"),
                "region": child.get("code"),
            }
            | _names(child),
        )
    rankings = _mapping(report.get("rankings"))
    for i, row in enumerate(_list(rankings.get("industries"))):
        yield (
            f"/rankings/industries/{i}",
            {
                **_flat(row),
                **common,
                "scope": "industry",
                "code": row.get("code"),
                "industry": row.get("code"),
            }
            | _names(row),
        )
    for i, row in enumerate(_list(rankings.get("enterprises"))):
        yield (
            f"/rankings/enterprises/{i}",
            {
                **_flat(row),
                "scope": "enterprise",
                "code": row.get("prefix"),
                "region": row.get("region"),
                "industry": row.get("industry"),
                "period": period,
                "grade": row.get("grade"),
            },
        )
    for i, point in enumerate(_list(_mapping(report.get("trend")).get("points"))):
        yield (
            f"/trend/points/{i}",
            {**_flat(point), **common, "scope": "trend", "code": None, "period": point.get("period")},
        )


def _flat(aggregate: Mapping[str, Any]) -> dict[str, Any]:
    """An AGG (or any row carrying some of its members) with its nested maps spread into dotted columns."""
    flat = {key: value for key, value in aggregate.items() if not isinstance(value, Mapping)}
    for group in ("gradeCounts", "energyGj", "energyShares"):
        members = _mapping(aggregate.get(group))
        for key, value in members.items():
            flat[f"{group}.{key}"] = value
    return flat


def _names(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"nameZh": row.get("nameZh"), "nameEn": row.get("nameEn")}


def _cell(pointer: str, column: str, value: Any) -> str:
    where = f"{pointer}/{column.replace('.', '/')}"
    if value is None:
        return ""
    if column in _TEXT:
        text = str(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    if column == "suppressed":
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return "true" if value else "false"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where}: expected a number or null, got {value!r}")
    # float(), int(): a numpy scalar from the engine writes as the Python number it equals.
    return str(int(value)) if isinstance(value, numbers.Integral) else repr(float(value))


def _list(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [row for row in value if isinstance(row, Mapping)]
    return []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
