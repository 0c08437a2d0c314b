"""The node's Handle REST API, request by request, against what the Handle.Net server v9 answers."""

from __future__ import annotations

import base64
import json

import pytest
from yarl import URL

from tests.node.conftest import ADMIN, ADMIN_USER, PREFIX, SECRET, activity, basic, dumps, publish

JSON = {"Content-Type": "application/json"}
WRITE = {**ADMIN, **JSON}


def value(index, type_, data, **extra):
    return {"index": index, "type": type_, "data": data, **extra}


async def create(client, handle, values, *, query="overwrite=false", expect=201):
    response = await client.put(
        f"/api/handles/{handle}?{query}", data=dumps({"values": values}), headers=WRITE
    )
    body = await response.json()
    assert response.status == expect, body
    return body


async def resolve(client, path, headers=None):
    response = await client.get(f"/api/handles/{path}", headers=headers or {})
    return response.status, await response.json(content_type=None)


async def test_admin_handle_is_public_but_its_secret_is_not(client):
    status, body = await resolve(client, f"{PREFIX}/ADMIN")
    assert status == 200
    assert body["responseCode"] == 1
    assert body["handle"] == f"{PREFIX}/ADMIN"
    assert [(v["index"], v["type"]) for v in body["values"]] == [(100, "HS_ADMIN")]
    assert body["values"][0]["data"] == {
        "format": "admin",
        "value": {"handle": f"0.NA/{PREFIX}", "index": 200, "permissions": "011111110011"},
    }
    # Asking for the secret by index or type: the value is not public, so nothing passes the filter.
    for query in ("index=300", "type=HS_SECKEY"):
        status, body = await resolve(client, f"{PREFIX}/ADMIN?{query}")
        assert (status, body["responseCode"], body["values"]) == (200, 200, [])
    # Asking for non-public values without authenticating is "authentication needed".
    status, body = await resolve(client, f"{PREFIX}/ADMIN?publicOnly=false")
    assert (status, body["responseCode"]) == (401, 402)
    # The administrator sees it: a salted hash, never the secret, marked not public.
    status, body = await resolve(client, f"{PREFIX}/ADMIN?index=300", ADMIN)
    (seckey,) = body["values"]
    assert seckey["type"] == "HS_SECKEY"
    assert seckey["permissions"] == "1100"
    assert seckey["data"]["value"].startswith("scrypt$")
    assert SECRET not in json.dumps(body)


async def test_create_resolve_modify_delete(client):
    handle = f"{PREFIX}/TEST.1"
    body = await create(
        client, handle, [value(1, "URL", "https://example.com/a"), value(2, "EMAIL", "a@example.com")]
    )
    assert body == {"responseCode": 1, "handle": handle}
    again = await client.put(
        f"/api/handles/{handle}?overwrite=false", data=dumps([value(1, "URL", "x")]), headers=WRITE
    )
    assert again.status == 409
    assert (await again.json())["responseCode"] == 101

    status, body = await resolve(client, handle)
    assert status == 200
    assert [(v["index"], v["type"]) for v in body["values"]] == [(1, "URL"), (2, "EMAIL"), (100, "HS_ADMIN")]
    assert list(body["values"][0]) == ["index", "type", "data", "ttl", "timestamp"]
    assert body["values"][0]["data"] == {"format": "string", "value": "https://example.com/a"}

    # index= adds or replaces those values only; the body is one bare value, data a bare string.
    response = await client.put(
        f"/api/handles/{handle}?index=1&index=3",
        data=dumps([value(1, "URL", "https://example.com/b"), value("3", "NOTE", "n")]),
        headers=WRITE,
    )
    assert response.status == 200
    assert await response.json() == {"responseCode": 1, "handle": handle}
    _, body = await resolve(client, handle)
    assert {v["index"]: v["data"]["value"] for v in body["values"] if v["index"] != 100} == {
        1: "https://example.com/b",
        2: "a@example.com",
        3: "n",
    }
    # overwrite=false refuses an index that exists (code 201), and the query must name the body's indexes.
    clash = await client.put(
        f"/api/handles/{handle}?index=2&overwrite=false", data=dumps(value(2, "EMAIL", "b")), headers=WRITE
    )
    assert (clash.status, (await clash.json())["responseCode"]) == (409, 201)
    mismatch = await client.put(
        f"/api/handles/{handle}?index=4", data=dumps(value(5, "X", "y")), headers=WRITE
    )
    assert (mismatch.status, (await mismatch.json())["responseCode"]) == (400, 4)

    removed = await client.delete(f"/api/handles/{handle}?index=3", headers=ADMIN)
    assert (removed.status, await removed.json()) == (200, {"responseCode": 1, "handle": handle})
    missing = await client.delete(f"/api/handles/{handle}?index=3", headers=ADMIN)
    assert (missing.status, (await missing.json())["responseCode"]) == (400, 200)

    gone = await client.delete(f"/api/handles/{handle}", headers=ADMIN)
    assert gone.status == 200
    status, body = await resolve(client, handle)
    assert (status, body["responseCode"], body["handle"]) == (404, 100, handle)
    again = await client.delete(f"/api/handles/{handle}", headers=ADMIN)
    assert (again.status, (await again.json())["responseCode"]) == (404, 100)


async def test_put_body_forms_and_default_overwrite(client):
    handle = f"{PREFIX}/FORMS"
    # Default overwrite=true: 200 even though the handle is new.
    one = await client.put(f"/api/handles/{handle}", data=dumps(value(1, "URL", "u")), headers=WRITE)
    assert (one.status, await one.json()) == (200, {"responseCode": 1, "handle": handle})
    array = await client.put(
        f"/api/handles/{handle}",
        data=dumps([value(2, "X", {"format": "hex", "value": "414243"})]),
        headers=WRITE,
    )
    assert array.status == 200
    _, body = await resolve(client, handle)
    # Replaced wholly; hex text is served back as the server would: a string.
    assert [(v["index"], v["data"]) for v in body["values"]] == [
        (2, {"format": "string", "value": "ABC"}),
        (100, body["values"][1]["data"]),
    ]
    wrong = await client.put(
        f"/api/handles/{handle}", data=dumps({"handle": f"{PREFIX}/OTHER", "values": []}), headers=WRITE
    )
    assert (wrong.status, (await wrong.json())["responseCode"]) == (400, 4)
    bad = await client.put(f"/api/handles/{handle}", data="{not json", headers=WRITE)
    assert (bad.status, (await bad.json())["responseCode"]) == (400, 4)
    shapeless = await client.put(f"/api/handles/{handle}", data=dumps({"x": 1}), headers=WRITE)
    assert (shapeless.status, (await shapeless.json())["responseCode"]) == (400, 4)


async def test_non_json_content_type_is_code_4(client):
    response = await client.put(
        f"/api/handles/{PREFIX}/CT",
        data=dumps([value(1, "URL", "u")]),
        headers={**ADMIN, "Content-Type": "text/plain"},
    )
    assert response.status == 400
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["responseCode"] == 4
    assert "media type" in body["message"]


async def test_oversized_put_is_413_in_handle_json(aiohttp_client, node_settings):
    from dataclasses import replace

    from node.app import create_app
    from node.runtime import initialise_node

    settings = replace(node_settings, max_body_bytes=2048)
    await initialise_node(settings, SECRET)
    client = await aiohttp_client(create_app(settings))
    response = await client.put(
        f"/api/handles/{PREFIX}/BIG", data=dumps([value(1, "URL", "x" * 5000)]), headers=WRITE
    )
    assert response.status == 413
    assert response.content_type == "application/json"
    assert (await response.json())["responseCode"] == 4
    records = await client.post("/api/records", data="x" * 5000, headers=WRITE)
    assert records.status == 413
    assert records.content_type == "application/problem+json"


async def test_mint_new_suffix(client):
    response = await client.put(
        f"/api/handles/{PREFIX}/?overwrite=false&mintNewSuffix=true",
        data=dumps([value(1, "URL", "u")]),
        headers=WRITE,
    )
    body = await response.json()
    assert response.status == 201
    minted = body["handle"]
    assert minted.startswith(f"{PREFIX}/")
    assert len(minted) > len(PREFIX) + 1
    status, resolved = await resolve(client, minted)
    assert (status, resolved["handle"], resolved["values"][0]["data"]["value"]) == (200, minted, "u")
    started = await client.put(
        f"/api/handles/{PREFIX}/DOC.?mintNewSuffix=true", data=dumps([value(1, "URL", "v")]), headers=WRITE
    )
    assert (await started.json())["handle"].startswith(f"{PREFIX}/DOC.")
    elsewhere = await client.put("/api/handles/88.186.9/?mintNewSuffix=true", data=dumps([]), headers=WRITE)
    assert (elsewhere.status, (await elsewhere.json())["responseCode"]) == (400, 301)
    too_long = await client.put(
        f"/api/handles/{PREFIX}/{'x' * 250}?mintNewSuffix=true", data=dumps([]), headers=WRITE
    )
    assert (too_long.status, (await too_long.json())["responseCode"]) == (400, 102)


async def test_type_and_index_filters(client):
    handle = f"{PREFIX}/FILTER"
    await create(
        client,
        handle,
        [value(1, "URL", "a"), value(2, "URL.jp", "b"), value(3, "EMAIL", "c"), value(4, "url", "d")],
    )

    async def selected(query):
        _, body = await resolve(client, f"{handle}?{query}")
        return sorted(v["index"] for v in body["values"])

    assert await selected("type=URL") == [1, 4]  # exact, ASCII case-insensitive
    assert await selected("type=URL.") == [1, 2, 4]  # the family, and the parent itself
    assert await selected("type=URL.jp") == [2]
    assert await selected("type=EMAIL&index=1") == [1, 3]  # any type OR any index
    assert await selected("index=4&index=100") == [4, 100]
    status, body = await resolve(client, f"{handle}?type=NOTHING")
    assert (status, body["responseCode"], body["values"]) == (200, 200, [])
    status, body = await resolve(client, f"{handle}?index=one")
    assert (status, body["responseCode"]) == (400, 4)
    pretty = await client.get(f"/api/handles/{handle}?index=1&pretty")
    assert (await pretty.text()).startswith('{\n  "responseCode": 1,')


async def test_handles_are_echoed_as_written_and_compared_case_insensitively(client):
    await create(client, f"{PREFIX}/MiXeD", [value(1, "URL", "u")])
    status, body = await resolve(client, f"{PREFIX}/mixed")
    assert (status, body["handle"]) == (200, f"{PREFIX}/mixed")
    # The path is percent-decoded once: %2F is part of the suffix, + stays +.
    await create(client, f"{PREFIX}/a%2Fb+c", [value(1, "URL", "slash")])
    status, body = await resolve(client, f"{PREFIX}/A/B+C")
    assert (status, body["values"][0]["data"]["value"]) == (200, "slash")


async def test_list_handles_with_paging(client):
    for name in ("L1", "L2", "L3"):
        await create(client, f"{PREFIX}/{name}", [value(1, "URL", name)])
    response = await client.get(f"/api/handles?prefix={PREFIX}")
    body = await response.json()
    assert body == {
        "responseCode": 1,
        "prefix": PREFIX,
        "totalCount": "4",
        "handles": [f"{PREFIX}/ADMIN", f"{PREFIX}/L1", f"{PREFIX}/L2", f"{PREFIX}/L3"],
    }
    page = await (await client.get(f"/api/handles?prefix=0.NA/{PREFIX}&page=1&pageSize=2")).json()
    assert page["prefix"] == f"0.NA/{PREFIX}"
    assert (page["totalCount"], page["page"], page["pageSize"], page["handles"]) == (
        "4",
        1,
        2,
        [f"{PREFIX}/L2", f"{PREFIX}/L3"],
    )
    count = await (await client.get(f"/api/handles?prefix={PREFIX}&page=0&pageSize=0")).json()
    assert (count["totalCount"], count["handles"]) == ("4", [])
    unpaged = await (await client.get(f"/api/handles?prefix={PREFIX}&page=-1&pageSize=2")).json()
    assert "page" not in unpaged
    assert len(unpaged["handles"]) == 4
    empty = await client.get("/api/handles")
    assert (empty.status, (await empty.json())["responseCode"]) == (400, 102)
    bad = await client.get(f"/api/handles?prefix={PREFIX}&page=x&pageSize=1")
    assert (bad.status, (await bad.json())["responseCode"]) == (400, 4)


async def test_other_prefixes_do_not_live_here(client):
    for path in ("88.186.9/X", "88.186.1.2/X", "88.186.1"):
        status, body = await resolve(client, path)
        assert (status, body["responseCode"], body["message"], body["handle"]) == (
            400,
            301,
            "That prefix doesn't live here",
            path,
        )
    response = await client.put("/api/handles/88.186.9/X", data=dumps([value(1, "URL", "u")]), headers=WRITE)
    assert (response.status, (await response.json())["responseCode"]) == (400, 301)
    listing = await client.get("/api/handles?prefix=88.186.9")
    assert (listing.status, (await listing.json())["responseCode"]) == (400, 301)
    # A bad escape (sent as written, not re-encoded by the client) is an invalid handle.
    response = await client.get(URL(f"/api/handles/{PREFIX}/bad%ZZ", encoded=True))
    assert (response.status, (await response.json())["responseCode"]) == (400, 102)
    status, body = await resolve(client, "")
    assert (status, body["responseCode"]) == (400, 102)


async def test_authentication(client):
    handle = f"{PREFIX}/AUTH"
    values = dumps([value(1, "URL", "u")])
    # No credentials: Handle code 402, HTTP 401, JSON.
    response = await client.put(f"/api/handles/{handle}", data=values, headers=JSON)
    assert response.status == 401
    assert (await response.json())["responseCode"] == 402
    deletion = await client.delete(f"/api/handles/{PREFIX}/ADMIN")
    assert (deletion.status, (await deletion.json())["responseCode"]) == (401, 402)
    # Wrong credentials: 401 with an empty body and the server's challenges.
    for header in (
        basic(ADMIN_USER, "wrong"),
        basic(f"300:{PREFIX}/OTHER", SECRET),
        basic(f"301:{PREFIX}/ADMIN", SECRET),
        "Basic " + base64.b64encode(f"{ADMIN_USER}:{SECRET}".encode()).decode(),  # colon not percent-encoded
        "Basic not-base64!",
        "Bearer token",
    ):
        response = await client.put(
            f"/api/handles/{handle}", data=values, headers={"Authorization": header, **JSON}
        )
        assert response.status == 401, header
        assert await response.read() == b""
        challenges = response.headers.getall("WWW-Authenticate")
        assert 'Basic realm="handle"' in challenges
        assert any('error="Identity not verified"' in c for c in challenges)
    # Credentials also apply to reads; index 0 means "any HS_SECKEY of the handle".
    response = await client.get(
        f"/api/handles/{handle}", headers={"Authorization": basic(ADMIN_USER, "wrong")}
    )
    assert response.status == 401
    response = await client.put(
        f"/api/handles/{handle}",
        data=values,
        headers={"Authorization": basic(f"0:{PREFIX}/ADMIN", SECRET), **JSON},
    )
    assert response.status == 200


async def test_secret_keys_are_hashed_and_the_admin_handle_protected(client):
    # A second secret, PUT in clear, authenticates at its own index and is stored only as a hash.
    response = await client.put(
        f"/api/handles/{PREFIX}/ADMIN?index=301",
        data=dumps(value(301, "HS_SECKEY", "second secret")),
        headers=WRITE,
    )
    assert response.status == 200
    second = {"Authorization": basic(f"301:{PREFIX}/ADMIN", "second secret"), **JSON}
    response = await client.put(
        f"/api/handles/{PREFIX}/BY301", data=dumps([value(1, "URL", "u")]), headers=second
    )
    assert response.status == 200
    _, body = await resolve(client, f"{PREFIX}/ADMIN?index=301", ADMIN)
    assert body["values"][0]["data"]["value"].startswith("scrypt$")
    _, public = await resolve(client, f"{PREFIX}/ADMIN")
    assert "HS_SECKEY" not in json.dumps(public)
    # The admin handle cannot be deleted, nor lose its last secret.
    response = await client.delete(f"/api/handles/{PREFIX}/ADMIN", headers=ADMIN)
    assert (response.status, (await response.json())["responseCode"]) == (403, 401)
    response = await client.put(
        f"/api/handles/{PREFIX}/ADMIN", data=dumps([value(1, "URL", "u")]), headers=WRITE
    )
    assert (response.status, (await response.json())["responseCode"]) == (400, 202)
    assert (await client.delete(f"/api/handles/{PREFIX}/ADMIN?index=301", headers=ADMIN)).status == 200
    response = await client.delete(f"/api/handles/{PREFIX}/ADMIN?index=300", headers=ADMIN)
    assert (response.status, (await response.json())["responseCode"]) == (400, 202)


async def test_record_handles_are_read_only_through_the_handle_api(client):
    published = await publish(client, activity(), suffix="ACT.2025")
    handle = published["handle"]
    status, body = await resolve(client, handle)
    assert status == 200
    for response in (
        await client.put(f"/api/handles/{handle}", data=dumps([value(1, "URL", "u")]), headers=WRITE),
        await client.put(f"/api/handles/{handle}?index=1", data=dumps([value(1, "URL", "u")]), headers=WRITE),
        await client.delete(f"/api/handles/{handle}", headers=ADMIN),
        await client.delete(f"/api/handles/{handle}?index=2000", headers=ADMIN),
    ):
        error = await response.json()
        assert (response.status, error["responseCode"]) == (403, 401)
        assert "/api/records" in error["message"]
    assert (await resolve(client, handle))[1] == body


async def test_other_methods_are_unknown_endpoints(client):
    response = await client.post(f"/api/handles/{PREFIX}/X", data="{}", headers=WRITE)
    assert response.status == 405
    assert (await response.json())["responseCode"] == 4


@pytest.mark.parametrize("path", ["/api/handles/88.186.1/ADMIN", "/api/handles?prefix=88.186.1"])
async def test_plain_http_credentials_from_another_host_are_refused(client, monkeypatch, path):
    import node.callers

    monkeypatch.setattr(node.callers, "_is_loopback", lambda request: False)
    response = await client.get(path, headers=ADMIN)
    assert response.status == 403
    assert (await response.json())["responseCode"] == 402
    anonymous = await client.get(path)
    assert anonymous.status == 200
