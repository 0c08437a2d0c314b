"""`carbonid demo`: the whole federation on one machine, made and checked over real HTTP(S).

In one process and one (uvloop) event loop it starts a root registry, an industry registry the root
delegates `88.186` to, four enterprise nodes over HTTPS (an aluminium smelter in Huzhou, a steel mill in
Tangshan, an auto-parts supplier in Ningbo, a car maker in Hefei) and the resolver
(`carbonid.federation`); makes the federation as its operators would (`carbonid.provisioning`):
administrators, delegation, signed prefix applications and approvals, each enterprise's profile and
twelve months of activity data (`carbonid.demo_data`); then resolves every node's profile and one
activity record through the resolver, brings the regional index up to date, evaluates every enterprise's
carbon efficiency for 2025 and writes its certificate's QR codes (`carbonid.demo_certificates`), and prints
what it did. It writes `<data dir>/federation.json`
(URLs, prefixes, DIDs, the CA, administrators' credentials; mode 0600) and keeps serving until Ctrl-C,
or exits with `--once`. Running it again on the same directory reuses everything and publishes nothing new.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp

from carbonid.demo_certificates import (
    CERTIFICATES_DIR,
    PERIOD,
    certificate_lines,
    issue_certificates,
    sync_index,
)
from carbonid.demo_data import activity_suffix
from carbonid.federation import (
    FEDERATION_FILE,
    REGULATOR_NAME,
    REGULATOR_REGION,
    Federation,
    NodeService,
    running_federation,
)
from metadata_templates.codes import CodeError, city_of, province_of, region
from resolver.answers import NotFound
from resolver.keys import RESOLVER_KEY
from resolver.resolution import resolve as resolve_handle

Echo = Callable[[str], None]

SAMPLE_PERIOD: Final = "2025-12"
"""The activity record resolved for each node (with its profile)."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the resolver said about one handle: the HTTP status and its verification status."""

    handle: str
    http_status: int
    status: str
    reason: str | None = None
    note: str = ""


def verification_status(body: Any) -> tuple[str, str | None]:
    """(status, reason) of a resolver answer: its `verification.status` (`verified`, `unsigned`, `failed`)
    and reason, or what the answer is instead."""
    if not isinstance(body, dict):
        return "unreadable", "the answer is not a JSON object"
    verification = body.get("verification")
    if isinstance(verification, dict):
        reason = verification.get("reason")
        return str(verification.get("status", "unknown")), str(reason) if reason is not None else None
    message = body.get("detail") or body.get("message") or body.get("title")
    return "not verified", str(message) if message is not None else None


async def resolve(session: aiohttp.ClientSession, resolver_url: str, handle: str) -> Resolution:
    """Resolve `handle` through the resolver (`GET /api/handles/{handle}`)."""
    try:
        async with session.get(f"{resolver_url}/api/handles/{handle}") as response:
            status = response.status
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Resolution(handle, 0, "no answer", str(exc) or type(exc).__name__)
    return Resolution(handle, status, *verification_status(body))


def sample_handles(node: NodeService) -> list[str]:
    """The handles the demo resolves for `node`: its profile and one month of activity data."""
    return [node.spec.profile_handle, f"{node.prefix}/{activity_suffix(SAMPLE_PERIOD)}"]


async def resolve_granted(session: aiohttp.ClientSession, federation: Federation, handle: str) -> Resolution:
    """A record shared privately with the resolver's prefix: the resolver reads it for itself, as a peer, while
    its public Handle API must answer what an anonymous reader of the node gets (not found)."""
    public = await resolve(session, federation.resolver.url, handle)
    if public.http_status != 404:
        return Resolution(handle, public.http_status, "failed", "a granted record was served publicly")
    assert federation.resolver.app is not None  # the federation is running
    served = await resolve_handle(federation.resolver.app[RESOLVER_KEY], handle, as_peer=True)
    if isinstance(served.answer, NotFound):
        return Resolution(handle, 404, "not found", served.answer.message)
    verification = served.answer.verification
    note = f" as {federation.resolver.prefix} (granted; publicly not found)"
    return Resolution(handle, 200, verification.status, verification.reason, note=note)


async def resolve_samples(federation: Federation) -> dict[str, list[Resolution]]:
    """Each node's sample handles resolved through the resolver, by node name."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        results: dict[str, list[Resolution]] = {}
        for node in federation.nodes:
            profile, activity = sample_handles(node)
            granted = federation.resolver.prefix in node.spec.activity_grants
            results[node.name] = [
                await resolve(session, federation.resolver.url, profile),
                await (
                    resolve_granted(session, federation, activity)
                    if granted
                    else resolve(session, federation.resolver.url, activity)
                ),
            ]
        return results


def region_label(code: str) -> str:
    """`330522 Changxing, Huzhou, Zhejiang`: the code with its county, city and province."""
    try:
        names = [region(code).short_en]
        city = city_of(code)
        if city is not None and city.code != code:
            names.append(city.short_en)
        names.append(province_of(code).short_en)
    except CodeError:
        return code
    return f"{code} {', '.join(dict.fromkeys(names))}"


def report_lines(federation: Federation, resolutions: dict[str, list[Resolution]]) -> list[str]:
    """The table of what the demo did: service, URL, prefix, region, industry, records, resolution."""
    header = ("service", "url", "prefix", "region", "industry", "published", "resolution")
    rows: list[tuple[str, ...]] = []
    for registry in federation.registries:
        note = f"delegated by {registry.parent}" if registry.parent else "trust anchor"
        rows.append((f"registry {registry.name}", registry.url, registry.prefix, "-", "-", "-", note))
    for node in federation.nodes:
        results = resolutions.get(node.name, [])
        resolution = ", ".join(f"{r.handle.split('/', 1)[1]} {r.status}{r.note}" for r in results)
        rows.append(
            (
                f"node {node.name}",
                node.url,
                node.prefix,
                region_label(node.spec.region),
                f"{node.spec.industry} {node.spec.industry_label}",
                f"{node.published} new / {node.records}",
                resolution,
            )
        )
    resolver = federation.resolver
    rows.append(("resolver", resolver.url, resolver.prefix, "-", "-", "-", "trusts the root registry"))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


async def _wait_for_signal() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def run_demo(data_dir: Path, base_port: int | None, *, once: bool, echo: Echo = print) -> bool:
    """Run the demo; True when every sample resolution verified and every certificate was issued. Raises `carbonid.demo_layout.DemoError`."""
    started = time.perf_counter()
    echo(f"carbonid demo in {data_dir.resolve()}: starting registries, nodes and the resolver ...")
    async with running_federation(data_dir, base_port) as federation:
        resolutions = await resolve_samples(federation)
        index = await sync_index(federation)
        certificates = await issue_certificates(federation)
        elapsed = time.perf_counter() - started
        echo("")
        for line in report_lines(federation, resolutions):
            echo(line)
        echo("")
        echo(
            f"carbon-efficiency certificates for {PERIOD} (QR codes in {federation.data_dir / CERTIFICATES_DIR}):"
        )
        for line in certificate_lines(certificates):
            echo(line)
        echo("")
        echo(
            f"regional index: {index.indexed} of {index.records} activity records of {index.prefixes} "
            f"enterprises; dashboard {federation.resolver.url}/regions/000000?period={PERIOD}"
        )
        echo(
            f"  (regulator {REGULATOR_NAME} sees {REGULATOR_REGION} in full: credentials in federation.json)"
        )
        echo("")
        echo(f"federation.json  {federation.data_dir / FEDERATION_FILE}  (secrets: keep it private)")
        echo(f"demo CA          {federation.ca_file}")
        echo(f"ready in {elapsed:.1f} s")
        failures = [r for results in resolutions.values() for r in results if r.status != "verified"]
        for failure in failures:
            echo(
                f"not verified: {failure.handle} (HTTP {failure.http_status}): {failure.reason or failure.status}"
            )
        for problem in index.problems:
            echo(f"not indexed: {problem}")
        for certificate in certificates:
            if certificate.error is not None:
                echo(f"no certificate for {certificate.prefix}: {certificate.error}")
        verified = not failures and not index.problems and all(c.error is None for c in certificates)
        if not once:
            echo(
                f"serving; try  curl {federation.resolver.url}/api/handles/{federation.nodes[0].prefix}/PROFILE"
            )
            echo("press Ctrl-C to stop")
            await _wait_for_signal()
            echo("stopping ...")
    if not once:
        echo("stopped")
    return verified


def run_demo_command(data_dir: Path, base_port: int | None, *, once: bool, echo: Echo = print) -> bool:
    """`carbonid demo`: run the demo on a uvloop event loop, logging only warnings."""
    import uvloop

    from common.logging import configure_logging

    configure_logging("warning", json=False)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_demo(data_dir, base_port, once=once, echo=echo))
