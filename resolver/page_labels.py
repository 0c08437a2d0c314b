"""Chinese and English labels the resolver's pages share (the certificate page, the regional dashboard)."""

from __future__ import annotations

from typing import Final

GRANULARITY: Final = {
    "year": ("年度", "Annual"),
    "rolling-12-months": ("滚动 12 个月", "Rolling 12 months"),
    "half-year": ("半年度", "Half-year"),
    "quarter": ("季度", "Quarter"),
    "month": ("月度", "Month"),
}
"""(zh, en) of each period granularity."""

REGION_LEVEL: Final = {
    "national": ("全国", "National"),
    "province": ("省级", "Province"),
    "city": ("市级", "City"),
    "county": ("县级", "County"),
}
"""(zh, en) of each region level (also the levels a benchmark is computed at)."""
