"""A real Handle client library, pyhandle (EUDAT), used unchanged against a node served over HTTPS."""

from __future__ import annotations

import asyncio
import json

import pytest
from pyhandle.client.resthandleclient import RESTHandleClient
from pyhandle.handleexceptions import HandleAlreadyExistsException, HandleAuthenticationError

from certs.tls import server_ssl_context
from tests.node.conftest import ADMIN_USER, PREFIX, SECRET, activity, publish


@pytest.fixture
async def node_url(aiohttp_server, node_app, federation):
    """The node on a real HTTPS port, with a certificate from the test federation CA."""
    cert, key = federation.cert("server")
    context = server_ssl_context(cert, key, federation.ca_file, require_client_certificate=False)
    server = await aiohttp_server(node_app, ssl=context)
    return f"https://127.0.0.1:{server.port}", server


async def test_pyhandle_create_resolve_modify_delete(node_url, federation):
    url, _ = node_url
    handle = f"{PREFIX}/PYHANDLE.1"
    ca = str(federation.ca_file)

    def sequence() -> list[object]:
        seen: list[object] = []
        # Checks that the user's handle exists (anonymous GET of PREFIX/ADMIN), then writes with Basic auth.
        client = RESTHandleClient.instantiate_with_username_and_password(
            url, ADMIN_USER, SECRET, HTTPS_verify=ca
        )
        # overwrite=False: pyhandle first resolves (404 → None), then PUTs with overwrite=false (201).
        seen.append(
            client.register_handle_kv(handle, overwrite=False, URL="https://example.com/1", CHECKSUM="abc")
        )
        seen.append(client.retrieve_handle_record(handle))
        with pytest.raises(HandleAlreadyExistsException):
            client.register_handle_kv(handle, overwrite=False, URL="https://example.com/other")
        # Modify one value: pyhandle reads the record and PUTs just that index, data as a bare string.
        seen.append(client.modify_handle_value(handle, URL="https://example.com/2"))
        seen.append(client.get_value_from_handle(handle, "URL"))
        # Delete one value (DELETE ?index=…).
        seen.append(client.delete_handle_value(handle, "CHECKSUM"))
        seen.append(client.retrieve_handle_record(handle))
        seen.append(client.retrieve_handle_record_json(handle, indices=[1]))
        seen.append(client.delete_handle(handle))
        seen.append(client.retrieve_handle_record(handle))
        # Wrong secret: the library sees it is not authenticated.
        wrong = RESTHandleClient.instantiate_with_username_and_password(
            url, ADMIN_USER, "wrong", HTTPS_verify=ca
        )
        with pytest.raises(HandleAuthenticationError):
            wrong.register_handle_kv(f"{PREFIX}/PYHANDLE.2", overwrite=False, URL="https://example.com/3")
        return seen

    (
        registered,
        record,
        modified,
        url_value,
        deleted_value,
        after_delete,
        by_index,
        deleted,
        gone,
    ) = await asyncio.to_thread(sequence)
    assert registered == handle
    assert record["URL"] == "https://example.com/1"
    assert record["CHECKSUM"] == "abc"
    assert json.loads(record["HS_ADMIN"].replace("'", '"')) == {
        "handle": f"0.NA/{PREFIX}",
        "index": 200,
        "permissions": "011111110011",
    }
    assert modified == handle
    assert url_value == "https://example.com/2"
    assert deleted_value == handle
    assert "CHECKSUM" not in after_delete
    assert after_delete["URL"] == "https://example.com/2"
    assert [v["index"] for v in by_index["values"]] == [1]
    assert deleted == handle
    assert gone is None


async def test_pyhandle_resolves_records_and_not_private_ones(node_url, federation):
    url, _ = node_url
    from aiohttp import ClientSession, TCPConnector

    from certs.tls import client_ssl_context

    context = client_ssl_context(federation.ca_file)
    async with ClientSession(base_url=url, connector=TCPConnector(ssl=context)) as session:
        public = await publish(session, activity("2024"), suffix="ACT.2024")
        private = await publish(session, activity("2023"), suffix="ACT.2023", visibility="private")

    def read() -> tuple[object, object]:
        client = RESTHandleClient.instantiate_for_read_access(url, HTTPS_verify=str(federation.ca_file))
        return client.retrieve_handle_record_json(public["handle"]), client.retrieve_handle_record_json(
            private["handle"]
        )

    public_record, private_record = await asyncio.to_thread(read)
    assert public_record is not None
    types = {v["index"]: v["type"] for v in public_record["values"]}
    assert (types[1001], types[400], types[401]) == ("TEMPLATE", "DOCUMENT", "PROOF")
    assert private_record is None  # indistinguishable from a handle that does not exist
