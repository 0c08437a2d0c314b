"""Hostile input on the real node, registry and resolver: bodies over the size limit, JSON built to hurt the
parser, path traversal in handles, and SQL in filters and query parameters. Each gets a 4xx in the shape of
the route (Handle JSON on Handle routes, problem+json elsewhere), never a 500, and changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from handle_registry.service.app import create_app as create_registry
from resolver.certificates import ensure_operator
from resolver.keys import CERTIFICATES_KEY
from tests.handle_registry.service.support import add_admin, basic, enterprise, settings_for
from tests.node.conftest import ADMIN, activity
from tests.resolver.conftest import Federation
from tests.security.conftest import start_node

JSON_HEADERS = {"Content-Type": "application/json"}
DEEP = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000


def malformed_json(valid: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Bodies that break a naive parser: name → (body, the problem type expected)."""
    text = json.dumps(valid)
    member = text[1:-1]
    return {
        "10 000 deep array": (DEEP, "json-too-deep"),
        "10 000 deep object": (DEEP_OBJECT, "json-too-deep"),
        "deep inside a valid body": ('{"deep": ' + DEEP + ", " + member + "}", "json-too-deep"),
        "a 5000-digit integer": ('{"n": ' + "9" * 5000 + ", " + member + "}", "invalid-json"),
        "a number that overflows to infinity": ('{"n": 1e999, ' + member + "}", "invalid-json"),
        "minus infinity by overflow": ('{"n": -1e999, ' + member + "}", "invalid-json"),
        "NaN": ('{"n": NaN, ' + member + "}", "invalid-json"),
        "Infinity": ('{"n": Infinity, ' + member + "}", "invalid-json"),
        "a duplicate member": (text[:-1] + ", " + member + "}", "invalid-json"),
    }


async def problem(response: Any, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body = dict(await response.json())
    assert body["type"] == f"https://carbonid.org/problems/{problem_type}", body
    return body


# --------------------------------------------------------------------------------------------------------------
# Body size


async def test_bodies_over_the_limit_are_413_and_store_nothing(
    aiohttp_client, node_settings, tmp_path, database_url
):
    node = await start_node(aiohttp_client, node_settings, max_body_bytes=2048)
    document = activity() | {"notes": "x" * 4096}
    big = {"template": "activity-data/1", "document": document, "suffix": "BIG"}
    body = await problem(await node.post("/api/records", json=big, headers=ADMIN), 413, "content-too-large")
    assert "2048" in body["detail"]
    put = await node.put(
        "/api/handles/88.186.1/BIG",
        json={"values": [{"index": 1, "type": "URL", "data": {"format": "string", "value": "x" * 4096}}]},
        headers=ADMIN,
    )
    assert put.status == 413
    assert (await put.json())["responseCode"] == 4
    assert (await node.get("/api/records/88.186.1/BIG", headers=ADMIN)).status == 404
    assert (await (await node.get("/api/handles/88.186.1/BIG")).json())["responseCode"] == 100

    registry = await aiohttp_client(
        create_registry(settings_for(tmp_path, database_url, max_body_bytes=2048))
    )
    admin = await add_admin(registry.server.app)
    did = str((await (await registry.get("/.well-known/did.json")).json())["id"])
    company = enterprise("88.7")
    application = company.sign(company.application(serviceUrl="https://127.0.0.1:18443/" + "x" * 3000), did)
    await problem(await registry.post("/api/prefixes", json=application), 413, "content-too-large")
    listing = await (await registry.get("/api/prefixes", headers=admin)).json()
    assert listing["prefixes"] == []


async def test_resolver_bodies_over_the_limit_are_413(federation: Federation):
    resolver = await federation.start_resolver(max_body_bytes=2048)
    await ensure_operator(
        resolver.app[CERTIFICATES_KEY].store, "auditor", "auditor secret", at=datetime.now(UTC)
    )
    operator = basic("auditor", "auditor secret")
    padding = {"prefix": "88.200.1", "period": "2025", "padding": "x" * 4096}
    async with federation.session.post(
        f"{resolver.url}/api/evaluations", json=padding, headers=operator
    ) as response:
        await problem(response, 413, "content-too-large")
    async with federation.session.post(f"{resolver.url}/api/notifications", json=padding) as response:
        await problem(response, 413, "content-too-large")
    async with federation.session.get(f"{resolver.url}/api/evaluations", headers=operator) as response:
        assert response.status == 200
        assert (await response.json())["certificates"] == []


# --------------------------------------------------------------------------------------------------------------
# JSON built to hurt


async def test_node_refuses_hostile_json_in_problem_json_and_handle_json(aiohttp_client, node_settings):
    node = await start_node(aiohttp_client, node_settings)
    valid = {"template": "activity-data/1", "document": activity(), "suffix": "J"}
    for name, (body, problem_type) in malformed_json(valid).items():
        response = await node.post("/api/records", data=body, headers={**ADMIN, **JSON_HEADERS})
        assert response.status == 400, name
        await problem(response, 400, problem_type)
    values = {
        "values": [{"index": 1, "type": "URL", "data": {"format": "string", "value": "https://a.example"}}]
    }
    for name, (body, _) in malformed_json(values).items():
        response = await node.put("/api/handles/88.186.1/J", data=body, headers={**ADMIN, **JSON_HEADERS})
        assert response.status == 400, (name, await response.text())
        assert (await response.json())["responseCode"] == 4, name
    for body, problem_type in malformed_json({"filter": {"and": []}}).values():
        response = await node.post("/api/forms/search", data=body, headers={**ADMIN, **JSON_HEADERS})
        await problem(response, 400, problem_type)
    # In a query parameter: as deep as the request line allows.
    deep_filter = await node.get(
        URL("/api/forms?filter=" + "[" * 4000 + "]" * 4000, encoded=True), headers=ADMIN
    )
    assert deep_filter.status == 400, await deep_filter.text()
    assert (await node.get("/api/records/88.186.1/J", headers=ADMIN)).status == 404
    assert (await (await node.get("/api/handles/88.186.1/J")).json())["responseCode"] == 100


async def test_registry_refuses_hostile_json(aiohttp_client, tmp_path, database_url):
    registry = await aiohttp_client(create_registry(settings_for(tmp_path, database_url)))
    admin = await add_admin(registry.server.app)
    did = str((await (await registry.get("/.well-known/did.json")).json())["id"])
    company = enterprise("88.7")
    for name, (body, problem_type) in malformed_json(company.signed_application(did)).items():
        response = await registry.post("/api/prefixes", data=body, headers=JSON_HEADERS)
        assert response.status == 400, name
        await problem(response, 400, problem_type)
    assert (await (await registry.get("/api/prefixes", headers=admin)).json())["prefixes"] == []


async def test_resolver_refuses_hostile_json(federation: Federation):
    resolver = await federation.start_resolver()
    await ensure_operator(
        resolver.app[CERTIFICATES_KEY].store, "auditor", "auditor secret", at=datetime.now(UTC)
    )
    operator = basic("auditor", "auditor secret")
    for path, headers in (("/api/notifications", {}), ("/api/evaluations", operator)):
        for name, (body, problem_type) in malformed_json({"prefix": "88.200.1", "period": "2025"}).items():
            async with federation.session.post(
                f"{resolver.url}{path}", data=body, headers={**headers, **JSON_HEADERS}
            ) as response:
                assert response.status == 400, (path, name)
                await problem(response, 400, problem_type)


# --------------------------------------------------------------------------------------------------------------
# Path traversal in handles


def traversals(prefix: str) -> list[str]:
    """Raw request paths after /api/handles/ that try to leave it or smuggle bytes in."""
    return [
        "../../../../etc/passwd",
        f"{prefix}/../../../../etc/passwd",
        "0.NA/../..",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"{prefix}/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"{prefix}%2f..%2f..%2fetc%2fpasswd",
        f"0.NA%2f{prefix}%2f..%2f..",
        "%252e%252e%252fetc%252fpasswd",
        f"{prefix}/%00",
        f"{prefix}/passwd%00.json",
        f"{prefix}/..%5c..%5c..%5cwindows%5cwin.ini",
        f"{prefix}\\..\\..\\etc\\passwd",
        "..%5c..%5cetc%5cpasswd",
        f"{prefix}/" + "a" * 300,
        f"{prefix}/" + "%C3%A9" * 130,  # 130 characters, 260 bytes
        f"{prefix}/%01%1f%7f",
        f"{prefix}/%0d%0aSet-Cookie:%20x=1",
        f"{prefix}/%ff%fe",
        "%00/x",
    ]


async def check_traversal(get: Any, raw: str) -> None:
    status, content_type, text = await get(raw)
    assert status in (400, 404), (raw, status, text)
    assert "root:" not in text, raw
    assert "[fonts]" not in text, raw
    if content_type == "application/json":  # a Handle route answered: in Handle JSON
        assert json.loads(text)["responseCode"] in (4, 100, 102), (raw, text)
    else:  # the path left /api/handles/ once its dot segments were removed (RFC 3986): no route there
        assert content_type in ("application/problem+json", "text/plain"), (raw, content_type)


def traversed(paths: list[str]) -> list[str]:
    """The opened paths a traversal would have reached."""
    return [path for path in paths if "passwd" in path or "win.ini" in path or ".." in path]


def client_getter(client: TestClient[Any, Any]) -> Any:
    async def get(raw: str) -> tuple[int, str, str]:
        response = await client.get(URL(f"/api/handles/{raw}", encoded=True))
        return response.status, response.content_type, await response.text()

    return get


async def test_traversal_in_handles_on_node_and_registry(
    aiohttp_client, node_settings, tmp_path, database_url, opened_files
):
    node = await start_node(aiohttp_client, node_settings)
    registry = await aiohttp_client(create_registry(settings_for(tmp_path, database_url)))
    for client, prefix in ((node, "88.186.1"), (registry, "0.NA")):
        for raw in traversals(prefix):
            await check_traversal(client_getter(client), raw)
    for raw in ("../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e"):
        for path in (f"/api/records/{raw}", f"/api/contexts/{raw}", f"/api/forms/{raw}"):
            response = await node.get(URL(path, encoded=True), headers=ADMIN)
            assert response.status in (400, 404), (path, response.status)
    assert traversed(opened_files) == []


async def test_traversal_in_handles_on_the_resolver(federation: Federation, opened_files):
    resolver = await federation.start_resolver()

    async def get(raw: str) -> tuple[int, str, str]:
        async with federation.session.get(URL(f"{resolver.url}/api/handles/{raw}", encoded=True)) as response:
            return response.status, response.content_type, await response.text()

    for raw in traversals("88.200.1"):
        await check_traversal(get, raw)
    for raw in ("../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "88.100.9%2f..%2f..%2fetc%2fpasswd.png"):
        async with federation.session.get(URL(f"{resolver.url}/c/{raw}", encoded=True)) as response:
            assert response.status in (400, 404), (raw, response.status)
    assert traversed(opened_files) == []


# --------------------------------------------------------------------------------------------------------------
# SQL in filters and query parameters

SQL = [
    "x' OR '1'='1",
    "'; DROP TABLE handles; --",
    "1 UNION SELECT name FROM sqlite_master",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "*",
]


async def test_sql_in_node_query_parameters_is_data(aiohttp_client, node_settings):
    node = await start_node(aiohttp_client, node_settings)
    for suffix in ("ACT.2025", "ACT.2024"):
        body = {"template": "activity-data/1", "document": activity(suffix[4:]), "suffix": suffix}
        assert (await node.post("/api/records", json=body, headers=ADMIN)).status == 201
    listing = await (await node.get("/api/handles?prefix=88.186.1")).json()
    records = await (await node.get("/api/records", headers=ADMIN)).json()
    for value in SQL:
        for prefix in (value, f"88.186.1{value}", f"0.NA/88.186.1{value}"):
            response = await node.get("/api/handles", params={"prefix": prefix})
            assert response.status == 400, (prefix, response.status)
            # Invalid, or a well-formed prefix this node is not responsible for: either way, no listing.
            assert (await response.json())["responseCode"] in (102, 301), prefix
        for name in ("template", "period"):
            response = await node.get("/api/records", params={name: value}, headers=ADMIN)
            assert response.status in (200, 400), (name, value)
            if response.status == 200:
                assert (await response.json())["records"] == [], (name, value)
        for name in ("q", "tag", "state"):
            response = await node.get("/api/forms", params={name: value}, headers=ADMIN)
            assert response.status in (200, 400), (name, value)
            if response.status == 200:
                assert (await response.json())["forms"] == [], (name, value)
    assert await (await node.get("/api/handles?prefix=88.186.1")).json() == listing
    assert await (await node.get("/api/records", headers=ADMIN)).json() == records


async def test_sql_in_registry_query_parameters_is_data(aiohttp_client, tmp_path, database_url):
    registry = await aiohttp_client(create_registry(settings_for(tmp_path, database_url)))
    admin = await add_admin(registry.server.app)
    did = str((await (await registry.get("/.well-known/did.json")).json())["id"])
    assert (
        await registry.post("/api/prefixes", json=enterprise("88.7").signed_application(did))
    ).status == 201
    before = await (await registry.get("/api/prefixes", headers=admin)).json()
    assert before["totalCount"] == 1
    for value in SQL:
        response = await registry.get("/api/handles", params={"prefix": value})
        assert response.status in (200, 400), (value, response.status)
        answer = await response.json()
        if response.status == 200:  # a prefix other than 0.NA holds no handles here, as on a Handle server
            assert (int(answer["totalCount"]), answer["handles"]) == (0, []), value
        for name in ("region", "industry", "status", "kind"):
            response = await registry.get("/api/prefixes", params={name: value}, headers=admin)
            assert response.status in (200, 400), (name, value, response.status)
            if response.status == 200:
                assert (await response.json())["prefixes"] == [], (name, value)
    assert await (await registry.get("/api/prefixes", headers=admin)).json() == before


@pytest.mark.parametrize("value", SQL)
async def test_sql_in_regional_queries_is_data(federation: Federation, value: str):
    resolver = await federation.start_resolver()
    session = federation.session
    code = quote(value, safe="")
    async with session.get(
        URL(f"{resolver.url}/api/regions/{code}/efficiency?period=2025", encoded=True)
    ) as response:
        assert response.status in (400, 404), (value, response.status)
        assert response.content_type == "application/problem+json"
    for name in ("industry", "level", "period", "trend"):
        params = {"period": "2025", name: value}
        async with session.get(f"{resolver.url}/api/regions/330522/efficiency", params=params) as response:
            assert response.status in (200, 400, 404), (name, value, response.status)
            if response.status == 200:
                body = await response.json()
                assert body.get("enterprises", []) == [], (name, value)
