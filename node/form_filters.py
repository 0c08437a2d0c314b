"""List filters of the CICES manual (高级筛选): conditions joined in AND/OR groups, nested, as JSON.

    {"or": [{"and": [{"field": "name", "op": "contains", "value": "铝"},
                     {"field": "state", "op": "equals", "value": "published"}]},
            {"field": "tags", "op": "in", "value": ["原材料", "铸件"]}]}

A node is a group `{"and": [...]}` / `{"or": [...]}` (exactly one member; an empty `and` matches
everything, an empty `or` nothing, as in logic) or a condition `{"field", "op", "value"}`. The operators
are the manual's:

| op | 手册 | value |
|---|---|---|
| equals, not_equals | 等于, 不等于 | one value of the field's type |
| in, not_in | 在…之内, 不在…之内 | a non-empty list of them |
| starts_with, not_starts_with | 以…开始, 不以…开始 | a string |
| contains, not_contains | 包含以下内容, 不包含以下内容 | a string |
| ends_with, not_ends_with | 以…结束, 不以…结束 | a string |
| empty, not_empty | 为空, 不为空 | none: absent or "" (a list field: no element) |
| null, not_null | 为 null, 不为 null | none: absent (a list field: no element) |

and, beyond the manual, `lt`, `lte`, `gt`, `gte` on numbers, dates and times (a factor range, forms
expiring before a date). Text matching (starts/contains/ends) ignores ASCII case; equals and in do not.
A `not_*` operator matches exactly what its positive does not, so a form without the member matches
`not_equals`. On a list field (tags, part codes) a positive operator asks whether some element matches,
its negation whether none does.

This module only reads and checks the JSON: it names the offending member by JSON pointer and never
lets a field name or value reach SQL text; `node.forms_repository` compiles the tree into SQLAlchemy
expressions (bound parameters, escaped LIKE patterns) over a fixed column map.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from common.strict_json import nesting_depth


class Kind(Enum):
    """What a filterable field holds, which decides the operators and values it accepts."""

    TEXT = "text"
    LIST = "list"
    """Several strings per form (tags, part codes)."""
    NUMBER = "number"
    DATE = "date"
    """`YYYY-MM-DD` text."""
    TIME = "time"
    """ISO-8601 UTC timestamps as stored (`2025-01-02T03:04:05Z`), compared as text."""
    BOOLEAN = "boolean"


FORM_FIELDS: Final[Mapping[str, Kind]] = {
    "handle": Kind.TEXT,
    "state": Kind.TEXT,
    "name": Kind.TEXT,
    "model": Kind.TEXT,
    "productType": Kind.TEXT,
    "public": Kind.BOOLEAN,
    "tags": Kind.LIST,
    "periodStart": Kind.DATE,
    "periodEnd": Kind.DATE,
    "functionalUnit": Kind.TEXT,
    "emissionFactor": Kind.NUMBER,
    "emissionFactorUnit": Kind.TEXT,
    "validUntil": Kind.DATE,
    "partCodes": Kind.LIST,
    "customers": Kind.LIST,
    "publishedVersion": Kind.NUMBER,
    "createdAt": Kind.TIME,
    "updatedAt": Kind.TIME,
}
"""The fields of a form listing (the members of a list item) and what each holds."""

RECEIVED_FIELDS: Final[Mapping[str, Kind]] = {
    "handle": Kind.TEXT,
    "supplier": Kind.TEXT,
    "partCode": Kind.TEXT,
    "note": Kind.TEXT,
    "receivedAt": Kind.TIME,
    "receivedBy": Kind.TEXT,
}
"""The fields of the received-forms listing."""

UNARY: Final = ("empty", "not_empty", "null", "not_null")
MATCHING: Final = ("starts_with", "not_starts_with", "contains", "not_contains", "ends_with", "not_ends_with")
ORDERING: Final = ("lt", "lte", "gt", "gte")
OPERATORS: Final = ("equals", "not_equals", "in", "not_in", *MATCHING, *UNARY, *ORDERING)

_ALLOWED: Final[Mapping[Kind, frozenset[str]]] = {
    Kind.TEXT: frozenset(OPERATORS) - frozenset(ORDERING),
    Kind.LIST: frozenset(OPERATORS) - frozenset(ORDERING),
    Kind.NUMBER: frozenset(OPERATORS) - frozenset(MATCHING),
    Kind.DATE: frozenset(OPERATORS),
    Kind.TIME: frozenset(OPERATORS),
    Kind.BOOLEAN: frozenset({"equals", "not_equals", *UNARY}),
}

MAX_DEPTH: Final = 8
MAX_CONDITIONS: Final = 100
MAX_LIST: Final = 100
MAX_TEXT: Final = 200
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")

Value = str | float | bool | None | tuple[str | float | bool, ...]


class InvalidFilter(ValueError):
    """The filter is not one this module reads; `pointer` names the member at fault."""

    def __init__(self, pointer: str, message: str) -> None:
        self.pointer = pointer
        super().__init__(f"{pointer or '/'}: {message}")


@dataclass(frozen=True, slots=True)
class Condition:
    """`field op value`, checked against the field catalogue it was parsed with."""

    field: str
    op: str
    value: Value
    kind: Kind

    @property
    def negated(self) -> bool:
        """Whether the operator is the negation of another (`not_in` of `in`…)."""
        return self.op.startswith("not_")

    @property
    def positive(self) -> str:
        """The operator without its negation: `in` for `not_in`, `null` for `not_null`."""
        return self.op.removeprefix("not_")


@dataclass(frozen=True, slots=True)
class Group:
    """`and` or `or` over its items."""

    kind: str
    items: tuple[Node, ...]


Node = Condition | Group

MATCH_ALL: Final = Group("and", ())


def parse_filter_text(text: str, fields: Mapping[str, Kind]) -> Node:
    """A filter from its JSON text (the `filter=` query parameter)."""
    # A group is two JSON levels ({"and": [...]}) and a condition's value two more: far deeper text is
    # refused before the parser recurses through it (thousands of '[' in a query string).
    if nesting_depth(text, 2 * MAX_DEPTH + 2):
        raise InvalidFilter("", f"nested deeper than {MAX_DEPTH} groups")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise InvalidFilter("", f"not JSON: {exc}") from None
    return parse_filter(data, fields)


def parse_filter(data: object, fields: Mapping[str, Kind]) -> Node:
    """A filter from its JSON value; `InvalidFilter` names the first member at fault."""
    counter = [0]
    return _node(data, "", fields, 0, counter)


def all_of(*nodes: Node) -> Node:
    """The conjunction of `nodes` (the simple filters and the advanced one together)."""
    items = tuple(node for node in nodes if node != MATCH_ALL)
    return items[0] if len(items) == 1 else Group("and", items)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _node(data: object, pointer: str, fields: Mapping[str, Kind], depth: int, counter: list[int]) -> Node:
    if not isinstance(data, dict):
        raise InvalidFilter(pointer, 'expected an object: {"and": [...]}, {"or": [...]} or a condition')
    if "and" in data or "or" in data:
        if len(data) != 1:
            raise InvalidFilter(pointer, "a group has exactly one member, and or or")
        ((kind, items),) = data.items()
        if depth >= MAX_DEPTH:
            raise InvalidFilter(pointer, f"groups nest at most {MAX_DEPTH} deep")
        if not isinstance(items, list):
            raise InvalidFilter(f"{pointer}/{kind}", "expected a list of conditions and groups")
        return Group(
            kind,
            tuple(
                _node(item, f"{pointer}/{kind}/{index}", fields, depth + 1, counter)
                for index, item in enumerate(items)
            ),
        )
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise InvalidFilter(pointer, f"at most {MAX_CONDITIONS} conditions")
    return _condition(data, pointer, fields)


def _condition(data: Mapping[str, object], pointer: str, fields: Mapping[str, Kind]) -> Condition:
    unknown = sorted(set(data) - {"field", "op", "value"})
    if unknown:
        raise InvalidFilter(
            f"{pointer}/{_escape(unknown[0])}", "unknown member; a condition has field, op, value"
        )
    field, op = data.get("field"), data.get("op")
    if not isinstance(field, str) or field not in fields:
        raise InvalidFilter(
            f"{pointer}/field", f"unknown field {field!r}; the fields are {', '.join(fields)}"
        )
    if not isinstance(op, str) or op not in OPERATORS:
        raise InvalidFilter(
            f"{pointer}/op", f"unknown operator {op!r}; the operators are {', '.join(OPERATORS)}"
        )
    kind = fields[field]
    if op not in _ALLOWED[kind]:
        allowed = ", ".join(o for o in OPERATORS if o in _ALLOWED[kind])
        raise InvalidFilter(f"{pointer}/op", f"{op} does not apply to {field} ({kind.value}); use {allowed}")
    value = _value(data, pointer, field, op, kind)
    return Condition(field, op, value, kind)


def _value(data: Mapping[str, object], pointer: str, field: str, op: str, kind: Kind) -> Value:
    where = f"{pointer}/value"
    raw = data.get("value")
    if op in UNARY:
        if raw is not None:
            raise InvalidFilter(where, f"{op} takes no value")
        return None
    if "value" not in data or raw is None:
        raise InvalidFilter(where, f"{op} needs a value")
    if op.removeprefix("not_") == "in":
        if not isinstance(raw, list) or not raw:
            raise InvalidFilter(where, f"{op} needs a non-empty list of values")
        if len(raw) > MAX_LIST:
            raise InvalidFilter(where, f"at most {MAX_LIST} values")
        return tuple(_scalar(item, f"{where}/{index}", field, kind) for index, item in enumerate(raw))
    if op in MATCHING:
        if not isinstance(raw, str) or not raw:
            raise InvalidFilter(where, f"{op} needs a non-empty string")
        return _text(raw, where)
    return _scalar(raw, where, field, kind)


def _scalar(raw: object, where: str, field: str, kind: Kind) -> str | float | bool:
    if kind is Kind.BOOLEAN:
        if not isinstance(raw, bool):
            raise InvalidFilter(where, f"{field} is true or false")
        return raw
    if kind is Kind.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise InvalidFilter(where, f"{field} is a number")
        return float(raw)
    if not isinstance(raw, str):
        raise InvalidFilter(where, f"{field} is compared with a string")
    if kind is Kind.DATE and not _DATE.fullmatch(raw):
        raise InvalidFilter(where, f"{field} is a date YYYY-MM-DD, got {raw!r}")
    return _text(raw, where)


def _text(raw: str, where: str) -> str:
    if len(raw) > MAX_TEXT:
        raise InvalidFilter(where, f"at most {MAX_TEXT} characters")
    return raw


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
