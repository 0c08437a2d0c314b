"""The node's PACT Technical Specifications v2.3 use-cases: footprints and events (credentials and tokens are
`node.pact_clients`; the background answers to requests `node.pact_responder`).

Who sees what: a PACT client is a data recipient holding credentials this node issued (`carbonid node
pact-client add`). It sees the published product forms that are public and, when its credentials are bound to a
peer prefix, those granted to that prefix, as the peer itself would through /api/records. A form that cannot be
expressed in v2.3 (see `node.pact_mapping`) is no footprint: it is never listed, and asked for by id it does not
exist. Of a footprint it may not see, a client learns only that access is denied (the spec's AccessDenied);
PfIds are random, so only a client that once saw a footprint can ask for it.

Errors are `PactError`s carrying the spec's error response code and HTTP status.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

from certs.data_integrity import format_datetime
from common.passwords import SecretChecker
from handle_registry.identifiers import Handle, InvalidHandle
from node.pact_inventory import UnmappableForm
from node.pact_mapping import Company, FormVersion, company_from_profile, footprint, matching_handles
from node.pact_peers import InvalidSource, PeerCredentials, requester_of
from node.pact_store import ClientRow, FormRow, PactSession, PactStore, RequestRow
from node.settings import NodeSettings

EVENT_PUBLISHED: Final = "org.wbcsd.pathfinder.ProductFootprint.Published.v1"
EVENT_REQUEST_CREATED: Final = "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1"
EVENT_REQUEST_FULFILLED: Final = "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1"
EVENT_REQUEST_REJECTED: Final = "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1"

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000

_log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------------------
# Errors


class PactCode(Enum):
    """The error response codes of the spec (section 8.9) and their HTTP statuses."""

    ACCESS_DENIED = ("AccessDenied", 403)
    BAD_REQUEST = ("BadRequest", 400)
    NO_SUCH_FOOTPRINT = ("NoSuchFootprint", 404)
    NOT_IMPLEMENTED = ("NotImplemented", 400)
    TOKEN_EXPIRED = ("TokenExpired", 401)
    INTERNAL_ERROR = ("InternalError", 500)

    @property
    def text(self) -> str:
        """The code as it appears in an error response."""
        return self.value[0]

    @property
    def status(self) -> int:
        """The HTTP status that goes with it."""
        return self.value[1]


class PactError(Exception):
    """An error response `{"code", "message"}` with its HTTP status."""

    def __init__(self, code: PactCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The error response body."""
        return {"code": self.code.text, "message": self.message}


# --------------------------------------------------------------------------------------------------------------
# The service


class PactService:
    """What every PACT use-case works with: settings, storage, the secret checker, the requesters' credentials
    and the clock (a test may replace `clock`)."""

    def __init__(
        self,
        settings: NodeSettings,
        store: PactStore,
        secrets_checker: SecretChecker,
        peers: Mapping[str, PeerCredentials],
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.secrets = secrets_checker
        self.peers = dict(peers)
        self.clock = clock

    def now_text(self) -> str:
        """The current time as stored: ISO-8601 UTC, whole seconds."""
        return format_datetime(self.clock())


# --------------------------------------------------------------------------------------------------------------
# Footprints


async def _sync_ids(pact: PactService) -> None:
    """Give every product-form record a PfId (random v4), once."""
    async with pact.store.unit() as db:
        missing = await db.forms_without_id()
    if missing:
        async with pact.store.unit(write=True) as db:
            await db.assign_ids(((key, str(uuid.uuid4())) for key in missing), pact.now_text())


async def _company(pact: PactService, db: PactSession) -> Company:
    profile = await db.public_profile()
    document = json.loads(profile) if profile is not None else None
    return company_from_profile(document if isinstance(document, dict) else None, pact.settings.prefix)


def _footprint(pact: PactService, row: FormRow, company: Company) -> dict[str, Any]:
    """The footprint of a form row; `UnmappableForm` when v2.3 cannot express it."""
    form = FormVersion(
        row.pf_id, row.handle, row.version, row.created_at, row.version_at, json.loads(row.document)
    )
    return footprint(form, company, default_cpc=pact.settings.pact_product_category_cpc)


def parse_limit(text: str | None) -> int:
    """The `limit` parameter: a positive integer (more than `MAX_LIMIT` is served as `MAX_LIMIT`)."""
    if text is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\d{1,9}", text) or int(text) < 1:
        raise PactError(PactCode.BAD_REQUEST, f"limit must be a positive integer, got {text!r}")
    return min(int(text), MAX_LIMIT)


def _encode_cursor(until: str, created: str, key: str) -> str:
    raw = json.dumps([until, created, key], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(text: str) -> tuple[str, str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        data = None
    if not (isinstance(data, list) and len(data) == 3 and all(isinstance(item, str) for item in data)):
        raise PactError(PactCode.BAD_REQUEST, "page is not a pagination cursor of this node")
    return data[0], data[1], data[2]


@dataclass(frozen=True, slots=True)
class FootprintPage:
    """One page of ListFootprints and the cursor of the next, if any."""

    footprints: list[dict[str, Any]]
    next_cursor: str | None


async def list_footprints(
    pact: PactService, client: ClientRow, *, limit: int, cursor: str | None
) -> FootprintPage:
    """The footprints the client may see, oldest form first; the cursor pins the set to the first page's time,
    so a pagination link returns the same footprints every time it is called."""
    await _sync_ids(pact)
    if cursor is None:
        until, after = pact.now_text(), None
    else:
        until, created, key = _decode_cursor(cursor)
        after = (created, key)
    found: list[dict[str, Any]] = []
    async with pact.store.unit() as db:
        company = await _company(pact, db)
        while True:
            rows = await db.visible_forms(client.prefix_key, after=after, until=until, limit=limit + 1)
            for row in rows:
                if len(found) == limit:
                    # Rows remain: the next page starts after the last row taken.
                    assert after is not None
                    return FootprintPage(found, _encode_cursor(until, *after))
                after = (row.created_at, row.handle_key)
                try:
                    found.append(_footprint(pact, row, company))
                except UnmappableForm:
                    continue
            if len(rows) <= limit:
                return FootprintPage(found, None)


def parse_pf_id(text: str) -> str | None:
    """The canonical text of a PfId, or None when `text` is no UUID."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


async def get_footprint(pact: PactService, client: ClientRow, pf_id_text: str) -> dict[str, Any]:
    """The latest version of one footprint: NoSuchFootprint, or AccessDenied when the client may not see it."""
    missing = PactError(PactCode.NO_SUCH_FOOTPRINT, f"there is no footprint {pf_id_text!r}")
    pf_id = parse_pf_id(pf_id_text)
    if pf_id is None:
        raise missing
    await _sync_ids(pact)
    async with pact.store.unit() as db:
        row = await db.form_by_id(pf_id, client.prefix_key)
        company = await _company(pact, db)
    if row is None:
        raise missing
    if not row.visible:
        raise PactError(PactCode.ACCESS_DENIED, f"footprint {pf_id} is not shared with this client")
    try:
        return _footprint(pact, row, company)
    except UnmappableForm:
        raise missing from None


# --------------------------------------------------------------------------------------------------------------
# Events


def _required_text(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PactError(PactCode.BAD_REQUEST, f"CloudEvent attribute {name} must be a non-empty string")
    return value


async def receive_event(pact: PactService, client: ClientRow, event: object) -> int | None:
    """Accept a CloudEvent: a Published notification is acknowledged; a footprint request is queued for an
    asynchronous answer (its queue id is returned; None when it repeats one already queued)."""
    if not isinstance(event, dict):
        raise PactError(PactCode.BAD_REQUEST, "the body must be a CloudEvent JSON object")
    if event.get("specversion") != "1.0":
        raise PactError(PactCode.BAD_REQUEST, "specversion must be 1.0 (CloudEvents 1.0, structured mode)")
    event_type = _required_text(event, "type")
    event_id = _required_text(event, "id")
    source = _required_text(event, "source")
    data = event.get("data")
    if not isinstance(data, dict):
        raise PactError(PactCode.BAD_REQUEST, "data must be a JSON object")
    if event_type == EVENT_PUBLISHED:
        pf_ids = data.get("pfIds")
        if not isinstance(pf_ids, list) or not pf_ids:
            raise PactError(PactCode.BAD_REQUEST, "data.pfIds must be a non-empty array of footprint ids")
        for position, item in enumerate(pf_ids):
            if not isinstance(item, str) or parse_pf_id(item) is None:
                raise PactError(PactCode.BAD_REQUEST, f"data.pfIds/{position}: {item!r} is not a PfId (UUID)")
        _log.info("PACT client %s: %d footprint(s) published at %s", client.client_id, len(pf_ids), source)
        return None
    if event_type != EVENT_REQUEST_CREATED:
        raise PactError(
            PactCode.NOT_IMPLEMENTED, f"events of type {event_type} are not processed by this node"
        )
    try:
        requester = requester_of(source)
    except InvalidSource as exc:
        raise PactError(PactCode.BAD_REQUEST, str(exc)) from None
    if requester.authority not in pact.peers:
        raise PactError(
            PactCode.BAD_REQUEST,
            f"this node holds no credentials for requester {requester.authority}; it cannot answer {source}",
        )
    async with pact.store.unit(write=True) as db:
        request_id = await db.insert_request(
            source=source,
            event_id=event_id,
            client_id=client.client_id,
            callback_base=requester.base,
            authority=requester.authority,
            event=json.dumps(event, ensure_ascii=False, separators=(",", ":")),
            at=pact.now_text(),
        )
    _log.info("PACT client %s requests footprints (event %s from %s)", client.client_id, event_id, source)
    return request_id


def response_event(pact: PactService, event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudEvent sent by this node."""
    return {
        "type": event_type,
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": pact.settings.base_url(),
        "time": pact.now_text(),
        "data": dict(data),
    }


def rejected_event(pact: PactService, request_event_id: str, code: PactCode, message: str) -> dict[str, Any]:
    error = PactError(code, message).to_json()
    return response_event(pact, EVENT_REQUEST_REJECTED, {"requestEventId": request_event_id, "error": error})


def _handle_keys(handles: list[str]) -> list[str]:
    keys = []
    for text in handles:
        try:
            keys.append(Handle(text).key)
        except InvalidHandle:
            continue
    return keys


async def answer_request(pact: PactService, request: RequestRow) -> dict[str, Any]:
    """The Fulfilled event (the footprints the request names that its client may see) or the Rejected one."""
    event = json.loads(request.event)
    data = event.get("data") if isinstance(event, dict) else None
    fragment = data.get("pf") if isinstance(data, dict) else None
    if not isinstance(fragment, dict) or not fragment.get("productIds"):
        return rejected_event(
            pact,
            request.event_id,
            PactCode.BAD_REQUEST,
            "data.pf must be a footprint fragment naming productIds",
        )
    async with pact.store.unit() as db:
        client = await db.get_client(request.client_id)
    if client is None or client.revoked_at is not None:
        return rejected_event(
            pact, request.event_id, PactCode.ACCESS_DENIED, "the requesting client was revoked"
        )
    await _sync_ids(pact)
    async with pact.store.unit() as db:
        rows = await db.forms_by_handle_keys(_handle_keys(matching_handles(fragment)), client.prefix_key)
        company = await _company(pact, db)
    if not rows:
        return rejected_event(
            pact,
            request.event_id,
            PactCode.NO_SUCH_FOOTPRINT,
            "no footprint of this node has these productIds",
        )
    visible = [row for row in rows if row.visible]
    if not visible:
        return rejected_event(
            pact, request.event_id, PactCode.ACCESS_DENIED, "the footprints are not shared with you"
        )
    footprints = []
    reasons = []
    for row in visible:
        try:
            footprints.append(_footprint(pact, row, company))
        except UnmappableForm as exc:
            reasons.append(f"{row.handle}: {exc}")
    if not footprints:
        return rejected_event(pact, request.event_id, PactCode.NO_SUCH_FOOTPRINT, "; ".join(reasons))
    return response_event(
        pact, EVENT_REQUEST_FULFILLED, {"requestEventId": request.event_id, "pfs": footprints}
    )
