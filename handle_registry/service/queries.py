"""Read-only use-cases: prefix listings and details, templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from handle_registry.identifiers import Prefix
from handle_registry.service.core import Registry, parse_path_prefix
from handle_registry.service.errors import InvalidParameter, PrefixNotFound, TemplateNotFound
from handle_registry.service.repository import (
    PrefixEntry,
    PrefixEvent,
    PrefixQuery,
    RegistryTransaction,
    StoredRecord,
)
from metadata_templates import Catalog, Template, TemplateNotFoundError
from metadata_templates.codes import (
    CodeError,
    RegionLevel,
    level_of,
    normalize_industry_code,
)

STATUSES: Final = ("pending", "approved", "rejected", "suspended")
PUBLIC_STATUSES: Final = ("approved", "suspended")
"""What anonymous callers see; pending and rejected prefixes are for administrators only."""
KINDS: Final = ("enterprise", "registry")
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 500


@dataclass(frozen=True, slots=True)
class PrefixDetails:
    """A prefix with its current signed record (None before approval) and its history."""

    entry: PrefixEntry
    record: StoredRecord | None
    events: tuple[PrefixEvent, ...]


@dataclass(frozen=True, slots=True)
class PrefixPage:
    """One page of a listing."""

    entries: tuple[PrefixEntry, ...]
    total: int
    page: int
    page_size: int


async def read_details(tx: RegistryTransaction, prefix: Prefix) -> PrefixDetails | None:
    """The details of a stored prefix, inside a transaction."""
    found = await tx.prefix_with_record(prefix)
    if found is None:
        return None
    entry, record = found
    return PrefixDetails(entry, record, tuple(await tx.events(entry.id)))


async def prefix_details(registry: Registry, prefix_text: str, *, admin: bool) -> PrefixDetails:
    """A prefix's status, record and history; pending and rejected prefixes only for administrators."""
    prefix = parse_path_prefix(prefix_text)
    async with registry.store.transaction() as tx:
        details = await read_details(tx, prefix)
    if details is None or (not admin and details.entry.status not in PUBLIC_STATUSES):
        raise PrefixNotFound(f"no prefix {prefix} is registered here")
    return details


INDUSTRY_CODE: Final = re.compile(r"[A-Ta-t](?:[0-9]{2,4})?|[0-9]{2,4}")


def region_code_prefix(code: str) -> str:
    """The stored-code prefix a GB/T 2260 filter selects: 330000 → 33 (Zhejiang), 330500 → 3305, 330522 itself.

    The level follows from the code's shape; a well-formed code missing from the table simply matches nothing.
    """
    try:
        level = level_of(code)
    except CodeError as exc:
        raise InvalidParameter(str(exc), parameter="region") from None
    return {RegionLevel.PROVINCE: code[:2], RegionLevel.CITY: code[:4]}.get(level, code)


def industry_code_prefix(code: str) -> str:
    """The stored-code prefix a GB/T 4754 filter selects: C, C32, C321 or C3216 (digits alone also work).

    A well-formed code the table does not know matches nothing (stored codes are all known ones).
    """
    if not INDUSTRY_CODE.fullmatch(code):
        raise InvalidParameter(
            f"industry must be a GB/T 4754-2017 code such as C, C32, C321 or C3216, got {code!r}",
            parameter="industry",
        )
    try:
        return normalize_industry_code(code)
    except CodeError:
        return code.upper()


def _page_number(text: str | None, name: str, default: int, maximum: int) -> int:
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= maximum:
        raise InvalidParameter(f"{name} must be an integer from 1 to {maximum}, got {text!r}", parameter=name)
    return int(text)


async def list_prefixes(
    registry: Registry,
    *,
    admin: bool,
    status: str | None = None,
    kind: str | None = None,
    region: str | None = None,
    industry: str | None = None,
    page: str | None = None,
    page_size: str | None = None,
) -> PrefixPage:
    """Prefixes in prefix order, filtered; anonymous callers see approved and suspended ones only."""
    if status is not None and status not in STATUSES:
        raise InvalidParameter(
            f"status must be one of {', '.join(STATUSES)}, got {status!r}", parameter="status"
        )
    if kind is not None and kind not in KINDS:
        raise InvalidParameter(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", parameter="kind")
    number = _page_number(page, "page", 1, 10**9)
    size = _page_number(page_size, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    visible = STATUSES if admin else PUBLIC_STATUSES
    statuses = tuple(s for s in visible if status is None or s == status)
    query = PrefixQuery(
        statuses=statuses,
        kind=kind,
        region_prefix=region_code_prefix(region) if region is not None else None,
        industry_prefix=industry_code_prefix(industry) if industry is not None else None,
        offset=(number - 1) * size,
        limit=size,
    )
    if not statuses:
        return PrefixPage((), 0, number, size)
    async with registry.store.transaction() as tx:
        entries, total = await tx.list_prefixes(query)
    return PrefixPage(tuple(entries), total, number, size)


def list_templates(catalog: Catalog) -> list[Template]:
    """Every template version."""
    return catalog.list()


def find_template(catalog: Catalog, template_id: str, version: str | None = None) -> Template:
    """A template by id (latest version) or id and version; 404 `template-not-found` otherwise."""
    if version is not None and (not version.isascii() or not version.isdigit() or len(version) > 9):
        raise TemplateNotFound(f"template version must be a number, got {version!r}")
    try:
        return catalog.get(template_id, int(version) if version is not None else None)
    except TemplateNotFoundError as exc:
        raise TemplateNotFound(str(exc)) from None
