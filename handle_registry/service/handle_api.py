"""The Handle REST routes of the registry: they answer in Handle JSON, errors included.

`GET /api/handles/{handle}` reads the handle from the raw request path and percent-decodes it once
(`%2F` is part of the handle, `+` stays `+`), as the Handle server does; see HANDLE-REST-NOTES.md.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from common.database import DatabaseUnavailable
from common.errors import handles_own_errors
from handle_registry.codec import (
    Json,
    dumps,
    encode_error,
    encode_handle_list,
    encode_resolution,
    encode_values,
    encode_values_not_found,
)
from handle_registry.identifiers import InvalidHandle, percent_decode
from handle_registry.response_codes import ResponseCode, default_message, http_status_for
from handle_registry.service import resolution
from handle_registry.service.keys import REGISTRY_KEY

HANDLES_PATH: Final = "/api/handles/"
MAX_QUERY_INT: Final = 2**31 - 1
_TRUE: Final = frozenset({"", "true", "yes"})


def _flag(request: web.Request, name: str) -> bool:
    """A Handle boolean parameter: missing → false; '', 'true', 'yes' (any case) → true."""
    value = request.query.get(name)
    return value is not None and value.lower() in _TRUE


def _answer(
    request: web.Request, body: Json, status: int, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=dumps(body, pretty=_flag(request, "pretty")),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def _error(request: web.Request, code: ResponseCode, message: str | None, handle: str | None) -> web.Response:
    body = encode_error(code, message or default_message(code), handle=handle)
    headers = {"Retry-After": "5"} if code is ResponseCode.SERVER_TOO_BUSY else None
    return _answer(request, body, http_status_for(code), headers)


def _int(text: str) -> int | None:
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 11:
        return None
    number = int(text)
    return number if -MAX_QUERY_INT <= number <= MAX_QUERY_INT else None


@handles_own_errors
async def resolve(request: web.Request) -> web.Response:
    """`GET /api/handles/{handle}`: the values of `0.NA/<prefix>`, a referral, or not found."""
    raw = request.raw_path.split("?", 1)[0]
    raw_handle = raw[len(HANDLES_PATH) :] if raw.startswith(HANDLES_PATH) else request.match_info["handle"]
    try:
        handle = percent_decode(raw_handle)
    except InvalidHandle as exc:
        return _error(request, ResponseCode.INVALID_HANDLE, str(exc), raw_handle)
    indexes = []
    for text in request.query.getall("index", []):
        index = _int(text)
        if index is None:
            return _error(request, ResponseCode.PROTOCOL_ERROR, f"Invalid index {text!r}", handle)
        indexes.append(index)
    try:
        answer = await resolution.resolve_handle(
            request.app[REGISTRY_KEY], handle, types=request.query.getall("type", []), indexes=indexes
        )
    except DatabaseUnavailable:
        return _error(
            request, ResponseCode.SERVER_TOO_BUSY, "the registry's database is unavailable; retry", handle
        )
    if answer.code is ResponseCode.SUCCESS:
        return _answer(request, encode_resolution(handle, answer.values), 200)
    if answer.code is ResponseCode.VALUES_NOT_FOUND:
        return _answer(
            request, encode_values_not_found(handle), http_status_for(answer.code, resolution=True)
        )
    if answer.code is ResponseCode.PREFIX_REFERRAL:
        referral: Json = {
            "responseCode": int(answer.code),
            "handle": handle,
            "values": encode_values(answer.values),
        }
        return _answer(request, referral, http_status_for(answer.code))
    return _error(request, answer.code, answer.message, handle or None)


@handles_own_errors
async def list_handles(request: web.Request) -> web.Response:
    """`GET /api/handles?prefix=0.NA`: the record handles of the approved prefixes."""
    numbers: dict[str, int | None] = {}
    for name in ("page", "pageSize"):
        text = request.query.get(name)
        numbers[name] = None if text is None else _int(text)
        if text is not None and numbers[name] is None:
            return _error(request, ResponseCode.PROTOCOL_ERROR, f"Invalid {name} {text!r}", None)
    prefix = request.query.get("prefix")
    try:
        listing = await resolution.list_record_handles(
            request.app[REGISTRY_KEY], prefix, page=numbers["page"], page_size=numbers["pageSize"]
        )
    except DatabaseUnavailable:
        return _error(
            request, ResponseCode.SERVER_TOO_BUSY, "the registry's database is unavailable; retry", None
        )
    if listing.code is not ResponseCode.SUCCESS:
        return _error(request, listing.code, listing.message, None)
    body = encode_handle_list(
        prefix or "", listing.handles, listing.total, page=listing.page, page_size=listing.page_size
    )
    return _answer(request, body, 200)
