"""Administrators' use-cases: accounts, deciding applications, suspending, delegating to other registries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final

from certs.data_integrity import ASSERTION_METHOD
from certs.did import DidDocument, VerificationMethod
from common.passwords import ACCOUNT_NAME, ACCOUNT_NAME_RULE, check_secret, hash_secret, new_secret
from handle_registry.identifiers import InvalidPrefix, Prefix
from handle_registry.prefix_records import PrefixRecord
from handle_registry.service.applications import (
    OPEN_STATUSES,
    delegation_covering,
    read_application,
)
from handle_registry.service.core import (
    Registry,
    check_did,
    check_method_id,
    check_served,
    parse_path_prefix,
    reissue,
    sign_record,
)
from handle_registry.service.errors import (
    AdminAuthenticationRequired,
    PrefixDelegated,
    PrefixesBelow,
    PrefixNotFound,
    PrefixTaken,
    WrongStatus,
    invalid,
)
from handle_registry.service.queries import PrefixDetails, read_details
from handle_registry.service.repository import PrefixEntry, PrefixFields, RegistryStore, RegistryTransaction

MAX_REASON_LENGTH: Final = 2000
# What counts as blank in a reason: exactly JavaScript's \s (the OpenAPI pattern's regex dialect), so the
# document and the server agree on what a blank reason is.
_BLANK: Final = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_URL: Final = re.compile(r"https?://[^/?#\s]+(/[^?#\s]*)?")


class InvalidAdminName(ValueError):
    """An administrator name other than 1-64 letters, digits, '.', '_', '@', '-'."""


# --- accounts -------------------------------------------------------------------------------------


async def create_admin(store: RegistryStore, name: str, *, at: datetime) -> str:
    """Create an administrator and return its secret (shown once; only a salted hash is stored)."""
    if not ACCOUNT_NAME.fullmatch(name):
        raise InvalidAdminName(f"administrator name {name!r} must be {ACCOUNT_NAME_RULE}")
    secret = new_secret()
    async with store.transaction(write=True) as tx:
        await tx.add_admin(name, hash_secret(secret), at=at)
    return secret


@cache
def _decoy_hash() -> str:
    return hash_secret("decoy secret, never handed out")


async def authenticate_admin(registry: Registry, name: str, secret: str) -> str:
    """The administrator's name if the secret is right; 401 otherwise (the same answer for unknown names)."""
    async with registry.store.transaction() as tx:
        stored = await tx.admin_secret_hash(name) if ACCOUNT_NAME.fullmatch(name) else None
    if stored is None:
        # Spend the same time as a wrong secret, so a name's existence does not show in the answer time.
        check_secret(secret, _decoy_hash())
        raise AdminAuthenticationRequired("unknown administrator or wrong secret")
    if not registry.checker.check(secret, stored):
        raise AdminAuthenticationRequired("unknown administrator or wrong secret")
    return name


def _actor(admin: str) -> str:
    return f"admin:{admin}"


def read_reason(body: Mapping[str, Any]) -> str:
    """The `reason` of a body `{"reason": "..."}`; 422 when it is missing, empty or not alone."""
    for name in body:
        if name != "reason":
            raise invalid(f"/{name}", "member is not part of this request (only reason)")
    reason = body.get("reason")
    if not isinstance(reason, str) or not any(char not in _BLANK for char in reason):
        raise invalid("/reason", "a reason (a string that is not blank) is required")
    if len(reason) > MAX_REASON_LENGTH:
        raise invalid("/reason", f"a reason has at most {MAX_REASON_LENGTH} characters")
    return reason.strip(_BLANK)


async def _locked_entry(tx: RegistryTransaction, prefix: Prefix, wanted: str, action: str) -> PrefixEntry:
    entry = await tx.prefix(prefix, for_update=True)
    if entry is None:
        raise PrefixNotFound(f"no prefix {prefix} is registered here")
    if entry.status != wanted:
        raise WrongStatus(
            f"prefix {entry.prefix} is {entry.status}; only {wanted} prefixes can be {action}",
            prefixStatus=entry.status,
        )
    return entry


async def _details(tx: RegistryTransaction, prefix: Prefix) -> PrefixDetails:
    details = await read_details(tx, prefix)
    assert details is not None  # read inside the transaction that just wrote it
    return details


# --- decisions ------------------------------------------------------------------------------------


async def approve_prefix(registry: Registry, prefix_text: str, admin: str) -> PrefixDetails:
    """Approve a pending application: sign record version 1 (the next version) and store it."""
    prefix = parse_path_prefix(prefix_text)
    now = registry.now()
    async with registry.store.transaction(write=True) as tx:
        entry = await _locked_entry(tx, prefix, "pending", "approved")
        application = read_application(registry.catalog, entry.application)
        version = entry.version + 1
        # Signed before anything is written: a signing failure leaves the application pending.
        signed = sign_record(
            registry,
            prefix=entry.prefix,
            kind="enterprise",
            status="approved",
            version=version,
            issued=now,
            service_url=application.service_url,
            did=application.did,
            keys=application.keys,
            enterprise=application.enterprise(),
        )
        await tx.add_record(entry.id, version, signed, issued_at=now)
        await tx.set_status(entry.id, status="approved", version=version, reason=None, at=now)
        await tx.append_event(entry.id, at=now, action="approved", actor=_actor(admin), version=version)
        return await _details(tx, prefix)


async def reject_prefix(
    registry: Registry, prefix_text: str, admin: str, body: Mapping[str, Any]
) -> PrefixDetails:
    """Reject a pending application with a reason; the enterprise may apply again."""
    prefix = parse_path_prefix(prefix_text)
    reason = read_reason(body)
    now = registry.now()
    async with registry.store.transaction(write=True) as tx:
        entry = await _locked_entry(tx, prefix, "pending", "rejected")
        await tx.set_status(entry.id, status="rejected", version=entry.version, reason=reason, at=now)
        await tx.append_event(entry.id, at=now, action="rejected", actor=_actor(admin), reason=reason)
        return await _details(tx, prefix)


async def _reissue_with_status(
    registry: Registry,
    prefix_text: str,
    admin: str,
    body: Mapping[str, Any],
    *,
    source: str,
    target: str,
    action: str,
) -> PrefixDetails:
    prefix = parse_path_prefix(prefix_text)
    reason = read_reason(body)
    now = registry.now()
    async with registry.store.transaction(write=True) as tx:
        entry = await _locked_entry(tx, prefix, source, action)
        found = await tx.prefix_with_record(prefix)
        if found is None or found[1] is None:  # approved and suspended prefixes always have a record
            raise WrongStatus(f"prefix {entry.prefix} has no record to reissue")
        record = PrefixRecord.from_document(found[1].document, registry.catalog)
        signed = reissue(registry, record, status=target, issued=now)
        version = record.version + 1
        await tx.add_record(entry.id, version, signed, issued_at=now)
        await tx.set_status(entry.id, status=target, version=version, reason=reason, at=now)
        await tx.append_event(
            entry.id, at=now, action=action, actor=_actor(admin), reason=reason, version=version
        )
        return await _details(tx, prefix)


async def suspend_prefix(
    registry: Registry, prefix_text: str, admin: str, body: Mapping[str, Any]
) -> PrefixDetails:
    """Suspend an approved prefix: a new record version says so, and nothing signed under it verifies."""
    return await _reissue_with_status(
        registry, prefix_text, admin, body, source="approved", target="suspended", action="suspended"
    )


async def reinstate_prefix(
    registry: Registry, prefix_text: str, admin: str, body: Mapping[str, Any]
) -> PrefixDetails:
    """Reinstate a suspended prefix with a new, approved record version."""
    return await _reissue_with_status(
        registry, prefix_text, admin, body, source="suspended", target="approved", action="reinstated"
    )


# --- delegation -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delegation:
    """A checked delegation request: a sub-prefix handed to another registry."""

    prefix: Prefix
    service_url: str
    did: DidDocument
    keys: tuple[VerificationMethod, ...]
    request: Mapping[str, Any]


def read_delegation(body: Mapping[str, Any], registry: Registry) -> Delegation:
    """Check `{"prefix","serviceUrl","didDocument"}`; 422 with a pointer for anything wrong."""
    for name in body:
        if name not in ("prefix", "serviceUrl", "didDocument"):
            raise invalid(f"/{name}", "member is not part of a delegation (prefix, serviceUrl, didDocument)")
    for name in ("prefix", "serviceUrl", "didDocument"):
        if name not in body:
            raise invalid(f"/{name}", "required member is missing")
    text = body["prefix"]
    if not isinstance(text, str):
        raise invalid("/prefix", "must be a string")
    try:
        prefix = Prefix(text)
    except InvalidPrefix as exc:
        raise invalid("/prefix", str(exc)) from None
    service_url = body["serviceUrl"]
    if not isinstance(service_url, str) or not _URL.fullmatch(service_url):
        raise invalid("/serviceUrl", "must be an http(s) URL without query or fragment")
    raw = body["didDocument"]
    if not isinstance(raw, Mapping):
        raise invalid("/didDocument", "must be a DID document (a JSON object)")
    try:
        did = DidDocument.from_json(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # DidDocument.from_json trusts the shape of nested members; anything it trips over is a bad document.
        raise invalid("/didDocument", f"not a usable DID document: {exc}") from None
    check_did(did.id, "/didDocument/id")
    listed = did.relationships.get(ASSERTION_METHOD, ())
    keys = tuple(method for method in did.methods if method.id in listed)
    for position, method in enumerate(did.methods):
        if method.id in listed:
            check_method_id(method.id, did.id, f"/didDocument/verificationMethod/{position}/id")
    if not did.active_methods(ASSERTION_METHOD, registry.now()):
        raise invalid("/didDocument/assertionMethod", "the DID document lists no active assertion key")
    return Delegation(prefix, service_url, did, keys, body)


async def delegate_prefix(registry: Registry, body: Mapping[str, Any], admin: str) -> PrefixDetails:
    """Delegate a sub-prefix to another registry: a signed record of kind `registry` with its keys."""
    delegation = read_delegation(body, registry)
    prefix = delegation.prefix
    check_served(registry, prefix)
    now = registry.now()
    async with registry.store.transaction(write=True) as tx:
        covering = await delegation_covering(tx, prefix)
        if covering is not None and covering.prefix != prefix:
            raise PrefixDelegated(
                f"prefix {prefix} lies under {covering.prefix}, already delegated to {covering.service_url}",
                delegatedPrefix=covering.prefix.text,
                registry=covering.service_url,
                registryDid=covering.did,
            )
        existing = await tx.prefix(prefix, for_update=True)
        if existing is not None and existing.status in OPEN_STATUSES:
            raise PrefixTaken(f"prefix {existing.prefix} is already {existing.status} ({existing.kind})")
        below = await tx.prefixes_below(prefix, statuses=OPEN_STATUSES)
        if below:
            raise PrefixesBelow(
                f"prefixes are registered below {prefix} ({', '.join(below)}); they would be cut off",
                prefixes=below,
            )
        version = (existing.version if existing is not None else 0) + 1
        signed = sign_record(
            registry,
            prefix=prefix,
            kind="registry",
            status="approved",
            version=version,
            issued=now,
            service_url=delegation.service_url,
            did=delegation.did.id,
            keys=delegation.keys,
        )
        fields = PrefixFields(
            kind="registry", did=delegation.did.id, service_url=delegation.service_url, application=dict(body)
        )
        if existing is None:
            entry_id = await tx.insert_prefix(prefix, fields, status="approved", at=now)
        else:
            entry_id = existing.id
            await tx.replace_application(entry_id, prefix, fields, at=now)
        await tx.add_record(entry_id, version, signed, issued_at=now)
        await tx.set_status(entry_id, status="approved", version=version, reason=None, at=now)
        await tx.append_event(entry_id, at=now, action="delegated", actor=_actor(admin), version=version)
        return await _details(tx, prefix)
