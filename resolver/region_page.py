"""The regional carbon-efficiency dashboard: one self-contained bilingual HTML5 page per region report.

A regulator (or anyone, for the public aggregates) opens ``/regions/{code}`` on a phone or a desk: how
efficient is this province / city / county, which sub-regions, industries and enterprises drive it, how is
it moving. The page renders the report of the regional query (the JSON contract of
``/api/regions/{code}/efficiency``) as headline tiles, four server-drawn SVG charts (`resolver.region_charts`)
and tables, with a breadcrumb to drill up, links on every sub-region to drill down, and a GET filter form.

Phone first (one column, tables fold into cards under 760 px), two columns on a wide screen. Nothing is
fetched: inline CSS, no script, no web font, a Content-Security-Policy that would stop a script anyway.
Every value from the report is escaped; suppressed cells (public view) read "已隐藏 suppressed".

Pure functions returning ``str``; the handler sets ``Content-Type: text/html; charset=utf-8``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from carbon_efficiency.grading import GRADES
from metadata_templates.codes import CodeError, division_of, divisions, region, validate_industry_code
from resolver.page_labels import GRANULARITY, REGION_LEVEL
from resolver.region_charts import (
    ENERGY_CARRIERS,
    UNGRADED_COLOUR,
    energy_structure_svg,
    format_number,
    format_percent,
    grade_colour,
    grade_distribution_svg,
    ranking_svg,
    trend_svg,
)

__all__ = ["LEVELS", "NATIONAL_CODE", "render_region_dashboard", "render_region_error_page"]

NATIONAL_CODE: Final = "000000"
LEVELS: Final = ("national", "province", "city", "county")
"""Region levels from the top down; a report's children are one of the levels below its own."""

CHILD_NAMES: Final = {
    "province": ("各省（区、市）", "provinces"),
    "city": ("各市", "cities"),
    "county": ("各县（市、区）", "counties"),
}
SUPPRESSION_NOTE: Final = (
    "少于 3 家企业的单元格不公开",
    "cells with fewer than 3 enterprises are not shown publicly",
)
_FILTERS: Final = ("period", "industry", "level")
"""Query parameters the filter form edits; every other one (except ``format``) rides along hidden."""


def render_region_dashboard(
    report: Mapping[str, Any],
    *,
    base_path: str,
    query: Mapping[str, str],
    csv_url: str,
    json_url: str,
) -> str:
    """The dashboard of one regional report (the ``/api/regions/{code}/efficiency`` JSON).

    `base_path` is where region pages live (``/regions``: a region's page is ``{base_path}/{code}``);
    `query` the request's query parameters, kept on every drill-up and drill-down link and in the filter
    form (``format`` is dropped, and ``level`` where it is not below the linked region). `csv_url` and
    `json_url` are the export links. Links must be relative or http(s); ValueError otherwise.
    """
    base = _href(base_path).rstrip("/")
    place = _mapping(report.get("region"))
    code = str(place.get("code") or NATIONAL_CODE)
    level = str(place.get("level") or "national")
    totals = _mapping(report.get("totals"))
    rankings = _mapping(report.get("rankings"))
    public = report.get("disclosure") != "regulator"
    links = _Links(base, dict(query))
    children = _ordered_children(report, links)
    industries = [dict(row) for row in _rows(rankings.get("industries"))]
    for row in industries:
        row["href"] = links.region(code, level, industry=str(row.get("code") or ""))
    enterprises = rankings.get("enterprises")
    name_zh, name_en = _region_names(place, code, level)
    period = _mapping(report.get("period"))
    body = [
        _hero(report, place, code, level, name_zh, name_en, links),
        _filters(report, code, level, links),
        _banners(report, public),
        '<div class="grid">',
        _tiles(totals),
    ]
    # Cards pair up in two columns on a wide screen; an odd chart out is paired with the about card.
    halves = _charts(report, totals, children, industries)
    about = _about(public, _href(csv_url), _href(json_url), wide=len(halves) % 2 == 0)
    body += halves + ([] if len(halves) % 2 == 0 else [about])
    body += [
        _children_table(report, children),
        _industries_table(industries, totals),
        "" if enterprises is None else _enterprises_table(_rows(enterprises)),
        about if len(halves) % 2 == 0 else "",
        "</div>",
    ]
    title = f"{name_zh} {name_en} · {period.get('text') or ''} — 区域碳效 Regional carbon efficiency"
    return _document(title, "".join(body))


def render_region_error_page(status: int, title_zh: str, title_en: str, detail: str) -> str:
    """A bilingual error page (403 outside the regulator's scope, 404 unknown region …) for a browser."""
    body = (
        '<section class="card error">'
        f'<p class="kicker">HTTP {_e(status)} · 区域碳效 <span class=en>Regional carbon efficiency</span></p>'
        f"<h1>{_e(title_zh)}<span class=en>{_e(title_en)}</span></h1>"
        f'<p class="detail">{_e(detail)}</p>'
        "<p>请检查地区代码（6 位 GB/T 2260 代码，如 330000）和查询参数，或联系管理员开通辖区权限。</p>"
        "<p class=en>Check the region code (six GB/T 2260 digits, e.g. 330000) and the query, or ask an "
        "administrator for access to the region.</p>"
        "</section>"
    )
    return _document(f"{title_zh} {title_en}", body)


# ----------------------------------------------------------------------------------------------------------
# Sections


def _hero(
    report: Mapping[str, Any],
    place: Mapping[str, Any],
    code: str,
    level: str,
    name_zh: str,
    name_en: str,
    links: _Links,
) -> str:
    crumbs = []
    for ancestor, ancestor_level in _ancestors(code, level):
        zh, en = _region_names({}, ancestor, ancestor_level)
        crumbs.append(
            f'<a href="{_e(links.region(ancestor, ancestor_level))}">{_e(zh)} <span>{_e(en)}</span></a>'
        )
    crumbs.append(f'<span aria-current="page">{_e(name_zh)} <span>{_e(name_en)}</span></span>')
    level_zh, level_en = REGION_LEVEL.get(level, (level, level))
    period = _mapping(report.get("period"))
    granularity = str(period.get("granularity") or "")
    gran_zh, gran_en = GRANULARITY.get(granularity, (granularity, granularity))
    industry = report.get("industry")
    if isinstance(industry, Mapping):
        scope = (
            f"<code>{_e(industry.get('code'))}</code> {_e(industry.get('nameZh'))}"
            f" <span class=en>{_e(industry.get('nameEn'))}</span>"
        )
    else:
        scope = "全部行业 <span class=en>all industries</span>"
    disclosure = (
        '<span class="chip pub">公开数据 Public aggregates</span> '
        f'<a class="chip pub" href="{_e(links.sign_in(code, level))}">监管人员登录 Regulator sign-in</a>'
        if report.get("disclosure") != "regulator"
        else '<span class="chip reg">监管视图 Regulator view</span>'
    )
    official = (
        '<span class="chip ok">正式周期 Official period</span>'
        if period.get("official")
        else '<span class="chip warn">趋势参考 Trend only</span>'
    )
    shown_code = "" if code == NATIONAL_CODE else f"<code>{_e(code)}</code> "
    return (
        '<header class="hero">'
        f'<nav class="crumbs" aria-label="上级地区 Parent regions">{" <b>›</b> ".join(crumbs)}</nav>'
        '<p class="kicker">区域碳效监测 <span class=en>Regional carbon-efficiency monitoring</span></p>'
        f"<h1>{_e(name_zh)} <span class=en>{_e(name_en)}</span></h1>"
        f'<p class="sub"><span>{shown_code}{_e(level_zh)} <span class=en>{_e(level_en)}</span></span> · '
        f"<span>{_e(period.get('text'))} {_e(gran_zh)} <span class=en>{_e(gran_en)}</span></span> · "
        f"<span>{scope}</span></p>"
        f'<p class="chips">{disclosure}{official}</p>'
        "</header>"
    )


def _filters(report: Mapping[str, Any], code: str, level: str, links: _Links) -> str:
    query = links.query
    period = query.get("period") or str(_mapping(report.get("period")).get("text") or "")
    industry = query.get("industry") or str(_mapping(report.get("industry")).get("code") or "")
    below = LEVELS[LEVELS.index(level) + 1 :] if level in LEVELS else ()
    hidden = "".join(
        f'<input type="hidden" name="{_e(key)}" value="{_e(value)}">'
        for key, value in query.items()
        if key not in _FILTERS and key != "format"
    )
    options = "".join(
        f'<option value="{_e(item.code)}">{_e(item.code)} {_e(item.name_zh)}</option>' for item in divisions()
    )
    level_field = ""
    if below:
        chosen = query.get("level", "")
        choices = [("", "默认 default")] + [(name, " ".join(REGION_LEVEL[name])) for name in below]
        level_field = (
            '<label>下钻层级 <span class=en>Break down by</span><select name="level">'
            + "".join(
                f'<option value="{_e(value)}"{" selected" if value == chosen else ""}>{_e(words)}</option>'
                for value, words in choices
            )
            + "</select></label>"
        )
    return (
        f'<form class="filters" method="get" action="{_e(links.base + "/" + code)}" '
        'aria-label="筛选 Filter">'
        f'<label>统计期 <span class=en>Period</span><input name="period" value="{_e(period)}" '
        'placeholder="2025 · 2025Q1 · 2025-03" inputmode="text" autocomplete="off"></label>'
        f'<label>行业 <span class=en>Industry</span><input name="industry" value="{_e(industry)}" '
        'list="industry-codes" placeholder="全部 all · C32" autocomplete="off"></label>'
        f"{level_field}{hidden}"
        '<button type="submit">查询 <span class=en>Apply</span></button>'
        f'<datalist id="industry-codes">{options}</datalist>'
        "</form>"
    )


def _banners(report: Mapping[str, Any], public: bool) -> str:
    out = []
    if not _mapping(report.get("period")).get("official"):
        out.append(
            '<div class="banner trend"><strong>趋势参考 Trend only</strong> '
            "不足一个完整年度的数据，用于观察走势，不作为正式评级。"
            "<span class=en>Less than a full year of data: for watching the trend, not an official "
            "grading.</span></div>"
        )
    if public:
        out.append(
            f'<div class="banner note"><strong>公开数据</strong> {SUPPRESSION_NOTE[0]}，'
            "企业明细仅对辖区内的监管账号开放。"
            f"<span class=en>Public aggregates: {SUPPRESSION_NOTE[1]}; enterprise rows are shown only to "
            "regulators within their region.</span></div>"
        )
    return "".join(out)


def _tiles(totals: Mapping[str, Any]) -> str:
    hidden = bool(totals.get("suppressed"))
    k = totals.get("efficiencyValue")
    colour = grade_colour(k)
    energy = _mapping(totals.get("energyGj"))
    gross = totals.get("grossEmissionsTCo2")
    tiles = [
        ("企业数", "Enterprises", _figure(totals.get("enterprises"), hidden), "家 enterprises", ""),
        (
            "碳排放",
            "Emissions",
            _figure(totals.get("emissionsTCo2"), hidden),
            f"tCO₂ · 总排放 gross {format_number(gross)}",
            "",
        ),
        ("工业增加值", "Added value", _figure(totals.get("addedValue10kCny"), hidden), "万元 10⁴ CNY", ""),
        (
            "碳强度 L",
            "Intensity",
            _figure(totals.get("intensity"), hidden),
            f"tCO₂/万元 · 基准 B {format_number(totals.get('benchmark'))}",
            "",
        ),
        (
            "碳效值 K",
            "Efficiency value L ÷ B",
            _figure(k, hidden),
            _grade_words(k),
            f' style="border-left-color:{colour}"' if colour else "",
        ),
        (
            "碳中和率",
            "Neutrality rate",
            _e(format_percent(totals.get("neutralityRate")))
            if totals.get("neutralityRate") is not None or not hidden
            else _suppressed(),
            f"能源 energy {format_number(_sum(energy.values()))} GJ",
            "",
        ),
    ]
    return (
        '<section class="tiles wide" aria-label="核心指标 Headline figures">'
        + "".join(
            f'<div class="tile"{style}><span class="k">{_e(zh)}<span class=en>{_e(en)}</span></span>'
            f'<span class="v">{value}</span><span class="u">{_e(unit)}</span></div>'
            for zh, en, value, unit, style in tiles
        )
        + "</section>"
    )


def _charts(
    report: Mapping[str, Any],
    totals: Mapping[str, Any],
    children: Sequence[Mapping[str, Any]],
    industries: Sequence[Mapping[str, Any]],
) -> list[str]:
    hidden = bool(totals.get("suppressed"))
    trend = _mapping(report.get("trend"))
    granularity = str(trend.get("granularity") or "")
    gran_zh, gran_en = GRANULARITY.get(granularity, (granularity, granularity))
    points = _rows(trend.get("points"))
    cards = [
        _card(
            "碳效等级分布",
            "Enterprises by grade",
            grade_distribution_svg(totals.get("gradeCounts"), suppressed=hidden),
        ),
        _card(
            "能源结构",
            "Energy structure",
            energy_structure_svg(totals.get("energyShares"), suppressed=hidden)
            + _energy_table(_mapping(totals.get("energyGj")), _mapping(totals.get("energyShares"))),
        ),
        _card(
            f"排放与强度趋势（{gran_zh}）",
            f"Emissions and intensity by {gran_en}",
            trend_svg(points) + _trend_table(points),
        ),
    ]
    child_level = str(report.get("childLevel") or "")
    if children:
        zh, en = CHILD_NAMES.get(child_level, ("下级地区", "sub-regions"))
        ranked = [row for row in children if row.get("rank") is not None] + [
            row for row in children if row.get("rank") is None
        ]
        cards.append(
            _card(
                f"{zh}碳强度排名",
                f"{en.capitalize()} by intensity, lowest first (tCO₂/万元)",
                ranking_svg(
                    ranked, "intensity", "nameZh", reference=totals.get("benchmark"), href_key="href"
                ),
                note="虚线为基准 B；柱色为碳效值 K 对应的等级色。"
                "<span class=en>Dashed line: benchmark B; bar colour: the grade colour of K.</span>",
            )
        )
    if industries:
        cards.append(
            _card(
                "行业排放排名",
                "Industries by emissions (tCO₂)",
                ranking_svg(industries[:10], "emissionsTCo2", "nameZh", href_key="href"),
                note="前 10 个行业；柱色为行业碳效值 K 对应的等级色。"
                "<span class=en>Top 10 industries; bar colour: the grade colour of the industry's K.</span>",
            )
        )
    return cards


def _energy_table(energy_gj: Mapping[str, Any], shares: Mapping[str, Any]) -> str:
    if not any(_is_number(energy_gj.get(key)) for key, *_ in ENERGY_CARRIERS):
        return ""
    rows = "".join(
        f"<tr><td>{_e(zh)} {_e(en)}</td><td>{_e(format_number(energy_gj.get(key)))}</td>"
        f"<td>{_e(format_percent(shares.get(key)))}</td></tr>"
        for key, zh, en, _ in ENERGY_CARRIERS
    )
    return (
        "<details><summary>数据表 <span class=en>Data table</span></summary>"
        '<table class="mini"><thead><tr><th>能源 Carrier</th><th>消费量 GJ</th><th>占比 Share</th></tr></thead>'
        f"<tbody>{rows}<tr><th>合计 Total</th><td>{_e(format_number(_sum(energy_gj.values())))}</td><td></td></tr>"
        "</tbody></table></details>"
    )


def _trend_table(points: Sequence[Mapping[str, Any]]) -> str:
    if not points:
        return ""
    rows = "".join(
        f"<tr><td>{_e(p.get('period'))}</td><td>{_e(format_number(p.get('enterprises')))}</td>"
        f"<td>{_e(format_number(p.get('emissionsTCo2')))}</td>"
        f"<td>{_e(format_number(p.get('addedValue10kCny')))}</td>"
        f"<td>{_e(format_number(p.get('intensity')))}</td></tr>"
        for p in points
    )
    return (
        "<details><summary>数据表 <span class=en>Data table</span></summary>"
        '<table class="mini"><thead><tr><th>周期 Period</th><th>企业 Ent.</th><th>排放 tCO₂</th>'
        "<th>增加值 万元</th><th>强度 L</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details>"
    )


def _children_table(report: Mapping[str, Any], children: Sequence[Mapping[str, Any]]) -> str:
    if not children:
        return ""
    zh, en = CHILD_NAMES.get(str(report.get("childLevel") or ""), ("下级地区", "sub-regions"))
    head = [
        "#",
        f"地区 {en}",
        "企业 Ent.",
        "排放 tCO₂",
        "增加值 万元",
        "强度 L",
        "碳效值 K",
        "碳中和率",
        "等级构成 Grades",
    ]
    rows = []
    for row in children:
        hidden = bool(row.get("suppressed"))
        rank = row.get("rank")
        cells = [
            f'<td class="rank">{_e(rank or "—")}</td>',
            f'<td class="name">{f"<span class=no>{rank}</span>" if rank else ""}'
            f'<a href="{_e(row["href"])}">{_e(row.get("nameZh") or row.get("code"))}'
            f" <span class=en>{_e(row.get('nameEn') or '')}</span></a> <code>{_e(row.get('code'))}</code></td>",
        ]
        cells.append(_cell("企业 Ent.", row.get("enterprises"), hidden))
        if _all_hidden(row, hidden):
            rows.append(f"<tr>{''.join(cells)}{_hidden_cell(len(head) - 3)}</tr>")
            continue
        cells += [
            _cell("排放 tCO₂", row.get("emissionsTCo2"), hidden),
            _cell("增加值 万元", row.get("addedValue10kCny"), hidden),
            _cell("强度 L", row.get("intensity"), hidden),
            _k_cell(row.get("efficiencyValue"), hidden),
            _cell("碳中和率", row.get("neutralityRate"), hidden, percent=True),
            f'<td class="grades" data-k="等级构成 Grades">{_grade_strip(_mapping(row.get("gradeCounts")))}</td>',
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return _table_card(
        f"{zh}明细",
        f"{en.capitalize()}: tap a region to drill down",
        head,
        rows,
        css="children",
    )


def _industries_table(industries: Sequence[Mapping[str, Any]], totals: Mapping[str, Any]) -> str:
    if not industries:
        return ""
    whole = totals.get("emissionsTCo2")
    head = [
        "行业 Industry",
        "企业 Ent.",
        "排放 tCO₂",
        "排放占比 Share",
        "增加值 万元",
        "强度 L",
        "基准 B",
        "碳效值 K",
    ]
    rows = []
    for row in industries:
        hidden = bool(row.get("suppressed"))
        share = _ratio(row.get("emissionsTCo2"), whole)
        bar = (
            f'<span class="bar"><span style="width:{share * 100:.1f}%"></span></span>'
            if share is not None
            else ""
        )
        cells = [
            f'<td class="name"><a href="{_e(row["href"])}"><code>{_e(row.get("code"))}</code> '
            f"{_e(row.get('nameZh') or '')}</a><span class=en>{_e(row.get('nameEn') or '')}</span></td>",
        ]
        cells.append(_cell("企业 Ent.", row.get("enterprises"), hidden))
        if _all_hidden(row, hidden):
            rows.append(f"<tr>{''.join(cells)}{_hidden_cell(len(head) - 2)}</tr>")
            continue
        cells += [
            _cell("排放 tCO₂", row.get("emissionsTCo2"), hidden),
            f'<td data-k="排放占比 Share">{_e(format_percent(share))}{bar}</td>',
            _cell("增加值 万元", row.get("addedValue10kCny"), hidden),
            _cell("强度 L", row.get("intensity"), hidden),
            _cell("基准 B", row.get("benchmark"), hidden),
            _k_cell(row.get("efficiencyValue"), hidden),
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return _table_card(
        "行业构成",
        "Industries, largest emitters first: tap one to filter by it",
        head,
        rows,
        css="industries",
    )


def _enterprises_table(enterprises: Sequence[Mapping[str, Any]]) -> str:
    head = [
        "#",
        "企业标识 Prefix",
        "地区 Region",
        "行业 Industry",
        "排放 tCO₂",
        "增加值 万元",
        "强度 L",
        "等级 Grade",
    ]
    rows = []
    for i, row in enumerate(enterprises, start=1):
        cells = [
            f'<td class="rank">{i}</td>',
            f'<td class="name"><span class=no>{i}</span><code>{_e(row.get("prefix"))}</code></td>',
            f'<td class="txt" data-k="地区 Region">{_place(row.get("region"))}</td>',
            f'<td class="txt" data-k="行业 Industry">{_trade(row.get("industry"))}</td>',
            _cell("排放 tCO₂", row.get("emissionsTCo2"), False),
            _cell("增加值 万元", row.get("addedValue10kCny"), False),
            _cell("强度 L", row.get("intensity"), False),
            f'<td data-k="等级 Grade">{_grade_chip(row.get("grade"))}</td>',
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if not rows:
        rows.append(
            '<tr><td class="name" colspan="8">辖区内暂无企业 <span class=en>No enterprises</span></td></tr>'
        )
    return _table_card(
        "重点企业",
        "Enterprises (regulator view, within your region)",
        head,
        rows,
        css="enterprises",
    )


def _about(public: bool, csv_url: str, json_url: str, *, wide: bool) -> str:
    legend = "".join(
        f'<li><i style="background:{band.hex}"></i>{band.grade} 级 {_e(band.name_zh)} '
        f"<span class=en>grade {band.grade}, {_e(band.name_en)}</span> "
        f"<b>{'K ≤ ' + format_number(band.upper_edge) if band.upper_edge is not None else 'K > ' + format_number(GRADES[-2].upper_edge)}</b></li>"
        for band in GRADES
    )
    legend += (
        f'<li><i style="background:{UNGRADED_COLOUR}"></i>未评级 <span class=en>ungraded (no K)</span></li>'
    )
    carriers = "、".join(f"{zh} {en}" for _, zh, en, _ in ENERGY_CARRIERS)
    scope = (
        f"<p class=small>{SUPPRESSION_NOTE[0]}（显示为“已隐藏”）。"
        f"<span class=en>{SUPPRESSION_NOTE[1].capitalize()} (they read “suppressed”).</span></p>"
        if public
        else "<p class=small>监管视图包含辖区内的企业明细，请勿外传。"
        "<span class=en>The regulator view includes enterprise rows within your region: do not pass it on."
        "</span></p>"
    )
    return (
        f'<section class="card about{" wide" if wide else ""}"><h2>下载与说明<span class=en>Downloads and method</span></h2>'
        '<p class="downloads">'
        f'<a class="button" href="{csv_url}">下载 CSV <span class=en>for Excel</span></a>'
        f'<a class="button alt" href="{json_url}">JSON <span class=en>data</span></a></p>'
        f"{scope}"
        "<p class=small>碳强度 L = Σ排放 ÷ Σ工业增加值（tCO₂/万元），为合计之比，不是企业强度的平均；"
        "碳效值 K = L ÷ 基准 B；等级按 K 划分（DB33/T 1347-2023）。"
        "<span class=en>Intensity L = Σ emissions ÷ Σ added value (a ratio of totals, not a mean of ratios); "
        "K = L ÷ benchmark B; grades by K.</span></p>"
        f'<ul class="legend">{legend}</ul>'
        f"<p class=small>能源品种 Energy carriers：{_e(carriers)}</p>"
        "</section>"
    )


# ----------------------------------------------------------------------------------------------------------
# Links and regions


class _Links:
    """Region page URLs that keep the request's query (drill up, drill down, filter by industry)."""

    def __init__(self, base: str, query: dict[str, str]) -> None:
        self.base = base
        self.query = query

    def sign_in(self, code: str, level: str) -> str:
        """This page asking for regulator credentials (``signin=1``: the route answers a Basic challenge)."""
        page = self.region(code, level)
        return page + ("&" if "?" in page else "?") + "signin=1"

    def region(self, code: str, level: str, *, industry: str | None = None) -> str:
        """``{base}/{code}?…``: ``format`` dropped, ``level`` dropped unless it is below `level`."""
        kept = {key: value for key, value in self.query.items() if key != "format"}
        wanted = kept.get("level")
        if wanted is not None and not (
            wanted in LEVELS and level in LEVELS and LEVELS.index(wanted) > LEVELS.index(level)
        ):
            del kept["level"]
        if industry:
            kept["industry"] = industry
        encoded = urlencode(kept)
        return f"{self.base}/{code}" + (f"?{encoded}" if encoded else "")


def _ancestors(code: str, level: str) -> list[tuple[str, str]]:
    """(code, level) of the regions above, from the top: national ``000000``, province ``xx0000``, city
    ``xxxx00``, built from the code's digits."""
    chain = [(NATIONAL_CODE, "national"), (code[:2] + "0000", "province"), (code[:4] + "00", "city")]
    depth = LEVELS.index(level) if level in LEVELS else 0
    # A city without counties (东莞 441900) is its own county-level child: no link from a page to itself.
    return [(ancestor, rank) for ancestor, rank in chain[:depth] if ancestor != code]


def _region_names(place: Mapping[str, Any], code: str, level: str) -> tuple[str, str]:
    if level == "national" or code == NATIONAL_CODE:
        return "全国", "National"
    if place.get("nameZh"):
        return str(place["nameZh"]), str(place.get("nameEn") or "")
    try:
        found = region(code)
    except CodeError:
        return code, ""
    return found.name_zh, found.short_en


def _ordered_children(report: Mapping[str, Any], links: _Links) -> list[dict[str, Any]]:
    """Children in ranking order (lowest intensity first, ``rank`` 1 …) then the unranked, each with ``href``."""
    level = str(report.get("childLevel") or "")
    by_code = {str(row.get("code")): dict(row) for row in _rows(report.get("children"))}
    order = [
        str(code) for code in _mapping(report.get("rankings")).get("children") or () if str(code) in by_code
    ]
    out = []
    for rank, code in enumerate(order, start=1):
        out.append(by_code.pop(code) | {"rank": rank})
    out.extend(by_code.values())
    for row in out:
        row["href"] = links.region(str(row.get("code")), level)
    return out


def _place(code: Any) -> str:
    if not isinstance(code, str):
        return _e(code)
    try:
        name = region(code).name_zh
    except CodeError:
        name = ""
    return f"<code>{_e(code)}</code> {_e(name)}"


def _trade(code: Any) -> str:
    if not isinstance(code, str):
        return _e(code)
    try:
        found = validate_industry_code(code)
        name = (found if found.listed else division_of(code)).name_zh or ""
    except CodeError:
        name = ""
    return f"<code>{_e(code)}</code> {_e(name)}"


# ----------------------------------------------------------------------------------------------------------
# Pieces


def _document(title: str, body: str) -> str:
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'"
    )
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">\n'
        '<meta name="referrer" content="no-referrer">\n<meta name="color-scheme" content="light">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f'<body>\n<main class="page">{body}'
        "<footer>carbonid · 区域碳效监测 <span class=en>regional carbon-efficiency monitoring</span></footer>"
        "</main>\n</body>\n</html>\n"
    )


def _card(zh: str, en: str, body: str, *, note: str = "") -> str:
    extra = f'<p class="small">{note}</p>' if note else ""
    return f'<section class="card"><h2>{_e(zh)}<span class=en>{_e(en)}</span></h2>{body}{extra}</section>'


def _table_card(zh: str, en: str, head: Sequence[str], rows: Sequence[str], *, css: str) -> str:
    header = "".join(f"<th scope=col>{_e(words)}</th>" for words in head)
    return (
        f'<section class="card wide"><h2>{_e(zh)}<span class=en>{_e(en)}</span></h2>'
        f'<div class="scroll"><table class="data {css}"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _cell(label: str, value: Any, hidden: bool, *, percent: bool = False) -> str:
    if value is None and hidden:
        shown = _suppressed()
    else:
        shown = _e(format_percent(value) if percent else format_number(value))
    return f'<td data-k="{_e(label)}">{shown}</td>'


def _k_cell(value: Any, hidden: bool) -> str:
    colour = grade_colour(value)
    dot = f'<i class="dot" style="background:{colour}"></i>' if colour else ""
    shown = _suppressed() if value is None and hidden else dot + _e(format_number(value))
    return f'<td data-k="碳效值 K">{shown}</td>'


_ROW_FIGURES: Final = ("emissionsTCo2", "addedValue10kCny", "intensity", "efficiencyValue")


def _all_hidden(row: Mapping[str, Any], hidden: bool) -> bool:
    """A suppressed row whose figures are null (its enterprise count stays): one "suppressed" cell says it
    better than six."""
    return hidden and all(row.get(key) is None for key in _ROW_FIGURES)


def _hidden_cell(span: int) -> str:
    return (
        f'<td class="hidden" colspan="{span}">已隐藏：少于 3 家企业 '
        "<span class=en>suppressed: fewer than 3 enterprises</span></td>"
    )


def _figure(value: Any, hidden: bool) -> str:
    return _suppressed() if value is None and hidden else _e(format_number(value))


def _suppressed() -> str:
    return '<span class="sup">已隐藏 <span class=en>suppressed</span></span>'


def _grade_words(k: Any) -> str:
    colour = grade_colour(k)
    if colour is None:
        return "未评级 ungraded"
    band = next(band for band in GRADES if band.hex == colour)
    return f"≈ {band.grade} 级 {band.name_zh} · grade {band.grade} level"


def _grade_chip(grade: Any) -> str:
    if isinstance(grade, int) and not isinstance(grade, bool) and 1 <= grade <= len(GRADES):
        band = GRADES[grade - 1]
        ink = "#ffffff" if grade in (1, 5) else "#1a1a1a"
        return f'<span class="grade" style="background:{band.hex};color:{ink}">{grade} 级 {_e(band.name_zh)}</span>'
    return f'<span class="grade" style="background:{UNGRADED_COLOUR};color:#fff">未评级</span>'


def _grade_strip(counts: Mapping[str, Any]) -> str:
    """A thin bar of the grade mix (CSS widths, no chart needed in a table row)."""
    keys = [(str(band.grade), band.grade, band.hex) for band in GRADES] + [
        ("ungraded", "未评级", UNGRADED_COLOUR)
    ]
    values = [(label, colour, _as_float(counts.get(key))) for key, label, colour in keys]
    known = [(colour, v) for _, colour, v in values if v is not None and v > 0]
    total = sum(v for _, v in known)
    if total <= 0:
        return '<span class="sup">—</span>'
    spans = "".join(
        f'<span style="width:{100 * v / total:.1f}%;background:{colour}"></span>' for colour, v in known
    )
    words = " · ".join(f"{label} {format_number(v)}" for label, _, v in values if v is not None)
    return f'<span class="strip" title="{_e(words)}">{spans}</span>'


def _rows(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [row for row in value if isinstance(row, Mapping)]
    return []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_float(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _sum(values: Any) -> float | None:
    numbers = [float(v) for v in values if _is_number(v)]
    return sum(numbers) if numbers else None


def _ratio(part: Any, whole: Any) -> float | None:
    if not _is_number(part) or not _is_number(whole) or whole <= 0:
        return None
    return max(0.0, min(1.0, float(part) / float(whole)))


def _href(url: str) -> str:
    """A link of this resolver: relative, or http(s); anything else (javascript:, data:) is refused."""
    if urlsplit(url).scheme not in ("", "http", "https"):
        raise ValueError(f"link {url!r}: only relative and http(s) links are allowed")
    return _e(url)


def _e(value: Any) -> str:
    return "—" if value is None else escape(str(value), quote=True)


_CSS: Final = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#eef2ef;color:#1d2521;
font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB","Microsoft YaHei",sans-serif;
font-size:15px;line-height:1.5}
.page{max-width:1200px;margin:0 auto;padding:12px 12px 24px}
.grid{display:grid;grid-template-columns:minmax(0,1fr);gap:12px}
.card{background:#fff;border-radius:12px;padding:14px;box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:0}
h1{font-size:24px;line-height:1.25;margin:2px 0 4px;overflow-wrap:anywhere}
h1 .en{display:inline;font-size:16px;color:#cfe3da;margin-left:4px}
h2{font-size:16px;margin:0 0 10px;padding-bottom:6px;border-bottom:1px solid #e3e8e5}
.en{display:block;font-size:12px;font-weight:normal;color:#66736b;line-height:1.35}
h2 .en{display:inline;margin-left:8px}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.88em;overflow-wrap:anywhere}
.hero{background:#17423a;color:#fff;border-radius:12px;padding:14px 16px 16px;margin:0 0 12px}
.hero .en{color:#cfe3da}
.crumbs{font-size:13px;line-height:1.7;overflow-wrap:anywhere}
.crumbs a{color:#fff;text-decoration:underline;text-underline-offset:2px}
.crumbs span span,.crumbs a span{color:#cfe3da;font-size:11.5px}
.crumbs b{color:#8fb8a9;margin:0 2px}
.kicker{margin:10px 0 0;font-size:13px;color:#cfe3da}.kicker .en{display:inline;margin-left:6px}
.sub{margin:0;font-size:13.5px;color:#e3efe9;overflow-wrap:anywhere}.sub .en{display:inline}
.sub>span{display:inline-block;max-width:100%}
.sub code{background:rgba(255,255,255,.14);padding:0 4px;border-radius:4px}
.chips{margin:10px 0 0;display:flex;flex-wrap:wrap;gap:6px}
.chip{display:inline-block;font-size:12.5px;padding:2px 10px;border-radius:999px;border:1px solid}
.chip.pub{background:#e3f2fd;color:#0d47a1;border-color:#90caf9}
.chip.reg{background:#fff3e0;color:#8a4b00;border-color:#ffcc80}
.chip.ok{background:#e8f5e9;color:#1b5e20;border-color:#a5d6a7}
.chip.warn{background:#fff8e1;color:#5d4300;border-color:#ffe082}
.filters{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:8px 10px;align-items:end;
background:#fff;border-radius:12px;padding:12px 14px;margin:0 0 12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.filters label{display:block;font-size:13px;color:#37423c;min-width:0}
.filters label .en{display:inline;margin-left:4px;font-size:11.5px}
.filters input,.filters select{display:block;width:100%;margin-top:3px;font:inherit;font-size:15px;
padding:7px 9px;border:1px solid #b9c6bf;border-radius:8px;background:#fff;color:#1d2521;min-width:0}
.filters button{font:inherit;font-size:15px;font-weight:600;padding:8px 12px;border:0;border-radius:8px;
background:#17423a;color:#fff;cursor:pointer;min-height:40px}
.filters button .en{display:inline;color:#cfe3da;margin-left:4px}
.banner{border-radius:10px;padding:10px 14px;margin:0 0 12px;font-size:14px}
.banner .en{margin-top:2px}
.banner.trend{background:#fff8e1;color:#5d4300;border:1px solid #ffe082}
.banner.note{background:#e3f2fd;color:#0d3c73;border:1px solid #bbdefb}
.tiles{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:10px}
.tile{background:#fff;border-radius:12px;padding:10px 12px;box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:0;
border-left:5px solid #17423a}
.tile .k{display:block;font-size:13px;color:#37423c}.tile .k .en{font-size:11px}
.tile .v{display:block;font-size:23px;font-weight:700;line-height:1.3;font-variant-numeric:tabular-nums;
overflow-wrap:anywhere}
.tile .u{display:block;font-size:11.5px;color:#66736b;overflow-wrap:anywhere}
.sup{color:#8a949d;font-weight:normal;font-size:13px}.sup .en{display:inline;font-size:11px}
.tile .sup{font-size:15px}
svg.chart{display:block;width:100%;height:auto;max-width:520px;margin:0 auto}
.small{font-size:12.5px;color:#4d5a52;margin:10px 0 0}.small .en{display:block}
details{margin-top:8px;font-size:13px}summary{cursor:pointer;color:#17423a}summary .en{display:inline}
table.mini{width:100%;border-collapse:collapse;margin-top:6px;font-variant-numeric:tabular-nums}
.mini th,.mini td{padding:3px 4px;text-align:right;border-bottom:1px solid #edf1ee;font-size:12px}
.mini th{font-weight:600;color:#37423c}.mini td:first-child,.mini th:first-child{text-align:left}
.scroll{overflow-x:auto}
table.data{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
.data th{font-size:12px;font-weight:600;color:#4d5a52;text-align:right;padding:6px 8px;
border-bottom:2px solid #d5ddd8;white-space:nowrap}
.data td{text-align:right;padding:7px 8px;border-bottom:1px solid #edf1ee;font-size:14px}
.data th:nth-child(-n+2),.data td.name,.data td.rank{text-align:left}
.data.industries th:first-child,.data td.txt{text-align:left}
.data.enterprises th:nth-child(3),.data.enterprises th:nth-child(4){text-align:left}
.data td.name a{color:#0b5d4b;font-weight:600}
.data td.name .en{display:inline;margin-left:4px}
.data.industries td.name .en{display:block;margin:0}
.data td.rank{color:#66736b;width:2em}
.data td.name .no{display:none}
.data td.hidden{text-align:center;color:#8a949d;font-size:13px}.data td.hidden .en{display:inline}
.data tbody tr:hover{background:#f5f8f6}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px;vertical-align:1px}
.grade{display:inline-block;font-size:12.5px;padding:1px 8px;border-radius:6px;white-space:nowrap}
.strip{display:flex;height:10px;min-width:90px;border-radius:3px;overflow:hidden;background:#edf1ee}
.strip span{display:block;height:100%}
.bar{display:block;height:4px;background:#edf1ee;border-radius:2px;margin-top:3px;overflow:hidden}
.bar span{display:block;height:100%;background:#5b8db8}
.downloads{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 6px}
.button{display:inline-block;padding:8px 14px;border-radius:8px;background:#17423a;color:#fff;
text-decoration:none;font-weight:600;font-size:14px}
.button .en{display:inline;color:#cfe3da;margin-left:4px}
.button.alt{background:#e8efeb;color:#17423a}.button.alt .en{color:#4d5a52}
.legend{list-style:none;padding:0;margin:10px 0 0;display:grid;grid-template-columns:minmax(0,1fr);gap:3px;
font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.legend .en{display:inline;margin-left:4px}.legend b{font-weight:600;margin-left:6px;color:#37423c}
.error h1{color:#1d2521}.error h1 .en{display:block;color:#66736b;font-size:15px;margin:2px 0 0}
.error .kicker{color:#66736b;margin:0}.error .kicker .en{color:#66736b}
.error .detail{background:#f5f7f6;border-radius:8px;padding:8px 10px;overflow-wrap:anywhere}
footer{text-align:center;font-size:12px;color:#7b877f;padding:16px 0 0}footer .en{display:inline}
@media (max-width:759px){
.data thead{display:none}
.data,.data tbody{display:block}
.data tr{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:6px 10px;padding:10px 2px;
border-bottom:1px solid #e3e8e5}
.data td{display:block;border:0;padding:0;text-align:left;font-size:14px;min-width:0;overflow-wrap:anywhere}
.data td.rank{display:none}
.data td.name{grid-column:1/-1;font-size:15px}
.data td.name .no{display:inline-block;min-width:22px;height:20px;line-height:20px;margin-right:6px;
border-radius:10px;background:#e8efeb;color:#37423c;font-size:12px;text-align:center;padding:0 5px}
.data td.hidden{grid-column:1/-1;text-align:left}
.data td.grades{grid-column:1/-1}
.data td[data-k]::before{content:attr(data-k);display:block;font-size:11px;color:#66736b}
.data.industries td[data-k="排放占比 Share"]{grid-column:span 1}
}
@media (min-width:760px){
.grid{grid-template-columns:repeat(2,minmax(0,1fr))}
.wide{grid-column:1/-1}
.tiles{grid-template-columns:repeat(3,minmax(0,1fr))}
.filters{grid-template-columns:repeat(4,minmax(0,1fr))}
.legend{grid-template-columns:repeat(2,minmax(0,1fr))}
h1{font-size:28px}
}
@media (min-width:1100px){.tiles{grid-template-columns:repeat(6,minmax(0,1fr))}}
"""
