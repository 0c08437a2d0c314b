"""GB/T 4754-2017 industry classification (国民经济行业分类): normalisation, lookup and validation.

The classification has four levels: 20 sections (门类, letters A-T), 97 divisions (大类, two digits,
numbered 01-97 across the sections), groups (中类, three digits) and classes (小类, four digits). A code
is written with or without its section letter, ``3216`` or ``C3216``; this module accepts both and
always answers in the letter form.

**Limit of the shipped table.** ``data/gbt4754_2017.json`` holds the 20 sections and 97 divisions with
Chinese and English titles. It does not hold groups and classes: no source reachable when the table was
made carried them reliably. A three- or four-digit code is therefore validated at the division level:
its division must exist and its section letter, if given, must be that division's, but whether the
group or class itself exists is not checked, and the `Industry` returned for it has no titles
(`name_zh` and `name_en` are None, `listed` is False). When groups and classes are added to the data
file, the same functions check them without any change here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from metadata_templates.codes.errors import CodeError

__all__ = [
    "Industry",
    "IndustryLevel",
    "division_of",
    "divisions",
    "industry",
    "industry_source",
    "normalize_industry_code",
    "section_of",
    "sections",
    "validate_industry_code",
]

STANDARD = "GB/T 4754-2017"
_SHAPE = re.compile(r"([A-Za-z])?([0-9]{2,4})?")


class IndustryLevel(StrEnum):
    """The four levels of GB/T 4754."""

    SECTION = "section"
    DIVISION = "division"
    GROUP = "group"
    CLASS = "class"


_LEVEL_BY_DIGITS = {
    0: IndustryLevel.SECTION,
    2: IndustryLevel.DIVISION,
    3: IndustryLevel.GROUP,
    4: IndustryLevel.CLASS,
}


@dataclass(frozen=True, slots=True)
class Industry:
    """One code of GB/T 4754-2017, in letter form (``C``, ``C32``, ``C321``, ``C3216``).

    `listed` is False for a group or class code that was validated only at the division level because the
    shipped table stops there; its titles are then None.
    """

    code: str
    section: str
    level: IndustryLevel
    name_zh: str | None
    name_en: str | None
    listed: bool = True

    @property
    def digits(self) -> str:
        """The numeric part (``3216``), empty for a section."""
        return self.code[1:]

    @property
    def division(self) -> str | None:
        """The two-digit division number, None for a section."""
        return self.code[1:3] or None


@dataclass(frozen=True, slots=True)
class _Table:
    by_code: dict[str, Industry]
    section_of_division: dict[str, str]
    depth: IndustryLevel
    source: dict[str, Any]


@cache
def _table() -> _Table:
    raw = resources.files("metadata_templates.codes").joinpath("data", "gbt4754_2017.json").read_text("utf-8")
    document = json.loads(raw)
    by_code: dict[str, Industry] = {}
    section_of_division: dict[str, str] = {}
    for code, name_zh, name_en in document["entries"]:
        level = _LEVEL_BY_DIGITS[len(code) - 1]
        by_code[code] = Industry(code, code[0], level, name_zh, name_en)
        if level is IndustryLevel.DIVISION:
            section_of_division[code[1:]] = code[0]
    depth = IndustryLevel(document["source"]["depth"])
    source = {"source": document["source"], "license": document["license"]}
    return _Table(by_code, section_of_division, depth, source)


def industry_source() -> dict[str, Any]:
    """Where the shipped table came from: its ``source`` and ``license`` fields."""
    return dict(_table().source)


def normalize_industry_code(code: str) -> str:
    """``3216``, ``c3216`` and ``C3216`` all become ``C3216``; raises `CodeError` if the division is unknown."""
    return validate_industry_code(code).code


def validate_industry_code(code: str) -> Industry:
    """Return the industry a code names, or raise `CodeError` saying what is wrong with it."""
    table = _table()
    text = code.strip() if isinstance(code, str) else ""
    shape = _SHAPE.fullmatch(text)
    if not text or shape is None:
        raise CodeError(
            str(code),
            f"industry code {code!r}: expected a section letter A-T and/or 2-4 digits, as in C3216 or 3216",
        )
    letter = shape.group(1).upper() if shape.group(1) else None
    digits = shape.group(2) or ""
    if not digits:
        assert letter is not None  # the pattern matched a non-empty text
        found = table.by_code.get(letter)
        if found is None:
            raise CodeError(code, f"industry code {text}: no such section in {STANDARD} (sections run A-T)")
        return found
    division = digits[:2]
    section = table.section_of_division.get(division)
    if section is None:
        raise CodeError(
            code, f"industry code {text}: no such division in {STANDARD} (division {division} does not exist)"
        )
    if letter is not None and letter != section:
        division_entry = table.by_code[section + division]
        raise CodeError(
            code,
            f"industry code {text}: division {division} ({division_entry.name_zh}) is in section {section}, not {letter}",
        )
    normal = section + digits
    found = table.by_code.get(normal)
    if found is not None:
        return found
    level = _LEVEL_BY_DIGITS[len(digits)]
    if _rank(level) > _rank(table.depth):
        return Industry(normal, section, level, None, None, listed=False)
    division_entry = table.by_code[section + division]
    raise CodeError(
        code,
        f"industry code {normal}: no such {level} in {STANDARD} (division {division} is {division_entry.name_zh})",
    )


def industry(code: str) -> Industry:
    """Look a code up (letter or digit form); raises `CodeError` (a ValueError) if it is not valid."""
    return validate_industry_code(code)


def division_of(code: str) -> Industry:
    """The division a division, group or class code belongs to; `CodeError` for a bare section."""
    found = validate_industry_code(code)
    if found.division is None:
        raise CodeError(code, f"industry code {found.code}: a section has no division")
    return _table().by_code[found.section + found.division]


def section_of(code: str) -> Industry:
    """The section any valid code belongs to."""
    return _table().by_code[validate_industry_code(code).section]


def sections() -> tuple[Industry, ...]:
    """The 20 sections A-T."""
    return tuple(i for i in _table().by_code.values() if i.level is IndustryLevel.SECTION)


def divisions(section: str | None = None) -> tuple[Industry, ...]:
    """All 97 divisions in number order, or those of one section."""
    wanted = None if section is None else section_of(section).section
    return tuple(
        i
        for i in sorted(_table().by_code.values(), key=lambda i: i.code[1:])
        if i.level is IndustryLevel.DIVISION and (wanted is None or i.section == wanted)
    )


def _rank(level: IndustryLevel) -> int:
    return list(IndustryLevel).index(level)
