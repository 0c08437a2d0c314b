"""Rotating and revoking the node's keys with its registry: old records stay verifiable with retired keys,
records signed after a revocation are refused.

The registry's record of the prefix is what verifiers trust, so every change is a signed `key-change/1`
the registry accepts first; the node's key directory (`certs.key_directory`) follows.

Rotation (routine) is two key changes, so that nothing is ever signed with a key the registry has already
retired:

1. prepare a successor (`<alg>.next.key`) and ask the registry to add it, signed with the current key;
2. switch: the node signs with the successor from now on (a running node notices on its next signature);
3. wait for the next whole second, then ask the registry to retire the outgoing key, signed with the new
   one. The registry retires it as of the request's `created`; proofs carry whole seconds, so everything
   the outgoing key signed is dated before its retirement (a single add-and-retire change would refuse
   what the node signed in the second of the change, and until a running node switched);
4. record the registry's `retiredAt` in `history.json` (the node's DID document shows it as `expires`).

Revocation (compromise) is one change: add the successor and revoke the compromised key together, signed
with the compromised key (the only one the registry still accepts), leaving a thief no moment to change the
keys first. Proofs dated in the second of the revocation or later are refused, including any the node made
itself in that second: for a compromise, the safe side.

A refusal leaves the node's keys as they were (a prepared successor is deleted). When the registry does not
answer, a prepared successor is kept: the registry may have accepted a change whose answer was lost. Every
attempt starts from the registry's current record and first finishes what an interrupted one left: a
prepared successor the registry lists is switched to; a key it lists as active that the node no longer
holds is retired.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from certs.data_integrity import ASSERTION_METHOD
from certs.identity import ServiceIdentity
from certs.keys import SigningKey
from handle_registry.prefix_records import PrefixRecord
from metadata_templates import Catalog, TemplateValidationError, validate
from node.registry_client import RegistryRefused, RegistryUnreachable, fetch_prefix_record, submit_key_change
from node.settings import NodeSettings

KEY_CHANGE_TEMPLATE: Final = "key-change/1"

Sleep = Callable[[float], Awaitable[None]]


class KeyChangeNotAllowed(Exception):
    """The change is refused before asking the registry (it would leave the node unable to sign, …)."""


class RotationIncomplete(Exception):
    """The node signs with its new key, but the registry has not retired the old one yet: run again."""


@dataclass(frozen=True, slots=True)
class RegistryLink:
    """How the node reaches its registry."""

    url: str
    did: str
    ssl_context: Any = None
    """An `ssl.SSLContext` for an HTTPS registry with a private CA; None for the system's CAs."""
    timeout_seconds: float = 30


@dataclass(frozen=True, slots=True)
class KeyChangeOutcome:
    """What changed: the verification methods added, retired and revoked, and the registry's record."""

    added: tuple[str, ...]
    retired: tuple[str, ...]
    revoked: tuple[str, ...]
    record_version: int
    finished_interrupted: bool = False
    """True when the attempt only finished a change an earlier, interrupted attempt had started."""


def build_key_change(
    catalog: Catalog,
    prefix: str,
    *,
    add: Iterable[Mapping[str, str]] = (),
    retire: Iterable[str] = (),
    revoke: Iterable[str] = (),
    reason: str,
) -> dict[str, Any]:
    """An unsigned `key-change/1` document; raises `TemplateValidationError` when it is invalid."""
    template = catalog.resolve(KEY_CHANGE_TEMPLATE)
    document: dict[str, Any] = {
        "@context": [template.context_url],
        "type": template.jsonld_type,
        "prefix": prefix,
        "reason": reason,
    }
    for name, items in (
        ("add", [dict(entry) for entry in add]),
        ("retire", list(retire)),
        ("revoke", list(revoke)),
    ):
        if items:
            document[name] = items
    validate(template, document)
    return document


def _entry(identity: ServiceIdentity, key: SigningKey) -> dict[str, str]:
    return {"id": identity.method_id(key), "publicKeyMultibase": key.public_key.multibase}


async def current_record(catalog: Catalog, settings: NodeSettings, link: RegistryLink) -> PrefixRecord:
    """The registry's current record of the node's prefix (the node takes its own registry's answer as is:
    it only mirrors key times from it; resolvers verify records against the registry's signature)."""
    document = await fetch_prefix_record(
        link.url, settings.prefix, ssl_context=link.ssl_context, timeout_seconds=link.timeout_seconds
    )
    return _parse(catalog, document)


def _parse(catalog: Catalog, document: Mapping[str, Any]) -> PrefixRecord:
    try:
        return PrefixRecord.from_document(document, catalog)
    except (TemplateValidationError, ValueError, KeyError, TypeError) as exc:
        raise RegistryRefused(200, {"title": "Not a prefix record", "detail": str(exc)}, "") from None


async def _send(
    identity: ServiceIdentity,
    catalog: Catalog,
    settings: NodeSettings,
    link: RegistryLink,
    **change: Any,
) -> PrefixRecord:
    document = build_key_change(catalog, settings.prefix, **change)
    signed = identity.sign_request(document, catalog.loader, domain=link.did)
    answer = await submit_key_change(
        link.url, settings.prefix, signed, ssl_context=link.ssl_context, timeout_seconds=link.timeout_seconds
    )
    return _parse(catalog, answer)


def _active(record: PrefixRecord) -> dict[Any, str]:
    """Public key → method id of the record's keys usable now."""
    return {method.public_key: method.id for method in record.did_document().active_methods(ASSERTION_METHOD)}


def _finish_prepared(identity: ServiceIdentity, record: PrefixRecord, reason: str) -> bool:
    """Switch to prepared successors the registry already lists (an attempt interrupted after the registry
    accepted them); True when it did."""
    prepared = identity.state.prepared
    if prepared and all(key.public_key in _active(record) for key in prepared):
        identity.directory.switch(at=datetime.now(UTC), reason=reason)
        return True
    return False


def _unheld_active(identity: ServiceIdentity, record: PrefixRecord) -> list[str]:
    """Ids of keys the registry lists as active that the node no longer signs with (nor has prepared)."""
    state = identity.state
    mine = {key.public_key for key in (*state.keys, *state.prepared)}
    return [method_id for key, method_id in _active(record).items() if key not in mine]


async def _after_whole_second(started: float, sleep: Sleep, clock: Callable[[], float]) -> None:
    """Wait until the clock is past the whole second `started` falls in (at most a second)."""
    remaining = int(started) + 1 - clock()
    if remaining > 0:
        await sleep(remaining + 0.01)


async def rotate_keys(
    identity: ServiceIdentity,
    catalog: Catalog,
    settings: NodeSettings,
    link: RegistryLink,
    *,
    reason: str = "key rotation",
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> KeyChangeOutcome:
    """Rotate every key of the node (see the module's steps), or finish an interrupted rotation.

    Raises `RegistryRefused` (nothing changed), `RegistryUnreachable` (nothing changed but a kept prepared
    successor) or `RotationIncomplete` (switched; the old key is not retired yet).
    """
    record = await current_record(catalog, settings, link)
    finished = _finish_prepared(identity, record, reason)
    added: tuple[str, ...] = ()
    if not finished and not _unheld_active(identity, record):
        successors = identity.state.prepared or identity.directory.prepare()
        listed = _active(record)
        new = [_entry(identity, key) for key in successors if key.public_key not in listed]
        try:
            record = await _send(identity, catalog, settings, link, add=new, reason=reason)
        except RegistryRefused:
            identity.directory.abandon()
            raise
        identity.directory.switch(at=datetime.now(UTC), reason=reason)
        added = tuple(identity.method_id(key) for key in successors)
    switched_at = clock()
    outgoing = _unheld_active(identity, record)
    if outgoing:
        # A running node signs with the successor from the switch on; what it signed with the old key in this
        # second must stay dated before the retirement.
        await _after_whole_second(switched_at, sleep, clock)
        try:
            record = await _send(identity, catalog, settings, link, retire=outgoing, reason=reason)
        except (RegistryRefused, RegistryUnreachable) as exc:
            new_ids = ", ".join(identity.method_id(key) for key in identity.keys)
            raise RotationIncomplete(
                f"now signing with {new_ids}, but the registry did not retire {', '.join(outgoing)}: {exc}; "
                "run the rotation again to finish it"
            ) from exc
    identity.directory.set_times(record.keys, reason=reason)
    return KeyChangeOutcome(added, tuple(outgoing), (), record.version, finished_interrupted=not added)


async def revoke_key(
    identity: ServiceIdentity,
    catalog: Catalog,
    settings: NodeSettings,
    link: RegistryLink,
    key_id: str,
    *,
    reason: str,
    rotate: bool = False,
) -> KeyChangeOutcome:
    """Revoke `key_id` at the registry: a key the node signs with only with `rotate` (a successor is added in
    the same change), a former or unknown-to-the-node key of the prefix at once.

    Raises `KeyChangeNotAllowed` (asked nothing), `RegistryRefused` (nothing changed) or
    `RegistryUnreachable` (nothing changed but a kept prepared successor: run the same command again).
    """
    record = await current_record(catalog, settings, link)
    finished = _finish_prepared(identity, record, reason)
    target = next((method for method in record.keys if method.id == key_id), None)
    if target is None:
        raise KeyChangeNotAllowed(f"{key_id} is not a key of prefix {settings.prefix} at its registry")
    if target.revoked is not None:
        identity.directory.set_times(record.keys, reason=reason)
        if finished:
            return KeyChangeOutcome((), (), (key_id,), record.version, finished_interrupted=True)
        raise KeyChangeNotAllowed(f"{key_id} is already revoked")
    held = {identity.method_id(key): key for key in identity.keys}
    if key_id not in held:
        if rotate:
            raise KeyChangeNotAllowed(f"the node does not sign with {key_id}: revoke it without --rotate")
        record = await _send(identity, catalog, settings, link, revoke=[key_id], reason=reason)
        identity.directory.set_times(record.keys, reason=reason)
        return KeyChangeOutcome((), (), (key_id,), record.version)
    if not rotate:
        raise KeyChangeNotAllowed(
            f"the node signs with {key_id}: revoking it needs a successor in the same change (--rotate)"
        )
    algorithm = held[key_id].algorithm
    if identity.state.prepared:
        identity.directory.abandon()  # left by an attempt the registry never accepted (checked above)
    (successor,) = identity.directory.prepare([algorithm])
    try:
        record = await _send(
            identity,
            catalog,
            settings,
            link,
            add=[_entry(identity, successor)],
            revoke=[key_id],
            reason=reason,
        )
    except RegistryRefused:
        identity.directory.abandon()
        raise
    identity.directory.switch(at=datetime.now(UTC), reason=reason)
    identity.directory.set_times(record.keys, reason=reason)
    return KeyChangeOutcome((identity.method_id(successor),), (), (key_id,), record.version)
