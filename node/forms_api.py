"""The routes of product carbon forms (problem+json errors): /api/forms, the review steps, received forms.

Authentication: the administrator's Basic credentials (as for /api/records) or a reviewer's, user
`reviewer:<name>` (`node.reviewers`). Both read forms; each takes only its own steps (403 otherwise).
Received forms are the administrator's alone.

Listings take a filter (`node.form_filters`) as `filter=` (URL-encoded JSON) on GET, or as the `filter`
member of a POST …/search body, together with the manual's simple filters `q` (handle, name or model
contains), `state` and `tag`, all joined by AND; `format=csv` exports every match (not one page) as
RFC 4180 CSV: UTF-8 with a byte-order mark (Excel reads Chinese correctly then), CRLF line ends, the
listing's members as columns, lists joined by "; ", and a text cell that starts with = + - @ or a tab
prefixed with ' so that a spreadsheet shows it instead of evaluating it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiohttp import web

from common.errors import BadRequest, Forbidden, Unauthorized, read_json_object
from node.access import AuthenticationFailed
from node.callers import credentials_allowed
from node.form_filters import (
    FORM_FIELDS,
    MATCH_ALL,
    RECEIVED_FIELDS,
    InvalidFilter,
    Kind,
    Node,
    all_of,
    parse_filter,
    parse_filter_text,
)
from node.form_views import export_forms, form_history, form_href, get_form, list_forms, parse_form_handle
from node.forms import (
    ADMIN,
    REVIEWER,
    Party,
    copy_form,
    create_form,
    edit_form,
    publish_form,
    review_form,
    send_form,
    set_form_tags,
    submit_form,
)
from node.forms_received import add_received, export_received, list_received, remove_received
from node.forms_schema import STATES
from node.keys import NOTIFIER_KEY
from node.records import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, grant_json
from node.records_api import CHALLENGE, caller_of, node_context, query_integer, query_text, require_admin
from node.reviewers import authenticate_reviewer, reviewer_credentials

FORMATS: Final = ("json", "csv")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


async def _party(request: web.Request) -> Party:
    """The administrator or a reviewer; 401 for anyone else."""
    ctx = node_context(request)
    reviewer = reviewer_credentials(request.headers.get("Authorization"))
    if reviewer is not None:
        if not credentials_allowed(request, ctx):
            raise Forbidden(
                "credentials sent over plain HTTP from another host are ignored; use HTTPS",
                type="insecure-credentials",
            )
        try:
            return Party(f"reviewer:{await authenticate_reviewer(ctx, reviewer)}", REVIEWER)
        except AuthenticationFailed:
            raise Unauthorized(
                "wrong reviewer credentials", type="invalid-credentials", challenge=CHALLENGE
            ) from None
    caller = await caller_of(request)
    if caller.admin is None:
        raise Unauthorized(
            f"this needs the administrator's credentials (Basic {ctx.admin_user}) or a reviewer's "
            "(Basic reviewer:<name>)",
            type="authentication-required",
            challenge=CHALLENGE,
        )
    return Party(caller.admin, ADMIN)


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object of a request whose body is optional ({} without one)."""
    return await read_json_object(request) if request.body_exists else {}


def _filter_problem(exc: InvalidFilter, parameter: str) -> BadRequest:
    return BadRequest(
        f"filter {exc}",
        type="invalid-filter",
        title="Invalid Filter",
        pointer=exc.pointer,
        parameter=parameter,
    )


def _simple_filters(request: web.Request) -> Node:
    """The manual's simple filters: q (handle, name or model contains), state, tag."""
    parts: list[Any] = []
    q = query_text(request, "q")
    if q is not None:
        parts.append(
            {"or": [{"field": f, "op": "contains", "value": q} for f in ("handle", "name", "model")]}
        )
    state = query_text(request, "state")
    if state is not None:
        if state not in STATES:
            raise BadRequest(
                f"query parameter state must be one of {', '.join(STATES)}, got {state!r}",
                type="invalid-parameter",
                title="Invalid Parameter",
                parameter="state",
            )
        parts.append({"field": "state", "op": "equals", "value": state})
    tag = query_text(request, "tag")
    if tag is not None:
        parts.append({"field": "tags", "op": "equals", "value": tag})
    try:
        return parse_filter({"and": parts}, FORM_FIELDS)
    except InvalidFilter as exc:
        raise _filter_problem(exc, "q") from None


def _query_filter(request: web.Request, fields: Mapping[str, Kind]) -> Node:
    text = request.query.get("filter")
    if not text:
        return MATCH_ALL
    try:
        return parse_filter_text(text, fields)
    except InvalidFilter as exc:
        raise _filter_problem(exc, "filter") from None


def _format(request: web.Request) -> str:
    value = request.query.get("format", "json")
    if value not in FORMATS:
        raise BadRequest(
            f"query parameter format must be json or csv, got {value!r}",
            type="invalid-parameter",
            title="Invalid Parameter",
            parameter="format",
        )
    return value


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_START) else text


def csv_response(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], filename: str) -> web.Response:
    """RFC 4180 CSV of `rows` (header line first), UTF-8 with a BOM, as an attachment."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(row[column]) for column in columns] for row in rows)
    return web.Response(
        body=("\ufeff" + buffer.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _listing(request: web.Request, node: Node, page: int, page_size: int) -> web.Response:
    ctx = node_context(request)
    if _format(request) == "csv":
        return csv_response(await export_forms(ctx, node), list(FORM_FIELDS), "forms.csv")
    return web.json_response(await list_forms(ctx, node, page=page, page_size=page_size))


async def get_forms(request: web.Request) -> web.Response:
    """GET /api/forms?filter=&q=&state=&tag=&page=&pageSize=&format=: the node's forms."""
    await _party(request)
    node = all_of(_simple_filters(request), _query_filter(request, FORM_FIELDS))
    page = query_integer(request, "page", 0, 0, 2**31 - 1)
    page_size = query_integer(request, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return await _listing(request, node, page, page_size)


async def post_search(request: web.Request) -> web.Response:
    """POST /api/forms/search {filter, page, pageSize}: the same listing, the filter in the body."""
    await _party(request)
    body = await read_json_object(request)
    unknown = sorted(set(body) - {"filter", "page", "pageSize"})
    if unknown:
        raise BadRequest(
            f"unknown member {unknown[0]!r}; expected filter, page, pageSize", type="invalid-search"
        )
    try:
        node = parse_filter(body.get("filter", {"and": []}), FORM_FIELDS)
    except InvalidFilter as exc:
        raise _filter_problem(exc, "filter") from None
    paging = []
    for name, default, low, high in (
        ("page", 0, 0, 2**31 - 1),
        ("pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    ):
        value = body.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadRequest(f"{name} must be an integer from {low} to {high}", type="invalid-search")
        paging.append(value)
    return await _listing(request, all_of(_simple_filters(request), node), paging[0], paging[1])


async def post_form(request: web.Request) -> web.Response:
    """POST /api/forms {document}: a new draft (administrator)."""
    party = await _party(request)
    form = await create_form(node_context(request), await read_json_object(request), party)
    return web.json_response(form, status=201, headers={"Location": form_href(form["handle"])})


async def get_form_route(request: web.Request) -> web.Response:
    """GET /api/forms/{handle}: the form, its document and computed footprint."""
    await _party(request)
    return web.json_response(
        await get_form(node_context(request), parse_form_handle(request.match_info["handle"]))
    )


async def put_form(request: web.Request) -> web.Response:
    """PUT /api/forms/{handle} {document}: replace a draft's (or a rejected form's) document."""
    party = await _party(request)
    handle = parse_form_handle(request.match_info["handle"])
    return web.json_response(
        await edit_form(node_context(request), handle, await read_json_object(request), party)
    )


async def get_history(request: web.Request) -> web.Response:
    """GET /api/forms/{handle}/history: every transition, oldest first."""
    await _party(request)
    return web.json_response(
        await form_history(node_context(request), parse_form_handle(request.match_info["handle"]))
    )


async def post_submit(request: web.Request) -> web.Response:
    """POST /api/forms/{handle}/submit: lock a draft for review (administrator)."""
    party = await _party(request)
    handle = parse_form_handle(request.match_info["handle"])
    return web.json_response(await submit_form(node_context(request), handle, party))


async def post_approve(request: web.Request) -> web.Response:
    """POST /api/forms/{handle}/approve {reason?}: approve a submitted form (reviewer)."""
    party = await _party(request)
    handle = parse_form_handle(request.match_info["handle"])
    return web.json_response(
        await review_form(node_context(request), handle, await _body(request), party, approve=True)
    )


async def post_reject(request: web.Request) -> web.Response:
    """POST /api/forms/{handle}/reject {reason}: reject a submitted form, saying why (reviewer)."""
    party = await _party(request)
    handle = parse_form_handle(request.match_info["handle"])
    return web.json_response(
        await review_form(node_context(request), handle, await _body(request), party, approve=False)
    )


async def post_publish(request: web.Request) -> web.Response:
    """POST /api/forms/{handle}/publish: sign an approved form as a record (administrator)."""
    party = await _party(request)
    handle = parse_form_handle(request.match_info["handle"])
    published = await publish_form(node_context(request), handle, party)
    request.app[NOTIFIER_KEY].published(published.handle, published.version)
    return web.json_response(published.form)


async def post_copy(request: web.Request) -> web.Response:
    """POST /api/forms/{handle}/copy: a new draft with this form's document (administrator)."""
    party = await _party(request)
    form = await copy_form(node_context(request), parse_form_handle(request.match_info["handle"]), party)
    return web.json_response(form, status=201, headers={"Location": form_href(form["handle"])})


async def post_send(request: web.Request) -> web.Response:
    """POST /api/forms/{handle}/send {prefix, partCode}: grant a customer a published form (administrator)."""
    party = await _party(request)
    handle = parse_form_handle(request.match_info["handle"])
    granted = await send_form(node_context(request), handle, await read_json_object(request), party)
    request.app[NOTIFIER_KEY].published(granted.handle, granted.version)
    return web.json_response(grant_json(granted.grant), status=201)


async def put_tags(request: web.Request) -> web.Response:
    """PUT /api/forms/{handle}/tags {tags}: the form's classification tags (administrator)."""
    party = await _party(request)
    handle = parse_form_handle(request.match_info["handle"])
    return web.json_response(
        await set_form_tags(node_context(request), handle, await read_json_object(request), party)
    )


async def get_received(request: web.Request) -> web.Response:
    """GET /api/forms/received?filter=&page=&pageSize=&format=: forms suppliers sent (administrator)."""
    await require_admin(request)
    node = _query_filter(request, RECEIVED_FIELDS)
    ctx = node_context(request)
    if _format(request) == "csv":
        return csv_response(await export_received(ctx, node), list(RECEIVED_FIELDS), "received-forms.csv")
    page = query_integer(request, "page", 0, 0, 2**31 - 1)
    page_size = query_integer(request, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return web.json_response(await list_received(ctx, node, page=page, page_size=page_size))


async def post_received(request: web.Request) -> web.Response:
    """POST /api/forms/received {handle, partCode?, note?}: record a form a supplier sent (administrator)."""
    actor = await require_admin(request)
    received = await add_received(node_context(request), await read_json_object(request), actor=actor)
    return web.json_response(received, status=201)


async def delete_received(request: web.Request) -> web.Response:
    """DELETE /api/forms/received/{handle}: forget a received form (administrator)."""
    await require_admin(request)
    await remove_received(node_context(request), request.match_info["handle"])
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """Register the form routes (the fixed and the per-form ones before the catch-all form route)."""
    router = app.router
    router.add_get("/api/forms", get_forms)
    router.add_post("/api/forms", post_form)
    router.add_post("/api/forms/search", post_search)
    router.add_get("/api/forms/received", get_received)
    router.add_post("/api/forms/received", post_received)
    router.add_delete("/api/forms/received/{handle:.+}", delete_received)
    router.add_get("/api/forms/{handle:.+}/history", get_history)
    router.add_post("/api/forms/{handle:.+}/submit", post_submit)
    router.add_post("/api/forms/{handle:.+}/approve", post_approve)
    router.add_post("/api/forms/{handle:.+}/reject", post_reject)
    router.add_post("/api/forms/{handle:.+}/publish", post_publish)
    router.add_post("/api/forms/{handle:.+}/copy", post_copy)
    router.add_post("/api/forms/{handle:.+}/send", post_send)
    router.add_put("/api/forms/{handle:.+}/tags", put_tags)
    router.add_get("/api/forms/{handle:.+}", get_form_route)
    router.add_put("/api/forms/{handle:.+}", put_form)
