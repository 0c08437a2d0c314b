"""The resolver's routes: the Handle REST API (`GET /api/handles/{handle}`, answered in Handle JSON with a
`verification` object) and its DID document.

The handle is read from the raw request path and percent-decoded once, as the Handle server and the node
do. A cached answer is served from bytes encoded earlier for the same raw request target, checked to be
still current and fresh: one dictionary lookup, no parsing, filtering or encoding.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web
from multidict import MultiMapping

from common.database import DatabaseUnavailable
from common.errors import handles_own_errors
from handle_registry.identifiers import InvalidHandle, percent_decode
from handle_registry.response_codes import (
    ERROR,
    INVALID_HANDLE,
    OPERATION_NOT_SUPPORTED,
    PROTOCOL_ERROR,
    SERVER_TOO_BUSY,
)
from resolver import resolution
from resolver.errors import UpstreamError
from resolver.keys import RESOLVER_KEY
from resolver.views import Filters, error_response, served_response

API_PREFIX: Final = "/api/handles/"
MAX_INDEX: Final = 2**31 - 1
RETRY_AFTER_SECONDS: Final = "5"
_TRUE: Final = frozenset({"", "true", "yes"})


def _flag(query: MultiMapping[str], name: str) -> bool:
    """A Handle boolean parameter: missing → false; '', 'true', 'yes' (any case) → true."""
    value = query.get(name)
    return value is not None and value.strip().lower() in _TRUE


_HEADERS: Final = {"Content-Type": "application/json; charset=utf-8"}
_RETRY_HEADERS: Final = {**_HEADERS, "Retry-After": RETRY_AFTER_SECONDS}


def _answer(status: int, body: bytes, *, retry: bool = False) -> web.Response:
    return web.Response(status=status, body=body, headers=_RETRY_HEADERS if retry else _HEADERS)


class _BadRequest(Exception):
    def __init__(self, code: int, message: str, handle: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.handle = handle


def _filters(query: MultiMapping[str], handle: str, pretty: bool) -> Filters:
    indexes = []
    for text in query.getall("index", []):
        stripped = text.strip()
        if (
            not stripped.isascii()
            or not stripped.isdigit()
            or len(stripped) > 10
            or int(stripped) > MAX_INDEX
        ):
            raise _BadRequest(PROTOCOL_ERROR, f"Invalid index: {text!r}", handle)
        indexes.append(int(stripped))
    return Filters(tuple(query.getall("type", [])), tuple(indexes), pretty)


@handles_own_errors
async def resolve_handle(request: web.Request) -> web.Response:
    """`GET /api/handles/{handle}`: the verified answer, from the cache when it holds a fresh one."""
    ctx = request.app[RESOLVER_KEY]
    target = request.raw_path
    hit = ctx.responses.lookup(target, ctx.seconds())
    if hit is not None:
        ctx.stats.cache["responses", "hit"] += 1
        ctx.answers.touch(hit.entry.key)
        return _answer(hit.status, hit.body)
    pretty = _flag(request.query, "pretty")
    raw = target.split("?", 1)[0]
    raw = raw[len(API_PREFIX) :] if raw.startswith(API_PREFIX) else ""
    requested: str | None = None
    try:
        try:
            requested = percent_decode(raw)
        except InvalidHandle as exc:
            raise _BadRequest(INVALID_HANDLE, f"Invalid handle: {exc}", raw) from None
        if not requested:
            if "prefix" in request.query:
                raise _BadRequest(OPERATION_NOT_SUPPORTED, LISTING_NOT_SUPPORTED, None)
            raise _BadRequest(INVALID_HANDLE, "Empty handle invalid", None)
        filters = _filters(request.query, requested, pretty)
        served = await resolution.resolve(ctx, requested)
    except _BadRequest as bad:
        return _answer(*error_response(bad.code, bad.message, bad.handle, pretty=pretty))
    except resolution.InvalidRequest as exc:
        return _answer(*error_response(INVALID_HANDLE, str(exc), requested, pretty=pretty))
    except UpstreamError as exc:
        status, body = error_response(ERROR, f"{exc}; retry later", requested, pretty=pretty, status=503)
        return _answer(status, body, retry=True)
    except DatabaseUnavailable:
        message = "the resolver's database is unavailable; retry later"
        return _answer(*error_response(SERVER_TOO_BUSY, message, requested, pretty=pretty), retry=True)
    status, body = served_response(requested, served, filters)
    if served.entry is not None and not served.stale:
        # The next identical request is answered with these bytes while the entry stays fresh.
        ctx.responses.store(target, served.entry, status, body)
    return _answer(status, body)


LISTING_NOT_SUPPORTED: Final = (
    "a resolver does not list handles; ask the node that serves the prefix (GET /api/handles?prefix= there)"
)


@handles_own_errors
async def list_handles(request: web.Request) -> web.Response:
    """`GET /api/handles?prefix=`: not something a resolver does (code 5, HTTP 501)."""
    pretty = _flag(request.query, "pretty")
    if "prefix" in request.query:
        return _answer(*error_response(OPERATION_NOT_SUPPORTED, LISTING_NOT_SUPPORTED, None, pretty=pretty))
    return _answer(*error_response(INVALID_HANDLE, "Empty handle invalid", None, pretty=pretty))


@handles_own_errors
async def unknown_method(request: web.Request) -> web.Response:
    """Any other method on a Handle route: code 4 with 405 (the resolver only reads)."""
    message = (
        f"Unknown HTTP API endpoint or method: {request.method} {request.path}; a resolver only resolves"
    )
    response = _answer(*error_response(PROTOCOL_ERROR, message, None, status=405))
    response.headers["Allow"] = "GET, HEAD"
    return response


async def did_document(request: web.Request) -> web.Response:
    """`GET /.well-known/did.json`: the resolver's own did:web DID document."""
    return web.json_response(request.app[RESOLVER_KEY].identity.did.to_json())


def add_routes(app: web.Application) -> None:
    """Register the resolver's routes."""
    router = app.router
    # The resolution route first: requests are matched against resources in order, and it takes nearly all.
    # Any text, line breaks included (`.` stops at one): a control character is the handler's code 102.
    router.add_get(r"/api/handles/{handle:[\s\S]*}", resolve_handle)
    router.add_route("*", r"/api/handles/{handle:[\s\S]*}", unknown_method)
    router.add_get("/api/handles", list_handles)
    router.add_route("*", "/api/handles", unknown_method)
    router.add_get("/.well-known/did.json", did_document)
