"""The publication log: a hash chain of signed entries that verifies, and shows where it was rewritten."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from certs.did import DidDocument
from certs.keys import generate_signing_key
from common.app_keys import ENGINE_KEY
from handle_registry.identifiers import fold_ascii
from node.log import GENESIS, LogVerificationError, entry_hash, make_entry, verify_log
from tests.node.conftest import ADMIN, activity, publish


async def read_log(client, query=""):
    response = await client.get(f"/api/log{query}")
    assert response.status == 200
    return await response.json()


async def test_log_chain_verifies_and_detects_a_rewritten_entry(client, node_app):
    public = await publish(client, activity("2023"), suffix="ACT.2023")
    private = await publish(client, activity("2024"), suffix="ACT.2024", visibility="private")
    again = await publish(client, activity("2023"), suffix="ACT.2023", reason="restated")
    did = await (await client.get("/.well-known/did.json")).json()

    log = await read_log(client)
    entries = log["entries"]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert verify_log(entries, did) == log["head"]["hash"] == entries[-1]["hash"]
    assert log["head"]["seq"] == 3
    assert entries[0]["prev"] == GENESIS
    # Subjects hide handles; only public records' entries name theirs (outside the hash).
    assert entries[1]["subject"] == hashlib.sha256(fold_ascii(private["handle"]).encode()).hexdigest()
    assert "handle" not in entries[1]
    assert entries[0]["handle"] == entries[2]["handle"] == public["handle"]
    assert [(e["version"]) for e in entries] == [1, 1, 2]
    record = await (await client.get(f"/api/records/{again['handle']}")).json()
    assert entries[2]["digest"] == record["digest"]
    private_record = await (await client.get(f"/api/records/{private['handle']}", headers=ADMIN)).json()
    assert entries[1]["digest"] == private_record["digest"]

    # A later run verifies against the hash of the entry before it.
    part = await read_log(client, "?after=1&limit=1")
    assert [e["seq"] for e in part["entries"]] == [2]
    assert verify_log(part["entries"], did, previous_hash=entries[0]["hash"]) == entries[1]["hash"]
    with pytest.raises(LogVerificationError):
        verify_log(part["entries"], did, previous_hash=GENESIS)

    # Rewrite entry 2 in the database, as an intruder with database access could.
    engine = node_app[ENGINE_KEY]
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE node_log_entries SET digest = :d WHERE seq = 2"), {"d": "ab" * 32})
    with pytest.raises(LogVerificationError) as broken:
        verify_log((await read_log(client))["entries"], did)
    assert broken.value.seq == 2
    assert "log entry 2" in str(broken.value)

    # Recomputing the hash too does not help without the node's key: the signature names the entry.
    rewritten = dict(entries[1], digest="ab" * 32)
    forged = entry_hash(2, rewritten["subject"], 1, rewritten["digest"], rewritten["at"], rewritten["prev"])
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE node_log_entries SET hash = :h WHERE seq = 2"), {"h": forged})
    with pytest.raises(LogVerificationError, match="signature") as broken:
        verify_log((await read_log(client))["entries"], did)
    assert broken.value.seq == 2


async def test_log_parameters_are_checked(client):
    for query in ("?after=-1", "?limit=0", "?limit=1001", "?after=x"):
        response = await client.get(f"/api/log{query}")
        assert response.status == 400, query
        assert response.content_type == "application/problem+json"


def _chain(key, did, count):
    entries, prev = [], GENESIS
    for seq in range(1, count + 1):
        entry = make_entry(
            seq=seq,
            subject="11" * 32,
            version=1,
            digest=f"{seq:064x}",
            at="2025-01-02T03:04:05Z",
            prev=prev,
            key=key,
            key_id=did.key_id(key.public_key),
        )
        entries.append(entry.to_json())
        prev = entry.hash
    return entries


def test_verify_log_names_the_first_bad_entry():
    key = generate_signing_key("ed25519")
    did = DidDocument.create("did:web:node.example", [key.public_key])
    entries = _chain(key, did, 4)
    assert verify_log(entries, did) == entries[-1]["hash"]
    assert verify_log([], did) == GENESIS

    with pytest.raises(LogVerificationError) as gap:
        verify_log([entries[0], entries[1], entries[3]], did)
    assert gap.value.seq == 4
    with pytest.raises(LogVerificationError) as swapped:
        verify_log([entries[0], entries[2], entries[1]], did)
    assert swapped.value.seq == 3

    other = generate_signing_key("ed25519")
    impostor = _chain(other, DidDocument.create("did:web:node.example", [other.public_key]), 2)
    with pytest.raises(LogVerificationError) as foreign:
        verify_log(impostor, did)
    assert foreign.value.seq == 1

    tampered = [dict(entry) for entry in entries]
    tampered[2]["version"] = 2
    with pytest.raises(LogVerificationError) as changed:
        verify_log(tampered, did)
    assert changed.value.seq == 3
    with pytest.raises(LogVerificationError) as malformed:
        verify_log([{**entries[0], "seq": "1"}], did)
    assert malformed.value.seq is None
    # The DID document may also be given as JSON, as /.well-known/did.json serves it.
    assert verify_log(entries, did.to_json()) == entries[-1]["hash"]
