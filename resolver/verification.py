"""Checking what registries and nodes serve: the signed document a record's values carry, and its proofs.

Pure: no I/O. A record's values carry its signed document at index 400 (`metadata_templates.handle_mapping`);
the proofs are checked with `certs.data_integrity.verify_proofs` against a key resolver: the pinned trust
anchor for the top-level registry's records, a delegation record for a delegated registry's, the handle's
own prefix record for a node's.

RDFC canonicalization is the expensive part (milliseconds per document), so `ProofVerifier` keeps what
each verification established by the content hash of what was verified: the document's digest and the
identity of the keys it was checked against (the anchor's DID, or the digest of the prefix record). The
same document under the same prefix record is never canonicalized twice. Failures are not kept: a
failure may depend on the time (a proof dated in the future), and failing answers are cached anyway.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certs.canonical import OfflineDocumentLoader
from certs.data_integrity import KeyResolver, parse_datetime, verify_proofs
from certs.errors import MalformedProofError, VerificationError
from handle_registry.records import record_values_from_handle_values
from handle_registry.values import HandleValue
from metadata_templates import Catalog, Template
from metadata_templates.handle_mapping import DOCUMENT_INDEX, values_to_document
from node.log import canonical_json, sha256_hex


class RecordMismatch(VerificationError):
    """A signed document is not what was asked for: another handle, another prefix, another kind."""


def document_digest(document: Mapping[str, Any]) -> str:
    """Hex sha256 of a signed document's canonical JSON: the same digest the node's publication log records."""
    return sha256_hex(canonical_json(document))


def carries_document(values: Iterable[HandleValue]) -> bool:
    """True when the values hold a value at index 400 (the signed document): the record claims a signature."""
    return any(value.index == DOCUMENT_INDEX for value in values)


def signed_document(catalog: Catalog, values: Iterable[HandleValue]) -> tuple[Template, dict[str, Any]]:
    """The template and signed document carried by a record's values.

    Raises `MalformedProofError` when the values do not form a record, or disagree with the signed document.
    """
    try:
        return values_to_document(catalog, record_values_from_handle_values(values))
    except (ValueError, LookupError) as exc:
        raise MalformedProofError(f"the record's values are not a signed record: {exc}") from None


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """What verifying a document's proofs established."""

    verification_method: str
    verification_methods: tuple[str, ...]
    cryptosuites: tuple[str, ...]
    valid_until: datetime | None = None
    """The earliest `expires` of the proofs: after it the result must be established again."""


class ProofVerifier:
    """`verify_proofs` with its results kept by content hash (at most `max_entries`, least recently used go)."""

    def __init__(self, loader: OfflineDocumentLoader, *, max_entries: int) -> None:
        self.loader = loader
        self.max_entries = max_entries
        self._results: OrderedDict[tuple[str, str], ProofCheck] = OrderedDict()
        self.verifications = 0
        """How many documents were really verified (canonicalized): what the cache saves shows here."""

    def verify(
        self, document: Mapping[str, Any], digest: str, keys: KeyResolver, signer: str, *, now: datetime
    ) -> ProofCheck:
        """Check every proof of `document` (whose digest is `digest`) against `keys`, known as `signer`.

        Raises a `VerificationError` naming the failing proof.
        """
        cache_key = (digest, signer)
        known = self._results.get(cache_key)
        if known is not None and (known.valid_until is None or now < known.valid_until):
            self._results.move_to_end(cache_key)
            return known
        self.verifications += 1
        try:
            proofs = verify_proofs(document, keys, loader=self.loader, now=now)
        except VerificationError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, LookupError, RecursionError) as exc:
            # Whatever a hostile document makes the JSON-LD machinery trip over is a malformed proof.
            raise MalformedProofError(f"the proof cannot be checked: {exc}") from None
        methods = tuple(proof.verification_method for proof in proofs)
        check = ProofCheck(
            verification_method=methods[0],
            verification_methods=methods,
            cryptosuites=tuple(dict.fromkeys(proof.cryptosuite for proof in proofs)),
            valid_until=_earliest_expiry(document),
        )
        self._results[cache_key] = check
        while len(self._results) > self.max_entries:
            self._results.popitem(last=False)
        return check

    def clear(self) -> None:
        """Forget every kept result."""
        self._results.clear()


def _earliest_expiry(document: Mapping[str, Any]) -> datetime | None:
    proofs = document.get("proof")
    listed = proofs if isinstance(proofs, list) else [proofs]
    times = []
    for proof in listed:
        if isinstance(proof, Mapping) and isinstance(proof.get("expires"), str):
            times.append(parse_datetime(proof["expires"]))
    return min(times) if times else None
