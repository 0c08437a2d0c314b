"""Product carbon forms (CICES 产品碳排放数据通用表单) and their review: the use-cases.

    draft ──submit──▶ submitted ──approve──▶ approved ──publish──▶ published (a signed record version)
      ▲                   │
      └──edit── rejected ◀┘ reject (with a reason)

- The administrator creates, edits (PUT replaces the draft's document), submits, publishes, copies, tags
  and sends forms; a reviewer (`node.reviewers`) approves or rejects submitted ones. Neither can take
  the other's step (403); a step the form's state does not allow is 409, naming the state.
- The node assigns each form its handle, `<prefix>/PF.<n>`, and claims it at once in the node's handle
  table, so the Handle API cannot take it and publication later fills it in.
- The factor is computed from the inventory at every save (shown, best effort) and, binding, at
  submission: that figure is what the reviewer approves and what publication writes into the document
  before it is signed, through the node's ordinary publication path (`node.records.publish_record`).
- Every transition is appended to the form's history (who, role, when, from, to, reason); edits within a
  draft are not transitions.
- Sending a published form to a customer is a grant of the record to the customer's prefix, with the
  customer's part code (甲方编码), exactly as `POST /api/records/{handle}/grants` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

from common.errors import Conflict, Forbidden
from handle_registry.identifiers import Handle
from node.context import NodeContext, now_text
from node.form_documents import (
    NO_PROFILE,
    TEMPLATE,
    Computation,
    InvalidForm,
    compute,
    draft_document,
    dumps,
    publication_document,
    summary,
)
from node.form_views import detail, load_form
from node.forms_repository import AlreadyStored, FormRow, FormSession, HistoryRow, forms_unit
from node.forms_schema import STATES
from node.records import Granted, Publication, grant_access, publish_record
from node.repository import RECORD, HandleTaken, ReadScope

DRAFT, SUBMITTED, APPROVED, REJECTED, PUBLISHED = STATES
ADMIN: Final = "admin"
REVIEWER: Final = "reviewer"
DUTIES: Final = (
    "the administrator drafts, edits, submits, publishes and sends forms; a reviewer approves or rejects them"
)
SUFFIX: Final = "PF"
MAX_REASON: Final = 2000
MAX_TAGS: Final = 20
MAX_TAG: Final = 50
CREATE_ATTEMPTS: Final = 8
_LOCKED: Final = {
    DRAFT: "a draft: submit it first",
    SUBMITTED: "submitted: it is locked while a reviewer examines it",
    APPROVED: "approved: publish it, or copy it to start a new form",
    REJECTED: "rejected: edit it, then submit it again",
    PUBLISHED: "published: published forms are final; copy it to start a new form",
}


@dataclass(frozen=True, slots=True)
class Party:
    """Who acts: the authenticated identity and its role (admin or reviewer)."""

    actor: str
    role: str


@dataclass(frozen=True, slots=True)
class Step:
    """What a party does to a form: the states it applies to, the state it leads to, whose step it is."""

    name: str
    done: str
    sources: tuple[str, ...]
    target: str | None
    """None for steps that leave the state as it is."""
    role: str


CREATE = Step("create", "created", (), DRAFT, ADMIN)
EDIT = Step("edit", "edited", (DRAFT, REJECTED), DRAFT, ADMIN)
SUBMIT = Step("submit", "submitted", (DRAFT,), SUBMITTED, ADMIN)
APPROVE = Step("approve", "approved", (SUBMITTED,), APPROVED, REVIEWER)
REJECT = Step("reject", "rejected", (SUBMITTED,), REJECTED, REVIEWER)
PUBLISH = Step("publish", "published", (APPROVED,), PUBLISHED, ADMIN)
SEND = Step("send", "sent", (PUBLISHED,), None, ADMIN)
TAG = Step("tag", "tagged", STATES, None, ADMIN)


class InvalidTransition(Conflict):
    """The form's state does not allow the step."""

    type = "invalid-transition"
    title = "Invalid Transition"


class WrongRole(Forbidden):
    """The step belongs to the other role."""

    type = "wrong-role"
    title = "Wrong Role"


class NoEnterpriseProfile(Conflict):
    """The factor needs the enterprise's region, which only its published profile gives."""

    type = "no-enterprise-profile"
    title = "No Enterprise Profile"


class RecordExists(Conflict):
    """The form's handle already holds a record published outside the form workflow."""

    type = "record-exists"
    title = "Record Exists"


def _require(party: Party, step: Step) -> None:
    if party.role != step.role:
        raise WrongRole(f"{step.name} is the {step.role}'s step ({DUTIES}); you are {party.actor}")


def _check(form: FormRow, step: Step) -> None:
    if form.state not in step.sources:
        raise InvalidTransition(
            f"cannot {step.name} {form.handle}: it is {_LOCKED[form.state]}; only forms that are "
            f"{' or '.join(step.sources)} can be {step.done}",
            state=form.state,
            step=step.name,
        )


async def _region(db: FormSession) -> str | None:
    """The region of the node's latest enterprise profile, if it published one."""
    _, rows = await db.node.list_records(
        ReadScope(admin=True), template="enterprise-profile", period=None, offset=0, limit=1
    )
    region = json.loads(rows[0][1].document).get("region") if rows else None
    return region if isinstance(region, str) else None


def _today(at: str) -> date:
    return date.fromisoformat(at[:10])


def _with_document(
    form: FormRow, document: dict[str, Any], computation: Computation, state: str, at: str
) -> FormRow:
    s = summary(document)
    factor = computation.factor or {}
    return replace(
        form,
        state=state,
        document=dumps(document),
        name=s.name,
        model=s.model,
        product_type=s.product_type,
        public=s.public,
        functional_unit=s.functional_unit,
        period_start=s.period_start,
        period_end=s.period_end,
        valid_until=s.valid_until,
        emission_factor=factor.get("value"),
        emission_factor_unit=factor.get("unit"),
        computation=dumps(computation.to_json()),
        updated_at=at,
    )


async def _transition(
    db: FormSession, form: FormRow, updated: FormRow, party: Party, reason: str | None
) -> None:
    await db.update_form(updated)
    if updated.state != form.state:
        entry = HistoryRow(updated.updated_at, party.actor, party.role, form.state, updated.state, reason)
        await db.append_history(form.handle_key, entry)


# --------------------------------------------------------------------------------------------------------------
# Creating and editing


async def create_form(ctx: NodeContext, body: dict[str, Any], party: Party) -> dict[str, Any]:
    """A new draft from `{"document": {...}}`; its handle is the next `<prefix>/PF.<n>`."""
    _require(party, CREATE)
    return await _new_form(ctx, draft_document(ctx.catalog.resolve(TEMPLATE), body, None), party, None)


async def copy_form(ctx: NodeContext, handle: Handle, party: Party) -> dict[str, Any]:
    """A new draft with another form's document (CICES 复制), without what the node writes."""
    _require(party, CREATE)
    async with forms_unit(ctx.store) as db:
        form = await load_form(db, handle)
    document = json.loads(form.document)
    dropped = ["handle", "version", "validUntil"]
    if document["emissionFactorSource"]["kind"] != "literature":
        dropped.append("emissionFactor")
    copied = {key: value for key, value in document.items() if key not in dropped}
    return await _new_form(ctx, copied, party, f"copied from {form.handle}")


async def _new_form(
    ctx: NodeContext, document: dict[str, Any], party: Party, reason: str | None
) -> dict[str, Any]:
    for attempt in range(CREATE_ATTEMPTS):
        at = now_text()
        try:
            async with forms_unit(ctx.store, write=True) as db:
                number = await db.last_number() + 1
                while await db.node.get_handle(ctx.prefix.handle(f"{SUFFIX}.{number}").key) is not None:
                    number += 1  # taken through the Handle API or by a record published directly
                handle = ctx.prefix.handle(f"{SUFFIX}.{number}")
                named = {**document, "handle": handle.text}
                computation = compute(named, await _region(db), as_of=_today(at))
                await db.node.insert_handle(handle.key, handle.text, RECORD, at)
                blank = FormRow(
                    handle.key, handle.text, number, DRAFT, "", "", None, "", False, "", "", "", None, None,
                    None, "", None, at, party.actor, at,
                )  # fmt: skip
                form = _with_document(blank, named, computation, DRAFT, at)
                await db.insert_form(form)
                await db.set_tags(handle.key, summary(named).tags or ())
                await db.append_history(
                    handle.key, HistoryRow(at, party.actor, party.role, None, DRAFT, reason)
                )
                return await detail(db, form)
        except (AlreadyStored, HandleTaken):
            # Another form took the number between reading and writing (PostgreSQL): draw the next.
            if attempt == CREATE_ATTEMPTS - 1:
                raise Conflict("the node is busy assigning form handles; try again", type="busy") from None
    raise AssertionError("unreachable")  # pragma: no cover


async def edit_form(ctx: NodeContext, handle: Handle, body: dict[str, Any], party: Party) -> dict[str, Any]:
    """Replace the document of a draft, or of a rejected form (which becomes a draft again)."""
    _require(party, EDIT)
    document = draft_document(ctx.catalog.resolve(TEMPLATE), body, handle)
    at = now_text()
    async with forms_unit(ctx.store, write=True) as db:
        form = await load_form(db, handle, lock=True)
        _check(form, EDIT)
        named = {**document, "handle": form.handle}
        computation = compute(named, await _region(db), as_of=_today(at))
        updated = _with_document(form, named, computation, DRAFT, at)
        await _transition(db, form, updated, party, None)
        tags = summary(named).tags
        if tags is not None:
            await db.set_tags(form.handle_key, tags)
        return await detail(db, updated)


async def set_form_tags(
    ctx: NodeContext, handle: Handle, body: dict[str, Any], party: Party
) -> dict[str, Any]:
    """Set the node's classification tags of a form (CICES 添加分类标签), in any state; the signed document's
    `tags` stay as they were approved."""
    _require(party, TAG)
    tags = body.get("tags")
    if set(body) != {"tags"} or not isinstance(tags, list):
        raise InvalidForm([("/tags", 'required: the body is {"tags": [...]}, a list of strings')])
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or not 1 <= len(tag) <= MAX_TAG or tags.index(tag) != index:
            raise InvalidForm([(f"/tags/{index}", f"tags are distinct strings of 1 to {MAX_TAG} characters")])
    if len(tags) > MAX_TAGS:
        raise InvalidForm([("/tags", f"at most {MAX_TAGS} tags")])
    async with forms_unit(ctx.store, write=True) as db:
        form = await load_form(db, handle, lock=True)
        updated = replace(form, updated_at=now_text())
        await db.update_form(updated)
        await db.set_tags(form.handle_key, tags)
        return await detail(db, updated)


# --------------------------------------------------------------------------------------------------------------
# Review and publication


async def submit_form(ctx: NodeContext, handle: Handle, party: Party) -> dict[str, Any]:
    """Lock a draft for review; its factor must compute, and that figure is the one reviewed and published."""
    _require(party, SUBMIT)
    at = now_text()
    async with forms_unit(ctx.store, write=True) as db:
        form = await load_form(db, handle, lock=True)
        _check(form, SUBMIT)
        region = await _region(db)
        if region is None:
            raise NoEnterpriseProfile(NO_PROFILE)
        document = json.loads(form.document)
        computation = compute(document, region, as_of=_today(at))
        if computation.errors:
            raise InvalidForm(computation.errors)
        updated = _with_document(form, document, computation, SUBMITTED, at)
        await _transition(db, form, updated, party, None)
        return await detail(db, updated)


async def review_form(
    ctx: NodeContext, handle: Handle, body: dict[str, Any], party: Party, *, approve: bool
) -> dict[str, Any]:
    """Approve (an optional `reason` as a note) or reject (a `reason` required) a submitted form."""
    step = APPROVE if approve else REJECT
    _require(party, step)
    unknown = sorted(set(body) - {"reason"})
    if unknown:
        raise InvalidForm([(f"/{unknown[0]}", 'unknown member; the body is {"reason": "..."}')])
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise InvalidForm([("/reason", f"a string of at most {MAX_REASON} characters")])
    reason = reason.strip() if reason else None
    if not approve and not reason:
        raise InvalidForm([("/reason", "required: say why the form is rejected (驳回原因)")])
    async with forms_unit(ctx.store, write=True) as db:
        form = await load_form(db, handle, lock=True)
        _check(form, step)
        updated = replace(form, state=step.target, updated_at=now_text())
        await _transition(db, form, updated, party, reason)
        return await detail(db, updated)


@dataclass(frozen=True, slots=True)
class PublishedForm:
    """A published form and the record version publication made."""

    form: dict[str, Any]
    handle: str
    version: int


async def publish_form(ctx: NodeContext, handle: Handle, party: Party) -> PublishedForm:
    """Sign an approved form as a record: its approved factor written in, `validUntil` defaulted to two years."""
    _require(party, PUBLISH)
    at = now_text()
    async with forms_unit(ctx.store) as db:
        form = await load_form(db, handle)
        _check(form, PUBLISH)
        if await db.node.get_record(form.handle_key) is not None:
            raise RecordExists(f"{form.handle} already holds a record published outside the form workflow")
    factor = Computation.from_json(json.loads(form.computation)).factor
    if factor is None:  # pragma: no cover - submission refuses a form whose factor does not compute
        raise InvalidForm([("/document", "the form's factor was not computed when it was submitted")])
    document = publication_document(json.loads(form.document), factor, _today(at))
    visibility = "public" if form.public else "private"
    suffix = Handle(form.handle).suffix
    published = await publish_record(
        ctx, Publication(TEMPLATE, document, suffix=suffix, visibility=visibility), actor=party.actor
    )
    async with forms_unit(ctx.store, write=True) as db:
        current = await load_form(db, handle, lock=True)
        _check(current, PUBLISH)
        updated = replace(
            current,
            state=PUBLISHED,
            document=dumps(document),
            valid_until=document["validUntil"],
            published_version=published.version,
            updated_at=at,
        )
        await _transition(db, current, updated, party, None)
        return PublishedForm(await detail(db, updated), published.handle, published.version)


async def send_form(ctx: NodeContext, handle: Handle, body: dict[str, Any], party: Party) -> Granted:
    """Send a published form to a customer: grant its prefix, with its part code (`{prefix, partCode}`)."""
    _require(party, SEND)
    async with forms_unit(ctx.store) as db:
        form = await load_form(db, handle)
        _check(form, SEND)
    return await grant_access(ctx, Handle(form.handle), body, actor=party.actor)
