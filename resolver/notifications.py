"""Nodes telling the resolver they published a record (`POST /api/notifications`), so it indexes it now.

A notification is a signed request (`certs.signed_requests`) {"@context", "type": "RecordPublished",
"handle", "version"} made by the node of the handle's prefix: its key must be listed for authentication in
the prefix's record as the resolver verifies it (from the root registry down the delegations), the request
must name the resolver's DID as its `domain`, be fresh, and carry a nonce the resolver has not seen (nonces
are remembered, in memory, until a request carrying them would be stale anyway). The notification is only
a hint: the record is then read and verified like any other (`resolver.index_ingest`), and a newer version
than the one cached is fetched. A profile's notification re-indexes the enterprise's rows (its region or
industry may have changed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from certs.canonical import DATA_INTEGRITY_V2
from certs.errors import (
    DomainMismatchError,
    InvalidSignatureError,
    KeyExpiredError,
    KeyRevokedError,
    MalformedProofError,
    StaleRequestError,
    UnknownVerificationMethodError,
    VerificationError,
)
from certs.signed_requests import VerifiedRequest, verify_request
from common.errors import BadRequest, ProblemError, Unauthorized, UnprocessableContent
from handle_registry.identifiers import Handle, InvalidHandle
from handle_registry.prefix_records import PrefixRecord
from node.notify import NOTIFICATION_CONTEXT, NOTIFICATION_TYPE
from resolver.context import ResolverContext
from resolver.errors import UpstreamError
from resolver.evaluations import PROFILE_TEMPLATE
from resolver.index_ingest import IndexOutcome, index_record
from resolver.repository import ResolverStore
from resolver.resolution import ENTERPRISE, PREFIX_KEY, lookup_prefix

MAX_AGE: Final = timedelta(minutes=5)
"""How old a notification may be."""
NONCE_MEMORY: Final = timedelta(minutes=10)
"""How long a nonce is remembered: past `MAX_AGE` and the clock skew allowed, its request is stale anyway."""
MAX_NONCES: Final = 100_000
REFETCH_AFTER_SECONDS: Final = 30.0
"""A notification signed with a key the cached prefix record does not list makes the resolver ask the
registries again only when that record was fetched at least this long ago."""
MAX_NONCE_LENGTH: Final = 255
MEMBERS: Final = frozenset({"@context", "type", "handle", "version", "proof"})
CHALLENGE: Final = 'DataIntegrityProof realm="carbonid-resolver"'

_SIGNATURE_CODES: Final[tuple[tuple[type[VerificationError], str], ...]] = (
    (StaleRequestError, "signature-stale"),
    (DomainMismatchError, "signature-wrong-domain"),
    (UnknownVerificationMethodError, "key-not-listed"),
    (KeyExpiredError, "key-retired"),
    (KeyRevokedError, "key-revoked"),
    (InvalidSignatureError, "signature-invalid"),
    (MalformedProofError, "signature-malformed"),
)


class InvalidNotification(BadRequest):
    """400: the body is not a notification."""

    type = "invalid-notification"
    title = "Invalid Notification"


class NotificationRejected(Unauthorized):
    """401: the notification does not prove it comes from the node of the handle's prefix; `type` says why."""

    type = "signature-invalid"
    title = "Notification Rejected"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, type=code, challenge=CHALLENGE)


class RecordNotIndexed(UnprocessableContent):
    """422: the record named cannot be indexed (not found, not verified, not accountable); `status` says which."""

    type = "record-not-indexed"
    title = "Record Not Indexed"


class NotificationUpstreamUnavailable(ProblemError):
    """502: a registry or node needed to check the notification or read the record did not answer."""

    status = 502
    type = "upstream-unavailable"
    title = "Upstream unavailable"


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification as read: the handle published and the version announced."""

    handle: Handle
    version: int


@dataclass(frozen=True, slots=True)
class Accepted:
    """What a notification led to: the record's indexing, and the rows re-indexed after a profile changed."""

    notification: Notification
    outcome: IndexOutcome
    reindexed: tuple[IndexOutcome, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The 202 body: {"status", "handle", "version"[, "reason"][, "reindexed"]}."""
        body: dict[str, Any] = {
            "status": self.outcome.status,
            "handle": self.notification.handle.text,
            "version": self.outcome.version
            if self.outcome.version is not None
            else self.notification.version,
        }
        if self.outcome.reason is not None:
            body["reason"] = self.outcome.reason
        if self.reindexed:
            body["reindexed"] = [outcome.to_json() for outcome in self.reindexed]
        return body


class NonceMemory:
    """(verification method, nonce) pairs seen, each kept until `NONCE_MEMORY` after its request was made.

    At most `max_entries`; beyond that the oldest go (only verified requests are remembered, so filling it
    takes a federation key).
    """

    def __init__(self, *, max_entries: int = MAX_NONCES) -> None:
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], datetime] = OrderedDict()

    def remember(self, method: str, nonce: str, *, created: datetime, now: datetime) -> bool:
        """Remember the pair; False when it was seen already (a replay)."""
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest > now:
                break
            self._seen.popitem(last=False)
        key = (method, nonce)
        if key in self._seen:
            return False
        self._seen[key] = created + NONCE_MEMORY
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)


def parse_notification(body: Mapping[str, Any]) -> Notification:
    """The handle and version of a notification body; 400 when it is not one, 401 without a proof."""
    unknown = sorted(set(body) - MEMBERS)
    if unknown:
        raise InvalidNotification(
            f"unknown member(s) {', '.join(unknown)}: a notification has @context, type, handle, version, proof"
        )
    contexts = body.get("@context")
    if contexts not in ([NOTIFICATION_CONTEXT], [NOTIFICATION_CONTEXT, DATA_INTEGRITY_V2]):
        raise InvalidNotification(
            "/@context must be the notification context (see node.notify.NOTIFICATION_CONTEXT), "
            "optionally followed by the Data Integrity context"
        )
    if body.get("type") != NOTIFICATION_TYPE:
        raise InvalidNotification(f"/type must be {NOTIFICATION_TYPE}, got {body.get('type')!r}")
    text, version = body.get("handle"), body.get("version")
    if not isinstance(text, str):
        raise InvalidNotification("/handle must be the handle published, e.g. 88.186.1/ACT.2025")
    try:
        handle = Handle(text)
    except InvalidHandle as exc:
        raise InvalidNotification(f"/handle: {exc}") from None
    if handle.is_prefix_record:
        raise InvalidNotification(
            f"/handle: {text} is a prefix record; nodes publish records below their prefix"
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidNotification(f"/version must be a positive integer, got {version!r}")
    if "proof" not in body:
        raise NotificationRejected(
            "signature-missing",
            "the notification carries no proof: sign it with the node's key (proofPurpose authentication, "
            "domain = the resolver's DID)",
        )
    return Notification(handle, version)


async def accept_notification(
    ctx: ResolverContext, store: ResolverStore, nonces: NonceMemory, body: Mapping[str, Any]
) -> Accepted:
    """Check a notification (see the module docstring) and index the record it names."""
    notification = parse_notification(body)
    request = await _verify(ctx, notification, body)
    if not nonces.remember(
        request.verification_method, request.nonce, created=request.created, now=ctx.now()
    ):
        raise NotificationRejected("signature-replayed", "this notification (its nonce) was received before")
    outcome = await index_record(ctx, store, notification.handle.text, at_least=notification.version)
    if outcome.status == "unavailable":
        raise NotificationUpstreamUnavailable(outcome.reason, handle=outcome.handle)
    if outcome.status in ("not-found", "not-verified", "refused"):
        raise RecordNotIndexed(outcome.reason, handle=outcome.handle, indexStatus=outcome.status)
    reindexed: tuple[IndexOutcome, ...] = ()
    if outcome.template == PROFILE_TEMPLATE:
        reindexed = await _reindex_prefix(ctx, store, notification)
    return Accepted(notification, outcome, reindexed)


async def _verify(
    ctx: ResolverContext, notification: Notification, body: Mapping[str, Any]
) -> VerifiedRequest:
    """The verified request, signed with a key the prefix's verified record lists; 401 otherwise."""
    proof = body.get("proof")
    nonce = proof.get("nonce") if isinstance(proof, Mapping) else None
    if isinstance(nonce, str) and len(nonce) > MAX_NONCE_LENGTH:
        raise NotificationRejected(
            "signature-malformed", f"a nonce has at most {MAX_NONCE_LENGTH} characters"
        )
    record, cached = await _prefix_record(ctx, notification)
    # Verified on the event loop: a notification is a few hundred bytes (a millisecond or two to canonicalize).
    try:
        return _verify_request(ctx, record, body)
    except NotificationRejected as exc:
        key = PREFIX_KEY + notification.handle.prefix.key
        entry = ctx.prefixes.get(key)
        young = entry is not None and ctx.seconds() - entry.stored_at < REFETCH_AFTER_SECONDS
        if not cached or young or exc.type != "key-not-listed":
            raise
    # The key may be newer than the prefix record cached: ask the registries again, once (and not for every
    # request naming an unknown key: only when what is cached was fetched a while ago).
    ctx.prefixes.drop(key)
    record, _ = await _prefix_record(ctx, notification)
    return _verify_request(ctx, record, body)


async def _prefix_record(ctx: ResolverContext, notification: Notification) -> tuple[PrefixRecord, bool]:
    prefix = notification.handle.prefix
    try:
        lookup = await lookup_prefix(ctx, prefix)
    except UpstreamError as exc:
        raise NotificationUpstreamUnavailable(f"cannot check the notification: {exc}") from None
    chain = lookup.chain
    if chain.status != "verified" or chain.record is None:
        reason = chain.reason or chain.status
        raise NotificationRejected(
            "prefix-not-verified", f"the record of prefix {prefix} cannot be trusted: {reason}"
        )
    if chain.record.kind != ENTERPRISE:
        raise NotificationRejected(
            "prefix-not-verified", f"prefix {prefix} is delegated to a registry; it has no node to notify"
        )
    return chain.record, lookup.cached


def _verify_request(ctx: ResolverContext, record: PrefixRecord, body: Mapping[str, Any]) -> VerifiedRequest:
    proof = body.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    if isinstance(proof, Mapping) and not any(key.id == method for key in record.keys):
        raise NotificationRejected(
            "key-not-listed", f"{method!r} is not a key of prefix {record.prefix} as its registry lists them"
        )
    try:
        return verify_request(
            body,
            record,
            domain=ctx.identity.did.id,
            loader=ctx.catalog.loader,
            now=ctx.now(),
            max_age=MAX_AGE,
        )
    except VerificationError as exc:
        code = next((code for kind, code in _SIGNATURE_CODES if isinstance(exc, kind)), "signature-invalid")
        raise NotificationRejected(code, str(exc)) from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # Whatever a hostile proof makes the JSON-LD machinery trip over, it is a malformed proof, not a crash.
        raise NotificationRejected("signature-malformed", f"the proof cannot be checked: {exc}") from None


async def _reindex_prefix(
    ctx: ResolverContext, store: ResolverStore, notification: Notification
) -> tuple[IndexOutcome, ...]:
    """Index again every row of the prefix (its profile changed: the new one is what the cache holds now)."""
    async with store.index() as db:
        handles = await db.prefix_handles(notification.handle.prefix.key)
    return tuple([await index_record(ctx, store, handle) for handle in handles])
