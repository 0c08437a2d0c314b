"""Reading product carbon forms: one form with its footprint, its history, and filtered listings.

A listing item is flat, and its members are exactly the filter fields of `node.form_filters.FORM_FIELDS`
(plus `href`), so that a filter names what the list shows and the CSV export has the same columns.
"""

from __future__ import annotations

import json
from typing import Any, Final

from common.errors import NotFound
from handle_registry.identifiers import Handle, InvalidHandle
from node.context import NodeContext
from node.form_documents import Computation, InvalidForm
from node.form_filters import Node
from node.forms_repository import FormRow, FormSession, HistoryRow, ListedForm, forms_unit
from node.forms_schema import STATES
from node.records import record_href

DRAFT, SUBMITTED, APPROVED, REJECTED, PUBLISHED = STATES
MAX_EXPORT: Final = 10_000


class FormNotFound(NotFound):
    """No form with that handle on this node."""

    type = "form-not-found"
    title = "Form Not Found"

    def __init__(self, handle: str) -> None:
        super().__init__(f"no product form {handle} on this node")


def parse_form_handle(text: str) -> Handle:
    """A handle from a /api/forms path; anything unparseable is a form that is not here."""
    try:
        return Handle(text)
    except InvalidHandle:
        raise FormNotFound(text) from None


async def load_form(db: FormSession, handle: Handle, *, lock: bool = False) -> FormRow:
    """The form, or `FormNotFound`."""
    form = await db.get_form(handle.key, lock=lock)
    if form is None:
        raise FormNotFound(handle.text)
    return form


def form_href(handle: str) -> str:
    """Where a form is read."""
    return f"/api/forms/{handle}"


def item_json(listed: ListedForm) -> dict[str, Any]:
    """A form as a listing shows it: flat, its members the filter fields (and the CSV columns), and href."""
    f = listed.form
    return {
        "handle": f.handle,
        "state": f.state,
        "name": f.name,
        "model": f.model,
        "productType": f.product_type,
        "public": f.public,
        "tags": list(listed.tags),
        "periodStart": f.period_start,
        "periodEnd": f.period_end,
        "functionalUnit": f.functional_unit,
        "emissionFactor": f.emission_factor,
        "emissionFactorUnit": f.emission_factor_unit,
        "validUntil": f.valid_until,
        "partCodes": list(listed.part_codes),
        "customers": list(listed.customers),
        "publishedVersion": f.published_version,
        "createdAt": f.created_at,
        "updatedAt": f.updated_at,
        "href": form_href(f.handle),
    }


def history_json(entry: HistoryRow) -> dict[str, Any]:
    """One transition as the history route shows it."""
    return {
        "at": entry.at,
        "actor": entry.actor,
        "role": entry.role,
        "from": entry.from_state,
        "to": entry.to_state,
        "reason": entry.reason,
    }


async def detail(db: FormSession, form: FormRow) -> dict[str, Any]:
    """A form as GET /api/forms/{handle} shows it: the listing's members, the document, the computed
    footprint (or why it did not compute), the rejection being answered, the published record."""
    grants = [grant for grant in await db.node.list_grants(form.handle_key) if grant.revoked_at is None]
    listed = ListedForm(
        form,
        await db.tags(form.handle_key),
        tuple(grant.part_code for grant in grants if grant.part_code),
        tuple(grant.prefix for grant in grants),
    )
    computation = Computation.from_json(json.loads(form.computation))
    history = await db.history(form.handle_key)
    # The rejection being answered: the last one, unless the form was submitted again since.
    rejection = next((entry for entry in reversed(history) if entry.to_state in (REJECTED, SUBMITTED)), None)
    body = item_json(listed)
    body["document"] = json.loads(form.document)
    body["footprint"] = computation.footprint
    body["footprintErrors"] = (
        [{"pointer": p, "message": m} for p, m in computation.errors] if computation.errors else None
    )
    body["rejection"] = (
        {"reason": rejection.reason, "by": rejection.actor, "at": rejection.at}
        if rejection is not None and rejection.to_state == REJECTED and form.state in (REJECTED, DRAFT)
        else None
    )
    body["record"] = (
        {"handle": form.handle, "version": form.published_version, "href": record_href(form.handle)}
        if form.published_version is not None
        else None
    )
    return body


async def get_form(ctx: NodeContext, handle: Handle) -> dict[str, Any]:
    """A form with its document, computed footprint, open rejection and published record."""
    async with forms_unit(ctx.store) as db:
        return await detail(db, await load_form(db, handle))


async def form_history(ctx: NodeContext, handle: Handle) -> dict[str, Any]:
    """Every transition of a form, oldest first."""
    async with forms_unit(ctx.store) as db:
        form = await load_form(db, handle)
        history = await db.history(form.handle_key)
    return {"handle": form.handle, "history": [history_json(entry) for entry in history]}


async def list_forms(ctx: NodeContext, node: Node, *, page: int, page_size: int) -> dict[str, Any]:
    """One page of the forms matching a filter, most recently changed first."""
    async with forms_unit(ctx.store) as db:
        total, rows = await db.list_forms(node, offset=page * page_size, limit=page_size)
    return {
        "totalCount": total,
        "page": page,
        "pageSize": page_size,
        "forms": [item_json(row) for row in rows],
    }


async def export_forms(ctx: NodeContext, node: Node) -> list[dict[str, Any]]:
    """Every form matching a filter (CICES 导出当前列表), at most `MAX_EXPORT`."""
    async with forms_unit(ctx.store) as db:
        total, rows = await db.list_forms(node, offset=0, limit=MAX_EXPORT + 1)
    if total > MAX_EXPORT:
        raise InvalidForm(
            [("/filter", f"{total} forms match; an export holds at most {MAX_EXPORT}: narrow the filter")]
        )
    return [item_json(row) for row in rows]
