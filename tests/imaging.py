"""Checking pictures from outside: PNG pixels read back, QR codes decoded by zbar, pages drawn by Chromium.

The PNG reader needs no Pillow (not a dependency): zlib and the five PNG row filters, enough for what the
resolver writes (8-bit palette) and what headless Chromium screenshots (8-bit RGB or RGBA, non-interlaced);
anything else raises ValueError naming what is unsupported. zbar and Chromium are Debian packages; a test
that needs one skips, saying which, when it is not installed.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True, slots=True)
class Image:
    """Decoded pixels as RGB triples, row by row."""

    width: int
    height: int
    rows: tuple[tuple[tuple[int, int, int], ...], ...]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The RGB colour at column x, row y."""
        return self.rows[y][x]

    def colours(self) -> set[tuple[int, int, int]]:
        """Every distinct colour in the image."""
        return {pixel for row in self.rows for pixel in row}

    def column(self, x: int) -> tuple[tuple[int, int, int], ...]:
        """The pixels of column x, top to bottom."""
        return tuple(row[x] for row in self.rows)


def read_png(source: bytes | Path) -> Image:
    """Decode an 8-bit, non-interlaced PNG (grey, RGB, palette, grey+alpha or RGBA) to RGB pixels."""
    data = source.read_bytes() if isinstance(source, Path) else source
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG: the signature is missing")
    pos = len(_SIGNATURE)
    header: tuple[int, ...] = ()
    palette = b""
    compressed = bytearray()
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"PNG chunk {kind!r} at byte {pos}: bad CRC")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or interlace != 0 or colour_type not in _CHANNELS:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    channels = _CHANNELS[colour_type]
    raw = zlib.decompress(bytes(compressed))
    stride = width * channels
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(_to_rgb(line, colour_type, palette))
        previous = line
    return Image(width, height, tuple(rows))


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        upper_left = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + _paeth(left, up, upper_left)) & 0xFF
        elif kind != 0:
            raise ValueError(f"unknown PNG filter type {kind}")
    return line


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _to_rgb(line: bytearray, colour_type: int, palette: bytes) -> tuple[tuple[int, int, int], ...]:
    if colour_type == 3:
        return tuple((palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]) for i in line)
    if colour_type in (0, 4):
        step = 1 if colour_type == 0 else 2
        return tuple((v, v, v) for v in line[::step])
    step = 3 if colour_type == 2 else 4
    return tuple((line[i], line[i + 1], line[i + 2]) for i in range(0, len(line), step))


# ----------------------------------------------------------------------------------------------------------
# The outside tools the rendering tests check against: zbar decodes codes, headless Chromium renders pages.

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
"""tests/artifacts/ (ignored by git): screenshots kept for a person to look at."""


def zbarimg() -> str:
    """The path of zbarimg (Debian zbar-tools), or skip the test saying why."""
    path = shutil.which("zbarimg")
    if path is None:
        pytest.skip("zbarimg not installed (apt-get install zbar-tools): QR codes cannot be decoded")
    return path


def chromium() -> str:
    """The path of Chromium, or skip the test saying why."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium not installed (apt-get install chromium): pages cannot be rendered")
    return path


def decode_qr(image: Path) -> list[str]:
    """Every QR code zbar finds in an image file, one text each."""
    done = subprocess.run(
        [zbarimg(), "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    # zbarimg exits 4 when it finds nothing; its stderr carries harmless D-Bus noise.
    if done.returncode not in (0, 4):
        raise RuntimeError(f"zbarimg failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8").splitlines()


def run_chromium(url: str, *args: str, width: int, height: int, profile: Path) -> str:
    """Load `url` in headless Chromium at width × height CSS pixels (device scale 1); its stdout."""
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            *args,
            url,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"chromium failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}"
        )
    return done.stdout.decode("utf-8")


def screenshot(page: Path, out: Path, *, width: int, height: int, profile: Path) -> Image:
    """Render a local file in Chromium, save the PNG to `out` and return its pixels."""
    out.unlink(missing_ok=True)
    run_chromium(page.as_uri(), f"--screenshot={out}", width=width, height=height, profile=profile)
    return read_png(out)
