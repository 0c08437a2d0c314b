"""Resolver throughput and latency: cached answers under wrk against a bare aiohttp handler, then cold resolutions.

`resolver()` starts, in a child process with uvloop, a registry (serving 88), a node (88.186.1) and the
resolver on loopback (SQLite in a temporary directory), publishes records and warms the resolver's cache
with one of them.
wrk drives the resolver, then, each in its own child process with uvloop, a bare aiohttp handler answering a
JSON body of the same size as the cached resolution answer, and the same handler behind the middleware
every carbonid service has (`common.web.create_service_app`: request ids, problem+json), which is the floor
of any service. The servers are pinned to one core and wrk to the other when the machine has two. Requests per
second and p50/p99 latencies are the figures, the bare handler their ceiling. Then every other published record
is resolved once, with an empty cache for it, through an aiohttp client: the p50 and p99 of these cold
resolutions (node fetch, RDFC canonicalization, Ed25519 verification, the version recorded; the prefix record
stays cached after the first). Returns figures; asserts nothing. Any per-client rate limit the services have
(``rate_limit_*`` settings) is turned off: wrk is one client.

The services log at `warning`, so no access line is written per request: the figures measure serving, not
writing logs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.report import Figure, Skipped

WRK_ARGS = ("-t1", "-c32", "-d5s", "--latency")
QUICK_WRK_ARGS = ("-t1", "-c32", "-d1s", "--latency")
COLD_RESOLUTIONS = 250
QUICK_COLD_RESOLUTIONS = 20
TEMPLATE = "activity-data/1"
PREFIX = "88.186.1"
SECRET = "bench admin secret"


@dataclass(frozen=True, slots=True)
class WrkResult:
    """What wrk measured: requests per second, median and 99th percentile latency in milliseconds."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _no_rate_limits(settings_class: type) -> dict[str, Any]:
    """Every per-client rate limit of a settings class turned off (its rate 0), if it has any: wrk is one
    client, and the benchmark measures throughput, not the limiter."""
    return {
        f.name: 0.0
        for f in dataclasses.fields(settings_class)
        if f.name.startswith("rate_limit_") and f.name.endswith(("_per_second", "_per_minute"))
    }


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


# --------------------------------------------------------------------------------------------------------------
# Child process 1: registry, node and resolver


def _serve_federation(directory: str, cold: int, ready: Any) -> None:
    import uvloop

    _pin(0)
    uvloop.install()
    try:
        asyncio.run(_federation(Path(directory), cold, ready))
    except Exception as exc:  # reported to the parent, which is waiting for the federation to be ready
        ready.put({"error": f"{type(exc).__name__}: {exc}"})


async def _start(app: Any, port: int) -> Any:
    from aiohttp import web

    from common.logging import StructuredAccessLogger

    runner = web.AppRunner(app, access_log_class=StructuredAccessLogger)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    return runner


async def _federation(directory: Path, cold: int, ready: Any) -> None:
    import base64
    from urllib.parse import quote

    import aiohttp

    from common.logging import configure_logging
    from handle_registry.service.administration import create_admin
    from handle_registry.service.app import create_app as create_registry
    from handle_registry.service.app import load_identity
    from handle_registry.service.keys import REGISTRY_KEY
    from handle_registry.service.settings import RegistrySettings
    from metadata_templates import default_catalog
    from node.app import create_app as create_node
    from node.context import load_identity as load_node_identity
    from node.registry_client import build_application, sign_application, submit_application
    from node.runtime import initialise_node
    from node.settings import NodeSettings
    from resolver.app import create_app as create_resolver
    from resolver.settings import ResolverSettings

    configure_logging("warning")
    catalog = default_catalog()
    registry_port, node_port, resolver_port = _free_port(), _free_port(), _free_port()
    registry_settings = RegistrySettings(
        served_prefixes=("88",),
        data_dir=directory / "registry",
        port=registry_port,
        public_url=f"http://127.0.0.1:{registry_port}",
        log_level="warning",
        **_no_rate_limits(RegistrySettings),
    )
    registry_app = create_registry(registry_settings)
    runners = [await _start(registry_app, registry_port)]
    admin_secret = await create_admin(registry_app[REGISTRY_KEY].store, "bench", at=datetime.now(UTC))
    anchor = directory / "anchor.json"
    anchor.write_text(json.dumps(load_identity(registry_settings).did.to_json()), "utf-8")

    node_settings = NodeSettings(
        prefix=PREFIX,
        data_dir=directory / "node",
        port=node_port,
        public_url=f"http://127.0.0.1:{node_port}",
        log_level="warning",
        **_no_rate_limits(NodeSettings),
    )
    await initialise_node(node_settings, SECRET)
    runners.append(await _start(create_node(node_settings), node_port))
    identity = load_node_identity(node_settings)
    profile = catalog.resolve("enterprise-profile").example_document()
    profile.pop("handle")
    application = build_application(node_settings, identity, catalog, profile)
    domain = load_identity(registry_settings).did.id
    await submit_application(
        registry_settings.base_url(), sign_application(identity, catalog, application, domain=domain)
    )
    registry_admin = {"Authorization": "Basic " + base64.b64encode(f"bench:{admin_secret}".encode()).decode()}
    node_user = quote(node_settings.admin_user, safe="/")
    node_admin = {"Authorization": "Basic " + base64.b64encode(f"{node_user}:{SECRET}".encode()).decode()}

    resolver_settings = ResolverSettings(
        data_dir=directory / "resolver",
        port=resolver_port,
        root_registry_url=registry_settings.base_url(),
        trust_anchor=anchor,
        log_level="warning",
        **_no_rate_limits(ResolverSettings),
    )
    runners.append(await _start(create_resolver(resolver_settings), resolver_port))
    resolver_url = resolver_settings.base_url()

    document = catalog.resolve(TEMPLATE).example_document()
    document.pop("handle")
    handles = []
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{registry_settings.base_url()}/api/prefixes/{PREFIX}/approve", headers=registry_admin
        ) as response:
            response.raise_for_status()
        for number in range(cold + 1):
            body = {"template": TEMPLATE, "document": document, "suffix": f"ACT.BENCH.{number}"}
            async with session.post(
                f"{node_settings.base_url()}/api/records", json=body, headers=node_admin
            ) as response:
                response.raise_for_status()
                handles.append((await response.json())["handle"])
        # Warm: the first resolution fetches and verifies, the second encodes the cached answer's bytes.
        for _ in range(3):
            async with session.get(f"{resolver_url}/api/handles/{handles[0]}") as response:
                answer = await response.json()
                if answer.get("verification", {}).get("status") != "verified":
                    raise RuntimeError(f"the warm-up resolution did not verify: {answer}")
    ready.put({"resolver": resolver_url, "hot": handles[0], "cold": handles[1:]})
    try:
        await asyncio.Event().wait()  # served until the parent terminates the process
    finally:
        for runner in runners:
            await runner.cleanup()


# --------------------------------------------------------------------------------------------------------------
# Child process 2: the bare handler


def _serve_bare(port: int, size: int, with_service_middlewares: bool, ready: Any) -> None:
    import uvloop
    from aiohttp import web

    from common.web import service_middleware

    _pin(0)
    uvloop.install()
    padding = size - len('{"padding":""}')
    body = json.dumps({"padding": "x" * max(padding, 0)}, separators=(",", ":")).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    # The middlewares every carbonid service has (common.web.create_service_app): the floor of any service.
    middlewares = [service_middleware] if with_service_middlewares else []
    app = web.Application(middlewares=middlewares)
    app.router.add_get("/{tail:.*}", handler)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        ready.put(len(body))
        await asyncio.Event().wait()

    asyncio.run(main())


# --------------------------------------------------------------------------------------------------------------
# The parent: wrk, then the cold resolutions


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"cannot read the latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _wrk(url: str, wrk_args: tuple[str, ...]) -> WrkResult:
    command = ["wrk", *wrk_args, url]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "1", *command]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    p50 = re.search(r"\s50%\s+([0-9.]+\w+)", output)
    p99 = re.search(r"\s99%\s+([0-9.]+\w+)", output)
    if rate is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    refused = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if refused is not None:  # a 429 or 500 answers fast: counting them would flatter the figures
        raise RuntimeError(f"{url} answered {refused.group(1)} requests with an error status under wrk")
    return WrkResult(float(rate.group(1)), _milliseconds(p50.group(1)), _milliseconds(p99.group(1)))


async def _cold(resolver_url: str, handles: list[str]) -> list[float]:
    import aiohttp

    durations = []
    async with aiohttp.ClientSession() as session:
        for handle in handles:
            started = time.perf_counter()
            async with session.get(f"{resolver_url}/api/handles/{handle}") as response:
                body = await response.json()
            durations.append((time.perf_counter() - started) * 1000)
            if body.get("verification", {}).get("status") != "verified" or body["verification"]["cached"]:
                raise RuntimeError(f"a cold resolution was not a fresh verified answer: {body}")
    return durations


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def resolver(quick: bool) -> list[Figure]:
    """Cached resolution under wrk against a bare handler (and the middleware floor), then cold resolutions."""
    if shutil.which("wrk") is None:
        raise Skipped("wrk is not installed (`make bench` installs it where it can: root with apt-get)")
    wrk_args = QUICK_WRK_ARGS if quick else WRK_ARGS
    cold = QUICK_COLD_RESOLUTIONS if quick else COLD_RESOLUTIONS
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="carbonid-bench-resolver-") as directory:
        ready = spawn.Queue()
        federation = spawn.Process(target=_serve_federation, args=(directory, cold, ready), daemon=True)
        federation.start()
        bare: Any = None
        try:
            info = ready.get(timeout=600)
            if "error" in info:
                raise RuntimeError(f"the federation did not start: {info['error']}")
            hot_url = f"{info['resolver']}/api/handles/{info['hot']}"
            with urllib.request.urlopen(hot_url, timeout=10) as response:
                answer = response.read()
            if not json.loads(answer)["verification"]["cached"]:
                raise RuntimeError("the resolver's answer is not cached after warming")
            resolver_result = _wrk(hot_url, wrk_args)
            bare_results = []
            for with_middlewares in (False, True):
                bare_port = _free_port()
                bare = spawn.Process(
                    target=_serve_bare, args=(bare_port, len(answer), with_middlewares, ready), daemon=True
                )
                bare.start()
                bare_size = ready.get(timeout=60)
                bare_results.append(_wrk(f"http://127.0.0.1:{bare_port}/", wrk_args))
                bare.terminate()
                bare.join(10)
            durations = asyncio.run(_cold(info["resolver"], info["cold"]))
        finally:
            for process in (bare, federation):
                if process is not None and process.is_alive():
                    process.terminate()
                    process.join(10)
    bare_result, floor_result = bare_results
    return _figures(resolver_result, bare_result, floor_result, len(answer), bare_size, durations, wrk_args)


def _figures(
    cached: WrkResult,
    bare: WrkResult,
    floor: WrkResult,
    answer_size: int,
    bare_size: int,
    durations: list[float],
    wrk_args: tuple[str, ...],
) -> list[Figure]:
    pinned = "servers on core 0, wrk on core 1" if (os.cpu_count() or 1) > 1 else "one core shared with wrk"
    bare_name = f"bare aiohttp + uvloop handler, {bare_size:,} B body"
    floor_name = "bare handler behind the services' middleware"
    how = f"wrk {' '.join(wrk_args)}, loopback, {pinned}"
    middleware_us = 1e6 / floor.requests_per_second - 1e6 / bare.requests_per_second
    return [
        Figure(
            f"cached resolution ({answer_size:,} B answer)",
            cached.requests_per_second,
            "req/s",
            "higher",
            bare_name,
            bare.requests_per_second,
            f"goal: at least 0.80× the rate; {how}",
        ),
        Figure(
            "cached resolution, against the middleware floor",
            cached.requests_per_second,
            "req/s",
            "higher",
            floor_name,
            floor.requests_per_second,
            "what the resolver's own route costs beyond what every service pays",
        ),
        Figure(
            floor_name,
            floor.requests_per_second,
            "req/s",
            "higher",
            bare_name,
            bare.requests_per_second,
            "request id, problem+json, HTTP metrics (common.web.service_middleware)",
        ),
        Figure(
            "middleware stack, cost per request",
            middleware_us,
            "µs",
            "lower",
            note="1 / floor rate − 1 / bare rate, on one core",
        ),
        Figure("cached resolution p50", cached.p50_ms, "ms", "lower", bare_name + " p50", bare.p50_ms),
        Figure("cached resolution p99", cached.p99_ms, "ms", "lower", bare_name + " p99", bare.p99_ms),
        Figure(
            f"cold resolution, {len(durations)} distinct records",
            len(durations) / (sum(durations) / 1000),
            "/s",
            "higher",
            note="one at a time through an aiohttp client: node fetch, RDFC, Ed25519 verification",
        ),
        Figure("cold resolution p50", _percentile(durations, 0.5), "ms", "lower"),
        Figure("cold resolution p99", _percentile(durations, 0.99), "ms", "lower"),
    ]


if __name__ == "__main__":
    for figure in resolver(quick=False):
        print(figure)
