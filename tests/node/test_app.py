"""The node application as a whole: OpenAPI complete and true, contexts, DID document, health, settings."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from certs.canonical import w3c_contexts
from certs.did import DidDocument
from common.settings import describe_settings, load_settings, render_settings_toml
from common.web import app_routes, openapi_routes
from metadata_templates import default_catalog
from node.settings import NodeSettings
from tests.node.conftest import ADMIN, PREFIX, activity, dumps

JSON_WRITE = {**ADMIN, "Content-Type": "application/json"}


async def test_openapi_lists_exactly_the_routes(client, node_app):
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert openapi_routes(document) == app_routes(node_app)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["responses"], (method, path)
            assert all("description" in response for response in operation["responses"].values())
            # Every path template parameter is declared.
            declared = {
                p["name"]
                for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                if p["in"] == "path"
            }
            assert declared == set(part[1:-1] for part in path.split("/") if part.startswith("{")), (
                method,
                path,
            )


class Conformance:
    """Checks answers against the OpenAPI document: documented status, content type and schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        rooted = json.loads(json.dumps(document).replace('"#/components/', '"urn:node-openapi#/components/'))
        self.document = rooted
        self.registry = Registry().with_resource(
            "urn:node-openapi", Resource.from_contents(rooted, default_specification=DRAFT202012)
        )
        self.checked: set[tuple[str, str, int]] = set()

    async def check(self, method: str, template: str, response: Any) -> Any:
        operation = self.document["paths"][template][method.lower()]
        status = str(response.status)
        assert status in operation["responses"], f"{method} {template}: undocumented status {status}"
        spec = operation["responses"][status]
        body = await response.read()
        self.checked.add((method, template, response.status))
        if "content" not in spec:
            return None
        content_type = response.content_type
        assert content_type in spec["content"], f"{method} {template} {status}: undocumented {content_type}"
        parsed = json.loads(body)
        schema = spec["content"][content_type]["schema"]
        Draft202012Validator(schema, registry=self.registry).validate(parsed)
        return parsed


async def test_answers_match_their_documented_schemas(client):
    conformance = Conformance(await (await client.get("/openapi.json")).json())

    async def call(method, template, path, **kwargs):
        return await conformance.check(method, template, await client.request(method, path, **kwargs))

    record = f"{PREFIX}/ACT.2025"
    body = {"template": "activity-data/1", "document": activity(), "suffix": "ACT.2025"}
    await call("POST", "/api/records", "/api/records", json=body, headers=ADMIN)
    await call("POST", "/api/records", "/api/records", json=body)
    await call("POST", "/api/records", "/api/records", json={**body, "reason": "again"}, headers=ADMIN)
    await call("POST", "/api/records", "/api/records", json={"template": "x", "document": {}}, headers=ADMIN)
    await call(
        "POST", "/api/records", "/api/records", data="x", headers={**ADMIN, "Content-Type": "text/plain"}
    )
    await call("POST", "/api/records", "/api/records", data="[", headers=JSON_WRITE)
    await call("GET", "/api/records", "/api/records")
    await call("GET", "/api/records", "/api/records?pageSize=0")
    await call("GET", "/api/records/{handle}", f"/api/records/{record}")
    await call("GET", "/api/records/{handle}", f"/api/records/{PREFIX}/NOPE")
    await call("GET", "/api/records/{handle}/versions", f"/api/records/{record}/versions")
    await call("GET", "/api/records/{handle}/versions/{version}", f"/api/records/{record}/versions/2")
    await call("GET", "/api/records/{handle}/versions/{version}", f"/api/records/{record}/versions/9")
    grants = f"/api/records/{record}/grants"
    await call("POST", "/api/records/{handle}/grants", grants, json={"prefix": "88.186.7"}, headers=ADMIN)
    await call("POST", "/api/records/{handle}/grants", grants, json={"prefix": "88.186.7"}, headers=ADMIN)
    await call("POST", "/api/records/{handle}/grants", grants, json={"prefix": 7}, headers=ADMIN)
    await call("GET", "/api/records/{handle}/grants", grants, headers=ADMIN)
    await call("GET", "/api/records/{handle}/grants", grants)
    await call("DELETE", "/api/records/{handle}/grants/{prefix}", f"{grants}/88.186.7", headers=ADMIN)
    await call("DELETE", "/api/records/{handle}/grants/{prefix}", f"{grants}/88.186.7", headers=ADMIN)
    await call("GET", "/api/log", "/api/log")
    await call("GET", "/api/log", "/api/log?limit=0")
    await call("GET", "/.well-known/did.json", "/.well-known/did.json")

    handle = f"/api/handles/{PREFIX}/H"
    values = dumps([{"index": 1, "type": "URL", "data": "u"}])
    await call("PUT", "/api/handles/{handle}", f"{handle}?overwrite=false", data=values, headers=JSON_WRITE)
    await call("PUT", "/api/handles/{handle}", f"{handle}?overwrite=false", data=values, headers=JSON_WRITE)
    await call("PUT", "/api/handles/{handle}", handle, data=values, headers=JSON_WRITE)
    await call(
        "PUT", "/api/handles/{handle}", handle, data=values, headers={"Content-Type": "application/json"}
    )
    await call(
        "PUT",
        "/api/handles/{handle}",
        handle,
        data=values,
        headers={**JSON_WRITE, "Authorization": "Basic eDp5"},
    )
    await call(
        "PUT", "/api/handles/{handle}", handle, data=values, headers={**ADMIN, "Content-Type": "text/plain"}
    )
    await call("PUT", "/api/handles/{handle}", f"/api/handles/{record}", data=values, headers=JSON_WRITE)
    await call(
        "PUT", "/api/handles/{handle}", f"/api/handles/{PREFIX}/NEW?index=1", data=values, headers=JSON_WRITE
    )
    await call("GET", "/api/handles/{handle}", handle)
    await call("GET", "/api/handles/{handle}", f"{handle}?type=NONE")
    await call("GET", "/api/handles/{handle}", f"/api/handles/{record}")
    await call("GET", "/api/handles/{handle}", f"/api/handles/{PREFIX}/NOPE")
    await call("GET", "/api/handles/{handle}", "/api/handles/88.186.9/X")
    await call("GET", "/api/handles/{handle}", f"{handle}?publicOnly=false")
    await call("GET", "/api/handles", f"/api/handles?prefix={PREFIX}&page=0&pageSize=1")
    await call("GET", "/api/handles", "/api/handles")
    await call("DELETE", "/api/handles/{handle}", f"{handle}?index=7", headers=ADMIN)
    await call("DELETE", "/api/handles/{handle}", handle, headers=ADMIN)
    await call("DELETE", "/api/handles/{handle}", handle, headers=ADMIN)
    await call("DELETE", "/api/handles/{handle}", f"/api/handles/{PREFIX}/ADMIN", headers=ADMIN)
    await call("GET", "/healthz", "/healthz")
    await call("GET", "/api/contexts", "/api/contexts")

    statuses = {status for _, _, status in conformance.checked}
    assert {200, 201, 400, 401, 403, 404, 409, 415, 422} <= statuses


async def test_contexts_are_listed_and_served(client):
    listing = (await (await client.get("/api/contexts")).json())["contexts"]
    urls = {entry["url"] for entry in listing}
    assert urls == set(w3c_contexts()) | set(default_catalog().contexts)
    activity_context = next(
        e for e in listing if e["url"] == "https://carbonid.org/contexts/activity-data/v1.jsonld"
    )
    response = await client.get(activity_context["href"])
    assert await response.json(content_type=None) == default_catalog().contexts[activity_context["url"]]


async def test_did_document_names_the_node_keys_and_its_handle_api(client, node_settings):
    did = await (await client.get("/.well-known/did.json")).json()
    document = DidDocument.from_json(did)
    assert document.id.startswith("did:web:127.0.0.1")
    assert len(document.active_methods()) == 1
    (service,) = did["service"]
    assert service["type"] == "HandleRestApi"
    assert service["serviceEndpoint"].endswith("/api/handles")
    assert (node_settings.data_dir / "keys" / "ed25519.key").stat().st_mode & 0o777 == 0o600


async def test_health_checks_the_database(client):
    assert await (await client.get("/healthz")).json() == {
        "status": "ok",
        "service": "node",
        "database": "ok",
    }


def test_every_setting_is_documented_and_renders_back(tmp_path):
    for item in describe_settings(NodeSettings):
        assert item.doc.strip(), item.name
    text = render_settings_toml(NodeSettings, section="node")
    assert "[node]" in text
    path = tmp_path / "node.toml"
    path.write_text(text.replace("# prefix = ...", 'prefix = "88.186.1"'), "utf-8")
    settings = load_settings(NodeSettings, path=path, section="node", env={})
    assert settings == NodeSettings(prefix="88.186.1")
    assert settings.port == 18443
    assert tomllib.loads(text.replace("# prefix = ...", 'prefix = "x"'))["node"]["handle_ttl"] == 86400


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "missing required setting 'prefix'"),
        ({"prefix": "88.186/1"}, "contains '/'"),
        ({"prefix": "0.NA"}, "0.NA"),
        ({"prefix": "88.186.1", "templates": ["key-change"]}, "no 'handle' member"),
        ({"prefix": "88.186.1", "templates": ["nope"]}, "no template"),
        ({"prefix": "88.186.1", "registry_did": "web:x"}, "a DID"),
    ],
)
def test_bad_settings_are_refused(tmp_path, table, message):
    from common.settings import SettingsError

    path = tmp_path / "node.toml"
    lines = ["[node]", *(f"{key} = {json.dumps(value)}" for key, value in table.items())]
    path.write_text("\n".join(lines), "utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(NodeSettings, path=path, section="node", env={})


def test_tls_context_makes_client_certificates_optional(federation, tmp_path):
    import ssl
    from dataclasses import replace

    from carbonid.cli_support import serving_tls

    plain = NodeSettings(prefix=PREFIX, data_dir=tmp_path)
    assert serving_tls(plain) is None
    cert, key = federation.cert("server")
    served = replace(plain, tls_certificate=cert, tls_key=key)
    assert serving_tls(served).verify_mode == ssl.CERT_NONE
    peers = replace(served, tls_client_ca=federation.ca_file)
    assert serving_tls(peers).verify_mode == ssl.CERT_OPTIONAL
    assert peers.base_url() == "https://127.0.0.1:18443"
