"""The rate limiter: token-bucket answers, refills on a controlled clock, its memory bound, who a client is,
the settings, binding to routes and the OpenAPI 429s."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiohttp import web

from common.ratelimit import (
    RATE_LIMITS_KEY,
    ClientKeys,
    Limit,
    RateLimiter,
    RateLimits,
    _block,
    add_rate_limit_responses,
)
from common.settings import ServiceSettings, SettingsError, load_settings
from common.web import base_openapi, create_service_app


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def allowed(limiter: RateLimiter, key: str, times: int) -> list[bool]:
    return [limiter.take(key) == 0.0 for _ in range(times)]


def test_a_burst_is_allowed_then_refused_with_the_wait_until_the_next_token():
    clock = Clock()
    limiter = RateLimiter(2.0, 5, max_clients=100, clock=clock)
    assert allowed(limiter, "a", 5) == [True] * 5
    assert limiter.take("a") == pytest.approx(0.5)
    clock.advance(0.25)
    assert limiter.take("a") == pytest.approx(0.25)  # a refusal takes nothing
    clock.advance(0.25)
    assert allowed(limiter, "a", 2) == [True, False]


def test_tokens_refill_at_the_rate_up_to_the_burst_and_no_further():
    clock = Clock()
    limiter = RateLimiter(10.0, 3, max_clients=100, clock=clock)
    assert allowed(limiter, "a", 4) == [True, True, True, False]
    clock.advance(0.2)  # two tokens
    assert allowed(limiter, "a", 3) == [True, True, False]
    clock.advance(3600)  # an hour idle still holds only a burst
    assert allowed(limiter, "a", 4) == [True, True, True, False]


def test_clients_have_buckets_of_their_own():
    clock = Clock()
    limiter = RateLimiter(1.0, 2, max_clients=100, clock=clock)
    assert allowed(limiter, "a", 3) == [True, True, False]
    assert allowed(limiter, "b", 2) == [True, True]
    assert limiter.wait("a") > 0
    assert limiter.wait("c") == 0.0


def test_a_burst_of_one_allows_one_request_per_interval():
    clock = Clock()
    limiter = RateLimiter(0.5, 1, max_clients=10, clock=clock)
    assert allowed(limiter, "a", 2) == [True, False]
    assert limiter.take("a") == pytest.approx(2.0)
    clock.advance(2.0)
    assert allowed(limiter, "a", 1) == [True]


def test_a_penalty_empties_the_bucket_but_never_beyond_one_refill():
    clock = Clock()
    limiter = RateLimiter(1.0, 4, max_clients=10, clock=clock)
    limiter.charge("a", 100)
    assert limiter.wait("a") == pytest.approx(4.0)
    clock.advance(4.0)
    assert allowed(limiter, "a", 2) == [True, False]


def test_a_refund_gives_one_token_back():
    clock = Clock()
    limiter = RateLimiter(1.0, 2, max_clients=10, clock=clock)
    assert allowed(limiter, "a", 2) == [True, True]
    limiter.refund("a")
    assert allowed(limiter, "a", 2) == [True, False]


def test_memory_is_bounded_however_many_clients_come():
    clock = Clock()
    limiter = RateLimiter(1.0, 5, max_clients=50, clock=clock)
    for number in range(10_000):
        limiter.take(f"10.0.{number // 256}.{number % 256}")
        assert len(limiter) <= 50
    assert len(limiter) == 50


def test_full_buckets_are_dropped_first_so_the_table_follows_active_clients():
    clock = Clock()
    limiter = RateLimiter(100.0, 5, max_clients=1000, clock=clock)
    for number in range(200):
        limiter.take(f"old-{number}")
    clock.advance(1.0)  # every old bucket is full again: the same as no entry
    for number in range(100):
        limiter.take(f"new-{number}")
    assert len(limiter) == 100  # each insertion dropped two full buckets


def test_an_active_throttled_client_keeps_its_state_while_others_churn():
    clock = Clock()
    limiter = RateLimiter(1.0, 3, max_clients=10, clock=clock)
    assert allowed(limiter, "abuser", 3) == [True] * 3
    for number in range(100):
        limiter.take(f"other-{number}")
        assert limiter.take("abuser") > 0  # each refusal marks it recently used, so it is never evicted


def test_a_limiter_needs_a_positive_rate_and_burst():
    for rate, burst in ((0.0, 1), (-1.0, 1), (1.0, 0)):
        with pytest.raises(ValueError, match="rate_per_second > 0"):
            RateLimiter(rate, burst, max_clients=1)


def test_ipv6_clients_are_grouped_by_their_64_block():
    assert _block("2001:db8:1:2:aaaa::1") == _block("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert _block("2001:db8:1:3::1") != _block("2001:db8:1:2::1")
    assert _block("::ffff:192.0.2.7") == "192.0.2.7"
    assert _block("not an address") == "not an address"


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


async def keys_app(keys: ClientKeys) -> web.Application:
    async def who(request: web.Request) -> web.Response:
        return web.json_response({"peer": keys.peer(request), "account": keys.account(request)})

    app = web.Application()
    app.router.add_get("/who", who)
    return app


async def who(client: Any, **headers: str) -> dict[str, Any]:
    response = await client.get("/who", headers=headers)
    return dict(await response.json())


async def test_x_forwarded_for_is_read_only_from_a_trusted_proxy(aiohttp_client):
    untrusted = await aiohttp_client(await keys_app(ClientKeys()))
    assert (await who(untrusted, **{"X-Forwarded-For": "203.0.113.9"}))["peer"] == "127.0.0.1"
    behind = await aiohttp_client(await keys_app(ClientKeys(["127.0.0.0/8", "10.0.0.0/8"])))
    assert (await who(behind))["peer"] == "127.0.0.1"
    assert (await who(behind, **{"X-Forwarded-For": "203.0.113.9"}))["peer"] == "203.0.113.9"
    # The rightmost address that is not itself a proxy: what the client prepends is not believed.
    spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.1.2.3"}
    assert (await who(behind, **spoofed))["peer"] == "203.0.113.9"
    assert (await who(behind, **{"X-Forwarded-For": "garbage, 203.0.113.9"}))["peer"] == "203.0.113.9"
    assert (await who(behind, **{"X-Forwarded-For": "203.0.113.9, garbage"}))["peer"] == "127.0.0.1"
    ipv6 = {"X-Forwarded-For": "2001:db8:5:6:7::1"}
    assert (await who(behind, **ipv6))["peer"] == "2001:db8:5:6::/64"


async def test_accounts_are_keyed_hashes_of_the_claimed_name(aiohttp_client):
    keys = ClientKeys()
    client = await aiohttp_client(await keys_app(keys))
    admin = (await who(client, Authorization=basic("300:88.186.1/ADMIN", "one")))["account"]
    assert admin == (await who(client, Authorization=basic("300:88.186.1/ADMIN", "two")))["account"]
    reviewer = (await who(client, Authorization=basic("reviewer:ann", "s")))["account"]
    other = (await who(client, Authorization=basic("reviewer:bob", "s")))["account"]
    bearer = (await who(client, Authorization="Bearer tok-123"))["account"]
    assert len({admin, reviewer, other, bearer}) == 4
    for account in (admin, reviewer, other, bearer):
        assert account.startswith("@")
        assert "ADMIN" not in account
        assert "ann" not in account
    assert (await who(client, Authorization="Basic ***"))["account"].startswith("@")  # malformed still counts
    assert (await who(client, Authorization='Handle clientCert="true"'))["account"] is None
    assert (await who(client))["account"] is None
    # Keyed per process: nobody can choose a name that collides with someone else's bucket.
    again = await aiohttp_client(await keys_app(ClientKeys()))
    assert (await who(again, Authorization=basic("300:88.186.1/ADMIN", "one")))["account"] != admin


def test_the_settings_have_documented_defaults_and_are_validated():
    settings = ServiceSettings()
    assert (settings.rate_limit_resolve_per_second, settings.rate_limit_resolve_burst) == (200.0, 400)
    assert (settings.rate_limit_publish_per_minute, settings.rate_limit_publish_burst) == (120.0, 60)
    assert settings.trusted_proxies == ()
    env = {"CARBONID_TRUSTED_PROXIES": "10.0.0.0/8, ::1", "CARBONID_RATE_LIMIT_RESOLVE_PER_SECOND": "0"}
    loaded = load_settings(ServiceSettings, path=None, env=env)
    assert loaded.trusted_proxies == ("10.0.0.0/8", "::1")
    assert loaded.rate_limit_resolve_per_second == 0.0
    for name, value in (
        ("CARBONID_TRUSTED_PROXIES", "10.0.0.0/8,proxy.example"),
        ("CARBONID_RATE_LIMIT_PUBLISH_BURST", "0"),
        ("CARBONID_RATE_LIMIT_RESOLVE_PER_SECOND", "-1"),
    ):
        with pytest.raises(SettingsError, match=name):
            load_settings(ServiceSettings, path=None, env={name: value})


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def limited_app(routes: dict[tuple[str, str], Limit], **settings: Any) -> tuple[web.Application, RateLimits]:
    service_settings = ServiceSettings(**settings)
    limits = RateLimits(service_settings, routes)
    app = create_service_app(
        service_settings,
        name="test",
        openapi=lambda app: add_rate_limit_responses(
            base_openapi("Test", "1", "A test service.")
            | {
                "paths": {
                    "/things/{id}": {"get": {"responses": {}}, "post": {"responses": {}}},
                    "/free": {"get": {"responses": {}}},
                }
            },
            app,
        ),
        contexts={},
        middlewares=limits.middlewares(),
    )
    app.router.add_get("/things/{id:.+}", hello)
    app.router.add_post("/things/{id:.+}", hello)
    app.router.add_get("/free", hello)
    limits.bind(app)
    return app, limits


ROUTES = {("GET", "/things/{id}"): Limit("resolve"), ("POST", "/things/{id}"): Limit("publish")}


async def test_only_listed_routes_are_limited_and_refusals_are_problems(aiohttp_client):
    app, limits = limited_app(
        ROUTES, rate_limit_resolve_per_second=1, rate_limit_resolve_burst=2, rate_limit_exempt_loopback=False
    )
    clock = Clock()
    limits.use_clock(clock)
    client = await aiohttp_client(app)
    assert [(await client.get("/things/x")).status for _ in range(3)] == [200, 200, 429]
    refused = await client.get("/things/y")
    assert refused.headers["Retry-After"] == "1"
    assert refused.content_type == "application/problem+json"
    body = await refused.json()
    assert body["type"] == "https://carbonid.org/problems/rate-limited"
    assert (body["status"], body["retry_after"]) == (429, 1)
    assert "request_id" in body
    assert [(await client.get("/free")).status for _ in range(5)] == [200] * 5
    assert (await client.post("/things/x")).status == 200  # publishing has buckets of its own
    clock.advance(1.0)
    assert (await client.get("/things/x")).status == 200
    assert app[RATE_LIMITS_KEY] is limits


async def test_this_host_is_exempt_unless_a_proxy_forwarded_the_request(aiohttp_client):
    app, limits = limited_app(ROUTES, rate_limit_resolve_per_second=1, rate_limit_resolve_burst=1)
    clock = Clock()
    limits.use_clock(clock)
    client = await aiohttp_client(app)
    assert [(await client.get("/things/x")).status for _ in range(5)] == [200] * 5
    # A proxy on this host that is not trusted: what it forwards is limited, all by its address.
    for headers in ({"X-Forwarded-For": "203.0.113.1"}, {"Forwarded": "for=203.0.113.2"}):
        clock.advance(10.0)
        assert (await client.get("/things/x", headers=headers)).status == 200
        assert (await client.get("/things/x", headers={"X-Forwarded-For": "203.0.113.3"})).status == 429


def test_a_rate_of_zero_adds_no_middleware_at_all():
    limits = RateLimits(
        ServiceSettings(rate_limit_resolve_per_second=0, rate_limit_publish_per_minute=0), ROUTES
    )
    assert limits.middlewares() == ()
    assert RateLimits(ServiceSettings(rate_limit_publish_per_minute=0), ROUTES).middlewares() != ()


def test_a_table_naming_a_missing_route_is_refused():
    with pytest.raises(ValueError, match="/nothing"):
        limited_app({**ROUTES, ("GET", "/nothing"): Limit("resolve")})


async def test_the_openapi_document_names_the_429_of_enabled_limits_only(aiohttp_client):
    app, _ = limited_app(ROUTES, rate_limit_publish_per_minute=0)
    client = await aiohttp_client(app)
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    refused = paths["/things/{id}"]["get"]["responses"]["429"]
    assert "200 a second" in refused["description"]
    assert "bursts of 400" in refused["description"]
    assert refused["headers"]["Retry-After"]["schema"]["type"] == "integer"
    schema = refused["content"]["application/problem+json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Problem"}
    assert "429" not in paths["/things/{id}"]["post"]["responses"]  # publishing is off here
    assert "429" not in paths["/free"]["get"]["responses"]
