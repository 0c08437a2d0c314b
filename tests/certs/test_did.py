"""DID documents: did:web mapping, Multikey methods, rotation and revocation."""

from datetime import UTC, datetime, timedelta

import pytest

from certs.canonical import canonicalize
from certs.data_integrity import ASSERTION_METHOD, AUTHENTICATION
from certs.did import DidDocument, DidDocumentError, did_web_document_url, did_web_for_url
from certs.errors import KeyExpiredError, KeyRevokedError, UnknownVerificationMethodError
from certs.keys import generate_signing_key

NOW = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "did", "document_url"),
    [
        ("https://node.example", "did:web:node.example", "https://node.example/.well-known/did.json"),
        ("https://127.0.0.1:8443", "did:web:127.0.0.1%3A8443", "https://127.0.0.1:8443/.well-known/did.json"),
        (
            "https://w3c-ccg.github.io/user/alice",
            "did:web:w3c-ccg.github.io:user:alice",
            "https://w3c-ccg.github.io/user/alice/did.json",
        ),
        (
            "https://node.example/.well-known/did.json",
            "did:web:node.example",
            "https://node.example/.well-known/did.json",
        ),
    ],
)
def test_did_web_mapping(url, did, document_url):
    assert did_web_for_url(url) == did
    assert did_web_document_url(did) == document_url


@pytest.mark.parametrize("bad", ["did:key:z6Mk", "did:web:bad host", "https://x"])
def test_bad_did_web(bad):
    with pytest.raises(ValueError, match="did:web"):
        did_web_document_url(bad)


def test_document_lists_multikeys_under_assertion_method_and_round_trips():
    ed, sm = generate_signing_key("ed25519"), generate_signing_key("sm2")
    document = DidDocument.create("did:web:node.example", [ed.public_key, sm.public_key])
    data = document.to_json()
    assert data["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert [m["type"] for m in data["verificationMethod"]] == ["Multikey", "Multikey"]
    assert data["assertionMethod"] == [m["id"] for m in data["verificationMethod"]]
    assert DidDocument.from_json(data) == document
    canonicalize(data)  # every member is defined by the DID and Multikey contexts


def test_rotation_keeps_old_key_with_expiry():
    old, new = generate_signing_key(), generate_signing_key()
    document = DidDocument.create("did:web:n.example", [old.public_key]).rotate(new.public_key, at=NOW)
    old_id, new_id = document.key_id(old.public_key), document.key_id(new.public_key)
    assert document.method(old_id).expires == NOW
    assert [m.id for m in document.active_methods(at=NOW)] == [new_id]
    assert document.resolve_key(old_id, ASSERTION_METHOD, NOW - timedelta(seconds=1)) == old.public_key
    with pytest.raises(KeyExpiredError):
        document.resolve_key(old_id, ASSERTION_METHOD, NOW)
    data = document.to_json()
    assert data["verificationMethod"][0]["expires"] == "2026-05-01T00:00:00Z"
    assert DidDocument.from_json(data) == document


def test_revocation():
    key = generate_signing_key()
    document = DidDocument.create("did:web:n.example", [key.public_key])
    key_id = document.key_id(key.public_key)
    revoked = document.revoke(key_id, at=NOW)
    assert revoked.active_methods(at=NOW) == []
    with pytest.raises(KeyRevokedError):
        revoked.resolve_key(key_id, ASSERTION_METHOD, NOW + timedelta(days=1))
    assert revoked.to_json()["verificationMethod"][0]["revoked"] == "2026-05-01T00:00:00Z"
    with pytest.raises(UnknownVerificationMethodError):
        document.revoke("did:web:n.example#nothing")


def test_purpose_must_be_listed():
    key = generate_signing_key()
    document = DidDocument.create("did:web:n.example").add_key(key.public_key, relationships=[AUTHENTICATION])
    with pytest.raises(UnknownVerificationMethodError, match="not listed under assertionMethod"):
        document.resolve_key(document.key_id(key.public_key), ASSERTION_METHOD, NOW)
    assert document.resolve_key(document.key_id(key.public_key), AUTHENTICATION, NOW) == key.public_key


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(id="web:x"), "not a DID"),
        (
            lambda d: d.update(assertionMethod=["did:web:n.example#missing"]),
            "not a listed verification method",
        ),
        (lambda d: d["verificationMethod"][0].update(type="JsonWebKey2020"), "not Multikey"),
        (lambda d: d["verificationMethod"][0].update(publicKeyMultibase="zBAD0"), "verification method"),
        (lambda d: d["verificationMethod"][0].update(expires="soon"), "expires"),
    ],
)
def test_malformed_documents_are_refused(mutate, message):
    data = DidDocument.create("did:web:n.example", [generate_signing_key().public_key]).to_json()
    mutate(data)
    with pytest.raises(DidDocumentError, match=message):
        DidDocument.from_json(data)
