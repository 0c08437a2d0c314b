"""Charts of the regional carbon-efficiency dashboard, drawn on the server as self-contained SVG strings.

A regulator's page must work on a phone without any script from the network, so every chart is plain SVG
markup built here: a ``viewBox`` with ``width="100%"`` (it scales to its card), no script, no external
reference, every piece of text escaped. The coordinate system is `CHART_WIDTH` units wide, about the
width of a card on a 390 px phone, so 11-unit text stays readable there and grows on a desktop.

Grade colours are the display colours of `carbon_efficiency.grading.GRADES`; an ungraded count is the
ungraded grey of `carbon_efficiency.qr`. Every figure may be None (a cell suppressed for the public, or a
ratio without a denominator): a bar is then left out and its value reads "—", and a chart with nothing to
draw says so instead of drawing empty axes.

Pure functions returning ``str``; `format_number` and `format_percent` are shared with the page so both
write figures the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

from carbon_efficiency.grading import GRADES, grade_for
from carbon_efficiency.qr import UNGRADED_STYLE

__all__ = [
    "CHART_WIDTH",
    "ENERGY_CARRIERS",
    "UNGRADED_COLOUR",
    "energy_structure_svg",
    "format_number",
    "format_percent",
    "grade_colour",
    "grade_distribution_svg",
    "nice_ticks",
    "ranking_svg",
    "trend_svg",
]

CHART_WIDTH: Final = 340
UNGRADED_COLOUR: Final = UNGRADED_STYLE.display
FONT: Final = '"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif'

# (key in energyGj / energyShares, zh, en, colour). The hues keep clear of the five grade colours so that
# an energy chart is never read as a grade chart.
ENERGY_CARRIERS: Final = (
    ("coal", "煤", "coal", "#37474F"),
    ("oil", "油", "oil", "#8D6E63"),
    ("gas", "气", "gas", "#29B6F6"),
    ("electricity", "电", "electricity", "#5E35B1"),
    ("heat", "热", "heat", "#EC407A"),
    ("other", "其他", "other", "#B0BEC5"),
)

_INK: Final = "#1d2521"
_MUTED: Final = "#5f6b64"
_GRID: Final = "#e3e8e5"
_BAR: Final = "#5b8db8"
_LINE: Final = "#c2410c"
_NEUTRAL: Final = "#78909c"


# ----------------------------------------------------------------------------------------------------------
# Figures as text


def format_number(value: Any) -> str:
    """Thousands separated, at most 4 significant digits after the point: ``1,170,000`` · ``24.27`` ·
    ``0.7963``; "—" for None, a bool, anything not a finite number."""
    number = _finite(value)
    if number is None:
        return "—"
    if number.is_integer():
        return f"{int(number):,}"
    magnitude = math.floor(math.log10(abs(number)))
    decimals = min(6, max(0, 3 - magnitude))
    text = f"{number:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_percent(fraction: Any) -> str:
    """A fraction as a percentage, one decimal from 1 % up and two significant digits below:
    ``0.4321`` → ``43.2%``, ``0.003184`` → ``0.32%``, ``0.4`` → ``40%``; "—" when it is not a finite number."""
    number = _finite(fraction)
    if number is None:
        return "—"
    percent = number * 100
    decimals = 1 if abs(percent) >= 1 or percent == 0 else 1 - math.floor(math.log10(abs(percent)))
    text = f"{percent:,.{decimals}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def grade_colour(efficiency_value: Any) -> str | None:
    """The display colour of the grade K falls in, None when K is not a finite number."""
    number = _finite(efficiency_value)
    grade = None if number is None else grade_for(number)
    return None if grade is None else GRADES[grade - 1].hex


def nice_ticks(maximum: float, count: int = 4) -> tuple[float, ...]:
    """Axis ticks from 0 in steps of 1, 2, 2.5 or 5 × 10ⁿ, the last at or above `maximum`, about `count`
    steps; ``(0, 1)`` when `maximum` is not a positive finite number."""
    if not math.isfinite(maximum) or maximum <= 0:
        return (0.0, 1.0)
    raw = maximum / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * (1 - 1e-12))
    # Rounding the count of steps, not the top value, keeps 0.1 + 0.2 style sums off the labels.
    steps = math.ceil(maximum / step - 1e-9)
    return tuple(round(i * step, 12) for i in range(steps + 1))


# ----------------------------------------------------------------------------------------------------------
# Charts


def grade_distribution_svg(grade_counts: Mapping[str, Any] | None, *, suppressed: bool = False) -> str:
    """Vertical bars of enterprises per grade (keys ``"1"`` … ``"5"``, ``"ungraded"``), each in its grade's
    colour, with the count and share of the population above it. With no count at all it says "no data",
    or "suppressed" when the caller says the cell is `suppressed`."""
    counts = [(str(band.grade), band.hex, f"{band.grade} 级", f"Grade {band.grade}") for band in GRADES]
    counts.append(("ungraded", UNGRADED_COLOUR, "未评级", "Ungraded"))
    values = [_finite((grade_counts or {}).get(key)) for key, *_ in counts]
    known = [v for v in values if v is not None]
    title = "碳效等级分布 Enterprises by grade"
    if not known:
        return _empty(title, suppressed)
    total = sum(known)
    height, top, bottom, left = 200, 30, 40, 8
    plot_h = height - top - bottom
    slot = (CHART_WIDTH - 2 * left) / len(counts)
    peak = max(known) or 1.0
    parts = [_baseline(left, CHART_WIDTH - left, top + plot_h)]
    for i, ((_, colour, zh, en), value) in enumerate(zip(counts, values, strict=True)):
        centre = left + slot * (i + 0.5)
        label_y = top + plot_h
        if value is None:
            parts.append(_text(centre, label_y - 6, "—", size=12, fill=_MUTED, anchor="middle"))
        else:
            bar_h = plot_h * value / peak
            y = top + plot_h - bar_h
            parts.append(
                f'<rect x="{_n(centre - slot * 0.34)}" y="{_n(y)}" width="{_n(slot * 0.68)}" '
                f'height="{_n(bar_h)}" rx="2" fill="{colour}"><title>{_e(zh)} {_e(en)}: '
                f"{_e(format_number(value))}</title></rect>"
            )
            share = format_percent(value / total) if total else "—"
            parts.append(_text(centre, y - 17, share, size=9.5, fill=_MUTED, anchor="middle"))
            parts.append(_text(centre, y - 5, format_number(value), size=12, weight="bold", anchor="middle"))
        parts.append(_text(centre, label_y + 15, zh, size=11.5, anchor="middle"))
        parts.append(_text(centre, label_y + 29, en, size=9.5, fill=_MUTED, anchor="middle"))
    return _svg(height, title, parts)


def trend_svg(points: Sequence[Mapping[str, Any]]) -> str:
    """Emissions per period as bars on the left axis and intensity as a line on the right axis, both from
    zero with round ticks; points are ``{"period", "emissionsTCo2", "intensity", …}`` in time order. A
    period without a figure leaves a gap; a series whose every figure is None reads "suppressed"."""
    title = "排放与强度趋势 Emissions and intensity over time"
    if not points:
        return _empty(title, False)
    emissions = [_finite(p.get("emissionsTCo2")) for p in points]
    intensity = [_finite(p.get("intensity")) for p in points]
    if all(v is None for v in emissions + intensity):
        return _empty(title, True)
    scale, unit_zh = (
        (1e4, "万tCO₂") if max((v for v in emissions if v is not None), default=0) >= 1e5 else (1, "tCO₂")
    )
    left_ticks = nice_ticks(max((v / scale for v in emissions if v is not None), default=0))
    right_ticks = nice_ticks(max((v for v in intensity if v is not None), default=0))
    height, top, bottom, left, right = 230, 44, 34, 46, 40
    plot_w, plot_h = CHART_WIDTH - left - right, height - top - bottom
    base = top + plot_h
    parts = [
        f'<rect x="{left}" y="3" width="11" height="9" fill="{_BAR}"/>',
        _text(left + 15, 11.5, f"排放 Emissions · {unit_zh}", size=10.5),
        f'<line x1="{left}" y1="24.5" x2="{left + 11}" y2="24.5" stroke="{_LINE}" stroke-width="2.5"/>',
        f'<circle cx="{left + 5.5}" cy="24.5" r="2.5" fill="{_LINE}"/>',
        _text(left + 15, 28, "强度 Intensity · tCO₂/万元", size=10.5),
    ]
    for i, tick in enumerate(left_ticks):
        y = base - plot_h * i / (len(left_ticks) - 1)
        parts.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{left + plot_w}" y2="{_n(y)}" stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(_text(left - 4, y + 3.5, format_number(tick), size=9.5, fill=_MUTED, anchor="end"))
    for i, tick in enumerate(right_ticks):
        y = base - plot_h * i / (len(right_ticks) - 1)
        parts.append(_text(left + plot_w + 4, y + 3.5, format_number(tick), size=9.5, fill=_LINE))
    slot = plot_w / len(points)
    labels = _period_labels([str(p.get("period", "")) for p in points])
    every = max(1, math.ceil(len(points) * 30 / plot_w))
    line: list[list[tuple[float, float]]] = [[]]
    for i, (point, emitted, ratio) in enumerate(zip(points, emissions, intensity, strict=True)):
        centre = left + slot * (i + 0.5)
        tip = f"{point.get('period', '')}: {format_number(emitted)} tCO₂ · {format_number(ratio)} tCO₂/万元"
        if emitted is not None:
            bar_h = plot_h * (emitted / scale) / left_ticks[-1]
            parts.append(
                f'<rect x="{_n(centre - slot * 0.32)}" y="{_n(base - bar_h)}" width="{_n(slot * 0.64)}" '
                f'height="{_n(bar_h)}" fill="{_BAR}"><title>{_e(tip)}</title></rect>'
            )
        if ratio is None:
            line.append([])
        else:
            line[-1].append((centre, base - plot_h * ratio / right_ticks[-1]))
        if i % every == 0:
            parts.append(_text(centre, base + 13, labels.ticks[i], size=9.5, fill=_MUTED, anchor="middle"))
    parts.append(_baseline(left, left + plot_w, base))
    for run in line:
        if len(run) > 1:
            coordinates = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
            parts.append(
                f'<polyline points="{coordinates}" fill="none" stroke="{_LINE}" stroke-width="2.2" '
                'stroke-linejoin="round"/>'
            )
        parts.extend(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.8" fill="{_LINE}" stroke="#fff" stroke-width="1"/>'
            for x, y in run
        )
    if labels.caption:
        parts.append(
            _text(left + plot_w / 2, height - 4, labels.caption, size=9.5, fill=_MUTED, anchor="middle")
        )
    return _svg(height, title, parts)


def energy_structure_svg(shares: Mapping[str, Any] | None, *, suppressed: bool = False) -> str:
    """A 100 % stacked bar of the energy-carrier shares (fractions of total energy: coal, oil, gas,
    electricity, heat, other) and a legend with each carrier's name and percentage. With no share above
    zero it says "no data", or "suppressed" when the caller says the cell is `suppressed`."""
    title = "能源结构 Energy structure"
    values = [_finite((shares or {}).get(key)) for key, *_ in ENERGY_CARRIERS]
    total = sum(max(v, 0.0) for v in values if v is not None)
    if total <= 0:
        return _empty(title, suppressed)
    left, bar_y, bar_h = 8, 8, 30
    bar_w = CHART_WIDTH - 2 * left
    parts = []
    x = float(left)
    for (key, zh, en, colour), value in zip(ENERGY_CARRIERS, values, strict=True):
        if value is None or value <= 0:
            continue
        width = bar_w * value / total
        parts.append(
            f'<rect x="{_n(x)}" y="{bar_y}" width="{_n(width)}" height="{bar_h}" fill="{colour}" '
            f'data-carrier="{key}"><title>{_e(zh)} {_e(en)}: {_e(format_percent(value))}</title></rect>'
        )
        if width >= 34:
            ink = "#1d2521" if key in ("gas", "other") else "#ffffff"
            parts.append(
                _text(
                    x + width / 2,
                    bar_y + bar_h / 2 + 4,
                    f"{value * 100:.0f}%",
                    size=11,
                    fill=ink,
                    anchor="middle",
                )
            )
        x += width
    columns, row_h, legend_y = 2, 22, bar_y + bar_h + 22
    column_w = bar_w / columns
    for i, ((_, zh, en, colour), value) in enumerate(zip(ENERGY_CARRIERS, values, strict=True)):
        cx = left + column_w * (i % columns)
        cy = legend_y + row_h * (i // columns)
        parts.append(f'<rect x="{_n(cx)}" y="{_n(cy - 9)}" width="11" height="11" rx="2" fill="{colour}"/>')
        parts.append(_text(cx + 16, cy + 1, zh, size=12))
        parts.append(_text(cx + 16 + 12 * len(zh) + 4, cy + 1, en, size=10, fill=_MUTED))
        parts.append(
            _text(cx + column_w - 10, cy + 1, format_percent(value), size=12, weight="bold", anchor="end")
        )
    height = legend_y + row_h * math.ceil(len(ENERGY_CARRIERS) / columns) - 8
    return _svg(height, title, parts)


def ranking_svg(
    rows: Sequence[Mapping[str, Any]],
    value_key: str,
    label_key: str,
    *,
    reference: Any = None,
    reference_label: str = "基准 Benchmark",
    grade_key: str | None = "efficiencyValue",
    href_key: str | None = None,
) -> str:
    """Horizontal bars of ``row[value_key]`` labelled ``row[label_key]``, in the order given (rank 1 first),
    with `reference` (e.g. the benchmark) as a dashed line. A bar takes the grade colour of
    ``row[grade_key]`` when that is a finite K, else a neutral grey-blue; a row with no value says
    "已隐藏 suppressed" instead of a bar. With `href_key`, each row links to ``row[href_key]`` (a URL the
    caller built: drill-down)."""
    title = "排名 Ranking"
    if not rows:
        return _empty(title, False)
    values = [_finite(row.get(value_key)) for row in rows]
    mark = _finite(reference)
    peak = max([v for v in values if v is not None] + ([mark] if mark is not None else []), default=0.0)
    labels = [str(row.get(label_key) or row.get("code") or "—") for row in rows]
    # Columns as wide as their longest text: labels up to 120 units (then cut with "…"), figures whole.
    label_w = min(120.0, max(_text_width(label, 12) for label in labels) + 8)
    value_w = max([_text_width(format_number(v), 11.5) + 8 for v in values if v is not None] + [30.0])
    rank_w, left, top, row_h = 20, 4, 22 if mark is not None else 6, 24
    bar_x = left + rank_w + label_w
    bar_w = CHART_WIDTH - bar_x - value_w
    height = top + row_h * len(rows) + 6
    parts = []
    if mark is not None and peak > 0:
        x = bar_x + bar_w * mark / peak
        parts.append(
            f'<line x1="{_n(x)}" y1="{top - 4}" x2="{_n(x)}" y2="{height - 4}" stroke="{_INK}" '
            'stroke-width="1.2" stroke-dasharray="4 3"/>'
        )
        anchor = "end" if x > bar_x + bar_w * 0.6 else "start"
        offset = 3 if anchor == "start" else -3
        parts.append(
            _text(
                x + offset, 13, f"{reference_label} {format_number(mark)}", size=10, fill=_INK, anchor=anchor
            )
        )
    for i, (row, value, label) in enumerate(zip(rows, values, labels, strict=True)):
        y = top + row_h * i
        item = [
            _text(left + rank_w - 6, y + 16, str(i + 1), size=10, fill=_MUTED, anchor="end"),
            _text(left + rank_w, y + 16, _fit(label, label_w - 4, 12), size=12),
        ]
        if value is None:
            item.append(_text(bar_x + 2, y + 16, "已隐藏 suppressed", size=10.5, fill=_MUTED))
        else:
            width = max(1.0, bar_w * value / peak) if peak > 0 else 1.0
            colour = (grade_colour(row.get(grade_key)) if grade_key else None) or _NEUTRAL
            item.append(
                f'<rect x="{bar_x}" y="{y + 5}" width="{_n(width)}" height="{row_h - 9}" rx="2" fill="{colour}"/>'
            )
            # A white halo keeps the figure legible where the reference line crosses it.
            figure = _text(bar_x + width + 4, y + 16, format_number(value), size=11, weight="bold")
            item.append(
                figure.replace("<text ", '<text paint-order="stroke" stroke="#fff" stroke-width="3" ', 1)
            )
        tip = f"<title>{_e(label)}: {_e(format_number(value))}</title>"
        href = row.get(href_key) if href_key else None
        body = tip + "".join(item)
        parts.append(
            f'<a href="{_e(href)}">{body}</a>' if isinstance(href, str) and href else f"<g>{body}</g>"
        )
    return _svg(height, title, parts)


# ----------------------------------------------------------------------------------------------------------
# Pieces


@dataclass(frozen=True, slots=True)
class _PeriodLabels:
    """Short tick labels for period keys and, when they share a year, a caption naming it."""

    ticks: list[str]
    caption: str


_SUB_YEAR: Final = {"-": "月 month", "Q": "季度 quarter", "H": "半年 half-year"}


def _period_labels(periods: list[str]) -> _PeriodLabels:
    """``2025-03`` → ``3`` and ``2025Q1`` → ``Q1`` under a caption ``2025 年 · 月 month`` when every period
    is in one year; months of several years as ``25-03``; anything else as it is."""
    kinds = {p[4:5] for p in periods}
    if len({p[:4] for p in periods}) == 1 and len(kinds) == 1 and (kind := kinds.pop()) in _SUB_YEAR:
        ticks = [p[5:].lstrip("0") if kind == "-" else p[4:] for p in periods]
        return _PeriodLabels(ticks, f"{periods[0][:4]} 年 · {_SUB_YEAR[kind]}")
    if all(len(p) == 7 and p[4] == "-" for p in periods):
        return _PeriodLabels([p[2:] for p in periods], "")
    return _PeriodLabels(periods, "")


def _svg(height: float, title: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {CHART_WIDTH} {_n(height)}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{_e(title)}" '
        f'font-family=\'{FONT}\' font-size="11" fill="{_INK}">'
        f"<title>{_e(title)}</title>{''.join(parts)}</svg>"
    )


def _empty(title: str, suppressed: bool) -> str:
    words = ("已隐藏", "suppressed for the public") if suppressed else ("暂无数据", "no data")
    return _svg(
        64,
        title,
        [
            f'<rect x="1" y="1" width="{CHART_WIDTH - 2}" height="62" rx="8" fill="#f5f7f6" stroke="{_GRID}"/>',
            _text(CHART_WIDTH / 2, 30, words[0], size=14, weight="bold", fill=_MUTED, anchor="middle"),
            _text(CHART_WIDTH / 2, 47, words[1], size=11, fill=_MUTED, anchor="middle"),
        ],
    )


def _baseline(x1: float, x2: float, y: float) -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y)}" x2="{_n(x2)}" y2="{_n(y)}" stroke="#9aa5a0" stroke-width="1"/>'


def _text(
    x: float,
    y: float,
    words: str,
    *,
    size: float,
    fill: str | None = None,
    anchor: str = "start",
    weight: str | None = None,
) -> str:
    attributes = f'x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"'
    if anchor != "start":
        attributes += f' text-anchor="{anchor}"'
    if fill:
        attributes += f' fill="{fill}"'
    if weight:
        attributes += f' font-weight="{weight}"'
    return f"<text {attributes}>{_e(words)}</text>"


def _text_width(words: str, size: float) -> float:
    """About how wide `words` are at font `size`: a CJK character one em, anything else 0.6 em."""
    return sum(size if ord(char) >= 0x2E80 else size * 0.6 for char in words)


def _fit(words: str, width: float, size: float) -> str:
    """`words` cut to about `width` units at font `size`, ending in "…" when cut."""
    if _text_width(words, size) <= width:
        return words
    cut = words
    while cut and _text_width(cut + "…", size) > width:
        cut = cut[:-1]
    return cut + "…"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _e(value: Any) -> str:
    return escape(str(value), quote=True)
