"""W3C Data Integrity proofs: `eddsa-rdfc-2022` (Ed25519) and `sm2-rdfc-2024` (SM2/SM3).

Both follow the algorithms of W3C "Data Integrity EdDSA Cryptosuites v1.0" §3.2 (transformation,
proof configuration, hashing, serialisation); `sm2-rdfc-2024` swaps SHA-256 for SM3 and Ed25519 for
SM2 (see `SM2-RDFC-2024.md` beside this file). For each proof:

    proofConfig  = proof without proofValue, with @context = the document's @context
    hashData     = H(RDFC(proofConfig)) ‖ H(RDFC(document without proof))
    proofValue   = "z" + base58btc(sign(hashData))

A document may carry several proofs: a proof set (each signs the document without any proof) or a
proof chain (a proof naming `previousProof` also covers the proofs it names). Verification checks
every proof and raises a `VerificationError` subclass naming the failing proof; it never returns
False.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from certs.canonical import CREDENTIALS_V2, DATA_INTEGRITY_V2, OfflineDocumentLoader, canonicalize, w3c_loader
from certs.encoding import multibase_decode, multibase_encode
from certs.errors import (
    ContextNotAllowedError,
    MalformedProofError,
    NoProofError,
    ProofExpiredError,
    UnsafeDocumentError,
    UnsupportedCryptosuiteError,
    VerificationError,
)
from certs.keys import KeyAlgorithm, PublicKey, SigningKey
from certs.sm2 import sm3

PROOF_TYPE = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
SM2_RDFC_2024 = "sm2-rdfc-2024"
ASSERTION_METHOD = "assertionMethod"
AUTHENTICATION = "authentication"
# How far a proof's `created` may lie ahead of the verifier's clock.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Cryptosuite:
    """A Data Integrity cryptosuite: the key algorithm and the hash it uses."""

    name: str
    algorithm: KeyAlgorithm
    hash: Callable[[bytes], bytes]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


CRYPTOSUITES: Mapping[str, Cryptosuite] = {
    EDDSA_RDFC_2022: Cryptosuite(EDDSA_RDFC_2022, KeyAlgorithm.ED25519, _sha256),
    SM2_RDFC_2024: Cryptosuite(SM2_RDFC_2024, KeyAlgorithm.SM2, sm3),
}


def cryptosuite_for(key: SigningKey | PublicKey) -> Cryptosuite:
    """The cryptosuite that signs with this key's algorithm."""
    return next(suite for suite in CRYPTOSUITES.values() if suite.algorithm == key.algorithm)


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a verified proof established."""

    verification_method: str
    cryptosuite: str
    proof_purpose: str
    created: datetime | None
    public_key: PublicKey
    proof_id: str | None = None


class KeyResolver(Protocol):
    """Finds the public key behind a verification method for a purpose at a time.

    Implementations raise `UnknownVerificationMethodError`, `KeyExpiredError` or `KeyRevokedError`.
    `certs.did.DidDocument` is one; services provide others (a registry-signed prefix record).
    """

    def resolve_key(self, verification_method: str, purpose: str, created: datetime | None) -> PublicKey:
        """Return the key for `verification_method`, or raise a `VerificationError`."""
        ...


def format_datetime(moment: datetime) -> str:
    """xsd:dateTimeStamp in UTC without fractions, e.g. 2025-01-02T03:04:05Z."""
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str) -> datetime:
    """Parse an xsd:dateTimeStamp (a time zone is required)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ValueError(f"{text!r} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(UTC)


def add_proof(
    document: Mapping[str, Any],
    key: SigningKey,
    *,
    verification_method: str,
    loader: OfflineDocumentLoader | None = None,
    proof_purpose: str = ASSERTION_METHOD,
    created: datetime | None = None,
    expires: datetime | None = None,
    proof_id: str | None = None,
    previous_proof: str | Sequence[str] | None = None,
    domain: str | None = None,
    challenge: str | None = None,
    nonce: str | None = None,
) -> dict[str, Any]:
    """Return a copy of `document` with one more Data Integrity proof made with `key`.

    The cryptosuite follows the key (Ed25519 → eddsa-rdfc-2022, SM2 → sm2-rdfc-2024). The Data
    Integrity context is added to `@context` when the document's contexts do not define proofs, as
    the reference implementation does. Raises `UnsafeDocumentError` / `ContextNotAllowedError` for a
    document that cannot be signed safely.
    """
    suite = cryptosuite_for(key)
    secured = _with_data_integrity_context(copy.deepcopy(dict(document)))
    existing = _proof_list(secured)
    proof: dict[str, Any] = {"type": PROOF_TYPE, "cryptosuite": suite.name}
    if proof_id is not None:
        proof["id"] = proof_id
    proof["created"] = format_datetime(created or datetime.now(UTC))
    if expires is not None:
        proof["expires"] = format_datetime(expires)
    proof["verificationMethod"] = verification_method
    proof["proofPurpose"] = proof_purpose
    for name, value in (("domain", domain), ("challenge", challenge), ("nonce", nonce)):
        if value is not None:
            proof[name] = value
    if previous_proof is not None:
        proof["previousProof"] = previous_proof if isinstance(previous_proof, str) else list(previous_proof)
    signed_part = _document_for_proof(secured, existing, proof)
    hash_data = _hash_data(suite, proof, signed_part, loader or w3c_loader())
    proof["proofValue"] = multibase_encode(key.sign(hash_data))
    secured["proof"] = [*existing, proof] if existing else proof
    return secured


def verify_proofs(
    document: Mapping[str, Any],
    keys: KeyResolver,
    *,
    loader: OfflineDocumentLoader | None = None,
    expected_purpose: str = ASSERTION_METHOD,
    now: datetime | None = None,
) -> tuple[VerifiedProof, ...]:
    """Verify every proof of `document`; return what each established or raise a `VerificationError`."""
    proofs = _proof_list(document)
    if not proofs:
        raise NoProofError("document carries no proof")
    loader = loader or w3c_loader()
    now = now or datetime.now(UTC)
    results = []
    canonical_documents: dict[str, str] = {}
    for position, proof in enumerate(proofs):
        try:
            results.append(
                _verify_one(document, proofs, proof, keys, loader, expected_purpose, now, canonical_documents)
            )
        except VerificationError as exc:
            label = proof.get("verificationMethod", "?") if isinstance(proof, Mapping) else "?"
            raise type(exc)(f"proof {position} ({label}): {exc}") from exc
    return tuple(results)


def _verify_one(
    document: Mapping[str, Any],
    proofs: list[dict[str, Any]],
    proof: Any,
    keys: KeyResolver,
    loader: OfflineDocumentLoader,
    expected_purpose: str,
    now: datetime,
    canonical_documents: dict[str, str],
) -> VerifiedProof:
    if not isinstance(proof, Mapping):
        raise MalformedProofError("proof is not an object")
    if proof.get("type") != PROOF_TYPE:
        raise UnsupportedCryptosuiteError(f"proof type {proof.get('type')!r} is not {PROOF_TYPE}")
    suite = CRYPTOSUITES.get(str(proof.get("cryptosuite")))
    if suite is None:
        raise UnsupportedCryptosuiteError(f"cryptosuite {proof.get('cryptosuite')!r} is not supported")
    method, purpose, value = (proof.get(k) for k in ("verificationMethod", "proofPurpose", "proofValue"))
    if not isinstance(method, str) or not isinstance(purpose, str) or not isinstance(value, str):
        raise MalformedProofError("verificationMethod, proofPurpose and proofValue must be strings")
    if purpose != expected_purpose:
        raise MalformedProofError(f"proofPurpose is {purpose!r}, expected {expected_purpose!r}")
    created = _optional_time(proof, "created")
    if created is not None and created > now + CLOCK_SKEW:
        raise MalformedProofError(f"proof created {format_datetime(created)} lies in the future")
    expires = _optional_time(proof, "expires")
    if expires is not None and expires <= now:
        raise ProofExpiredError(f"proof expired at {format_datetime(expires)}")
    try:
        signature = multibase_decode(value)
    except ValueError as exc:
        raise MalformedProofError(f"proofValue: {exc}") from None
    public_key = keys.resolve_key(method, purpose, created)
    if public_key.algorithm != suite.algorithm:
        raise MalformedProofError(
            f"{suite.name} needs an {suite.algorithm} key, {method} is {public_key.algorithm}"
        )

    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if "@context" in options:
        # A proof carrying its own @context must agree with the document's (eddsa-rdfc-2022 §3.2.2).
        proof_context, doc_context = _as_list(options.pop("@context")), _as_list(document.get("@context"))
        if doc_context[: len(proof_context)] != proof_context:
            raise MalformedProofError("proof @context does not match the start of the document's @context")
        unsecured["@context"] = proof_context
    signed_part = _document_for_proof(unsecured, proofs, options)
    hash_data = _hash_data(suite, options, signed_part, loader, canonical_documents)
    public_key.verify(signature, hash_data)
    proof_id = proof.get("id")
    return VerifiedProof(
        method, suite.name, purpose, created, public_key, proof_id if isinstance(proof_id, str) else None
    )


def _hash_data(
    suite: Cryptosuite,
    proof_options: Mapping[str, Any],
    document: Mapping[str, Any],
    loader: OfflineDocumentLoader,
    canonical_documents: dict[str, str] | None = None,
) -> bytes:
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    config["@context"] = document.get("@context")
    try:
        canonical_config = canonicalize(config, loader)
        # Within one verification the same document is canonicalised once, whatever the number of proofs.
        cache_key = repr(document.get("proof"))
        if canonical_documents is not None and cache_key in canonical_documents:
            canonical_document = canonical_documents[cache_key]
        else:
            canonical_document = canonicalize(document, loader)
            if canonical_documents is not None:
                canonical_documents[cache_key] = canonical_document
    except (UnsafeDocumentError, ContextNotAllowedError) as exc:
        if canonical_documents is None:
            raise  # signing: the caller must see exactly what is wrong with its document
        raise MalformedProofError(f"document cannot be canonicalised: {exc}") from None
    return suite.hash(canonical_config.encode("utf-8")) + suite.hash(canonical_document.encode("utf-8"))


def _document_for_proof(
    unsecured: Mapping[str, Any], proofs: list[dict[str, Any]], proof: Mapping[str, Any]
) -> dict[str, Any]:
    """The document a proof covers: without proofs, or with the proofs its `previousProof` names."""
    base = {k: v for k, v in unsecured.items() if k != "proof"}
    previous = proof.get("previousProof")
    if previous is None:
        return base
    wanted = [previous] if isinstance(previous, str) else list(previous)
    by_id = {p.get("id"): p for p in proofs if isinstance(p, Mapping)}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise MalformedProofError(f"previousProof {missing[0]!r} is not among the document's proofs")
    chained = [by_id[w] for w in wanted]
    base["proof"] = chained[0] if len(chained) == 1 else chained
    return base


def _with_data_integrity_context(document: dict[str, Any]) -> dict[str, Any]:
    contexts = _as_list(document.get("@context"))
    if not contexts:
        raise UnsafeDocumentError("document has no @context; every signed term must be defined", "/@context")
    if CREDENTIALS_V2 not in contexts and DATA_INTEGRITY_V2 not in contexts:
        document["@context"] = [*contexts, DATA_INTEGRITY_V2]
    return document


def _proof_list(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    proof = document.get("proof")
    if proof is None:
        return []
    return list(proof) if isinstance(proof, list) else [proof]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _optional_time(proof: Mapping[str, Any], name: str) -> datetime | None:
    text = proof.get(name)
    if text is None:
        return None
    if not isinstance(text, str):
        raise MalformedProofError(f"{name} must be a date-time string")
    try:
        return parse_datetime(text)
    except ValueError as exc:
        raise MalformedProofError(f"{name}: {exc}") from None
