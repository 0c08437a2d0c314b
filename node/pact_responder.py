"""Answering PACT footprint requests in the background: resolve, deliver, retry with back-off.

POST /2/events queues a ProductFootprintRequest.Created event (table `pact_requests`) and answers 200 at once;
this worker takes it from there. It resolves the request once against the published forms (the Fulfilled or
Rejected event is kept, so every retry sends the very same event), signs in at the requester's token endpoint
with the credentials of `pact_peer_credentials` and posts the event to `<source>/2/events` over HTTPS. A
requester that is unreachable or answers anything but 2xx is tried again after each of `pact_retry_delays`,
then given up (status `failed`, logged).

The queue lives in the database, so answers survive a restart, and several node processes may share it: a
process claims a due request by moving its due time `LEASE` ahead (a conditional update only one wins); a process
that dies mid-delivery leaves the request to be taken up again when the lease runs out. The worker sleeps until
the next request is due or `wake()` is called; it is cancelled on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Final

import aiohttp

from certs.data_integrity import format_datetime, parse_datetime
from node.pact import PactCode, PactService, answer_request, rejected_event
from node.pact_peers import DeliveryFailed, Requester, deliver
from node.pact_store import RequestRow

LEASE: Final = timedelta(minutes=5)
"""How long a claimed request is left to its process before another may take it (a delivery lasts at most three
HTTP calls of `node.pact_peers.TIMEOUT_SECONDS`)."""
BATCH: Final = 16
ERROR_PAUSE_SECONDS: Final = 30

_log = logging.getLogger(__name__)


class PactResponder:
    """The background worker answering queued footprint requests."""

    def __init__(self, pact: PactService, session: aiohttp.ClientSession) -> None:
        self.pact = pact
        self.session = session
        self._wakeup = asyncio.Event()
        self._progress = asyncio.Condition()

    def wake(self) -> None:
        """A request was queued: look at the queue now."""
        self._wakeup.set()

    async def run(self) -> None:
        """Work the queue until cancelled."""
        while True:
            try:
                await self.work_once()
                timeout = await self._seconds_until_due()
            except Exception:
                # One bad round (the database gone for a moment) must not end the worker.
                _log.exception("PACT responder: a round failed; trying again in %d s", ERROR_PAUSE_SECONDS)
                timeout = ERROR_PAUSE_SECONDS
            async with self._progress:
                self._progress.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            self._wakeup.clear()

    async def drain(self) -> None:
        """Wait until every queued request is delivered or given up (the worker must be running)."""
        while await self._seconds_until_due() is not None:
            self.wake()
            async with self._progress:
                await self._progress.wait()

    async def _seconds_until_due(self) -> float | None:
        async with self.pact.store.unit() as db:
            due = await db.next_due()
        if due is None:
            return None
        return max(0.0, (parse_datetime(due) - self.pact.clock()).total_seconds())

    async def work_once(self) -> int:
        """Claim and process the requests due now; return how many were processed."""
        now = self.pact.clock()
        async with self.pact.store.unit(write=True) as db:
            claimed = await db.claim_due(
                format_datetime(now), lease_until=format_datetime(now + LEASE), limit=BATCH
            )
        for request in claimed:
            await self._process(request)
        return len(claimed)

    async def _process(self, request: RequestRow) -> None:
        pact = self.pact
        response = request.response
        if response is None:
            try:
                answer = await answer_request(pact, request)
            except Exception:
                # The spec's answer when a request fails for other reasons: a Rejected event, InternalError.
                _log.exception("PACT request %s could not be resolved", request.event_id)
                answer = rejected_event(
                    pact, request.event_id, PactCode.INTERNAL_ERROR, "the request could not be resolved"
                )
            response = json.dumps(answer, ensure_ascii=False)
            async with pact.store.unit(write=True) as db:
                await db.save_response(request.id, response)
        event = json.loads(response)
        attempts = request.attempts + 1
        credentials = pact.peers.get(request.authority)
        try:
            if credentials is None:
                raise DeliveryFailed(f"no credentials for requester {request.authority} any more")
            await deliver(
                self.session, Requester(request.callback_base, request.authority), credentials, event
            )
        except DeliveryFailed as exc:
            await self._failed(request, attempts, str(exc))
            return
        async with pact.store.unit(write=True) as db:
            await db.finish(request.id, status="delivered", attempts=attempts, at=pact.now_text(), error=None)
        _log.info(
            "PACT answer %s to request %s delivered to %s (attempt %d)",
            event.get("type"),
            request.event_id,
            request.callback_base,
            attempts,
        )

    async def _failed(self, request: RequestRow, attempts: int, error: str) -> None:
        pact = self.pact
        delays = pact.settings.pact_retry_delays
        async with pact.store.unit(write=True) as db:
            if attempts > len(delays):
                await db.finish(
                    request.id, status="failed", attempts=attempts, at=pact.now_text(), error=error
                )
                _log.warning(
                    "PACT answer to request %s not delivered to %s after %d attempts: %s",
                    request.event_id,
                    request.callback_base,
                    attempts,
                    error,
                )
                return
            due = pact.clock() + timedelta(seconds=delays[attempts - 1])
            await db.retry_later(request.id, attempts=attempts, at=format_datetime(due), error=error)
        _log.info("PACT answer to request %s not delivered yet (%s); trying again", request.event_id, error)
