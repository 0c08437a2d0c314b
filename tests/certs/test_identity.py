"""A service identity: keys created once and reloaded, signing with every key, rotated without losing what
the old keys signed, and followed by a running service."""

from datetime import UTC, datetime, timedelta

import pytest

from certs.data_integrity import add_proof, verify_proofs
from certs.did import VerificationMethod
from certs.errors import KeyExpiredError
from certs.identity import ServiceIdentity
from certs.key_directory import KeyDirectoryError
from certs.keys import generate_signing_key
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


# --- rotation ---------------------------------------------------------------------------------------------


def _profile():
    catalog = default_catalog()
    return catalog, catalog.resolve("enterprise-profile").example_document()


def test_a_rotation_keeps_the_old_public_key_retired_and_signs_only_with_the_new_one(tmp_path):
    catalog, document = _profile()
    identity = ServiceIdentity.load_or_create(tmp_path, "https://node.example")
    (old,) = identity.keys
    before = identity.sign(document, catalog.loader, created=datetime.now(UTC) - timedelta(minutes=1))

    state = identity.rotate(reason="annual", at=datetime(2030, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC))
    (new,) = state.keys
    assert new.public_key != old.public_key
    (former,) = state.former
    assert (former.public_key, former.state, former.reason) == (old.public_key, "retired", "annual")
    # Retired at the next whole second: whatever the old key signed up to the rotation is dated before it.
    assert former.retired_at == datetime(2030, 1, 2, 3, 4, 6, tzinfo=UTC)
    # Only the public part stays: no file in the directory holds the old private key.
    assert all(old.private_pem() not in path.read_bytes() for path in tmp_path.iterdir() if path.is_file())

    signed = identity.sign(document, catalog.loader)
    assert signed["proof"]["verificationMethod"] == identity.method_id(new)
    verify_proofs(signed, identity.did, loader=catalog.loader)
    verify_proofs(before, identity.did, loader=catalog.loader)
    late = add_proof(
        document,
        old,
        verification_method=identity.method_id(old),
        loader=catalog.loader,
        created=datetime(2030, 1, 2, 3, 4, 6, tzinfo=UTC),
    )
    with pytest.raises(KeyExpiredError):
        verify_proofs(late, identity.did, loader=catalog.loader, now=datetime(2030, 1, 3, tzinfo=UTC))
    # A fresh load sees the same: current key, and the retired one in the DID document.
    again = ServiceIdentity.load_or_create(tmp_path, "https://node.example")
    assert again.keys[0].public_key == new.public_key
    assert again.did == identity.did


def test_a_running_identity_follows_a_rotation_made_by_another_process(tmp_path):
    running = ServiceIdentity.load_or_create(tmp_path, "https://node.example", algorithms=("ed25519", "sm2"))
    old = running.keys
    ServiceIdentity.load_or_create(tmp_path, "https://node.example", algorithms=("ed25519", "sm2")).rotate()
    assert [key.algorithm for key in running.keys] == ["ed25519", "sm2"]
    assert not {key.public_key for key in running.keys} & {key.public_key for key in old}
    catalog, document = _profile()
    signed = running.sign(document, catalog.loader)
    assert {proof["verificationMethod"] for proof in signed["proof"]} == {
        running.method_id(k) for k in running.keys
    }
    assert len(running.did.methods) == 4


def test_a_switch_interrupted_after_the_history_was_written_uses_the_successor(tmp_path):
    identity = ServiceIdentity.load_or_create(tmp_path, "https://node.example")
    directory = identity.directory
    old_pem = (tmp_path / "ed25519.key").read_bytes()
    (successor,) = directory.prepare()
    assert [key.public_key for key in identity.state.prepared] == [successor.public_key]
    assert identity.keys[0].public_key != successor.public_key  # prepared keys sign nothing
    next_pem = (tmp_path / "ed25519.next.key").read_bytes()
    directory.switch(at=datetime.now(UTC))
    # Put the files back as a crash between writing history.json and the rename would have left them.
    (tmp_path / "ed25519.key").write_bytes(old_pem)
    (tmp_path / "ed25519.next.key").write_bytes(next_pem)

    assert identity.keys[0].public_key == successor.public_key
    assert identity.state.prepared == ()
    # The next change finishes the rename.
    directory.set_times([])
    assert (tmp_path / "ed25519.key").read_bytes() == next_pem
    assert not (tmp_path / "ed25519.next.key").exists()


def test_a_prepared_successor_can_be_abandoned_and_a_switch_needs_one(tmp_path):
    identity = ServiceIdentity.load_or_create(tmp_path, "https://node.example")
    current = identity.keys[0].public_key
    directory = identity.directory
    (first,) = directory.prepare()
    assert directory.prepare()[0].public_key == first.public_key  # prepared again: the same successor
    directory.abandon()
    assert identity.keys[0].public_key == current
    assert identity.state.prepared == ()
    with pytest.raises(KeyDirectoryError, match="no successor key is prepared"):
        directory.switch(at=datetime.now(UTC))


def test_times_are_mirrored_from_the_registrys_key_list(tmp_path):
    identity = ServiceIdentity.load_or_create(tmp_path, "https://node.example")
    (old,) = identity.keys
    directory = identity.directory
    (new,) = directory.prepare()
    directory.switch(at=datetime(2030, 1, 1, tzinfo=UTC), reason="rotation")
    assert identity.state.former[0].state == "superseded"
    # Superseded but not retired by the registry yet: still an active method of the DID document.
    assert identity.method_id(old) in [m.id for m in identity.did.active_methods()]
    stranger = generate_signing_key()
    retired, revoked = datetime(2030, 1, 2, tzinfo=UTC), datetime(2030, 1, 3, tzinfo=UTC)
    did = identity.did.id
    listed = [
        VerificationMethod(identity.method_id(old), did, old.public_key, expires=retired),
        VerificationMethod(identity.method_id(new), did, new.public_key),
        VerificationMethod(
            f"{did}#{stranger.public_key.multibase}", did, stranger.public_key, revoked=revoked
        ),
    ]
    state = directory.set_times(listed, reason="leaked")
    times = {key.public_key: (key.retired_at, key.revoked_at) for key in state.former}
    assert times == {old.public_key: (retired, None), stranger.public_key: (None, revoked)}
    assert [key.public_key for key in state.current] == [new.public_key]
    method = identity.did.method(identity.method_id(old))
    assert (method.expires, method.revoked) == (retired, None)


def test_a_damaged_history_keeps_the_running_keys(tmp_path, caplog):
    identity = ServiceIdentity.load_or_create(tmp_path, "https://node.example")
    (key,) = identity.keys
    (tmp_path / "history.json").write_text("{not json", "utf-8")
    assert identity.keys == (key,)
    assert identity.keys == (key,)
    assert caplog.text.count("not reloaded") == 1
    with pytest.raises(KeyDirectoryError, match="is not JSON"):
        ServiceIdentity.load_or_create(tmp_path, "https://node.example")
    (tmp_path / "history.json").write_text('{"formerKeys": []}', "utf-8")
    assert identity.keys[0].public_key == key.public_key
