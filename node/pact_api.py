"""The PACT v2.3 routes of the node: POST /auth/token, GET /2/footprints[/{id}], POST /2/events.

These routes answer errors in the spec's shapes, not problem+json: `{"code", "message"}` with the code's
status on the /2 routes, OAuth 2.0's `{"error", "error_description"}` on /auth/token. Each handler is
wrapped to render its own errors (`common.errors.handles_own_errors`) and turns everything else, a body
too large, an unreadable JSON body, a crash, into the matching PACT error.

HTTPS only, as the spec requires: over plain HTTP the node refuses every PACT call (400 on /auth/token, 403
AccessDenied on /2) unless the client is on loopback or `plain_http_credentials` says a proxy terminates TLS.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from common.app_keys import ENGINE_KEY
from common.database import DatabaseUnavailable
from common.errors import ProblemError, handles_own_errors, read_json
from common.logging import request_id
from node.callers import credentials_allowed
from node.keys import NODE_KEY, PACT_KEY, PACT_RESPONDER_KEY
from node.pact import (
    PactCode,
    PactError,
    PactService,
    get_footprint,
    list_footprints,
    parse_limit,
    receive_event,
)
from node.pact_clients import TokenRequestError, authenticate, check_token_request, issue_token
from node.pact_peers import load_peer_credentials, open_delivery_session
from node.pact_responder import PactResponder
from node.pact_store import PactStore
from node.settings import NodeSettings

CLIENT_CHALLENGE: Final = 'Basic realm="carbonid node PACT"'
EXPIRED_CHALLENGE: Final = (
    'Bearer realm="carbonid node PACT", error="invalid_token", error_description="expired"'
)
_HOST: Final = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = logging.getLogger(__name__)


def _pact_error(error: PactError) -> web.Response:
    headers = {"WWW-Authenticate": EXPIRED_CHALLENGE} if error.code is PactCode.TOKEN_EXPIRED else None
    return web.json_response(error.to_json(), status=error.code.status, headers=headers)


def _internal(request: web.Request, exc: Exception, message: str) -> web.Response:
    _log.error(
        "PACT request failed",
        exc_info=exc,
        extra={"request_id": request_id(request), "method": request.method, "path": request.path},
    )
    return _pact_error(PactError(PactCode.INTERNAL_ERROR, f"{message} (request {request_id(request)})"))


def pact_errors(handler: Handler) -> Handler:
    """Render whatever `handler` raises as a PACT error response."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except PactError as exc:
            return _pact_error(exc)
        except ProblemError as exc:
            return _pact_error(PactError(PactCode.BAD_REQUEST, exc.detail or str(exc.title)))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _pact_error(PactError(PactCode.BAD_REQUEST, f"{exc.status} {exc.reason}"))
        except DatabaseUnavailable as exc:
            return _internal(request, exc, "the database is unavailable; try again later")
        except Exception as exc:
            return _internal(request, exc, "an internal error occurred")

    return handles_own_errors(wrapped)


def oauth_errors(handler: Handler) -> Handler:
    """Render whatever the token endpoint raises as an OAuth 2.0 error response."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except TokenRequestError as exc:
            headers = {"WWW-Authenticate": CLIENT_CHALLENGE} if exc.status == 401 else None
            return web.json_response(exc.to_json(), status=exc.status, headers=headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            body = {"error": "invalid_request", "error_description": f"{exc.status} {exc.reason}"}
            return web.json_response(body, status=400)
        except Exception as exc:
            _log.error("PACT token request failed", exc_info=exc, extra={"request_id": request_id(request)})
            body = {"error": "server_error", "error_description": f"request {request_id(request)} failed"}
            return web.json_response(body, status=500)

    return handles_own_errors(wrapped)


def _https_only(request: web.Request) -> None:
    if not credentials_allowed(request, request.app[NODE_KEY]):
        raise PactError(PactCode.ACCESS_DENIED, "PACT actions are offered over HTTPS only")


@oauth_errors
async def post_token(request: web.Request) -> web.Response:
    """POST /auth/token: OAuth 2.0 client credentials (RFC 6749 section 4.4) for a bearer token."""
    if not credentials_allowed(request, request.app[NODE_KEY]):
        raise TokenRequestError(400, "invalid_request", "request tokens over HTTPS only")
    check_token_request(request.content_type, await request.read())
    grant = await issue_token(request.app[PACT_KEY], request.headers.get("Authorization"))
    return web.json_response(grant.to_json(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _next_link(request: web.Request, limit: int, cursor: str) -> str:
    """An absolute link with the host the client asked (the spec requires it), on the node's scheme and path."""
    base = urlsplit(request.app[PACT_KEY].settings.base_url())
    host = request.headers.get("Host", "")
    if not _HOST.fullmatch(host):
        host = base.netloc
    return f'<{base.scheme}://{host}{base.path.rstrip("/")}/2/footprints?limit={limit}&page={cursor}>; rel="next"'


@pact_errors
async def get_footprints(request: web.Request) -> web.Response:
    """GET /2/footprints?limit=N: the footprints shared with the client, `Link: <…>; rel="next"` while more remain.

    `$filter` is optional in v2.3 and not implemented: as the spec requires, such a request is answered as if it
    had none.
    """
    _https_only(request)
    pact = request.app[PACT_KEY]
    client = await authenticate(pact, request.headers.get("Authorization"))
    limit = parse_limit(request.query.get("limit"))
    page = await list_footprints(pact, client, limit=limit, cursor=request.query.get("page"))
    headers = {"Link": _next_link(request, limit, page.next_cursor)} if page.next_cursor else None
    return web.json_response({"data": page.footprints}, headers=headers)


@pact_errors
async def get_footprint_route(request: web.Request) -> web.Response:
    """GET /2/footprints/{id}: the latest version of one footprint."""
    _https_only(request)
    pact = request.app[PACT_KEY]
    client = await authenticate(pact, request.headers.get("Authorization"))
    return web.json_response({"data": await get_footprint(pact, client, request.match_info["id"])})


@pact_errors
async def post_events(request: web.Request) -> web.Response:
    """POST /2/events: a CloudEvent (structured mode); 200 with an empty body once accepted."""
    _https_only(request)
    pact = request.app[PACT_KEY]
    client = await authenticate(pact, request.headers.get("Authorization"))
    queued = await receive_event(pact, client, await read_json(request))
    if queued is not None:
        request.app[PACT_RESPONDER_KEY].wake()
    return web.Response(status=200)


def add_routes(app: web.Application) -> None:
    """Register the PACT routes."""
    app.router.add_post("/auth/token", post_token)
    app.router.add_get("/2/footprints", get_footprints)
    app.router.add_get("/2/footprints/{id}", get_footprint_route)
    app.router.add_post("/2/events", post_events)


def pact_context(settings: NodeSettings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context of the PACT API: its service, and the responder working in the background until
    shutdown (append after the node context: it uses the node's secret checker)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        path = settings.pact_peer_credentials
        peers = await asyncio.to_thread(load_peer_credentials, path) if path is not None else {}
        pact = PactService(settings, PactStore(app[ENGINE_KEY]), app[NODE_KEY].secrets, peers)
        session = open_delivery_session(settings.tls_client_ca)
        responder = PactResponder(pact, session)
        app[PACT_KEY] = pact
        app[PACT_RESPONDER_KEY] = responder
        task = asyncio.ensure_future(responder.run())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await session.close()

    return context
