"""A signed carbon record survives the trip through Handle REST JSON."""

from datetime import UTC, datetime

from certs.data_integrity import add_proof, verify_proofs
from certs.did import DidDocument
from certs.keys import generate_signing_key
from handle_registry.codec import decode_resolution, dumps, encode_resolution, parse_json
from handle_registry.records import handle_values_for_record, record_values_from_handle_values
from metadata_templates import default_catalog
from metadata_templates.handle_mapping import document_to_values, values_to_document


def test_signed_record_survives_handle_json():
    catalog = default_catalog()
    template = catalog.get("activity-data")
    key = generate_signing_key()
    did = DidDocument.create("did:web:node.example", [key.public_key])
    signed = add_proof(
        template.example_document(),
        key,
        verification_method=did.key_id(key.public_key),
        loader=catalog.loader,
    )
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = handle_values_for_record(document_to_values(template, signed), timestamp=moment)
    wire = dumps(encode_resolution("88.186.1/ACT.2025", values))
    assert '"timestamp":"2026-01-02T03:04:05Z"' in wire
    response = decode_resolution(parse_json(wire))
    again_template, again = values_to_document(catalog, record_values_from_handle_values(response.values))
    assert again_template is template
    assert again == signed
    verify_proofs(again, did, loader=catalog.loader)
