"""Carbon records: publish → versions (append-only, who/when/why) → Handle resolution whose proofs verify."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace

from certs.data_integrity import verify_proofs
from certs.did import DidDocument
from handle_registry.codec import decode_resolution, parse_json
from handle_registry.records import record_values_from_handle_values
from metadata_templates import default_catalog
from metadata_templates.handle_mapping import values_to_document
from node.app import create_app
from node.log import canonical_json
from node.runtime import initialise_node
from tests.node.conftest import ADMIN, ADMIN_USER, PREFIX, SECRET, activity, basic, footprint, publish


async def did_document(client) -> DidDocument:
    response = await client.get("/.well-known/did.json")
    assert response.status == 200
    return DidDocument.from_json(await response.json())


async def test_publish_then_read_with_metadata(client):
    response = await client.post(
        "/api/records",
        json={"template": "activity-data/1", "document": activity(), "suffix": "ACT.2025"},
        headers=ADMIN,
    )
    assert response.status == 201
    assert await response.json() == {
        "handle": f"{PREFIX}/ACT.2025",
        "version": 1,
        "href": f"/api/records/{PREFIX}/ACT.2025",
    }
    assert response.headers["Location"] == f"/api/records/{PREFIX}/ACT.2025"

    record = await (await client.get(f"/api/records/{PREFIX}/ACT.2025")).json()
    assert record["handle"] == f"{PREFIX}/ACT.2025"
    assert (record["version"], record["latestVersion"], record["template"]) == (1, 1, "activity-data/1")
    assert (record["visibility"], record["changedBy"], record["reason"]) == ("public", ADMIN_USER, None)
    assert record["created"] == record["published"]
    document = record["document"]
    assert document["handle"] == f"{PREFIX}/ACT.2025"
    assert record["digest"] == hashlib.sha256(canonical_json(document)).hexdigest()
    # Signed by the node's key, as its DID document says.
    (proof,) = verify_proofs(document, await did_document(client), loader=default_catalog().loader)
    assert proof.cryptosuite == "eddsa-rdfc-2022"


async def test_versions_are_appended_never_rewritten(client):
    first = await publish(client, activity(), suffix="ACT.2025")
    v1 = await (await client.get(f"/api/records/{first['handle']}")).json()
    # A second version needs a reason.
    changed = activity()
    changed["industrialAddedValue10kCny"] = 50000
    refused = await publish(client, changed, suffix="ACT.2025", expect=422)
    assert refused["issues"][0]["pointer"] == "/reason"
    second = await publish(client, changed, suffix="act.2025", reason="audited added value")
    assert second == {"handle": f"{PREFIX}/ACT.2025", "version": 2, "href": f"/api/records/{PREFIX}/ACT.2025"}

    versions = await (await client.get(f"/api/records/{PREFIX}/ACT.2025/versions")).json()
    assert [(v["version"], v["reason"], v["changedBy"]) for v in versions["versions"]] == [
        (1, None, ADMIN_USER),
        (2, "audited added value", ADMIN_USER),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["created"]) for v in versions["versions"])
    latest = await (await client.get(f"/api/records/{PREFIX}/ACT.2025")).json()
    assert (latest["version"], latest["document"]["industrialAddedValue10kCny"]) == (2, 50000)
    old = await (await client.get(f"/api/records/{PREFIX}/ACT.2025/versions/1")).json()
    assert old["document"] == v1["document"]
    assert old["digest"] == v1["digest"] != latest["digest"]
    missing = await client.get(f"/api/records/{PREFIX}/ACT.2025/versions/3")
    assert (missing.status, (await missing.json())["type"]) == (
        404,
        "https://carbonid.org/problems/version-not-found",
    )


async def test_record_resolves_as_handle_values_whose_proofs_verify(client):
    published = await publish(client, activity(), suffix="ACT.2025")
    response = await client.get(f"/api/handles/{published['handle']}")
    assert response.status == 200
    body = await response.json()
    by_index = {v["index"]: v for v in body["values"]}
    assert by_index[1001]["type"] == "TEMPLATE"
    assert by_index[1001]["data"] == {"format": "string", "value": "activity-data/1"}
    assert (by_index[2000]["type"], by_index[2000]["data"]["value"]) == ("prefix", PREFIX)
    assert (by_index[2001]["type"], by_index[2001]["data"]["value"]) == ("period", "2025")
    assert by_index[400]["type"] == "DOCUMENT"
    assert by_index[401]["type"] == "PROOF"
    assert by_index[100]["type"] == "HS_ADMIN"
    assert all(v["ttl"] == 86400 for v in body["values"])
    # The record read back from its values is the signed document, and its proof verifies.
    resolution = decode_resolution(parse_json(await response.text()))
    template, document = values_to_document(
        default_catalog(), record_values_from_handle_values(resolution.values)
    )
    assert template.ref == "activity-data/1"
    assert json.loads(by_index[401]["data"]["value"]) == document["proof"]
    verify_proofs(document, await did_document(client), loader=default_catalog().loader)
    # type= filters work on records too.
    only = await (await client.get(f"/api/handles/{published['handle']}?type=TEMPLATE&type=PROOF")).json()
    assert [v["index"] for v in only["values"]] == [401, 1001]


async def test_template_failures_store_nothing(client):
    document = activity()
    del document["period"]
    document["industry"] = "Z9999"
    document["fuels"][0]["quantity"] = "lots"
    response = await client.post(
        "/api/records",
        json={"template": "activity-data", "document": document, "suffix": "BAD.1"},
        headers=ADMIN,
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["type"] == "https://carbonid.org/problems/invalid-record"
    pointers = {issue["pointer"] for issue in problem["issues"]}
    assert {"/document/period", "/document/industry", "/document/fuels/0/quantity"} <= pointers

    wrong_prefix = activity()
    wrong_prefix["prefix"] = "88.186.7"
    problem = await publish(client, wrong_prefix, suffix="BAD.2", expect=422)
    assert [issue["pointer"] for issue in problem["issues"]] == ["/document/prefix"]
    for body, pointer in (
        ({"template": "no-such-template", "document": activity()}, "/template"),
        ({"template": "prefix-record/1", "document": activity()}, "/template"),
        ({"template": "activity-data/1", "document": [1]}, "/document"),
        ({"template": "activity-data/1", "document": activity(), "visibility": "secret"}, "/visibility"),
        ({"template": "activity-data/1", "document": activity(), "suffix": "bad\u0001"}, "/suffix"),
        ({"template": "activity-data/1", "document": activity(), "extra": 1}, "/extra"),
        (
            {"template": "activity-data/1", "document": {**activity(), "handle": "88.186.7/X"}},
            "/document/handle",
        ),
        ({"template": "activity-data/1", "document": {**activity(), "proof": {}}}, "/document/proof"),
        ({"template": "activity-data/1", "document": activity(), "suffix": "admin"}, "/suffix"),
    ):
        response = await client.post("/api/records", json=body, headers=ADMIN)
        problem = await response.json()
        assert response.status == 422, problem
        assert problem["issues"][0]["pointer"] == pointer, problem

    # Nothing was stored: no record, no version, no log entry, no handle.
    assert (await (await client.get("/api/records")).json())["totalCount"] == 0
    log = await (await client.get("/api/log")).json()
    assert log == {"entries": [], "head": {"seq": 0, "hash": "0" * 64}}
    for suffix in ("BAD.1", "BAD.2"):
        assert (await client.get(f"/api/handles/{PREFIX}/{suffix}")).status == 404
        assert (await client.get(f"/api/records/{PREFIX}/{suffix}")).status == 404


async def test_suffix_rules(client):
    generated = await publish(client, activity("2025-03"))
    assert re.fullmatch(rf"{re.escape(PREFIX)}/ACT\.2025-03\.[0-9a-f]{{12}}", generated["handle"])
    named = activity()
    named["handle"] = f"{PREFIX}/ACT.NAMED"
    assert (await publish(client, named))["handle"] == f"{PREFIX}/ACT.NAMED"
    conflicting = await publish(client, named, suffix="ACT.OTHER", expect=422)
    assert conflicting["issues"][0]["pointer"] == "/document/handle"
    product = await publish(client, footprint(), template="product-footprint")
    assert product["handle"].startswith(f"{PREFIX}/CICES.")
    # A suffix taken by an ordinary Handle record is a conflict.
    await client.put(
        f"/api/handles/{PREFIX}/PLAIN",
        data=json.dumps([{"index": 1, "type": "URL", "data": "u"}]),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    taken = await publish(client, activity(), suffix="PLAIN", expect=409)
    assert taken["type"] == "https://carbonid.org/problems/handle-in-use"


async def test_visibility_is_kept_across_versions(client):
    await publish(client, activity(), suffix="ACT.P", visibility="private")
    await publish(client, activity(), suffix="ACT.P", reason="correction")
    record = await (await client.get(f"/api/records/{PREFIX}/ACT.P", headers=ADMIN)).json()
    assert (record["version"], record["visibility"]) == (2, "private")
    await publish(client, activity(), suffix="ACT.P", reason="now public", visibility="public")
    assert (await client.get(f"/api/records/{PREFIX}/ACT.P")).status == 200


async def test_listing_filters_and_pages(client):
    await publish(client, activity("2024"), suffix="ACT.2024")
    await publish(client, activity("2025"), suffix="ACT.2025")
    await publish(client, footprint(), template="product-footprint/1", suffix="CICES.1")
    await publish(client, activity("2025"), suffix="ACT.2025.P", visibility="private")

    async def listing(query="", headers=None):
        return await (await client.get(f"/api/records{query}", headers=headers or {})).json()

    everything = await listing()
    assert everything["totalCount"] == 3
    assert {r["handle"] for r in everything["records"]} == {
        f"{PREFIX}/ACT.2024",
        f"{PREFIX}/ACT.2025",
        f"{PREFIX}/CICES.1",
    }
    assert (await listing(headers=ADMIN))["totalCount"] == 4
    assert [r["handle"] for r in (await listing("?template=activity-data&period=2025"))["records"]] == [
        f"{PREFIX}/ACT.2025"
    ]
    assert (await listing("?template=product-footprint/1"))["totalCount"] == 1
    page = await listing("?page=1&pageSize=2")
    assert (page["totalCount"], page["page"], page["pageSize"], len(page["records"])) == (3, 1, 2, 1)
    bad = await client.get("/api/records?pageSize=0")
    assert (bad.status, (await bad.json())["type"]) == (
        400,
        "https://carbonid.org/problems/invalid-parameter",
    )


async def test_publishing_needs_the_admin(client):
    body = {"template": "activity-data/1", "document": activity()}
    response = await client.post("/api/records", json=body)
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = await client.post("/api/records", json=body, headers={"Authorization": basic(ADMIN_USER, "nope")})
    assert (wrong.status, (await wrong.json())["type"]) == (
        401,
        "https://carbonid.org/problems/invalid-credentials",
    )
    text = await client.post(
        "/api/records", data=json.dumps(body), headers={**ADMIN, "Content-Type": "text/plain"}
    )
    assert (text.status, text.content_type) == (415, "application/problem+json")
    broken = await client.post(
        "/api/records", data="{", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert (broken.status, (await broken.json())["type"]) == (
        400,
        "https://carbonid.org/problems/invalid-json",
    )
    assert (await (await client.get("/api/records")).json())["totalCount"] == 0


async def test_grants_are_an_append_only_history(client):
    handle = (await publish(client, activity(), suffix="ACT.G", visibility="private"))["handle"]
    grants = f"/api/records/{handle}/grants"
    assert (await client.get(grants)).status == 401
    granted = await client.post(grants, json={"prefix": "88.186.7", "partCode": "P-001"}, headers=ADMIN)
    body = await granted.json()
    assert granted.status == 201
    assert (body["prefix"], body["partCode"], body["active"], body["grantedBy"]) == (
        "88.186.7",
        "P-001",
        True,
        ADMIN_USER,
    )
    again = await client.post(grants, json={"prefix": "88.186.7"}, headers=ADMIN)
    assert again.status == 409
    for bad in ({"prefix": PREFIX}, {"prefix": "not a prefix"}, {}, {"prefix": "88.186.7", "x": 1}):
        assert (await client.post(grants, json=bad, headers=ADMIN)).status == 422
    revoked = await client.delete(f"{grants}/88.186.7", headers=ADMIN)
    body = await revoked.json()
    assert (revoked.status, body["active"], body["revokedBy"]) == (200, False, ADMIN_USER)
    assert (await client.delete(f"{grants}/88.186.7", headers=ADMIN)).status == 404
    assert (await client.post(grants, json={"prefix": "88.186.7"}, headers=ADMIN)).status == 201
    history = (await (await client.get(grants, headers=ADMIN)).json())["grants"]
    assert [(g["prefix"], g["partCode"], g["active"]) for g in history] == [
        ("88.186.7", "P-001", False),
        ("88.186.7", None, True),
    ]
    assert history[0]["revokedAt"] is not None
    assert (await client.get(f"/api/records/{PREFIX}/NONE/grants", headers=ADMIN)).status == 404


async def test_sm2_nodes_sign_with_both_keys(aiohttp_client, node_settings):
    settings = replace(node_settings, sign_sm2=True)
    await initialise_node(settings, SECRET)
    client = await aiohttp_client(create_app(settings))
    published = await publish(client, activity(), suffix="ACT.SM2")
    record = await (await client.get(f"/api/records/{published['handle']}")).json()
    proofs = verify_proofs(record["document"], await did_document(client), loader=default_catalog().loader)
    assert sorted(p.cryptosuite for p in proofs) == ["eddsa-rdfc-2022", "sm2-rdfc-2024"]
    values = (await (await client.get(f"/api/handles/{published['handle']}?type=PROOF")).json())["values"]
    assert [v["index"] for v in values] == [401, 402]


async def test_concurrent_publications_make_consecutive_versions_and_one_chain(client):
    import asyncio

    from node.log import verify_log

    await publish(client, activity(), suffix="ACT.C")
    results = await asyncio.gather(
        *(publish(client, activity(), suffix="ACT.C", reason=f"change {n}") for n in range(6)),
        *(publish(client, activity(), suffix=f"ACT.N{n}") for n in range(4)),
    )
    assert sorted(r["version"] for r in results[:6]) == [2, 3, 4, 5, 6, 7]
    versions = (await (await client.get(f"/api/records/{PREFIX}/ACT.C/versions")).json())["versions"]
    assert [v["version"] for v in versions] == list(range(1, 8))
    log = await (await client.get("/api/log")).json()
    assert [e["seq"] for e in log["entries"]] == list(range(1, 12))
    verify_log(log["entries"], await (await client.get("/.well-known/did.json")).json())


async def test_control_characters_never_reach_the_database(client):
    await publish(client, activity(), suffix="ACT.CTL")
    refused = await publish(client, activity(), suffix="ACT.CTL", reason="bad\u0000reason", expect=422)
    assert refused["issues"][0]["pointer"] == "/reason"
    grant = await client.post(
        f"/api/records/{PREFIX}/ACT.CTL/grants",
        json={"prefix": "88.186.7", "partCode": "a\u0000"},
        headers=ADMIN,
    )
    assert grant.status == 422
    listing = await client.get("/api/records?template=activity-data%00")
    assert listing.status == 400
    assert (await client.get(f"/api/records/{PREFIX}/A%00B")).status == 404
    assert (await client.get(f"/api/handles/{PREFIX}/A%00B")).status == 400
    big = await client.get(f"/api/handles?prefix={PREFIX}&page={10**30}&pageSize=1")
    assert (big.status, (await big.json())["responseCode"]) == (400, 4)


async def test_the_signed_document_carries_its_handle_and_version(client):
    await publish(client, activity(), suffix="ACT.V")
    await publish(client, activity(), suffix="ACT.V", reason="corrected meter reading")
    latest = await (await client.get(f"/api/records/{PREFIX}/ACT.V")).json()
    first = await (await client.get(f"/api/records/{PREFIX}/ACT.V/versions/1")).json()
    assert (latest["document"]["handle"], latest["document"]["version"]) == (f"{PREFIX}/ACT.V", 2)
    assert first["document"]["version"] == 1
    # A version number sent by the publisher is not trusted: the node writes its own.
    document = activity()
    document["version"] = 99
    assert (await publish(client, document, suffix="ACT.V", reason="third"))["version"] == 3
