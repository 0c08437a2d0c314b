"""Data Integrity proofs: both cryptosuites, proof sets and chains, tampering, key status."""

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certs.canonical import CREDENTIALS_V2, DATA_INTEGRITY_V2, canonicalize
from certs.data_integrity import (
    EDDSA_RDFC_2022,
    SM2_RDFC_2024,
    add_proof,
    verify_proofs,
)
from certs.did import DidDocument
from certs.encoding import multibase_decode
from certs.errors import (
    InvalidSignatureError,
    KeyExpiredError,
    KeyRevokedError,
    MalformedProofError,
    NoProofError,
    ProofExpiredError,
    UnknownVerificationMethodError,
    UnsafeDocumentError,
    UnsupportedCryptosuiteError,
    VerificationError,
)
from certs.keys import generate_signing_key

ED = generate_signing_key("ed25519")
SM = generate_signing_key("sm2")
DID = "did:web:node.example%3A8443"
DID_DOC = DidDocument.create(DID, [ED.public_key, SM.public_key])
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

CREDENTIAL = {
    "@context": [CREDENTIALS_V2],
    "id": "urn:uuid:0b5f2a7c-1d7e-4c4b-9b0a-2f1a4d0c9e11",
    "type": ["VerifiableCredential"],
    "issuer": DID,
    "name": "碳效码 carbon-efficiency certificate",
    "description": "grade 2, light green",
    "validFrom": "2026-01-01T00:00:00Z",
    "validUntil": "2027-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:web:smelter.example", "name": "湖州某铝业有限公司"},
}


def sign(document, key=ED, **kwargs):
    kwargs.setdefault("created", NOW)
    return add_proof(document, key, verification_method=DID_DOC.key_id(key.public_key), **kwargs)


@pytest.mark.parametrize(("key", "suite"), [(ED, EDDSA_RDFC_2022), (SM, SM2_RDFC_2024)])
def test_sign_then_verify(key, suite):
    signed = sign(CREDENTIAL, key)
    assert signed["proof"]["cryptosuite"] == suite
    assert signed["proof"]["created"] == "2026-03-01T12:00:00Z"
    assert len(multibase_decode(signed["proof"]["proofValue"])) == 64
    (result,) = verify_proofs(signed, DID_DOC, now=NOW)
    assert result.cryptosuite == suite
    assert result.public_key == key.public_key
    assert "proof" not in CREDENTIAL  # the input is not modified


def test_eddsa_hash_data_is_exactly_the_w3c_construction():
    import hashlib

    signed = sign(CREDENTIAL)
    proof_config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    proof_config["@context"] = signed["@context"]
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    hash_data = (
        hashlib.sha256(canonicalize(proof_config).encode()).digest()
        + hashlib.sha256(canonicalize(unsecured).encode()).digest()
    )
    ED.public_key.verify(multibase_decode(signed["proof"]["proofValue"]), hash_data)


def test_sm2_hash_data_uses_sm3():
    from certs.sm2 import sm3

    signed = sign(CREDENTIAL, SM)
    proof_config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    proof_config["@context"] = signed["@context"]
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    hash_data = sm3(canonicalize(proof_config).encode()) + sm3(canonicalize(unsecured).encode())
    SM.public_key.verify(multibase_decode(signed["proof"]["proofValue"]), hash_data)


def test_a_proof_set_carries_both_suites_and_each_verifies():
    signed = sign(sign(CREDENTIAL, ED), SM)
    assert isinstance(signed["proof"], list)
    results = verify_proofs(signed, DID_DOC, now=NOW)
    assert [r.cryptosuite for r in results] == [EDDSA_RDFC_2022, SM2_RDFC_2024]


def test_a_proof_chain_covers_the_previous_proof():
    first = sign(CREDENTIAL, ED, proof_id="urn:uuid:proof-1")
    chained = sign(first, SM, previous_proof="urn:uuid:proof-1")
    verify_proofs(chained, DID_DOC, now=NOW)
    # Replacing the first proof breaks the chained one even though the first is itself valid.
    other_first = sign(dict(CREDENTIAL), ED, proof_id="urn:uuid:proof-1", created=NOW - timedelta(hours=1))
    forged = copy.deepcopy(chained)
    forged["proof"][0] = other_first["proof"]
    with pytest.raises(InvalidSignatureError, match="proof 1"):
        verify_proofs(forged, DID_DOC, now=NOW)


def test_missing_previous_proof_is_malformed():
    first = sign(CREDENTIAL, ED, proof_id="urn:uuid:proof-1")
    chained = sign(first, SM, previous_proof="urn:uuid:proof-1")
    chained["proof"] = [chained["proof"][1]]
    with pytest.raises(MalformedProofError, match="previousProof"):
        verify_proofs(chained, DID_DOC, now=NOW)


def test_data_integrity_context_is_added_when_missing():
    document = {
        "@context": [{"@vocab": "https://carbonid.example/vocab#"}],
        "id": "https://node.example/records/1",
        "emissions": "12.5",
    }
    signed = sign(document)
    assert signed["@context"][-1] == DATA_INTEGRITY_V2
    verify_proofs(signed, DID_DOC, now=NOW)


def _leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaf_paths(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaf_paths(child, (*path, i))
    else:
        yield path


def _tampered(document, path):
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    old = target[path[-1]]
    target[path[-1]] = old + "x" if isinstance(old, str) else old + 1
    return copied


@pytest.mark.parametrize("key", [ED, SM], ids=["eddsa", "sm2"])
def test_tampering_any_single_field_fails(key):
    signed = sign(CREDENTIAL, key)
    paths = [p for p in _leaf_paths(signed) if p[:1] != ("@context",)]
    assert len(paths) > 10
    for path in paths:
        with pytest.raises(VerificationError):
            verify_proofs(_tampered(signed, path), DID_DOC, now=NOW)
    for member in CREDENTIAL:
        if member == "@context":
            continue
        removed = {k: v for k, v in signed.items() if k != member}
        with pytest.raises(VerificationError):
            verify_proofs(removed, DID_DOC, now=NOW)


def test_adding_a_member_fails():
    signed = sign(CREDENTIAL)
    signed["description"] = "grade 1, dark green"
    signed = dict(signed)
    with pytest.raises(InvalidSignatureError):
        verify_proofs(signed, DID_DOC, now=NOW)


def test_a_key_from_another_document_is_unknown():
    other = generate_signing_key("ed25519")
    signed = add_proof(
        CREDENTIAL, other, verification_method=f"{DID}#{other.public_key.multibase}", created=NOW
    )
    with pytest.raises(UnknownVerificationMethodError):
        verify_proofs(signed, DID_DOC, now=NOW)


def test_a_listed_key_that_did_not_sign_fails():
    signed = add_proof(
        CREDENTIAL, generate_signing_key(), verification_method=DID_DOC.key_id(ED.public_key), created=NOW
    )
    with pytest.raises(InvalidSignatureError):
        verify_proofs(signed, DID_DOC, now=NOW)


def test_a_suite_that_does_not_match_the_key_is_malformed():
    signed = sign(CREDENTIAL, ED)
    signed["proof"]["verificationMethod"] = DID_DOC.key_id(SM.public_key)
    with pytest.raises(MalformedProofError, match="needs an ed25519 key"):
        verify_proofs(signed, DID_DOC, now=NOW)


def test_rotated_key_verifies_older_proofs_and_refuses_newer_ones():
    signed_before = sign(CREDENTIAL, ED, created=NOW - timedelta(days=2))
    signed_after = sign(CREDENTIAL, ED, created=NOW)
    rotated = DID_DOC.rotate(generate_signing_key().public_key, at=NOW - timedelta(days=1))
    verify_proofs(signed_before, rotated, now=NOW)
    with pytest.raises(KeyExpiredError):
        verify_proofs(signed_after, rotated, now=NOW)


def test_revoked_key_refuses_proofs_made_after_revocation():
    key_id = DID_DOC.key_id(ED.public_key)
    revoked = DID_DOC.revoke(key_id, at=NOW - timedelta(hours=1))
    verify_proofs(sign(CREDENTIAL, created=NOW - timedelta(hours=2)), revoked, now=NOW)
    with pytest.raises(KeyRevokedError):
        verify_proofs(sign(CREDENTIAL, created=NOW), revoked, now=NOW)


def test_proof_expiry_and_future_creation():
    with pytest.raises(ProofExpiredError):
        verify_proofs(sign(CREDENTIAL, expires=NOW - timedelta(seconds=1)), DID_DOC, now=NOW)
    with pytest.raises(MalformedProofError, match="future"):
        verify_proofs(sign(CREDENTIAL, created=NOW + timedelta(hours=1)), DID_DOC, now=NOW)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"type": "Ed25519Signature2020"}, UnsupportedCryptosuiteError),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, UnsupportedCryptosuiteError),
        ({"proofPurpose": "authentication"}, MalformedProofError),
        ({"proofValue": "uAAAA"}, MalformedProofError),
        ({"proofValue": 42}, MalformedProofError),
        ({"created": "yesterday"}, MalformedProofError),
    ],
)
def test_malformed_proofs_raise_precise_errors(change, error):
    signed = sign(CREDENTIAL)
    signed["proof"].update(change)
    with pytest.raises(error):
        verify_proofs(signed, DID_DOC, now=NOW)


def test_no_proof():
    with pytest.raises(NoProofError):
        verify_proofs(CREDENTIAL, DID_DOC, now=NOW)


def test_unsafe_documents_are_refused_before_signing():
    with pytest.raises(UnsafeDocumentError, match=r"U\+0007"):
        sign(dict(CREDENTIAL, description="bell\x07"))
    with pytest.raises(UnsafeDocumentError, match="no @context"):
        sign({"id": "urn:x"})


def test_a_proof_with_its_own_context_must_match_the_document():
    signed = sign(CREDENTIAL)
    signed["proof"]["@context"] = [CREDENTIALS_V2]
    verify_proofs(signed, DID_DOC, now=NOW)
    signed["proof"]["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    with pytest.raises(MalformedProofError, match="@context"):
        verify_proofs(signed, DID_DOC, now=NOW)


TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
    ),
    max_size=40,
)


@settings(max_examples=25, deadline=None)
@given(name=TEXT, description=TEXT)
def test_any_safe_text_signs_and_verifies(name, description):
    document = dict(CREDENTIAL, name=name, description=description)
    signed = sign(document)
    verify_proofs(json.loads(json.dumps(signed)), DID_DOC, now=NOW)
