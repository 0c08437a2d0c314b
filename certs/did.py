"""`did:web` DID documents with Multikey verification methods, key rotation and revocation.

A node's, registry's or resolver's DID document lists its public keys as Multikey verification
methods under `assertionMethod` (signing published documents) and `authentication` (signing
requests). The time rules, shared by every verifier in carbonid:

- Rotation keeps the old key, listed, with `expires` = the rotation time. Proofs created before that
  time still verify (old records stay verifiable); proofs created at or after it raise `KeyExpiredError`.
- Revocation sets `revoked` = the revocation time; proofs created at or after it raise
  `KeyRevokedError`. A proof without `created` is judged as if created now.
- Signing is only offered with keys that are neither expired nor revoked now (`active_methods`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from certs.canonical import DID_V1, MULTIKEY_V1
from certs.data_integrity import ASSERTION_METHOD, AUTHENTICATION, format_datetime, parse_datetime
from certs.errors import (
    KeyExpiredError,
    KeyFormatError,
    KeyRevokedError,
    UnknownVerificationMethodError,
)
from certs.keys import PublicKey, public_key_from_multibase

RELATIONSHIPS = (ASSERTION_METHOD, AUTHENTICATION)
_DID_WEB_HOST = re.compile(r"^[A-Za-z0-9.\-]+(%3A\d{1,5})?$")


DID_DOCUMENT_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A did:web DID document with Multikey verification methods (`DidDocument.to_json()`).",
    "required": ["@context", "id", "verificationMethod"],
    "properties": {
        "@context": {"type": "array", "items": {"type": "string"}},
        "id": {"type": "string", "pattern": "^did:"},
        "verificationMethod": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "type", "controller", "publicKeyMultibase"],
                "properties": {
                    "id": {"type": "string"},
                    "type": {"const": "Multikey"},
                    "controller": {"type": "string"},
                    "publicKeyMultibase": {"type": "string", "pattern": "^z[1-9A-HJ-NP-Za-km-z]+$"},
                    "expires": {"type": "string", "format": "date-time"},
                    "revoked": {"type": "string", "format": "date-time"},
                },
            },
        },
        "assertionMethod": {"type": "array", "items": {"type": "string"}},
        "authentication": {"type": "array", "items": {"type": "string"}},
        "service": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "type", "serviceEndpoint"],
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string"},
                    "serviceEndpoint": {"type": "string"},
                },
            },
        },
    },
}
"""The JSON Schema of what `DidDocument.to_json()` writes, for the services' OpenAPI documents."""


class DidDocumentError(KeyFormatError):
    """A DID document is malformed."""


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    """A Multikey verification method, with the times after which it no longer verifies new proofs."""

    id: str
    controller: str
    public_key: PublicKey
    expires: datetime | None = None
    revoked: datetime | None = None

    def check_usable(self, created: datetime) -> None:
        """Raise `KeyRevokedError` / `KeyExpiredError` if a proof created at `created` must be refused."""
        if self.revoked is not None and created >= self.revoked:
            raise KeyRevokedError(f"key {self.id} was revoked at {format_datetime(self.revoked)}")
        if self.expires is not None and created >= self.expires:
            raise KeyExpiredError(f"key {self.id} was retired at {format_datetime(self.expires)}")

    def to_json(self) -> dict[str, Any]:
        """The verification method as it appears in the DID document."""
        data: dict[str, Any] = {
            "id": self.id,
            "type": "Multikey",
            "controller": self.controller,
            "publicKeyMultibase": self.public_key.multibase,
        }
        if self.expires is not None:
            data["expires"] = format_datetime(self.expires)
        if self.revoked is not None:
            data["revoked"] = format_datetime(self.revoked)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerificationMethod:
        """Parse a Multikey verification method."""
        if data.get("type") != "Multikey":
            raise DidDocumentError(f"verification method type {data.get('type')!r} is not Multikey")
        try:
            return cls(
                id=_string(data, "id"),
                controller=_string(data, "controller"),
                public_key=public_key_from_multibase(_string(data, "publicKeyMultibase")),
                expires=_time(data, "expires"),
                revoked=_time(data, "revoked"),
            )
        except KeyFormatError as exc:
            raise DidDocumentError(f"verification method {data.get('id')!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Service:
    """A DID service endpoint (for example the node's Handle REST API)."""

    id: str
    type: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class DidDocument:
    """A DID document; immutable, every change returns a new document."""

    id: str
    methods: tuple[VerificationMethod, ...] = ()
    relationships: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    services: tuple[Service, ...] = ()

    @classmethod
    def create(cls, did: str, keys: Iterable[PublicKey] = ()) -> DidDocument:
        """A new document whose keys serve both assertion and authentication."""
        document = cls(id=did, relationships={name: () for name in RELATIONSHIPS})
        for key in keys:
            document = document.add_key(key)
        return document

    def key_id(self, key: PublicKey) -> str:
        """The verification method id of `key` in this document: DID + '#' + its multibase."""
        return f"{self.id}#{key.multibase}"

    def add_key(self, key: PublicKey, *, relationships: Iterable[str] = RELATIONSHIPS) -> DidDocument:
        """Add a key (a no-op if it is already listed)."""
        method_id = self.key_id(key)
        methods = self.methods
        if all(m.id != method_id for m in methods):
            methods = (*methods, VerificationMethod(method_id, self.id, key))
        rels = dict(self.relationships)
        for name in relationships:
            if method_id not in rels.get(name, ()):
                rels[name] = (*rels.get(name, ()), method_id)
        return replace(self, methods=methods, relationships=rels)

    def rotate(self, new_key: PublicKey, *, at: datetime | None = None) -> DidDocument:
        """Add `new_key` and retire every currently active key as of `at` (old keys stay listed)."""
        at = at or datetime.now(UTC)
        retired = tuple(
            replace(m, expires=at) if m.expires is None and m.revoked is None else m for m in self.methods
        )
        return replace(self, methods=retired).add_key(new_key)

    def revoke(self, method_id: str, *, at: datetime | None = None) -> DidDocument:
        """Mark a key revoked from `at` on; proofs created from then on are refused."""
        self.method(method_id)
        at = at or datetime.now(UTC)
        return replace(
            self, methods=tuple(replace(m, revoked=at) if m.id == method_id else m for m in self.methods)
        )

    def method(self, method_id: str) -> VerificationMethod:
        """The verification method with this id, or `UnknownVerificationMethodError`."""
        for m in self.methods:
            if m.id == method_id:
                return m
        raise UnknownVerificationMethodError(f"{method_id} is not a verification method of {self.id}")

    def active_methods(
        self, purpose: str = ASSERTION_METHOD, at: datetime | None = None
    ) -> list[VerificationMethod]:
        """Methods usable to create a new proof for `purpose` at `at` (default now)."""
        at = at or datetime.now(UTC)
        listed = self.relationships.get(purpose, ())
        return [
            m
            for m in self.methods
            if m.id in listed
            and (m.expires is None or m.expires > at)
            and (m.revoked is None or m.revoked > at)
        ]

    def resolve_key(self, verification_method: str, purpose: str, created: datetime | None) -> PublicKey:
        """The key for a proof made for `purpose` at `created`; raises the precise `VerificationError`."""
        method = self.method(verification_method)
        if verification_method not in self.relationships.get(purpose, ()):
            raise UnknownVerificationMethodError(
                f"{verification_method} is not listed under {purpose} of {self.id}"
            )
        method.check_usable(created or datetime.now(UTC))
        return method.public_key

    def to_json(self) -> dict[str, Any]:
        """The DID document in its JSON-LD representation."""
        data: dict[str, Any] = {
            "@context": [DID_V1, MULTIKEY_V1],
            "id": self.id,
            "verificationMethod": [m.to_json() for m in self.methods],
        }
        for name in RELATIONSHIPS:
            if self.relationships.get(name):
                data[name] = list(self.relationships[name])
        if self.services:
            data["service"] = [
                {"id": s.id, "type": s.type, "serviceEndpoint": s.endpoint} for s in self.services
            ]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DidDocument:
        """Parse and check a DID document: every relationship must point at a listed method."""
        if not isinstance(data, Mapping):
            raise DidDocumentError("DID document must be a JSON object")
        did = _string(data, "id")
        if not did.startswith("did:"):
            raise DidDocumentError(f"id {did!r} is not a DID")
        raw_methods = data.get("verificationMethod", [])
        if not isinstance(raw_methods, list):
            raise DidDocumentError("verificationMethod must be a list")
        methods = tuple(VerificationMethod.from_json(m) for m in raw_methods)
        ids = {m.id for m in methods}
        if len(ids) != len(methods):
            raise DidDocumentError("verification method ids must be unique")
        relationships: dict[str, tuple[str, ...]] = {}
        for name in RELATIONSHIPS:
            refs = data.get(name, [])
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise DidDocumentError(f"{name} must be a list of verification method ids")
            unknown = [r for r in refs if r not in ids]
            if unknown:
                raise DidDocumentError(
                    f"{name} names {unknown[0]!r}, which is not a listed verification method"
                )
            relationships[name] = tuple(refs)
        services = tuple(
            Service(_string(s, "id"), _string(s, "type"), _string(s, "serviceEndpoint"))
            for s in data.get("service", [])
        )
        return cls(id=did, methods=methods, relationships=relationships, services=services)


def did_web_for_url(url: str) -> str:
    """The did:web DID of an HTTPS origin (and optional path): https://h:8443/a/b → did:web:h%3A8443:a:b."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    host = parts.hostname + (f"%3A{parts.port}" if parts.port else "")
    path = [quote(segment, safe="") for segment in parts.path.strip("/").split("/") if segment]
    if path[-1:] == ["did.json"]:
        path = path[:-1]
    if path == [".well-known"]:
        path = []
    return ":".join(["did", "web", host, *path])


def did_web_document_url(did: str) -> str:
    """Where a did:web document is fetched (the did:web method specification, §3.2.1)."""
    if not did.startswith("did:web:"):
        raise ValueError(f"{did!r} is not a did:web DID")
    host, *path = did[len("did:web:") :].split("#")[0].split(":")
    if not _DID_WEB_HOST.match(host):
        raise ValueError(f"{did!r} has an invalid host part")
    origin = "https://" + unquote(host)
    if path:
        return origin + "/" + "/".join(unquote(p) for p in path) + "/did.json"
    return origin + "/.well-known/did.json"


def _string(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise DidDocumentError(f"{name} must be a non-empty string")
    return value


def _time(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError as exc:
        raise DidDocumentError(f"{name}: {exc}") from None
