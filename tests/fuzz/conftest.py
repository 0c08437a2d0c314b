"""The fuzz tests' federation: the demo federation, running in a thread of its own for the whole session.

Why the demo federation: it is the most realistic data set the project has (two registries with a delegation,
four nodes with profiles, monthly activity data, private records granted to peers and product footprints,
and a resolver holding certificates and a regional index), made through the services' own HTTP APIs. Why a
thread: schemathesis sends its requests synchronously (requests) from the test's thread, so the services
must answer from an event loop that runs elsewhere, as real servers on loopback ports.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from carbonid.demo_certificates import issue_certificates, sync_index
from carbonid.demo_layout import LAYOUT_FILE, PortInUse, check_ports_free, load_or_create_ca, write_json
from carbonid.federation import (
    Federation,
    initialise_nodes,
    initialise_resolver,
    plan_federation,
    start_services,
    write_trust_anchor,
)
from carbonid.provisioning import provision
from resolver.keys import CERTIFICATES_KEY, REGIONAL_KEY
from tests.fuzz.support import STARTUP_SECONDS, RunningFederation


def _relaxed(settings: Any) -> Any:
    """`settings` with every per-client rate limit out of the way (the fuzzer is one client sending fast)."""
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        if not field.name.startswith("rate_limit"):
            continue
        value = getattr(settings, field.name)
        if isinstance(value, bool):
            changes[field.name] = False
        elif isinstance(value, int | float):
            changes[field.name] = type(value)(1_000_000)
    return dataclasses.replace(settings, **changes) if changes else settings


def _free_base_port() -> int:
    for _ in range(100):
        base = random.randrange(20000, 60000)
        try:
            check_ports_free(base)
        except PortInUse:
            continue
        return base
    raise RuntimeError("no free port range found")


async def _start(data_dir: Path, stack: AsyncExitStack) -> Federation:
    """`carbonid.federation.running_federation`, step by step, with the rate limits relaxed; then the
    resolver indexes every activity record and issues every node's certificate, as `carbonid demo` does."""
    base_port = _free_base_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    write_json(data_dir / LAYOUT_FILE, {"basePort": base_port})
    federation = plan_federation(data_dir, base_port, load_or_create_ca(data_dir / "ca"))
    for registry in federation.registries:
        registry.settings = _relaxed(registry.settings)
    for node in federation.nodes:
        node.settings = _relaxed(node.settings)
    # Every regional query sees what is indexed by then, however long each step took.
    federation.resolver.settings = dataclasses.replace(
        _relaxed(federation.resolver.settings), index_refresh_seconds=0.0
    )
    await initialise_nodes(federation)
    await initialise_resolver(federation)
    write_trust_anchor(federation)
    await start_services(federation, stack)
    connector = aiohttp.TCPConnector(ssl=federation.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        await provision(federation, session)
    await sync_index(federation)
    issued = await issue_certificates(federation)
    assert all(summary.error is None for summary in issued), issued
    # The regional index is rebuilt at most every few seconds; build it now, so that what the fuzzer
    # queries does not depend on how long the start took.
    resolver = federation.resolver.app
    assert resolver is not None
    await resolver[REGIONAL_KEY].refresh(resolver[CERTIFICATES_KEY].store)
    return federation


@pytest.fixture(scope="session")
def fuzz_federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    """The demo federation on free loopback ports, for the whole session."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-federation", daemon=True)
    thread.start()
    stack = AsyncExitStack()
    try:
        federation = asyncio.run_coroutine_threadsafe(
            _start(tmp_path_factory.mktemp("fuzz") / "federation", stack), loop
        ).result(STARTUP_SECONDS)
        yield RunningFederation(federation, loop)
    finally:
        asyncio.run_coroutine_threadsafe(stack.aclose(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()
