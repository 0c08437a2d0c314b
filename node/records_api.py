"""The node's own routes (problem+json errors): /api/records, grants, the publication log, the DID document."""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from aiohttp import web

from certs.did import Service
from common.errors import BadRequest, Forbidden, Unauthorized, read_json_object
from node.access import AuthenticationFailed, Caller
from node.callers import InsecureCredentials, identify
from node.context import NodeContext
from node.keys import NODE_KEY, NOTIFIER_KEY
from node.records import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    get_record,
    grant_access,
    grant_json,
    list_grants,
    list_records,
    list_versions,
    parse_publication,
    parse_record_handle,
    publish_record,
    record_href,
    revoke_access,
)

CHALLENGE: Final = 'Basic realm="carbonid node"'
DEFAULT_LOG_LIMIT: Final = 100
MAX_LOG_LIMIT: Final = 1000


def node_context(request: web.Request) -> NodeContext:
    """The node's context (settings, identity, store) for a request."""
    return request.app[NODE_KEY]


async def caller_of(request: web.Request) -> Caller:
    """Who is asking: the administrator, a peer prefix (client certificate), or anyone; 401/403 otherwise."""
    ctx = node_context(request)
    try:
        return await identify(request, ctx)
    except AuthenticationFailed:
        raise Unauthorized(
            f"wrong credentials; the administrator is {ctx.admin_user}",
            type="invalid-credentials",
            challenge=CHALLENGE,
        ) from None
    except InsecureCredentials:
        raise Forbidden(
            "credentials sent over plain HTTP from another host are ignored; use HTTPS",
            type="insecure-credentials",
        ) from None


async def require_admin(request: web.Request) -> str:
    """The administrator's name; 401 with a Basic challenge for anyone else."""
    caller = await caller_of(request)
    if caller.admin is None:
        raise Unauthorized(
            f"this needs the administrator's credentials: Basic {node_context(request).admin_user}",
            type="authentication-required",
            challenge=CHALLENGE,
        )
    return caller.admin


def query_integer(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """Query parameter `name` as an integer in low..high (`default` when absent); 400 otherwise."""
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadRequest(
            f"query parameter {name} must be an integer from {low} to {high}, got {text!r}",
            type="invalid-parameter",
            title="Invalid Parameter",
            parameter=name,
        )
    return value


def query_text(request: web.Request, name: str) -> str | None:
    """Query parameter `name` (None when absent or empty); 400 when it holds a control character."""
    text = request.query.get(name)
    if not text:
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise BadRequest(
            f"query parameter {name} contains a control character",
            type="invalid-parameter",
            title="Invalid Parameter",
            parameter=name,
        )
    return text


async def post_record(request: web.Request) -> web.Response:
    """POST /api/records: publish a document as a new version of a record (administrator)."""
    actor = await require_admin(request)
    publication = parse_publication(await read_json_object(request))
    published = await publish_record(node_context(request), publication, actor=actor)
    request.app[NOTIFIER_KEY].published(published.handle, published.version)
    return web.json_response(
        published.to_json(), status=201, headers={"Location": record_href(published.handle)}
    )


async def get_records(request: web.Request) -> web.Response:
    """GET /api/records: the records the caller may see, filtered by template and period."""
    caller = await caller_of(request)
    page = query_integer(request, "page", 0, 0, 2**31 - 1)
    page_size = query_integer(request, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    listing = await list_records(
        node_context(request),
        caller,
        template=query_text(request, "template"),
        period=query_text(request, "period"),
        page=page,
        page_size=page_size,
    )
    return web.json_response(listing.to_json())


async def get_record_route(request: web.Request) -> web.Response:
    """GET /api/records/{handle}: the latest signed document with its metadata."""
    caller = await caller_of(request)
    view = await get_record(node_context(request), parse_record_handle(request.match_info["handle"]), caller)
    return web.json_response(view.to_json())


async def get_versions(request: web.Request) -> web.Response:
    """GET /api/records/{handle}/versions: every version's metadata."""
    caller = await caller_of(request)
    handle = parse_record_handle(request.match_info["handle"])
    versions = await list_versions(node_context(request), handle, caller)
    return web.json_response({"handle": versions[0]["handle"], "versions": versions})


async def get_version(request: web.Request) -> web.Response:
    """GET /api/records/{handle}/versions/{version}: one version's signed document and metadata."""
    caller = await caller_of(request)
    handle = parse_record_handle(request.match_info["handle"])
    number = int(request.match_info["version"]) if len(request.match_info["version"]) <= 9 else 0
    view = await get_record(node_context(request), handle, caller, version=max(number, 0))
    return web.json_response(view.to_json())


async def get_grants(request: web.Request) -> web.Response:
    """GET /api/records/{handle}/grants: the grant history (administrator)."""
    await require_admin(request)
    handle = parse_record_handle(request.match_info["handle"])
    grants = await list_grants(node_context(request), handle)
    return web.json_response({"handle": handle.text, "grants": [grant_json(grant) for grant in grants]})


async def post_grant(request: web.Request) -> web.Response:
    """POST /api/records/{handle}/grants: let a peer prefix read the record (administrator)."""
    actor = await require_admin(request)
    handle = parse_record_handle(request.match_info["handle"])
    body = await read_json_object(request)
    granted = await grant_access(node_context(request), handle, body, actor=actor)
    # A resolver may now read what it could not: tell it, as for a publication.
    request.app[NOTIFIER_KEY].published(granted.handle, granted.version)
    return web.json_response(grant_json(granted.grant), status=201)


async def delete_grant(request: web.Request) -> web.Response:
    """DELETE /api/records/{handle}/grants/{prefix}: revoke a peer's grant (administrator)."""
    actor = await require_admin(request)
    handle = parse_record_handle(request.match_info["handle"])
    grant = await revoke_access(node_context(request), handle, request.match_info["prefix"], actor=actor)
    return web.json_response(grant_json(grant))


async def get_log(request: web.Request) -> web.Response:
    """GET /api/log?after=N&limit=M: entries after seq N, and the head."""
    after = query_integer(request, "after", 0, 0, 2**31 - 1)
    limit = query_integer(request, "limit", DEFAULT_LOG_LIMIT, 1, MAX_LOG_LIMIT)
    async with node_context(request).store.unit() as db:
        rows = await db.log_entries(after=after, limit=limit)
        seq, head_hash = await db.log_head()
    entries = []
    for entry, handle in rows:
        document = entry.to_json()
        if handle is not None:
            document["handle"] = handle
        entries.append(document)
    return web.json_response({"entries": entries, "head": {"seq": seq, "hash": head_hash}})


async def get_did(request: web.Request) -> web.Response:
    """GET /.well-known/did.json: the node's did:web document (its keys), with its Handle API as a service."""
    ctx = node_context(request)
    did = ctx.identity.did
    service = Service(
        id=f"{did.id}#handle-api", type="HandleRestApi", endpoint=f"{ctx.settings.base_url()}/api/handles"
    )
    return web.json_response(replace(did, services=(*did.services, service)).to_json())


def add_routes(app: web.Application) -> None:
    """Register the records, log and DID routes (the specific record routes before the catch-all)."""
    router = app.router
    router.add_get("/.well-known/did.json", get_did)
    router.add_get("/api/log", get_log)
    router.add_post("/api/records", post_record)
    router.add_get("/api/records", get_records)
    router.add_get(r"/api/records/{handle:.+}/versions/{version:\d+}", get_version)
    router.add_get("/api/records/{handle:.+}/versions", get_versions)
    router.add_delete("/api/records/{handle:.+}/grants/{prefix}", delete_grant)
    router.add_get("/api/records/{handle:.+}/grants", get_grants)
    router.add_post("/api/records/{handle:.+}/grants", post_grant)
    router.add_get("/api/records/{handle:.+}", get_record_route)
