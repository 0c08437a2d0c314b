"""The resolver application as a whole: OpenAPI complete and true, every setting documented, contexts, health."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from certs.canonical import w3c_contexts
from common.settings import describe_settings
from common.web import app_routes, openapi_routes
from resolver.settings import ResolverSettings
from tests.resolver.conftest import CATALOG, Federation
from tests.resolver.test_trust import store_document, stored_document


class Conformance:
    """Checks answers against the OpenAPI document: documented status, content type and schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        rooted = json.loads(
            json.dumps(document).replace('"#/components/', '"urn:resolver-openapi#/components/')
        )
        self.document = rooted
        self.registry = Registry().with_resource(
            "urn:resolver-openapi", Resource.from_contents(rooted, default_specification=DRAFT202012)
        )
        self.checked: set[tuple[str, str, int]] = set()

    async def check(self, method: str, template: str, response: Any) -> Any:
        operation = self.document["paths"][template][method.lower()]
        status = str(response.status)
        assert status in operation["responses"], f"{method} {template}: undocumented status {status}"
        spec = operation["responses"][status]
        body = await response.read()
        self.checked.add((method, template, response.status))
        for header in spec.get("headers", {}):
            assert header in response.headers, f"{method} {template} {status}: no {header} header"
        if "content" not in spec:
            return None
        assert response.content_type in spec["content"], (
            f"{method} {template} {status}: {response.content_type}"
        )
        parsed = json.loads(body)
        Draft202012Validator(
            spec["content"][response.content_type]["schema"], registry=self.registry
        ).validate(parsed)
        return parsed


async def test_openapi_lists_exactly_the_routes_and_answers_match_their_schemas(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    async with f.session.get(f"{resolver.url}/openapi.json") as response:
        document = await response.json()
    assert document["openapi"] == "3.1.0"
    assert openapi_routes(document) == app_routes(resolver.app)
    conformance = Conformance(document)

    async def call(template: str, path: str) -> Any:
        async with f.session.get(f"{resolver.url}{path}") as response:
            return await conformance.check("GET", template, response)

    record = await f.publish(f.node2, "ACT.2025")
    tampered = await f.publish(f.node1, "ACT.2025")
    version, doc = await stored_document(f, f.node1, tampered)
    doc["period"] = "2024"
    await store_document(f, f.node1, tampered, version, doc)
    one = "/api/handles/{handle}"
    assert (await call(one, f"/api/handles/{record}"))["verification"]["status"] == "verified"
    assert (await call(one, f"/api/handles/{record}"))["verification"]["cached"] is True
    await call(one, f"/api/handles/{record}")
    await call(one, f"/api/handles/{record}?type=NONE&pretty")
    await call(one, f"/api/handles/{record}?index=-1")
    assert (await call(one, f"/api/handles/{tampered}"))["verification"]["status"] == "failed"
    assert (await call(one, "/api/handles/88.200.1/ADMIN"))["verification"]["status"] == "unsigned"
    await call(one, "/api/handles/0.NA/88.186.1")
    await call(one, "/api/handles/88.200.1")
    await call(one, "/api/handles/88.200.1/NOPE")
    await call(one, "/api/handles/88..1/X")
    await call(one, "/api/handles/?prefix=88")
    await call("/api/handles", "/api/handles?prefix=88.200.1")
    await call("/api/handles", "/api/handles")
    await f.stop_node(f.node2)
    unavailable = await call(one, "/api/handles/88.200.1/OTHER")
    assert unavailable["responseCode"] == 2
    assert (await call("/.well-known/did.json", "/.well-known/did.json"))["id"].startswith("did:web:")
    health = await call("/healthz", "/healthz")
    assert health == {"status": "ok", "service": "resolver", "database": "ok"}
    contexts = await call("/api/contexts", "/api/contexts")
    assert {entry["url"] for entry in contexts["contexts"]} == set(w3c_contexts()) | set(CATALOG.contexts)
    statuses = {status for _, _, status in conformance.checked}
    assert {200, 400, 404, 501, 503} <= statuses


def test_every_setting_is_documented():
    for doc in describe_settings(ResolverSettings):
        assert doc.doc.strip(), doc.name


def test_a_client_key_needs_its_certificate(tmp_path):
    with pytest.raises(ValueError, match="client_key needs client_certificate"):
        ResolverSettings(
            root_registry_url="http://127.0.0.1:1",
            trust_anchor=tmp_path / "a.json",
            client_key=tmp_path / "k",
        )
    fields = {field.name for field in dataclasses.fields(ResolverSettings)}
    assert {"root_registry_url", "trust_anchor", "max_stale_seconds", "cache_max_entries"} <= fields


async def test_a_client_certificate_bound_to_another_prefix_is_refused(federation: Federation):
    with pytest.raises(ValueError, match=r"bound to prefix 88\.100\.9"):
        await federation.start_resolver(prefix="88.100.8")
