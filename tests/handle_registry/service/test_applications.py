"""Applying for a prefix: the approval flow end to end, rejection, proof of possession, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from certs.data_integrity import verify_proofs
from certs.did import DidDocument
from certs.keys import generate_signing_key
from common.app_keys import ENGINE_KEY
from common.database import migrate
from handle_registry.identifiers import Prefix
from handle_registry.prefix_records import PrefixRecord
from handle_registry.service import schema
from handle_registry.service.keys import REGISTRY_KEY
from tests.handle_registry.service.support import CATALOG, LOADER, enterprise, signed_record_from

PROBLEM = "https://carbonid.org/problems/"


async def problem_type(response) -> str:
    assert response.content_type == "application/problem+json"
    return (await response.json())["type"].removeprefix(PROBLEM)


async def test_apply_list_approve_resolve_and_verify(registry):
    company = enterprise("88.186.1", keys=2)
    applied = await registry.apply(company)
    assert applied.status == 201
    assert await applied.json() == {
        "prefix": "88.186.1",
        "status": "pending",
        "href": "/api/prefixes/88.186.1",
    }
    assert applied.headers["Location"] == "/api/prefixes/88.186.1"

    anonymous = await (await registry.client.get("/api/prefixes")).json()
    assert anonymous["prefixes"] == []
    assert anonymous["totalCount"] == 0
    admin = await (await registry.client.get("/api/prefixes", headers=registry.admin)).json()
    assert [(p["prefix"], p["status"], p["version"]) for p in admin["prefixes"]] == [
        ("88.186.1", "pending", 0)
    ]
    assert (await registry.client.get("/api/prefixes/88.186.1")).status == 404
    pending = await registry.resolve("0.NA/88.186.1")
    assert pending.status == 404
    assert (await pending.json())["responseCode"] == 100

    approved = await registry.approve("88.186.1")
    assert approved.status == 200
    details = await approved.json()
    assert details["status"] == "approved"
    assert details["version"] == 1
    assert [event["action"] for event in details["history"]] == ["applied", "approved"]
    assert details["history"][0]["actor"] == company.method(company.keys[0])
    assert details["history"][1]["actor"] == "admin:root"

    resolved = await registry.resolve("0.NA/88.186.1")
    assert resolved.status == 200
    body = await resolved.json()
    assert body["responseCode"] == 1
    assert body["handle"] == "0.NA/88.186.1"
    types = {value["index"]: value["type"] for value in body["values"]}
    assert types[1] == "HS_SITE"
    assert types[2] == "URL"
    assert types[100] == "HS_ADMIN"
    assert types[300] == types[301] == "HS_PUBKEY"
    assert all(value["ttl"] == 86400 for value in body["values"])

    # The resolver's view: the anchor comes from /.well-known/did.json, the record from the Handle values.
    anchor = DidDocument.from_json(await (await registry.client.get("/.well-known/did.json")).json())
    assert anchor.id == registry.did
    document = signed_record_from(body)
    (proof,) = verify_proofs(document, anchor, loader=LOADER)
    assert proof.verification_method.startswith(registry.did + "#")
    record = PrefixRecord.from_document(document, CATALOG)
    assert [key.public_key for key in record.keys] == [key.public_key for key in company.keys]
    assert (record.kind, record.status, record.version, record.registry) == (
        "enterprise",
        "approved",
        1,
        anchor.id,
    )
    assert (record.service_url, record.did) == (company.service_url, company.did)
    assert (record.region, record.industry, record.uscc) == ("330522", "C3216", "91330522MA2B3C4D57")
    assert record.enterprise_name == "长兴示范铝业有限公司"
    # The registry's own answer carries the same signed record.
    public = await (await registry.client.get("/api/prefixes/88.186.1")).json()
    assert public["record"] == document
    assert "application" not in public


async def test_an_sm2_key_applies_and_resolves(registry):
    company = enterprise("88.186.20")
    company.keys = [generate_signing_key("sm2")]
    await registry.register(company)
    resolved = await registry.resolve("0.NA/88.186.20", type="HS_PUBKEY")
    assert resolved.status == 200
    (value,) = (await resolved.json())["values"]
    assert value["data"]["value"]["kid"] == company.method(company.keys[0])


async def test_rejection_shows_the_reason_and_the_prefix_does_not_resolve(registry):
    company = enterprise("88.186.2")
    assert (await registry.apply(company)).status == 201
    rejected = await registry.client.post(
        "/api/prefixes/88.186.2/reject",
        json={"reason": "USCC does not match the business licence"},
        headers=registry.admin,
    )
    assert rejected.status == 200
    details = await (await registry.client.get("/api/prefixes/88.186.2", headers=registry.admin)).json()
    assert details["status"] == "rejected"
    assert details["statusReason"] == "USCC does not match the business licence"
    assert details["history"][-1]["reason"] == "USCC does not match the business licence"
    assert details["record"] is None
    assert (await registry.client.get("/api/prefixes/88.186.2")).status == 404
    resolved = await registry.resolve("0.NA/88.186.2")
    assert resolved.status == 404
    assert (await resolved.json())["responseCode"] == 100
    # Rejected is final for this application: it cannot be approved or rejected again.
    assert await problem_type(await registry.approve("88.186.2")) == "wrong-status"


async def test_a_rejected_prefix_may_apply_again(registry):
    first = enterprise("88.186.3")
    assert (await registry.apply(first)).status == 201
    await registry.client.post(
        "/api/prefixes/88.186.3/reject", json={"reason": "incomplete"}, headers=registry.admin
    )
    second = enterprise("88.186.3", port=18444)
    assert (await registry.apply(second)).status == 201
    details = await (await registry.approve("88.186.3")).json()
    assert details["status"] == "approved"
    assert details["version"] == 1
    assert details["did"] == second.did
    assert [event["action"] for event in details["history"]] == ["applied", "rejected", "applied", "approved"]
    assert details["history"][1]["reason"] == "incomplete"
    record = PrefixRecord.from_document(details["record"], CATALOG)
    assert [key.public_key for key in record.keys] == [second.keys[0].public_key]
    # The first application is kept, not overwritten by the second: history is never deleted.
    store = registry.client.server.app[REGISTRY_KEY].store
    async with store.transaction() as tx:
        entry = await tx.prefix(Prefix("88.186.3"))
        assert entry is not None
        kept = await tx.applications(entry.id)
    assert [document["did"] for document in kept] == [first.did, second.did]


async def test_rejection_needs_a_reason(registry):
    company = enterprise("88.186.4")
    await registry.apply(company)
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 7}, {"reason": "x", "extra": 1}):
        response = await registry.client.post(
            "/api/prefixes/88.186.4/reject", json=body, headers=registry.admin
        )
        assert response.status == 422, body
        assert await problem_type(response) == "invalid-document"
    still = await (await registry.client.get("/api/prefixes/88.186.4", headers=registry.admin)).json()
    assert still["status"] == "pending"


# --- proof of possession -------------------------------------------------------------------------


async def test_signed_by_a_key_not_in_the_application(registry):
    company = enterprise("88.186.5")
    stranger = generate_signing_key()
    document = company.sign(
        company.application(),
        registry.did,
        key=stranger,
        method=f"{company.did}#{stranger.public_key.multibase}",
    )
    response = await registry.apply(company, document)
    assert response.status == 401
    assert await problem_type(response) == "key-not-in-application"


async def test_signed_for_another_registry(registry):
    company = enterprise("88.186.5")
    response = await registry.apply(company, company.signed_application("did:web:other-registry.example"))
    assert response.status == 401
    assert await problem_type(response) == "signature-wrong-domain"


async def test_a_stale_application_is_refused(registry):
    company = enterprise("88.186.5")
    old = datetime.now(UTC) - timedelta(seconds=registry.app_settings.request_max_age_seconds + 60)
    response = await registry.apply(company, company.signed_application(registry.did, created=old))
    assert response.status == 401
    assert await problem_type(response) == "signature-stale"


async def test_a_replayed_application_is_refused(registry):
    company = enterprise("88.186.5")
    document = company.signed_application(registry.did)
    assert (await registry.apply(company, document)).status == 201
    again = await registry.apply(company, document)
    assert again.status == 401
    assert await problem_type(again) == "signature-replayed"


async def test_a_tampered_application_is_refused(registry):
    company = enterprise("88.186.5")
    document = company.signed_application(registry.did)
    document["serviceUrl"] = "https://attacker.example"
    response = await registry.apply(company, document)
    assert response.status == 401
    assert await problem_type(response) == "signature-invalid"
    tampered_profile = company.signed_application(registry.did)
    tampered_profile["profile"]["name"] = "别的公司"
    assert await problem_type(await registry.apply(company, tampered_profile)) == "signature-invalid"
    # Nothing was stored by the refused requests.
    listing = await (await registry.client.get("/api/prefixes", headers=registry.admin)).json()
    assert listing["prefixes"] == []


async def test_an_unsigned_application_is_refused(registry):
    company = enterprise("88.186.5")
    response = await registry.apply(company, company.application())
    assert response.status == 401
    assert await problem_type(response) == "signature-missing"
    assert response.headers["WWW-Authenticate"]


async def test_a_refused_application_leaves_nothing_behind(registry):
    """A request refused after its nonce was checked (a duplicate) stores neither the nonce nor anything else."""
    holder = enterprise("88.186.6")
    assert (await registry.apply(holder)).status == 201
    rival = enterprise("88.186.6", port=18460)
    nonce = "n" * 24
    refused = await registry.apply(rival, rival.signed_application(registry.did, nonce=nonce))
    assert refused.status == 409
    # The same nonce is still fresh: the refused request's transaction was rolled back whole.
    rival.prefix = "88.186.60"
    accepted = await registry.apply(rival, rival.signed_application(registry.did, nonce=nonce))
    assert accepted.status == 201
    details = await (await registry.client.get("/api/prefixes/88.186.6", headers=registry.admin)).json()
    assert details["did"] == holder.did
    assert [event["action"] for event in details["history"]] == ["applied"]


# --- refusals before the signature -----------------------------------------------------------------


async def test_duplicates_conflict(registry):
    company = enterprise("88.186.7")
    assert (await registry.apply(company)).status == 201
    rival = enterprise("88.186.7", port=18450)
    pending = await registry.apply(rival)
    assert pending.status == 409
    assert await problem_type(pending) == "prefix-taken"
    await registry.approve("88.186.7")
    # Case-insensitive: 88.186.7 and its upper-cased spelling are the same prefix.
    other = enterprise("88.186.7", port=18451)
    assert (await registry.apply(other)).status == 409


async def test_prefix_case_is_echoed_but_compared_insensitively(registry):
    company = enterprise("88.ab.1")
    assert (await registry.apply(company)).status == 201
    assert (await registry.approve("88.AB.1")).status == 200
    resolved = await registry.resolve("0.na/88.Ab.1")
    body = await resolved.json()
    assert resolved.status == 200
    assert body["handle"] == "0.na/88.Ab.1"
    assert signed_record_from(body)["prefix"] == "88.ab.1"
    shouting = enterprise("88.AB.1", port=18452)
    assert (await registry.apply(shouting)).status == 409


@pytest.mark.parametrize(
    ("prefix", "code"),
    [
        ("88", "prefix-not-served"),  # the served prefix itself is not below itself
        ("89.1", "prefix-not-served"),
        ("881.1", "prefix-not-served"),
        ("0.NA", "invalid-document"),
        ("88..1", "invalid-document"),
        ("88.1/2", "invalid-document"),
        ("88.é", "invalid-document"),
    ],
)
async def test_prefixes_outside_or_malformed_are_unprocessable(registry, prefix, code):
    company = enterprise("88.186.8")
    application = company.application(prefix=prefix)
    application["profile"]["prefix"] = prefix
    response = await registry.apply(company, company.sign(application, registry.did))
    assert response.status == 422
    assert await problem_type(response) == code


async def test_template_problems_are_listed_with_pointers(registry):
    company = enterprise("88.186.9")
    application = company.application()
    del application["serviceUrl"]
    application["profile"]["uscc"] = "91330522MA2B3C4D50"  # wrong check digit
    application["profile"]["region"] = "339999"
    response = await registry.apply(company, company.sign(application, registry.did))
    assert response.status == 422
    body = await response.json()
    assert body["type"] == PROBLEM + "invalid-document"
    assert [issue["pointer"] for issue in body["issues"]] == ["/serviceUrl"]
    # With the application itself valid, the embedded profile is checked against enterprise-profile/1.
    application["serviceUrl"] = company.service_url
    body = await (await registry.apply(company, company.sign(application, registry.did))).json()
    assert {issue["pointer"] for issue in body["issues"]} == {"/profile/uscc", "/profile/region"}


async def test_the_profile_must_be_for_the_prefix_applied_for(registry):
    company = enterprise("88.186.10")
    application = company.application()
    application["profile"]["prefix"] = "88.186.11"
    body = await (await registry.apply(company, company.sign(application, registry.did))).json()
    assert body["issues"] == [{"pointer": "/profile/prefix", "message": body["issues"][0]["message"]}]


async def test_keys_must_belong_to_the_applicant_did(registry):
    company = enterprise("88.186.12")
    application = company.application()
    application["keys"][0]["id"] = "did:web:elsewhere.example#" + company.keys[0].public_key.multibase
    body = await (await registry.apply(company, company.sign(application, registry.did))).json()
    assert body["issues"][0]["pointer"] == "/keys/0/id"


async def test_not_json_and_bad_json(registry):
    response = await registry.client.post(
        "/api/prefixes", data="prefix=88.1", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert await problem_type(response) == "unsupported-media-type"
    response = await registry.client.post(
        "/api/prefixes", data="{", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert await problem_type(response) == "invalid-json"
    response = await registry.client.post("/api/prefixes", json=[1, 2])
    assert response.status == 400


async def test_an_oversized_application_is_refused_with_a_problem(aiohttp_client, tmp_path, database_url):
    from handle_registry.service.app import create_app
    from tests.handle_registry.service.support import settings_for

    client = await aiohttp_client(create_app(settings_for(tmp_path, database_url, max_body_bytes=2048)))
    company = enterprise("88.186.13")
    application = company.application(note="很" * 1500)
    response = await client.post("/api/prefixes", json=application)
    assert response.status == 413
    assert response.content_type == "application/problem+json"
    assert (await response.json())["type"] == PROBLEM + "content-too-large"


async def test_migration_2_keeps_the_application_each_prefix_already_had(registry):
    company = enterprise("88.186.6")
    assert (await registry.apply(company)).status == 201
    app = registry.client.server.app
    engine = app[ENGINE_KEY]
    # The database as version 1 left it: no applications table, migration 2 not applied.
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: schema.applications.drop(sync))
        await conn.execute(sa.text(f"DELETE FROM {schema.MIGRATION_TABLE} WHERE version = 2"))
    assert await migrate(engine, schema.MIGRATIONS, table=schema.MIGRATION_TABLE) == [2]

    async with app[REGISTRY_KEY].store.transaction() as tx:
        entry = await tx.prefix(Prefix("88.186.6"))
        assert entry is not None
        kept = await tx.applications(entry.id)
    assert [document["did"] for document in kept] == [company.did]
