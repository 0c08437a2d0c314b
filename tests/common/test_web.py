"""The shared service scaffold: health, OpenAPI, bundled contexts, route listing."""

import pytest

from common.database import engine_context
from common.settings import ServiceSettings
from common.web import app_routes, base_openapi, context_name, create_service_app, openapi_routes

CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": {"@context": {"id": "@id"}},
    "https://carbonid.org/contexts/activity-data/v1.jsonld": {
        "@context": {"@vocab": "https://carbonid.org/ns#"}
    },
}


def make_app(**settings):
    return create_service_app(
        ServiceSettings(**settings),
        name="test",
        openapi=lambda app: base_openapi("Test", "1", "A test service."),
        contexts=CONTEXTS,
    )


def test_context_names_are_readable():
    assert context_name("https://www.w3.org/ns/credentials/v2") == "www.w3.org-ns-credentials-v2"
    assert (
        context_name("https://carbonid.org/contexts/activity-data/v1.jsonld")
        == "carbonid.org-contexts-activity-data-v1.jsonld"
    )


async def test_health_without_a_database(aiohttp_client):
    client = await aiohttp_client(make_app())
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "service": "test"}


async def test_health_checks_the_database(aiohttp_client, database_url):
    app = make_app()
    app.cleanup_ctx.append(engine_context(database_url))
    client = await aiohttp_client(app)
    assert (await (await client.get("/healthz")).json())["database"] == "ok"


async def test_contexts_are_listed_and_downloadable(aiohttp_client):
    client = await aiohttp_client(make_app())
    listing = (await (await client.get("/api/contexts")).json())["contexts"]
    assert {entry["url"] for entry in listing} == set(CONTEXTS)
    for entry in listing:
        response = await client.get(entry["href"])
        assert response.status == 200
        assert response.content_type == "application/ld+json"
        assert await response.json(content_type=None) == CONTEXTS[entry["url"]]
        assert entry["url"] in response.headers["Link"]
    missing = await client.get("/api/contexts/nothing-here")
    assert missing.status == 404
    assert missing.content_type == "application/problem+json"


async def test_openapi_is_served_and_matches_the_routes(aiohttp_client):
    app = make_app()
    client = await aiohttp_client(app)
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert openapi_routes(document) == app_routes(app)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tls_key": "k.pem"}, "go together"),
        ({"tls_client_ca": "ca.pem", "tls_certificate": None}, "needs tls_certificate"),
    ],
)
def test_run_service_refuses_half_tls_settings(settings, message):
    from pathlib import Path

    from common.web import run_service

    settings = {k: Path(v) if v else None for k, v in settings.items()}
    with pytest.raises(ValueError, match=message):
        run_service(make_app(), ServiceSettings(**settings))


def test_base_url():
    assert ServiceSettings(port=8443).base_url() == "http://127.0.0.1:8443"
    assert ServiceSettings(public_url="https://node.example/").base_url() == "https://node.example"
