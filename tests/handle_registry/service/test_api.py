"""The rest of the surface: DID document, templates, contexts, OpenAPI, settings, and Handle route details."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from yarl import URL

from certs.canonical import w3c_contexts
from certs.data_integrity import verify_proofs
from common.settings import describe_settings
from common.web import app_routes, openapi_routes
from handle_registry.service.app import create_app
from handle_registry.service.settings import RegistrySettings
from tests.handle_registry.service.conftest import Harness
from tests.handle_registry.service.support import (
    CATALOG,
    LOADER,
    add_admin,
    enterprise,
    settings_for,
    signed_record_from,
)


async def test_the_did_document_is_the_trust_anchor(registry):
    response = await registry.client.get("/.well-known/did.json")
    assert response.status == 200
    document = await response.json()
    assert document["id"] == "did:web:registry.test%3A18100"
    assert document["assertionMethod"] == [method["id"] for method in document["verificationMethod"]]
    assert len(document["verificationMethod"]) == 1


async def test_contexts_list_every_template_context(registry):
    listing = await (await registry.client.get("/api/contexts")).json()
    urls = {entry["url"] for entry in listing["contexts"]}
    assert set(CATALOG.contexts) <= urls
    assert set(w3c_contexts()) <= urls
    for entry in listing["contexts"]:
        response = await registry.client.get(entry["href"])
        assert response.status == 200


async def test_templates(registry):
    listing = await (await registry.client.get("/api/templates")).json()
    refs = [template["ref"] for template in listing["templates"]]
    assert refs == [template.ref for template in CATALOG.list()]
    assert "prefix-application/1" in refs
    assert all("schema" not in template for template in listing["templates"])
    latest = await (await registry.client.get("/api/templates/prefix-record")).json()
    assert latest["ref"] == "prefix-record/1"
    assert latest["schema"]["title"] == "Prefix record"
    assert latest["items"][0]["idIndex"] == 2000
    exact = await (await registry.client.get("/api/templates/enterprise-profile/1")).json()
    assert exact == CATALOG.resolve("enterprise-profile/1").describe()
    for path in ("/api/templates/nope", "/api/templates/prefix-record/2", "/api/templates/prefix-record/x"):
        response = await registry.client.get(path)
        assert response.status == 404, path
        assert (await response.json())["type"] == "https://carbonid.org/problems/template-not-found"


async def test_every_route_is_in_the_openapi_document(registry):
    document = await (await registry.client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert app_routes(registry.app) == openapi_routes(document)
    for path, item in document["paths"].items():
        for operation in item.values():
            assert operation["responses"], path
            assert operation["operationId"], path


def test_every_setting_is_documented():
    for entry in describe_settings(RegistrySettings):
        assert entry.doc.strip(), entry.name
    assert RegistrySettings(served_prefixes=("88",)).port == 18100


async def test_health_reports_the_database(registry):
    body = await (await registry.client.get("/healthz")).json()
    assert body == {"status": "ok", "service": "registry", "database": "ok"}


# --- Handle route details ---------------------------------------------------------------------------


async def test_handle_paths_filters_and_errors(registry):
    company = enterprise("88.186.1")
    await registry.register(company)
    client = registry.client

    slashless = await registry.resolve("88.186.1")
    assert slashless.status == 200
    assert (await slashless.json())["handle"] == "88.186.1"
    # Taken from the raw path and decoded once: %2F is part of the handle.
    encoded = await client.get("/api/handles/0.NA%2F88.186.1")
    assert encoded.status == 200
    assert (await encoded.json())["handle"] == "0.NA/88.186.1"

    by_type = await (await registry.resolve("0.NA/88.186.1", type="URL")).json()
    assert [(v["index"], v["data"]["value"]) for v in by_type["values"]] == [(2, company.service_url)]
    by_index = await (await client.get("/api/handles/0.NA/88.186.1?index=1&index=100")).json()
    assert [v["index"] for v in by_index["values"]] == [1, 100]
    family = await (await client.get("/api/handles/0.NA/88.186.1?type=HS_SITE.&index=2")).json()
    assert [v["index"] for v in family["values"]] == [1, 2]
    nothing = await registry.resolve("0.NA/88.186.1", type="EMAIL")
    assert nothing.status == 200
    assert await nothing.json() == {"responseCode": 200, "handle": "0.NA/88.186.1", "values": []}

    pretty = await client.get("/api/handles/0.NA/88.186.1?pretty")
    assert (await pretty.text()).startswith('{\n  "responseCode": 1')
    assert pretty.content_type == "application/json"

    for path, status, code in (
        ("/api/handles/0.NA/88.186.2", 404, 100),
        ("/api/handles/88.186.1/PROFILE", 404, 100),
        ("/api/handles/0.NA/88..1", 404, 100),  # a handle under 0.NA naming no prefix: no such record
        ("/api/handles/88.186.1%2F%01", 400, 102),
        ("/api/handles/88..1", 400, 102),
        ("/api/handles/0.NA/88.186.1%zz", 400, 102),
        ("/api/handles/0.NA/88.186.1?index=one", 400, 4),
    ):
        response = await client.get(URL(path, encoded=True))
        assert response.status == status, path
        assert response.content_type == "application/json", path
        body = await response.json()
        assert body["responseCode"] == code, path
        assert body["message"], path


async def test_ttl_and_sm2_signatures(aiohttp_client, tmp_path, database_url):
    settings = settings_for(tmp_path, database_url, record_ttl=600, sign_sm2=True)
    client = await aiohttp_client(create_app(settings))
    registry = Harness(client, await add_admin(client.server.app))
    assert [
        m["id"].split("#")[0]
        for m in (await (await client.get("/.well-known/did.json")).json())["verificationMethod"]
    ] == [
        registry.did,
        registry.did,
    ]
    await registry.register(enterprise("88.186.1"))
    body = await (await registry.resolve("0.NA/88.186.1")).json()
    assert {value["ttl"] for value in body["values"]} == {600}
    document = signed_record_from(body)
    proofs = verify_proofs(document, registry.anchor(), loader=LOADER)
    assert sorted(proof.cryptosuite for proof in proofs) == ["eddsa-rdfc-2022", "sm2-rdfc-2024"]


# --- responses agree with the OpenAPI document --------------------------------------------------------


async def conforms(document: dict, method: str, template: str, response) -> None:
    """The response's status and content type are documented for the route, and its body matches the schema."""
    operation = document["paths"][template][method.lower()]
    spec = operation["responses"].get(str(response.status))
    assert spec is not None, f"{method} {template} answered an undocumented {response.status}"
    media = spec["content"].get(response.content_type)
    assert media is not None, f"{method} {template} {response.status}: undocumented {response.content_type}"
    schema = {"components": document["components"], **media["schema"]}
    Draft202012Validator(schema).validate(await response.json())


async def test_responses_match_the_openapi_document(registry):
    document = await (await registry.client.get("/openapi.json")).json()
    client, admin = registry.client, registry.admin
    company = enterprise("88.186.1", keys=2)
    checks = [
        ("POST", "/api/prefixes", await registry.apply(company)),
        ("POST", "/api/prefixes", await registry.apply(company)),  # 409
        ("POST", "/api/prefixes", await registry.apply(company, company.application())),  # 401
        ("GET", "/api/prefixes", await client.get("/api/prefixes", headers=admin)),
        ("GET", "/api/prefixes", await client.get("/api/prefixes", params={"page": "0"})),
        ("GET", "/api/prefixes/{prefix}", await client.get("/api/prefixes/88.186.1", headers=admin)),
        ("GET", "/api/prefixes/{prefix}", await client.get("/api/prefixes/88.186.1")),  # 404
        ("POST", "/api/prefixes/{prefix}/approve", await registry.approve("88.186.1")),
        ("POST", "/api/prefixes/{prefix}/approve", await registry.approve("88.186.1")),  # 409
        (
            "POST",
            "/api/prefixes/{prefix}/approve",
            await client.post("/api/prefixes/88.186.1/approve"),
        ),  # 401
        ("GET", "/api/prefixes/{prefix}", await client.get("/api/prefixes/88.186.1")),
        (
            "POST",
            "/api/prefixes/{prefix}/keys",
            await client.post(
                "/api/prefixes/88.186.1/keys",
                json=company.sign(company.key_change(retire=[company.keys[1]]), registry.did),
            ),
        ),
        (
            "POST",
            "/api/prefixes/{prefix}/suspend",
            await client.post("/api/prefixes/88.186.1/suspend", json={"reason": "audit"}, headers=admin),
        ),
        (
            "POST",
            "/api/prefixes/{prefix}/reinstate",
            await client.post("/api/prefixes/88.186.1/reinstate", json={}, headers=admin),
        ),  # 422
        ("GET", "/api/handles/{handle}", await registry.resolve("0.NA/88.186.1")),
        ("GET", "/api/handles/{handle}", await registry.resolve("0.NA/88.186.2")),  # 404
        ("GET", "/api/handles/{handle}", await registry.resolve("88..1")),  # 400
        ("GET", "/api/handles", await client.get("/api/handles", params={"prefix": "0.NA"})),
        ("GET", "/api/handles", await client.get("/api/handles")),  # 400
        ("GET", "/api/templates", await client.get("/api/templates")),
        ("GET", "/api/templates/{id}", await client.get("/api/templates/key-change")),
        ("GET", "/api/templates/{id}/{version}", await client.get("/api/templates/key-change/1")),
        ("GET", "/.well-known/did.json", await client.get("/.well-known/did.json")),
    ]
    secondary = enterprise("88.200.1", port=18500)
    delegation = {
        "prefix": "88.200",
        "serviceUrl": "http://secondary.test:18101",
        "didDocument": {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": secondary.did,
            "verificationMethod": [
                {
                    "id": secondary.method(secondary.keys[0]),
                    "type": "Multikey",
                    "controller": secondary.did,
                    "publicKeyMultibase": secondary.keys[0].public_key.multibase,
                }
            ],
            "assertionMethod": [secondary.method(secondary.keys[0])],
        },
    }
    checks.append(
        ("POST", "/api/delegations", await client.post("/api/delegations", json=delegation, headers=admin))
    )
    checks.append(("GET", "/api/handles/{handle}", await registry.resolve("0.NA/88.200.1")))  # 300 referral
    statuses = set()
    for method, template, response in checks:
        await conforms(document, method, template, response)
        statuses.add(response.status)
    assert statuses >= {200, 201, 300, 400, 401, 404, 409, 422}
