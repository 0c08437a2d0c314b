"""Who reads what, over real TLS with client certificates from a test federation CA.

Visibility {public, private, granted to 88.186.7, granted then revoked} × caller {anonymous, the granted
peer 88.186.7, another peer 88.186.9, the admin}, on /api/records/{handle} and /api/handles/{handle}.
A caller who may not read a record gets exactly the answer a missing handle gets: the answers are
recorded for each handle before anything is published and compared byte for byte afterwards (same
status, headers and body; every request carries the same X-Request-Id, and Date is left out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp import ClientSession, TCPConnector

from certs.tls import client_ssl_context, serving_ssl_context
from node.app import create_app
from node.runtime import initialise_node
from tests.node.conftest import ADMIN, PREFIX, SECRET, activity, publish

REQUEST_ID = {"X-Request-Id": "visibility-matrix"}
VISIBILITIES = ("public", "private", "granted", "revoked")
CALLERS = ("anonymous", "peer7", "peer9", "admin")
READERS = {
    "public": {"anonymous", "peer7", "peer9", "admin"},
    "private": {"admin"},
    "granted": {"peer7", "admin"},
    "revoked": {"admin"},
}


def handle_of(visibility: str) -> str:
    return f"{PREFIX}/ACT.{visibility.upper()}"


@pytest.fixture
async def tls_node(aiohttp_server, node_settings, federation):
    cert, key = federation.cert("server")
    settings = replace(node_settings, tls_certificate=cert, tls_key=key, tls_client_ca=federation.ca_file)
    await initialise_node(settings, SECRET)
    server = await aiohttp_server(
        create_app(settings),
        ssl=serving_ssl_context(settings.tls_certificate, settings.tls_key, settings.tls_client_ca),
    )
    return f"https://127.0.0.1:{server.port}"


@pytest.fixture
async def sessions(tls_node, federation) -> AsyncIterator[dict[str, ClientSession]]:
    """One HTTPS session per caller: no certificate, a peer certificate, or no certificate plus admin Basic."""
    made = {}
    for caller in CALLERS:
        if caller.startswith("peer"):
            cert, key = federation.cert(caller)
            context = client_ssl_context(federation.ca_file, cert_file=cert, key_file=key)
        else:
            context = client_ssl_context(federation.ca_file)
        headers = {**REQUEST_ID, **(ADMIN if caller == "admin" else {})}
        made[caller] = ClientSession(base_url=tls_node, connector=TCPConnector(ssl=context), headers=headers)
    yield made
    for session in made.values():
        await session.close()


async def answer(session: ClientSession, path: str) -> tuple[int, dict[str, str], bytes]:
    async with session.get(path) as response:
        headers = {name: value for name, value in response.headers.items() if name.lower() != "date"}
        return response.status, headers, await response.read()


def paths(handle: str) -> dict[str, str]:
    return {"records": f"/api/records/{handle}", "handles": f"/api/handles/{handle}"}


async def test_authorization_matrix(sessions):
    admin = sessions["admin"]
    missing = {
        (visibility, caller, api): await answer(sessions[caller], path)
        for visibility in VISIBILITIES
        for caller in CALLERS
        for api, path in paths(handle_of(visibility)).items()
    }
    assert {status for status, _, _ in missing.values()} == {404}

    for visibility in VISIBILITIES:
        await publish(
            admin,
            activity(),
            suffix=f"ACT.{visibility.upper()}",
            visibility="public" if visibility == "public" else "private",
        )
    for visibility in ("granted", "revoked"):
        response = await admin.post(
            f"/api/records/{handle_of(visibility)}/grants", json={"prefix": "88.186.7", "partCode": "P-7"}
        )
        assert response.status == 201
    assert (await admin.delete(f"/api/records/{handle_of('revoked')}/grants/88.186.7")).status == 200

    for visibility in VISIBILITIES:
        for caller in CALLERS:
            for api, path in paths(handle_of(visibility)).items():
                status, headers, body = await answer(sessions[caller], path)
                if caller in READERS[visibility]:
                    assert status == 200, (visibility, caller, api, body)
                else:
                    # Byte for byte what the same caller got before the record existed.
                    assert (status, headers, body) == missing[(visibility, caller, api)], (
                        visibility,
                        caller,
                        api,
                    )

    # A peer reading through its grant sees the grant it reads by.
    async with sessions["peer7"].get(f"/api/records/{handle_of('granted')}") as response:
        assert (await response.json())["grant"] == {"prefix": "88.186.7", "partCode": "P-7"}

    # Listings show each caller exactly what it may read.
    for caller in CALLERS:
        expected = {handle_of(v) for v in VISIBILITIES if caller in READERS[v]}
        async with sessions[caller].get("/api/records") as response:
            records = await response.json()
        assert {r["handle"] for r in records["records"]} == expected, caller
        assert records["totalCount"] == len(expected)
        async with sessions[caller].get(f"/api/handles?prefix={PREFIX}") as response:
            listing = await response.json()
        assert set(listing["handles"]) == expected | {f"{PREFIX}/ADMIN"}, caller
        assert listing["totalCount"] == str(len(expected) + 1)
        for visibility in VISIBILITIES:
            async with sessions[caller].get(
                f"{paths(handle_of(visibility))['records']}/versions"
            ) as response:
                assert (response.status == 200) == (caller in READERS[visibility]), (caller, visibility)


async def test_private_records_need_the_admin_for_grants(sessions):
    admin = sessions["admin"]
    await publish(admin, activity(), suffix="ACT.X", visibility="private")
    for caller in ("anonymous", "peer7"):
        async with sessions[caller].post(
            f"/api/records/{PREFIX}/ACT.X/grants", json={"prefix": "88.186.7"}
        ) as response:
            assert response.status == 401
        async with sessions[caller].get(f"/api/records/{PREFIX}/ACT.X/grants") as response:
            assert response.status == 401
