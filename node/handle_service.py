"""The Handle REST API's use-cases: resolve, create or replace, add values, delete, list, and the admin handle.

They behave as the Handle.Net server v9 does (see handle_registry/HANDLE-REST-NOTES.md) for the handles a
node holds:

- ordinary ("plain") handles are written and deleted through the API by the node's administrator; their
  values are stored as the server would serve them back (`codec.served_data`), stamped by the server;
- carbon records are handles too: they resolve to the values of their current version, subject to
  visibility, but are written only through /api/records (a Handle write is refused: code 401,
  insufficient permissions);
- `<prefix>/ADMIN` is publicly resolvable; its HS_SECKEY values hold salted hashes (a secret PUT in
  clear is hashed on arrival), are never public, and the handle always keeps at least one.

Failures are `HandleApiError`s carrying the Handle response code; the handlers render them.
"""

from __future__ import annotations

import asyncio
import secrets as token_source
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from common.passwords import hash_secret
from handle_registry.codec import decode_value, dumps, encode_value, parse_json, served_data
from handle_registry.identifiers import (
    Handle,
    InvalidHandle,
    InvalidPrefix,
    Prefix,
    fold_ascii,
    parse_mint_base,
    parse_prefix,
)
from handle_registry.response_codes import (
    AUTHENTICATION_NEEDED,
    HANDLE_ALREADY_EXISTS,
    HANDLE_NOT_FOUND,
    INSUFFICIENT_PERMISSIONS,
    INVALID_HANDLE,
    INVALID_VALUE,
    PROTOCOL_ERROR,
    SERVER_NOT_RESPONSIBLE,
    VALUE_ALREADY_EXISTS,
    VALUES_NOT_FOUND,
    http_status_for,
)
from handle_registry.values import (
    HS_ADMIN_INDEX,
    HS_SECKEY_INDEX,
    TYPE_HS_ADMIN,
    TYPE_HS_SECKEY,
    HandleValue,
    ValueData,
    ValueFormat,
    default_admin_value,
    now_utc,
    select_values,
)
from node.access import Caller
from node.context import NodeContext, now_text
from node.records import RecordNotFound, readable_record, record_handle_values
from node.repository import PLAIN, RECORD, HandleTaken, NodeStore, StoredValue, StoreSession

NOT_RESPONSIBLE: Final = "That prefix doesn't live here"
"""The Handle.Net server's message for a handle under a prefix it does not serve (code 301, HTTP 400)."""

_MINT_ATTEMPTS: Final = 5


class HandleApiError(Exception):
    """A Handle API failure: the response code, its message, the handle as requested, the HTTP status."""

    def __init__(
        self, code: int, message: str, *, handle: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.handle = handle
        self.status = status if status is not None else http_status_for(self.code)


class AlreadyInitialised(Exception):
    """`<prefix>/ADMIN` exists: the node was initialised before."""


# --------------------------------------------------------------------------------------------------------------
# Values as stored


def stored_value(value: HandleValue) -> StoredValue:
    """A value as kept in the database: its Handle JSON, permissions included when not the defaults."""
    return StoredValue(value.index, value.type, dumps(encode_value(value, with_permissions=True)))


def loaded_value(stored: StoredValue) -> HandleValue:
    """A stored value back as a `HandleValue`."""
    return decode_value(parse_json(stored.value_json))


def is_seckey(value: HandleValue | StoredValue) -> bool:
    """True for HS_SECKEY values (ASCII case-insensitive, as Handle compares types)."""
    return fold_ascii(value.type) == TYPE_HS_SECKEY


def not_found(requested: str) -> HandleApiError:
    """The answer for a handle that does not exist, or that the caller may not know exists."""
    return HandleApiError(HANDLE_NOT_FOUND, "Handle Not Found", handle=requested)


def check_responsible(ctx: NodeContext, prefix: Prefix, requested: str) -> None:
    """Refuse handles under any prefix but the node's own, as a Handle server does (code 301)."""
    if prefix != ctx.prefix:
        raise HandleApiError(SERVER_NOT_RESPONSIBLE, NOT_RESPONSIBLE, handle=requested)


def parse_requested_handle(ctx: NodeContext, text: str) -> Handle:
    """The handle named by a request path (already percent-decoded), checked to be one this node serves.

    A handle without `/` means the prefix record `0.NA/<text>` (as on the Handle server), which the
    registry serves, not a node.
    """
    if not text:
        raise HandleApiError(INVALID_HANDLE, "Empty handle invalid")
    if "/" not in text:
        try:
            parse_prefix(text)
        except InvalidPrefix as exc:
            raise HandleApiError(INVALID_HANDLE, f"Invalid handle: {exc}", handle=text) from None
        raise HandleApiError(SERVER_NOT_RESPONSIBLE, NOT_RESPONSIBLE, handle=text)
    try:
        handle = Handle(text)
    except InvalidHandle as exc:
        raise HandleApiError(INVALID_HANDLE, f"Invalid handle: {exc}", handle=text) from None
    check_responsible(ctx, handle.prefix, text)
    return handle


# --------------------------------------------------------------------------------------------------------------
# Resolution


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a resolution found: the selected values (possibly none) of an existing handle."""

    handle: str
    values: tuple[HandleValue, ...]


async def _current_values(
    ctx: NodeContext, db: StoreSession, handle: Handle, caller: Caller
) -> tuple[HandleValue, ...]:
    stored = await db.get_handle(handle.key)
    if stored is None:
        raise not_found(handle.text)
    if stored.kind == PLAIN:
        return tuple(loaded_value(value) for value in await db.get_values(handle.key))
    try:
        record = await readable_record(db, handle, caller)
    except RecordNotFound:
        raise not_found(handle.text) from None
    version = await db.get_version(handle.key, record.latest_version)
    if version is None:  # pragma: no cover - a record always has its latest version
        raise not_found(handle.text)
    return record_handle_values(ctx, version)


async def resolve_handle(
    ctx: NodeContext,
    handle: Handle,
    caller: Caller,
    *,
    types: Sequence[str] = (),
    indexes: Sequence[int] = (),
    public_only: bool | None = None,
) -> Resolution:
    """The values of `handle` that `caller` may read, filtered by `type=` and `index=`.

    `public_only` defaults to true without authentication and false with it; asking for non-public values
    without authenticating is code 402. A record the caller may not see is "not found" (code 100).
    """
    async with ctx.store.unit() as db:
        values = await _current_values(ctx, db, handle, caller)
    wanted_public_only = (not caller.is_admin) if public_only is None else public_only
    if not wanted_public_only and not caller.is_admin:
        raise HandleApiError(
            AUTHENTICATION_NEEDED, "Authentication needed to read non-public values", handle=handle.text
        )
    if wanted_public_only or not caller.is_admin:
        values = tuple(value for value in values if value.public_read)
    return Resolution(handle.text, select_values(values, types=types, indexes=indexes))


# --------------------------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True, slots=True)
class HandleWrite:
    """A PUT: the path handle as requested, the body's values, and the query's `index`, `overwrite`, `mintNewSuffix`.

    `indexes` None means "create or replace the whole handle"; a set (or `various`) means "add or replace
    these values".
    """

    requested: str
    values: tuple[HandleValue, ...]
    body_handle: str | None = None
    indexes: frozenset[int] | None = None
    various: bool = False
    overwrite: bool = True
    mint: bool = False

    @property
    def adds_values(self) -> bool:
        """True for `index=` writes (AddValue), false for whole-handle writes (CreateHandle)."""
        return self.various or self.indexes is not None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The handle written (the new one for `mintNewSuffix`) and whether the answer is 201 Created."""

    handle: str
    created: bool


def _free_admin_index(values: Iterable[HandleValue]) -> int:
    taken = {value.index for value in values}
    return next(index for index in range(HS_ADMIN_INDEX, 2**31) if index not in taken)


async def _prepare_values(
    values: Sequence[HandleValue], existing: Sequence[StoredValue], requested: str
) -> tuple[HandleValue, ...]:
    """Stamp values as the server does and keep only salted hashes of secrets."""
    stamp = now_utc()
    kept_hashes = {value.index: loaded_value(value).data.value for value in existing if is_seckey(value)}
    prepared = []
    for value in values:
        data = served_data(value.data)
        if is_seckey(value):
            if data.format is not ValueFormat.STRING or not isinstance(data.value, str) or not data.value:
                raise HandleApiError(
                    INVALID_VALUE, f"HS_SECKEY at index {value.index} must be a text secret", handle=requested
                )
            secret = data.value
            if kept_hashes.get(value.index) != secret:
                # A client echoing back the stored hash (it read the record as admin) keeps it; anything else
                # is a new secret, and only its salted hash is kept.
                secret = await asyncio.to_thread(hash_secret, secret)
            data = ValueData.string(secret)
            value = replace(value, public_read=False, public_write=False)
        prepared.append(replace(value, data=data, timestamp=stamp))
    return tuple(prepared)


def _check_admin_handle(
    ctx: NodeContext, handle: Handle, values: Iterable[StoredValue | HandleValue]
) -> None:
    if handle == ctx.prefix.admin_handle and not any(is_seckey(value) for value in values):
        raise HandleApiError(
            INVALID_VALUE,
            f"{handle.text} must keep an HS_SECKEY value: it is how the node's administrator authenticates",
            handle=handle.text,
        )


def _refuse_record(handle: Handle, requested: str) -> HandleApiError:
    return HandleApiError(
        INSUFFICIENT_PERMISSIONS,
        f"{handle.text} is a signed carbon record: publish new versions through /api/records; "
        "the Handle API only reads it",
        handle=requested,
    )


def _handle_for_write(ctx: NodeContext, request: HandleWrite) -> Handle:
    if request.mint:
        try:
            prefix, start = parse_mint_base(request.requested)
        except InvalidHandle as exc:
            raise HandleApiError(INVALID_HANDLE, f"Invalid handle: {exc}", handle=request.requested) from None
        check_responsible(ctx, prefix, request.requested)
        try:
            return prefix.handle(start + token_source.token_hex(8).upper())
        except InvalidHandle as exc:
            raise HandleApiError(INVALID_HANDLE, f"Invalid handle: {exc}", handle=request.requested) from None
    handle = parse_requested_handle(ctx, request.requested)
    if request.body_handle is not None and fold_ascii(request.body_handle) != handle.key:
        raise HandleApiError(PROTOCOL_ERROR, "Mismatched handle in PUT request", handle=request.requested)
    return handle


async def write_handle(ctx: NodeContext, request: HandleWrite) -> WriteResult:
    """Create or replace a plain handle, or add and replace some of its values (the caller is the admin)."""
    if request.indexes is not None and not request.various:
        sent = {value.index for value in request.values}
        if sent != request.indexes:
            raise HandleApiError(
                PROTOCOL_ERROR, "Mismatched indexes in PUT request", handle=request.requested
            )
    for attempt in range(_MINT_ATTEMPTS if request.mint else 1):
        handle = _handle_for_write(ctx, request)
        try:
            return await _write(ctx, request, handle)
        except HandleTaken:
            if not request.mint or attempt == _MINT_ATTEMPTS - 1:
                raise HandleApiError(
                    HANDLE_ALREADY_EXISTS, "Handle already exists", handle=request.requested
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


async def _write(ctx: NodeContext, request: HandleWrite, handle: Handle) -> WriteResult:
    echo = handle.text if request.mint else request.requested
    existing_values: list[StoredValue] = []
    if any(is_seckey(value) for value in request.values):
        async with ctx.store.unit() as db:
            existing_values = await db.get_values(handle.key)
    values = await _prepare_values(request.values, existing_values, echo)
    async with ctx.store.unit(write=True) as db:
        stored = await db.get_handle(handle.key)
        if request.mint and stored is not None:
            raise HandleTaken(handle.text)  # a fresh suffix never replaces anything: draw another
        if stored is not None and stored.kind == RECORD:
            raise _refuse_record(handle, echo)
        if request.adds_values:
            if stored is None:
                raise not_found(echo)
            current = await db.get_values(handle.key)
            if not request.overwrite:
                clash = sorted({value.index for value in current} & {value.index for value in values})
                if clash:
                    raise HandleApiError(
                        VALUE_ALREADY_EXISTS, f"Value already exists at index {clash[0]}", handle=echo
                    )
            replaced = {value.index for value in values}
            _check_admin_handle(
                ctx, handle, [*values, *(value for value in current if value.index not in replaced)]
            )
            await db.put_values(handle.key, map(stored_value, values), replace_all=False)
        else:
            if stored is not None and not request.overwrite:
                raise HandleApiError(HANDLE_ALREADY_EXISTS, "Handle already exists", handle=echo)
            if not any(fold_ascii(value.type) == TYPE_HS_ADMIN for value in values):
                admin = default_admin_value(ctx.prefix, timestamp=now_utc(), index=_free_admin_index(values))
                values = (*values, admin)
            _check_admin_handle(ctx, handle, values)
            if stored is None:
                await db.insert_handle(handle.key, handle.text, PLAIN, now_text())
            await db.put_values(handle.key, map(stored_value, values), replace_all=True)
    # As on the Handle server: 201 exactly when the request said overwrite=false.
    return WriteResult(echo, created=not request.overwrite)


async def delete_handle(
    ctx: NodeContext, requested: str, handle: Handle, indexes: frozenset[int] | None
) -> str:
    """Delete a plain handle, or some of its values (all of them must exist: code 200 otherwise)."""
    async with ctx.store.unit(write=True) as db:
        stored = await db.get_handle(handle.key)
        if stored is None:
            raise not_found(requested)
        if stored.kind == RECORD:
            raise _refuse_record(handle, requested)
        if indexes is None:
            if handle == ctx.prefix.admin_handle:
                raise HandleApiError(
                    INSUFFICIENT_PERMISSIONS,
                    f"{handle.text} is the node's administrator handle and cannot be deleted; "
                    "rotate its secret with `carbonid node init --rotate-secret`",
                    handle=requested,
                )
            await db.delete_handle(handle.key)
            return requested
        current = await db.get_values(handle.key)
        missing = sorted(indexes - {value.index for value in current})
        if missing:
            raise HandleApiError(VALUES_NOT_FOUND, f"Values not found: index {missing[0]}", handle=requested)
        _check_admin_handle(ctx, handle, [value for value in current if value.index not in indexes])
        await db.delete_values(handle.key, indexes)
    return requested


# --------------------------------------------------------------------------------------------------------------
# Listing


def parse_list_prefix(ctx: NodeContext, text: str) -> Prefix:
    """The prefix of `GET /api/handles?prefix=P`: `88.186.1` or `0.NA/88.186.1`, and it must be this node's."""
    try:
        prefix = Handle(text).record_prefix if "/" in text else parse_prefix(text)
    except (InvalidHandle, InvalidPrefix) as exc:
        raise HandleApiError(INVALID_HANDLE, f"Invalid prefix: {exc}", handle=text) from None
    check_responsible(ctx, prefix, text)
    return prefix


async def list_handles(
    ctx: NodeContext, caller: Caller, *, page: int | None, page_size: int | None
) -> tuple[int, list[str]]:
    """The handles under the node's prefix `caller` may see (private records only to those they are
    shared with), by key; with `page`/`page_size` one zero-based page (`page_size` 0: the count only)."""
    offset = limit = None
    if page is not None and page_size is not None:
        offset, limit = page * page_size, page_size
    async with ctx.store.unit() as db:
        return await db.list_handles(caller.scope, offset=offset, limit=limit)


# --------------------------------------------------------------------------------------------------------------
# The administrator handle


async def initialise_admin(store: NodeStore, prefix: Prefix, secret: str, *, rotate: bool = False) -> None:
    """Create `<prefix>/ADMIN` (HS_ADMIN at 100, the secret's salted hash as HS_SECKEY at 300, not public).

    Refuses (`AlreadyInitialised`) when it exists, unless `rotate`, which replaces the secret at 300 (and
    creates the handle if it is missing).
    """
    handle = prefix.admin_handle
    stamp = now_utc()
    seckey = HandleValue(
        HS_SECKEY_INDEX,
        TYPE_HS_SECKEY,
        ValueData.string(await asyncio.to_thread(hash_secret, secret)),
        timestamp=stamp,
        public_read=False,
    )
    async with store.unit(write=True) as db:
        stored = await db.get_handle(handle.key)
        if stored is None:
            await db.insert_handle(handle.key, handle.text, PLAIN, now_text())
            admin = default_admin_value(prefix, timestamp=stamp)
            await db.put_values(handle.key, [stored_value(admin), stored_value(seckey)], replace_all=True)
        elif rotate:
            await db.put_values(handle.key, [stored_value(seckey)], replace_all=False)
        else:
            raise AlreadyInitialised(f"{handle.text} exists")


async def admin_handle_exists(store: NodeStore, prefix: Prefix) -> bool:
    """Whether the node has been initialised (its `<prefix>/ADMIN` exists)."""
    async with store.unit() as db:
        return await db.get_handle(prefix.admin_handle.key) is not None
