"""`carbonid backup` / `carbonid restore`: archives taken while a service writes restore into a fresh place,
verify, serve and chain on; damaged archives and tampered histories are refused, saying what is wrong."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import sqlite3
import sys
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from carbonid.cli import main
from certs.data_integrity import verify_proofs
from certs.did import DidDocument
from common.database import create_engine, migrate
from handle_registry.service.app import create_app as create_registry_app
from metadata_templates import default_catalog
from node.app import create_app as create_node_app
from node.log import verify_log
from node.records import Publication, publish_record
from node.runtime import initialise_node, open_node
from node.settings import NodeSettings
from tests.handle_registry.service.support import add_admin, enterprise, settings_for, signed_record_from
from tests.node.conftest import ADMIN, PREFIX, SECRET, activity

NODE_URL = "http://node.test:18443"
REGISTRY_URL = "http://registry.test:18100"
LOADER = default_catalog().loader


# --- helpers -----------------------------------------------------------------------------------------------


def write_config(path: Path, section: str, table: dict[str, Any]) -> Path:
    """A TOML settings file with one table."""
    path.write_text(f"[{section}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items()), "utf-8")
    return path


def node_table(data_dir: Path, database_url: str) -> dict[str, Any]:
    return {"prefix": PREFIX, "data_dir": str(data_dir), "database_url": database_url, "public_url": NODE_URL}


def node_settings(data_dir: Path, database_url: str) -> NodeSettings:
    return NodeSettings(**{**node_table(data_dir, database_url), "data_dir": data_dir}, log_json=False)


def registry_table(data_dir: Path, database_url: str) -> dict[str, Any]:
    return {
        "served_prefixes": ["88"],
        "data_dir": str(data_dir),
        "database_url": database_url,
        "public_url": REGISTRY_URL,
    }


async def cli(*args: str) -> Result:
    """Run `carbonid ARGS` in a thread (the commands run their own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


async def cli_process(*args: str) -> tuple[int, str]:
    """Run `carbonid ARGS` as a separate process; its exit status and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "carbonid.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def summary(output: str) -> dict[str, str]:
    """The `label  value` lines of a backup or restore summary."""
    return {line[:15].strip(): line[15:].strip() for line in output.splitlines() if len(line) > 15}


def only_error_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.fixture
async def restore_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database of the same kind as `database_url` to restore into: another SQLite file, or
    another PostgreSQL database (made here, dropped after) with the same schema name in its search_path."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'restored.db'}"
        return
    source = make_url(database_url)
    name = f"carbonid_restore_{secrets.token_hex(6)}"
    admin = create_async_engine(source.set(query={}), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield source.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


async def keep_publishing(ctx: Any, published: list[str], stop: asyncio.Event) -> None:
    """Publish new records, and new versions of the first one, until `stop` is set."""
    while not stop.is_set():
        number = len(published) + 1
        if number % 5 == 0:
            publication = Publication(
                "activity-data/1", activity("2024"), suffix="ACT.1", reason=f"revision {number}"
            )
        else:
            publication = Publication("activity-data/1", activity("2025"), suffix=f"ACT.{number}")
        published.append((await publish_record(ctx, publication, actor="test")).handle)


# --- node ----------------------------------------------------------------------------------------------------


async def test_node_backup_taken_while_publishing_restores_verifies_and_chains_on(
    tmp_path, database_url, restore_url, aiohttp_client
):
    source = node_settings(tmp_path / "source", database_url)
    config = write_config(tmp_path / "source.toml", "node", node_table(source.data_dir, database_url))
    await initialise_node(source, SECRET)
    archive = tmp_path / "node.tar.gz"
    published: list[str] = []
    async with open_node(source) as ctx:
        stop = asyncio.Event()
        for _ in range(3):
            published.append((await publish_record(ctx, Publication("activity-data/1", activity(), suffix=f"ACT.{len(published) + 1}"), actor="test")).handle)  # fmt: skip
        publisher = asyncio.create_task(keep_publishing(ctx, published, stop))
        await asyncio.sleep(0)
        before = len(published)
        status, output = await cli_process("backup", "node", "--config", str(config), "--out", str(archive))
        after = len(published)
        stop.set()
        await publisher
    assert status == 0, output
    assert after > before, "the node published nothing while the backup ran"
    assert archive.stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    target = node_settings(tmp_path / "restored", restore_url)
    target_config = write_config(tmp_path / "restored.toml", "node", node_table(target.data_dir, restore_url))
    restored = await cli("restore", "node", "--config", str(target_config), str(archive))
    assert restored.exit_code == 0, restored.output
    lines = summary(restored.output)
    assert lines["verified"] == "yes"
    entries = int(lines["log entries"])
    assert before <= entries <= after + 1
    head_seq, head_hash = lines["log head"].split()
    assert int(head_seq) == entries

    client = await aiohttp_client(create_node_app(target))
    did = DidDocument.from_json(await (await client.get("/.well-known/did.json")).json())
    for handle in dict.fromkeys(published[:before]):
        resolved = await client.get(f"/api/handles/{handle}")
        assert resolved.status == 200, handle
        record = await (await client.get(f"/api/records/{handle}")).json()
        verify_proofs(record["document"], did, loader=LOADER)

    posted = await client.post(
        "/api/records", json={"template": "activity-data/1", "document": activity("2023"), "suffix": "ACT.NEW"},
        headers=ADMIN,
    )  # fmt: skip
    assert posted.status == 201, await posted.text()
    log = await (await client.get("/api/log", params={"limit": "1000"})).json()
    assert log["head"]["seq"] == entries + 1
    assert log["entries"][-1]["prev"] == head_hash
    assert verify_log(log["entries"], did) == log["head"]["hash"]


async def test_restore_refuses_to_overwrite_without_force_and_keeps_replaced_keys(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'source' / 'node.db'}"
    source = node_settings(tmp_path / "source", url)
    config = write_config(tmp_path / "source.toml", "node", node_table(source.data_dir, url))
    await initialise_node(source, SECRET)
    archive = tmp_path / "node.tar.gz"
    assert (await cli("backup", "node", "--config", str(config), "--out", str(archive))).exit_code == 0
    again = await cli("backup", "node", "--config", str(config), "--out", str(archive))
    assert again.exit_code == 1
    assert "exists" in only_error_line(again)

    refused = await cli("restore", "node", "--config", str(config), str(archive))
    assert refused.exit_code == 1
    assert "--force" in only_error_line(refused)
    forced = await cli("restore", "node", "--config", str(config), str(archive), "--force")
    assert forced.exit_code == 0, forced.output
    kept = [p.name for p in source.data_dir.iterdir() if p.name.startswith("keys.replaced-")]
    assert len(kept) == 1
    assert (source.data_dir / kept[0] / "ed25519.key").read_bytes() == (
        source.data_dir / "keys" / "ed25519.key"
    ).read_bytes()

    elsewhere = write_config(
        tmp_path / "other.toml",
        "node",
        {
            **node_table(tmp_path / "other", url.replace("source", "other")),
            "public_url": "http://other.test:1",
        },
    )
    mismatch = await cli("restore", "node", "--config", str(elsewhere), str(archive))
    assert mismatch.exit_code == 1
    assert "public_url" in only_error_line(mismatch)
    assert not (tmp_path / "other").exists()
    wrong_service = write_config(
        tmp_path / "registry.toml", "registry", registry_table(tmp_path / "reg", url)
    )
    other = await cli("restore", "registry", "--config", str(wrong_service), str(archive))
    assert other.exit_code == 1
    assert "not of a registry" in only_error_line(other)


async def test_a_damaged_archive_is_refused_and_nothing_is_written(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'source' / 'node.db'}"
    source = node_settings(tmp_path / "source", url)
    config = write_config(tmp_path / "source.toml", "node", node_table(source.data_dir, url))
    await initialise_node(source, SECRET)
    async with open_node(source) as ctx:
        await publish_record(ctx, Publication("activity-data/1", activity(), suffix="ACT.1"), actor="test")
    archive = tmp_path / "node.tar.gz"
    assert (await cli("backup", "node", "--config", str(config), "--out", str(archive))).exit_code == 0
    data = archive.read_bytes()

    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x01
    truncated = data[: len(data) * 2 // 3]
    with tarfile.open(archive) as tar:
        members = [(info, tar.extractfile(info).read() if info.isfile() else b"") for info in tar]
    swapped = _tar(
        [(i, b"not the key\n" if i.name == "keys/ed25519.key" else content) for i, content in members]
    )
    extra = _tar([*members, (tarfile.TarInfo("keys/extra.key"), b"x")])
    missing = _tar([(i, c) for i, c in members if i.name != "keys/ed25519.pub.pem"])

    target = tmp_path / "restored"
    target_url = f"sqlite+aiosqlite:///{target / 'node.db'}"
    target_config = write_config(tmp_path / "restored.toml", "node", node_table(target, target_url))
    for name, content, expected in [
        ("flipped", bytes(flipped), "flipped.tar.gz"),
        ("truncated", truncated, "damaged or truncated"),
        ("swapped", swapped, "keys/ed25519.key does not match the manifest"),
        ("extra", extra, "keys/extra.key is not listed in the manifest"),
        ("missing", missing, "lists keys/ed25519.pub.pem, which the archive does not hold"),
        ("not-gzip", b"hello", "damaged or truncated"),
    ]:
        bad = tmp_path / f"{name}.tar.gz"
        bad.write_bytes(content)
        result = await cli("restore", "node", "--config", str(target_config), str(bad))
        assert result.exit_code == 1, (name, result.output)
        assert expected in only_error_line(result), name
        assert not target.exists(), name


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, content in members:
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "UPDATE node_record_versions SET document = replace(document, '\"2025\"', '\"2024\"') "
            "WHERE handle_key = '88.186.1/ACT.2'",
            "record 88.186.1/ACT.2 version 1: its document hashes to",
        ),
        (
            "UPDATE node_record_versions SET digest = (SELECT digest FROM node_record_versions "
            "WHERE handle_key = '88.186.1/ACT.1'), document = (SELECT document FROM node_record_versions "
            "WHERE handle_key = '88.186.1/ACT.1') WHERE handle_key = '88.186.1/ACT.3'",
            "record 88.186.1/ACT.3 version 1: digest",
        ),
        ("UPDATE node_log_entries SET at = '2020-01-01T00:00:00Z' WHERE seq = 2", "log entry 2"),
        ("DELETE FROM node_log_entries WHERE seq = 3", "log entry 4: expected seq 3"),
        ("UPDATE node_log_head SET seq = 2", "the head says entry 2"),
    ],
)
async def test_a_tampered_node_database_fails_verification_naming_what(tmp_path, statement, named):
    url = f"sqlite+aiosqlite:///{tmp_path / 'source' / 'node.db'}"
    source = node_settings(tmp_path / "source", url)
    config = write_config(tmp_path / "source.toml", "node", node_table(source.data_dir, url))
    await initialise_node(source, SECRET)
    async with open_node(source) as ctx:
        for number in range(1, 5):
            publication = Publication("activity-data/1", activity(), suffix=f"ACT.{number}")
            await publish_record(ctx, publication, actor="test")
    with sqlite3.connect(tmp_path / "source" / "node.db") as connection:
        assert connection.execute(statement).rowcount == 1
    archive = tmp_path / "node.tar.gz"
    assert (await cli("backup", "node", "--config", str(config), "--out", str(archive))).exit_code == 0
    target = tmp_path / "restored"
    target_config = write_config(
        tmp_path / "restored.toml", "node", node_table(target, f"sqlite+aiosqlite:///{target / 'node.db'}")
    )
    result = await cli("restore", "node", "--config", str(target_config), str(archive))
    assert result.exit_code == 1
    line = only_error_line(result)
    assert "does not verify" in line
    assert named in line


# --- registry --------------------------------------------------------------------------------------------------


async def test_registry_backup_taken_while_approving_restores_verifies_and_chains_on(
    tmp_path, database_url, restore_url, aiohttp_client
):
    # Approvals come as fast as the test can make them: the publishing rate limit would answer 429.
    settings = settings_for(tmp_path / "source", database_url, rate_limit_publish_per_minute=0)
    config = write_config(
        tmp_path / "source.toml", "registry", registry_table(settings.data_dir, database_url)
    )
    client = await aiohttp_client(create_registry_app(settings))
    admin = await add_admin(client.server.app)
    anchor = await (await client.get("/.well-known/did.json")).json()
    registered: list[str] = []

    async def register(number: int) -> None:
        company = enterprise(f"88.186.{number}", port=18443 + number)
        applied = await client.post("/api/prefixes", json=company.signed_application(anchor["id"]))
        assert applied.status == 201, await applied.text()
        approved = await client.post(f"/api/prefixes/{company.prefix}/approve", headers=admin)
        assert approved.status == 200, await approved.text()
        registered.append(company.prefix)

    async def keep_registering(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await register(len(registered) + 1)

    for _ in range(2):
        await register(len(registered) + 1)
    stop = asyncio.Event()
    writer = asyncio.create_task(keep_registering(stop))
    await asyncio.sleep(0)
    before = len(registered)
    archive = tmp_path / "registry.tar.gz"
    status, output = await cli_process("backup", "registry", "--config", str(config), "--out", str(archive))
    after = len(registered)
    stop.set()
    await writer
    assert status == 0, output
    assert after > before, "the registry approved nothing while the backup ran"

    target = settings_for(tmp_path / "restored", restore_url, rate_limit_publish_per_minute=0)
    target_config = write_config(
        tmp_path / "restored.toml", "registry", registry_table(target.data_dir, restore_url)
    )
    restored = await cli("restore", "registry", "--config", str(target_config), str(archive))
    assert restored.exit_code == 0, restored.output
    lines = summary(restored.output)
    records = int(lines["prefix records"].split()[0])
    assert before <= records <= after + 1
    assert lines["administrators"] == "1"

    again = await aiohttp_client(create_registry_app(target))
    assert await (await again.get("/.well-known/did.json")).json() == anchor
    did = DidDocument.from_json(anchor)
    for prefix in registered[:before]:
        resolved = await again.get(f"/api/handles/0.NA/{prefix}")
        assert resolved.status == 200, prefix
        verify_proofs(signed_record_from(await resolved.json()), did, loader=LOADER)
    suspended = await again.post(
        f"/api/prefixes/{registered[0]}/suspend", json={"reason": "audit"}, headers=admin
    )
    assert suspended.status == 200, await suspended.text()
    assert (await suspended.json())["version"] == 2
    newcomer = enterprise("88.186.999", port=19999)
    applied = await again.post("/api/prefixes", json=newcomer.signed_application(anchor["id"]))
    assert applied.status == 201, await applied.text()


async def test_a_tampered_prefix_record_fails_verification_naming_it(tmp_path, aiohttp_client):
    url = f"sqlite+aiosqlite:///{tmp_path / 'source' / 'registry.db'}"
    settings = settings_for(tmp_path / "source", url)
    config = write_config(tmp_path / "source.toml", "registry", registry_table(settings.data_dir, url))
    client = await aiohttp_client(create_registry_app(settings))
    admin = await add_admin(client.server.app)
    did = (await (await client.get("/.well-known/did.json")).json())["id"]
    for number in (1, 2):
        company = enterprise(f"88.186.{number}")
        assert (await client.post("/api/prefixes", json=company.signed_application(did))).status == 201
        assert (await client.post(f"/api/prefixes/88.186.{number}/approve", headers=admin)).status == 200
    with sqlite3.connect(tmp_path / "source" / "registry.db") as connection:
        changed = connection.execute(
            "UPDATE registry_prefix_records SET document = replace(document, 'https://127.0.0.1:18443', "
            "'https://attacker.example') WHERE prefix_id = (SELECT id FROM registry_prefixes "
            "WHERE prefix_key = '88.186.2')"
        )
        assert changed.rowcount == 1
    archive = tmp_path / "registry.tar.gz"
    assert (await cli("backup", "registry", "--config", str(config), "--out", str(archive))).exit_code == 0
    target_url = f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'registry.db'}"
    target_config = write_config(
        tmp_path / "restored.toml", "registry", registry_table(tmp_path / "restored", target_url)
    )
    result = await cli("restore", "registry", "--config", str(target_config), str(archive))
    assert result.exit_code == 1
    assert "prefix record 88.186.2 version 1" in only_error_line(result)


# --- resolver and odds and ends --------------------------------------------------------------------------------


async def test_resolver_round_trip_and_backup_into_a_directory(tmp_path):
    from resolver.context import load_identity
    from resolver.schema import MIGRATION_TABLE, MIGRATIONS
    from resolver.settings import ResolverSettings

    anchor = tmp_path / "anchor.json"
    anchor.write_text(json.dumps(DidDocument.create("did:web:registry.test").to_json()), "utf-8")

    def table(name: str) -> dict[str, Any]:
        return {
            "root_registry_url": REGISTRY_URL,
            "trust_anchor": str(anchor),
            "data_dir": str(tmp_path / name),
            "public_url": "http://resolver.test:18000",
        }

    config = write_config(tmp_path / "resolver.toml", "resolver", table("source"))
    settings = ResolverSettings(
        **{**table("source"), "data_dir": tmp_path / "source", "trust_anchor": anchor}
    )
    identity = load_identity(settings)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'source' / 'resolver.db'}")
    await migrate(engine, MIGRATIONS, table=MIGRATION_TABLE)
    await engine.dispose()

    backups = tmp_path / "backups"
    backups.mkdir()
    made = await cli("backup", "resolver", "--config", str(config), "--out", str(backups))
    assert made.exit_code == 0, made.output
    (archive,) = backups.iterdir()
    assert archive.name.startswith("resolver-")
    assert archive.name.endswith(".tar.gz")
    restored = await cli(
        "restore", "resolver", "--config", str(write_config(tmp_path / "r2.toml", "resolver", table("r2"))),
        str(archive),
    )  # fmt: skip
    assert restored.exit_code == 0, restored.output
    assert summary(restored.output)["DID"] == identity.did.id
    assert summary(restored.output)["certificates"] == "0 signed"


async def test_backup_of_nothing_cannot_run(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty' / 'node.db'}"
    config = write_config(tmp_path / "node.toml", "node", node_table(tmp_path / "empty", url))
    result = await cli("backup", "node", "--config", str(config), "--out", str(tmp_path / "x.tar.gz"))
    assert result.exit_code == 2
    assert "no ed25519 key" in only_error_line(result)
    assert not os.path.exists(tmp_path / "x.tar.gz")


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_help_says_what_the_archive_holds(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "node|registry|resolver" in result.output
    if command == "backup":
        assert "PRIVATE KEYS" in result.output
        assert "0600" in result.output
