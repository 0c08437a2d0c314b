"""The foundation's figures: signatures, documents (RDFC, validation, proofs) and the Handle JSON codec.

Every figure is a rate (operations per second, median of batches) beside the same work done by the library
underneath, bare, in the same run: the `cryptography` call for Ed25519, gmssl on a precomputed digest for
SM2, pyld's own `normalize` for RDFC (ours adds the safe-mode checks), a bare jsonschema validator for
template validation, the two canonicalizations for a proof, and `json` for the codec. The ratio is what
carbonid's own code costs on top.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from gmssl import sm2 as gmssl_sm2
from jsonschema import Draft202012Validator
from pyld import jsonld

from certs import sm2
from certs.canonical import canonicalize
from certs.data_integrity import add_proof, verify_proofs
from certs.did import DidDocument
from certs.keys import Sm2SigningKey, generate_signing_key
from handle_registry.codec import decode_resolution, dumps, encode_resolution, parse_json
from handle_registry.records import handle_values_for_record
from metadata_templates import default_catalog, validate
from metadata_templates.handle_mapping import document_to_values
from tests.bench.report import Figure
from tests.bench.timing import rate

MESSAGE = b"x" * 64


def _per_second(name: str, value: float, ceiling_name: str, ceiling: float, note: str = "") -> Figure:
    return Figure(name, value, "/s", "higher", ceiling_name, ceiling, note)


def signatures(quick: bool) -> list[Figure]:
    """Ed25519 and SM2 sign and verify 64 bytes, against the library call underneath."""
    figures = []
    raw = ed25519.Ed25519PrivateKey.generate()
    raw_public = raw.public_key()
    raw_signature = raw.sign(MESSAGE)
    key = generate_signing_key("ed25519")
    signature = key.sign(MESSAGE)
    figures.append(
        _per_second(
            "Ed25519 sign 64 bytes",
            rate(lambda: key.sign(MESSAGE), quick),
            "cryptography Ed25519PrivateKey.sign",
            rate(lambda: raw.sign(MESSAGE), quick),
        )
    )
    figures.append(
        _per_second(
            "Ed25519 verify 64 bytes",
            rate(lambda: key.public_key.verify(signature, MESSAGE), quick),
            "cryptography Ed25519PublicKey.verify",
            rate(lambda: raw_public.verify(raw_signature, MESSAGE), quick),
        )
    )

    sm2_key = generate_signing_key("sm2")
    assert isinstance(sm2_key, Sm2SigningKey)
    sm2_signature = sm2_key.sign(MESSAGE)
    point = sm2_key.public_key.point
    digest = sm2.message_digest(point, MESSAGE)
    scalar = secrets.randbelow(sm2.N - 2) + 1
    signer = gmssl_sm2.CryptSM2(private_key=f"{scalar:064x}", public_key="")
    signer.public_key = sm2.public_point(scalar).xy.hex()
    bare_signature = signer.sign(digest, f"{secrets.randbelow(sm2.N - 1) + 1:064x}")
    note = "pure-Python gmssl curve arithmetic; ours adds the SM3 Z value, range checks, a secure nonce"
    figures.append(
        _per_second(
            "SM2 sign 64 bytes",
            rate(lambda: sm2_key.sign(MESSAGE), quick),
            "gmssl CryptSM2.sign of a precomputed digest",
            rate(lambda: signer.sign(digest, f"{secrets.randbelow(sm2.N - 1) + 1:064x}"), quick),
            note,
        )
    )
    figures.append(
        _per_second(
            "SM2 verify 64 bytes",
            rate(lambda: sm2_key.public_key.verify(sm2_signature, MESSAGE), quick),
            "gmssl CryptSM2.verify of a precomputed digest",
            rate(lambda: signer.verify(bare_signature, digest), quick),
        )
    )
    return figures


def _proof_inputs(signed: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a proof covers: the document without it, and the proof options under the document's context."""
    document = {k: v for k, v in signed.items() if k != "proof"}
    proof = signed["proof"] if isinstance(signed["proof"], dict) else signed["proof"][0]
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = document["@context"]
    return document, options


def documents(quick: bool) -> list[Figure]:
    """RDFC canonicalization and validation of every template's example; Data Integrity proofs."""
    catalog = default_catalog()
    loader = catalog.loader
    figures = []
    for template in catalog.list():
        document = template.example_document()
        size = len(dumps(document))
        options = {**loader.options(), "algorithm": "URDNA2015", "format": "application/n-quads"}
        figures.append(
            _per_second(
                f"RDFC canonicalize {template.ref} ({size:,} B)",
                rate(partial(canonicalize, document, loader), quick),
                "pyld jsonld.normalize (URDNA2015), same loader",
                rate(partial(jsonld.normalize, document, options), quick),
            )
        )
        bare = Draft202012Validator(template.schema)
        figures.append(
            _per_second(
                f"validate {template.ref}",
                rate(partial(validate, template, document), quick),
                "jsonschema is_valid, no format checker",
                rate(partial(bare.is_valid, document), quick),
            )
        )

    template = catalog.get("activity-data")
    document = template.example_document()
    for algorithm in ("ed25519", "sm2"):
        key = generate_signing_key(algorithm)
        did = DidDocument.create("did:web:bench.example", [key.public_key])
        method = did.key_id(key.public_key)
        signed = add_proof(document, key, verification_method=method, loader=loader)
        suite = signed["proof"]["cryptosuite"]
        covered, proof_options = _proof_inputs(signed)

        def both(d: dict[str, Any] = covered, o: dict[str, Any] = proof_options) -> None:
            canonicalize(d, loader)
            canonicalize(o, loader)

        ceiling = rate(both, quick)
        figures.append(
            _per_second(
                f"{suite}: add proof to activity-data",
                rate(partial(add_proof, document, key, verification_method=method, loader=loader), quick),
                "RDFC of the document + the proof options",
                ceiling,
            )
        )
        figures.append(
            _per_second(
                f"{suite}: verify activity-data",
                rate(partial(verify_proofs, signed, did, loader=loader), quick),
                "RDFC of the document + the proof options",
                ceiling,
            )
        )
    return figures


def handle_codec(quick: bool) -> list[Figure]:
    """Encode and decode a record's Handle JSON resolution, against `json` on the same data."""
    catalog = default_catalog()
    template = catalog.get("activity-data")
    document = template.example_document()
    key = generate_signing_key("ed25519")
    did = DidDocument.create("did:web:bench.example", [key.public_key])
    signed = add_proof(document, key, verification_method=did.key_id(key.public_key), loader=catalog.loader)
    values = handle_values_for_record(document_to_values(template, signed), timestamp=datetime.now(UTC))
    encoded = encode_resolution("88.186.1/ACT.2025", values)
    wire = dumps(encoded)
    return [
        _per_second(
            f"Handle JSON encode record ({len(values)} values, {len(wire):,} B)",
            rate(lambda: dumps(encode_resolution("88.186.1/ACT.2025", values)), quick),
            "json.dumps of the encoded answer",
            rate(lambda: json.dumps(encoded, ensure_ascii=False, separators=(",", ":")), quick),
        ),
        _per_second(
            "Handle JSON decode record",
            rate(lambda: decode_resolution(parse_json(wire)), quick),
            "json.loads of the same text",
            rate(lambda: json.loads(wire), quick),
        ),
    ]
