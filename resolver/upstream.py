"""Asking registries and nodes: Handle REST GETs over one pooled `aiohttp.ClientSession`.

This is the boundary where the HTTP client's failures are translated: a connection refused, a TLS
failure, a timeout, a 5xx, a body that is not Handle JSON all become the `UpstreamError` the caller
names (`RegistryUnreachable` or `NodeUnreachable`). What comes back is the status, the Handle response
code and the decoded values; judging them is the caller's business.

Faults are bounded, because a resolution waits for them:

- every attempt has a connect timeout and a (longer) timeout for the whole attempt;
- a GET is safe to repeat, so a failure that may pass (connection refused, reset or broken, an attempt
  timed out, HTTP 502/503/504) is tried again, up to `upstream_attempts`, after an exponential back-off
  with jitter (or the answer's Retry-After, when it asks for no more than `upstream_retry_after_max_seconds`);
  any other answer, a 4xx included, is returned or refused at once, never asked again;
- all of it within the `UpstreamBudget` of the resolution (`upstream_deadline_seconds`), shared by every
  referral and the node, so no resolution waits longer than that;
- a host that failed `upstream_breaker_failures` requests in a row is not asked for a cool-down
  (`resolver.breakers`): the request fails at once and the caller serves its stale answer or a 503.

TLS: with `federation_ca` a session trusts that CA only (`certs.tls.client_ssl_context`). The resolver keeps
two sessions: the public one, which answers the Handle API for anyone and never presents the client
certificate (so it only ever sees public records), and the peer one, which presents `client_certificate` so
nodes answer with the records granted to the resolver's prefix, for the resolver's own use (evaluations),
never for republishing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import quote

import aiohttp
from yarl import URL

from certs.tls import client_ssl_context
from common.logging import request_id_trace
from handle_registry.codec import CodecError, decode_resolution, parse_json
from handle_registry.values import HandleValue
from resolver.breakers import Admission, CircuitBreaker, CircuitBreakers
from resolver.errors import UpstreamError
from resolver.settings import ResolverSettings

MAX_ANSWER_BYTES: Final = 8 * 1024 * 1024
"""The largest Handle JSON answer read from a registry or node: a resolution is kilobytes, not megabytes."""

USER_AGENT: Final = "carbonid-resolver"
RETRYABLE_STATUSES: Final = frozenset({502, 503, 504})
"""Answers that say "not now" (a gateway without its backend, an overloaded or restarting server)."""
MAX_BACKOFF_SECONDS: Final = 5.0
"""The longest wait between two attempts, however many retries."""
MIN_ATTEMPT_SECONDS: Final = 0.01
"""Less time than this left in the budget is not worth an attempt."""

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    """A Handle answer from a registry or node: HTTP status, response code, values, message."""

    url: str
    status: int
    code: int
    values: tuple[HandleValue, ...]
    message: str | None = None


def client_tls(settings: ResolverSettings, *, as_peer: bool) -> ssl.SSLContext | bool:
    """The TLS a session speaks: the federation CA when set, else the system's CAs; the client certificate
    only for the peer session."""
    certificate = settings.client_certificate if as_peer else None
    key = settings.client_key if as_peer else None
    if settings.federation_ca is not None:
        return client_ssl_context(settings.federation_ca, cert_file=certificate, key_file=key)
    if certificate is not None:
        context = ssl.create_default_context()
        context.load_cert_chain(certificate, key)
        return context
    return True


def open_session(settings: ResolverSettings, tls: ssl.SSLContext | bool) -> aiohttp.ClientSession:
    """The pooled session every upstream request goes through (call from a running event loop)."""
    connector = aiohttp.TCPConnector(ssl=tls, limit=256, limit_per_host=64)
    # The default for whoever uses the session directly (index sync); resolutions pass their own per attempt.
    timeout = aiohttp.ClientTimeout(
        total=settings.upstream_attempt_timeout_seconds,
        sock_connect=settings.upstream_connect_timeout_seconds,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        # Handle JSON is parsed strictly by the codec; the session never decodes it itself.
        raise_for_status=False,
        trace_configs=[request_id_trace()],
    )


def handle_url(base_url: str, handle: str) -> URL:
    """`<base_url>/api/handles/<handle>`, the handle percent-encoded so the server decodes it back exactly."""
    # Everything but unreserved characters and "/" is escaped: the Handle server decodes the raw path once,
    # so "%2B" comes back as "+", which a literal "+" might not on every proxy.
    return URL(base_url.rstrip("/") + "/api/handles/" + quote(handle, safe="/"), encoded=True)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How requests to registries and nodes are timed, repeated and given up on (from the settings)."""

    attempts: int = 3
    connect_timeout_seconds: float = 2.0
    attempt_timeout_seconds: float = 5.0
    deadline_seconds: float = 10.0
    backoff_seconds: float = 0.2
    retry_after_max_seconds: float = 2.0
    breaker_failures: int = 5
    breaker_cooldown_seconds: float = 30.0

    @classmethod
    def of(cls, settings: ResolverSettings) -> RetryPolicy:
        """The policy the resolver's `upstream_*` settings describe."""
        return cls(
            attempts=settings.upstream_attempts,
            connect_timeout_seconds=settings.upstream_connect_timeout_seconds,
            attempt_timeout_seconds=settings.upstream_attempt_timeout_seconds,
            deadline_seconds=settings.upstream_deadline_seconds,
            backoff_seconds=settings.upstream_backoff_seconds,
            retry_after_max_seconds=settings.upstream_retry_after_max_seconds,
            breaker_failures=settings.upstream_breaker_failures,
            breaker_cooldown_seconds=settings.upstream_breaker_cooldown_seconds,
        )

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1, 2, ...): doubling from `backoff_seconds`, capped, less a
        random part of up to half, so resolvers that failed together do not retry together."""
        ceiling = min(self.backoff_seconds * 2.0 ** (retry - 1), MAX_BACKOFF_SECONDS)
        return ceiling - rng.uniform(0.0, ceiling / 2)


class UpstreamBudget:
    """What one resolution may still spend asking registries and nodes: its policy and its deadline.

    Made when the resolution starts and handed to every request it makes, so referrals, the node, retries
    and back-off waits all fit in `policy.deadline_seconds` (on the event loop's monotonic clock).
    """

    __slots__ = ("_loop", "expires_at", "policy")

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self._loop = asyncio.get_running_loop()
        self.expires_at = self._loop.time() + policy.deadline_seconds

    @classmethod
    def start(cls, settings: ResolverSettings) -> UpstreamBudget:
        """A fresh budget for a resolution starting now (call from a running event loop)."""
        return cls(RetryPolicy.of(settings))

    def remaining(self) -> float:
        """Seconds left before the deadline (0 once it passed)."""
        return max(0.0, self.expires_at - self._loop.time())


@dataclass(frozen=True, slots=True)
class _Failure:
    """An attempt that gave no usable answer: why, whether another attempt may do better, Retry-After."""

    reason: str
    transient: bool
    retry_after: float | None = None


class Upstream:
    """Handle REST GETs to registries and nodes, retried within a budget, behind a breaker per host."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Callable[[], datetime],
        *,
        breakers: CircuitBreakers | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.breakers = breakers if breakers is not None else CircuitBreakers()
        """Shared by the public and the peer `Upstream`: a host that is down is down for both."""
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    async def resolve(
        self,
        base_url: str,
        handle: str,
        *,
        unreachable: type[UpstreamError],
        budget: UpstreamBudget,
    ) -> UpstreamAnswer:
        """GET `handle` from the service at `base_url`, trying again while the failure may pass and the
        budget allows; raises `unreachable` when no usable answer comes."""
        url = handle_url(base_url, handle)
        shown = str(url)
        origin = str(url.origin())
        breaker = self.breakers.of(origin)
        threshold = budget.policy.breaker_failures
        now = self._seconds()
        admission = breaker.admit(now, threshold)
        if admission is Admission.REFUSED:
            raise unreachable(shown, _refusal(breaker, now))
        try:
            outcome, attempts, note = await self._attempts(url, budget)
        finally:
            if admission is Admission.PROBE:
                breaker.end_probe()
        if outcome is None:
            deadline = budget.policy.deadline_seconds
            raise unreachable(shown, f"was not asked: the resolution's {deadline:g} s deadline had passed")
        if isinstance(outcome, UpstreamAnswer) or not outcome.transient:
            # It answered, if not usefully: the host is up.
            if breaker.failures and breaker.open_until is not None:
                _log.info("%s answers again; its circuit is closed", origin)
            breaker.succeeded()
            if isinstance(outcome, UpstreamAnswer):
                return outcome
            raise unreachable(shown, outcome.reason)
        opened = breaker.failed(
            self._seconds(),
            outcome.reason,
            threshold=threshold,
            cooldown=budget.policy.breaker_cooldown_seconds,
        )
        if opened:
            _log.warning(
                "%s failed %d requests in a row (%s); not asked for %g s",
                origin,
                breaker.failures,
                outcome.reason,
                budget.policy.breaker_cooldown_seconds,
            )
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        raise unreachable(shown, f"{outcome.reason}{tries}{note}")

    async def _attempts(
        self, url: URL, budget: UpstreamBudget
    ) -> tuple[UpstreamAnswer | _Failure | None, int, str]:
        """Attempt until an answer, a failure not worth repeating, the last attempt or the deadline: the
        last outcome (None when no attempt fitted the budget), the attempts made, and why they stopped early."""
        policy = budget.policy
        outcome: UpstreamAnswer | _Failure | None = None
        attempt = 0
        while attempt < policy.attempts:
            remaining = budget.remaining()
            if remaining < MIN_ATTEMPT_SECONDS:
                return outcome, attempt, f"; no time left within the {policy.deadline_seconds:g} s deadline"
            attempt += 1
            outcome = await self._attempt(url, policy, remaining)
            if isinstance(outcome, UpstreamAnswer) or not outcome.transient or attempt == policy.attempts:
                break
            wait = policy.backoff(attempt, self._rng)
            if outcome.retry_after is not None:
                if outcome.retry_after > policy.retry_after_max_seconds:
                    return outcome, attempt, f"; it asks to be retried after {outcome.retry_after:g} s"
                wait = max(wait, outcome.retry_after)
            if wait >= budget.remaining():
                return outcome, attempt, f"; no time left within the {policy.deadline_seconds:g} s deadline"
            await asyncio.sleep(wait)
        return outcome, attempt, ""

    async def _attempt(self, url: URL, policy: RetryPolicy, remaining: float) -> UpstreamAnswer | _Failure:
        """One GET, bounded by the attempt timeout and what is left of the budget."""
        total = min(policy.attempt_timeout_seconds, remaining)
        # ceil_threshold: aiohttp would round a timeout of 5 s or more up to the next whole second, past the budget.
        timeout = aiohttp.ClientTimeout(
            total=total, sock_connect=min(policy.connect_timeout_seconds, total), ceil_threshold=3600
        )
        try:
            async with self.session.get(url, allow_redirects=False, timeout=timeout) as response:
                status = response.status
                if status in RETRYABLE_STATUSES:
                    # Not read: the body of a "not now" is of no use, and the connection is not reused.
                    retry_after = _retry_after(response.headers.get("Retry-After"), self.clock())
                    return _Failure(f"answered HTTP {status}", True, retry_after)
                body = await _read_bounded(response)
        except aiohttp.ConnectionTimeoutError:
            return _Failure("did not accept the connection in time", True)
        except TimeoutError:
            return _Failure("did not answer in time", True)
        except aiohttp.ClientSSLError as exc:
            # A certificate or handshake the resolver refuses does not get better by asking again.
            return _Failure(f"cannot be reached: {exc or type(exc).__name__}", False)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            return _Failure(f"cannot be reached: {exc or type(exc).__name__}", True)
        except aiohttp.ClientError as exc:
            return _Failure(f"cannot be reached: {exc or type(exc).__name__}", False)
        if body is None:
            return _Failure(f"answered more than {MAX_ANSWER_BYTES} bytes", False)
        if status >= 500:
            return _Failure(f"answered HTTP {status}", False)
        try:
            decoded = decode_resolution(parse_json(body), clock=self.clock)
        except CodecError as exc:
            return _Failure(f"answered HTTP {status} without readable Handle JSON: {exc}", False)
        return UpstreamAnswer(str(url), status, decoded.response_code, decoded.values, decoded.message)

    def _seconds(self) -> float:
        return self.clock().timestamp()


def _refusal(breaker: CircuitBreaker, now: float) -> str:
    """Why a request was not even sent: the host's breaker is open (or its one probe is under way)."""
    failed = f"failed {breaker.failures} requests in a row (last: {breaker.last_reason})"
    if breaker.open_until is not None and now < breaker.open_until:
        return f"{failed}; not asked again for {breaker.open_until - now:.0f} s"
    return f"{failed}; another request is probing it"


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(min(int(text), 86400))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes | None:
    if response.content_length is not None and response.content_length > MAX_ANSWER_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
