"""Resolution across the federation: verified answers with their registry chain, prefix records, filters,
unsigned values, missing prefixes and handles, and a resolver pinned to the wrong anchor."""

from __future__ import annotations

import json

from certs.identity import ServiceIdentity
from tests.resolver.conftest import Federation


def values_by_index(body: dict) -> dict[int, dict]:
    return {value["index"]: value for value in body["values"]}


async def test_records_of_both_nodes_resolve_verified_with_their_registry_chain(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    under_delegation = await f.publish(f.node1, "ACT.2025")
    under_root = await f.publish(f.node2, "ACT.2025")

    status, body = await f.resolve(resolver, under_delegation)
    assert status == 200, body
    assert (body["responseCode"], body["handle"]) == (1, under_delegation)
    verification = body["verification"]
    assert verification["status"] == "verified"
    assert "reason" not in verification
    assert verification["registries"] == [f.root.url, f.delegated.url]
    assert verification["prefixRecord"]["handle"] == "0.NA/88.186.1"
    assert verification["prefixRecord"]["registry"] == f.delegated.did
    assert verification["verificationMethod"].startswith("did:web:127.0.0.1%3A")
    assert verification["cryptosuites"] == ["eddsa-rdfc-2022"]
    assert verification["version"] == 1
    assert (verification["cached"], verification["stale"]) == (False, False)
    assert verification["checkedAt"].endswith("Z")
    values = values_by_index(body)
    assert values[1001]["data"]["value"] == "activity-data/1"
    assert json.loads(values[400]["data"]["value"])["handle"] == under_delegation

    status, body = await f.resolve(resolver, under_root)
    assert status == 200, body
    assert body["verification"]["status"] == "verified"
    assert body["verification"]["registries"] == [f.root.url]
    assert body["verification"]["prefixRecord"]["registry"] == f.root.did


async def test_cached_answers_are_served_from_memory_and_echo_the_handle_as_requested(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    first = await f.resolve(resolver, handle)
    second = await f.resolve(resolver, handle)
    third = await f.resolve(resolver, handle)
    assert first[1]["verification"]["cached"] is False
    assert second[1]["verification"]["cached"] is True
    # The third answer comes from the bytes kept for this exact request target, and says the same.
    assert third == second
    assert len(resolver.ctx.responses) == 1
    assert f.node2.probe.count(handle) == 1

    # Handles compare ASCII case-insensitively and are echoed as written; the node is not asked again.
    lower = handle.replace("ACT", "act")
    status, body = await f.resolve(resolver, lower)
    assert (status, body["handle"], body["verification"]["status"]) == (200, lower, "verified")
    assert body["verification"]["cached"] is True
    assert f.node2.probe.count(handle) == 1


async def test_filters_select_what_is_answered_from_everything_verified(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    status, body = await f.resolve(resolver, handle, "?type=TEMPLATE&index=400")
    assert status == 200
    assert sorted(values_by_index(body)) == [400, 1001]
    assert body["verification"]["status"] == "verified"
    status, body = await f.resolve(resolver, handle, "?type=NOTHING")
    assert (status, body["responseCode"], body["values"]) == (200, 200, [])
    assert body["verification"]["status"] == "verified"
    status, body = await f.resolve(resolver, handle, "?index=x")
    assert (status, body["responseCode"]) == (400, 4)
    async with f.session.get(f"{resolver.url}/api/handles/{handle}?pretty") as response:
        text = await response.text()
    assert text.startswith('{\n  "responseCode": 1,')
    # One upstream fetch served every variant.
    assert f.node2.probe.count(handle) == 1


async def test_prefix_records_resolve_verified_through_the_delegation(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    for requested in ("0.NA/88.186.1", "88.186.1"):
        status, body = await f.resolve(resolver, requested)
        assert status == 200, body
        assert body["handle"] == requested
        verification = body["verification"]
        assert verification["status"] == "verified"
        assert verification["registries"] == [f.root.url, f.delegated.url]
        assert verification["prefixRecord"] == {
            "handle": "0.NA/88.186.1",
            "version": 1,
            "registry": f.delegated.did,
            "issued": verification["prefixRecord"]["issued"],
        }
        assert {value["type"] for value in body["values"]} >= {"HS_SITE", "URL", "DOCUMENT", "HS_PUBKEY"}

    # The delegation itself is the root's record of a registry.
    status, body = await f.resolve(resolver, "0.NA/88.186")
    assert (status, body["verification"]["status"]) == (200, "verified")
    assert body["verification"]["registries"] == [f.root.url]
    # A prefix delegated to a registry holds no handles.
    status, body = await f.resolve(resolver, "88.186/ANYTHING")
    assert status == 200
    assert body["verification"]["status"] == "failed"
    assert "delegated to the registry" in body["verification"]["reason"]


async def test_plain_handle_values_are_unsigned(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    node = f.node2
    async with node.session.put(
        f"{node.url}/api/handles/88.200.1/PLAIN",
        json=[{"index": 1, "type": "URL", "data": "https://example.com/plain"}],
        headers=node.admin,
    ) as response:
        assert response.status in (200, 201), await response.text()
    for handle in ("88.200.1/PLAIN", "88.200.1/ADMIN"):
        status, body = await f.resolve(resolver, handle)
        assert status == 200, body
        assert body["verification"]["status"] == "unsigned"
        assert body["verification"]["prefixRecord"]["handle"] == "0.NA/88.200.1"
        assert "verificationMethod" not in body["verification"]
    status, body = await f.resolve(resolver, "88.200.1/PLAIN")
    assert values_by_index(body)[1]["data"]["value"] == "https://example.com/plain"


async def test_missing_prefixes_and_handles_are_not_found_and_bad_handles_invalid(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    for handle in ("88.999.1/X", "88.186.7/X", "99/X", "88.200.1/MISSING", "0.NA/88.999"):
        status, body = await f.resolve(resolver, handle)
        assert (status, body["responseCode"], body["handle"]) == (404, 100, handle), body
    for handle in ("88..1/X", "88.200.1/", "%ZZ"):
        async with f.session.get(f"{resolver.url}/api/handles/{handle}") as response:
            body = await response.json()
        assert (response.status, body["responseCode"]) == (400, 102), (handle, body)
    async with f.session.get(f"{resolver.url}/api/handles?prefix=88.200.1") as response:
        assert (response.status, (await response.json())["responseCode"]) == (501, 5)
    async with f.session.get(f"{resolver.url}/api/handles/?prefix=88.200.1") as response:
        assert (response.status, (await response.json())["responseCode"]) == (501, 5)
    async with f.session.get(f"{resolver.url}/api/handles") as response:
        assert (response.status, (await response.json())["responseCode"]) == (400, 102)
    async with f.session.put(f"{resolver.url}/api/handles/88.200.1/X", json=[]) as response:
        assert (response.status, (await response.json())["responseCode"]) == (405, 4)


async def test_a_resolver_pinned_to_another_anchor_trusts_nothing(federation: Federation):
    f = federation
    impostor = ServiceIdentity.load_or_create(f.tmp / "impostor", f.root.url)
    anchor = f.tmp / "impostor-anchor.json"
    anchor.write_text(json.dumps(impostor.did.to_json()), "utf-8")
    resolver = await f.start_resolver(trust_anchor=anchor, data_dir=f.tmp / "resolver-impostor")
    handle = await f.publish(f.node2, "ACT.2025")
    status, body = await f.resolve(resolver, handle)
    assert status == 200
    assert body["values"] == []
    assert body["verification"]["status"] == "failed"
    assert "cannot be trusted" in body["verification"]["reason"]
    assert f.node2.probe.count(handle) == 0  # an untrusted prefix record's node is not even asked
    status, body = await f.resolve(resolver, "0.NA/88.200.1")
    assert body["verification"]["status"] == "failed"
    assert body["values"], "a failed prefix record is still shown"


async def test_the_resolver_serves_its_own_did_document(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    async with f.session.get(f"{resolver.url}/.well-known/did.json") as response:
        document = await response.json()
    assert document["id"] == resolver.ctx.identity.did.id
    assert document["assertionMethod"]
