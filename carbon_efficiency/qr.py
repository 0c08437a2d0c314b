"""Colour-coded carbon-efficiency QR codes as PNG and SVG: the code in its grade's colour, the grade below it.

What a phone camera sees on a printed certificate: the certificate page URL at error-correction level H (the
code survives a sticker, a fold or a logo over 30 % of it), dark modules in a shade of the grade's colour
that still has at least 3:1 contrast with white (zbar and phone cameras binarise on luminance, so a true
yellow or light green code would not decode), a quiet zone of 4 modules, and under it a panel in the grade's
display colour reading ``碳效 2 级 · 浅绿`` / ``Grade 2 - light green`` with the digit large, then a caption
(the enterprise, the certificate handle: up to three lines). Ungraded certificates get a dark grey code and
``未评级 / Ungraded``.

Pure functions; the QR matrix comes from the ``qrcode`` package, everything else is written here: the PNG
(8-bit palette, zlib, no Pillow) draws its words with one-bit glyphs shipped in ``qr_glyphs.json`` (ASCII
and all of GB 2312; see `tests/tools/qr_glyphs_build.py`), the SVG is self-contained (one path for the modules,
``<text>`` in the system's fonts for the words).
"""

from __future__ import annotations

import base64
import json
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from html import escape
from importlib import resources
from typing import Final
from urllib.parse import quote

import qrcode
from qrcode.constants import ERROR_CORRECT_H
from qrcode.exceptions import DataOverflowError

from carbon_efficiency.grading import GRADES

__all__ = [
    "GRADE_STYLES",
    "UNGRADED_STYLE",
    "GradeStyle",
    "ascii_url",
    "certificate_qr_png",
    "certificate_qr_svg",
    "grade_style",
]

QUIET_ZONE: Final = 4
"""Modules of white around the code (ISO/IEC 18004 asks for 4)."""
DEFAULT_SCALE: Final = 8
"""Pixels per module: a version-6 code is then 392 px wide, about 3 cm at 300 dpi."""
MAX_LABEL: Final = 1000
"""Characters of a caption accepted at all; what does not fit in `LABEL_LINES` lines ends in "…"."""
LABEL_LINES: Final = 3
FONT_FAMILY: Final = "'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif"
LABEL_FAMILY: Final = (
    "'DejaVu Sans Mono',Menlo,Consolas,'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',monospace"
)
_WHITE: Final = "#ffffff"
_CAPTION: Final = "#424242"
_MIN_WIDTH: Final = 400
"""Narrowest image (at scale 8) in which the grade panel's two lines fit."""


@dataclass(frozen=True, slots=True)
class GradeStyle:
    """How one grade is shown: its colour name, a display colour (badges, the panel) with the text colour that
    reads on it, and the darker shade of the same hue the QR modules are drawn in."""

    grade: int | None
    colour: str | None
    """The certificate's `gradeColour` value (dark-green … red); None when ungraded."""
    name_zh: str
    name_en: str
    display: str
    on_display: str
    qr: str

    @property
    def caption_zh(self) -> str:
        """``碳效 2 级`` or ``未评级``."""
        return "未评级" if self.grade is None else f"碳效 {self.grade} 级"

    @property
    def caption_en(self) -> str:
        """``Grade 2`` or ``Ungraded``."""
        return "Ungraded" if self.grade is None else f"Grade {self.grade}"


# Grades, colour names and display colours come from `carbon_efficiency.grading` (grading.json), so the
# certificate, its QR code and the regional dashboard show one palette. `qr` is the darkest shade that still
# reads as that colour, each with WCAG contrast against white >= 3:1 (measured in
# tests/carbon_efficiency/test_qr.py): #1b5e20 7.9, #558b2f 4.1, #9a7b00 4.0, #e65100 3.8, #c62828 5.6,
# #424242 10.1. `on_display` is the text colour that reads on the display colour.
_QR_SHADES: Final = {
    1: ("#ffffff", "#1b5e20"),
    2: ("#1a1a1a", "#558b2f"),
    3: ("#1a1a1a", "#9a7b00"),
    4: ("#1a1a1a", "#e65100"),
    5: ("#ffffff", "#c62828"),
}
GRADE_STYLES: Final[dict[int, GradeStyle]] = {
    band.grade: GradeStyle(
        band.grade, band.colour, band.name_zh, band.name_en, band.hex.lower(), *_QR_SHADES[band.grade]
    )
    for band in GRADES
}
UNGRADED_STYLE: Final = GradeStyle(None, None, "未评级", "ungraded", "#757575", "#ffffff", "#424242")


def grade_style(grade: int | None) -> GradeStyle:
    """The style of grade 1-5, or of an ungraded certificate (None); ValueError for anything else."""
    if grade is None:
        return UNGRADED_STYLE
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADE_STYLES:
        raise ValueError(f"grade {grade!r}: expected 1, 2, 3, 4, 5 or None (ungraded)")
    return GRADE_STYLES[grade]


def certificate_qr_png(url: str, grade: int | None, *, label: str, scale: int = DEFAULT_SCALE) -> bytes:
    """A PNG of the QR code of `url` in the colour of `grade`, the grade panel and `label` below it.

    The code carries `ascii_url(url)` (non-ASCII characters percent-encoded). `label` is a caption ("" for
    none), wrapped to the image width in at most three lines, the last ending in "…" when it does not fit;
    characters outside ASCII and GB 2312 show as an empty box. `scale` is pixels per module; the words grow with it in
    whole steps of 8. ValueError for a grade other than 1-5 or None, an empty or too long URL, a caption with
    control characters or of more than 1000 characters.
    """
    style = grade_style(grade)
    layout = _layout(_modules(url), scale, label)
    palette = (_WHITE, style.qr, style.display, style.on_display, _CAPTION)
    canvas = _Canvas(layout.width, layout.height)
    _paint_modules(canvas, layout)
    canvas.fill(layout.panel_x, layout.panel_y, layout.panel_w, layout.panel_h, 2)
    fonts = _fonts()
    t = layout.text_scale
    if style.grade is not None:
        canvas.text(fonts["digits"], str(style.grade), layout.digit_x, layout.digit_y, 3, t)
    words_x = layout.words_x if style.grade is not None else layout.digit_x
    canvas.text(fonts["title"], _line_zh(style), words_x, layout.line1_y, 3, t)
    canvas.text(fonts["text"], _line_en(style), words_x, layout.line2_y, 3, t)
    for i, line in enumerate(layout.label_lines):
        x = (layout.width - fonts["text"].width(line) * t) // 2
        canvas.text(fonts["text"], line, x, layout.label_y + i * layout.label_step, 4, t)
    return _png(canvas, palette)


def certificate_qr_svg(url: str, grade: int | None, *, label: str, scale: int = DEFAULT_SCALE) -> str:
    """The same picture as `certificate_qr_png`, as a self-contained SVG document (no fonts, links or scripts).

    The modules are one ``<path>``; the words are ``<text>`` in the system's CJK sans-serif, the caption in
    the same lines as the PNG's.
    """
    style = grade_style(grade)
    modules = _modules(url)
    layout = _layout(modules, scale, label)
    t = layout.text_scale
    size = len(modules)
    runs = []
    for r, row in enumerate(modules):
        c = 0
        while c < size:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < size and row[c]:
                c += 1
            runs.append(f"M{start} {r}h{c - start}v1h{start - c}z")
    title = f"{_line_zh(style)} / {_line_en(style)}: {url}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{layout.width}" height="{layout.height}" '
        f'viewBox="0 0 {layout.width} {layout.height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{layout.width}" height="{layout.height}" fill="{_WHITE}"/>',
        f'<path fill="{style.qr}" shape-rendering="crispEdges" '
        f'transform="translate({layout.qr_x} {layout.qr_y}) scale({layout.module})" d="{"".join(runs)}"/>',
        f'<rect x="{layout.panel_x}" y="{layout.panel_y}" width="{layout.panel_w}" height="{layout.panel_h}" '
        f'fill="{style.display}"/>',
        f'<g fill="{style.on_display}" font-family="{FONT_FAMILY}" font-weight="bold">',
    ]
    if style.grade is not None:
        parts.append(
            f'<text x="{layout.digit_x}" y="{layout.digit_y + 54 * t}" font-size="{74 * t}">{style.grade}</text>'
        )
    words_x = layout.words_x if style.grade is not None else layout.digit_x
    parts.append(
        f'<text x="{words_x}" y="{layout.line1_y + 24 * t}" font-size="{26 * t}">{escape(_line_zh(style))}</text>'
    )
    parts.append(
        f'<text x="{words_x}" y="{layout.line2_y + 13 * t}" font-size="{15 * t}">{escape(_line_en(style))}</text>'
    )
    parts.append("</g>")
    for i, line in enumerate(layout.label_lines):
        y = layout.label_y + i * layout.label_step + 15 * t
        parts.append(
            f'<text x="{layout.width // 2}" y="{y}" text-anchor="middle" fill="{_CAPTION}" '
            f'font-family="{LABEL_FAMILY}" font-weight="bold" font-size="{16 * t}">{escape(line)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _line_zh(style: GradeStyle) -> str:
    return style.caption_zh if style.grade is None else f"{style.caption_zh} · {style.name_zh}"


def _line_en(style: GradeStyle) -> str:
    return style.caption_en if style.grade is None else f"{style.caption_en} - {style.name_en}"


@lru_cache(maxsize=1024)
def _modules(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR matrix of `url` (no quiet zone); cached because choosing the mask is most of the work."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"QR url {url!r}: expected a non-empty string")
    data = ascii_url(url)
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError):
        # qrcode says "Invalid version (was 41 …)" when the data outgrows version 40.
        raise ValueError(
            f"QR url of {len(data)} bytes: too long for a QR code at error-correction level H"
        ) from None
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def ascii_url(url: str) -> str:
    """The URL a code carries: non-ASCII, space and control characters percent-encoded as UTF-8 (RFC 3987).

    QR byte mode has no agreed character set without an ECI header, which qrcode does not write: zbar reads
    UTF-8 bytes as Shift-JIS, so ``证书`` would come back as mojibake. ``%E8%AF%81%E4%B9%A6`` opens the same
    page on every scanner.
    """
    return "".join(ch if "!" <= ch <= "~" else quote(ch, safe="") for ch in url)


def _caption(label: str) -> str:
    if not isinstance(label, str):
        raise ValueError(f"QR label {label!r}: expected a string")
    if len(label) > MAX_LABEL:
        raise ValueError(f"QR label of {len(label)} characters: at most {MAX_LABEL}")
    kept = []
    for i, ch in enumerate(label):
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):
            raise ValueError(f"QR label {label[:40]!r}: control character {ch!r} at {i}")
        if category != "Cf":  # invisible formatting (zero-width space, soft hyphen) has nothing to draw
            kept.append(ch)
    return "".join(kept).strip()


def _wrap(text: str, limit: int, font: _Font) -> tuple[str, ...]:
    """Lines of at most `limit` pixels, broken at a space in the second half of a line, else anywhere."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and font.width(line + ch) > limit:
            cut = line.rfind(" ")
            if cut > len(line) // 2:
                lines.append(line[:cut])
                line = line[cut + 1 :]
            else:
                lines.append(line)
                line = ""
        if len(lines) > LABEL_LINES:
            break
        if line or ch != " ":
            line += ch
    if line and len(lines) <= LABEL_LINES:
        lines.append(line)
    if len(lines) > LABEL_LINES:
        last = lines[LABEL_LINES - 1]
        while last and font.width(last + "…") > limit:
            last = last[:-1]
        lines = [*lines[: LABEL_LINES - 1], last.rstrip() + "…"]
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class _Layout:
    module: int
    text_scale: int
    width: int
    height: int
    qr_x: int
    qr_y: int
    modules: tuple[tuple[bool, ...], ...]
    panel_x: int
    panel_y: int
    panel_w: int
    panel_h: int
    digit_x: int
    digit_y: int
    words_x: int
    line1_y: int
    line2_y: int
    label_lines: tuple[str, ...]
    label_y: int
    label_step: int


def _layout(modules: tuple[tuple[bool, ...], ...], scale: int, label: str) -> _Layout:
    # Positions are in pixels at text scale 1 (scale 8) times t; the code itself scales with `scale`.
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 64:
        raise ValueError(f"QR scale {scale!r}: expected a whole number of pixels per module, 1 to 64")
    caption = _caption(label)
    t = max(1, scale // DEFAULT_SCALE)
    quiet = QUIET_ZONE * scale
    side = len(modules) * scale
    width = max(side + 2 * quiet, _MIN_WIDTH * t)
    margin = max(quiet, 16 * t)
    panel_x, panel_y = margin, quiet + side + quiet
    panel_w, panel_h = width - 2 * margin, 80 * t
    text = _fonts()["text"]
    lines = _wrap(caption, (width - 2 * margin) // t, text) if caption else ()
    label_y = panel_y + panel_h + 12 * t
    label_step = (text.height + 2) * t
    height = label_y + len(lines) * label_step + (4 * t if lines else 0) + margin - 12 * t
    return _Layout(
        module=scale,
        text_scale=t,
        width=width,
        height=height,
        qr_x=(width - side) // 2,
        qr_y=quiet,
        modules=modules,
        panel_x=panel_x,
        panel_y=panel_y,
        panel_w=panel_w,
        panel_h=panel_h,
        digit_x=panel_x + 14 * t,
        digit_y=panel_y + 13 * t,
        words_x=panel_x + 80 * t,
        line1_y=panel_y + 10 * t,
        line2_y=panel_y + 48 * t,
        label_lines=lines,
        label_y=label_y,
        label_step=label_step,
    )


@dataclass(frozen=True, slots=True)
class _Glyph:
    advance: int
    x: int
    runs: tuple[tuple[int, int, int], ...]
    """The inked runs as (row, first column, length)."""


def _runs(rows: list[int] | tuple[int, ...], bits: int) -> tuple[tuple[int, int, int], ...]:
    """Runs of set bits in rows `bits` wide, most significant bit leftmost."""
    runs = []
    for r, row in enumerate(rows):
        line = format(row, f"0{bits}b")
        start = line.find("1")
        while start >= 0:
            end = line.find("0", start)
            end = bits if end < 0 else end
            runs.append((r, start, end - start))
            start = line.find("1", end)
    return tuple(runs)


class _Font:
    """One packed font of ``qr_glyphs.json``; glyphs are unpacked the first time they are drawn."""

    def __init__(self, document: dict[str, object]) -> None:
        self.height = int(str(document["height"]))
        self.row_bytes = int(str(document["rowBytes"]))
        self.index = {ch: i for i, ch in enumerate(str(document["chars"]))}
        self.data = zlib.decompress(base64.b64decode(str(document["glyphs"])))
        self.record = 3 + self.height * self.row_bytes
        self._glyphs: dict[str, _Glyph] = {}

    def glyph(self, ch: str) -> _Glyph:
        """The glyph of `ch`, or an empty box when the font lacks it."""
        found = self._glyphs.get(ch)
        if found is not None:
            return found
        i = self.index.get(ch)
        if i is None:
            found = self._glyphs[ch] = self._box()
            return found
        start = i * self.record
        advance, x = self.data[start], self.data[start + 1] - 128
        step = self.row_bytes
        body = self.data[start + 3 : start + self.record]
        rows = tuple(int.from_bytes(body[r * step : (r + 1) * step], "big") for r in range(self.height))
        found = self._glyphs[ch] = _Glyph(advance, x, _runs(rows, 8 * step))
        return found

    def _box(self) -> _Glyph:
        """An empty box a full em wide: the usual sign of a character the font lacks."""
        side = self.height * 2 // 3
        top = (self.height - side) // 2
        edge, walls = (1 << 16) - (1 << (16 - side)), (1 << 15) | (1 << (16 - side))
        rows = [0] * self.height
        for r in range(top, top + side):
            rows[r] = edge if r in (top, top + side - 1) else walls
        return _Glyph(side + 4, 2, _runs(rows, 16))

    def width(self, text: str) -> int:
        """The advance of `text` in pixels at text scale 1."""
        return sum(self.glyph(ch).advance for ch in text)


@cache
def _fonts() -> dict[str, _Font]:
    raw = resources.files("carbon_efficiency.data").joinpath("qr_glyphs.json").read_text("utf-8")
    return {name: _Font(font) for name, font in json.loads(raw)["fonts"].items()}


class _Canvas:
    """Palette indices, one byte a pixel, row after row; index 0 is the white background."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(width * height)

    def fill(self, x: int, y: int, w: int, h: int, index: int) -> None:
        span = bytes([index]) * w
        for row in range(y, y + h):
            start = row * self.width + x
            self.pixels[start : start + w] = span

    def text(self, font: _Font, text: str, x: int, y: int, index: int, t: int) -> None:
        for ch in text:
            glyph = font.glyph(ch)
            left = x + glyph.x * t
            for r, col, run in glyph.runs:
                self.fill(left + col * t, y + r * t, run * t, t, index)
            x += glyph.advance * t


def _paint_modules(canvas: _Canvas, layout: _Layout) -> None:
    m = layout.module
    for r, row in enumerate(layout.modules):
        line = bytearray(canvas.width)
        for c, dark in enumerate(row):
            if dark:
                start = layout.qr_x + c * m
                line[start : start + m] = b"\x01" * m
        for y in range(layout.qr_y + r * m, layout.qr_y + (r + 1) * m):
            canvas.pixels[y * canvas.width : (y + 1) * canvas.width] = line


def _png(canvas: _Canvas, palette: tuple[str, ...]) -> bytes:
    """An 8-bit palette PNG. A row equal to the one above is written with filter 2 (Up) as all zeros, any
    other row unfiltered: each module row repeats `scale` times, so zlib at level 6 then gets within a
    fifth of level 9's size in a tenth of its time (about 1 ms against 11 for a 400 × 530 code)."""
    width = canvas.width
    raw = bytearray()
    zeros = bytes(width)
    previous = None
    for y in range(canvas.height):
        row = canvas.pixels[y * width : (y + 1) * width]
        if row == previous:
            raw.append(2)
            raw += zeros
        else:
            raw.append(0)
            raw += row
        previous = row
    header = struct.pack(">IIBBBBB", width, canvas.height, 8, 3, 0, 0, 0)
    colours = b"".join(bytes.fromhex(colour[1:]) for colour in palette)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", colours)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
