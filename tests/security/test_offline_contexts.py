"""JSON-LD contexts are never fetched: a document naming a context the services do not bundle is refused with
a clear 4xx, and nothing in a whole sign → publish → resolve → verify run reaches beyond loopback or calls
pyld's module-default document loader (the `guard` fixture of conftest.py fails the test otherwise).
"""

from __future__ import annotations

import copy
import socket
from typing import Any

import pytest
from pyld import jsonld

from certs.canonical import canonicalize
from certs.errors import ContextNotAllowedError
from handle_registry.service.app import create_app as create_registry
from metadata_templates import default_catalog
from tests.handle_registry.service.support import enterprise, settings_for
from tests.node.conftest import ADMIN, activity
from tests.resolver.conftest import Federation
from tests.security.conftest import Guard, start_node

REMOTE = "https://contexts.evil.example/v1.jsonld"


def test_the_guard_catches_connections_lookups_and_default_loader_calls(
    guard: Guard, opened_files: list[str]
):
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: refused by the guard before any packet leaves
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("contexts.evil.example", 443)
    with pytest.raises(Exception, match="evil"):
        jsonld.expand({"@context": REMOTE, "name": "x"})  # pyld's own default loader
    with open(__file__, encoding="utf-8"):
        pass
    assert guard.violations == ["connect ('192.0.2.1', 80)", "getaddrinfo 'contexts.evil.example'"]
    assert guard.loader_calls == [REMOTE]
    assert __file__ in opened_files
    guard.violations.clear()
    guard.loader_calls.clear()


def test_canonicalizing_a_remote_context_is_refused_offline(guard: Guard):
    loader = default_catalog().loader
    for document in (
        {"@context": REMOTE, "name": "x"},
        {"@context": [*loader.urls[:1], REMOTE], "name": "x"},
        {"@context": {"@import": REMOTE}, "name": "x"},
        {"@context": [{"@vocab": "https://carbonid.org/ns#"}], "nested": {"@context": REMOTE, "a": 1}},
    ):
        with pytest.raises(ContextNotAllowedError, match="evil"):
            canonicalize(document, loader)
    # Without a loader, the bundled W3C contexts' offline loader is used, never pyld's module default.
    with pytest.raises(ContextNotAllowedError):
        canonicalize({"@context": REMOTE, "name": "x"})


async def refused(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status in statuses, await response.text()
    assert response.content_type == "application/problem+json"
    return dict(await response.json())


async def test_a_record_naming_an_unknown_context_is_refused_by_the_node(aiohttp_client, node_settings):
    node = await start_node(aiohttp_client, node_settings)
    for where in ("top", "only", "nested"):
        document = activity()
        if where == "top":
            document["@context"] = [*document["@context"], REMOTE]
        elif where == "only":
            document["@context"] = REMOTE
        else:
            document["fuels"][0]["@context"] = REMOTE
        body = {"template": "activity-data/1", "document": document, "suffix": f"CTX.{where}"}
        answer = await refused(await node.post("/api/records", json=body, headers=ADMIN), 400, 422)
        assert REMOTE in answer["detail"] or "@context" in answer["detail"], answer
        assert (await node.get(f"/api/records/88.186.1/CTX.{where}", headers=ADMIN)).status == 404


async def test_an_application_naming_an_unknown_context_is_refused_by_the_registry(
    aiohttp_client, tmp_path, database_url
):
    registry = await aiohttp_client(create_registry(settings_for(tmp_path, database_url)))
    did = str((await (await registry.get("/.well-known/did.json")).json())["id"])
    company = enterprise("88.7")
    signed = company.signed_application(did)
    variants = []
    for change in ("document", "proof", "profile"):
        body = copy.deepcopy(signed)
        if change == "document":
            body["@context"] = [*body["@context"], REMOTE]
        elif change == "proof":
            body["proof"]["@context"] = REMOTE
        else:
            body["profile"]["@context"] = [REMOTE]
        variants.append(body)
    for body in variants:
        answer = await refused(await registry.post("/api/prefixes", json=body), 400, 401, 422)
        assert answer["status"] < 500
    assert (await registry.get("/api/prefixes/88.7")).status == 404


async def test_a_notification_naming_an_unknown_context_is_refused_by_the_resolver(federation: Federation):
    resolver = await federation.start_resolver()
    base = {
        "type": "RecordPublished",
        "handle": "88.200.1/ACT.2025",
        "version": 1,
        "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1"},
    }
    for context in ([REMOTE], REMOTE, [{"@vocab": "https://carbonid.org/ns#"}, REMOTE]):
        async with federation.session.post(
            f"{resolver.url}/api/notifications", json={"@context": context, **base}
        ) as response:
            answer = await refused(response, 400, 401)
            assert answer["status"] < 500


async def test_sign_publish_resolve_and_verify_never_leave_loopback(federation: Federation, guard: Guard):
    resolver = await federation.start_resolver()
    for node in (federation.node1, federation.node2):
        handle = await federation.publish(node, "ACT.2025")
        status, answer = await federation.resolve(resolver, handle)
        assert status == 200, answer
        assert answer["verification"]["status"] == "verified", answer["verification"]
    assert guard.violations == []
    assert guard.loader_calls == []
