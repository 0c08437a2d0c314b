"""The regional report as CSV: the file read back gives the JSON's figures, row for row, and stays safe.

The report is the hand-built one of `tests.resolver.test_region_page` (浙江省 by city, public and regulator
views). Reading back: an empty cell is null, ``true``/``false`` a boolean, digits an int, anything else a
float, and every value must equal the JSON's, type included (2315 stays an int, 1.0 stays a float).
"""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

import numpy as np
import pytest

from resolver.region_csv import (
    AGGREGATE_COLUMNS,
    CARRIERS,
    COLUMNS,
    GRADE_KEYS,
    report_csv,
    report_csv_filename,
)
from tests.resolver.test_region_page import example_report

FIGURES = (
    "enterprises",
    "emissionsTCo2",
    "grossEmissionsTCo2",
    "addedValue10kCny",
    "intensity",
    "benchmark",
    "efficiencyValue",
    "neutralityRate",
    "suppressed",
)


def read_back(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def value(cell: str) -> Any:
    """A CSV cell as the JSON value it stands for."""
    if cell == "":
        return None
    if cell in ("true", "false"):
        return cell == "true"
    try:
        return int(cell)
    except ValueError:
        return float(cell)


def assert_same_figures(row: dict[str, str], source: dict[str, Any], where: str) -> None:
    """Every AGG member of `source` (flat, grade counts, energy) equals its cell, type included."""
    expected: dict[str, Any] = {key: source[key] for key in FIGURES if key in source}
    for group, keys in (("gradeCounts", GRADE_KEYS), ("energyGj", CARRIERS), ("energyShares", CARRIERS)):
        for key in keys:
            if group in source:
                expected[f"{group}.{key}"] = source[group][key]
    if "grade" in source:
        expected["grade"] = source["grade"]
    assert expected, where
    for column, wanted in expected.items():
        got = value(row[column])
        assert got == wanted, f"{where} {column}: {row[column]!r} ≠ {wanted!r}"
        assert type(got) is type(wanted), (
            f"{where} {column}: {row[column]!r} is not a {type(wanted).__name__}"
        )
    for column in set(AGGREGATE_COLUMNS) - set(expected):
        assert row[column] == "", f"{where} {column}: a column this scope does not have must be empty"


@pytest.mark.parametrize("disclosure", ["public", "regulator"])
def test_the_csv_read_back_equals_the_json_for_every_row(disclosure):
    report = example_report(disclosure)
    rows = read_back(report_csv(report))
    rankings = report["rankings"]
    enterprises = rankings["enterprises"] or []
    points = report["trend"]["points"]
    # 1 totals + 11 cities + 7 industries + (8 enterprises for the regulator) + 12 months
    assert len(rows) == 1 + 11 + 7 + len(enterprises) + 12
    assert len(enterprises) == (8 if disclosure == "regulator" else 0)
    scopes = [row["scope"] for row in rows]
    assert scopes == (
        ["totals"] + ["child"] * 11 + ["industry"] * 7 + ["enterprise"] * len(enterprises) + ["trend"] * 12
    )

    totals = rows[0]
    assert (totals["code"], totals["nameZh"], totals["nameEn"]) == ("330000", "浙江省", "Zhejiang")
    assert (totals["region"], totals["industry"], totals["period"]) == ("330000", "", "2025")
    assert_same_figures(totals, report["totals"], "/totals")

    for row, child in zip(rows[1:12], report["children"], strict=True):
        assert (row["code"], row["region"], row["nameZh"], row["nameEn"]) == (
            child["code"],
            child["code"],
            child["nameZh"],
            child["nameEn"],
        )
        assert (row["industry"], row["period"]) == ("", "2025")
        assert_same_figures(row, child, f"child {child['code']}")

    for row, industry in zip(rows[12:19], rankings["industries"], strict=True):
        assert (row["code"], row["industry"], row["region"], row["nameZh"]) == (
            industry["code"],
            industry["code"],
            "330000",
            industry["nameZh"],
        )
        assert_same_figures(row, industry, f"industry {industry['code']}")

    for row, enterprise in zip(rows[19 : 19 + len(enterprises)], enterprises, strict=True):
        assert (row["code"], row["region"], row["industry"], row["period"]) == (
            enterprise["prefix"],
            enterprise["region"],
            enterprise["industry"],
            "2025",
        )
        assert_same_figures(row, enterprise, f"enterprise {enterprise['prefix']}")

    for row, point in zip(rows[-12:], points, strict=True):
        assert (row["code"], row["region"], row["period"]) == ("", "330000", point["period"])
        assert_same_figures(row, point, f"trend {point['period']}")


def test_suppressed_cells_are_empty_and_say_so():
    rows = read_back(report_csv(example_report("public")))
    zhoushan = next(row for row in rows if row["code"] == "330900")
    assert zhoushan["suppressed"] == "true"
    assert zhoushan["nameZh"] == "舟山市"  # the name is public, its figures are not…
    assert (zhoushan["enterprises"], zhoushan["benchmark"]) == ("2", "1.2")  # …but its count and B are
    kept = {"suppressed", "enterprises", "benchmark"}
    assert all(zhoushan[column] == "" for column in AGGREGATE_COLUMNS if column not in kept)
    hangzhou = next(row for row in rows if row["code"] == "330100")
    assert hangzhou["suppressed"] == "false"


def test_floats_keep_every_digit_and_ints_stay_ints():
    report = example_report()
    report["totals"].update(intensity=0.1 + 0.2, emissionsTCo2=1e-7, enterprises=2315, benchmark=1.0)
    (totals,) = read_back(report_csv(report))[:1]
    assert totals["intensity"] == "0.30000000000000004"  # repr(0.1 + 0.2): no rounding
    assert totals["emissionsTCo2"] == "1e-07"
    assert totals["enterprises"] == "2315"
    assert totals["benchmark"] == "1.0"
    # The engine's numpy scalars write as the Python numbers they equal.
    report["totals"].update(intensity=np.float64(1.25), enterprises=np.int64(7))
    (totals,) = read_back(report_csv(report))[:1]
    assert (totals["intensity"], totals["enterprises"]) == ("1.25", "7")


def test_the_file_is_rfc_4180_with_one_header_row():
    text = report_csv(example_report())
    lines = text.split("\r\n")
    assert lines[-1] == ""  # every line, the last too, ends in CRLF
    assert "\n" not in text.replace("\r\n", "")
    assert lines[0] == ",".join(COLUMNS)
    assert lines[0].startswith("scope,code,nameZh,nameEn,region,industry,period,enterprises,emissionsTCo2,")
    assert "gradeCounts.1" in COLUMNS
    assert "gradeCounts.ungraded" in COLUMNS
    assert "energyShares.other" in COLUMNS
    assert "energyGj.coal" in COLUMNS
    assert not text.startswith("\ufeff")  # the byte-order mark is the HTTP layer's


def test_a_malicious_name_is_quoted_and_cannot_run_as_a_formula():
    report = copy.deepcopy(example_report())
    name = '=HYPERLINK("http://evil.example","点我"), "quoted"\r\nnext line'
    report["children"][0]["nameZh"] = name
    report["children"][1]["nameEn"] = "@SUM(A1:A9)"
    report["children"][2]["nameEn"] = "-2+3"
    report["children"][3]["nameEn"] = "Hang-zhou, =not a formula in the middle"
    text = report_csv(report)
    # The csv module doubles the quotes and keeps the line break inside one quoted field.
    assert '"\'=HYPERLINK(""http://evil.example"",""点我""), ""quoted""\r\nnext line"' in text
    rows = read_back(text)
    assert rows[1]["nameZh"] == "'" + name
    assert rows[2]["nameEn"] == "'@SUM(A1:A9)"
    assert rows[3]["nameEn"] == "'-2+3"
    assert rows[4]["nameEn"] == "Hang-zhou, =not a formula in the middle"
    assert len(rows) == 1 + 11 + 7 + 12  # the embedded line break made no extra row
    assert rows[1]["emissionsTCo2"] == repr(report["children"][0]["emissionsTCo2"])


def test_a_figure_that_is_not_a_number_names_where_it_is():
    report = example_report()
    report["children"][2]["intensity"] = "0.94"
    with pytest.raises(ValueError, match=r"^/children/2/intensity: expected a number or null, got '0.94'$"):
        report_csv(report)
    report = example_report()
    report["totals"]["gradeCounts"]["ungraded"] = True
    with pytest.raises(
        ValueError, match=r"^/totals/gradeCounts/ungraded: expected a number or null, got True$"
    ):
        report_csv(report)
    report = example_report()
    report["children"][0]["suppressed"] = "no"
    with pytest.raises(ValueError, match=r"^/children/0/suppressed: expected true or false, got 'no'$"):
        report_csv(report)


def test_a_report_with_nothing_in_it_is_a_header_and_a_totals_row():
    report = {
        "region": {"code": "000000", "level": "national", "nameZh": "全国", "nameEn": "National"},
        "period": {"text": "2025Q1", "granularity": "quarter", "official": False, "months": []},
        "industry": {"code": "C32", "nameZh": "有色金属冶炼和压延加工业", "nameEn": "Non-ferrous"},
        "childLevel": "province",
        "disclosure": "public",
        "totals": {"enterprises": 0, "suppressed": False},
        "children": [],
        "rankings": {"children": [], "industries": [], "enterprises": None},
        "trend": {"granularity": "quarter", "points": []},
    }
    rows = read_back(report_csv(report))
    assert len(rows) == 1
    assert (rows[0]["scope"], rows[0]["region"], rows[0]["industry"], rows[0]["period"]) == (
        "totals",
        "000000",
        "C32",
        "2025Q1",
    )
    assert rows[0]["enterprises"] == "0"
    assert rows[0]["intensity"] == ""


def test_the_download_name_is_ascii_and_says_what_is_in_it():
    report = example_report()
    assert report_csv_filename(report) == "carbon-efficiency-330000-2025.csv"
    report["industry"] = {"code": "C32", "nameZh": "有色", "nameEn": "x"}
    report["period"]["text"] = '2025-03"; evil'
    assert report_csv_filename(report) == "carbon-efficiency-330000-2025-03evil-C32.csv"
