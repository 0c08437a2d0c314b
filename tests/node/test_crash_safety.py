"""Crash safety of the enterprise node: SIGKILL it while it publishes, restart it, check what it kept.

A node answers 201 to a publication only after the record version and its log entry are committed in one
transaction. So a node killed at any moment must come back with every acknowledged version, signed and chained,
and with nothing torn: a publication whose answer never came is either wholly there (handle, record row,
version, log entry, a proof that verifies) or wholly absent. The node runs as users run it, `carbonid node
serve` in its own process group, on a SQLite file (and on a fresh PostgreSQL schema when
CARBONID_TEST_POSTGRES_URL is set). One data directory lives through several kills, so a torn tail left by one
kill would break the chain of the next life.

A killed process loses nothing the kernel already has, so this cannot show what a power loss keeps: that is
SQLite's `synchronous = FULL` (set by `common.database`, checked in tests/common/test_database.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from certs.data_integrity import verify_proofs
from certs.did import DidDocument
from common.database import create_engine
from handle_registry.identifiers import Handle
from metadata_templates import default_catalog
from node import schema
from node.log import GENESIS, LogEntry, canonical_json, sha256_hex, subject_for, verify_log
from tests.node.conftest import ADMIN_USER, PREFIX, activity, basic

CLI = [sys.executable, "-m", "carbonid.cli", "node"]
PUBLIC_URL = "https://node.example:18443"
"""Fixed, so the node's did:web DID (and so every keyId in the log) stays the same across ports and restarts."""
KILLS = 3
PUBLISHERS = 16
ACKS_BEFORE_KILL = (20, 27, 34)
"""Acknowledged publications seen in a life before the kill is ordered."""
KILL_DELAYS = (0.0, 0.006, 0.017)
"""Seconds from that acknowledgement to the SIGKILL, varied so that kills land at different moments of the
node's work (signing, waiting for the write lock, committing, answering), not always just after an answer."""
OUTSTANDING_AT_KILL = 8
SHARED = ("CRASH.SHARED.A", "CRASH.SHARED.B", "CRASH.SHARED.C")
"""Records that concurrent publications add versions to (the others each make a new record)."""
READY_POLLS = 600
"""How many times to poll /healthz (0.1 s apart) before a node that has not come up fails the test."""


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class NodeProcess:
    """`carbonid node serve` in its own process group, restartable on the same data."""

    def __init__(self, directory: Path, database_url: str) -> None:
        self.directory = directory
        self.database_url = database_url
        self.config = directory / "node.toml"
        self.log = directory / "node.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def _write_config(self, port: int) -> None:
        table = {
            "prefix": PREFIX,
            "data_dir": str(self.directory / "data"),
            "database_url": self.database_url,
            "public_url": PUBLIC_URL,
            "port": port,
            "log_level": "warning",
            "log_json": False,
            # The load is one client publishing as fast as it can, on purpose: no 429s here.
            "rate_limit_publish_per_minute": 0,
            "rate_limit_resolve_per_second": 0,
        }
        lines = "".join(f"{name} = {json.dumps(value)}\n" for name, value in table.items())
        self.config.write_text("[node]\n" + lines, "utf-8")

    async def init(self) -> str:
        """`carbonid node init`; the admin secret it prints."""
        self._write_config(free_port())
        done = await asyncio.to_thread(
            subprocess.run,
            [*CLI, "init", "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        match = re.search(r"^admin secret (\S+)$", done.stdout, re.MULTILINE)
        assert match, done.stdout
        return match.group(1)

    async def start(self) -> None:
        """Start the node on a free port and wait until /healthz answers (retried if the port was taken)."""
        for _ in range(3):
            port = free_port()
            self._write_config(port)
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    [*CLI, "serve", "--config", str(self.config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.url = f"http://127.0.0.1:{port}"
            if await self._ready():
                return
            if "address already in use" not in self.log.read_text("utf-8", "replace").lower():
                break
        pytest.fail(f"the node did not come up:\n{self.log.read_text('utf-8', 'replace')[-3000:]}")

    async def _ready(self) -> bool:
        assert self.process is not None
        async with aiohttp.ClientSession() as session:
            for _ in range(READY_POLLS):
                if self.process.poll() is not None:
                    return False
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return True
                await asyncio.sleep(0.1)
        self.kill()
        await self.reap()
        return False

    def kill(self) -> None:
        """SIGKILL the node's process group, synchronously: called from inside the publishers' loop."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    async def reap(self) -> int | None:
        """Wait for the killed node to be gone; its exit status."""
        if self.process is None:
            return None
        status = await asyncio.to_thread(self.process.wait)
        self.process = None
        return status


@dataclass
class Attempt:
    """One POST /api/records and what the client saw of it."""

    tag: str
    handle: str
    marker: int
    """The document's industrialAddedValue10kCny: ties a stored version to the request that sent it."""
    reason: str | None = None
    visibility: str | None = None
    outcome: str = "pending"
    """acknowledged (201 seen), refused (an error answer seen) or unknown (no answer: the node died)."""
    version: int | None = None
    answer: Any = None

    @property
    def key(self) -> str:
        return Handle(self.handle).key

    def body(self) -> dict[str, Any]:
        document = activity()
        document["industrialAddedValue10kCny"] = self.marker
        body: dict[str, Any] = {
            "template": "activity-data/1",
            "document": document,
            "suffix": self.handle.split("/", 1)[1],
        }
        if self.reason is not None:
            body["reason"] = self.reason
        if self.visibility is not None:
            body["visibility"] = self.visibility
        return body


class Load:
    """Publishers posting without pause until the node is killed, which this load does itself."""

    def __init__(
        self, node: NodeProcess, headers: dict[str, str], attempts: list[Attempt], life: int, acks: int
    ) -> None:
        self.node, self.headers, self.attempts = node, headers, attempts
        self.life, self.acks_before_kill = life, acks
        self.acks = self.outstanding = self.counter = 0
        self.kill_ordered = self.killed = False
        self.outstanding_at_kill = 0

    def _next(self, worker: int) -> Attempt:
        self.counter += 1
        n = len(self.attempts) + 1
        tag = f"L{self.life}.W{worker}.N{self.counter}"
        if self.counter % 4 == 0:
            shared = SHARED[self.counter % len(SHARED)]
            attempt = Attempt(tag, f"{PREFIX}/{shared}", 10_000 + n, reason=f"crash test {tag}")
        else:
            private = "private" if self.counter % 5 == 0 else None
            attempt = Attempt(tag, f"{PREFIX}/CRASH.{tag}", 10_000 + n, visibility=private)
        self.attempts.append(attempt)
        return attempt

    async def _publisher(self, session: aiohttp.ClientSession, worker: int) -> None:
        while not self.killed:
            attempt = self._next(worker)
            self.outstanding += 1
            try:
                async with session.post(
                    f"{self.node.url}/api/records", json=attempt.body(), headers=self.headers
                ) as response:
                    status, answer = response.status, await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                attempt.outcome = "unknown"
                continue
            finally:
                self.outstanding -= 1
            attempt.answer = answer
            if status != 201:
                attempt.outcome = "refused"
                continue
            attempt.outcome, attempt.version = "acknowledged", answer["version"]
            assert answer["handle"] == attempt.handle, answer
            self.acks += 1
            if not self.kill_ordered and self.acks >= self.acks_before_kill:
                self.kill_ordered = True
                asyncio.get_running_loop().call_later(KILL_DELAYS[self.life], self._kill)

    def _kill(self) -> None:
        loop = asyncio.get_running_loop()
        if self.outstanding < OUTSTANDING_AT_KILL:
            loop.call_soon(self._kill)  # not enough in flight at this moment: at the next turn of the loop
            return
        self.outstanding_at_kill = self.outstanding
        self.node.kill()
        self.killed = True

    async def run(self) -> None:
        """Publish until the kill; every request then in flight ends with an unknown outcome."""
        timeout = aiohttp.ClientTimeout(total=300)
        connector = aiohttp.TCPConnector(limit=PUBLISHERS)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                await asyncio.gather(*(self._publisher(session, worker) for worker in range(PUBLISHERS)))
            finally:
                self.killed = True  # a failed check in one publisher stops the others too
        assert self.outstanding_at_kill >= OUTSTANDING_AT_KILL


@dataclass(frozen=True)
class StoredVersion:
    """A row of node_record_versions, with its record's handle."""

    handle: str
    version: int
    document: str
    digest: str
    reason: str | None
    visibility: str


async def check_store(
    database_url: str, did: DidDocument
) -> tuple[dict[tuple[str, int], StoredVersion], list[dict[str, Any]]]:
    """Read the dead node's tables directly and check they are whole; the versions and the log entries."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            kinds = dict(
                (await conn.execute(sa.select(schema.handles.c.handle_key, schema.handles.c.kind))).all()
            )
            records = {row.handle_key: row for row in await conn.execute(sa.select(schema.records))}
            versions = list(await conn.execute(sa.select(schema.record_versions)))
            entries = list(
                await conn.execute(sa.select(schema.log_entries).order_by(schema.log_entries.c.seq))
            )
            head = (await conn.execute(sa.select(schema.log_head))).one()
    finally:
        await engine.dispose()
    assert {key for key, kind in kinds.items() if kind == "record"} == set(records), "a record is half there"
    stored: dict[tuple[str, int], StoredVersion] = {}
    for row in versions:
        record = records[row.handle_key]
        stored[(row.handle_key, row.version)] = StoredVersion(
            record.handle, row.version, row.document, row.digest, row.reason, row.visibility
        )
        assert sha256_hex(row.document.encode("utf-8")) == row.digest
    for key, record in records.items():
        numbers = sorted(version for handle_key, version in stored if handle_key == key)
        assert numbers == list(range(1, record.latest_version + 1)), (record.handle, numbers)
    log = [
        LogEntry(e.seq, e.subject, e.version, e.digest, e.at, e.prev, e.hash, e.signature, e.key_id)
        for e in entries
    ]
    assert [entry.seq for entry in log] == list(range(1, len(log) + 1)), "the log has a gap"
    assert (head.seq, head.hash) == (len(log), log[-1].hash if log else GENESIS)
    verify_log(log, did)
    logged = {(e.handle_key, e.version): e for e in entries}
    assert len(logged) == len(entries), "two log entries for one version"
    assert set(logged) == set(stored), "a version without its log entry, or an entry without its version"
    for place, entry in logged.items():
        assert entry.subject == subject_for(place[0])
        assert entry.digest == stored[place].digest
    return stored, [entry.to_json() for entry in log]


async def served_log(session: aiohttp.ClientSession, url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every entry of GET /api/log, page by page, and the head."""
    entries: list[dict[str, Any]] = []
    while True:
        async with session.get(f"{url}/api/log", params={"after": len(entries), "limit": 1000}) as response:
            assert response.status == 200
            page = await response.json()
        if not page["entries"]:
            return entries, page["head"]
        entries.extend(page["entries"])


class Checker:
    """Checks of a restarted node against what the client saw; proofs are verified once per digest."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.verified: set[str] = set()
        self.loader = default_catalog().loader

    async def check_served(
        self,
        session: aiohttp.ClientSession,
        url: str,
        did: DidDocument,
        stored: dict[tuple[str, int], StoredVersion],
        offline_log: list[dict[str, Any]],
        attempts: list[Attempt],
    ) -> None:
        """The node serves what the store holds, and the store holds what the client was told."""
        entries, head = await served_log(session, url)
        assert [{k: v for k, v in e.items() if k != "handle"} for e in entries] == offline_log
        assert verify_log(entries, did) == head["hash"]
        assert head["seq"] == len(entries)
        claimed: dict[tuple[str, int], Attempt] = {}
        for attempt in attempts:
            place = self._find(attempt, stored)
            if attempt.outcome == "acknowledged":
                assert place == (attempt.key, attempt.version), f"acknowledged {attempt} is not there"
            elif attempt.outcome == "refused":
                assert attempt.answer.get("type", "").endswith("/concurrent-publication"), attempt.answer
                assert place is None, f"refused {attempt} is stored"
            if place is not None:
                assert place not in claimed, f"{attempt} and {claimed[place]} are one version"
                claimed[place] = attempt
                document = json.loads(stored[place].document)
                assert document["industrialAddedValue10kCny"] == attempt.marker
                assert stored[place].reason == attempt.reason
                assert stored[place].visibility == (attempt.visibility or "public")
        assert set(claimed) == set(stored), "a version no request asked for"
        for version in stored.values():
            await self._check_version(session, url, did, version)
        for key in {key for key, _ in stored}:
            latest = max(version for k, version in stored if k == key)
            await self._check_resolution(session, url, stored[(key, latest)])

    @staticmethod
    def _find(attempt: Attempt, stored: dict[tuple[str, int], StoredVersion]) -> tuple[str, int] | None:
        if attempt.reason is None:
            return (attempt.key, 1) if (attempt.key, 1) in stored else None
        found = [place for place, version in stored.items() if version.reason == attempt.reason]
        assert len(found) <= 1, found
        return found[0] if found else None

    async def _check_version(
        self, session: aiohttp.ClientSession, url: str, did: DidDocument, version: StoredVersion
    ) -> None:
        path = f"{url}/api/records/{version.handle}/versions/{version.version}"
        async with session.get(path, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            served = await response.json()
        assert (served["handle"], served["version"], served["digest"]) == (
            version.handle,
            version.version,
            version.digest,
        )
        document = served["document"]
        assert document["handle"] == version.handle
        assert sha256_hex(canonical_json(document)) == version.digest
        if version.digest not in self.verified:
            verify_proofs(document, did, loader=self.loader)
            self.verified.add(version.digest)

    async def _check_resolution(
        self, session: aiohttp.ClientSession, url: str, latest: StoredVersion
    ) -> None:
        path = f"{url}/api/handles/{latest.handle}"
        async with session.get(path, params={"type": "DOCUMENT"}, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            (value,) = (await response.json())["values"]
        assert sha256_hex(canonical_json(json.loads(value["data"]["value"]))) == latest.digest


async def publish_and_check_chain(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], tag: str
) -> None:
    """A publication on the restarted node appends to the old log: its entry's prev is the old head."""
    _, before = await served_log(session, url)
    body = {"template": "activity-data/1", "document": activity(), "suffix": f"CRASH.AFTER.{tag}"}
    async with session.post(f"{url}/api/records", json=body, headers=headers) as response:
        assert response.status == 201, await response.text()
    entries, after = await served_log(session, url)
    assert after["seq"] == before["seq"] + 1
    assert entries[-1]["prev"] == before["hash"]
    assert entries[-1]["hash"] == after["hash"]


async def test_killed_while_publishing_keeps_every_acknowledged_version_and_nothing_torn(
    tmp_path: Path, database_url: str
) -> None:
    node = NodeProcess(tmp_path, database_url)
    headers = {"Authorization": basic(ADMIN_USER, await node.init())}
    checker = Checker(headers)
    attempts: list[Attempt] = []
    try:
        await node.start()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{node.url}/.well-known/did.json") as response:
                did = DidDocument.from_json(await response.json())
            for shared in SHARED:
                attempt = Attempt(f"SETUP.{shared}", f"{PREFIX}/{shared}", 1)
                async with session.post(f"{node.url}/api/records", json=attempt.body(), headers=headers) as r:
                    assert r.status == 201, await r.text()
                attempt.outcome, attempt.version = "acknowledged", 1
                attempts.append(attempt)
        for life in range(KILLS):
            await Load(node, headers, attempts, life, ACKS_BEFORE_KILL[life]).run()
            assert await node.reap() == -signal.SIGKILL
            stored, offline_log = await check_store(database_url, did)
            await node.start()
            async with aiohttp.ClientSession() as session:
                await checker.check_served(session, node.url, did, stored, offline_log, attempts)
                await publish_and_check_chain(session, node.url, headers, str(life))
            attempts.append(
                Attempt(
                    f"AFTER.{life}",
                    f"{PREFIX}/CRASH.AFTER.{life}",
                    activity()["industrialAddedValue10kCny"],
                    outcome="acknowledged",
                    version=1,
                )
            )
        outcomes = [attempt.outcome for attempt in attempts]
        # The test killed the node with publications acknowledged and others still in flight, each time.
        assert outcomes.count("acknowledged") >= sum(ACKS_BEFORE_KILL) + len(SHARED) + KILLS
        assert outcomes.count("unknown") >= KILLS * OUTSTANDING_AT_KILL
        assert "pending" not in outcomes
    finally:
        node.kill()
        await node.reap()
