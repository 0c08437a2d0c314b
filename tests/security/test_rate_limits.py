"""Rate limits end to end, on the real node, registry and resolver: a client over its limit gets 429 with
Retry-After (Handle JSON on Handle routes, problem+json elsewhere) and nothing is done for it, another client
is unaffected, tokens come back as the (test's) clock runs, and publishing is limited apart from resolution.

Clients are told apart by X-Forwarded-For with loopback as a trusted proxy, as behind a reverse proxy.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp.test_utils import TestClient

from handle_registry.service.app import create_app as create_registry
from tests.handle_registry.service.support import add_admin, enterprise, settings_for
from tests.node.conftest import ADMIN, activity
from tests.resolver.conftest import Federation
from tests.security.conftest import start_node, use_clock

A = {"X-Forwarded-For": "203.0.113.1"}
B = {"X-Forwarded-For": "203.0.113.2"}
PUT_VALUES = {
    "values": [{"index": 1, "type": "URL", "data": {"format": "string", "value": "https://a.example"}}]
}


def basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


async def handle_json(response: Any, status: int, code: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = dict(await response.json())
    assert body["responseCode"] == code, body
    return body


async def rate_limited(response: Any, retry_after: str = "1") -> dict[str, Any]:
    """Check a 429 problem+json of type rate-limited; its body."""
    assert response.status == 429, await response.text()
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == retry_after
    body = dict(await response.json())
    assert body["type"] == "https://carbonid.org/problems/rate-limited"
    return body


async def post_record(client: TestClient[Any, Any], suffix: str, headers: dict[str, str]) -> Any:
    body = {"template": "activity-data/1", "document": activity(), "suffix": suffix}
    return await client.post("/api/records", json=body, headers=headers)


async def test_node_resolution_is_limited_per_client_in_handle_json(aiohttp_client, node_settings):
    client = await start_node(
        aiohttp_client, node_settings, rate_limit_resolve_per_second=1.0, rate_limit_resolve_burst=3
    )
    clock = use_clock(client.server.app)
    for _ in range(3):
        await handle_json(await client.get("/api/handles/88.186.1/NOPE", headers=A), 404, 100)
    refused = await client.get("/api/handles/88.186.1/NOPE", headers=A)
    body = await handle_json(refused, 429, 3)
    assert refused.headers["Retry-After"] == "1"
    assert "retry after 1 s" in body["message"]
    await handle_json(await client.get("/api/handles?prefix=88.186.1", headers=A), 429, 3)
    await handle_json(await client.get("/api/handles/88.186.1/NOPE", headers=B), 404, 100)
    clock.advance(1.0)
    await handle_json(await client.get("/api/handles/88.186.1/NOPE", headers=A), 404, 100)
    await handle_json(await client.get("/api/handles/88.186.1/NOPE", headers=A), 429, 3)
    # Publishing has buckets of its own: the throttled reader still publishes.
    assert (await post_record(client, "R1", {**ADMIN, **A})).status == 201
    # Routes outside the table are never limited.
    assert (await client.get("/healthz", headers=A)).status == 200


async def test_node_publishing_is_limited_per_account_and_a_refusal_stores_nothing(
    aiohttp_client, node_settings
):
    client = await start_node(
        aiohttp_client, node_settings, rate_limit_publish_per_minute=60.0, rate_limit_publish_burst=2
    )
    clock = use_clock(client.server.app)
    assert (await post_record(client, "R1", {**ADMIN, **A})).status == 201
    assert (await post_record(client, "R2", {**ADMIN, **A})).status == 201
    body = await rate_limited(await post_record(client, "R3", {**ADMIN, **A}))
    assert "publish" in body["detail"]
    # The bucket is the account's, wherever it writes from; a Handle write is refused in Handle JSON.
    await rate_limited(await post_record(client, "R3", {**ADMIN, **B}))
    put = await client.put("/api/handles/88.186.1/H1", json=PUT_VALUES, headers={**ADMIN, **B})
    await handle_json(put, 429, 3)
    assert put.headers["Retry-After"] == "1"
    assert (await client.get("/api/records/88.186.1/R3", headers=ADMIN)).status == 404
    await handle_json(await client.get("/api/handles/88.186.1/H1"), 404, 100)
    # Resolution is a class of its own.
    await handle_json(await client.get("/api/handles/88.186.1/R1", headers=A), 200, 1)
    clock.advance(1.0)
    assert (await post_record(client, "R3", {**ADMIN, **A})).status == 201


async def test_guessing_credentials_drains_the_guessers_address_not_the_account(
    aiohttp_client, node_settings
):
    client = await start_node(
        aiohttp_client, node_settings, rate_limit_publish_per_minute=60.0, rate_limit_publish_burst=3
    )
    use_clock(client.server.app)
    wrong = basic("300%3A88.186.1%2FADMIN", "not the secret")
    assert (await post_record(client, "G1", {**wrong, **A})).status == 401
    # Made-up names buy no fresh buckets: each failure costs the address a token.
    for number in range(2):
        assert (await post_record(client, "G1", {**basic(f"nobody{number}", "x"), **A})).status == 401
    await rate_limited(await post_record(client, "G1", {**basic("somebody-else", "x"), **A}))
    await rate_limited(await post_record(client, "G1", {**ADMIN, **A}))  # even the right secret, from there
    # The account guessed at is not locked out: its tokens were given back.
    for suffix in ("G1", "G2", "G3"):
        assert (await post_record(client, suffix, {**ADMIN, **B})).status == 201


async def test_registry_limits_resolution_and_applications_by_address(aiohttp_client, tmp_path, database_url):
    settings = settings_for(
        tmp_path,
        database_url,
        trusted_proxies=("127.0.0.1",),
        rate_limit_resolve_per_second=2.0,
        rate_limit_resolve_burst=2,
        rate_limit_publish_per_minute=60.0,
        rate_limit_publish_burst=1,
    )
    client = await aiohttp_client(create_registry(settings))
    clock = use_clock(client.server.app)
    admin = await add_admin(client.server.app)
    for _ in range(2):
        await handle_json(await client.get("/api/handles/0.NA/88.9", headers=A), 404, 100)
    refused = await client.get("/api/handles/0.NA/88.9", headers=A)
    await handle_json(refused, 429, 3)
    assert refused.headers["Retry-After"] == "1"
    await handle_json(await client.get("/api/handles/0.NA/88.9", headers=B), 404, 100)
    did = str((await (await client.get("/.well-known/did.json")).json())["id"])
    first, second = enterprise("88.1"), enterprise("88.2")
    applied = await client.post("/api/prefixes", json=first.signed_application(did), headers=A)
    assert applied.status == 201, await applied.text()
    await rate_limited(await client.post("/api/prefixes", json=second.signed_application(did), headers=A))
    listing = await (await client.get("/api/prefixes", headers={**admin, **B})).json()
    assert [item["prefix"] for item in listing["prefixes"]] == ["88.1"]  # the refused one was not stored
    clock.advance(1.0)
    assert (await client.post("/api/prefixes", json=second.signed_application(did), headers=A)).status == 201


async def test_resolver_limits_resolution_certificate_pages_and_notifications(federation: Federation):
    resolver = await federation.start_resolver(
        trusted_proxies=("127.0.0.1",),
        rate_limit_resolve_per_second=1.0,
        rate_limit_resolve_burst=2,
        rate_limit_publish_per_minute=60.0,
        rate_limit_publish_burst=1,
    )
    clock = use_clock(resolver.app)
    session = federation.session
    url = f"{resolver.url}/api/handles/88.200.1/NOPE"
    for _ in range(2):
        async with session.get(url, headers=A) as response:
            await handle_json(response, 404, 100)
    async with session.get(url, headers=A) as response:
        await handle_json(response, 429, 3)
        assert response.headers["Retry-After"] == "1"
    async with session.get(f"{resolver.url}/c/88.100.9/CE.1", headers=A) as response:
        await rate_limited(response)  # certificate pages share the resolution bucket, in problem+json
    async with session.get(url, headers=B) as response:
        await handle_json(response, 404, 100)
    # Notifications are publishing: limited apart, by address.
    async with session.post(f"{resolver.url}/api/notifications", json={}, headers=A) as response:
        assert response.status == 400
    async with session.post(f"{resolver.url}/api/notifications", json={}, headers=A) as response:
        await rate_limited(response)
    clock.advance(1.0)
    async with session.get(url, headers=A) as response:
        await handle_json(response, 404, 100)


async def test_each_service_documents_its_429s(aiohttp_client, node_settings, tmp_path, database_url):
    node = await start_node(aiohttp_client, node_settings)
    registry = await aiohttp_client(create_registry(settings_for(tmp_path / "registry", database_url)))
    for client, handle_route, problem_route in (
        (node, ("/api/handles/{handle}", "get"), ("/api/records", "post")),
        (registry, ("/api/handles/{handle}", "get"), ("/api/prefixes", "post")),
    ):
        paths = (await (await client.get("/openapi.json")).json())["paths"]
        handle_429 = paths[handle_route[0]][handle_route[1]]["responses"]["429"]
        assert handle_429["content"]["application/json"]["schema"]["$ref"].endswith("/HandleError")
        problem_429 = paths[problem_route[0]][problem_route[1]]["responses"]["429"]
        assert "application/problem+json" in problem_429["content"]
        assert "429" not in paths["/healthz"]["get"]["responses"]
