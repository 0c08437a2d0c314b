"""What the resolver refuses: a record tampered with at the node, a record signed with another prefix's key,
a record served under another handle, and a rollback to an older version, even after a restart."""

from __future__ import annotations

import json

import sqlalchemy as sa

from certs.identity import ServiceIdentity
from certs.keys import generate_signing_key
from common.database import create_engine
from handle_registry.identifiers import fold_ascii
from handle_registry.service import schema as registry_schema
from node import schema as node_schema
from tests.resolver.conftest import CATALOG, HANDLE_TTL, RECORD_TTL, Federation, Node


async def stored_document(f: Federation, node: Node, handle: str) -> tuple[int, dict]:
    """The latest version number and signed document of a record, read from the node's database."""
    found: list[tuple[int, dict]] = []

    async def read(conn):
        key = fold_ascii(handle)
        latest = (
            await conn.execute(
                sa.select(node_schema.records.c.latest_version).where(node_schema.records.c.handle_key == key)
            )
        ).scalar_one()
        document = (
            await conn.execute(
                sa.select(node_schema.record_versions.c.document).where(
                    node_schema.record_versions.c.handle_key == key,
                    node_schema.record_versions.c.version == latest,
                )
            )
        ).scalar_one()
        found.append((latest, json.loads(document)))

    await f.edit_node_database(node, read)
    return found[0]


async def store_document(f: Federation, node: Node, handle: str, version: int, document: dict) -> None:
    """Replace the stored signed document of one version, as an attacker with the node's database would."""

    async def write(conn):
        table = node_schema.record_versions
        await conn.execute(
            table.update()
            .where(table.c.handle_key == fold_ascii(handle), table.c.version == version)
            .values(document=json.dumps(document, ensure_ascii=False))
        )

    await f.edit_node_database(node, write)


async def test_a_record_tampered_with_at_the_node_fails_with_the_signature_reason(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node1, "ACT.2025")
    version, document = await stored_document(f, f.node1, handle)
    document["industrialAddedValue10kCny"] = 96000
    await store_document(f, f.node1, handle, version, document)

    status, body = await f.resolve(resolver, handle)
    assert status == 200
    verification = body["verification"]
    assert verification["status"] == "failed"
    assert "signature does not verify" in verification["reason"]
    assert verification["code"] == "signature-invalid"
    # The values are still answered: the status says not to trust them.
    fields = {value["type"]: value["data"]["value"] for value in body["values"]}
    assert fields["industrialAddedValue10kCny"] == "96000"


async def test_a_record_signed_with_another_prefixs_key_fails(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node1, "ACT.2025")
    version, document = await stored_document(f, f.node1, handle)
    # Node 88.200.1 signs a document claiming to be 88.186.1's record; it lands in 88.186.1's database.
    other = ServiceIdentity.load_or_create(f.node2.settings.data_dir / "keys", f.node2.settings.base_url())
    forged = other.sign({k: v for k, v in document.items() if k != "proof"}, CATALOG.loader)
    await store_document(f, f.node1, handle, version, forged)

    status, body = await f.resolve(resolver, handle)
    assert status == 200
    verification = body["verification"]
    assert verification["status"] == "failed"
    assert "is not a key of prefix 88.186.1" in verification["reason"]
    assert other.did.id in verification["reason"]


async def test_a_record_served_under_another_handle_fails(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    original = await f.publish(f.node2, "ACT.A")
    copy = await f.publish(f.node2, "ACT.B")
    _, document = await stored_document(f, f.node2, original)
    # A validly signed record of ACT.A served as ACT.B.
    await store_document(f, f.node2, copy, 1, document)
    status, body = await f.resolve(resolver, copy)
    assert status == 200
    assert body["verification"]["status"] == "failed"
    assert "is the record of '88.200.1/ACT.A'" in body["verification"]["reason"]


async def test_a_rollback_is_refused_and_still_refused_after_a_restart(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node1, "ACT.2025")
    await f.publish(
        f.node1, "ACT.2025", reason="corrected figures", changes={"industrialAddedValue10kCny": 50000}
    )
    status, body = await f.resolve(resolver, handle)
    assert (status, body["verification"]["status"], body["verification"]["version"]) == (200, "verified", 2)

    # The node serves version 1 again: its latest version row and pointer are rewound.
    async def rewind(conn):
        key = fold_ascii(handle)
        await conn.execute(
            node_schema.record_versions.delete().where(
                node_schema.record_versions.c.handle_key == key, node_schema.record_versions.c.version == 2
            )
        )
        await conn.execute(
            node_schema.records.update()
            .where(node_schema.records.c.handle_key == key)
            .values(latest_version=1)
        )

    await f.edit_node_database(f.node1, rewind)
    resolver.clock.advance(HANDLE_TTL + 1)
    status, body = await f.resolve(resolver, handle)
    assert status == 200
    verification = body["verification"]
    assert verification["status"] == "failed"
    assert "rollback refused" in verification["reason"]
    assert "version 2 was verified before" in verification["reason"]

    # A new resolver process on the same database (and with empty caches) refuses it too.
    restarted = await f.start_resolver()
    status, body = await f.resolve(restarted, handle)
    assert body["verification"]["status"] == "failed"
    assert "rollback refused" in body["verification"]["reason"]


async def test_equivocation_under_one_version_is_refused(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    version, document = await stored_document(f, f.node2, handle)
    assert (await f.resolve(resolver, handle))[1]["verification"]["status"] == "verified"
    # The node re-signs a different document under the same version number.
    identity = ServiceIdentity.load_or_create(f.node2.settings.data_dir / "keys", f.node2.settings.base_url())
    changed = {k: v for k, v in document.items() if k != "proof"} | {"industrialAddedValue10kCny": 1}
    await store_document(f, f.node2, handle, version, identity.sign(changed, CATALOG.loader))
    resolver.clock.advance(HANDLE_TTL + 1)
    _status, body = await f.resolve(resolver, handle)
    assert body["verification"]["status"] == "failed"
    assert "equivocation" in body["verification"]["reason"]


async def test_an_unchanged_record_is_not_verified_twice(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    assert (await f.resolve(resolver, handle))[1]["verification"]["status"] == "verified"
    verifier = resolver.ctx.verifier
    done = verifier.verifications
    resolver.clock.advance(RECORD_TTL + 1)  # both the answer and the prefix record expire
    status, body = await f.resolve(resolver, handle)
    assert (status, body["verification"]["status"], body["verification"]["cached"]) == (
        200,
        "verified",
        False,
    )
    assert f.node2.probe.count(handle) == 2
    # Refetched, same documents: nothing canonicalized again.
    assert verifier.verifications == done


async def test_a_suspended_prefix_verifies_nothing_and_its_record_cannot_roll_back(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    assert (await f.resolve(resolver, handle))[1]["verification"]["status"] == "verified"

    async def decide(action: str) -> None:
        async with f.session.post(
            f"{f.root.url}/api/prefixes/88.200.1/{action}", json={"reason": "audit"}, headers=f.root.admin
        ) as response:
            assert response.status == 200, await response.text()

    await decide("suspend")
    resolver.clock.advance(RECORD_TTL + 1)
    status, body = await f.resolve(resolver, handle)
    assert status == 200
    verification = body["verification"]
    assert (verification["status"], verification["prefixRecord"]["version"]) == ("failed", 2)
    assert "prefix 88.200.1 is suspended" in verification["reason"]

    await decide("reinstate")
    resolver.clock.advance(RECORD_TTL + 1)
    status, body = await f.resolve(resolver, handle)
    assert (body["verification"]["status"], body["verification"]["prefixRecord"]["version"]) == (
        "verified",
        3,
    )

    # The root registry serves the prefix's version 1 record again.
    async def rewind(conn):
        table = registry_schema.prefixes
        await conn.execute(table.update().where(table.c.prefix_key == "88.200.1").values(current_version=1))

    engine = create_engine(f.database_url)
    try:
        async with engine.begin() as conn:
            await rewind(conn)
    finally:
        await engine.dispose()
    resolver.clock.advance(RECORD_TTL + 1)
    for requested in (handle, "0.NA/88.200.1"):
        status, body = await f.resolve(resolver, requested)
        assert body["verification"]["status"] == "failed", requested
        assert "rollback refused: 0.NA/88.200.1 is served at version 1" in body["verification"]["reason"]


async def test_a_record_signed_with_a_revoked_key_fails(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    node = f.node2.settings
    identity = ServiceIdentity.load_or_create(node.data_dir / "keys", node.base_url())
    old = identity.method_id(identity.keys[0])
    new_key = generate_signing_key()
    change = {
        "@context": ["https://carbonid.org/contexts/key-change/v1.jsonld"],
        "type": "KeyChange",
        "prefix": node.prefix,
        "add": [
            {
                "id": identity.did.key_id(new_key.public_key),
                "publicKeyMultibase": new_key.public_key.multibase,
            }
        ],
        "revoke": [old],
        "reason": "the key was exposed",
    }
    signed = identity.sign_request(change, CATALOG.loader, domain=f.root.did)
    async with f.session.post(f"{f.root.url}/api/prefixes/{node.prefix}/keys", json=signed) as response:
        assert response.status == 200, await response.text()
    # The node does not know and keeps signing with the revoked key.
    handle = await f.publish(f.node2, "ACT.AFTER")
    status, body = await f.resolve(resolver, handle)
    assert status == 200
    verification = body["verification"]
    assert (verification["status"], verification["prefixRecord"]["version"]) == ("failed", 2)
    assert f"key {old} was revoked at" in verification["reason"]
