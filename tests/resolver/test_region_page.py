"""The regional dashboard and its SVG charts: what the page says, its links, its escaping, and how it looks.

The report is built by hand (`example_report`) in the shape of the ``/api/regions/{code}/efficiency``
contract: 浙江省 with its eleven cities (舟山 suppressed in the public view), seven industries, twelve
months of trend and, for a regulator, eight enterprises. The browser checks draw the page in headless
Chromium 390 px wide (a phone) and 1280 px wide (a desk); the screenshots are kept under tests/artifacts/
for a person to look at, and the test checks the chart colours are on screen and, measured in the
browser, no element reaches past a phone's screen.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from carbon_efficiency.grading import GRADES
from resolver.region_charts import (
    ENERGY_CARRIERS,
    UNGRADED_COLOUR,
    energy_structure_svg,
    format_number,
    format_percent,
    grade_colour,
    grade_distribution_svg,
    nice_ticks,
    ranking_svg,
    trend_svg,
)
from resolver.region_page import render_region_dashboard, render_region_error_page
from tests.imaging import ARTIFACTS, Image, run_chromium, screenshot

PHONE_WIDTH = 390
DESK_WIDTH = 1280
BACKGROUND = (0xEE, 0xF2, 0xEF)  # body background of the page's CSS
CARRIERS = ("coal", "oil", "gas", "electricity", "heat", "other")

# ----------------------------------------------------------------------------------------------------------
# The report


def aggregate(
    enterprises: int,
    emissions: float,
    added_value: float,
    benchmark: float,
    grade_counts: tuple[int, int, int, int, int, int],
    energy_gj: tuple[float, float, float, float, float, float],
    offsets: float,
) -> dict[str, Any]:
    """An AGG whose ratios follow from its sums: L = E ÷ V, K = L ÷ B, shares = GJ ÷ ΣGJ, rate = offsets ÷ gross."""
    gross = emissions + offsets
    total_gj = sum(energy_gj)
    return {
        "enterprises": enterprises,
        "emissionsTCo2": emissions,
        "grossEmissionsTCo2": gross,
        "addedValue10kCny": added_value,
        "intensity": emissions / added_value,
        "benchmark": benchmark,
        "efficiencyValue": emissions / added_value / benchmark,
        "gradeCounts": dict(zip(("1", "2", "3", "4", "5", "ungraded"), grade_counts, strict=True)),
        "energyGj": dict(zip(CARRIERS, energy_gj, strict=True)),
        "energyShares": {key: gj / total_gj for key, gj in zip(CARRIERS, energy_gj, strict=True)},
        "neutralityRate": offsets / gross,
        "suppressed": False,
    }


def suppressed_aggregate(enterprises: int, benchmark: float | None) -> dict[str, Any]:
    """A cell of fewer than 3 enterprises as the public sees it: every figure null but the enterprise count
    and the (national) benchmark."""
    return {
        "enterprises": enterprises,
        "emissionsTCo2": None,
        "grossEmissionsTCo2": None,
        "addedValue10kCny": None,
        "intensity": None,
        "benchmark": benchmark,
        "efficiencyValue": None,
        "gradeCounts": dict.fromkeys(("1", "2", "3", "4", "5", "ungraded")),
        "energyGj": dict.fromkeys(CARRIERS),
        "energyShares": dict.fromkeys(CARRIERS),
        "neutralityRate": None,
        "suppressed": True,
    }


# (code, zh, en, enterprises, emissions tCO₂, added value 10⁴ CNY); the province benchmark is 1.2.
CITIES = (
    ("330100", "杭州市", "Hangzhou", 412, 3_861_250.5, 4_102_300.0),
    ("330200", "宁波市", "Ningbo", 388, 6_120_400.0, 3_950_120.0),
    ("330300", "温州市", "Wenzhou", 265, 2_214_800.25, 2_301_450.0),
    ("330400", "嘉兴市", "Jiaxing", 240, 2_980_100.0, 2_010_880.0),
    ("330500", "湖州市", "Huzhou", 198, 3_105_600.0, 1_640_200.0),
    ("330600", "绍兴市", "Shaoxing", 231, 3_390_000.0, 2_120_000.0),
    ("330700", "金华市", "Jinhua", 206, 1_980_350.0, 1_790_000.0),
    ("330800", "衢州市", "Quzhou", 88, 3_402_000.0, 820_500.0),
    ("330900", "舟山市", "Zhoushan", 2, 51_000.0, 30_000.0),
    ("331000", "台州市", "Taizhou", 214, 1_760_900.0, 1_905_300.0),
    ("331100", "丽水市", "Lishui", 71, 402_300.0, 560_400.0),
)
INDUSTRIES = (
    (
        "D44",
        "电力、热力生产和供应业",
        "Production and Supply of Electricity and Heat",
        41,
        9_800_000.0,
        1_950_000.0,
    ),
    (
        "C30",
        "非金属矿物制品业",
        "Manufacture of Non-metallic Mineral Products",
        322,
        5_230_000.0,
        2_480_000.0,
    ),
    (
        "C26",
        "化学原料和化学制品制造业",
        "Manufacture of Raw Chemical Materials and Chemical Products",
        301,
        4_120_000.0,
        3_900_000.0,
    ),
    (
        "C31",
        "黑色金属冶炼和压延加工业",
        "Smelting and Pressing of Ferrous Metals",
        58,
        3_010_000.0,
        1_020_000.0,
    ),
    ("C17", "纺织业", "Manufacture of Textiles", 612, 2_450_000.0, 3_610_000.0),
    (
        "C32",
        "有色金属冶炼和压延加工业",
        "Smelting and Pressing of Non-ferrous Metals",
        95,
        1_960_000.0,
        1_330_000.0,
    ),
    (
        "C39",
        "计算机、通信和其他电子设备制造业",
        "Manufacture of Computers, Communication and Other Electronic Equipment",
        2,
        9_500.0,
        41_000.0,
    ),
)


def example_report(disclosure: str = "public") -> dict[str, Any]:
    """浙江省 2025 by city: the public view (舟山, with 2 enterprises, suppressed; C39 too) or the regulator's."""
    public = disclosure == "public"
    children = []
    for i, (code, zh, en, count, emissions, added) in enumerate(CITIES):
        if public and count < 3:
            figures = suppressed_aggregate(count, 1.2)
        else:
            figures = aggregate(
                count,
                emissions,
                added,
                1.2,
                (
                    count // 5,
                    count // 4,
                    count // 3,
                    count // 8,
                    count // 10,
                    count - (count // 5 + count // 4 + count // 3 + count // 8 + count // 10),
                ),
                (
                    emissions * (4.1 - i * 0.2),
                    emissions * 0.6,
                    emissions * (0.9 + i * 0.1),
                    emissions * 2.4,
                    emissions * 0.5,
                    emissions * 0.1,
                ),
                emissions * 0.004 * (i % 4),
            )
        children.append({"code": code, "nameZh": zh, "nameEn": en, **figures})
    ranked = sorted(
        (row for row in children if row["intensity"] is not None), key=lambda row: row["intensity"]
    )
    industries = []
    for code, zh, en, count, emissions, added in INDUSTRIES:
        figures = (
            suppressed_aggregate(count, 1.35)
            if public and count < 3
            else aggregate(
                count,
                emissions,
                added,
                emissions / added * 1.1 if code == "C32" else 1.35,
                (
                    count // 4,
                    count // 4,
                    count // 4,
                    count // 8,
                    count // 16,
                    count - 3 * (count // 4) - count // 8 - count // 16,
                ),
                (emissions * 3, emissions * 0.4, emissions, emissions * 2, emissions * 0.3, emissions * 0.05),
                emissions * 0.003,
            )
        )
        industries.append({"code": code, "nameZh": zh, "nameEn": en, **figures})
    totals = aggregate(
        2315,
        29_268_600.75,
        21_231_150.0,
        1.2,
        (431, 552, 701, 265, 190, 176),
        (91_500_000.0, 17_400_000.0, 33_800_000.0, 70_300_000.0, 14_600_000.0, 2_900_000.0),
        93_500.0,
    )
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    trend = [
        {
            "period": month,
            "enterprises": 2315 - (12 - m) * 3,
            "emissionsTCo2": 2_560_000.0 - m * 21_500.5 + (m % 3) * 40_000.0,
            "addedValue10kCny": 1_690_000.0 + m * 12_100.0,
            "intensity": (2_560_000.0 - m * 21_500.5 + (m % 3) * 40_000.0) / (1_690_000.0 + m * 12_100.0),
            "suppressed": False,
        }
        for m, month in enumerate(months, start=1)
    ]
    enterprises = None
    if not public:
        enterprises = [
            {
                "prefix": f"88.186.{n}",
                "region": region,
                "industry": industry,
                "emissionsTCo2": emissions,
                "addedValue10kCny": added,
                "intensity": emissions / added,
                "grade": grade,
            }
            for n, region, industry, emissions, added, grade in (
                (101, "330523", "D44", 1_850_000.0, 260_000.0, 5),
                (7, "330802", "C31", 1_120_400.0, 301_000.0, 4),
                (1, "330522", "C3216", 1_170_000.0, 48_000.0, 2),
                (55, "330206", "C26", 902_000.0, 510_000.0, 3),
                (12, "330110", "C30", 655_500.25, 402_000.0, 1),
                (230, "330681", "C17", 301_000.0, 290_000.0, None),
                (88, "330902", "C39", 5_200.0, 30_000.0, 1),
                (89, "330903", "C39", 4_300.0, 11_000.0, 2),
            )
        ]
    return {
        "region": {"code": "330000", "level": "province", "nameZh": "浙江省", "nameEn": "Zhejiang"},
        "period": {"text": "2025", "granularity": "year", "official": True, "months": months},
        "industry": None,
        "childLevel": "city",
        "disclosure": disclosure,
        "totals": totals,
        "children": children,
        "rankings": {
            "children": [row["code"] for row in ranked],
            "industries": industries,
            "enterprises": enterprises,
        },
        "trend": {"granularity": "month", "points": trend},
    }


def render(report: dict[str, Any] | None = None, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "base_path": "/regions",
        "query": {"period": "2025"},
        "csv_url": "/api/regions/330000/efficiency?period=2025&format=csv",
        "json_url": "/api/regions/330000/efficiency?period=2025",
    }
    arguments.update(overrides)
    return render_region_dashboard(example_report() if report is None else report, **arguments)


def text_of(html: str) -> str:
    """The visible words, tags removed, entities of the escaped text kept, whitespace folded."""
    body = html.split("<body>", 1)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def hrefs(html: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]*)"', html)]


# ----------------------------------------------------------------------------------------------------------
# What the page says


def test_the_public_page_shows_the_region_its_figures_and_charts():
    html = render()
    words = text_of(html)
    assert html.startswith("<!doctype html>")
    assert '<html lang="zh-CN">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    for shown in (
        "浙江省",
        "Zhejiang",
        "330000",
        "省级",
        "Province",
        "2025",
        "年度",
        "全部行业",
        "公开数据 Public aggregates",
        "2,315",  # enterprises
        "29,268,601",  # emissions 29,268,600.75 in whole tonnes
        "29,362,101",  # gross = 29,268,600.75 + 93,500
        "21,231,150",  # added value
        "1.379",  # L = 29,268,600.75 / 21,231,150 = 1.37857
        "1.149",  # K = 1.37857 / 1.2 = 1.14881
        "≈ 3 级 黄",  # 0.8 < K ≤ 1.2
        "0.32%",  # neutrality = 93,500 / 29,362,100.75 = 0.31844 %
        "230,500,000 GJ",  # Σ energy: 91.5 + 17.4 + 33.8 + 70.3 + 14.6 + 2.9 million GJ
        "碳效等级分布",
        "能源结构",
        "排放与强度趋势",
        "各市碳强度排名",
        "行业排放排名",
        "各市明细",
        "行业构成",
        "丽水市",  # 402,300 / 560,400 = 0.7179: the lowest intensity, rank 1
        "0.7179",
        "D44 电力、热力生产和供应业",
        "33.5%",  # D44's share of the emissions: 9,800,000 / 29,268,600.75 = 33.48 %
        "下载 CSV",
    ):
        assert shown in words, shown
    assert html.count("<svg ") == 5  # grades, energy, trend, ranking of cities, ranking of industries


def test_the_public_page_has_no_enterprise_table_and_explains_suppression():
    html = render()
    words = text_of(html)
    assert "重点企业" not in words
    assert "data enterprises" not in html
    assert "88.186." not in html
    assert "少于 3 家企业的单元格不公开" in words
    assert "cells with fewer than 3 enterprises are not shown publicly" in words
    # 舟山 (2 enterprises) is listed by name, its figures are not; it comes after the ranked cities.
    table = html.split('<table class="data children">')[1].split("</table>")[0]
    zhoushan = table.split('href="/regions/330900?period=2025"')[1].split("</tr>")[0]
    assert table.rindex("330900") > table.rindex("331000")  # 台州, the last ranked city, before it
    assert "已隐藏：少于 3 家企业" in zhoushan
    assert "51,000" not in words
    assert "已隐藏 suppressed" in words  # its bar in the ranking chart, and C39's among the industries


def test_the_regulator_page_lists_the_enterprises_and_no_suppression_note():
    report = example_report("regulator")
    html = render(report)
    words = text_of(html)
    assert "监管视图 Regulator view" in words
    assert "重点企业" in words
    assert "少于 3 家企业的单元格不公开" not in words
    for prefix in ("88.186.101", "88.186.7", "88.186.1", "88.186.230"):
        assert f"<code>{prefix}</code>" in html
    assert "330523</code> 安吉县" in html  # the region named from GB/T 2260
    assert "C3216</code> 有色金属冶炼和压延加工业" in html  # a class named by its division
    assert "5 级 红" in words
    assert "未评级" in words  # 88.186.230 has no grade
    # 舟山 is a row of figures for a regulator: 51,000 t over 30,000 × 10⁴ CNY
    assert "51,000" in words


def test_every_sub_region_links_down_with_the_same_query():
    html = render(query={"period": "2025Q1", "industry": "C32", "lang": "en"})
    for code, *_ in CITIES:
        assert f'href="/regions/{code}?period=2025Q1&amp;industry=C32&amp;lang=en"' in html, code
    # the ranking chart links its bars the same way
    assert html.count('<a href="/regions/330100?period=2025Q1&amp;industry=C32&amp;lang=en">') == 2


def test_drill_links_keep_a_level_only_where_it_is_below_the_linked_region():
    html = render(query={"period": "2025", "level": "county", "format": "html"})
    links = hrefs(html)
    # county is below a city: kept on the way down; format (the page's own) is never passed on
    assert "/regions/330100?period=2025&level=county" in links
    # up: county is below the nation too
    assert "/regions/000000?period=2025&level=county" in links
    html = render(query={"period": "2025", "level": "city"})
    links = hrefs(html)
    assert "/regions/330100?period=2025" in links  # a city cannot break down by city
    assert "/regions/000000?period=2025&level=city" in links


def test_the_breadcrumb_climbs_from_a_county_to_the_nation():
    report = example_report()
    report["region"] = {"code": "330522", "level": "county", "nameZh": "长兴县", "nameEn": "Changxing"}
    report["childLevel"] = None
    report["children"] = []
    report["rankings"]["children"] = []
    html = render(report, base_path="/regions/", query={})
    crumbs = html.split('<nav class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="([^"]+)"', crumbs) == ["/regions/000000", "/regions/330000", "/regions/330500"]
    assert "全国" in crumbs
    assert "浙江省" in crumbs
    assert "湖州市" in crumbs
    assert "Huzhou" in crumbs
    assert '<span aria-current="page">长兴县 <span>Changxing</span></span>' in crumbs
    assert "各市碳强度排名" not in html
    assert "data children" not in html
    assert 'name="level"' not in html  # nothing below a county to break down by


def test_a_city_without_counties_does_not_link_to_itself():
    report = example_report()
    report["region"] = {"code": "441900", "level": "county", "nameZh": "东莞市", "nameEn": "Dongguan"}
    crumbs = render(report, query={}).split('<nav class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="([^"]+)"', crumbs) == ["/regions/000000", "/regions/440000"]


def test_a_national_report_has_no_breadcrumb_above_it():
    report = example_report()
    report["region"] = {"code": "000000", "level": "national", "nameZh": "全国", "nameEn": "National"}
    report["childLevel"] = "province"
    html = render(report)
    crumbs = html.split('<nav class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert "href=" not in crumbs
    assert "<h1>全国 <span class=en>National</span></h1>" in html
    assert "各省（区、市）碳强度排名" in html


def test_industry_rows_filter_the_same_region_by_that_industry():
    html = render(query={"period": "2025", "industry": "C17"})
    assert 'href="/regions/330000?period=2025&amp;industry=D44"' in html
    assert 'href="/regions/330000?period=2025&amp;industry=C30"' in html


def test_the_filter_form_keeps_the_other_query_parameters():
    html = render(
        query={"period": "2025-03", "industry": "C32", "level": "county", "lang": "en", "format": "html"}
    )
    form = html.split('<form class="filters"', 1)[1].split("</form>", 1)[0]
    assert 'method="get" action="/regions/330000"' in form
    assert '<input name="period" value="2025-03"' in form
    assert '<input name="industry" value="C32"' in form
    assert '<option value="county" selected>' in form
    assert '<option value="city">' in form
    assert '<input type="hidden" name="lang" value="en">' in form
    assert 'name="format"' not in form
    assert '<option value="C32">C32 有色金属冶炼和压延加工业</option>' in form  # the GB/T 4754 divisions


def test_a_trend_period_says_it_is_not_an_official_grading():
    report = example_report()
    report["period"].update(text="2025Q3", granularity="quarter", official=False)
    words = text_of(render(report))
    assert "趋势参考 Trend only" in words
    assert "2025Q3 季度" in words


def test_the_page_is_self_contained_and_runs_no_script():
    html = render(example_report("regulator"))
    lowered = html.lower()
    for banned in ("<script", "<link", "@import", "url(", "<iframe", "<img", "javascript:", " on"):
        if banned == " on":
            assert not re.search(r"<[^>]+\son[a-z]+=", html), "an event handler attribute"
            continue
        assert banned not in lowered, banned
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src &#x27;none&#x27;" in policy
    assert "form-action &#x27;self&#x27;" in policy
    # Every link is a region page or one of the two exports the caller named.
    for link in hrefs(html):
        assert link.startswith("/regions/") or link.startswith(
            "/api/regions/330000/efficiency?period=2025"
        ), link
    assert "/api/regions/330000/efficiency?period=2025&format=csv" in hrefs(html)
    for family in ('"Noto Sans CJK SC"', '"PingFang SC"', '"Microsoft YaHei"', "sans-serif"):
        assert family in html


def test_a_malicious_name_is_shown_as_text_everywhere():
    report = example_report("regulator")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    report["region"]["nameZh"] = evil
    report["children"][0]["nameZh"] = evil
    report["children"][0]["code"] = '330100"><b>'
    report["rankings"]["children"][report["rankings"]["children"].index("330100")] = '330100"><b>'
    report["rankings"]["industries"][0]["nameEn"] = evil
    report["rankings"]["enterprises"][0]["prefix"] = "<i>88.186.101</i>"
    report["period"]["text"] = "<u>2025</u>"
    html = render(report, query={"period": '"><script>', "x": "<y>"})
    assert "<script" not in html
    assert "<img" not in html
    assert '330100"><b>' not in html
    assert "<i>88.186.101</i>" not in html
    assert "<u>2025</u>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<title>&lt;script&gt;" in html
    assert "/regions/330100%22%3E%3Cb%3E" not in html  # the code is escaped as text, not URL-mangled…
    assert 'href="/regions/330100&quot;&gt;&lt;b&gt;?period=%22%3E%3Cscript%3E&amp;x=%3Cy%3E"' in html
    # …and the SVG charts carry the name as escaped text too.
    for svg in re.findall(r"<svg .*?</svg>", html):
        ET.fromstring(svg)  # well-formed XML: nothing broke out of a text node or attribute


def test_links_must_be_relative_or_http():
    with pytest.raises(ValueError, match="only relative and http"):
        render(csv_url="javascript:alert(1)")
    with pytest.raises(ValueError, match="only relative and http"):
        render(json_url="data:application/json,{}")
    with pytest.raises(ValueError, match="only relative and http"):
        render(base_path="javascript:/regions")
    html = render(base_path="https://resolver.example/regions", query={})
    assert 'href="https://resolver.example/regions/330100"' in html


def test_a_report_of_nothing_still_renders():
    report = {
        "region": {"code": "330500", "level": "city", "nameZh": "湖州市", "nameEn": "Huzhou"},
        "period": {"text": "2025-03", "granularity": "month", "official": False, "months": ["2025-03"]},
        "industry": {"code": "C32", "nameZh": "有色金属冶炼和压延加工业", "nameEn": "Non-ferrous"},
        "childLevel": "county",
        "disclosure": "public",
        "totals": suppressed_aggregate(2, None),
        "children": [],
        "rankings": {"children": [], "industries": [], "enterprises": None},
        "trend": {"granularity": "month", "points": []},
    }
    html = render(report)
    words = text_of(html)
    assert "已隐藏 suppressed" in words  # the tiles and the charts of a suppressed total
    assert "暂无数据" in words  # the trend has no points
    assert "C32 有色金属冶炼和压延加工业" in words
    for svg in re.findall(r"<svg .*?</svg>", html):
        ET.fromstring(svg)


def test_the_error_page_is_bilingual_and_escapes_the_detail():
    html = render_region_error_page(403, "无权查看该地区", "Outside your region", 'region <330100> "x"')
    assert '<html lang="zh-CN">' in html
    assert "HTTP 403" in html
    assert "无权查看该地区" in html
    assert "Outside your region" in html
    assert "region &lt;330100&gt; &quot;x&quot;" in html
    assert "<script" not in html.lower()


# ----------------------------------------------------------------------------------------------------------
# The charts


def svg_root(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == "100%"
    assert root.get("viewBox").startswith("0 0 340 ")
    assert "<script" not in svg.lower()
    assert "href" not in svg or "<a href=" in svg
    return root


def fills(svg: str) -> list[str]:
    return re.findall(r'<rect [^>]*fill="(#[0-9A-Fa-f]{6})"', svg)


def test_number_formats():
    assert format_number(1170000) == "1,170,000"
    assert format_number(29268600.75) == "29,268,601"
    assert format_number(24.2711) == "24.27"
    assert format_number(0.79631) == "0.7963"
    assert format_number(None) == "—"
    assert format_number(True) == "—"
    assert format_number(float("nan")) == "—"
    assert format_percent(0.4321) == "43.2%"
    assert format_percent(0.4) == "40%"
    assert format_percent(0.0031844) == "0.32%"  # below 1 %: two significant digits
    assert format_percent(0.000432) == "0.043%"
    assert format_percent(0) == "0%"
    assert format_percent(None) == "—"


def test_nice_ticks_are_round_and_cover_the_maximum():
    assert nice_ticks(2_560_000 / 1e4) == (0, 100, 200, 300)  # 256 / 4 = 64 → step 100
    assert nice_ticks(1.52) == (0, 0.5, 1.0, 1.5, 2.0)  # 0.38 → step 0.5
    assert nice_ticks(4.146) == (0, 2, 4, 6)  # 1.04 → step 2
    assert nice_ticks(10) == (0, 2.5, 5, 7.5, 10)  # 2.5 exactly
    assert nice_ticks(0.3) == (0, 0.1, 0.2, 0.3)  # not 0.30000000000000004
    assert nice_ticks(0) == (0, 1)
    assert nice_ticks(float("nan")) == (0, 1)


def test_grade_colour_follows_the_bands():
    assert grade_colour(0.6) == GRADES[0].hex  # on the edge: the better grade
    assert grade_colour(0.61) == GRADES[1].hex
    assert grade_colour(2.0) == GRADES[3].hex
    assert grade_colour(2.01) == GRADES[4].hex
    assert grade_colour(None) is None
    assert grade_colour(float("inf")) is None


def test_the_grade_chart_draws_one_bar_per_grade_in_its_colour():
    counts = {"1": 431, "2": 552, "3": 701, "4": 265, "5": 190, "ungraded": 176}
    svg = grade_distribution_svg(counts)
    svg_root(svg)
    assert fills(svg) == [band.hex for band in GRADES] + [UNGRADED_COLOUR]
    # the tallest bar is 3 (701); shares of 2,315: 701 / 2,315 = 30.28 %
    assert ">701<" in svg
    assert ">30.3%<" in svg
    assert ">Ungraded<" in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert max(heights) == heights[2]
    assert heights[0] == pytest.approx(heights[2] * 431 / 701, abs=0.06)  # to the 0.1 written


def test_the_grade_chart_leaves_out_unknown_counts_and_says_when_all_are_hidden():
    svg = grade_distribution_svg({"1": 3, "2": None, "3": 5, "4": 0, "5": None, "ungraded": 1})
    assert fills(svg) == [GRADES[0].hex, GRADES[2].hex, GRADES[3].hex, UNGRADED_COLOUR]
    assert svg.count(">—<") == 2
    hidden = grade_distribution_svg(dict.fromkeys(("1", "2", "3", "4", "5", "ungraded")), suppressed=True)
    svg_root(hidden)
    assert "已隐藏" in hidden
    assert "<rect " in hidden
    assert GRADES[0].hex not in hidden
    assert "暂无数据" in grade_distribution_svg(None)


def test_the_trend_chart_has_bars_a_line_two_axes_and_a_gap_for_a_missing_month():
    points = example_report()["trend"]["points"]
    points[5] = {**points[5], "intensity": None, "emissionsTCo2": None}
    svg = trend_svg(points)
    svg_root(svg)
    assert fills(svg).count("#5b8db8") == 1 + 11  # the legend swatch and eleven months
    assert svg.count("<polyline ") == 2  # January-May and July-December
    assert svg.count("<circle ") == 1 + 11
    assert ">万tCO₂<" not in svg
    assert "排放 Emissions · 万tCO₂" in svg
    assert "强度 Intensity · tCO₂/万元" in svg
    assert "2025 年 · 月 month" in svg
    for tick in (">0<", ">100<", ">200<", ">300<", ">1.5<"):
        assert tick in svg, tick
    assert "暂无数据" in trend_svg([])
    assert "已隐藏" in trend_svg([{"period": "2025-01", "emissionsTCo2": None, "intensity": None}])


def test_quarters_and_years_label_the_trend_axis():
    quarters = trend_svg(
        [{"period": f"2025Q{q}", "emissionsTCo2": 10.0 * q, "intensity": 0.5} for q in (1, 2, 3)]
    )
    assert ">Q2<" in quarters
    assert "2025 年 · 季度 quarter" in quarters
    assert "排放 Emissions · tCO₂" in quarters  # small figures stay in tonnes
    years = trend_svg(
        [{"period": str(y), "emissionsTCo2": 5.0, "intensity": 0.5} for y in (2023, 2024, 2025)]
    )
    assert ">2024<" in years


def test_the_energy_chart_stacks_the_shares_with_a_legend():
    shares = {
        "coal": 0.397,
        "oil": 0.0755,
        "gas": 0.1466,
        "electricity": 0.305,
        "heat": 0.0633,
        "other": 0.0126,
    }
    svg = energy_structure_svg(shares)
    svg_root(svg)
    segments = re.findall(
        r'<rect x="([\d.]+)" y="8" width="([\d.]+)" height="30" fill="(#\w+)" data-carrier', svg
    )
    assert [colour for *_, colour in segments] == [colour for *_, colour in ENERGY_CARRIERS]
    total_width = sum(float(width) for _, width, _ in segments)
    assert total_width == pytest.approx(324, abs=0.4)  # 340 − 2 × 8 margin, to the 0.1 written per segment
    for words in ("煤", "coal", "39.7%", "电", "electricity", "30.5%", "其他", "1.3%"):
        assert f">{words}<" in svg, words
    missing = energy_structure_svg({**shares, "heat": None})
    assert ">—<" in missing
    assert 'data-carrier="heat"' not in missing
    assert "已隐藏" in energy_structure_svg(dict.fromkeys(shares), suppressed=True)


def test_the_ranking_chart_draws_bars_in_grade_colours_with_the_benchmark_line():
    rows = [
        {"nameZh": "丽水市", "intensity": 0.7179, "efficiencyValue": 0.598, "href": "/regions/331100"},
        {"nameZh": "衢州市", "intensity": 4.146, "efficiencyValue": 3.455, "href": "/regions/330800"},
        {"nameZh": "舟山市", "intensity": None, "efficiencyValue": None, "href": "/regions/330900"},
        {"nameZh": "<script>x</script>很长很长很长很长的名字", "intensity": 1.0, "efficiencyValue": None},
    ]
    svg = ranking_svg(rows, "intensity", "nameZh", reference=1.2, href_key="href")
    svg_root(svg)
    assert fills(svg) == [GRADES[0].hex, GRADES[4].hex, "#78909c"]
    assert 'stroke-dasharray="4 3"' in svg
    assert "基准 Benchmark 1.2" in svg
    assert svg.count("<a href=") == 3
    assert "已隐藏 suppressed" in svg
    assert "&lt;script&gt;" in svg
    assert "<script" not in svg
    assert "…" in svg  # the long label is cut to its column
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(widths[1] * 0.7179 / 4.146, abs=0.06)
    assert "暂无数据" in ranking_svg([], "intensity", "nameZh")


# ----------------------------------------------------------------------------------------------------------
# In a browser, on a phone and on a desk

# The page, unchanged, in an iframe `width` px wide (a srcdoc frame shares its parent's origin, so the parent
# may look inside); the parent lists every element whose box reaches past the frame's right edge, and where
# the charts were laid out.
_MEASURE = """<!doctype html><html><body style="margin:0">
<iframe id="page" scrolling="no" style="border:0;width:%dpx;height:12000px"></iframe>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", () => {
  const doc = frame.contentDocument;
  const width = doc.documentElement.clientWidth;
  const over = [...doc.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 0.5)
    .map((e) => e.tagName.toLowerCase() + "." + e.className + " " + Math.round(e.getBoundingClientRect().right));
  const charts = [...doc.querySelectorAll("svg.chart")].map((e) => {
    const box = e.getBoundingClientRect();
    return [Math.round(box.left), Math.round(box.top), Math.round(box.width), Math.round(box.height)];
  });
  document.body.setAttribute("data-measured", JSON.stringify({
    width, scrollWidth: doc.documentElement.scrollWidth, height: doc.body.scrollHeight, over, charts}));
});
frame.srcdoc = %s;
</script></body></html>"""


def measure(html: str, width: int, folder: Path) -> dict[str, Any]:
    """Lay the page out in Chromium `width` px wide and return what the parent page measured."""
    probe = folder / f"measure-{width}.html"
    probe.write_text(_MEASURE % (width, json.dumps(html).replace("</", "<\\/")), "utf-8")
    dom = run_chromium(
        probe.as_uri(),
        "--dump-dom",
        "--virtual-time-budget=5000",
        width=max(width, 800),
        height=600,
        profile=folder / "profile",
    )
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found is not None, "the measuring script did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def draw(html: str, name: str, width: int, height: int, folder: Path) -> Image:
    """Screenshot the page `width` × `height` into tests/artifacts/`name`.png."""
    page = folder / f"{name}.html"
    page.write_text(html, "utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image = screenshot(
        page, ARTIFACTS / f"{name}.png", width=width, height=height, profile=folder / "profile"
    )
    assert image.width == width
    return image


def count(image: Image, colour: str, box: list[int]) -> int:
    """Pixels of exactly `colour` inside `box` ([left, top, width, height] as measured)."""
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    left, top, width, height = box
    return sum(row[left : left + width].count(wanted) for row in image.rows[top : top + height])


def assert_charts_in_colour(image: Image, charts: list[list[int]]) -> None:
    """Each chart, found where the browser laid it out, shows its colours."""
    grades, energy, trend, ranking, _ = charts
    scale = grades[2] / 340  # CSS px per chart unit
    # The grade bars, ~22 units wide; the shortest (grade 5, 190 of 701) is 130 × 190 / 701 = 35 units tall.
    for band in GRADES:
        assert count(image, band.hex, grades) > 600 * scale**2, f"grade {band.grade} {band.hex}"
    assert count(image, UNGRADED_COLOUR, grades) > 600 * scale**2
    # Every carrier's segment and swatch (other: 1.26 % of 324 × 30 units + an 11-unit swatch ≈ 240).
    for key, _, _, colour in ENERGY_CARRIERS:
        assert count(image, colour, energy) > 150 * scale**2, f"energy {key} {colour}"
    assert count(image, "#5b8db8", trend) > 5_000 * scale**2  # the emission bars
    assert count(image, "#c2410c", trend) > 30 * scale**2  # the intensity line and its dots
    # The city ranking: 丽水 (K 0.598) grade 1 … 衢州 (K 3.455) grade 5.
    for band in GRADES:
        assert count(image, band.hex, ranking) > 100 * scale**2, f"ranking grade {band.grade}"


@pytest.mark.parametrize("disclosure", ["public", "regulator"])
def test_the_dashboard_fits_a_phone_with_its_charts_in_colour(disclosure, tmp_path):
    html = render(example_report(disclosure))
    measured = measure(html, PHONE_WIDTH, tmp_path)
    assert measured["width"] == PHONE_WIDTH
    assert measured["over"] == []
    assert measured["scrollWidth"] <= PHONE_WIDTH
    # Five charts, one column, each as wide as its card (390 − 2 × 12 page − 2 × 14 card padding = 338).
    assert len(measured["charts"]) == 5
    assert {left for left, _, _, _ in measured["charts"]} == {26}
    assert {width for _, _, width, _ in measured["charts"]} == {338}
    image = draw(
        html, f"region_dashboard_{disclosure}_390", PHONE_WIDTH, min(measured["height"], 9000), tmp_path
    )
    # The page keeps a 12 px margin: its right-most 8 columns are background all the way down.
    for x in range(PHONE_WIDTH - 8, PHONE_WIDTH):
        assert set(image.column(x)) == {BACKGROUND}, f"content reaches column {x}"
    assert_charts_in_colour(image, measured["charts"])


def test_the_dashboard_uses_two_columns_on_a_desk(tmp_path):
    html = render(example_report("regulator"))
    measured = measure(html, DESK_WIDTH, tmp_path)
    assert measured["over"] == []
    assert measured["scrollWidth"] <= DESK_WIDTH
    grades, energy, trend, ranking, industries = measured["charts"]
    # grade distribution beside energy structure, trend beside the city ranking, each chart at most 520 wide
    assert grades[1] == energy[1]
    assert grades[0] < DESK_WIDTH / 2 < energy[0]
    assert trend[1] == ranking[1] > grades[1]
    assert trend[0] < DESK_WIDTH / 2 < ranking[0]
    assert industries[0] < DESK_WIDTH / 2
    assert all(width == 520 for _, _, width, _ in measured["charts"])
    image = draw(html, "region_dashboard_regulator_1280", DESK_WIDTH, min(measured["height"], 6000), tmp_path)
    assert_charts_in_colour(image, measured["charts"])
    # The grade chart's dark-green bar is in the left column, the energy chart's electricity in the right.
    columns = {
        colour: [
            x for row in image.rows[grades[1] : grades[1] + grades[3]] for x, p in enumerate(row) if p == rgb
        ]
        for colour, rgb in (("grade1", (0x1B, 0x5E, 0x20)), ("electricity", (0x5E, 0x35, 0xB1)))
    }
    assert max(columns["grade1"]) < DESK_WIDTH / 2 < min(columns["electricity"])


def test_the_phone_check_notices_content_wider_than_the_screen(tmp_path):
    # The check itself, on a page made to overflow: a black block 500 px wide in the header.
    html = render().replace(
        '<header class="hero">',
        '<header class="hero"><div style="width:500px;height:20px;background:#000"></div>',
    )
    measured = measure(html, PHONE_WIDTH, tmp_path)
    assert measured["scrollWidth"] > PHONE_WIDTH
    assert any(item.startswith("div.") for item in measured["over"])
