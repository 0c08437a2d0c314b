"""Strict JSON reading shared by every parser of outside input: a nesting check made before parsing, and
float parsing that refuses what overflows to infinity. Standard library only.

Python's `json` recurses per nesting level, so a body of a million `[` must be refused by a scan before it
reaches the parser (a RecursionError would be a 500); and `1e999` parses to `inf`, which is not JSON either
and would fail later, far from the input.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["finite_float", "nesting_depth"]

_JSON_TOKENS: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def nesting_depth(text: str, limit: int) -> int:
    """The nesting depth of `text` once it exceeds `limit` (scanning stops there), else 0.

    Strings are skipped, so brackets inside them do not count.
    """
    if text.count("[") + text.count("{") <= limit:
        return 0
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return depth
        elif token in ("]", "}"):
            depth -= 1
    return 0


def finite_float(text: str) -> float:
    """`float(text)` for `json.loads(parse_float=...)`; ValueError for a number that overflows to infinity."""
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    return number
