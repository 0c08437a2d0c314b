"""An independent implementation (digitalbazaar's JavaScript eddsa-rdfc-2022 suite) verifies what we sign."""

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certs.canonical import CREDENTIALS_V2, w3c_contexts
from certs.data_integrity import add_proof
from certs.did import DidDocument
from certs.keys import generate_signing_key

HERE = Path(__file__).parent / "js"
pytestmark = pytest.mark.interop


def _verify_with_javascript(document, did_document, contexts):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript verifier cannot run")
    if not (HERE / "node_modules" / "jsonld-signatures").is_dir():
        pytest.skip("tests/interop/js/node_modules is missing: run `make test` (it runs npm ci there)")
    payload = json.dumps({"document": document, "didDocument": did_document, "contexts": contexts})
    result = subprocess.run(
        [node, str(HERE / "verify.mjs")], input=payload, capture_output=True, text=True, timeout=60
    )
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


def _signed_credential():
    key = generate_signing_key("ed25519")
    did = DidDocument.create("did:web:resolver.example%3A8443", [key.public_key])
    credential = {
        "@context": [CREDENTIALS_V2],
        "id": "urn:uuid:4a1f1d0e-44a1-4c0a-8d55-4d0c5f7e2a10",
        "type": ["VerifiableCredential"],
        "issuer": did.id,
        "name": "碳效码 Carbon-efficiency certificate",
        "description": "Grade 2 (light green)\nK = 0.71",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:web:smelter.example", "name": "湖州某铝业有限公司"},
    }
    signed = add_proof(
        credential, key, verification_method=did.key_id(key.public_key), created=datetime.now(UTC)
    )
    return signed, did.to_json()


def test_javascript_verifier_accepts_our_eddsa_rdfc_2022_proof():
    signed, did_document = _signed_credential()
    result = _verify_with_javascript(signed, did_document, w3c_contexts())
    assert result == {"verified": True, "error": ""}


def test_javascript_verifier_rejects_a_tampered_document():
    signed, did_document = _signed_credential()
    signed["credentialSubject"]["name"] = "另一家公司"
    result = _verify_with_javascript(signed, did_document, w3c_contexts())
    assert result["verified"] is False
    assert "Invalid signature" in result["error"]


@pytest.mark.parametrize(
    "template_ref",
    ["enterprise-profile/1", "activity-data/1", "product-footprint/1", "carbon-efficiency-certificate/1"],
)
def test_javascript_verifier_accepts_signed_template_documents(template_ref):
    from metadata_templates import default_catalog

    catalog = default_catalog()
    template = catalog.resolve(template_ref)
    key = generate_signing_key("ed25519")
    did = DidDocument.create("did:web:node.example%3A8443", [key.public_key])
    document = template.example_document()
    signed = add_proof(document, key, verification_method=did.key_id(key.public_key), loader=catalog.loader)
    contexts = {url: catalog.loader.document(url) for url in catalog.loader.urls}
    assert _verify_with_javascript(signed, did.to_json(), contexts) == {"verified": True, "error": ""}
    first_list = next(
        (
            k
            for k, v in signed.items()
            if isinstance(v, list) and len(v) > 1 and k not in ("@context", "type")
        ),
        None,
    )
    if first_list:
        # Line order is signed (the contexts make arrays @list): the reference verifier agrees.
        signed[first_list] = list(reversed(signed[first_list]))
        assert _verify_with_javascript(signed, did.to_json(), contexts)["verified"] is False
