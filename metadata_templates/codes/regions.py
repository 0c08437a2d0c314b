"""GB/T 2260 administrative division codes: lookup, hierarchy and validation.

A code has six digits: the first two name the province, the next two the prefecture-level city within it,
the last two the county-level division within the city. ``330000`` is 浙江省, ``330500`` 湖州市 and
``330522`` 长兴县. A code ending in ``00`` is a city; one ending in ``0000`` is a province.

Two kinds of county-level division have no real city above them, and the code still names one:

* the districts and counties of the four municipalities (北京 11, 天津 12, 上海 31, 重庆 50) sit under
  ``xx0100`` 市辖区 (and 重庆's counties under ``500200`` 县);
* county-level units governed directly by their province (河南 济源 419001, 湖北 仙桃 429004,
  海南 五指山 469001, 新疆 石河子 659001, ...) sit under ``xx9000`` 省/自治区直辖县级行政区划.

The table carries these coding groupings as city-level rows with ``grouping=True`` so that `parent`,
`city_of` and `children` work the same everywhere; they are not divisions of their own.

The table is the Ministry of Civil Affairs' current list (county level and above) shipped in
``data/gbt2260.json``; its ``source`` field says which snapshot. Historical codes (divisions merged or
renamed since) are not in it: a USCC may still carry one, which is why `metadata_templates.codes.uscc`
does not look its region part up here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from metadata_templates.codes.errors import CodeError

__all__ = [
    "Region",
    "RegionLevel",
    "children",
    "city_of",
    "level_of",
    "parent",
    "province_of",
    "provinces",
    "region",
    "region_source",
    "validate_region_code",
]


class RegionLevel(StrEnum):
    """The three levels of GB/T 2260."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


@dataclass(frozen=True, slots=True)
class Region:
    """One row of GB/T 2260.

    `name_en` is the full English name ("Huzhou City", "Changxing County"); `short_en` drops the generic
    part ("Huzhou"). `grouping` is true for the 市辖区 / 县 / 省直辖县级行政区划 rows, which only group
    county-level codes and are not divisions themselves.
    """

    code: str
    name_zh: str
    name_en: str
    short_en: str
    level: RegionLevel
    grouping: bool = False

    @property
    def province_code(self) -> str:
        """The code of the province this region is in (itself for a province)."""
        return self.code[:2] + "0000"

    @property
    def parent_code(self) -> str | None:
        """The code of the level above, or None for a province."""
        if self.level is RegionLevel.PROVINCE:
            return None
        if self.level is RegionLevel.CITY:
            return self.province_code
        return self.code[:4] + "00"


@dataclass(frozen=True, slots=True)
class _Table:
    by_code: dict[str, Region]
    children: dict[str, tuple[Region, ...]]
    source: dict[str, Any]


@cache
def _table() -> _Table:
    raw = resources.files("metadata_templates.codes").joinpath("data", "gbt2260.json").read_text("utf-8")
    document = json.loads(raw)
    by_code: dict[str, Region] = {}
    for code, name_zh, name_en, short_en, level, grouping in document["regions"]:
        by_code[code] = Region(code, name_zh, name_en, short_en, RegionLevel(level), bool(grouping))
    kids: dict[str, list[Region]] = {}
    for item in by_code.values():
        if item.parent_code is not None:
            kids.setdefault(item.parent_code, []).append(item)
    children_of = {code: tuple(sorted(items, key=lambda r: r.code)) for code, items in kids.items()}
    source = {"source": document["source"], "license": document["license"]}
    return _Table(by_code, children_of, source)


def region_source() -> dict[str, Any]:
    """Where the shipped table came from: its ``source`` and ``license`` fields."""
    return dict(_table().source)


def level_of(code: str) -> RegionLevel:
    """The level a well-formed code denotes by its shape alone (``xx0000`` province, ``xxxx00`` city)."""
    _check_format(code)
    if code[2:] == "0000":
        return RegionLevel.PROVINCE
    if code[4:] == "00":
        return RegionLevel.CITY
    return RegionLevel.COUNTY


def validate_region_code(code: str) -> Region:
    """Return the region a code names, or raise `CodeError` saying what is wrong with it."""
    level = level_of(code)
    found = _table().by_code.get(code)
    if found is not None:
        return found
    raise CodeError(code, _explain_missing(code, level))


def region(code: str) -> Region:
    """Look a code up; raises `CodeError` (a ValueError) if it is malformed or not in the table."""
    return validate_region_code(code)


def parent(code: str) -> Region | None:
    """The region one level up (a county's city or grouping, a city's province), None for a province."""
    parent_code = validate_region_code(code).parent_code
    return None if parent_code is None else _table().by_code[parent_code]


def children(code: str) -> tuple[Region, ...]:
    """The regions directly below, in code order (empty for a county and for a city without counties)."""
    return _table().children.get(validate_region_code(code).code, ())


def province_of(code: str) -> Region:
    """The province-level division a region belongs to (itself for a province)."""
    return _table().by_code[validate_region_code(code).province_code]


def city_of(code: str) -> Region | None:
    """The city-level row of a region: itself for a city, its city or grouping for a county, None for a province."""
    found = validate_region_code(code)
    if found.level is RegionLevel.PROVINCE:
        return None
    return _table().by_code[found.code[:4] + "00"]


def provinces() -> tuple[Region, ...]:
    """All province-level divisions (provinces, autonomous regions, municipalities, SARs), in code order."""
    return tuple(r for r in _table().by_code.values() if r.level is RegionLevel.PROVINCE)


def _check_format(code: object) -> None:
    if not isinstance(code, str) or len(code) != 6 or not code.isascii() or not code.isdigit():
        raise CodeError(str(code), f"region code {code!r}: expected 6 digits, as in 330522")
    if code[:2] == "00":
        raise CodeError(code, f"region code {code}: province part 00 does not exist")


def _explain_missing(code: str, level: RegionLevel) -> str:
    by_code = _table().by_code
    head = f"region code {code}: no such {level} in GB/T 2260"
    province = by_code.get(code[:2] + "0000")
    if level is RegionLevel.PROVINCE:
        return head
    if province is None:
        return f"{head} (province {code[:2]} does not exist)"
    if level is RegionLevel.CITY:
        return f"{head} (province {province.code} is {province.name_zh})"
    city = by_code.get(code[:4] + "00")
    if city is None:
        return f"{head} (city {code[:4]} does not exist)"
    return f"{head} (city {city.code} is {city.name_zh})"
