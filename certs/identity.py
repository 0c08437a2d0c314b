"""A service's signing identity: its keys on disk, its did:web DID and DID document, and signing with all keys.

Registries, nodes and resolvers each have one. Keys live in `<directory>/<algorithm>.key`; a missing key
is generated on first use (Ed25519 always, SM2 when asked). Every document is signed with every key:
an `eddsa-rdfc-2022` proof any verifier checks and, where national cryptography is required, an
`sm2-rdfc-2024` proof beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certs.canonical import OfflineDocumentLoader
from certs.data_integrity import ASSERTION_METHOD, add_proof
from certs.did import DidDocument, did_web_for_url
from certs.keys import KeyAlgorithm, SigningKey, generate_signing_key, load_signing_key, save_key_pair
from certs.signed_requests import sign_request


@dataclass(frozen=True, slots=True)
class ServiceIdentity:
    """Signing keys with their DID document."""

    did: DidDocument
    keys: tuple[SigningKey, ...]

    @classmethod
    def load_or_create(
        cls,
        directory: Path,
        base_url: str,
        *,
        algorithms: tuple[KeyAlgorithm | str, ...] = (KeyAlgorithm.ED25519,),
    ) -> ServiceIdentity:
        """Load `<directory>/<algorithm>.key` for each algorithm, generating missing ones (mode 0600)."""
        keys = []
        for algorithm in algorithms:
            path = directory / f"{KeyAlgorithm(algorithm).value}.key"
            if path.exists():
                keys.append(load_signing_key(path.read_bytes()))
            else:
                key = generate_signing_key(algorithm)
                save_key_pair(key, directory, KeyAlgorithm(algorithm).value)
                keys.append(key)
        did = DidDocument.create(did_web_for_url(base_url), [key.public_key for key in keys])
        return cls(did=did, keys=tuple(keys))

    def method_id(self, key: SigningKey) -> str:
        """The verification method id of one of this identity's keys."""
        return self.did.key_id(key.public_key)

    def sign(
        self, document: Mapping[str, Any], loader: OfflineDocumentLoader, *, created: datetime | None = None
    ) -> dict[str, Any]:
        """`document` with one assertion proof per key (a proof set)."""
        created = created or datetime.now(UTC)
        signed = dict(document)
        for key in self.keys:
            signed = add_proof(
                signed,
                key,
                verification_method=self.method_id(key),
                loader=loader,
                created=created,
                proof_purpose=ASSERTION_METHOD,
            )
        return signed

    def sign_request(
        self, document: Mapping[str, Any], loader: OfflineDocumentLoader, *, domain: str
    ) -> dict[str, Any]:
        """A signed request to the service whose DID is `domain`, with the first (Ed25519) key."""
        key = self.keys[0]
        return sign_request(
            document, key, verification_method=self.method_id(key), domain=domain, loader=loader
        )
