"""A service's signing identity: its keys on disk, its did:web DID and DID document, and signing with all keys.

Registries, nodes and resolvers each have one. The keys live in a key directory (`certs.key_directory`:
`<alg>.key` per algorithm, former keys in `history.json`); a missing key is generated on first use
(Ed25519 always, SM2 when asked). Every document is signed with every current key: an `eddsa-rdfc-2022`
proof any verifier checks and, where national cryptography is required, an `sm2-rdfc-2024` proof beside it.

The DID document lists the former keys too, with `expires` (retired) and `revoked`, so what they signed
before keeps verifying against it (`certs.did`); only current keys sign.

A running service follows a rotation without a restart: every use of the identity first compares the key
files' fingerprint (a few `stat` calls, microseconds) with the one it loaded, and reads the directory again
when it changed. Each operation works on one snapshot (`IdentityState`), so a document is never signed with
one generation of keys and described with another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certs.canonical import OfflineDocumentLoader
from certs.data_integrity import ASSERTION_METHOD, add_proof
from certs.did import DidDocument, did_web_for_url
from certs.key_directory import FormerKey, KeyDirectory, KeyDirectoryError, KeySet
from certs.keys import KeyAlgorithm, SigningKey
from certs.signed_requests import sign_request

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdentityState:
    """One generation of a service's keys: what signs, and the DID document that describes them all."""

    did: DidDocument
    keys: tuple[SigningKey, ...]
    """The current keys, in algorithm order (Ed25519 first)."""
    former: tuple[FormerKey, ...] = ()
    prepared: tuple[SigningKey, ...] = ()
    """Successors prepared by a rotation that has not switched yet (they sign nothing)."""


class ServiceIdentity:
    """Signing keys with their DID document, kept in step with the key directory."""

    def __init__(self, directory: KeyDirectory, did: str) -> None:
        """An identity over an existing key directory; `load_or_create` is the usual way to get one."""
        self.directory = directory
        self._did = did
        self._lock = threading.Lock()
        self._fingerprint = directory.fingerprint()
        self._unreadable: Any = None
        self._state = _state(did, directory.read())

    @classmethod
    def load_or_create(
        cls,
        directory: Path,
        base_url: str,
        *,
        algorithms: tuple[KeyAlgorithm | str, ...] = (KeyAlgorithm.ED25519,),
    ) -> ServiceIdentity:
        """Load `<directory>/<algorithm>.key` for each algorithm, generating missing ones (mode 0600)."""
        keys = KeyDirectory(directory, algorithms)
        keys.read(create=True)
        return cls(keys, did_web_for_url(base_url))

    @property
    def state(self) -> IdentityState:
        """The keys as they are on disk now (read again only when the files changed)."""
        fingerprint = self.directory.fingerprint()
        if fingerprint != self._fingerprint and fingerprint != self._unreadable:
            with self._lock:
                if fingerprint != self._fingerprint:
                    self._reload(fingerprint)
        return self._state

    def _reload(self, fingerprint: Any) -> None:
        try:
            self._state = _state(self._did, self.directory.read())
        except (KeyDirectoryError, OSError) as exc:
            # Half a change cannot be seen (every file is renamed into place), so this is damage or a
            # hand edit: keep signing with the keys last read and say so (once per state of the files).
            _log.warning(
                "keys in %s not reloaded, still using the previous ones: %s", self.directory.path, exc
            )
            self._unreadable = fingerprint  # read again once the files change
            return
        self._fingerprint = fingerprint

    @property
    def did(self) -> DidDocument:
        """The DID document: current keys and former ones (with their retirement and revocation times)."""
        return self.state.did

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """The current signing keys, Ed25519 first."""
        return self.state.keys

    def method_id(self, key: SigningKey) -> str:
        """The verification method id of one of this identity's keys."""
        return f"{self._did}#{key.public_key.multibase}"

    def sign(
        self, document: Mapping[str, Any], loader: OfflineDocumentLoader, *, created: datetime | None = None
    ) -> dict[str, Any]:
        """`document` with one assertion proof per current key (a proof set)."""
        created = created or datetime.now(UTC)
        signed = dict(document)
        for key in self.state.keys:
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
        key = self.state.keys[0]
        return sign_request(
            document, key, verification_method=self.method_id(key), domain=domain, loader=loader
        )

    def rotate(self, *, reason: str | None = None, at: datetime | None = None) -> IdentityState:
        """Replace every key by a new one here and now, the old ones retired at the next whole second (for a
        service whose keys nobody else lists, like a resolver's); returns the new state."""
        self.directory.rotate(at=at or datetime.now(UTC), reason=reason)
        return self.state


def _state(did: str, keys: KeySet) -> IdentityState:
    return IdentityState(keys.did_document(did), keys.current, keys.former, keys.prepared)
