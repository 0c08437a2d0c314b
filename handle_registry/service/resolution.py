"""Handle REST resolution of prefix records: `0.NA/<prefix>` values, referrals to delegated registries, listing.

The answers are Handle response codes and values; the handler writes them as Handle JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from handle_registry.identifiers import NA_PREFIX_TEXT, InvalidHandle, InvalidPrefix, Prefix, parse_handle
from handle_registry.prefix_records import PrefixRecord, prefix_record_values
from handle_registry.response_codes import ResponseCode
from handle_registry.service.core import VALUES_CACHE_SIZE, Registry
from handle_registry.service.repository import PrefixEntry, StoredRecord
from handle_registry.values import HandleValue, select_values

RESOLVABLE: Final = ("approved", "suspended")
LISTED: Final = ("approved",)
NA_PREFIX: Final = Prefix(NA_PREFIX_TEXT)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of resolving a handle: a response code, the values, and a message for errors."""

    code: ResponseCode
    values: tuple[HandleValue, ...] = ()
    message: str | None = None


@dataclass(frozen=True, slots=True)
class HandleListing:
    """The record handles of a `GET /api/handles?prefix=` listing, or an error code with its message."""

    code: ResponseCode
    handles: tuple[str, ...] = ()
    total: int = 0
    page: int | None = None
    page_size: int | None = None
    message: str | None = None


def record_values(registry: Registry, entry: PrefixEntry, stored: StoredRecord) -> tuple[HandleValue, ...]:
    """Every Handle value of a prefix's current record (computed once per record version)."""
    key = (entry.prefix.key, stored.version)
    cached = registry.values_cache.get(key)
    if cached is not None:
        registry.values_cache.move_to_end(key)
        return cached
    record = PrefixRecord.from_document(stored.document, registry.catalog)
    # Stamped with the issue time: the values last changed then, so the same record always reads the same.
    values = prefix_record_values(
        record, registry.catalog, timestamp=stored.issued_at, ttl=registry.settings.record_ttl
    )
    registry.values_cache[key] = values
    while len(registry.values_cache) > VALUES_CACHE_SIZE:
        registry.values_cache.popitem(last=False)
    return values


def _record_prefix(text: str) -> Prefix | Resolution:
    """The prefix whose record `text` names, or the answer when it names none this registry could hold."""
    if not text:
        return Resolution(ResponseCode.INVALID_HANDLE, message="Empty handle invalid")
    head, slash, suffix = text.partition("/")
    try:
        prefix = Prefix(head)
    except InvalidPrefix as exc:
        return Resolution(
            ResponseCode.INVALID_HANDLE, message=f"handle {text!r} has an invalid prefix: {exc}"
        )
    if not slash:
        # A slashless handle names the prefix record, as on the Handle server (backwards compatibility).
        return prefix
    if not suffix or any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in suffix):
        return Resolution(
            ResponseCode.INVALID_HANDLE, message=f"handle {text!r} has an empty or unprintable suffix"
        )
    if not prefix.is_na:
        return Resolution(
            ResponseCode.HANDLE_NOT_FOUND,
            message="this registry holds prefix records (0.NA/<prefix>); resolve other handles at the prefix's node",
        )
    try:
        return Prefix(suffix)
    except InvalidPrefix:
        # A well-formed handle under 0.NA that names no prefix: no such record can exist here.
        return Resolution(ResponseCode.HANDLE_NOT_FOUND, message="Handle not found")


async def resolve_handle(
    registry: Registry, text: str, *, types: Iterable[str] = (), indexes: Iterable[int] = ()
) -> Resolution:
    """Resolve `0.NA/<prefix>` (or a slashless prefix): its values, a referral, or not found."""
    target = _record_prefix(text)
    if isinstance(target, Resolution):
        return target
    async with registry.store.transaction() as tx:
        lineage = await tx.lineage(target)
    own: tuple[PrefixEntry, StoredRecord] | None = None
    for entry, stored in lineage:
        if stored is None or entry.status not in RESOLVABLE:
            continue
        if entry.prefix == target:
            own = (entry, stored)
        elif entry.kind == "registry":
            # The prefix lies under a delegated prefix: the delegated registry answers for it.
            return Resolution(ResponseCode.PREFIX_REFERRAL, record_values(registry, entry, stored))
    if own is None:
        return Resolution(ResponseCode.HANDLE_NOT_FOUND, message="Handle not found")
    selected = select_values(record_values(registry, *own), types=types, indexes=indexes)
    if not selected:
        return Resolution(ResponseCode.VALUES_NOT_FOUND)
    return Resolution(ResponseCode.SUCCESS, selected)


def _list_target(text: str) -> Prefix:
    if "/" in text:
        handle = parse_handle(text)
        return handle.record_prefix if handle.is_prefix_record else handle.prefix
    return Prefix(text)


async def list_record_handles(
    registry: Registry, prefix_text: str | None, *, page: int | None, page_size: int | None
) -> HandleListing:
    """`GET /api/handles?prefix=0.NA`: the record handles of approved prefixes; other prefixes hold none here.

    As on the Handle server, `page` (zero-based) and `pageSize` apply only when both are given and not
    negative; `pageSize=0` counts without listing.
    """
    if not prefix_text:
        return HandleListing(ResponseCode.INVALID_HANDLE, message="Empty handle invalid")
    try:
        target = _list_target(prefix_text)
    except (InvalidHandle, InvalidPrefix) as exc:
        return HandleListing(ResponseCode.INVALID_HANDLE, message=str(exc))
    paged = page is not None and page_size is not None and page >= 0 and page_size >= 0
    if target != NA_PREFIX:
        return HandleListing(
            ResponseCode.SUCCESS, (), 0, page if paged else None, page_size if paged else None
        )
    offset, limit = (
        (page * page_size, page_size) if paged and page is not None and page_size is not None else (0, None)
    )
    async with registry.store.transaction() as tx:
        texts, total = await tx.list_prefix_texts(statuses=LISTED, offset=offset, limit=limit)
    handles = tuple(f"{NA_PREFIX_TEXT}/{text}" for text in texts)
    return HandleListing(
        ResponseCode.SUCCESS, handles, total, page if paged else None, page_size if paged else None
    )
