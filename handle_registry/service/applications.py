"""Use-cases an enterprise starts with a signed request: applying for a prefix, changing its keys."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from certs.data_integrity import AUTHENTICATION, format_datetime
from certs.did import DidDocument, VerificationMethod
from certs.errors import KeyExpiredError, KeyRevokedError, UnknownVerificationMethodError
from certs.keys import PublicKey, public_key_from_multibase
from handle_registry.identifiers import NA_PREFIX_TEXT, InvalidPrefix, Prefix
from handle_registry.prefix_records import PrefixRecord
from handle_registry.service.core import (
    Registry,
    check_did,
    check_method_id,
    check_served,
    nonce_expiry,
    parse_path_prefix,
    reissue,
    unsigned,
    validate_against,
    verify_signed_request,
)
from handle_registry.service.errors import (
    PrefixDelegated,
    PrefixNotFound,
    PrefixTaken,
    WrongStatus,
    invalid,
)
from handle_registry.service.repository import PrefixEntry, PrefixFields, RegistryTransaction
from metadata_templates import Catalog
from metadata_templates.codes import CodeError, normalize_industry_code

APPLICATION_TEMPLATE: Final = "prefix-application/1"
PROFILE_TEMPLATE: Final = "enterprise-profile/1"
KEY_CHANGE_TEMPLATE: Final = "key-change/1"
OPEN_STATUSES: Final = ("pending", "approved", "suspended")
"""Statuses that hold a prefix: applying for it again is a conflict (a rejected prefix may apply again)."""
NA_PREFIX: Final = Prefix(NA_PREFIX_TEXT)


@dataclass(frozen=True, slots=True)
class Application:
    """A checked `prefix-application/1` document (its signature is checked separately)."""

    prefix: Prefix
    did: str
    service_url: str
    keys: tuple[VerificationMethod, ...]
    profile: Mapping[str, Any]
    document: Mapping[str, Any]

    def did_document(self) -> DidDocument:
        """The applicant's keys as the key resolver for proof of possession."""
        ids = tuple(key.id for key in self.keys)
        return DidDocument(id=self.did, methods=self.keys, relationships={AUTHENTICATION: ids})

    def fields(self) -> PrefixFields:
        """What is stored about the prefix."""
        industry = str(self.profile["industry"])
        # Validated by the template already; stored in letter form (C3216) so filters by prefix work.
        with contextlib.suppress(CodeError):
            industry = normalize_industry_code(industry)
        return PrefixFields(
            kind="enterprise",
            did=self.did,
            service_url=self.service_url,
            application=dict(self.document),
            enterprise_name=str(self.profile["name"]),
            uscc=str(self.profile["uscc"]),
            region=str(self.profile["region"]),
            industry=industry,
        )

    def enterprise(self) -> dict[str, str]:
        """The enterprise members of the prefix record."""
        fields = self.fields()
        return {
            "enterpriseName": fields.enterprise_name or "",
            "uscc": fields.uscc or "",
            "region": fields.region or "",
            "industry": fields.industry or "",
        }


def parse_key_entries(
    entries: list[Mapping[str, Any]], did: str, pointer: str
) -> tuple[VerificationMethod, ...]:
    """Keys as listed in applications and key changes: ids under `did`, unique ids and keys, valid Multikeys."""
    methods: list[VerificationMethod] = []
    seen_keys: set[PublicKey] = set()
    for position, entry in enumerate(entries):
        where = f"{pointer}/{position}"
        key_id = str(entry["id"])
        check_method_id(key_id, did, f"{where}/id")
        if any(method.id == key_id for method in methods):
            raise invalid(f"{where}/id", f"key id {key_id} is listed twice")
        try:
            public_key = public_key_from_multibase(str(entry["publicKeyMultibase"]))
        except ValueError as exc:  # KeyFormatError, or a point that is not on the curve
            raise invalid(f"{where}/publicKeyMultibase", str(exc)) from None
        if public_key in seen_keys:
            raise invalid(f"{where}/publicKeyMultibase", "this public key is listed twice")
        seen_keys.add(public_key)
        methods.append(VerificationMethod(key_id, did, public_key))
    return tuple(methods)


def read_application(catalog: Catalog, body: Mapping[str, Any]) -> Application:
    """Check an application's contents (template, embedded profile, prefix, keys); 422 with pointers."""
    document = unsigned(body)
    validate_against(catalog.resolve(APPLICATION_TEMPLATE), document)
    profile = unsigned(document["profile"])
    validate_against(catalog.resolve(PROFILE_TEMPLATE), profile, pointer="/profile")
    try:
        prefix = Prefix(str(document["prefix"]))
    except InvalidPrefix as exc:
        raise invalid("/prefix", str(exc)) from None
    if prefix.is_na or prefix.is_below(NA_PREFIX):
        raise invalid("/prefix", "0.NA and its derived prefixes are not assignable")
    try:
        same = Prefix(str(profile["prefix"])) == prefix
    except InvalidPrefix:
        same = False
    if not same:
        raise invalid(
            "/profile/prefix", f"the profile is for {profile['prefix']!r}, the application for {prefix}"
        )
    did = str(document["did"])
    check_did(did, "/did")
    keys = parse_key_entries(document["keys"], did, "/keys")
    return Application(prefix, did, str(document["serviceUrl"]), keys, profile, body)


async def delegation_covering(tx: RegistryTransaction, prefix: Prefix) -> PrefixEntry | None:
    """The delegation at or above `prefix` (a prefix handed to another registry), if any."""
    for entry, _ in await tx.lineage(prefix):
        if entry.kind == "registry" and entry.status in ("approved", "suspended"):
            return entry
    return None


def _refuse_delegated(prefix: Prefix, delegation: PrefixEntry) -> PrefixDelegated:
    return PrefixDelegated(
        f"prefix {prefix} lies under {delegation.prefix}, which is delegated to the registry at "
        f"{delegation.service_url}; apply there",
        delegatedPrefix=delegation.prefix.text,
        registry=delegation.service_url,
        registryDid=delegation.did,
    )


async def apply_for_prefix(registry: Registry, body: Mapping[str, Any]) -> PrefixEntry:
    """An enterprise applies for a prefix; the application is stored pending an administrator's decision."""
    application = read_application(registry.catalog, body)
    prefix = application.prefix
    check_served(registry, prefix)
    async with registry.store.transaction() as tx:
        delegation = await delegation_covering(tx, prefix)
    if delegation is not None:
        raise _refuse_delegated(prefix, delegation)
    request = verify_signed_request(
        registry, body, application.did_document(), unknown_key_code="key-not-in-application"
    )
    now = registry.now()
    async with registry.store.transaction(write=True) as tx:
        await tx.remember_nonce(
            request.verification_method, request.nonce, expires_at=nonce_expiry(registry, request), now=now
        )
        # Checked again under the write lock: a delegation may have been made meanwhile.
        delegation = await delegation_covering(tx, prefix)
        if delegation is not None:
            raise _refuse_delegated(prefix, delegation)
        existing = await tx.prefix(prefix, for_update=True)
        if existing is not None and existing.status in OPEN_STATUSES:
            raise PrefixTaken(
                f"prefix {existing.prefix} is already {existing.status}",
                prefix=existing.prefix.text,
                prefixStatus=existing.status,
            )
        fields = application.fields()
        if existing is None:
            entry_id = await tx.insert_prefix(prefix, fields, status="pending", at=now)
        else:
            entry_id = existing.id
            await tx.replace_application(entry_id, prefix, fields, at=now)
        await tx.keep_application(entry_id, fields.application, at=now, actor=request.verification_method)
        await tx.append_event(entry_id, at=now, action="applied", actor=request.verification_method)
        entry = await tx.prefix(prefix)
    assert entry is not None
    return entry


# --- key changes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ActiveKeysOf:
    """A key resolver accepting only keys of the record that are active now (not retired, not revoked)."""

    record: PrefixRecord
    now: datetime

    def resolve_key(self, verification_method: str, purpose: str, created: datetime | None) -> PublicKey:
        method = next((key for key in self.record.keys if key.id == verification_method), None)
        if method is None:
            raise UnknownVerificationMethodError(
                f"{verification_method} is not a key of prefix {self.record.prefix}"
            )
        if method.revoked is not None and method.revoked <= self.now:
            raise KeyRevokedError(f"key {method.id} was revoked at {format_datetime(method.revoked)}")
        if method.expires is not None and method.expires <= self.now:
            raise KeyExpiredError(f"key {method.id} was retired at {format_datetime(method.expires)}")
        return self.record.resolve_key(verification_method, purpose, created)


def _changed_keys(
    record: PrefixRecord, document: Mapping[str, Any], *, retired_at: datetime, revoked_at: datetime
) -> tuple[VerificationMethod, ...]:
    """The record's keys after the change: added, retired, revoked; 422 for a change that cannot apply."""
    adds = parse_key_entries(document.get("add", []), record.did, "/add")
    retire = [str(text) for text in document.get("retire", [])]
    revoke = [str(text) for text in document.get("revoke", [])]
    if not adds and not retire and not revoke:
        raise invalid("", "a key change adds, retires or revokes at least one key")
    keys = {key.id: key for key in record.keys}
    for position, method in enumerate(adds):
        if method.id in keys:
            raise invalid(f"/add/{position}/id", f"key {method.id} is already listed")
        if any(key.public_key == method.public_key for key in keys.values()):
            raise invalid(f"/add/{position}/publicKeyMultibase", "this public key is already listed")
    for member, ids in (("retire", retire), ("revoke", revoke)):
        for position, key_id in enumerate(ids):
            if key_id not in keys:
                raise invalid(f"/{member}/{position}", f"{key_id} is not a key of prefix {record.prefix}")
            if ids.index(key_id) != position:
                raise invalid(f"/{member}/{position}", f"{key_id} is listed twice")
    for position, key_id in enumerate(retire):
        if key_id in revoke:
            raise invalid(f"/retire/{position}", f"{key_id} is both retired and revoked; revoke it only")
        if keys[key_id].expires is not None or keys[key_id].revoked is not None:
            raise invalid(f"/retire/{position}", f"key {key_id} is already retired or revoked")
        keys[key_id] = replace(keys[key_id], expires=retired_at)
    for position, key_id in enumerate(revoke):
        if keys[key_id].revoked is not None:
            raise invalid(f"/revoke/{position}", f"key {key_id} is already revoked")
        keys[key_id] = replace(keys[key_id], revoked=revoked_at)
    changed = (*keys.values(), *adds)
    moment = max(retired_at, revoked_at)
    if not any(
        (key.expires is None or key.expires > moment) and (key.revoked is None or key.revoked > moment)
        for key in changed
    ):
        raise invalid("", "the change would leave the prefix without an active key")
    return changed


async def change_keys(registry: Registry, prefix_text: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """An enterprise adds, retires or revokes keys of its prefix; returns the new signed record."""
    prefix = parse_path_prefix(prefix_text)
    document = unsigned(body)
    validate_against(registry.catalog.resolve(KEY_CHANGE_TEMPLATE), document)
    try:
        same = Prefix(str(document["prefix"])) == prefix
    except InvalidPrefix:
        same = False
    if not same:
        raise invalid("/prefix", f"the change is for {document['prefix']!r}, the request path names {prefix}")
    async with registry.store.transaction() as tx:
        found = await tx.prefix_with_record(prefix)
    entry, stored = found if found is not None else (None, None)
    if entry is None or stored is None or entry.status not in ("approved", "suspended"):
        raise PrefixNotFound(f"no approved prefix {prefix}")
    if entry.status != "approved":
        raise WrongStatus(f"prefix {entry.prefix} is {entry.status}; its keys change once it is reinstated")
    record = PrefixRecord.from_document(stored.document, registry.catalog)
    now = registry.now()
    request = verify_signed_request(
        registry, body, _ActiveKeysOf(record, now), unknown_key_code="key-not-in-record"
    )
    async with registry.store.transaction(write=True) as tx:
        # A replay is refused as such before its (by now outdated) contents are judged.
        await tx.remember_nonce(
            request.verification_method, request.nonce, expires_at=nonce_expiry(registry, request), now=now
        )
        current = await tx.prefix(prefix, for_update=True)
        if current is None or current.version != record.version or current.status != "approved":
            raise WrongStatus(f"prefix {prefix} changed while this request was checked; send a new request")
        keys = _changed_keys(record, document, retired_at=min(request.created, now), revoked_at=now)
        signed = reissue(registry, record, status="approved", issued=now, keys=keys)
        version = record.version + 1
        await tx.add_record(entry.id, version, signed, issued_at=now)
        await tx.set_status(
            entry.id, status="approved", version=version, reason=current.status_reason, at=now
        )
        await tx.append_event(
            entry.id,
            at=now,
            action="keys-changed",
            actor=request.verification_method,
            reason=str(document["reason"]),
            version=version,
        )
    return signed
