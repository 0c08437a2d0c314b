"""Telling resolvers that a record was published, so their regional index follows without crawling.

After a publication the node sends every resolver of `notify_resolvers` a `RecordPublished` notification,
`POST <resolver>/api/notifications` {"@context", "type": "RecordPublished", "handle", "version"}, as a signed
request (`certs.signed_requests`: signed with the node's Ed25519 key, which its prefix record lists, for the
resolver's did:web DID, fresh and single-use). The resolver then reads the record itself and verifies it like
any other: the notification only says where to look.

Notifications run in the background and never fail or delay a publication: each is tried at once and again
after 1, 4 and 16 seconds when the resolver does not answer (or answers 429 / 5xx), each try within
`TIMEOUT_SECONDS`, signed afresh (a new nonce), then given up and logged; a refusal (other 4xx) is logged and
not retried. The tasks still running at shutdown are cancelled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import aiohttp

from certs.did import did_web_for_url
from certs.identity import ServiceIdentity
from certs.tls import client_ssl_context
from common.logging import request_id_trace
from metadata_templates import Catalog
from node.settings import NodeSettings

NOTIFICATION_TYPE: Final = "RecordPublished"
NOTIFICATION_CONTEXT: Final[dict[str, Any]] = {
    "@version": 1.1,
    "@protected": True,
    "@vocab": "https://carbonid.org/ns#",
    "id": "@id",
    "type": "@type",
}
"""The notification's JSON-LD context, inline: its three terms need no context document of their own."""

NOTIFICATIONS_PATH: Final = "/api/notifications"
RETRY_DELAYS: Final = (1.0, 4.0, 16.0)
"""Seconds waited before each retry."""
TIMEOUT_SECONDS: Final = 10.0
"""The most one try may take, connecting included."""
CONNECT_TIMEOUT_SECONDS: Final = 3.0
"""The most connecting (TCP and TLS) may take: a resolver that is down is given up on before a slow one."""
USER_AGENT: Final = "carbonid-node"

_log = logging.getLogger(__name__)


def notification_document(handle: str, version: int) -> dict[str, Any]:
    """The unsigned notification that `version` of `handle` was published."""
    return {
        "@context": [NOTIFICATION_CONTEXT],
        "type": NOTIFICATION_TYPE,
        "handle": handle,
        "version": version,
    }


def notify_tls(settings: NodeSettings) -> ssl.SSLContext | bool:
    """How the node checks a resolver's HTTPS certificate: against the federation CA (`tls_client_ca`) when
    set, else the system's CAs."""
    if settings.tls_client_ca is not None:
        return client_ssl_context(settings.tls_client_ca)
    return True


class Notifier:
    """Sends notifications in the background and keeps the tasks still running."""

    def __init__(
        self,
        resolvers: Sequence[str],
        identity: ServiceIdentity,
        catalog: Catalog,
        session: aiohttp.ClientSession | None,
        *,
        delays: Sequence[float] = RETRY_DELAYS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.resolvers = tuple(url.rstrip("/") for url in resolvers)
        self.identity = identity
        self.catalog = catalog
        self.session = session
        self.delays = tuple(delays)
        self.sleep = sleep
        """How the back-off waits (a test passes one that records the delays instead)."""
        self.pending: set[asyncio.Task[bool]] = set()
        """The notifications being sent (or waiting to be tried again)."""
        self.outcomes: Counter[str] = Counter()
        """Notifications that ended `delivered`, `refused` (a 4xx) or `failed` (no answer after every try)."""

    def published(self, handle: str, version: int) -> None:
        """Notify every resolver, in the background, that `version` of `handle` was published."""
        if self.session is None:
            return
        for resolver in self.resolvers:
            task = asyncio.ensure_future(self._notify(self.session, resolver, handle, version))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    async def drain(self) -> None:
        """Wait until every notification under way is delivered or given up."""
        while self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)

    async def close(self) -> None:
        """Cancel the notifications still under way (at shutdown) and wait for them to end."""
        tasks = list(self.pending)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            _log.warning("shutting down: %d resolver notification(s) not delivered", len(tasks))

    async def _notify(self, session: aiohttp.ClientSession, resolver: str, handle: str, version: int) -> bool:
        """Deliver one notification, trying again after each delay; True when the resolver accepted it."""
        url = resolver + NOTIFICATIONS_PATH
        domain = did_web_for_url(resolver)
        document = notification_document(handle, version)
        tries = len(self.delays) + 1
        for attempt in range(1, tries + 1):
            # Signed afresh each time: a resolver remembers a nonce, and a try may have reached it.
            signed = await asyncio.to_thread(
                self.identity.sign_request, document, self.catalog.loader, domain=domain
            )
            try:
                async with session.post(url, json=signed) as response:
                    status, text = response.status, await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, text = None, str(exc) or type(exc).__name__
            if status is not None and 200 <= status < 300:
                _log.info("resolver %s notified of %s version %d", resolver, handle, version)
                self.outcomes["delivered"] += 1
                return True
            if status is not None and status != 429 and status < 500:
                # 422: the resolver could not read or use the record, e.g. a private record not (yet) granted
                # to its prefix: expected, and a later grant notifies again. Anything else is worth a warning.
                _log.log(
                    logging.INFO if status == 422 else logging.WARNING,
                    "resolver %s refused the notification of %s version %d: HTTP %d %s",
                    resolver,
                    handle,
                    version,
                    status,
                    _detail(text),
                )
                self.outcomes["refused"] += 1
                return False
            reason = f"HTTP {status} {_detail(text)}" if status is not None else text
            if attempt == tries:
                _log.warning(
                    "resolver %s not notified of %s version %d after %d tries: %s",
                    resolver,
                    handle,
                    version,
                    tries,
                    reason,
                )
                self.outcomes["failed"] += 1
                return False
            _log.info("resolver %s not notified yet (%s); trying again", resolver, reason)
            await self.sleep(self.delays[attempt - 1])
        return False  # pragma: no cover - the loop returns


def _detail(text: str) -> str:
    """A problem+json answer's detail (or title), else the start of the text."""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or "")[:200]
    return text.strip()[:200]


def open_notify_session(settings: NodeSettings) -> aiohttp.ClientSession:
    """The pooled session notifications go through (call from a running event loop)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=notify_tls(settings), limit=32),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS, sock_connect=CONNECT_TIMEOUT_SECONDS),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        trace_configs=[request_id_trace()],
    )
