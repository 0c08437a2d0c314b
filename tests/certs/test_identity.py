"""A service identity: keys created once and reloaded, signing with every key."""

from certs.data_integrity import verify_proofs
from certs.identity import ServiceIdentity
from certs.signed_requests import verify_request
from metadata_templates import default_catalog


def test_keys_are_created_once_and_reloaded(tmp_path):
    first = ServiceIdentity.load_or_create(tmp_path, "https://127.0.0.1:18443", algorithms=("ed25519", "sm2"))
    again = ServiceIdentity.load_or_create(tmp_path, "https://127.0.0.1:18443", algorithms=("ed25519", "sm2"))
    assert first.did == again.did
    assert first.did.id == "did:web:127.0.0.1%3A18443"
    assert (tmp_path / "ed25519.key").stat().st_mode & 0o777 == 0o600


def test_signs_with_every_key_and_signs_requests(tmp_path):
    catalog = default_catalog()
    identity = ServiceIdentity.load_or_create(tmp_path, "https://node.example", algorithms=("ed25519", "sm2"))
    signed = identity.sign(catalog.resolve("enterprise-profile").example_document(), catalog.loader)
    assert [p["cryptosuite"] for p in signed["proof"]] == ["eddsa-rdfc-2022", "sm2-rdfc-2024"]
    assert len(verify_proofs(signed, identity.did, loader=catalog.loader)) == 2
    request = identity.sign_request(
        catalog.resolve("key-change").example_document(), catalog.loader, domain="did:web:r.example"
    )
    assert (
        verify_request(
            request, identity.did, domain="did:web:r.example", loader=catalog.loader
        ).proof.cryptosuite
        == "eddsa-rdfc-2022"
    )
