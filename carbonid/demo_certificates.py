"""The demo's last steps: bring the regional index up to date, evaluate every enterprise for 2025 and keep
its certificate's QR codes.

The nodes notify the resolver of each publication (`notify_resolvers`); `sync_index` then crawls the
registries as `carbonid resolver sync` does, so the index is complete whatever a notification met on the way.

For each node the resolver is asked (`POST /api/evaluations`, as the demo operator) to evaluate the year
2025 from the twelve monthly activity records, unless a valid certificate for it exists already (a
re-run issues nothing new). The QR codes (`/c/{handle}.png` and `.svg`) are written to
`<data dir>/certificates/<prefix>-2025.{png,svg}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp

from carbonid.demo_data import YEAR
from carbonid.federation import OPERATOR_NAME, Federation, NodeService
from resolver.index_sync import index_handles, plan_sync
from resolver.keys import CERTIFICATES_KEY, RESOLVER_KEY

PERIOD: Final = str(YEAR)
CERTIFICATES_DIR: Final = "certificates"


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """One enterprise's certificate as the demo reports it."""

    node: str
    prefix: str
    handle: str | None = None
    page: str | None = None
    grade: int | None = None
    colour: str | None = None
    efficiency_value: float | None = None
    intensity: float | None = None
    benchmark: float | None = None
    provisional: bool = False
    issued: bool = False
    qr_png: Path | None = None
    error: str | None = None
    """Why there is no certificate (the other members then stay at their defaults)."""


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


async def _existing(session: aiohttp.ClientSession, resolver: str, prefix: str) -> str | None:
    """The handle of the valid 2025 certificate of `prefix`, if the resolver issued one already."""
    async with session.get(
        f"{resolver}/api/evaluations", params={"prefix": prefix, "period": PERIOD}
    ) as response:
        body = await _json(response)
    for row in (body or {}).get("certificates", []):
        if row.get("status") == "valid" and row.get("granularity") == "year":
            return str(row["handle"])
    return None


async def _certificate(
    session: aiohttp.ClientSession, resolver: str, node: NodeService, auth: str
) -> tuple[dict[str, Any], bool]:
    handle = await _existing(session, resolver, node.prefix)
    if handle is not None:
        async with session.get(
            f"{resolver}/c/{handle}", headers={"Accept": "application/ld+json"}
        ) as response:
            return await response.json(content_type=None), False
    body = {"prefix": node.prefix, "period": PERIOD}
    async with session.post(
        f"{resolver}/api/evaluations", json=body, headers={"Authorization": auth}
    ) as response:
        answer = await _json(response)
        if response.status != 201 or not isinstance(answer, dict):
            detail = (answer or {}).get("detail") if isinstance(answer, dict) else None
            raise RuntimeError(f"HTTP {response.status}: {detail or 'no certificate'}")
        return answer["credential"], True


async def _save(session: aiohttp.ClientSession, url: str, path: Path) -> None:
    async with session.get(url) as response:
        response.raise_for_status()
        path.write_bytes(await response.read())


async def issue_certificates(federation: Federation) -> list[CertificateSummary]:
    """Every node's 2025 certificate (issued now or found), with its QR codes written to disk."""
    resolver = federation.resolver.url
    auth = aiohttp.encode_basic_auth(OPERATOR_NAME, federation.resolver.operator_secret)
    folder = federation.data_dir / CERTIFICATES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    summaries = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for node in federation.nodes:
            try:
                credential, issued = await _certificate(session, resolver, node, auth)
                page = str(credential["id"])
                png = folder / f"{node.prefix}-{PERIOD}.png"
                await _save(session, f"{page}.png", png)
                await _save(session, f"{page}.svg", png.with_suffix(".svg"))
            except (aiohttp.ClientError, TimeoutError, RuntimeError, KeyError) as exc:
                summaries.append(CertificateSummary(node.name, node.prefix, error=str(exc)))
                continue
            subject = credential["credentialSubject"]
            benchmark = subject.get("benchmark") or {}
            summaries.append(
                CertificateSummary(
                    node=node.name,
                    prefix=node.prefix,
                    handle=str(credential["handle"]),
                    page=page,
                    grade=subject.get("grade"),
                    colour=subject.get("gradeColour"),
                    efficiency_value=subject.get("efficiencyValue"),
                    intensity=subject.get("intensity"),
                    benchmark=benchmark.get("intensity"),
                    provisional=bool(subject.get("provisional")),
                    issued=issued,
                    qr_png=png,
                )
            )
    return summaries


@dataclass(frozen=True, slots=True)
class IndexSummary:
    """What the catch-up crawl found and indexed."""

    prefixes: int
    records: int
    indexed: int
    problems: tuple[str, ...]


async def sync_index(federation: Federation) -> IndexSummary:
    """Crawl the federation's registries and index every activity record (in the running resolver)."""
    app = federation.resolver.app
    assert app is not None  # the federation is running
    ctx = app[RESOLVER_KEY]
    plan = await plan_sync(ctx)
    report = await index_handles(ctx, app[CERTIFICATES_KEY].store, plan)
    problems = (*plan.problems, *(f"{outcome.handle}: {outcome.reason}" for outcome in report.refused))
    return IndexSummary(len(plan.prefixes), len(plan.handles), report.indexed, problems)


def certificate_lines(summaries: list[CertificateSummary]) -> list[str]:
    """The demo's certificate table."""
    header = ("enterprise", "grade", "K", "L tCO2/10^4 CNY", "benchmark", "certificate")
    rows = []
    for s in summaries:
        if s.error is not None:
            rows.append((s.node, "-", "-", "-", "-", f"not issued: {s.error}"))
            continue
        grade = f"{s.grade} {s.colour}" if s.grade is not None else "ungraded"
        if s.provisional:
            grade += " (provisional)"
        rows.append(
            (
                s.node,
                grade,
                "-" if s.efficiency_value is None else f"{s.efficiency_value:.3f}",
                "-" if s.intensity is None else f"{s.intensity:.3f}",
                "-" if s.benchmark is None else f"{s.benchmark:.3f}",
                f"{s.page}" + ("" if s.issued else " (issued before)"),
            )
        )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (header, *rows)
    ]
