"""The catalog: templates as data, items derived from schemas, contexts true to schemas."""

import json

import pytest

from certs.canonical import canonicalize
from certs.errors import ContextNotAllowedError
from metadata_templates import TemplateNotFoundError, default_catalog, validate
from metadata_templates.contexts import context_from_schema, schema_members
from metadata_templates.validation import check_schema

TEMPLATES = default_catalog().list()
IDS = [t.ref for t in TEMPLATES]


def test_the_four_templates_of_the_foundation_are_there(catalog):
    assert {t.ref for t in catalog.list()} >= {
        "enterprise-profile/1",
        "activity-data/1",
        "product-footprint/1",
        "carbon-efficiency-certificate/1",
    }


def test_lookup_by_id_version_ref_and_context(catalog):
    profile = catalog.get("enterprise-profile", 1)
    assert catalog.get("enterprise-profile") is profile  # latest
    assert catalog.resolve("enterprise-profile/1") is profile
    assert catalog.resolve("enterprise-profile") is profile
    assert catalog.for_context(profile.context_url) is profile
    assert catalog.for_document(profile.example_document()) is profile


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.get("no-such-template"), "known: activity-data"),
        (lambda c: c.get("enterprise-profile", 9), "version 9"),
        (lambda c: c.resolve("enterprise-profile/x"), "must be a number"),
        (lambda c: c.for_context("https://example.org/ctx"), "no template"),
        (
            lambda c: c.for_document({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
            "names no carbonid template",
        ),
    ],
)
def test_unknown_templates_are_reported(catalog, call, message):
    with pytest.raises(TemplateNotFoundError, match=message):
        call(catalog)


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_schema_is_valid_json_schema_2020_12(template):
    assert template.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    check_schema(template)


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_every_member_has_chinese_and_english_labels(template):
    for name, member, pointer in schema_members(template.schema):
        if name == "@context":
            continue
        labels = member.get("x-labels")
        assert labels, f"{template.ref} {pointer} lacks labels"
        assert labels.get("zh"), f"{template.ref} {pointer} lacks a Chinese label"
        assert labels.get("en"), f"{template.ref} {pointer} lacks an English label"
        for value, value_labels in member.get("x-enum-labels", {}).items():
            assert value in member["enum"], f"{template.ref} {pointer}: label for unknown value {value}"
            assert value_labels["zh"]
            assert value_labels["en"]
    assert template.labels.zh
    assert template.labels.en


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_items_follow_the_industrial_internet_convention(template):
    indexes = [item.id_index for item in template.items]
    assert indexes == sorted(set(indexes)), "idIndex values must be unique"
    assert all(index >= 2000 for index in indexes)
    required_with_index = {
        n for n in template.schema["required"] if "x-idIndex" in template.schema["properties"][n]
    }
    assert {item.name for item in template.items if item.required} == required_with_index
    described = json.loads(json.dumps(template.describe(), ensure_ascii=False))
    assert described["items"][0]["idIndex"] == indexes[0]


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_committed_context_is_the_one_derived_from_the_schema(template):
    # A published context must not drift from its schema; regenerate with `python -m metadata_templates.contexts`.
    assert template.context == context_from_schema(template.schema, credential=template.is_credential)


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_example_document_validates_and_canonicalizes_safely(template, catalog):
    document = template.example_document()
    validate(template, document)
    assert canonicalize(document, catalog.loader)


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_reordering_array_lines_changes_the_canonical_form(template, catalog):
    document = template.example_document()
    arrays = [
        (name, value)
        for name, value in document.items()
        if isinstance(value, list) and len(value) > 1 and name not in ("@context", "type")
    ]
    for name, value in arrays:
        swapped = dict(document, **{name: list(reversed(value))})
        assert canonicalize(swapped, catalog.loader) != canonicalize(document, catalog.loader), name


def test_loader_serves_template_and_w3c_contexts_only(catalog):
    loader = catalog.loader
    for template in catalog.list():
        assert loader.document(template.context_url) == template.context
    assert "https://www.w3.org/ns/credentials/v2" in loader.urls
    with pytest.raises(ContextNotAllowedError):
        loader("https://carbonid.org/contexts/unknown/v1.jsonld")


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_every_example_can_be_signed_with_both_suites_and_verified(template, catalog):
    from certs.data_integrity import add_proof, verify_proofs
    from certs.did import DidDocument
    from certs.keys import generate_signing_key

    keys = [generate_signing_key("ed25519"), generate_signing_key("sm2")]
    did = DidDocument.create("did:web:node.example", [k.public_key for k in keys])
    document = template.example_document()
    for key in keys:
        document = add_proof(
            document, key, verification_method=did.key_id(key.public_key), loader=catalog.loader
        )
    assert len(verify_proofs(document, did, loader=catalog.loader)) == 2


def test_a_member_named_like_a_proof_term_is_refused():
    schema = {
        "type": "object",
        "properties": {"validity": {"type": "object", "properties": {"expires": {"type": "string"}}}},
    }
    with pytest.raises(ValueError, match="collides with a Data Integrity proof term"):
        context_from_schema(schema)
