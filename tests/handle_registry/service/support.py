"""Helpers for registry tests: enterprises with keys, signed applications and key changes, admin credentials."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certs.keys import SigningKey, generate_signing_key
from certs.signed_requests import sign_request
from handle_registry.service.administration import create_admin
from handle_registry.service.keys import REGISTRY_KEY
from handle_registry.service.settings import RegistrySettings
from metadata_templates import default_catalog

CATALOG = default_catalog()
LOADER = CATALOG.loader


def settings_for(
    tmp_path: Path, database_url: str, *, served: tuple[str, ...] = ("88",), **overrides: Any
) -> RegistrySettings:
    """Registry settings with a private data directory and the test's database."""
    options: dict[str, Any] = {
        "served_prefixes": served,
        "data_dir": tmp_path,
        "database_url": database_url,
        "public_url": "http://registry.test:18100",
        "log_json": False,
    }
    options.update(overrides)
    return RegistrySettings(**options)


def basic(name: str, secret: str) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    token = base64.b64encode(f"{name}:{secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


async def add_admin(app: Any, name: str = "root") -> dict[str, str]:
    """Create an administrator in a started registry app; return its Authorization header."""
    secret = await create_admin(app[REGISTRY_KEY].store, name, at=datetime.now(UTC))
    return basic(name, secret)


def profile(
    prefix: str, *, region: str = "330522", industry: str = "C3216", name: str = "长兴示范铝业有限公司"
) -> dict[str, Any]:
    """An enterprise-profile/1 document for `prefix`."""
    document = CATALOG.resolve("enterprise-profile/1").example_document()
    document.update(
        {
            "prefix": prefix,
            "handle": f"{prefix}/PROFILE",
            "region": region,
            "industry": industry,
            "name": name,
        }
    )
    return document


@dataclass
class Enterprise:
    """An enterprise node: its DID, keys and service URL."""

    prefix: str
    did: str
    service_url: str
    keys: list[SigningKey] = field(default_factory=list)
    region: str = "330522"
    industry: str = "C3216"

    def method(self, key: SigningKey) -> str:
        """The verification method id of one of its keys."""
        return f"{self.did}#{key.public_key.multibase}"

    def key_entry(self, key: SigningKey) -> dict[str, str]:
        """A key as listed in applications."""
        return {"id": self.method(key), "publicKeyMultibase": key.public_key.multibase}

    def application(self, **overrides: Any) -> dict[str, Any]:
        """An unsigned prefix-application/1 document."""
        document = CATALOG.resolve("prefix-application/1").example_document()
        document.update(
            {
                "prefix": self.prefix,
                "serviceUrl": self.service_url,
                "did": self.did,
                "keys": [self.key_entry(key) for key in self.keys],
                "profile": profile(self.prefix, region=self.region, industry=self.industry),
            }
        )
        document.update(overrides)
        return document

    def sign(
        self,
        document: dict[str, Any],
        domain: str,
        *,
        key: SigningKey | None = None,
        method: str | None = None,
        created: datetime | None = None,
        nonce: str | None = None,
    ) -> dict[str, Any]:
        """`document` signed as a request for `domain` with `key` (default: the first key)."""
        key = key or self.keys[0]
        return sign_request(
            copy.deepcopy(document),
            key,
            verification_method=method or self.method(key),
            domain=domain,
            loader=LOADER,
            created=created,
            nonce=nonce,
        )

    def signed_application(self, domain: str, **kwargs: Any) -> dict[str, Any]:
        """The application signed with its first key for the registry `domain`."""
        return self.sign(self.application(), domain, **kwargs)

    def key_change(
        self,
        *,
        add: list[SigningKey] = (),
        retire: list[SigningKey] = (),
        revoke: list[SigningKey] = (),
        reason: str = "annual key rotation",
    ) -> dict[str, Any]:  # type: ignore[assignment]
        """An unsigned key-change/1 document."""
        document: dict[str, Any] = {
            "@context": ["https://carbonid.org/contexts/key-change/v1.jsonld"],
            "type": "KeyChange",
            "prefix": self.prefix,
            "reason": reason,
        }
        if add:
            document["add"] = [self.key_entry(key) for key in add]
        if retire:
            document["retire"] = [self.method(key) for key in retire]
        if revoke:
            document["revoke"] = [self.method(key) for key in revoke]
        return document


def enterprise(prefix: str = "88.186.1", *, port: int = 18443, keys: int = 1, **kwargs: Any) -> Enterprise:
    """A new enterprise with fresh Ed25519 keys."""
    return Enterprise(
        prefix=prefix,
        did=f"did:web:127.0.0.1%3A{port}",
        service_url=f"https://127.0.0.1:{port}",
        keys=[generate_signing_key() for _ in range(keys)],
        **kwargs,
    )


def signed_record_from(resolution: dict[str, Any]) -> dict[str, Any]:
    """The signed prefix-record document carried by a Handle resolution body (as a resolver reads it)."""
    from handle_registry.codec import decode_resolution
    from handle_registry.records import record_values_from_handle_values
    from metadata_templates.handle_mapping import values_to_document

    decoded = decode_resolution(resolution)
    template, document = values_to_document(CATALOG, record_values_from_handle_values(decoded.values))
    assert template.ref == "prefix-record/1"
    return document
