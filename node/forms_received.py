"""Forms received from suppliers (CICES 收到的表单), as the customer's node lists them.

A supplier "sends" a form by granting the customer's prefix read access to its record, with the
customer's part code (`node.forms.send_form`). Nothing tells the customer's node of that grant: nodes
do not push to one another. So the customer's administrator records what a supplier says it sent
(`POST /api/forms/received {handle, partCode, note}`), and this list is that declaration, no more: the
node does not fetch or verify the supplier's record here. Whoever uses the figure (the roll-up) resolves
the handle through the federation with the node's own certificate and verifies it then, and a form not
granted, expired or gone is caught there.

A signed notification from the supplier's node would need this node to verify the supplier's keys
against the registry, which the node does not do today; recording by hand is the smaller honest design.
"""

from __future__ import annotations

from typing import Any, Final

from common.errors import Conflict, NotFound
from handle_registry.identifiers import Handle, InvalidHandle
from node.context import NodeContext, now_text
from node.form_documents import InvalidForm
from node.form_filters import Node
from node.forms_repository import AlreadyStored, ReceivedRow, forms_unit

MAX_PART_CODE: Final = 200
MAX_NOTE: Final = 500
MAX_EXPORT: Final = 10_000


class ReceivedExists(Conflict):
    """The form is recorded as received already."""

    type = "received-exists"
    title = "Received Form Exists"


class ReceivedNotFound(NotFound):
    """No received form with that handle."""

    type = "received-not-found"
    title = "Received Form Not Found"


def received_json(row: ReceivedRow) -> dict[str, Any]:
    """A received form as listed (its members are the filter fields and the CSV columns)."""
    return {
        "handle": row.handle,
        "supplier": row.supplier,
        "partCode": row.part_code,
        "note": row.note,
        "receivedAt": row.received_at,
        "receivedBy": row.received_by,
    }


def _text(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) > limit
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        raise InvalidForm(
            [(f"/{name}", f"a string of at most {limit} characters without control characters")]
        )
    return value.strip() or None


async def add_received(ctx: NodeContext, body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Record that a supplier sent this node the form `handle`, under the part code `partCode`."""
    unknown = sorted(set(body) - {"handle", "partCode", "note"})
    if unknown:
        raise InvalidForm([(f"/{unknown[0]}", "unknown member; expected handle, partCode, note")])
    text = body.get("handle")
    try:
        handle = Handle(text) if isinstance(text, str) else None
    except InvalidHandle as exc:
        raise InvalidForm([("/handle", str(exc))]) from None
    if handle is None:
        raise InvalidForm([("/handle", "required: the supplier form's handle, e.g. 88.186.7/PF.3")])
    if handle.prefix == ctx.prefix or handle.prefix.is_na:
        raise InvalidForm(
            [("/handle", f"{handle.text} is not a supplier's form: it is not under another prefix")]
        )
    row = ReceivedRow(
        handle_key=handle.key,
        handle=handle.text,
        supplier=handle.prefix.text,
        part_code=_text(body, "partCode", MAX_PART_CODE),
        note=_text(body, "note", MAX_NOTE),
        received_at=now_text(),
        received_by=actor,
    )
    try:
        async with forms_unit(ctx.store, write=True) as db:
            await db.insert_received(row)
    except AlreadyStored:
        raise ReceivedExists(f"{handle.text} is recorded as received already") from None
    return received_json(row)


async def remove_received(ctx: NodeContext, text: str) -> None:
    """Forget a received form."""
    try:
        key = Handle(text).key
    except InvalidHandle:
        raise ReceivedNotFound(f"{text!r} is not a handle") from None
    async with forms_unit(ctx.store, write=True) as db:
        if not await db.delete_received(key):
            raise ReceivedNotFound(f"{text} is not recorded as received")


async def list_received(ctx: NodeContext, node: Node, *, page: int, page_size: int) -> dict[str, Any]:
    """One page of the received forms matching a filter, most recent first."""
    async with forms_unit(ctx.store) as db:
        total, rows = await db.list_received(node, offset=page * page_size, limit=page_size)
    return {
        "totalCount": total,
        "page": page,
        "pageSize": page_size,
        "received": [received_json(r) for r in rows],
    }


async def export_received(ctx: NodeContext, node: Node) -> list[dict[str, Any]]:
    """Every received form matching a filter, at most `MAX_EXPORT`."""
    async with forms_unit(ctx.store) as db:
        total, rows = await db.list_received(node, offset=0, limit=MAX_EXPORT + 1)
    if total > MAX_EXPORT:
        raise InvalidForm(
            [("/filter", f"{total} forms match; an export holds at most {MAX_EXPORT}: narrow the filter")]
        )
    return [received_json(row) for row in rows]
