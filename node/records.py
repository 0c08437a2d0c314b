"""Carbon records: publish (validate → sign → store a new version → log), read, list, share.

A record is a handle under the node's prefix whose values come from a signed document of a metadata
template. Publishing the same handle again adds a version; a version, once stored, is never changed. Each
version records who published it (the authenticated administrator), when, and why (a reason is required
from version 2 on), and appends one entry to the hash-chained log (`node.log`).

Handle rule: the `suffix` given; else the suffix of the document's own `handle` member when it names a
handle under this prefix; else a generated one, `<CODE>[.<period>].<12 hex>`, where CODE is readable from
the template (ACT for activity data, CICES for product footprints, PROFILE for enterprise profiles) and
period the document's `period` member (e.g. `ACT.2025.3f9c0a1b2c4d`).

Visibility: `public` or `private` (a new version keeps the record's visibility unless it says otherwise).
A private record is read by the administrator and by peers whose prefix holds an active grant; to anyone
else it does not exist: they get exactly the answer a missing handle gets.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from certs.data_integrity import parse_datetime
from certs.errors import ContextNotAllowedError, UnsafeDocumentError
from common.errors import Conflict, NotFound, UnprocessableContent
from handle_registry.identifiers import (
    ADMIN_SUFFIX,
    Handle,
    InvalidHandle,
    InvalidPrefix,
    fold_ascii,
    parse_prefix,
)
from handle_registry.records import handle_values_for_record
from handle_registry.values import HandleValue, default_admin_value
from metadata_templates import Template, TemplateNotFoundError, TemplateValidationError, validate
from metadata_templates.handle_mapping import document_to_values
from node.access import Caller, can_read_record
from node.context import NodeContext, now_text
from node.log import canonical_json, make_entry, sha256_hex, subject_for
from node.repository import PLAIN, RECORD, GrantRow, HandleTaken, RecordRow, StoreSession, VersionRow

VISIBILITIES: Final = ("public", "private")

SUFFIX_CODES: Final[Mapping[str, str]] = {
    "activity-data": "ACT",
    "product-footprint": "CICES",
    "enterprise-profile": "PROFILE",
}
"""The readable start of generated suffixes, per template id (others: the id's first word, upper-cased)."""

MAX_REASON = 2000
MAX_PART_CODE = 200
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


# --------------------------------------------------------------------------------------------------------------
# Errors


class RecordNotFound(NotFound):
    """No record with that handle, or none the caller may see: the two are one answer."""

    type = "record-not-found"
    title = "Record Not Found"

    def __init__(self, handle: str) -> None:
        super().__init__(f"no record {handle} on this node")


class VersionNotFound(NotFound):
    """The record exists (and is visible) but has no such version."""

    type = "version-not-found"
    title = "Version Not Found"


class RecordRejected(UnprocessableContent):
    """The publication request or its document is not acceptable; `issues` lists [pointer, message]."""

    type = "invalid-record"
    title = "Invalid Record"

    def __init__(self, issues: Sequence[tuple[str, str]], *, template: str | None = None) -> None:
        first_pointer, first_message = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        listed = [{"pointer": p, "message": m} for p, m in issues]
        detail = f"{first_pointer or '/'}: {first_message}{more}"
        if template is None:
            super().__init__(detail, issues=listed)
        else:
            super().__init__(detail, issues=listed, template=template)


class HandleInUse(Conflict):
    """The handle is an ordinary Handle record (written through the Handle API), not a carbon record."""

    type = "handle-in-use"
    title = "Handle In Use"


PUBLISH_ATTEMPTS = 8


class ConcurrentPublication(Conflict):
    """Another publication of the same handle took the version this one was signed for."""

    type = "concurrent-publication"
    title = "Concurrent Publication"


class GrantConflict(Conflict):
    """The prefix already holds an active grant on this record."""

    type = "grant-exists"
    title = "Grant Exists"


class GrantNotFound(NotFound):
    """The prefix holds no active grant on this record."""

    type = "grant-not-found"
    title = "Grant Not Found"


# --------------------------------------------------------------------------------------------------------------
# Requests and answers


@dataclass(frozen=True, slots=True)
class Publication:
    """A request to publish a document as a record version."""

    template: str
    document: Mapping[str, Any]
    suffix: str | None = None
    visibility: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Published:
    """What a publication stored: the handle, its new version, the document digest and the log position."""

    handle: str
    version: int
    digest: str
    seq: int

    def to_json(self) -> dict[str, Any]:
        """The 201 body of POST /api/records."""
        return {"handle": self.handle, "version": self.version, "href": record_href(self.handle)}


@dataclass(frozen=True, slots=True)
class RecordView:
    """A record version as one caller may see it."""

    record: RecordRow
    version: VersionRow
    grant: GrantRow | None = None

    def metadata(self) -> dict[str, Any]:
        """Version metadata: number, template, visibility, when, by whom, why, digest."""
        return version_metadata(self.record, self.version)

    def to_json(self) -> dict[str, Any]:
        """Metadata plus the signed document (and, for a peer reading through a grant, that grant)."""
        body = self.metadata()
        body["published"] = self.record.created_at
        body["latestVersion"] = self.record.latest_version
        body["document"] = json.loads(self.version.document)
        if self.grant is not None:
            body["grant"] = {"prefix": self.grant.prefix, "partCode": self.grant.part_code}
        return body


def record_href(handle: str) -> str:
    """Where a record is read."""
    return f"/api/records/{handle}"


def version_metadata(record: RecordRow, version: VersionRow) -> dict[str, Any]:
    """The metadata of one version, as listed and served."""
    return {
        "handle": record.handle,
        "version": version.version,
        "template": version.template,
        "visibility": version.visibility,
        "created": version.changed_at,
        "changedBy": version.changed_by,
        "reason": version.reason,
        "digest": version.digest,
        "href": f"{record_href(record.handle)}/versions/{version.version}",
    }


def grant_json(grant: GrantRow) -> dict[str, Any]:
    """A grant as the grants API shows it."""
    return {
        "prefix": grant.prefix,
        "partCode": grant.part_code,
        "active": grant.revoked_at is None,
        "grantedAt": grant.granted_at,
        "grantedBy": grant.granted_by,
        "revokedAt": grant.revoked_at,
        "revokedBy": grant.revoked_by,
    }


def parse_publication(body: Mapping[str, Any]) -> Publication:
    """Read a POST /api/records body; raises `RecordRejected` naming each malformed member."""
    issues: list[tuple[str, str]] = []
    known = {"template", "document", "suffix", "visibility", "reason"}
    for name in body:
        if name not in known:
            issues.append((f"/{_escape(name)}", f"unknown member; expected {', '.join(sorted(known))}"))
    template = body.get("template")
    if not isinstance(template, str) or not template:
        issues.append(("/template", "required: a template id such as activity-data or activity-data/1"))
    document = body.get("document")
    if not isinstance(document, dict):
        issues.append(("/document", "required: the document to publish, a JSON object"))
    for name in ("suffix", "reason"):
        if name in body and not isinstance(body[name], str):
            issues.append((f"/{name}", "must be a string"))
    visibility = body.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES:
        issues.append(("/visibility", f"must be one of {', '.join(VISIBILITIES)}"))
    reason = body.get("reason")
    if isinstance(reason, str) and len(reason) > MAX_REASON:
        issues.append(("/reason", f"at most {MAX_REASON} characters"))
    if isinstance(reason, str) and _has_control(reason):
        issues.append(("/reason", "contains a control character (only tab and line breaks are allowed)"))
    if issues or not isinstance(template, str) or not isinstance(document, dict):
        raise RecordRejected(issues)
    return Publication(
        template=template,
        document=document,
        suffix=body.get("suffix"),
        visibility=visibility,
        reason=reason.strip() if isinstance(reason, str) and reason.strip() else None,
    )


def _has_control(text: str) -> bool:
    return any((ord(char) < 0x20 and char not in "\t\n\r") or 0x7F <= ord(char) <= 0x9F for char in text)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


# --------------------------------------------------------------------------------------------------------------
# Publishing


def _template_for(ctx: NodeContext, reference: str) -> Template:
    try:
        template = ctx.catalog.resolve(reference)
    except TemplateNotFoundError as exc:
        raise RecordRejected([("/template", str(exc))]) from None
    if template.id not in ctx.settings.templates:
        raise RecordRejected(
            [("/template", f"this node publishes {', '.join(ctx.settings.templates)}, not {template.id}")]
        )
    return template


def generated_suffix(template: Template, document: Mapping[str, Any]) -> str:
    """`<CODE>[.<period>].<12 hex>`: readable, and unique without asking the database."""
    code = SUFFIX_CODES.get(template.id) or template.id.split("-")[0].upper()
    parts = [code]
    period = document.get("period")
    if isinstance(period, str):
        cleaned = re.sub(r"[^0-9A-Za-z-]", "", period)[:32]
        if cleaned:
            parts.append(cleaned)
    parts.append(uuid.uuid4().hex[:12])
    return ".".join(parts)


def _handle_for(ctx: NodeContext, template: Template, publication: Publication) -> Handle:
    prefix = ctx.prefix
    named = publication.document.get("handle")
    named_handle: Handle | None = None
    if named is not None:
        try:
            named_handle = Handle(str(named)) if isinstance(named, str) else None
        except InvalidHandle as exc:
            raise RecordRejected([("/document/handle", str(exc))]) from None
        if named_handle is None or named_handle.prefix != prefix:
            raise RecordRejected(
                [("/document/handle", f"names {named!r}; records of this node live under {prefix.text}/")]
            )
    if publication.suffix is not None:
        try:
            handle = prefix.handle(publication.suffix)
        except InvalidHandle as exc:
            raise RecordRejected([("/suffix", str(exc))]) from None
        if named_handle is not None and named_handle != handle:
            raise RecordRejected(
                [
                    (
                        "/document/handle",
                        f"names {named_handle.text} but the record is published as {handle.text}",
                    )
                ]
            )
    elif named_handle is not None:
        handle = named_handle
    else:
        handle = prefix.handle(generated_suffix(template, publication.document))
    if fold_ascii(handle.suffix) == ADMIN_SUFFIX:
        raise RecordRejected([("/suffix", f"{handle.text} is the node's administrator handle")])
    return handle


def _document_issues(
    ctx: NodeContext, template: Template, document: Mapping[str, Any]
) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    if "proof" in document:
        issues.append(("/document/proof", "send the document unsigned: the node signs it with its own keys"))
        return issues
    try:
        validate(template, document)
    except TemplateValidationError as exc:
        issues.extend((f"/document{issue.pointer}", issue.message) for issue in exc.issues)
    declared = document.get("prefix")
    if "prefix" in template.schema.get("properties", {}) and isinstance(declared, str):
        try:
            if parse_prefix(declared) != ctx.prefix:
                issues.append(
                    ("/document/prefix", f"is {declared}, but this node publishes under {ctx.prefix.text}")
                )
        except InvalidPrefix:
            pass  # the template validation above already says what is wrong with it
    return issues


def _check_target(
    handle: Handle, kind: str | None, record: RecordRow | None, publication: Publication
) -> None:
    if kind == PLAIN:
        raise HandleInUse(f"{handle.text} is an ordinary Handle record; choose another suffix")
    if record is not None and publication.reason is None:
        raise RecordRejected(
            [("/reason", f"{record.handle} is at version {record.latest_version}; say why it changes")]
        )


async def publish_record(
    ctx: NodeContext, publication: Publication, *, actor: str, timings: dict[str, float] | None = None
) -> Published:
    """Validate, sign with every node key, store as a new version and append to the log, in that order.

    Nothing is written unless everything before succeeded; the version and its log entry are written in one
    transaction. `timings`, when given, accumulates seconds spent in "validation", "signing" (canonicalization
    included) and "storage" (the existence check and the write).
    """
    started = time.perf_counter()
    template = _template_for(ctx, publication.template)
    handle = _handle_for(ctx, template, publication)
    # The node writes the handle and the version into the signed document, so no one can serve an old
    # version, or a version of another handle, as this one: resolvers refuse a version below one seen.
    document = {key: value for key, value in publication.document.items() if key not in ("handle", "version")}
    document["handle"] = handle.text
    issues = _document_issues(ctx, template, document)
    if issues:
        raise RecordRejected(issues, template=template.ref)
    validated = time.perf_counter()
    signing = 0.0
    for attempt in range(PUBLISH_ATTEMPTS):
        # Checked before signing so a doomed request costs no signature; checked again under the lock.
        async with ctx.store.unit() as db:
            existing = await db.get_handle(handle.key)
            record = (
                await db.get_record(handle.key) if existing is not None and existing.kind == RECORD else None
            )
        _check_target(handle, existing.kind if existing else None, record, publication)
        expected_version = record.latest_version + 1 if record else 1
        if "version" in template.schema.get("properties", {}):
            document["version"] = expected_version
        checked = time.perf_counter()
        try:
            signed = ctx.identity.sign(document, ctx.catalog.loader)
        except UnsafeDocumentError as exc:
            raise RecordRejected([(f"/document{exc.pointer}", str(exc))], template=template.ref) from None
        except ContextNotAllowedError as exc:
            raise RecordRejected([("/document/@context", str(exc))], template=template.ref) from None
        text = canonical_json(signed).decode("utf-8")
        digest = sha256_hex(text.encode("utf-8"))
        signed_at = time.perf_counter()
        signing += signed_at - checked
        try:
            published = await _store_version(
                ctx, handle, template, signed, text, digest, publication, actor, expected_version
            )
            break
        except ConcurrentPublication:
            # Another publication of this handle took the version this one was signed for: sign the next.
            if attempt == PUBLISH_ATTEMPTS - 1:
                raise
    if timings is not None:
        stored = time.perf_counter()
        timings["validation"] = timings.get("validation", 0.0) + validated - started
        timings["signing"] = timings.get("signing", 0.0) + signing
        timings["storage"] = timings.get("storage", 0.0) + (stored - validated) - signing
    return published


async def _store_version(
    ctx: NodeContext,
    handle: Handle,
    template: Template,
    signed: Mapping[str, Any],
    text: str,
    digest: str,
    publication: Publication,
    actor: str,
    expected_version: int,
) -> Published:
    at = now_text()
    period = signed.get("period") if isinstance(signed.get("period"), str) else None
    log_key = ctx.identity.keys[0]
    async with ctx.store.unit(write=True) as db:
        # The head lock comes first: publications (and so versions and log entries) happen one at a time.
        seq, prev = await db.lock_log_head()
        existing = await db.get_handle(handle.key)
        record: RecordRow | None = None
        if existing is None:
            try:
                await db.insert_handle(handle.key, handle.text, RECORD, at)
            except HandleTaken:
                raise HandleInUse(f"{handle.text} was just created through the Handle API") from None
        elif existing.kind == RECORD:
            record = await db.get_record(handle.key)
        _check_target(handle, existing.kind if existing else None, record, publication)
        visibility = publication.visibility or (record.visibility if record else "public")
        number = record.latest_version + 1 if record else 1
        if number != expected_version:
            raise ConcurrentPublication(
                f"{handle.text} reached version {number - 1} while this version {expected_version} was being signed; "
                "publish again"
            )
        version = VersionRow(
            key=handle.key,
            version=number,
            template=template.ref,
            visibility=visibility,
            document=text,
            digest=digest,
            changed_by=actor,
            changed_at=at,
            reason=publication.reason,
        )
        latest = RecordRow(
            key=handle.key,
            handle=record.handle if record else handle.text,
            template=template.ref,
            template_id=template.id,
            period=period,
            visibility=visibility,
            latest_version=number,
            created_at=record.created_at if record else at,
            updated_at=at,
        )
        if record is None:
            await db.insert_record(latest)
        else:
            await db.update_record(latest)
        await db.insert_version(version)
        entry = make_entry(
            seq=seq + 1,
            subject=subject_for(handle.key),
            version=number,
            digest=digest,
            at=at,
            prev=prev,
            key=log_key,
            key_id=ctx.identity.method_id(log_key),
        )
        await db.append_log(entry, handle_key=handle.key)
    return Published(latest.handle, number, digest, entry.seq)


# --------------------------------------------------------------------------------------------------------------
# Reading


def record_handle_values(ctx: NodeContext, version: VersionRow) -> tuple[HandleValue, ...]:
    """The Handle values of a record version: TEMPLATE, fields from 2000, DOCUMENT, PROOFs, and HS_ADMIN."""
    template = ctx.catalog.resolve(version.template)
    document = json.loads(version.document)
    moment = parse_datetime(version.changed_at)
    values = handle_values_for_record(
        document_to_values(template, document), timestamp=moment, ttl=ctx.settings.handle_ttl
    )
    admin = default_admin_value(ctx.prefix, timestamp=moment)
    return tuple(sorted((*values, admin), key=lambda value: value.index))


async def readable_record(db: StoreSession, handle: Handle, caller: Caller) -> RecordRow:
    """The record if `caller` may see it; `RecordNotFound` (the answer for a missing handle) otherwise."""
    record = await db.get_record(handle.key)
    if record is None or not await can_read_record(db, record, caller):
        raise RecordNotFound(handle.text)
    return record


def parse_record_handle(text: str) -> Handle:
    """A handle from a /api/records path; anything unparseable is simply a record that is not here."""
    try:
        return Handle(text)
    except InvalidHandle:
        raise RecordNotFound(text) from None


async def get_record(
    ctx: NodeContext, handle: Handle, caller: Caller, *, version: int | None = None
) -> RecordView:
    """The latest (or a given) version of a record as `caller` may see it."""
    async with ctx.store.unit() as db:
        record = await readable_record(db, handle, caller)
        number = record.latest_version if version is None else version
        row = await db.get_version(handle.key, number)
        grant = None
        if not caller.is_admin and record.visibility == "private" and caller.peer_prefix is not None:
            grant = await db.active_grant(handle.key, caller.peer_prefix.key)
    if row is None:
        raise VersionNotFound(f"{record.handle} has versions 1 to {record.latest_version}, not {number}")
    return RecordView(record, row, grant)


async def list_versions(ctx: NodeContext, handle: Handle, caller: Caller) -> list[dict[str, Any]]:
    """The metadata of every version, oldest first."""
    async with ctx.store.unit() as db:
        record = await readable_record(db, handle, caller)
        versions = await db.list_versions(handle.key)
    return [version_metadata(record, version) for version in versions]


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One page of a record listing."""

    total: int
    page: int
    page_size: int
    records: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """The body of GET /api/records."""
        return {
            "totalCount": self.total,
            "page": self.page,
            "pageSize": self.page_size,
            "records": self.records,
        }


async def list_records(
    ctx: NodeContext,
    caller: Caller,
    *,
    template: str | None = None,
    period: str | None = None,
    page: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> RecordPage:
    """Records `caller` may see, most recently changed first; `template` is an id or `id/version`."""
    async with ctx.store.unit() as db:
        total, rows = await db.list_records(
            caller.scope, template=template, period=period, offset=page * page_size, limit=page_size
        )
    return RecordPage(total, page, page_size, [version_metadata(record, version) for record, version in rows])


# --------------------------------------------------------------------------------------------------------------
# Grants


def _peer_prefix(ctx: NodeContext, text: object) -> tuple[str, str]:
    if not isinstance(text, str):
        raise RecordRejected([("/prefix", "required: the peer's prefix, e.g. 88.186.7")])
    try:
        prefix = parse_prefix(text)
    except InvalidPrefix as exc:
        raise RecordRejected([("/prefix", str(exc))]) from None
    if prefix == ctx.prefix or prefix.is_na:
        raise RecordRejected([("/prefix", f"{text} cannot be granted access: it is not a peer")])
    return prefix.text, prefix.key


@dataclass(frozen=True, slots=True)
class Granted:
    """A new grant, with the record it opens (its handle as published and latest version)."""

    grant: GrantRow
    handle: str
    version: int


async def grant_access(ctx: NodeContext, handle: Handle, body: Mapping[str, Any], *, actor: str) -> Granted:
    """Let a peer prefix read a (private) record; `partCode` is the customer's own part code, if any."""
    unknown = [name for name in body if name not in ("prefix", "partCode")]
    if unknown:
        raise RecordRejected([(f"/{_escape(unknown[0])}", "unknown member; expected prefix, partCode")])
    prefix, prefix_key = _peer_prefix(ctx, body.get("prefix"))
    part_code = body.get("partCode")
    if part_code is not None and (
        not isinstance(part_code, str) or len(part_code) > MAX_PART_CODE or _has_control(part_code)
    ):
        raise RecordRejected(
            [
                (
                    "/partCode",
                    f"must be a string of at most {MAX_PART_CODE} characters without control characters",
                )
            ]
        )
    async with ctx.store.unit(write=True) as db:
        record = await db.get_record(handle.key)
        if record is None:
            raise RecordNotFound(handle.text)
        if await db.active_grant(handle.key, prefix_key) is not None:
            raise GrantConflict(f"{prefix} already holds an active grant on {record.handle}; revoke it first")
        grant = await db.insert_grant(
            key=handle.key, prefix=prefix, prefix_key=prefix_key, part_code=part_code, at=now_text(), by=actor
        )
    return Granted(grant, record.handle, record.latest_version)


async def revoke_access(ctx: NodeContext, handle: Handle, prefix_text: str, *, actor: str) -> GrantRow:
    """End a peer's active grant; the grant stays in the history with its revocation."""
    try:
        prefix = parse_prefix(prefix_text)
    except InvalidPrefix:
        raise GrantNotFound(f"{prefix_text!r} is not a prefix") from None
    async with ctx.store.unit(write=True) as db:
        record = await db.get_record(handle.key)
        if record is None:
            raise RecordNotFound(handle.text)
        grant = await db.active_grant(handle.key, prefix.key)
        if grant is None:
            raise GrantNotFound(f"{prefix.text} holds no active grant on {record.handle}")
        return await db.revoke_grant(grant, at=now_text(), by=actor)


async def list_grants(ctx: NodeContext, handle: Handle) -> list[GrantRow]:
    """Every grant of a record, active and revoked, oldest first (administrators only)."""
    async with ctx.store.unit() as db:
        if await db.get_record(handle.key) is None:
            raise RecordNotFound(handle.text)
        return await db.list_grants(handle.key)
