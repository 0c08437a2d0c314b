"""Key rotation and revocation by the enterprise, through signed key-change requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certs.data_integrity import add_proof, parse_datetime, verify_proofs
from certs.errors import KeyExpiredError, KeyRevokedError
from certs.keys import generate_signing_key
from handle_registry.prefix_records import PrefixRecord
from tests.handle_registry.service.support import CATALOG, LOADER, enterprise, profile, signed_record_from

PROBLEM = "https://carbonid.org/problems/"


def signed_profile(company, key, created):
    """A profile the node publishes, signed with `key` at `created`."""
    return add_proof(
        profile(company.prefix),
        key,
        verification_method=company.method(key),
        loader=LOADER,
        created=created,
    )


async def change(registry, company, document, **sign):
    return await registry.client.post(
        f"/api/prefixes/{company.prefix}/keys", json=company.sign(document, registry.did, **sign)
    )


async def current_record(registry, prefix) -> PrefixRecord:
    response = await registry.resolve(f"0.NA/{prefix}")
    assert response.status == 200
    return PrefixRecord.from_document(signed_record_from(await response.json()), CATALOG)


async def test_rotation_retires_the_old_key_and_the_new_one_signs(registry):
    company = enterprise("88.186.1")
    await registry.register(company)
    old, new = company.keys[0], generate_signing_key()
    before = signed_profile(company, old, datetime.now(UTC) - timedelta(minutes=1))

    response = await change(registry, company, company.key_change(add=[new], retire=[old]))
    assert response.status == 200
    document = await response.json()
    verify_proofs(document, registry.anchor(), loader=LOADER)
    record = PrefixRecord.from_document(document, CATALOG)
    assert record.version == 2
    retired = next(key for key in document["keys"] if key["id"] == company.method(old))
    assert "revokedAt" not in retired
    assert parse_datetime(retired["retiredAt"]) <= datetime.now(UTC)
    assert [key.public_key for key in record.active_keys()] == [new.public_key]

    served = await current_record(registry, company.prefix)
    assert served.document == document
    pubkeys = [
        v for v in (await (await registry.resolve("0.NA/88.186.1", type="HS_PUBKEY")).json())["values"]
    ]
    assert [v["data"]["value"]["kid"] for v in pubkeys] == [company.method(new)]

    # The new key signs; what the old key signed before the rotation still verifies; nothing after it.
    verify_proofs(signed_profile(company, new, datetime.now(UTC)), served, loader=LOADER)
    verify_proofs(before, served, loader=LOADER)
    with pytest.raises(KeyExpiredError):
        verify_proofs(signed_profile(company, old, datetime.now(UTC)), served, loader=LOADER)

    # A retired key can no longer change keys; the new one can.
    refused = await change(registry, company, company.key_change(add=[generate_signing_key()]), key=old)
    assert refused.status == 401
    assert (await refused.json())["type"] == PROBLEM + "key-retired"
    assert (
        await change(registry, company, company.key_change(add=[generate_signing_key()]), key=new)
    ).status == 200

    history = (await (await registry.client.get("/api/prefixes/88.186.1")).json())["history"]
    assert [(e["action"], e["version"]) for e in history] == [
        ("applied", None),
        ("approved", 1),
        ("keys-changed", 2),
        ("keys-changed", 3),
    ]
    assert history[2]["reason"] == "annual key rotation"
    assert history[2]["actor"] == company.method(old)


async def test_revocation(registry):
    company = enterprise("88.186.2", keys=2)
    await registry.register(company)
    compromised, safe = company.keys
    response = await change(
        registry, company, company.key_change(revoke=[compromised], reason="key leaked"), key=safe
    )
    assert response.status == 200
    revoked = next(key for key in (await response.json())["keys"] if key["id"] == company.method(compromised))
    assert "revokedAt" in revoked
    record = await current_record(registry, company.prefix)
    with pytest.raises(KeyRevokedError):
        verify_proofs(signed_profile(company, compromised, datetime.now(UTC)), record, loader=LOADER)
    verify_proofs(signed_profile(company, safe, datetime.now(UTC)), record, loader=LOADER)
    refused = await change(
        registry, company, company.key_change(add=[generate_signing_key()]), key=compromised
    )
    assert refused.status == 401
    assert (await refused.json())["type"] == PROBLEM + "key-revoked"


async def test_the_last_active_key_stays(registry):
    company = enterprise("88.186.3")
    await registry.register(company)
    for document in (company.key_change(retire=company.keys), company.key_change(revoke=company.keys)):
        response = await change(registry, company, document)
        assert response.status == 422
        assert (await response.json())["type"] == PROBLEM + "invalid-document"
    assert (await current_record(registry, company.prefix)).version == 1


async def test_key_change_refusals(registry):
    company = enterprise("88.186.4", keys=2)
    await registry.register(company)
    stranger = generate_signing_key()
    add = company.key_change(add=[generate_signing_key()])

    wrong_key = await change(registry, company, add, key=stranger)
    assert wrong_key.status == 401
    assert (await wrong_key.json())["type"] == PROBLEM + "key-not-in-record"

    signed = company.sign(add, registry.did)
    assert (await registry.client.post("/api/prefixes/88.186.4/keys", json=signed)).status == 200
    replay = await registry.client.post("/api/prefixes/88.186.4/keys", json=signed)
    assert replay.status == 401
    assert (await replay.json())["type"] == PROBLEM + "signature-replayed"

    for document, pointer in (
        (company.key_change(), ""),  # changes nothing
        (company.key_change(add=[company.keys[0]]), "/add/0/id"),  # already listed
        (company.key_change(retire=[stranger]), "/retire/0"),  # not a key of the prefix
        (company.key_change(retire=[company.keys[1]], revoke=[company.keys[1]]), "/retire/0"),
        (company.key_change(add=[generate_signing_key()]) | {"prefix": "88.186.5"}, "/prefix"),
        (company.key_change(add=[generate_signing_key()]) | {"reason": ""}, "/reason"),
    ):
        response = await change(registry, company, document)
        assert response.status == 422, document
        assert (await response.json())["issues"][0]["pointer"] == pointer

    stale = await change(registry, company, add, created=datetime.now(UTC) - timedelta(hours=1))
    assert (await stale.json())["type"] == PROBLEM + "signature-stale"

    other = enterprise("88.186.9")
    assert (await change(registry, other, other.key_change(add=[generate_signing_key()]))).status == 404
    await registry.apply(other)
    pending = await change(registry, other, other.key_change(add=[generate_signing_key()]))
    assert pending.status == 404


async def test_a_suspended_prefix_cannot_change_keys(registry):
    company = enterprise("88.186.6")
    await registry.register(company)
    await registry.client.post(
        "/api/prefixes/88.186.6/suspend", json={"reason": "audit"}, headers=registry.admin
    )
    response = await change(registry, company, company.key_change(add=[generate_signing_key()]))
    assert response.status == 409
    assert (await response.json())["type"] == PROBLEM + "wrong-status"
