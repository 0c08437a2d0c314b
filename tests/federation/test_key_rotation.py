"""Key rotation and revocation end to end, with real registries, nodes and a resolver on loopback ports:
old records stay verifiable with retired keys; records signed after a revocation are refused.

The federation is the resolver tests' (`tests.resolver.conftest`): node 88.200.1 sits directly under the
root registry, over plain HTTP. The key commands run as `carbonid …` does, beside the running services; the
running node and resolver are never restarted. The resolver keeps prefix records for the registry's
record_ttl: its clock is moved past that, so it fetches the record again (no sleeping).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from carbonid.cli import main
from certs.data_integrity import add_proof, parse_datetime
from certs.did import DidDocument
from certs.keys import load_signing_key
from node.log import verify_log
from resolver.certificates import ensure_operator
from resolver.keys import CERTIFICATES_KEY
from resolver.verification import document_digest
from tests.resolver.conftest import CATALOG, RECORD_TTL, Federation, Node, Resolver, basic
from tests.resolver.conftest import federation as federation  # the fixture
from tests.resolver.test_trust import store_document, stored_document

OPERATOR = ("auditor", "operator secret for tests")
TABLE = {
    "rows": [{"industry": "C32", "region": "000000", "period": "2025", "intensity": 30.0, "source": "test"}]
}


async def carbonid(*args: str) -> Result:
    # The command is synchronous (asyncio.run inside): it runs beside the event loop serving the federation.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args))


def node_config(f: Federation, node: Node) -> Path:
    settings = node.settings
    table = {
        "prefix": settings.prefix,
        "data_dir": str(settings.data_dir),
        "database_url": settings.database_url,
        "port": settings.port,
        "public_url": settings.base_url(),
        "registry_url": f.root.url,
        "log_json": False,
    }
    path = f.tmp / f"{settings.prefix}.toml"
    path.write_text("[node]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items()), "utf-8")
    return path


async def verification(f: Federation, resolver: Resolver, handle: str) -> dict[str, Any]:
    status, body = await f.resolve(resolver, handle)
    assert status == 200, body
    return dict(body["verification"])


async def get_json(f: Federation, url: str) -> Any:
    async with f.session.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json(content_type=None)


def method_line(output: str, label: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(label)]
    return line.split()[1]


async def past_this_second() -> None:
    """Proof times are whole seconds: what is signed in the second a key is revoked is refused with it."""
    await asyncio.sleep(int(time.time()) + 1.01 - time.time())


async def test_old_records_verify_across_rotations_and_a_revoked_key_signs_nothing_new(
    federation: Federation,
) -> None:
    f = federation
    node = f.node2
    resolver = await f.start_resolver()
    config = str(node_config(f, node))

    a = await f.publish(node, "ACT.A")
    checked = await verification(f, resolver, a)
    assert checked["status"] == "verified"
    key1 = checked["verificationMethod"]

    # Rotate: the registry adds key2, the running node switches to it, the registry retires key1.
    rotated = await carbonid("node", "keys", "rotate", "--config", config, "--reason", "annual rotation")
    assert rotated.exit_code == 0, rotated.output
    key2 = method_line(rotated.stdout, "added")
    assert method_line(rotated.stdout, "retired") == key1
    assert key2 != key1

    b = await f.publish(node, "ACT.B")  # the node was not restarted
    assert (await stored_document(f, node, b))[1]["proof"]["verificationMethod"] == key2

    # The resolver's cached prefix record does not list key2: meeting it, the resolver asks the registry
    # again at once instead of waiting out the record's ttl, and B verifies; A still does, with key1.
    refreshes = resolver.ctx.stats.key_refreshes
    checked = await verification(f, resolver, b)
    assert (checked["status"], checked["verificationMethod"]) == ("verified", key2), checked
    assert resolver.ctx.stats.key_refreshes == refreshes + 1
    resolver.clock.advance(RECORD_TTL + 1)
    for handle, key in ((a, key1), (b, key2)):
        checked = await verification(f, resolver, handle)
        assert (checked["status"], checked["verificationMethod"]) == ("verified", key), checked

    # The registry's record, the node's DID document and its key list agree on when key1 was retired.
    record = (await get_json(f, f"{f.root.url}/api/prefixes/{node.prefix}"))["record"]
    retired_at = {key["id"]: key.get("retiredAt") for key in record["keys"]}
    did = await get_json(f, f"{node.url}/.well-known/did.json")
    methods = {method["id"]: method for method in did["verificationMethod"]}
    assert methods[key1]["expires"] == retired_at[key1]
    assert "expires" not in methods[key2]
    assert retired_at[key2] is None
    listed = await carbonid("node", "keys", "list", "--config", config)
    assert listed.exit_code == 0, listed.output
    assert f"current     ed25519  {key2}" in listed.stdout
    assert f"retired     ed25519  {key1}" in listed.stdout

    # The publication log verifies across the rotation: A's entry signed with key1, B's with key2.
    log = await get_json(f, f"{node.url}/api/log")
    verify_log(log["entries"], DidDocument.from_json(did))
    assert [entry["keyId"] for entry in log["entries"]] == [key1, key2]

    # key2 leaks: the thief copies it; the node revokes it, rotating to key3 in the same change.
    stolen = load_signing_key((node.settings.data_dir / "keys" / "ed25519.key").read_bytes())
    await past_this_second()
    revoked = await carbonid(
        "node", "keys", "revoke", key2, "--rotate", "--reason", "key leaked", "--config", config
    )
    assert revoked.exit_code == 0, revoked.output
    key3 = method_line(revoked.stdout, "added")
    assert method_line(revoked.stdout, "revoked") == key2
    record = (await get_json(f, f"{f.root.url}/api/prefixes/{node.prefix}"))["record"]
    revoked_at = parse_datetime(next(key["revokedAt"] for key in record["keys"] if key["id"] == key2))

    c = await f.publish(node, "ACT.C")
    forged_now = await f.publish(node, "ACT.D")
    forged_before = await f.publish(node, "ACT.E")
    # The thief signs records with key2 and gets them served (here: written into the node's database).
    for handle, created in (
        (forged_now, datetime.now(UTC)),
        (forged_before, revoked_at - timedelta(minutes=5)),
    ):
        version, document = await stored_document(f, node, handle)
        unsigned = {k: v for k, v in document.items() if k != "proof"}
        forged = add_proof(unsigned, stolen, verification_method=key2, loader=CATALOG.loader, created=created)
        await store_document(f, node, handle, version, forged)

    resolver.clock.advance(RECORD_TTL + 1)
    refused = await verification(f, resolver, forged_now)
    assert (refused["status"], refused["code"]) == ("failed", "key-revoked")
    assert f"key {key2} was revoked at" in refused["reason"]
    assert resolver.ctx.stats.verification_failures["key-revoked"] >= 1
    for handle, key in ((a, key1), (b, key2), (c, key3)):
        checked = await verification(f, resolver, handle)
        assert (checked["status"], checked["verificationMethod"]) == ("verified", key), checked

    # The trade-off: a thief can date a proof before the revocation, and it verifies...
    backdated = await verification(f, resolver, forged_before)
    assert backdated["status"] == "verified"
    # ...but the node's signed, hash-chained log gives it away: the node never published that document.
    did = await get_json(f, f"{node.url}/.well-known/did.json")
    log = await get_json(f, f"{node.url}/api/log")
    verify_log(log["entries"], DidDocument.from_json(did))
    logged = {entry["digest"] for entry in log["entries"]}
    assert (await verification(f, resolver, b))["digest"] in logged
    assert backdated["digest"] not in logged
    assert document_digest((await stored_document(f, node, forged_before))[1]) == backdated["digest"]


async def test_revocation_and_rotation_refusals_leave_the_keys_as_they_were(federation: Federation) -> None:
    f = federation
    node = f.node2
    config = str(node_config(f, node))
    keys = node.settings.data_dir / "keys"
    before = (keys / "ed25519.key").read_bytes()
    key1 = (await carbonid("node", "keys", "list", "--config", config)).stdout.split()[2]

    alone = await carbonid("node", "keys", "revoke", key1, "--reason", "lost", "--config", config)
    assert alone.exit_code == 1
    assert "--rotate" in alone.stderr
    unknown = await carbonid("node", "keys", "revoke", "z6MkNotAKey", "--reason", "x", "--config", config)
    assert unknown.exit_code == 1
    assert "is not a key of prefix 88.200.1" in unknown.stderr

    # The registry is down: nothing changes (a prepared successor may stay for the next attempt).
    await f.stop_registry(f.root)
    down = await carbonid("node", "keys", "rotate", "--config", config)
    assert down.exit_code == 2
    assert down.stderr.startswith("error: the registry did not answer")
    assert (keys / "ed25519.key").read_bytes() == before
    await f.start_registry(f.root)

    # The registry refuses (the prefix is suspended): nothing changes, nothing is left prepared.
    async with f.session.post(
        f"{f.root.url}/api/prefixes/{node.prefix}/suspend", json={"reason": "audit"}, headers=f.root.admin
    ) as response:
        assert response.status == 200, await response.text()
    refused = await carbonid("node", "keys", "rotate", "--config", config)
    assert refused.exit_code == 1, refused.output
    assert "the registry refused the key change (409)" in refused.stderr
    assert (keys / "ed25519.key").read_bytes() == before
    assert not (keys / "ed25519.next.key").exists()


async def test_a_certificate_issued_before_a_resolver_key_rotation_still_verifies(
    federation: Federation, tmp_path: Path
) -> None:
    f = federation
    table = tmp_path / "benchmarks.json"
    table.write_text(json.dumps(TABLE), "utf-8")
    resolver = await f.start_resolver(benchmark_table=table)
    await ensure_operator(resolver.app[CERTIFICATES_KEY].store, *OPERATOR, at=datetime.now(UTC))
    await f.publish(f.node1, "PROFILE", template="enterprise-profile/1")
    await f.publish(f.node1, "ACT.2025")

    async def evaluate() -> dict[str, Any]:
        async with f.session.post(
            f"{resolver.url}/api/evaluations",
            json={"prefix": "88.186.1", "period": "2025"},
            headers=basic(*OPERATOR),
        ) as response:
            assert response.status == 201, await response.text()
            return dict(await response.json())

    issued = await evaluate()
    old_key = issued["credential"]["proof"]["verificationMethod"]

    config = tmp_path / "resolver.toml"
    running = resolver.ctx.settings
    settings = {
        "data_dir": str(running.data_dir),
        "port": running.port,
        "root_registry_url": f.root.url,
        "trust_anchor": str(f.anchor_file),
    }
    config.write_text(
        "[resolver]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()), "utf-8"
    )
    rotated = await carbonid("resolver", "keys", "rotate", "--config", str(config))
    assert rotated.exit_code == 0, rotated.output
    assert method_line(rotated.stdout, "retired") == old_key
    new_key = method_line(rotated.stdout, "current")

    # The running resolver's DID document keeps the old key, retired; its page still verifies the certificate
    # (checked now for the first time, against the DID document after the rotation).
    did = await get_json(f, f"{resolver.url}/.well-known/did.json")
    methods = {method["id"]: method for method in did["verificationMethod"]}
    assert "expires" in methods[old_key]
    assert "expires" not in methods[new_key]
    report = await get_json(f, f"{resolver.url}/api/evaluations/{issued['handle']}")
    assert (report["verification"]["status"], report["verification"]["verificationMethod"]) == (
        "verified",
        old_key,
    )
    async with f.session.get(f"{resolver.url}/c/{issued['handle']}") as response:
        assert "签名已验证 Verified" in await response.text()

    # What it issues from now on is signed with the new key.
    assert (await evaluate())["credential"]["proof"]["verificationMethod"] == new_key
