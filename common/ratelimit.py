"""Rate limits per client: one token bucket per client and class of routes, refused with 429 and Retry-After.

Why: resolution is cheap per request but open to anyone, and publishing (signing, canonicalising, storing,
notifying) is expensive; one client flooding either must not starve the others. Two classes of routes:

- ``resolve``: ``rate_limit_resolve_per_second`` tokens a second, ``rate_limit_resolve_burst`` at most;
- ``publish``: ``rate_limit_publish_per_minute`` tokens a minute, ``rate_limit_publish_burst`` at most;

a rate of 0 turns the class off (the benchmarks drive tens of thousands of requests a second from one
client). A service lists its limited routes in a table, ``{(METHOD, path template): Limit}``, and gives
:meth:`RateLimits.middlewares` to ``create_service_app``; :meth:`RateLimits.bind` then maps the table onto
the app's route objects, so a request costs one dict lookup on its matched route, one on its bucket and some
arithmetic. Routes outside the table are not limited.

The bucket is kept as GCRA (the "virtual scheduling" form of a token bucket): one float per client, the
time at which its bucket will be full again ("theoretical arrival time"). A request is allowed when that
time lies at most ``(burst - 1) / rate`` seconds ahead, and pushes it ``1 / rate`` further; the answer is
exactly that of a bucket of ``burst`` tokens refilled at ``rate``. A bucket whose time has passed is full,
i.e. the same as no entry, so entries are dropped freely.

Memory is bounded: each class keeps at most ``rate_limit_max_clients`` buckets in least-recently-used order
(``OrderedDict``, O(1) per request, no locks: one event loop). Inserting a client first drops up to two full
buckets from the cold end, and at capacity the coldest bucket even if not yet full: a flood of distinct
clients can cost a throttled client its state (it starts again with a full bucket) but never grows memory.

Requests from this host (a loopback peer with no X-Forwarded-For or Forwarded header) are not limited unless
``rate_limit_exempt_loopback`` is off: the command line, co-located services and the local demo federation
all share that address (its nodes' notifications alone would drain one bucket). A proxy on this host adds
those headers, so what it forwards is still limited, by the proxy's address if it is not a trusted proxy.

Who a client is:

- the peer address (``request.remote``; an IPv6 client by its /64, the smallest block a host gets);
  ``X-Forwarded-For`` is read only when the peer is one of ``trusted_proxies`` (the rightmost address not
  itself a trusted proxy);
- on routes marked ``key_by="account"`` (those that check credentials), the account the request claims:
  the Basic user name, or the bearer token, as a keyed hash (never the raw name, never logged). A claim is
  not yet verified when the limit is applied, so claiming names must not buy fresh buckets: a request
  carrying credentials is refused while its peer's bucket is empty, and every 401 or 403 answered to one
  costs its peer a token (and gives the named account its token back). Guessing names or passwords thus
  drains the guesser's own address, never the account guessed at.

A refused request gets 429 with ``Retry-After`` (whole seconds, at least 1): problem+json of type
``rate-limited``, or whatever a route's ``render`` builds (the Handle REST routes answer in Handle JSON,
responseCode 3 "server too busy", like every other error of theirs). :func:`add_rate_limit_responses`
documents the 429 on the limited operations of a service's OpenAPI document.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_urldispatcher import AbstractRoute

from common.errors import PROBLEM_CONTENT_TYPE, ProblemError
from common.settings import ServiceSettings

__all__ = [
    "RATE_LIMITS_KEY",
    "ClientKeys",
    "Limit",
    "RateLimited",
    "RateLimiter",
    "RateLimits",
    "add_rate_limit_responses",
]

RouteClass = Literal["resolve", "publish"]
KeyBy = Literal["peer", "account"]
Renderer = Callable[[web.Request, int], web.StreamResponse]
Clock = Callable[[], float]

_PENALISED: Final = frozenset({401, 403})
_EVICT_PER_INSERT: Final = 2
_SLACK: Final = 1e-9  # seconds: a token due "now" is not refused for a rounding error of the float sums


class RateLimited(ProblemError):
    """429: this client sent more requests than its rate allows; ``Retry-After`` says when to try again."""

    status = 429
    type = "rate-limited"
    title = "Too Many Requests"

    def __init__(self, retry_after: int, route_class: str) -> None:
        super().__init__(
            f"too many {route_class} requests from this client; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


class RateLimiter:
    """Token buckets of one class of routes, keyed by client, at most `max_clients` of them."""

    __slots__ = ("_interval", "_tats", "_tolerance", "burst", "clock", "max_clients", "rate_per_second")

    def __init__(
        self, rate_per_second: float, burst: int, *, max_clients: int, clock: Clock = time.monotonic
    ) -> None:
        if rate_per_second <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("a rate limiter needs rate_per_second > 0, burst >= 1 and max_clients >= 1")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._interval = 1.0 / rate_per_second
        self._tolerance = (burst - 1) * self._interval
        self._tats: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tats)

    def take(self, key: str) -> float:
        """Take a token from `key`'s bucket: 0.0 when there was one, else the seconds until there is."""
        now = self.clock()
        tats = self._tats
        tat = tats.get(key)
        if tat is None:
            self._insert(key, now + self._interval, now)
            return 0.0
        tats.move_to_end(key)  # a refused client stays tracked too: it is the one to remember
        if tat < now:
            tat = now
        wait = tat - self._tolerance - now
        if wait > _SLACK:
            return wait
        tats[key] = tat + self._interval
        return 0.0

    def wait(self, key: str) -> float:
        """The seconds until `key`'s bucket holds a token (0.0: it holds one now); takes nothing."""
        tat = self._tats.get(key)
        if tat is None:
            return 0.0
        wait = tat - self._tolerance - self.clock()
        return wait if wait > _SLACK else 0.0

    def charge(self, key: str, tokens: int = 1) -> None:
        """Take `tokens` from `key`'s bucket whether or not it holds them: a penalty, capped so that the
        client never waits longer than one full refill (burst / rate seconds)."""
        now = self.clock()
        tat = max(self._tats.get(key, now), now) + tokens * self._interval
        tat = min(tat, now + self._tolerance + self.burst * self._interval)
        if key in self._tats:
            self._tats[key] = tat
            self._tats.move_to_end(key)
        else:
            self._insert(key, tat, now)

    def refund(self, key: str) -> None:
        """Give back a token taken from `key` (a request that turned out not to be the client's)."""
        tat = self._tats.get(key)
        if tat is not None:
            self._tats[key] = tat - self._interval

    def _insert(self, key: str, tat: float, now: float) -> None:
        tats = self._tats
        for _ in range(_EVICT_PER_INSERT):
            if not tats:
                break
            coldest = next(iter(tats))
            if tats[coldest] > now and len(tats) < self.max_clients:
                break
            del tats[coldest]  # full (no different from absent), or the table is at capacity
        tats[key] = tat


class ClientKeys:
    """Who a request comes from: its peer address (through trusted proxies), or the account it claims."""

    __slots__ = ("_proxies", "_secret")

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self._proxies = tuple(ipaddress.ip_network(text, strict=False) for text in trusted_proxies)
        # Keyed, so nobody can pick a name whose key collides with someone else's and drain their bucket.
        self._secret = secrets.token_bytes(16)

    def peer(self, request: web.BaseRequest) -> str:
        """The client's address (an IPv6 client's /64), from X-Forwarded-For only behind a trusted proxy."""
        remote = request.remote or ""
        if self._proxies and self._is_proxy(remote):
            remote = self._forwarded_for(request, remote)
        return _block(remote) if ":" in remote else remote

    def account(self, request: web.BaseRequest) -> str | None:
        """A keyed hash of the Basic user name or bearer token the request carries; None without either."""
        header = request.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        scheme = scheme.lower()
        token = token.strip()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(token, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                claim = "basic?" + token  # malformed: the handler answers 401, which the peer pays for
            else:
                # The name is all but the last field: Handle admins (300:88.1/ADMIN) and reviewers
                # (reviewer:name) have colons in theirs.
                claim = "basic:" + decoded.rpartition(":")[0]
        elif scheme == "bearer":
            claim = "bearer:" + token
        else:
            return None  # e.g. `Handle clientCert="true"`: the TLS certificate speaks, keyed by address
        digest = hashlib.blake2b(claim.encode("utf-8"), key=self._secret, digest_size=9).hexdigest()
        return "@" + digest  # '@' appears in no address, so accounts and addresses never share a bucket

    def _is_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._proxies)

    def _forwarded_for(self, request: web.BaseRequest, remote: str) -> str:
        hops = [
            hop.strip() for value in request.headers.getall("X-Forwarded-For", ()) for hop in value.split(",")
        ]
        client = remote
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break  # not an address: nothing further left can be trusted
            client = hop
            if not self._is_proxy(hop):
                break
        return client


def _block(address: str) -> str:
    """An IPv6 address as its /64 (an IPv4-mapped one as the IPv4 address); anything else unchanged."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return address


@dataclass(frozen=True, slots=True)
class Limit:
    """How one route is limited: its class, how its client is known, how a refusal is answered.

    `render(request, retry_after)` builds the 429 of a route that answers errors in its own shape (the
    middleware adds `Retry-After`); `error_schema` names the component schema of that body in the OpenAPI
    document (its media type is application/json), by default problem+json's.
    """

    route_class: RouteClass
    key_by: KeyBy = "peer"
    render: Renderer | None = None
    error_schema: str = "Problem"


_PARAMETER: Final = re.compile(r"\{(\w+)(:[^}]*)?\}")


class RateLimits:
    """The rate limiters of one application and the table of the routes they limit."""

    def __init__(
        self,
        settings: ServiceSettings,
        routes: Mapping[tuple[str, str], Limit],
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.routes: dict[tuple[str, str], Limit] = dict(routes)
        self.limiters: dict[str, RateLimiter] = {}
        size = settings.rate_limit_max_clients
        if settings.rate_limit_resolve_per_second > 0:
            self.limiters["resolve"] = RateLimiter(
                settings.rate_limit_resolve_per_second,
                settings.rate_limit_resolve_burst,
                max_clients=size,
                clock=clock,
            )
        if settings.rate_limit_publish_per_minute > 0:
            self.limiters["publish"] = RateLimiter(
                settings.rate_limit_publish_per_minute / 60.0,
                settings.rate_limit_publish_burst,
                max_clients=size,
                clock=clock,
            )
        self.keys = ClientKeys(settings.trusted_proxies)
        self.exempt_loopback = settings.rate_limit_exempt_loopback
        self._bound: dict[AbstractRoute, tuple[RateLimiter, Limit]] = {}

    def use_clock(self, clock: Clock) -> None:
        """Replace the monotonic clock of every limiter (tests refill buckets without sleeping)."""
        for limiter in self.limiters.values():
            limiter.clock = clock

    def middlewares(self) -> tuple[Middleware, ...]:
        """What to pass as `middlewares=`: nothing at all when every class is off (no cost per request)."""
        return (self._middleware(),) if self.limiters else ()

    def bind(self, app: web.Application) -> None:
        """Map the table onto `app`'s routes (call once every route is added); ValueError for a table entry
        naming no route, so a renamed route cannot silently lose its limit."""
        found: set[tuple[str, str]] = set()
        for route in app.router.routes():
            resource = route.resource
            info = resource.get_info() if resource is not None else {}
            path = info.get("path") or info.get("formatter")
            if path is None:
                continue
            entry = (route.method, _PARAMETER.sub(r"{\1}", path))
            limit = self.routes.get(entry)
            if limit is None:
                continue
            found.add(entry)
            limiter = self.limiters.get(limit.route_class)
            if limiter is not None:
                self._bound[route] = (limiter, limit)
        missing = set(self.routes) - found
        if missing:
            raise ValueError(f"rate limits name routes the app does not have: {sorted(missing)}")
        app[RATE_LIMITS_KEY] = self

    def _middleware(self) -> Middleware:
        bound = self._bound
        keys = self.keys
        exempt_loopback = self.exempt_loopback

        @web.middleware
        async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
            entry = bound.get(request.match_info.route)
            if entry is None or (exempt_loopback and _from_this_host(request)):
                return await handler(request)
            limiter, limit = entry
            peer = keys.peer(request)
            account = keys.account(request) if limit.key_by == "account" else None
            if account is None:
                wait = limiter.take(peer)
                return await handler(request) if wait <= 0 else _refuse(request, limit, wait)
            # An unverified claim: refused while its address is drained, and charged to it when it fails.
            wait = limiter.wait(peer) or limiter.take(account)
            if wait > 0:
                return _refuse(request, limit, wait)
            try:
                response = await handler(request)
            except (ProblemError, web.HTTPException) as exc:
                if exc.status in _PENALISED:
                    _penalise(limiter, peer, account)
                raise
            if response.status in _PENALISED:
                _penalise(limiter, peer, account)
            return response

        return rate_limit


def _penalise(limiter: RateLimiter, peer: str, account: str) -> None:
    # The claim was false (or not allowed): the guesser's address pays, and the account it named gets its
    # token back, so guessing at someone's password cannot lock that someone out.
    limiter.charge(peer)
    limiter.refund(account)


RATE_LIMITS_KEY: Final = web.AppKey("RATE_LIMITS_KEY", RateLimits)
"""The app's :class:`RateLimits`, set by :meth:`RateLimits.bind`."""


def _from_this_host(request: web.BaseRequest) -> bool:
    """A loopback peer that is not a proxy forwarding someone else's request."""
    remote = request.remote or ""
    if not (remote.startswith("127.") or remote == "::1"):
        return False
    headers = request.headers
    return "X-Forwarded-For" not in headers and "Forwarded" not in headers


def _refuse(request: web.Request, limit: Limit, wait: float) -> web.StreamResponse:
    retry_after = max(1, math.ceil(wait))
    if limit.render is None:
        raise RateLimited(retry_after, limit.route_class)
    response = limit.render(request, retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response


def add_rate_limit_responses(document: dict[str, Any], app: web.Application) -> dict[str, Any]:
    """Add the 429 response to every operation of `document` that `app` rate-limits; returns `document`."""
    limits = app.get(RATE_LIMITS_KEY)
    if limits is None:
        return document
    paths = document.get("paths", {})
    for (method, path), limit in sorted(limits.routes.items()):
        limiter = limits.limiters.get(limit.route_class)
        operation = paths.get(path, {}).get(method.lower())
        if limiter is None or operation is None:
            continue
        media_type = PROBLEM_CONTENT_TYPE if limit.render is None else "application/json"
        shape = "problem+json of type rate-limited" if limit.render is None else "responseCode 3"
        operation.setdefault("responses", {})["429"] = {
            "description": (
                f"Too many {limit.route_class} requests from this client ({shape}): at most "
                f"{_rate_text(limiter)}, bursts of {limiter.burst}. Retry after Retry-After seconds."
            ),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before the next request.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "content": {media_type: {"schema": {"$ref": f"#/components/schemas/{limit.error_schema}"}}},
        }
    return document


def _rate_text(limiter: RateLimiter) -> str:
    rate = limiter.rate_per_second
    return f"{rate:g} a second" if rate >= 1 else f"{rate * 60:g} a minute"
