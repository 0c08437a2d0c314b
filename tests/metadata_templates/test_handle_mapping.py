"""A signed document as handle values and back."""

import json

import pytest

from certs.data_integrity import add_proof
from certs.did import DidDocument
from certs.keys import generate_signing_key
from metadata_templates.handle_mapping import (
    MappingError,
    RecordValue,
    document_to_values,
    values_to_document,
)

KEY = generate_signing_key()
SM2_KEY = generate_signing_key("sm2")
DID = DidDocument.create("did:web:node.example", [KEY.public_key, SM2_KEY.public_key])


def signed(catalog, template):
    document = template.example_document()
    document = add_proof(document, KEY, verification_method=DID.key_id(KEY.public_key), loader=catalog.loader)
    return add_proof(
        document, SM2_KEY, verification_method=DID.key_id(SM2_KEY.public_key), loader=catalog.loader
    )


def test_values_follow_the_reserved_indexes(catalog):
    template = catalog.get("enterprise-profile")
    document = signed(catalog, template)
    values = document_to_values(template, document)
    by_index = {v.index: v for v in values}
    assert by_index[1001] == RecordValue(1001, "TEMPLATE", "enterprise-profile/1")
    assert by_index[2000] == RecordValue(2000, "name", "长兴示范铝业有限公司")
    assert by_index[2006].type == "contact"
    assert json.loads(by_index[2006].value) == document["contact"]
    assert json.loads(by_index[2010].value) is True
    assert json.loads(by_index[400].value) == document
    assert [json.loads(v.value) for v in values if v.type == "PROOF"] == document["proof"]
    assert [v.index for v in values] == sorted(v.index for v in values)
    assert {401, 402} <= set(by_index)


@pytest.mark.parametrize("template_id", ["enterprise-profile", "activity-data", "product-footprint"])
def test_round_trip(catalog, template_id):
    template = catalog.get(template_id)
    document = signed(catalog, template)
    again_template, again = values_to_document(catalog, document_to_values(template, document))
    assert again_template is template
    assert again == document


def test_a_field_value_that_disagrees_with_the_signed_document_is_refused(catalog):
    template = catalog.get("enterprise-profile")
    values = list(document_to_values(template, signed(catalog, template)))
    values = [RecordValue(v.index, v.type, "另一家公司") if v.index == 2000 else v for v in values]
    with pytest.raises(MappingError, match="index 2000"):
        values_to_document(catalog, values)


@pytest.mark.parametrize(
    ("drop", "message"),
    [(1001, "no TEMPLATE value"), (400, "no DOCUMENT value")],
)
def test_incomplete_records_are_refused(catalog, drop, message):
    template = catalog.get("enterprise-profile")
    values = [v for v in document_to_values(template, signed(catalog, template)) if v.index != drop]
    with pytest.raises(MappingError, match=message):
        values_to_document(catalog, values)
