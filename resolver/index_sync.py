"""Catching the regional index up with the federation (`carbonid resolver sync`).

1. Prefixes: the approved prefixes the root registry lists (`GET /api/prefixes?status=approved`, every page);
   for a delegation (kind `registry`), the list of the registry it is delegated to, and so on down.
   Listings are only hints of where to look: every prefix is then looked up through the verified chain.
2. Records: for each enterprise prefix, the activity-data records its node lists
   (`GET /api/records?template=activity-data/1`, every page), asked as the resolver's own prefix (its client
   certificate), so records granted to it are listed too. The node asked is the one the verified prefix
   record names, not the one the listing says.
3. Each record is indexed by `resolver.index_ingest.index_record` (a few at a time), which verifies it.

What could not be listed (a registry or node that did not answer, a prefix record that does not verify) is
reported with the records refused; nothing stops the crawl but the root registry not answering.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp

from handle_registry.identifiers import InvalidPrefix, Prefix
from resolver.context import ResolverContext
from resolver.errors import UpstreamError
from resolver.evaluations import ACTIVITY_TEMPLATE
from resolver.index_ingest import INDEXED, IndexOutcome, index_record
from resolver.repository import ResolverStore
from resolver.resolution import ENTERPRISE, REGISTRY, lookup_prefix
from resolver.upstream import MAX_ANSWER_BYTES

REGISTRY_PAGE_SIZE: Final = 500
NODE_PAGE_SIZE: Final = 1000
DEFAULT_CONCURRENCY: Final = 8
MAX_REGISTRIES: Final = 256
"""The most registries one crawl lists (delegations are few; a listing naming more is not to be followed)."""
SETTLED: Final = INDEXED | {"older"}
"""Outcomes that leave the index holding the record (or a newer version of it)."""


class RootRegistryUnreachable(Exception):
    """The registry the crawl starts from did not answer its prefix list: nothing can be synced."""


class ListingFailed(Exception):
    """A registry or node did not answer a listing usably."""


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What the crawl found: the records to index, and what could not be listed (with why)."""

    handles: tuple[str, ...]
    prefixes: tuple[str, ...]
    registries: tuple[str, ...]
    problems: tuple[str, ...]


@dataclass(slots=True)
class SyncReport:
    """What indexing the plan did."""

    plan: SyncPlan
    counts: Counter[str] = field(default_factory=Counter)
    """Outcome status → records."""
    refused: list[IndexOutcome] = field(default_factory=list)
    """The records not indexed, with their reasons."""

    @property
    def indexed(self) -> int:
        """Records the index holds now (inserted, replaced or unchanged)."""
        return sum(self.counts[status] for status in INDEXED)

    @property
    def complete(self) -> bool:
        """True when every record found is indexed (or a newer version is) and everything could be listed."""
        return not self.refused and not self.plan.problems


async def plan_sync(ctx: ResolverContext, registry_url: str | None = None) -> SyncPlan:
    """Crawl the registries from `registry_url` (default: the root registry) and list every enterprise's
    activity-data records. Raises `RootRegistryUnreachable` when the first registry does not answer."""
    start = (registry_url or ctx.settings.root_registry_url).rstrip("/")
    session = ctx.upstream.session
    try:
        listed = await _list_prefixes(session, start)
    except ListingFailed as exc:
        raise RootRegistryUnreachable(str(exc)) from None
    registries, problems = [start], []
    enterprises: list[str] = []
    queue = list(listed)
    seen = {start}
    while queue:
        entry = queue.pop(0)
        prefix, kind, url = entry.get("prefix"), entry.get("kind"), entry.get("serviceUrl")
        if kind == ENTERPRISE and isinstance(prefix, str):
            enterprises.append(prefix)
        elif kind == REGISTRY and isinstance(url, str) and url.rstrip("/") not in seen:
            url = url.rstrip("/")
            seen.add(url)
            if len(seen) > MAX_REGISTRIES:
                problems.append(f"registry {url}: more than {MAX_REGISTRIES} registries listed; not crawled")
                continue
            registries.append(url)
            try:
                queue.extend(await _list_prefixes(session, url))
            except ListingFailed as exc:
                problems.append(str(exc))
    handles: list[str] = []
    for prefix in sorted(set(enterprises)):
        try:
            handles.extend(await _activity_handles(ctx, prefix))
        except ListingFailed as exc:
            problems.append(str(exc))
    return SyncPlan(tuple(handles), tuple(sorted(set(enterprises))), tuple(registries), tuple(problems))


async def index_handles(
    ctx: ResolverContext,
    store: ResolverStore,
    plan: SyncPlan,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Callable[[IndexOutcome], None] | None = None,
) -> SyncReport:
    """Index every record of the plan, `concurrency` at a time; `progress` is called after each."""
    report = SyncReport(plan)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for handle in plan.handles:
        queue.put_nowait(handle)

    async def worker() -> None:
        while not queue.empty():
            handle = queue.get_nowait()
            outcome = await index_record(ctx, store, handle)
            report.counts[outcome.status] += 1
            if outcome.status not in SETTLED:
                report.refused.append(outcome)
            if progress is not None:
                progress(outcome)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(plan.handles))))))
    report.refused.sort(key=lambda outcome: outcome.handle)
    return report


async def _list_prefixes(session: aiohttp.ClientSession, registry: str) -> list[Mapping[str, Any]]:
    """Every approved prefix a registry lists (all pages)."""
    entries: list[Mapping[str, Any]] = []
    page = 1
    while True:
        query = urlencode({"status": "approved", "page": page, "pageSize": REGISTRY_PAGE_SIZE})
        body = await _get_json(session, f"{registry}/api/prefixes?{query}", f"registry {registry}")
        listed = body.get("prefixes")
        if not isinstance(listed, list):
            raise ListingFailed(f"registry {registry} answered a prefix list without 'prefixes'")
        entries.extend(entry for entry in listed if isinstance(entry, Mapping))
        total = body.get("totalCount")
        if not listed or not isinstance(total, int) or page * REGISTRY_PAGE_SIZE >= total:
            return entries
        page += 1


async def _activity_handles(ctx: ResolverContext, prefix_text: str) -> list[str]:
    """The activity-data records the prefix's node lists to the resolver's prefix (all pages)."""
    try:
        prefix = Prefix(prefix_text)
    except InvalidPrefix as exc:
        raise ListingFailed(f"prefix {prefix_text!r} as listed is not a prefix: {exc}") from None
    try:
        chain = (await lookup_prefix(ctx, prefix)).chain
    except UpstreamError as exc:
        raise ListingFailed(f"prefix {prefix}: {exc}") from None
    if chain.status != "verified" or chain.record is None:
        raise ListingFailed(f"prefix {prefix}: its record cannot be trusted: {chain.reason or chain.status}")
    node = chain.record.service_url.rstrip("/")
    handles: list[str] = []
    page = 0
    while True:
        query = urlencode({"template": ACTIVITY_TEMPLATE, "page": page, "pageSize": NODE_PAGE_SIZE})
        body = await _get_json(ctx.peer_upstream.session, f"{node}/api/records?{query}", f"node {node}")
        records = body.get("records")
        if not isinstance(records, list):
            raise ListingFailed(f"node {node} answered a record list without 'records'")
        handles.extend(
            record["handle"]
            for record in records
            if isinstance(record, Mapping) and isinstance(record.get("handle"), str)
        )
        total = body.get("totalCount")
        if not records or not isinstance(total, int) or (page + 1) * NODE_PAGE_SIZE >= total:
            return handles
        page += 1


async def _get_json(session: aiohttp.ClientSession, url: str, who: str) -> Mapping[str, Any]:
    """GET a JSON object; `ListingFailed` naming `who` for anything else."""
    try:
        async with session.get(url, allow_redirects=False) as response:
            status = response.status
            body = await _read_bounded(response)
    except TimeoutError:
        raise ListingFailed(f"{who} did not answer {url} in time") from None
    except aiohttp.ClientError as exc:
        raise ListingFailed(f"{who} cannot be reached: {exc or type(exc).__name__}") from None
    if body is None:
        raise ListingFailed(f"{who} answered more than {MAX_ANSWER_BYTES} bytes to {url}")
    if status != 200:
        raise ListingFailed(f"{who} answered HTTP {status} to {url}")
    try:
        data = json.loads(body)
    except ValueError:
        raise ListingFailed(f"{who} answered {url} without JSON") from None
    if not isinstance(data, Mapping):
        raise ListingFailed(f"{who} answered {url} with JSON that is not an object")
    return data


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
