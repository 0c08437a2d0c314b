"""Signed requests: who, for whom, when; stale, foreign and malformed requests are refused."""

from datetime import UTC, datetime, timedelta

import pytest

from certs.data_integrity import add_proof
from certs.did import DidDocument
from certs.errors import (
    DomainMismatchError,
    InvalidSignatureError,
    MalformedProofError,
    StaleRequestError,
    UnknownVerificationMethodError,
)
from certs.keys import generate_signing_key
from certs.signed_requests import sign_request, verify_request
from metadata_templates import default_catalog

CATALOG = default_catalog()
KEY = generate_signing_key()
DID = DidDocument.create("did:web:node.example", [KEY.public_key])
METHOD = DID.key_id(KEY.public_key)
REGISTRY = "did:web:registry.example"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def request(**kwargs):
    kwargs.setdefault("created", NOW)
    document = CATALOG.resolve("key-change/1").example_document()
    return sign_request(
        document, KEY, verification_method=METHOD, domain=REGISTRY, loader=CATALOG.loader, **kwargs
    )


def test_a_fresh_request_verifies():
    verified = verify_request(
        request(), DID, domain=REGISTRY, loader=CATALOG.loader, now=NOW + timedelta(seconds=30)
    )
    assert verified.verification_method == METHOD
    assert verified.created == NOW
    assert len(verified.nonce) >= 16


def test_each_request_gets_its_own_nonce():
    assert request()["proof"]["nonce"] != request()["proof"]["nonce"]


def test_stale_and_future_requests_are_refused():
    with pytest.raises(StaleRequestError, match="older than"):
        verify_request(request(), DID, domain=REGISTRY, loader=CATALOG.loader, now=NOW + timedelta(minutes=6))
    with pytest.raises(StaleRequestError, match="future"):
        verify_request(
            request(created=NOW + timedelta(minutes=4)),
            DID,
            domain=REGISTRY,
            loader=CATALOG.loader,
            now=NOW - timedelta(minutes=2),
        )


def test_a_request_for_another_receiver_is_refused():
    with pytest.raises(DomainMismatchError):
        verify_request(request(), DID, domain="did:web:other.example", loader=CATALOG.loader, now=NOW)


def test_a_tampered_request_is_refused():
    signed = request()
    signed["reason"] = "something else"
    with pytest.raises(InvalidSignatureError):
        verify_request(signed, DID, domain=REGISTRY, loader=CATALOG.loader, now=NOW)


def test_changing_the_nonce_breaks_the_signature():
    signed = request()
    signed["proof"]["nonce"] = "a-different-nonce-of-enough-length"
    with pytest.raises(InvalidSignatureError):
        verify_request(signed, DID, domain=REGISTRY, loader=CATALOG.loader, now=NOW)


def test_an_assertion_proof_is_not_a_request():
    document = CATALOG.resolve("key-change/1").example_document()
    signed = add_proof(
        document,
        KEY,
        verification_method=METHOD,
        loader=CATALOG.loader,
        created=NOW,
        domain=REGISTRY,
        nonce="n" * 20,
    )
    with pytest.raises(MalformedProofError, match="proofPurpose"):
        verify_request(signed, DID, domain=REGISTRY, loader=CATALOG.loader, now=NOW)


@pytest.mark.parametrize(
    ("member", "value", "message"), [("nonce", "short", "nonce"), ("nonce", None, "nonce")]
)
def test_malformed_requests(member, value, message):
    signed = request()
    if value is None:
        del signed["proof"][member]
    else:
        signed["proof"][member] = value
    with pytest.raises(MalformedProofError, match=message):
        verify_request(signed, DID, domain=REGISTRY, loader=CATALOG.loader, now=NOW)


def test_two_proofs_are_not_a_request():
    signed = request()
    signed["proof"] = [signed["proof"], signed["proof"]]
    with pytest.raises(MalformedProofError, match="exactly one proof"):
        verify_request(signed, DID, domain=REGISTRY, loader=CATALOG.loader, now=NOW)


def test_a_key_only_listed_for_assertion_cannot_sign_requests():
    key = generate_signing_key()
    did = DidDocument.create("did:web:n.example").add_key(key.public_key, relationships=["assertionMethod"])
    document = CATALOG.resolve("key-change/1").example_document()
    signed = sign_request(
        document,
        key,
        verification_method=did.key_id(key.public_key),
        domain=REGISTRY,
        loader=CATALOG.loader,
        created=NOW,
    )
    with pytest.raises(UnknownVerificationMethodError, match="authentication"):
        verify_request(signed, did, domain=REGISTRY, loader=CATALOG.loader, now=NOW)
