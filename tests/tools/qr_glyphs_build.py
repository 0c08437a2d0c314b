"""Rebuild ``qr_glyphs.json``, the bitmap fonts `carbon_efficiency.qr` draws the words of a PNG code with.

A PNG certificate code carries its grade in words (``碳效 2 级 · 浅绿``, ``Grade 2 - light green``) and a
caption such as the enterprise's name, and carbon_efficiency has no font rasteriser (no Pillow, no FreeType
binding). So the glyphs are rasterised once, here, by headless Chromium drawing on a canvas with
anti-aliasing switched off through a private fontconfig file (hinted one-bit glyphs stay crisp at integer
scales), and shipped as data. Run by hand when the fonts or the character sets change; it needs
``chromium``, ``fc-match`` and the fonts::

    .venv/bin/python -m tests.tools.qr_glyphs_build

Fonts (Debian packages): DejaVu Sans Mono Bold and DejaVu Sans Bold (fonts-dejavu-core: Bitstream Vera
licence, DejaVu changes public domain) and Noto Sans CJK SC Bold (fonts-noto-cjk: SIL OFL 1.1).

Each font is stored packed: ``chars`` lists its characters, ``glyphs`` is base64 of zlib of one fixed-size
record per character in that order — advance, x offset + 128, ink width (one byte each), then ``height``
rows of ``rowBytes`` bytes, most significant bit leftmost.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).parents[2] / "carbon_efficiency" / "data" / "qr_glyphs.json"


def _gb2312() -> str:
    """Every character of GB 2312 (6,763 hanzi and 682 symbols): what Chinese enterprise names are written in."""
    chars = []
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


_ASCII = "".join(map(chr, range(0x20, 0x7F)))
# Punctuation that GB 2312 spells with other code points (its middle dot is U+30FB).
_EXTRA = "·–—"

# name → list of (CSS font, fontconfig pattern, characters); parts of one font share its baseline and height.
FONTS: dict[str, list[tuple[str, str, str]]] = {
    "text": [
        ('bold 16px "DejaVu Sans Mono"', "DejaVu Sans Mono:bold", _ASCII),
        ('bold 16px "Noto Sans CJK SC"', "Noto Sans CJK SC:bold", _gb2312() + _EXTRA),
    ],
    "title": [
        ('bold 28px "Noto Sans CJK SC"', "Noto Sans CJK SC:bold", "碳效级未评深浅绿黄橙红· 0123456789")
    ],
    "digits": [('bold 72px "DejaVu Sans"', "DejaVu Sans:bold", "0123456789")],
}

_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <match target="font">
    <edit name="antialias" mode="assign"><bool>false</bool></edit>
    <edit name="hinting" mode="assign"><bool>true</bool></edit>
    <edit name="hintstyle" mode="assign"><const>hintfull</const></edit>
  </match>
</fontconfig>
"""

# Each glyph is drawn alone on a canvas twice its font size wide, baseline at 1.2 em, and read back as one
# string of 0/1 per row; Python trims what every glyph of the font leaves blank.
_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body><pre id="out"></pre><script>
const parts = %s;
const result = [];
for (const [font, chars] of parts) {
  const size = parseInt(font.match(/(\\d+)px/)[1], 10);
  const width = size * 2, height = Math.round(size * 1.6), pad = Math.round(size / 4);
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const g = canvas.getContext("2d", {willReadFrequently: true});
  const glyphs = [];
  for (const ch of chars) {
    g.fillStyle = "#fff"; g.fillRect(0, 0, width, height);
    g.fillStyle = "#000"; g.font = font; g.textBaseline = "alphabetic";
    g.fillText(ch, pad, Math.round(size * 1.2));
    const data = g.getImageData(0, 0, width, height).data;
    const rows = [];
    for (let y = 0; y < height; y++) {
      let row = "";
      for (let x = 0; x < width; x++) row += data[(y * width + x) * 4] < 128 ? "1" : "0";
      rows.push(row);
    }
    glyphs.push([ch, Math.round(g.measureText(ch).width), pad, rows]);
  }
  result.push(glyphs);
}
document.getElementById("out").textContent = JSON.stringify(result);
</script></body></html>
"""


def rasterise() -> dict[str, Any]:
    """Draw every glyph in Chromium and return the fonts in the shape `carbon_efficiency.qr` reads."""
    parts = [[css, chars] for font in FONTS.values() for css, _, chars in font]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "fonts.conf").write_text(_FONTCONFIG, "utf-8")
        page = folder / "glyphs.html"
        page.write_text(_PAGE % json.dumps(parts, ensure_ascii=False), "utf-8")
        env = {**os.environ, "FONTCONFIG_FILE": str(folder / "fonts.conf")}
        # The arguments are fixed here; only the temporary folder's path varies.
        dom = subprocess.run(
            [
                _tool("chromium"),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--user-data-dir={folder / 'profile'}",
                "--dump-dom",
                page.as_uri(),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.DOTALL)
    if found is None:
        raise RuntimeError("Chromium returned no glyphs")
    drawn = iter(json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")))
    fonts = {}
    for name, font in FONTS.items():
        glyphs = [glyph for _ in font for glyph in next(drawn)]
        fonts[name] = _pack(font, glyphs)
    return {
        "source": "rasterised by tests/tools/qr_glyphs_build.py (headless Chromium canvas, 1-bit, full hinting)",
        "fonts": fonts,
    }


def _pack(font: list[tuple[str, str, str]], glyphs: list[list[Any]]) -> dict[str, Any]:
    sources = []
    for css, pattern, chars in font:
        matched = subprocess.run(
            [_tool("fc-match"), "-f", "%{family[0]} %{style[0]} (%{file})", pattern],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        sources.append(f"{len(chars)} characters in {css} → {matched}")
    inked = [y for _, _, _, rows in glyphs for y, row in enumerate(rows) if "1" in row]
    top, bottom = min(inked), max(inked) + 1
    trimmed = []
    for ch, advance, pad, rows in glyphs:
        rows = rows[top:bottom]
        columns = [x for row in rows for x, bit in enumerate(row) if bit == "1"]
        left, right = (min(columns), max(columns) + 1) if columns else (pad, pad)
        trimmed.append((ch, advance, left - pad, right - left, [row[left:right] for row in rows]))
    row_bytes = (max(width for _, _, _, width, _ in trimmed) + 7) // 8
    packed = bytearray()
    for _, advance, x, width, rows in trimmed:
        packed += bytes([advance, x + 128, width])
        for row in rows:
            bits = row.ljust(row_bytes * 8, "0")
            packed += int(bits, 2).to_bytes(row_bytes, "big")
    return {
        "source": "; ".join(sources),
        "height": bottom - top,
        "rowBytes": row_bytes,
        "chars": "".join(ch for ch, *_ in trimmed),
        "glyphs": base64.b64encode(zlib.compress(bytes(packed), 9)).decode("ascii"),
    }


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: it is needed to rasterise the glyphs")
    return path


def main() -> None:
    """Rasterise the glyphs and write ``qr_glyphs.json`` into carbon_efficiency/data."""
    OUTPUT.write_text(json.dumps(rasterise(), ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
