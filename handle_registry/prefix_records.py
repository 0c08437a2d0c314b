"""Prefix records: what a registry signs at `0.NA/<prefix>`, read as a key resolver and written as Handle values.

A prefix record (template `prefix-record/1`) names the node, or the delegated registry, that serves a
prefix: its service URL, DID and keys, with retirement and revocation times, and the record's version,
which only increases. Signed by the registry, it is the link between a trust anchor and every record
under the prefix: a record verifies only with a key its own prefix record lists (`PrefixRecord` is a
`KeyResolver`), and only while the prefix is approved.

Written as Handle values, the signed document is at 400 (proofs from 401), its fields from 2000 and
TEMPLATE at 1001, as for every carbonid record, plus the values Handle clients look for: HS_SITE at 1
(a `url` attribute carries the service URL, since HS_SITE server entries hold only IP addresses), URL
at 2, HS_ADMIN at 100 and one HS_PUBKEY (a JWK with `kid`) per currently usable key from 300.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from certs.data_integrity import ASSERTION_METHOD, AUTHENTICATION, format_datetime, parse_datetime
from certs.did import DidDocument, VerificationMethod
from certs.errors import VerificationError
from certs.keys import PublicKey, public_key_from_multibase
from handle_registry.identifiers import Prefix, parse_prefix
from handle_registry.records import handle_values_for_record
from handle_registry.values import (
    DEFAULT_ADMIN_PERMISSIONS,
    DEFAULT_TTL,
    AdminValue,
    HandleValue,
    PublicKeyJwk,
    ServerInfo,
    ServerInterface,
    SiteAttribute,
    SiteInfo,
    ValueData,
)
from metadata_templates import Catalog, validate
from metadata_templates.handle_mapping import document_to_values

TEMPLATE_REF = "prefix-record/1"
SITE_INDEX = 1
URL_INDEX = 2
ADMIN_INDEX = 100
PUBKEY_INDEX = 300
KINDS = ("enterprise", "registry")
STATUSES = ("approved", "suspended")


class PrefixSuspendedError(VerificationError):
    """The prefix is suspended: nothing signed under it verifies."""


@dataclass(frozen=True, slots=True)
class PrefixRecord:
    """A registry's record of a prefix, parsed from its (signed) document."""

    prefix: Prefix
    kind: str
    status: str
    version: int
    issued: datetime
    registry: str
    service_url: str
    did: str
    keys: tuple[VerificationMethod, ...]
    enterprise_name: str | None
    uscc: str | None
    region: str | None
    industry: str | None
    document: Mapping[str, Any]

    @classmethod
    def from_document(cls, document: Mapping[str, Any], catalog: Catalog) -> PrefixRecord:
        """Parse a prefix-record document (its proofs are verified elsewhere); raises `TemplateValidationError`."""
        validate(catalog.resolve(TEMPLATE_REF), {k: v for k, v in document.items() if k != "proof"})
        did = str(document["did"])
        keys = tuple(
            VerificationMethod(
                id=key["id"],
                controller=did,
                public_key=public_key_from_multibase(key["publicKeyMultibase"]),
                expires=parse_datetime(key["retiredAt"]) if "retiredAt" in key else None,
                revoked=parse_datetime(key["revokedAt"]) if "revokedAt" in key else None,
            )
            for key in document["keys"]
        )
        return cls(
            prefix=parse_prefix(str(document["prefix"])),
            kind=str(document["kind"]),
            status=str(document["status"]),
            version=int(document["version"]),
            issued=parse_datetime(str(document["issued"])),
            registry=str(document["registry"]),
            service_url=str(document["serviceUrl"]),
            did=did,
            keys=keys,
            enterprise_name=document.get("enterpriseName"),
            uscc=document.get("uscc"),
            region=document.get("region"),
            industry=document.get("industry"),
            document=document,
        )

    def did_document(self) -> DidDocument:
        """The keys as a DID document: every key serves assertion (records) and authentication (requests)."""
        ids = tuple(key.id for key in self.keys)
        return DidDocument(
            id=self.did, methods=self.keys, relationships={ASSERTION_METHOD: ids, AUTHENTICATION: ids}
        )

    def resolve_key(self, verification_method: str, purpose: str, created: datetime | None) -> PublicKey:
        """A key of this prefix for a proof made at `created`; raises while the prefix is suspended."""
        if self.status != "approved":
            raise PrefixSuspendedError(f"prefix {self.prefix} is {self.status}")
        if not verification_method.startswith(self.did + "#"):
            raise VerificationError(
                f"{verification_method} is not a key of prefix {self.prefix} ({self.did})"
            )
        return self.did_document().resolve_key(verification_method, purpose, created)

    def active_keys(self, at: datetime | None = None) -> list[VerificationMethod]:
        """Keys usable for new proofs at `at` (default now)."""
        return self.did_document().active_methods(ASSERTION_METHOD, at)


def key_entry(method: VerificationMethod) -> dict[str, str]:
    """A key as it appears in `keys` of prefix records and applications."""
    entry = {"id": method.id, "publicKeyMultibase": method.public_key.multibase}
    if method.expires is not None:
        entry["retiredAt"] = format_datetime(method.expires)
    if method.revoked is not None:
        entry["revokedAt"] = format_datetime(method.revoked)
    return entry


def prefix_record_document(
    *,
    prefix: Prefix,
    kind: str,
    status: str,
    version: int,
    issued: datetime,
    registry: str,
    service_url: str,
    did: str,
    keys: tuple[VerificationMethod, ...],
    catalog: Catalog,
    enterprise: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An unsigned prefix-record document; `enterprise` may give enterpriseName, uscc, region, industry."""
    if kind not in KINDS or status not in STATUSES:
        raise ValueError(f"kind must be one of {KINDS} and status one of {STATUSES}")
    template = catalog.resolve(TEMPLATE_REF)
    document: dict[str, Any] = {
        "@context": [template.context_url],
        "type": template.jsonld_type,
        "handle": str(prefix.record_handle),
        "prefix": str(prefix),
        "kind": kind,
        "status": status,
        "version": version,
        "issued": format_datetime(issued),
        "registry": registry,
        "serviceUrl": service_url,
        "did": did,
        "keys": [key_entry(method) for method in keys],
    }
    for member in ("enterpriseName", "uscc", "region", "industry"):
        if enterprise and enterprise.get(member):
            document[member] = enterprise[member]
    validate(template, document)
    return document


def prefix_record_values(
    record: PrefixRecord, catalog: Catalog, *, timestamp: datetime | None = None, ttl: int = DEFAULT_TTL
) -> tuple[HandleValue, ...]:
    """Every Handle value of `0.NA/<prefix>` for a signed prefix record, in index order."""
    moment = timestamp or datetime.now(UTC)
    active = record.active_keys(moment)
    values = [
        HandleValue(SITE_INDEX, "HS_SITE", ValueData.site(_site(record, active)), ttl, timestamp=moment),
        HandleValue(URL_INDEX, "URL", ValueData.string(record.service_url), ttl, timestamp=moment),
        HandleValue(
            ADMIN_INDEX,
            "HS_ADMIN",
            ValueData.admin(AdminValue(record.prefix.record_handle, PUBKEY_INDEX, DEFAULT_ADMIN_PERMISSIONS)),
            ttl,
            timestamp=moment,
        ),
    ]
    for offset, method in enumerate(active):
        values.append(
            HandleValue(
                PUBKEY_INDEX + offset, "HS_PUBKEY", ValueData.key(_jwk(method)), ttl, timestamp=moment
            )
        )
    template = catalog.resolve(TEMPLATE_REF)
    values.extend(
        handle_values_for_record(document_to_values(template, record.document), timestamp=moment, ttl=ttl)
    )
    return tuple(sorted(values, key=lambda value: value.index))


def _jwk(method: VerificationMethod) -> PublicKeyJwk:
    return PublicKeyJwk.from_dict({**method.public_key.jwk(), "kid": method.id})


def _site(record: PrefixRecord, active: list[VerificationMethod]) -> SiteInfo:
    url = urlsplit(record.service_url)
    servers: tuple[ServerInfo, ...] = ()
    try:
        address = str(ipaddress.ip_address(url.hostname or ""))
    except ValueError:
        address = ""  # a host name: HS_SITE cannot hold it, the url attribute does
    if address and active:
        port = url.port or (443 if url.scheme == "https" else 80)
        interface = ServerInterface(query=True, admin=True, protocol=url.scheme.upper(), port=port)
        servers = (ServerInfo(1, address, ValueData.key(_jwk(active[0])), (interface,)),)
    attributes = (
        SiteAttribute("url", record.service_url),
        SiteAttribute("desc", record.enterprise_name or str(record.prefix)),
    )
    return SiteInfo(
        version=1,
        protocol_version="2.10",
        serial_number=record.version,
        primary_site=True,
        multi_primary=False,
        attributes=attributes,
        servers=servers,
    )
