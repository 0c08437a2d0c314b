"""The Handle REST API routes (`/api/handles`): parse the request as the Handle.Net server v9 does, call one
use-case of `node.handle_service`, answer in Handle JSON (never problem+json).

Details mirrored from the server (handle_registry/HANDLE-REST-NOTES.md): the handle is read from the raw
request path and percent-decoded once (`+` stays); boolean parameters are true for ``, `true`, `yes`;
`overwrite` defaults to true; a PUT must be `application/json`; wrong credentials get 401 with an empty
body and the server's `WWW-Authenticate` challenges, while a write without credentials gets code 402
(401 with JSON); other methods get code 4 with 405.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from aiohttp import web
from multidict import MultiMapping

from common.database import DatabaseUnavailable
from common.errors import handles_own_errors
from handle_registry.codec import (
    CodecError,
    Json,
    decode_put_body,
    dumps,
    encode_error,
    encode_handle_list,
    encode_resolution,
    encode_success,
    encode_values_not_found,
    parse_json,
)
from handle_registry.identifiers import InvalidHandle, percent_decode
from handle_registry.response_codes import (
    AUTHENTICATION_NEEDED,
    INVALID_HANDLE,
    PROTOCOL_ERROR,
    SERVER_TOO_BUSY,
)
from node.access import AuthenticationFailed, Caller
from node.callers import InsecureCredentials, identify
from node.context import NodeContext
from node.handle_service import (
    HandleApiError,
    HandleWrite,
    delete_handle,
    list_handles,
    parse_list_prefix,
    parse_requested_handle,
    resolve_handle,
    write_handle,
)
from node.keys import NODE_KEY

API_PREFIX: Final = "/api/handles/"
JSON: Final = "application/json"

_log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _flag(query: MultiMapping[str], name: str) -> bool:
    """A Handle boolean parameter: `` / `true` / `yes` (any case) are true, anything else false."""
    return query.get(name, "false").strip().lower() in ("", "true", "yes")


def _optional_flag(query: MultiMapping[str], name: str) -> bool | None:
    return _flag(query, name) if name in query else None


def handle_response(
    document: Json, *, status: int = 200, pretty: bool = False, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A Handle JSON answer, compact (or 2-space pretty), UTF-8."""
    return web.Response(
        status=status,
        text=dumps(document, pretty=pretty),
        content_type=JSON,
        charset="utf-8",
        headers=headers,
    )


def error_response(error: HandleApiError, *, pretty: bool = False) -> web.Response:
    """`{"responseCode","handle","message"}` with the status the server gives that code."""
    return handle_response(
        encode_error(error.code, error.message, handle=error.handle), status=error.status, pretty=pretty
    )


def authentication_failed_response() -> web.Response:
    """What the Handle server sends for wrong credentials: 401, no body, its two challenges."""
    response = web.Response(status=401)
    response.headers.add("WWW-Authenticate", 'Basic realm="handle"')
    response.headers.add(
        "WWW-Authenticate",
        f'Handle sessionId="{secrets.token_hex(8)}", nonce="{secrets.token_urlsafe(16)}", '
        'error="Identity not verified"',
    )
    return response


def handle_route(handler: Handler) -> Handler:
    """Render every failure of a Handle route in Handle JSON (a crash stays a logged 500 problem)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        pretty = _flag(request.query, "pretty") if "pretty" in request.query else False
        try:
            return await handler(request)
        except HandleApiError as error:
            return error_response(error, pretty=pretty)
        except AuthenticationFailed as failure:
            _log.info(
                "handle API authentication failed", extra={"reason": str(failure), "path": request.path}
            )
            return authentication_failed_response()
        except InsecureCredentials:
            return error_response(
                HandleApiError(
                    AUTHENTICATION_NEEDED, "no authentication allowed in insecure channels", status=403
                ),
                pretty=pretty,
            )
        except web.HTTPRequestEntityTooLarge as too_large:
            too_big = HandleApiError(PROTOCOL_ERROR, too_large.text or "Request body too large", status=413)
            return error_response(too_big, pretty=pretty)
        except DatabaseUnavailable:
            busy = HandleApiError(SERVER_TOO_BUSY, "The node's database is unavailable; retry later")
            response = error_response(busy, pretty=pretty)
            response.headers["Retry-After"] = "5"
            return response

    return handles_own_errors(wrapped)


def _requested(request: web.Request) -> str:
    """The handle as the client wrote it: the raw path after /api/handles/, percent-decoded once."""
    raw = request.raw_path.split("?", 1)[0]
    raw = raw[len(API_PREFIX) :] if raw.startswith(API_PREFIX) else ""
    try:
        return percent_decode(raw)
    except InvalidHandle as exc:
        raise HandleApiError(INVALID_HANDLE, f"Invalid handle: {exc}", handle=raw) from None


def _indexes(query: MultiMapping[str], handle: str | None) -> list[int]:
    indexes = []
    for text in query.getall("index", []):
        try:
            index = int(text)
        except ValueError:
            raise HandleApiError(PROTOCOL_ERROR, f"Invalid index: {text!r}", handle=handle) from None
        if not 0 <= index <= 2**31 - 1:
            raise HandleApiError(PROTOCOL_ERROR, f"Invalid index: {text!r}", handle=handle)
        indexes.append(index)
    return indexes


def _non_negative_or_none(query: MultiMapping[str], name: str) -> int | None:
    if name not in query:
        return None
    text = query[name]
    try:
        value = int(text)
    except ValueError:
        raise HandleApiError(PROTOCOL_ERROR, f"Invalid {name}: {text!r}") from None
    if value > 2**31 - 1:
        raise HandleApiError(PROTOCOL_ERROR, f"Invalid {name}: {text!r} is too large")
    # As on the server: a negative page or size means "no paging".
    return value if value >= 0 else None


def _ctx(request: web.Request) -> NodeContext:
    return request.app[NODE_KEY]


def _require_admin(caller: Caller, handle: str | None) -> str:
    if caller.admin is None:
        raise HandleApiError(AUTHENTICATION_NEEDED, "Authentication needed", handle=handle)
    return caller.admin


@handle_route
async def get_handles(request: web.Request) -> web.StreamResponse:
    """GET /api/handles?prefix=P[&page=&pageSize=]: the handles under the node's prefix."""
    ctx = _ctx(request)
    caller = await identify(request, ctx)
    pretty = _optional_flag(request.query, "pretty") or False
    prefix_text = request.query.get("prefix", "")
    if not prefix_text:
        raise HandleApiError(INVALID_HANDLE, "Empty handle invalid")
    parse_list_prefix(ctx, prefix_text)
    page = _non_negative_or_none(request.query, "page")
    page_size = _non_negative_or_none(request.query, "pageSize")
    paged = page is not None and page_size is not None
    total, handles = await list_handles(
        ctx, caller, page=page if paged else None, page_size=page_size if paged else None
    )
    body = encode_handle_list(
        prefix_text, handles, total, page=page if paged else None, page_size=page_size if paged else None
    )
    return handle_response(body, pretty=pretty)


@handle_route
async def get_handle(request: web.Request) -> web.StreamResponse:
    """GET /api/handles/{handle}: resolve, with `type=`, `index=`, `publicOnly`, `pretty`."""
    requested = _requested(request)
    if not requested and "prefix" in request.query:
        return await get_handles(request)
    ctx = _ctx(request)
    caller = await identify(request, ctx)
    pretty = _optional_flag(request.query, "pretty") or False
    handle = parse_requested_handle(ctx, requested)
    indexes = _indexes(request.query, requested)
    resolution = await resolve_handle(
        ctx,
        handle,
        caller,
        types=request.query.getall("type", []),
        indexes=indexes,
        public_only=_optional_flag(request.query, "publicOnly"),
    )
    if not resolution.values:
        return handle_response(encode_values_not_found(requested), pretty=pretty)
    return handle_response(
        encode_resolution(requested, resolution.values, with_permissions=True), pretty=pretty
    )


def _is_json(request: web.Request) -> bool:
    return request.content_type.lower() == JSON


@handle_route
async def put_handle(request: web.Request) -> web.StreamResponse:
    """PUT /api/handles/{handle}: create or replace (no `index=`), or add/replace values (`index=`)."""
    ctx = _ctx(request)
    caller = await identify(request, ctx)
    pretty = _optional_flag(request.query, "pretty") or False
    requested = _requested(request)
    mint = _flag(request.query, "mintNewSuffix") if "mintNewSuffix" in request.query else False
    if not mint:
        parse_requested_handle(ctx, requested)
    if not _is_json(request):
        raise HandleApiError(
            PROTOCOL_ERROR, f"Unsupported media type {request.content_type}", handle=requested
        )
    raw_indexes = request.query.getall("index", [])
    various = any(text.strip().lower() == "various" for text in raw_indexes)
    indexes = None if various or not raw_indexes else frozenset(_indexes(request.query, requested))
    overwrite = _flag(request.query, "overwrite") if "overwrite" in request.query else True
    body = await request.read()
    try:
        put = decode_put_body(parse_json(body))
    except CodecError as exc:
        raise HandleApiError(
            PROTOCOL_ERROR, f"Invalid JSON in PUT request: {exc}", handle=requested
        ) from None
    _require_admin(caller, requested)
    result = await write_handle(
        ctx,
        HandleWrite(
            requested=requested,
            values=put.values,
            body_handle=put.handle,
            indexes=indexes,
            various=various,
            overwrite=overwrite,
            mint=mint,
        ),
    )
    return handle_response(
        encode_success(result.handle), status=201 if result.created else 200, pretty=pretty
    )


@handle_route
async def delete_handle_route(request: web.Request) -> web.StreamResponse:
    """DELETE /api/handles/{handle}: the whole handle, or the values named by `index=`."""
    ctx = _ctx(request)
    caller = await identify(request, ctx)
    pretty = _optional_flag(request.query, "pretty") or False
    requested = _requested(request)
    handle = parse_requested_handle(ctx, requested)
    indexes = frozenset(_indexes(request.query, requested)) if "index" in request.query else None
    _require_admin(caller, requested)
    echo = await delete_handle(ctx, requested, handle, indexes)
    return handle_response(encode_success(echo), pretty=pretty)


@handle_route
async def unknown_method(request: web.Request) -> web.StreamResponse:
    """Any other method on a Handle route: code 4 with 405, as the server answers an unknown endpoint."""
    allowed = "GET, PUT, DELETE" if request.path.startswith(API_PREFIX) else "GET"
    error = HandleApiError(
        PROTOCOL_ERROR, f"Unknown HTTP API endpoint or method: {request.method} {request.path}", status=405
    )
    response = error_response(error)
    response.headers["Allow"] = allowed
    return response


HANDLE_ROUTE = r"/api/handles/{handle:[\s\S]*}"
"""Any text, line breaks included (`.` stops at one): a handle with a control character is answered by the
handler (code 102, in Handle JSON), not by the router's 404 problem."""


def add_routes(app: web.Application) -> None:
    """Register the Handle REST API."""
    app.router.add_get("/api/handles", get_handles)
    app.router.add_route("*", "/api/handles", unknown_method)
    app.router.add_get(HANDLE_ROUTE, get_handle)
    app.router.add_put(HANDLE_ROUTE, put_handle)
    app.router.add_delete(HANDLE_ROUTE, delete_handle_route)
    app.router.add_route("*", HANDLE_ROUTE, unknown_method)
