"""Resolving any handle into a verified answer: the use-cases of the resolver.

1. The prefix chain (`lookup_prefix`): ask the root registry for `0.NA/<prefix>`. A record (200) must
   verify against the pinned trust anchor. A referral (300, code 303) carries the delegation record of
   a delegated prefix, which must verify against the anchor and covers the prefix; the delegated registry
   (its `serviceUrl`) is asked next and its answer must verify against the delegation record's keys, and
   so on, up to `max_referrals`. Not found (404) means the prefix does not exist. The final record must
   be the record of the prefix asked for, issued by the registry that signed it; no prefix record (nor
   delegation) may go below a version already verified.
2. The record (`resolve_record`): GET the handle from the node named by the prefix record (an enterprise
   prefix), all values, then verify locally: the signed document at index 400 must agree with the field
   values, its proofs must verify with a key the handle's own prefix record lists (approved, not expired
   or revoked at the proof's time), it must name the handle asked for, and its version must not go below
   the highest this resolver has verified (persisted). Values without a signed document are `unsigned`.
   A failed verification still answers the values, flagged `failed` with the reason.
3. Caching: answers by handle, prefix chains by prefix, for min(values' ttl, max_ttl) (not found: the
   negative ttl); identical lookups in flight run once; when a registry or node does not answer, an
   answer past its ttl by at most `max_stale_seconds` is served flagged stale, else `UpstreamError`.
4. Time: one resolution (the prefix chain and the record) shares one `UpstreamBudget`, so however many
   referrals, retries and back-off waits it takes, it ends within `upstream_deadline_seconds`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from certs.data_integrity import KeyResolver, format_datetime
from certs.did import DidDocument
from certs.errors import MalformedProofError, VerificationError
from handle_registry.identifiers import Handle, InvalidHandle, InvalidPrefix, Prefix, fold_ascii
from handle_registry.prefix_records import TEMPLATE_REF as PREFIX_RECORD_TEMPLATE
from handle_registry.prefix_records import PrefixRecord
from handle_registry.response_codes import HANDLE_NOT_FOUND, PREFIX_REFERRAL, SUCCESS, VALUES_NOT_FOUND
from handle_registry.values import HandleValue
from resolver.answers import (
    FAILED,
    UNSIGNED,
    VERIFIED,
    Answer,
    Found,
    NotFound,
    PrefixChain,
    PrefixRecordSummary,
    Served,
    Verification,
)
from resolver.context import ResolverContext
from resolver.errors import NodeUnreachable, RegistryUnreachable, UpstreamError
from resolver.stats import KEY_CODES, PREFIX_UNTRUSTED, failure_code
from resolver.upstream import UpstreamBudget
from resolver.verification import RecordMismatch, carries_document, document_digest, signed_document

PREFIX_KEY: Final = "P:"
HANDLE_KEY: Final = "H:"
PEER_KEY: Final = (
    "P:"  # answers read with the client certificate: cached apart, never served by the Handle API
)
ENTERPRISE: Final = "enterprise"
REGISTRY: Final = "registry"


class InvalidRequest(ValueError):
    """The requested text is not a handle (nor a prefix): Handle code 102."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a request asks for: a handle under an enterprise prefix, or the record of `prefix`."""

    requested: str
    prefix: Prefix
    handle: Handle | None = None


def parse_target(text: str) -> Target:
    """Read a requested handle: `<prefix>/<suffix>`, `0.NA/<prefix>`, or a slashless prefix (its record)."""
    if not text:
        raise InvalidRequest("Empty handle invalid")
    try:
        if "/" not in text:
            # As on the Handle server: a slashless handle is the prefix record 0.NA/<text>.
            return Target(text, Prefix(text))
        handle = Handle(text)
    except (InvalidHandle, InvalidPrefix) as exc:
        raise InvalidRequest(f"Invalid handle: {exc}") from None
    if handle.is_prefix_record:
        return Target(text, handle.record_prefix)
    return Target(text, handle.prefix, handle)


async def resolve(ctx: ResolverContext, text: str, *, as_peer: bool = False) -> Served:
    """The answer to `GET /api/handles/<text>`; raises `InvalidRequest` or `UpstreamError`.

    `as_peer=True` reads the node with the resolver's client certificate, so records granted to its prefix
    are found: for the resolver's own use-cases only. The Handle API never passes it, and the two kinds of
    answer are cached apart, so a granted record is never served to whoever asks the resolver.
    """
    target = parse_target(text)
    if target.handle is None:
        return await resolve_prefix_record(ctx, target.prefix)
    return await resolve_record(ctx, target.handle, as_peer=as_peer)


def _ttl(values: Iterable[HandleValue], ceiling: float) -> float:
    """How long values may be cached: their smallest ttl, at most `ceiling`."""
    return min([ceiling, *(float(value.ttl) for value in values)])


# --------------------------------------------------------------------------------------------------------------
# Prefixes


@dataclass(frozen=True, slots=True)
class PrefixLookup:
    """A prefix chain as one lookup got it: from the cache or not, stale or not, fresh until when."""

    chain: PrefixChain
    cached: bool
    stale: bool
    expires_at: float


async def lookup_prefix(
    ctx: ResolverContext, prefix: Prefix, budget: UpstreamBudget | None = None
) -> PrefixLookup:
    """The prefix chain of `prefix`, cached; raises `UpstreamError` when no registry answers and no cached
    chain is young enough to serve stale. A fetch spends `budget` (a fresh one when None)."""
    key = PREFIX_KEY + prefix.key
    now = ctx.seconds()
    entry = ctx.prefixes.get(key)
    counts = ctx.stats.cache
    if entry is not None and entry.fresh(now):
        counts["prefixes", "hit"] += 1
        return PrefixLookup(entry.value, True, False, entry.expires_at)
    counts["prefixes", "miss"] += 1
    try:
        fetched: PrefixLookup = await ctx.flights.run(key, lambda: _fetch_prefix(ctx, prefix, key, budget))
    except UpstreamError:
        if (
            entry is not None
            and entry.value.status != "not_found"
            and entry.stale_for(now) <= ctx.settings.max_stale_seconds
        ):
            counts["prefixes", "stale"] += 1
            return PrefixLookup(entry.value, True, True, entry.expires_at)
        raise
    return fetched


async def _fetch_prefix(
    ctx: ResolverContext, prefix: Prefix, key: str, budget: UpstreamBudget | None
) -> PrefixLookup:
    try:
        chain = await fetch_prefix_chain(ctx, prefix, budget)
    except UpstreamError as exc:  # counted here, once per request made, not once per caller waiting on it
        ctx.stats.upstream_failed(exc)
        raise
    entry = ctx.prefixes.put(key, chain, now=ctx.seconds(), ttl=chain.ttl)
    return PrefixLookup(chain, False, False, entry.expires_at)


async def fetch_prefix_chain(
    ctx: ResolverContext, prefix: Prefix, budget: UpstreamBudget | None = None
) -> PrefixChain:
    """Ask the registries for the record of `prefix`, from the root down the referrals, verifying each step,
    within `budget` (a fresh one when None)."""
    settings = ctx.settings
    budget = budget or UpstreamBudget.start(settings)
    record_handle = str(prefix.record_handle)
    url = settings.root_registry_url.rstrip("/")
    keys: KeyResolver = ctx.anchor
    signer_did = ctx.anchor.id
    signer = _anchor_identity(ctx.anchor)
    delegated: Prefix | None = None
    registries: list[str] = []
    # However long the registry allows, keys are checked again within max_prefix_ttl_seconds (revocations).
    ttl = float(min(settings.max_ttl_seconds, settings.max_prefix_ttl_seconds))
    for _ in range(settings.max_referrals + 1):
        registries.append(url)
        answer = await ctx.upstream.resolve(
            url, record_handle, unreachable=RegistryUnreachable, budget=budget
        )
        now = ctx.now()
        if answer.code == HANDLE_NOT_FOUND and answer.status == 404:
            return PrefixChain(
                "not_found",
                tuple(registries),
                now,
                float(settings.negative_ttl_seconds),
                reason=f"prefix {prefix} is not registered",
            )
        referral = answer.code == PREFIX_REFERRAL and answer.status == 300
        if not referral and not (answer.code == SUCCESS and answer.status == 200):
            raise RegistryUnreachable(
                answer.url, f"answered HTTP {answer.status} with response code {answer.code}"
            )
        ttl = _ttl(answer.values, ttl)
        what = (
            f"the delegation record in the referral from {url}"
            if referral
            else f"{record_handle} as served by {url}"
        )
        try:
            record, digest, method, suites = _verified_prefix_record(
                ctx, answer.values, keys, signer_did, signer, now
            )
            if referral:
                _check_delegation(record, prefix, delegated)
            elif record.prefix != prefix:
                raise RecordMismatch(f"the registry answered the record of {record.prefix} for {prefix}")
            await ctx.guard.check(
                record.prefix.record_handle.key,
                str(record.prefix.record_handle),
                record.version,
                digest,
                at=format_datetime(now),
            )
        except VerificationError as exc:
            ctx.stats.verification_failures[failure_code(exc)] += 1
            return PrefixChain(
                "failed",
                tuple(registries),
                now,
                ttl,
                values=() if referral else answer.values,
                reason=f"{what}: {exc}",
            )
        if not referral:
            return PrefixChain(
                "verified",
                tuple(registries),
                now,
                ttl,
                record=record,
                values=answer.values,
                digest=digest,
                verification_method=method,
                cryptosuites=suites,
            )
        keys, signer_did, signer, delegated = record, record.did, _record_identity(digest), record.prefix
        url = record.service_url.rstrip("/")
    return PrefixChain(
        "failed",
        tuple(registries),
        ctx.now(),
        ttl,
        reason=f"{record_handle}: more than {settings.max_referrals} referrals; giving up",
    )


def _anchor_identity(anchor: DidDocument) -> str:
    return "anchor:" + anchor.id


def _record_identity(digest: str) -> str:
    return "prefix-record:" + digest


def _verified_prefix_record(
    ctx: ResolverContext,
    values: tuple[HandleValue, ...],
    keys: KeyResolver,
    signer_did: str,
    signer: str,
    now: datetime,
) -> tuple[PrefixRecord, str, str, tuple[str, ...]]:
    template, document = signed_document(ctx.catalog, values)
    if template.ref != PREFIX_RECORD_TEMPLATE:
        raise RecordMismatch(f"the registry answered a {template.ref} document, not a prefix record")
    digest = document_digest(document)
    check = ctx.verifier.verify(document, digest, keys, signer, now=now)
    try:
        record = PrefixRecord.from_document(document, ctx.catalog)
    except (ValueError, LookupError, TypeError) as exc:
        raise MalformedProofError(f"not a valid prefix record: {exc}") from None
    if record.registry != signer_did:
        raise RecordMismatch(f"the record names the registry {record.registry} but {signer_did} signed it")
    return record, digest, check.verification_method, check.cryptosuites


def _check_delegation(record: PrefixRecord, prefix: Prefix, delegated: Prefix | None) -> None:
    if record.kind != REGISTRY:
        raise RecordMismatch(
            f"a referral must carry a registry delegation, not a record of kind {record.kind}"
        )
    if not prefix.is_below(record.prefix):
        raise RecordMismatch(f"the referral delegates {record.prefix}, which does not cover {prefix}")
    if delegated is not None and not record.prefix.is_below(delegated):
        raise RecordMismatch(f"the referral to {record.prefix} does not lead below {delegated}")


async def resolve_prefix_record(ctx: ResolverContext, prefix: Prefix) -> Served:
    """The answer for `0.NA/<prefix>`: the registry's values, verified along the chain."""
    lookup = await lookup_prefix(ctx, prefix)
    return Served(prefix_answer(lookup.chain), cached=lookup.cached, stale=lookup.stale)


def prefix_answer(chain: PrefixChain) -> Answer:
    """A prefix chain as the answer to a query for the prefix's record."""
    if chain.status == "not_found":
        return NotFound(chain.reason or "Handle not found")
    record = chain.record if chain.status == "verified" else None
    verification = Verification(
        VERIFIED if record is not None else FAILED,
        chain.registries,
        chain.checked_at,
        reason=chain.reason,
        verification_method=chain.verification_method,
        cryptosuites=chain.cryptosuites,
        version=record.version if record is not None else None,
        digest=chain.digest,
        prefix_record=PrefixRecordSummary.of(record) if record is not None else None,
        prefix_digest=chain.digest,
    )
    return Found(chain.values, verification)


# --------------------------------------------------------------------------------------------------------------
# Records


async def resolve_record(ctx: ResolverContext, handle: Handle, *, as_peer: bool = False) -> Served:
    """The verified answer for a handle under an enterprise prefix, cached; raises `UpstreamError` when
    an upstream does not answer and no cached answer is young enough to serve stale."""
    key = (PEER_KEY if as_peer else HANDLE_KEY) + handle.key
    now = ctx.seconds()
    entry = ctx.answers.get(key)
    counts = ctx.stats.cache
    if entry is not None and entry.fresh(now):
        counts["answers", "hit"] += 1
        return Served(entry.value, cached=True, entry=entry)
    counts["answers", "miss"] += 1
    try:
        served: Served = await ctx.flights.run(key, lambda: _fetch_record(ctx, handle, key, as_peer))
    except UpstreamError:
        if (
            entry is not None
            and isinstance(entry.value, Found)
            and entry.stale_for(now) <= ctx.settings.max_stale_seconds
        ):
            counts["answers", "stale"] += 1
            return Served(entry.value, cached=True, stale=True)
        raise
    return served


async def _fetch_record(ctx: ResolverContext, handle: Handle, key: str, as_peer: bool) -> Served:
    budget = UpstreamBudget.start(ctx.settings)
    lookup = await lookup_prefix(ctx, handle.prefix, budget)
    try:
        answer, ttl = await fetch_record(ctx, handle, lookup.chain, as_peer=as_peer, budget=budget)
    except NodeUnreachable as exc:  # a registry's failure was counted by _fetch_prefix
        ctx.stats.upstream_failed(exc)
        raise
    if lookup.cached and not lookup.stale and _key_changed(answer):
        # The record names a key the cached prefix record does not allow: the enterprise may have rotated
        # or revoked keys since. Ask the registries again, once, rather than wait out the prefix ttl.
        ctx.stats.key_refreshes += 1
        ctx.prefixes.drop(PREFIX_KEY + handle.prefix.key)
        lookup = await lookup_prefix(ctx, handle.prefix, budget)
        if (
            isinstance(answer, Found)
            and lookup.chain.status == "verified"
            and lookup.chain.record is not None
        ):
            verification = await verify_record(ctx, handle, answer.values, lookup.chain, ctx.now())
            answer = Found(answer.values, verification)
        else:
            answer, ttl = await fetch_record(ctx, handle, lookup.chain, as_peer=as_peer, budget=budget)
    code = answer.verification.code if isinstance(answer, Found) else None
    if (
        code is not None and code != PREFIX_UNTRUSTED
    ):  # the prefix chain's failure was counted where it failed
        ctx.stats.verification_failures[code] += 1
    if lookup.stale:
        # Built on a prefix record past its ttl: good for this request, not worth keeping.
        return Served(answer, stale=True)
    now = ctx.seconds()
    ttl = min(ttl, max(lookup.expires_at - now, 0.0)) if isinstance(answer, Found) else ttl
    ctx.answers.put(key, answer, now=now, ttl=ttl)
    return Served(answer)


def _key_changed(answer: Answer) -> bool:
    """Whether an answer failed on a key a newer prefix record might allow."""
    return isinstance(answer, Found) and answer.verification.code in KEY_CODES


async def fetch_record(
    ctx: ResolverContext,
    handle: Handle,
    chain: PrefixChain,
    *,
    as_peer: bool = False,
    budget: UpstreamBudget | None = None,
) -> tuple[Answer, float]:
    """Fetch `handle` from the node the verified prefix chain names (within `budget`, a fresh one when None)
    and verify it; the answer and its ttl."""
    settings = ctx.settings
    negative = float(settings.negative_ttl_seconds)
    now = ctx.now()
    if chain.status == "not_found":
        return NotFound(chain.reason or f"prefix {handle.prefix} is not registered"), negative
    record = chain.record
    if chain.status == "failed" or record is None:
        reason = f"the prefix record cannot be trusted: {chain.reason}"
        failed = Verification(FAILED, chain.registries, now, reason=reason, code=PREFIX_UNTRUSTED)
        return Found((), failed), chain.ttl
    summary = PrefixRecordSummary.of(record)
    if record.kind != ENTERPRISE:
        reason = (
            f"prefix {record.prefix} is delegated to the registry {record.service_url}; it holds no handles"
        )
        verification = Verification(
            FAILED, chain.registries, now, reason=reason, prefix_record=summary, code="prefix-delegated"
        )
        return Found((), verification), chain.ttl
    upstream = ctx.peer_upstream if as_peer else ctx.upstream
    node = await upstream.resolve(
        record.service_url,
        handle.text,
        unreachable=NodeUnreachable,
        budget=budget or UpstreamBudget.start(settings),
    )
    if node.code == HANDLE_NOT_FOUND and node.status == 404:
        return NotFound("Handle not found"), negative
    if node.status != 200 or node.code not in (SUCCESS, VALUES_NOT_FOUND):
        detail = f": {node.message}" if node.message else ""
        raise NodeUnreachable(node.url, f"answered HTTP {node.status} with response code {node.code}{detail}")
    verification = await verify_record(ctx, handle, node.values, chain, ctx.now())
    return Found(node.values, verification), _ttl(node.values, float(settings.max_ttl_seconds))


async def verify_record(
    ctx: ResolverContext, handle: Handle, values: tuple[HandleValue, ...], chain: PrefixChain, now: datetime
) -> Verification:
    """Verify a record's values with the handle's own (verified) prefix record."""
    record = chain.record
    if record is None or chain.digest is None:
        raise ValueError("verify_record needs a verified prefix chain")
    base: dict[str, Any] = {
        "registries": chain.registries,
        "checked_at": now,
        "prefix_record": PrefixRecordSummary.of(record),
        "prefix_digest": chain.digest,
    }
    if not carries_document(values):
        return Verification(UNSIGNED, **base)
    digest: str | None = None
    version: int | None = None
    try:
        _, document = signed_document(ctx.catalog, values)
        digest = document_digest(document)
        check = ctx.verifier.verify(document, digest, record, _record_identity(chain.digest), now=now)
        named = document.get("handle")
        if not isinstance(named, str) or fold_ascii(named) != handle.key:
            raise RecordMismatch(f"the signed document is the record of {named!r}, not of {handle.text}")
        claimed = document.get("version")
        if claimed is not None:
            if not isinstance(claimed, int) or isinstance(claimed, bool) or claimed < 1:
                raise RecordMismatch(f"the signed version {claimed!r} is not a positive integer")
            version = claimed
            await ctx.guard.check(handle.key, handle.text, claimed, digest, at=format_datetime(now))
    except VerificationError as exc:
        code = failure_code(exc)
        return Verification(FAILED, reason=str(exc), version=version, digest=digest, code=code, **base)
    return Verification(
        VERIFIED,
        verification_method=check.verification_method,
        cryptosuites=check.cryptosuites,
        version=version,
        digest=digest,
        **base,
    )
