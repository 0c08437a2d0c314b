"""Chinese reference codes shipped as data: GB/T 2260 regions, GB/T 4754-2017 industries, GB 32100 USCCs.

Pure and offline: the tables are JSON files under ``data/`` (each with its ``source`` and ``license``),
read once on first use. Every validator returns a value object or raises `CodeError` (a ValueError)
whose message says exactly what is wrong.
"""

from metadata_templates.codes.errors import CodeError
from metadata_templates.codes.industries import (
    Industry,
    IndustryLevel,
    division_of,
    divisions,
    industry,
    industry_source,
    normalize_industry_code,
    section_of,
    sections,
    validate_industry_code,
)
from metadata_templates.codes.regions import (
    Region,
    RegionLevel,
    children,
    city_of,
    level_of,
    parent,
    province_of,
    provinces,
    region,
    region_source,
    validate_region_code,
)
from metadata_templates.codes.uscc import USCC, uscc_check_digit, validate_uscc

__all__ = [
    "USCC",
    "CodeError",
    "Industry",
    "IndustryLevel",
    "Region",
    "RegionLevel",
    "children",
    "city_of",
    "division_of",
    "divisions",
    "industry",
    "industry_source",
    "level_of",
    "normalize_industry_code",
    "parent",
    "province_of",
    "provinces",
    "region",
    "region_source",
    "section_of",
    "sections",
    "uscc_check_digit",
    "validate_industry_code",
    "validate_region_code",
    "validate_uscc",
]
