"""The registry's HTTP handlers: parse the request, call one use-case, serialise the answer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from common.errors import read_json_object
from handle_registry.service import administration, applications, queries, views
from handle_registry.service.auth import optional_admin, require_admin
from handle_registry.service.core import Registry
from handle_registry.service.keys import REGISTRY_KEY
from handle_registry.service.queries import PrefixDetails

StatusChange = Callable[[Registry, str, str, Mapping[str, Any]], Awaitable[PrefixDetails]]


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def did_document(request: web.Request) -> web.Response:
    """The registry's DID document: the trust anchor resolvers pin."""
    registry = request.app[REGISTRY_KEY]
    return _json(registry.signer.did.to_json(), headers={"Cache-Control": "public, max-age=300"})


async def apply(request: web.Request) -> web.Response:
    """`POST /api/prefixes`: an enterprise's signed application."""
    body = await read_json_object(request)
    entry = await applications.apply_for_prefix(request.app[REGISTRY_KEY], body)
    accepted = views.application_accepted(entry)
    return _json(accepted, status=201, headers={"Location": accepted["href"]})


async def list_prefixes(request: web.Request) -> web.Response:
    """`GET /api/prefixes`: a filtered, paged listing."""
    admin = await optional_admin(request)
    query = request.query
    page = await queries.list_prefixes(
        request.app[REGISTRY_KEY],
        admin=admin is not None,
        status=query.get("status"),
        kind=query.get("kind"),
        region=query.get("region"),
        industry=query.get("industry"),
        page=query.get("page"),
        page_size=query.get("pageSize"),
    )
    return _json(views.prefix_page(page))


async def get_prefix(request: web.Request) -> web.Response:
    """`GET /api/prefixes/{prefix}`: status, history and current record."""
    admin = await optional_admin(request)
    details = await queries.prefix_details(
        request.app[REGISTRY_KEY], request.match_info["prefix"], admin=admin is not None
    )
    return _json(views.prefix_details(details, admin=admin is not None))


async def approve(request: web.Request) -> web.Response:
    """`POST /api/prefixes/{prefix}/approve`."""
    admin = await require_admin(request)
    details = await administration.approve_prefix(
        request.app[REGISTRY_KEY], request.match_info["prefix"], admin
    )
    return _json(views.prefix_details(details, admin=True))


def _status_change(use_case: StatusChange, path: str) -> Handler:
    """The handler of an administrator's status change that takes a reason (reject, suspend, reinstate)."""

    async def handler(request: web.Request) -> web.Response:
        admin = await require_admin(request)
        body = await read_json_object(request)
        details = await use_case(request.app[REGISTRY_KEY], request.match_info["prefix"], admin, body)
        return _json(views.prefix_details(details, admin=True))

    handler.__doc__ = f"`POST /api/prefixes/{{prefix}}/{path}` with a reason."
    return handler


reject = _status_change(administration.reject_prefix, "reject")
suspend = _status_change(administration.suspend_prefix, "suspend")
reinstate = _status_change(administration.reinstate_prefix, "reinstate")


async def change_keys(request: web.Request) -> web.Response:
    """`POST /api/prefixes/{prefix}/keys`: an enterprise's signed key change; answers the new record."""
    body = await read_json_object(request)
    record = await applications.change_keys(request.app[REGISTRY_KEY], request.match_info["prefix"], body)
    return _json(record)


async def delegate(request: web.Request) -> web.Response:
    """`POST /api/delegations`: hand a sub-prefix to another registry."""
    admin = await require_admin(request)
    body = await read_json_object(request)
    details = await administration.delegate_prefix(request.app[REGISTRY_KEY], body, admin)
    body_out = views.prefix_details(details, admin=True)
    return _json(body_out, status=201, headers={"Location": body_out["href"]})


async def list_templates(request: web.Request) -> web.Response:
    """`GET /api/templates`: every template version, without schemas."""
    templates = queries.list_templates(request.app[REGISTRY_KEY].catalog)
    return _json({"templates": [views.template_summary(template) for template in templates]})


async def get_template(request: web.Request) -> web.Response:
    """`GET /api/templates/{id}` (latest) and `/{id}/{version}`: one template with its schema."""
    template = queries.find_template(
        request.app[REGISTRY_KEY].catalog, request.match_info["id"], request.match_info.get("version")
    )
    return _json(template.describe())
