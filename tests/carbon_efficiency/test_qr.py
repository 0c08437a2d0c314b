"""Colour-coded certificate QR codes: zbar decodes them to exactly the URL, in every grade's colour.

Decoding is checked with zbar (the decoder phone apps and scanners build on), the colours by reading the
PNG's pixels back, the SVG by having Chromium draw it and zbar read the drawing.
"""

from __future__ import annotations

import colorsys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_H

from carbon_efficiency.qr import (
    GRADE_STYLES,
    QUIET_ZONE,
    UNGRADED_STYLE,
    ascii_url,
    certificate_qr_png,
    certificate_qr_svg,
    grade_style,
)
from tests.imaging import decode_qr, read_png, screenshot

URL = "https://resolver.example/c/88.100.9/CERT.88.186.1.2025"
HANDLE = "88.100.9/CERT.88.186.1.2025"
GRADES = [1, 2, 3, 4, 5, None]
WHITE = (255, 255, 255)
SVG = "{http://www.w3.org/2000/svg}"


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio (lighter + 0.05) / (darker + 0.05)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def hue(colour: str) -> float:
    """Hue in degrees, red at 0, folded to -180..180 so reds sit around 0."""
    h = colorsys.rgb_to_hls(*(c / 255 for c in rgb(colour)))[0] * 360
    return h - 360 if h > 180 else h


def expected_matrix(url: str) -> list[list[bool]]:
    """The modules of `url` at level H, made here with qrcode directly (not through carbon_efficiency.qr)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def test_contrast_helper_matches_a_hand_computation():
    # #1b5e20: channels 27, 94, 32 → /255 → 0.10588, 0.36863, 0.12549 → linear ((c + 0.055) / 1.055) ** 2.4
    # = 0.010960, 0.111954, 0.014444 → L = 0.2126·0.010960 + 0.7152·0.111954 + 0.0722·0.014444 = 0.083432
    # → contrast with white (1 + 0.05) / (0.083432 + 0.05) = 7.869
    assert luminance("#1b5e20") == pytest.approx(0.083432, rel=1e-4)
    assert contrast("#ffffff", "#1b5e20") == pytest.approx(7.869, rel=1e-3)
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)


def test_every_qr_colour_keeps_3_to_1_contrast_with_white_and_reads_as_its_colour():
    hues = {
        "dark-green": (75, 150),
        "light-green": (75, 150),
        "yellow": (40, 60),
        "orange": (15, 35),
        "red": (-10, 10),
    }
    for grade, style in GRADE_STYLES.items():
        assert style.grade == grade
        assert contrast(style.qr, "#ffffff") >= 3.0, style
        assert contrast(style.on_display, style.display) >= 4.5, style  # panel and badge text
        low, high = hues[style.colour]
        assert low <= hue(style.qr) <= high, (style.colour, hue(style.qr))
        assert low <= hue(style.display) <= high, (style.colour, hue(style.display))
    # Light green must not pass for dark green: lighter by half again and a clearly yellower hue.
    dark, light = GRADE_STYLES[1], GRADE_STYLES[2]
    assert luminance(light.qr) > 1.5 * luminance(dark.qr)
    assert hue(dark.qr) - hue(light.qr) >= 15
    assert len({style.qr for style in GRADE_STYLES.values()} | {UNGRADED_STYLE.qr}) == 6
    assert contrast(UNGRADED_STYLE.qr, "#ffffff") >= 7.0  # neutral dark grey
    assert [s.colour for s in GRADE_STYLES.values()] == [
        "dark-green",
        "light-green",
        "yellow",
        "orange",
        "red",
    ]


def test_grade_style_refuses_what_is_not_a_grade():
    assert grade_style(None) is UNGRADED_STYLE
    assert grade_style(3).caption_zh == "碳效 3 级"
    assert grade_style(3).caption_en == "Grade 3"
    for wrong in (0, 6, True, "2", 2.0):
        with pytest.raises(ValueError, match="expected 1, 2, 3, 4, 5 or None"):
            grade_style(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize("grade", GRADES)
def test_png_decodes_to_exactly_the_url(grade, tmp_path):
    image = tmp_path / "code.png"
    image.write_bytes(certificate_qr_png(URL, grade, label=HANDLE))
    assert decode_qr(image) == [URL]


@pytest.mark.parametrize("grade", GRADES)
def test_png_modules_are_the_grade_colour_on_white_with_a_4_module_quiet_zone(grade):
    style = grade_style(grade)
    scale = 8
    image = read_png(certificate_qr_png(URL, grade, label=HANDLE, scale=scale))
    matrix = expected_matrix(URL)
    quiet = QUIET_ZONE * scale
    # The top-left module of a QR code is always dark (finder pattern): it marks where the code starts.
    row = image.rows[quiet + scale // 2]
    left = next(x for x, pixel in enumerate(row) if pixel != WHITE)
    side = len(matrix) * scale
    assert left >= quiet
    assert image.width >= side + 2 * quiet
    for y in range(quiet):  # quiet zone above
        assert set(image.rows[y]) == {WHITE}
    for y in range(quiet, quiet + side + quiet):  # quiet zone left and right, and below
        assert set(image.rows[y][left - quiet : left]) == {WHITE}
        assert set(image.rows[y][left + side : left + side + quiet]) == {WHITE}
    for y in range(quiet + side, quiet + side + quiet):
        assert set(image.rows[y]) == {WHITE}
    dark, light = rgb(style.qr), WHITE
    for r, modules in enumerate(matrix):
        for c, is_dark in enumerate(modules):
            # every pixel of the module, not only its centre
            block = {
                image.pixel(left + c * scale + dx, quiet + r * scale + dy)
                for dx in range(scale)
                for dy in range(scale)
            }
            assert block == {dark if is_dark else light}, (r, c)


@pytest.mark.parametrize("grade", GRADES)
def test_png_shows_the_grade_panel_in_its_display_colour(grade):
    style = grade_style(grade)
    image = read_png(certificate_qr_png(URL, grade, label=HANDLE))
    colours = image.colours()
    assert rgb(style.display) in colours
    assert rgb(style.on_display) in colours  # the words (and digit) drawn on the panel
    panel_rows = [row for row in image.rows if row.count(rgb(style.display)) > image.width // 2]
    assert len(panel_rows) >= 60  # 80 px tall at scale 8, less what the words cover on a full row
    assert colours <= {WHITE, rgb(style.qr), rgb(style.display), rgb(style.on_display), rgb("#424242")}


def test_long_labels_wrap_to_three_lines_and_large_scales_still_decode(tmp_path):
    short = read_png(certificate_qr_png(URL, 4, label="x"))
    assert short.width == 400
    # 400 px less two 32 px margins = 336 px a line; ASCII glyphs advance 10 px, so 33 fit:
    # 9 + 19 × 3 = 66 characters are exactly two lines.
    two = read_png(certificate_qr_png(URL, 4, label="88.100.9/" + "CERT.88.186.1.2025." * 3))
    step = two.height - short.height  # one more line
    assert step > 16
    # Hanzi advance 16 px: 21 fit a line, so 50 make three lines (21 + 21 + 8).
    three = read_png(certificate_qr_png(URL, 4, label="碳" * 50))
    assert three.height == short.height + 2 * step
    # 200 hanzi would be ten lines: they stop at three, the last ending in "…".
    capped = read_png(certificate_qr_png(URL, 4, label="碳" * 200))
    assert capped.height == three.height
    big = tmp_path / "big.png"
    big.write_bytes(certificate_qr_png(URL, 4, label=HANDLE, scale=16))
    assert read_png(big).width == 2 * short.width
    assert decode_qr(big) == [URL]
    none = read_png(certificate_qr_png(URL, 4, label=""))
    assert none.height < short.height


def test_svg_caption_is_wrapped_in_the_same_lines():
    label = (
        "浙江省湖州市长兴县示范新材料科技股份有限公司第一分公司（原长兴示范金属制品厂）与"
        + "很长" * 12
        + "的名字 · 2025"
    )
    root = ET.fromstring(certificate_qr_svg(URL, 2, label=label))
    captions = ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    # 21 hanzi of 16 px fit in 336 px; the 24 + 3 hanzi and " · 2025" left need more than the third line,
    # which is cut to leave room for "…"
    assert len(captions) == 3
    assert captions[0] == label[:21]
    assert captions[1] == label[21:42]
    assert captions[2].endswith("…")
    assert label[42:].startswith(captions[2][:-1])


def test_characters_without_glyphs_are_drawn_as_a_box_not_dropped():
    with_box = read_png(certificate_qr_png(URL, 1, label="A𠀀B"))  # U+20000 is outside GB 2312
    without = read_png(certificate_qr_png(URL, 1, label="AB"))
    assert with_box.width == without.width
    caption = slice(with_box.height - 60, with_box.height)
    inked = sum(p != WHITE for row in with_box.rows[caption] for p in row)
    assert inked > sum(p != WHITE for row in without.rows[caption] for p in row)


def test_non_ascii_urls_are_carried_percent_encoded_so_every_scanner_reads_the_same(tmp_path):
    url = "https://resolver.example/c/88.100.9/证书 2025"
    # 证 = U+8BC1 = E8 AF 81 in UTF-8, 书 = U+4E66 = E4 B9 A6, space = 20
    carried = "https://resolver.example/c/88.100.9/%E8%AF%81%E4%B9%A6%202025"
    assert ascii_url(url) == carried
    assert ascii_url(URL) == URL
    image = tmp_path / "u.png"
    image.write_bytes(certificate_qr_png(url, 1, label="88.100.9/CERT"))
    assert decode_qr(image) == [carried]


def test_bad_arguments_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="control character"):
        certificate_qr_png(URL, 1, label="长兴\n示范")
    with pytest.raises(ValueError, match="at most 1000"):
        certificate_qr_svg(URL, 1, label="x" * 1001)
    with pytest.raises(ValueError, match="non-empty string"):
        certificate_qr_png("", 1, label="")
    with pytest.raises(ValueError, match="too long for a QR code"):
        certificate_qr_svg("https://x.example/" + "a" * 2000, 1, label="")
    with pytest.raises(ValueError, match="pixels per module"):
        certificate_qr_png(URL, 1, label="", scale=0)
    with pytest.raises(ValueError, match="expected 1, 2, 3, 4, 5 or None"):
        certificate_qr_svg(URL, 7, label="")


def test_outputs_are_deterministic():
    assert certificate_qr_png(URL, 2, label=HANDLE) == certificate_qr_png(URL, 2, label=HANDLE)
    assert certificate_qr_svg(URL, 2, label=HANDLE) == certificate_qr_svg(URL, 2, label=HANDLE)


@pytest.mark.parametrize("grade", GRADES)
def test_svg_is_self_contained_with_one_path_of_modules(grade):
    style = grade_style(grade)
    label = "长兴<&>\"' · 2025"
    svg = certificate_qr_svg(URL, grade, label=label)
    root = ET.fromstring(svg)  # well-formed XML: the label's markup characters are escaped
    assert root.tag == f"{SVG}svg"
    width, height = int(root.get("width")), int(root.get("height"))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == 1
    assert paths[0].get("fill") == style.qr
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert label in texts
    assert any(style.caption_zh in t for t in texts)
    assert any(style.caption_en in t for t in texts)
    assert (str(grade) in texts) == (grade is not None)  # the big digit
    for forbidden in ("<script", "href", "url(", "@import", "<image", "<foreignObject"):
        assert forbidden not in svg


def test_svg_module_path_covers_exactly_the_dark_modules():
    root = ET.fromstring(certificate_qr_svg(URL, 3, label=""))
    d = root.find(f".//{SVG}path").get("d")
    covered = set()
    for run in d.split("M")[1:]:
        # each run is "x yh<n>v1h-<n>z": n dark modules from (x, y) rightwards
        head, rest = run.split("h", 1)
        x, y = map(int, head.split())
        n = int(rest.split("v", 1)[0])
        covered |= {(y, x + i) for i in range(n)}
    matrix = expected_matrix(URL)
    assert covered == {(r, c) for r, row in enumerate(matrix) for c, dark in enumerate(row) if dark}


@pytest.mark.parametrize("grade", GRADES)
def test_svg_drawn_by_chromium_decodes_to_the_url(grade, tmp_path: Path):
    svg = certificate_qr_svg(URL, grade, label=HANDLE)
    root = ET.fromstring(svg)
    page = tmp_path / "code.svg"
    page.write_text(svg, "utf-8")
    out = tmp_path / "code.png"
    image = screenshot(
        page, out, width=int(root.get("width")), height=int(root.get("height")), profile=tmp_path / "profile"
    )
    assert rgb(grade_style(grade).qr) in image.colours()
    assert rgb(grade_style(grade).display) in image.colours()
    assert decode_qr(out) == [URL]
