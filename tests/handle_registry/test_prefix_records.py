"""Prefix records: parsed into a key resolver, written as Handle values that round-trip through the codec."""

from datetime import UTC, datetime, timedelta

import pytest

from certs.data_integrity import add_proof, verify_proofs
from certs.did import DidDocument, VerificationMethod
from certs.errors import KeyExpiredError, KeyRevokedError, VerificationError
from certs.keys import generate_signing_key
from handle_registry.codec import decode_resolution, dumps, encode_resolution, parse_json
from handle_registry.identifiers import parse_prefix
from handle_registry.prefix_records import (
    PrefixRecord,
    PrefixSuspendedError,
    prefix_record_document,
    prefix_record_values,
)
from handle_registry.records import record_values_from_handle_values
from metadata_templates import TemplateValidationError, default_catalog
from metadata_templates.handle_mapping import values_to_document

CATALOG = default_catalog()
NOW = datetime(2026, 3, 1, tzinfo=UTC)
REGISTRY_KEY = generate_signing_key()
REGISTRY = DidDocument.create("did:web:registry.example", [REGISTRY_KEY.public_key])
NODE_KEY = generate_signing_key()
NODE_DID = "did:web:127.0.0.1%3A18443"


def record(*, status="approved", keys=None, service_url="https://127.0.0.1:18443"):
    keys = keys or (
        VerificationMethod(f"{NODE_DID}#{NODE_KEY.public_key.multibase}", NODE_DID, NODE_KEY.public_key),
    )
    document = prefix_record_document(
        prefix=parse_prefix("88.186.1"),
        kind="enterprise",
        status=status,
        version=2,
        issued=NOW,
        registry=REGISTRY.id,
        service_url=service_url,
        did=NODE_DID,
        keys=keys,
        catalog=CATALOG,
        enterprise={"enterpriseName": "长兴示范铝业有限公司", "region": "330522", "industry": "C3216"},
    )
    signed = add_proof(
        document,
        REGISTRY_KEY,
        verification_method=REGISTRY.key_id(REGISTRY_KEY.public_key),
        loader=CATALOG.loader,
        created=NOW,
    )
    verify_proofs(signed, REGISTRY, loader=CATALOG.loader, now=NOW)
    return PrefixRecord.from_document(signed, CATALOG)


def test_a_record_resolves_the_keys_it_lists():
    parsed = record()
    method = parsed.keys[0].id
    assert parsed.resolve_key(method, "assertionMethod", NOW) == NODE_KEY.public_key
    assert parsed.resolve_key(method, "authentication", NOW) == NODE_KEY.public_key
    with pytest.raises(VerificationError, match=r"not a key of prefix 88\.186\.1"):
        parsed.resolve_key("did:web:other.example#key", "assertionMethod", NOW)


def test_a_suspended_prefix_verifies_nothing():
    parsed = record(status="suspended")
    with pytest.raises(PrefixSuspendedError):
        parsed.resolve_key(parsed.keys[0].id, "assertionMethod", NOW)


def test_retired_and_revoked_keys_follow_the_time_rules():
    old, new = generate_signing_key(), generate_signing_key()
    keys = (
        VerificationMethod(f"{NODE_DID}#{old.public_key.multibase}", NODE_DID, old.public_key, expires=NOW),
        VerificationMethod(
            f"{NODE_DID}#{new.public_key.multibase}",
            NODE_DID,
            new.public_key,
            revoked=NOW + timedelta(days=1),
        ),
    )
    parsed = record(keys=keys)
    assert parsed.resolve_key(keys[0].id, "assertionMethod", NOW - timedelta(seconds=1)) == old.public_key
    with pytest.raises(KeyExpiredError):
        parsed.resolve_key(keys[0].id, "assertionMethod", NOW)
    with pytest.raises(KeyRevokedError):
        parsed.resolve_key(keys[1].id, "assertionMethod", NOW + timedelta(days=2))
    assert [k.id for k in parsed.active_keys(NOW)] == [keys[1].id]
    assert parsed.document["keys"][0]["retiredAt"] == "2026-03-01T00:00:00Z"


def test_handle_values_carry_site_url_admin_keys_and_the_signed_document():
    parsed = record()
    values = prefix_record_values(parsed, CATALOG, timestamp=NOW)
    by_index = {v.index: v for v in values}
    assert by_index[1].type == "HS_SITE"
    site = by_index[1].data.value
    assert ("url", "https://127.0.0.1:18443") in [(a.name, a.value) for a in site.attributes]
    assert site.servers[0].address == "127.0.0.1"
    assert site.serial_number == 2
    assert by_index[2].data.value == "https://127.0.0.1:18443"
    assert by_index[100].data.value.index == 300
    assert by_index[300].data.value.as_dict()["kid"] == parsed.keys[0].id
    assert by_index[1001].data.value == "prefix-record/1"
    assert {i: by_index[i].data.value for i in (2011, 2012)} == {2011: "330522", 2012: "C3216"}
    # Through the wire and back: the signed document survives and still verifies.
    wire = dumps(encode_resolution("0.NA/88.186.1", values))
    response = decode_resolution(parse_json(wire))
    _, document = values_to_document(CATALOG, record_values_from_handle_values(response.values))
    assert document == parsed.document
    verify_proofs(document, REGISTRY, loader=CATALOG.loader, now=NOW)


def test_a_host_name_service_url_has_no_hs_site_server_but_keeps_its_url():
    values = prefix_record_values(
        record(service_url="https://node.smelter.example:8443"), CATALOG, timestamp=NOW
    )
    site = next(v for v in values if v.index == 1).data.value
    assert site.servers == ()
    assert ("url", "https://node.smelter.example:8443") in [(a.name, a.value) for a in site.attributes]


def test_an_invalid_record_document_is_refused():
    document = dict(record().document)
    document["version"] = 0
    with pytest.raises(TemplateValidationError, match="/version"):
        PrefixRecord.from_document(document, CATALOG)
