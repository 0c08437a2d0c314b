"""The node's PACT Technical Specifications v2.3 API: tokens, footprints (shape, decimals, pagination), errors,
events, and footprint requests answered asynchronously to a fake requester over HTTPS, with retries.

Footprints are checked against `data/pact-v2.3-product-footprint.schema.json`, written from the spec (strict:
nothing outside the spec, decimals as strings, UTC times, UUID v4 ids).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request, unused_port
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from carbonid.node_cli import node as node_cli
from certs.tls import client_ssl_context, server_ssl_context
from common.app_keys import ENGINE_KEY
from node import pact_schema
from node.app import create_app
from node.context import now_text
from node.keys import PACT_KEY, PACT_RESPONDER_KEY
from node.pact import EVENT_PUBLISHED, EVENT_REQUEST_CREATED
from node.pact_api import get_footprints, post_token
from node.pact_clients import IssuedClient, add_client
from node.pact_inventory import (
    UnmappableForm,
    decimal_text,
    declared_unit,
    dqr_to_pact,
    pcf_per_declared_unit,
)
from node.pact_mapping import Company, FormVersion, footprint, handle_of_product_id, product_id
from node.pact_peers import parse_peer_credentials, requester_of
from node.runtime import initialise_node
from node.settings import NodeSettings
from tests.node.conftest import ADMIN, PREFIX, SECRET, Federation, example, publish

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "pact-v2.3-product-footprint.schema.json").read_text("utf-8")
)
FOOTPRINT = Draft202012Validator(SCHEMA)
FORM = "application/x-www-form-urlencoded"
CLOUDEVENTS = "application/cloudevents+json; charset=UTF-8"
PEER_ID, PEER_SECRET = "peer-client", "peer-secret"
DECIMALS = (
    "unitaryProductAmount",
    "pCfExcludingBiogenic",
    "pCfIncludingBiogenic",
    "fossilGhgEmissions",
    "fossilCarbonContent",
    "biogenicCarbonContent",
    "dLucGhgEmissions",
    "landManagementGhgEmissions",
    "otherBiogenicGhgEmissions",
    "biogenicCarbonWithdrawal",
)
REQUIRED_FROM_2025 = (
    "pCfIncludingBiogenic",
    "dLucGhgEmissions",
    "landManagementGhgEmissions",
    "otherBiogenicGhgEmissions",
    "biogenicCarbonWithdrawal",
    "biogenicAccountingMethodology",
    "primaryDataShare",
    "dqi",
)


def assert_footprint(document: dict[str, Any]) -> None:
    """Valid against the spec's schema, every Decimal a string, the 2025 rules kept."""
    errors = sorted(FOOTPRINT.iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    pcf = document["pcf"]
    for name in DECIMALS:
        if name in pcf:
            assert isinstance(pcf[name], str), name
    if pcf["referencePeriodEnd"] > "2025-01-01T00:00:00Z":
        assert set(REQUIRED_FROM_2025) <= set(pcf)
        assert set(pcf["dqi"]) == {
            "coveragePercent",
            "technologicalDQR",
            "temporalDQR",
            "geographicalDQR",
            "completenessDQR",
            "reliabilityDQR",
        }


# --------------------------------------------------------------------------------------------------------------
# A fake requester: a PACT host system that asked for footprints and takes the answers


@dataclass
class FakeRequester:
    """Issues tokens for PEER_ID/PEER_SECRET and records the events posted to it; answers `statuses` first."""

    statuses: list[int] = field(default_factory=list)
    discovery: bool = False
    tokens: set[str] = field(default_factory=set)
    token_paths: list[str] = field(default_factory=list)
    events: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    received: asyncio.Event = field(default_factory=asyncio.Event)

    async def openid(self, request: web.Request) -> web.Response:
        if not self.discovery:
            raise web.HTTPNotFound()
        return web.json_response({"token_endpoint": f"{request.scheme}://{request.host}/oauth2/token"})

    async def token(self, request: web.Request) -> web.Response:
        self.token_paths.append(request.path)
        expected = "Basic " + base64.b64encode(f"{PEER_ID}:{PEER_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"error": "invalid_client"}, status=401)
        if (await request.post()).get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = f"token-{len(self.tokens)}"
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "bearer"})

    async def event(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens:
            return web.json_response({"code": "BadRequest", "message": "bad token"}, status=400)
        self.events.append((dict(request.headers), json.loads(await request.read())))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.received.set()
        return web.Response(status=status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.openid)
        app.router.add_post("/auth/token", self.token)
        app.router.add_post("/oauth2/token", self.token)
        app.router.add_post("/2/events", self.event)
        return app


@dataclass
class Setup:
    api: TestClient[Any, Any]
    app: web.Application
    requester: FakeRequester
    requester_url: str


@pytest.fixture
async def setup(
    aiohttp_server: Any,
    aiohttp_client: Any,
    federation: Federation,
    node_settings: NodeSettings,
    tmp_path: Path,
) -> Setup:
    """A node whose PACT API may answer the fake requester (HTTPS, federation CA), retrying twice at once."""
    requester = FakeRequester()
    cert, key = federation.cert("server")
    tls = server_ssl_context(cert, key, federation.ca_file, require_client_certificate=False)
    server: TestServer = await aiohttp_server(requester.app(), ssl=tls)
    peers = tmp_path / "pact-peers.json"
    peers.write_text(
        json.dumps({f"127.0.0.1:{server.port}": {"client_id": PEER_ID, "client_secret": PEER_SECRET}}),
        "utf-8",
    )
    settings = replace(
        node_settings,
        pact_peer_credentials=peers,
        tls_client_ca=federation.ca_file,
        pact_retry_delays=(0.0, 0.0),
    )
    await initialise_node(settings, SECRET)
    app = create_app(settings)
    api = await aiohttp_client(app)
    return Setup(api, app, requester, f"https://127.0.0.1:{server.port}")


async def recipient(setup: Setup, name: str = "recipient", prefix: str | None = None) -> IssuedClient:
    pact = setup.app[PACT_KEY]
    return await add_client(pact.store, pact.settings, name, prefix=prefix, at=now_text())


def basic_of(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def bearer(setup: Setup, issued: IssuedClient) -> dict[str, str]:
    response = await setup.api.post(
        "/auth/token",
        data="grant_type=client_credentials",
        headers={"Authorization": basic_of(issued.client_id, issued.client_secret), "Content-Type": FORM},
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['access_token']}"}


def form(name: str, **members: Any) -> dict[str, Any]:
    document = example("product-footprint/1")
    document["name"] = name
    document.update(members)
    return document


async def publish_form(
    setup: Setup, document: dict[str, Any], suffix: str, visibility: str | None = None
) -> str:
    answer = await publish(
        setup.api, document, template="product-footprint/1", suffix=suffix, visibility=visibility
    )
    return str(answer["handle"])


async def pact_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    return dict(body)


# --------------------------------------------------------------------------------------------------------------
# Action Authenticate


async def test_token_for_good_credentials(setup: Setup):
    issued = await recipient(setup)
    response = await setup.api.post(
        "/auth/token",
        data="grant_type=client_credentials&scope=PACT.read",
        headers={"Authorization": basic_of(issued.client_id, issued.client_secret), "Content-Type": FORM},
    )
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    footprints = await setup.api.get(
        "/2/footprints", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert footprints.status == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic_of("pact-unknown", "secret"),
        "Basic !!!not-base64",
        "Bearer something",
    ],
)
async def test_token_refuses_unknown_or_missing_client_credentials(setup: Setup, authorization: str | None):
    headers = {"Content-Type": FORM, **({"Authorization": authorization} if authorization else {})}
    response = await setup.api.post("/auth/token", data="grant_type=client_credentials", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert (await response.json())["error"] == "invalid_client"


async def test_token_refuses_a_wrong_secret(setup: Setup):
    issued = await recipient(setup)
    response = await setup.api.post(
        "/auth/token",
        data="grant_type=client_credentials",
        headers={"Authorization": basic_of(issued.client_id, "wrong"), "Content-Type": FORM},
    )
    assert (response.status, (await response.json())["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ("grant_type=client_credentials", "application/json", "invalid_request"),
        ("", FORM, "invalid_request"),
        ("grant_type", FORM, "invalid_request"),
        ("grant_type=client_credentials&grant_type=client_credentials", FORM, "invalid_request"),
        ("grant_type=password", FORM, "unsupported_grant_type"),
        ("grant_type=authorization_code&code=x", FORM, "unsupported_grant_type"),
    ],
)
async def test_token_refuses_malformed_bodies_and_other_grants(
    setup: Setup, body: str, content_type: str, error: str
):
    issued = await recipient(setup)
    response = await setup.api.post(
        "/auth/token",
        data=body,
        headers={
            "Authorization": basic_of(issued.client_id, issued.client_secret),
            "Content-Type": content_type,
        },
    )
    assert response.status == 400
    answer = await response.json()
    assert answer["error"] == error
    assert answer["error_description"]


async def test_tokens_of_a_revoked_client_stop_working(setup: Setup):
    issued = await recipient(setup)
    headers = await bearer(setup, issued)
    pact = setup.app[PACT_KEY]
    async with pact.store.unit(write=True) as db:
        assert await db.revoke_client(issued.client_id, now_text())
    await pact_error(await setup.api.get("/2/footprints", headers=headers), 400, "BadRequest")


# --------------------------------------------------------------------------------------------------------------
# Bearer tokens on the /2 actions


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/2/footprints"),
        ("GET", "/2/footprints/4c1b5f3e-2f0a-4b7c-9d1e-0a1b2c3d4e5f"),
        ("POST", "/2/events"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer very-invalid-access-token", "Basic eDp5"])
async def test_missing_or_invalid_tokens_are_bad_requests(
    setup: Setup, method: str, path: str, authorization: str | None
):
    headers = {"Content-Type": CLOUDEVENTS, **({"Authorization": authorization} if authorization else {})}
    body = json.dumps({"specversion": "1.0", "id": "1", "source": "//x", "type": EVENT_PUBLISHED, "data": {}})
    response = await setup.api.request(method, path, headers=headers, data=body if method == "POST" else None)
    await pact_error(response, 400, "BadRequest")


async def test_an_expired_token_is_token_expired(setup: Setup):
    headers = await bearer(setup, await recipient(setup))
    pact = setup.app[PACT_KEY]
    # Issued now with pact_token_ttl 3600 s: 3601 s later it has expired.
    later = datetime.now(UTC) + timedelta(seconds=3601)
    pact.clock = lambda: later
    response = await setup.api.get("/2/footprints", headers=headers)
    await pact_error(response, 401, "TokenExpired")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


class RemoteTransport:
    """The transport of a plain-HTTP connection from another host (203.0.113.5, TEST-NET-3)."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("203.0.113.5", 50000) if name == "peername" else default


async def test_pact_is_refused_over_plain_http_from_another_host(setup: Setup):
    headers = await bearer(setup, await recipient(setup))
    listing = make_mocked_request("GET", "/2/footprints", headers, app=setup.app, transport=RemoteTransport())
    refused = await get_footprints(listing)
    assert refused.status == 403
    assert json.loads(refused.body)["code"] == "AccessDenied"
    token = make_mocked_request(
        "POST", "/auth/token", {"Content-Type": FORM}, app=setup.app, transport=RemoteTransport()
    )
    refused = await post_token(token)
    assert refused.status == 400
    assert json.loads(refused.body)["error"] == "invalid_request"


async def test_over_https_the_actions_work_and_plain_http_gets_no_answer(
    setup: Setup, aiohttp_server: Any, federation: Federation
):
    await publish_form(setup, form("ingot 1"), "CICES.S1")
    await publish_form(setup, form("ingot 2"), "CICES.S2")
    issued = await recipient(setup)
    port = unused_port()
    settings = replace(setup.app[PACT_KEY].settings, public_url=f"https://127.0.0.1:{port}")
    cert, key = federation.cert("server")
    tls = server_ssl_context(cert, key, federation.ca_file, require_client_certificate=False)
    await aiohttp_server(create_app(settings), port=port, ssl=tls)
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(federation.ca_file))
    async with aiohttp.ClientSession(connector=connector) as session:
        base = f"https://127.0.0.1:{port}"
        auth = {"Authorization": basic_of(issued.client_id, issued.client_secret), "Content-Type": FORM}
        async with session.post(
            f"{base}/auth/token", data="grant_type=client_credentials", headers=auth
        ) as answer:
            token = (await answer.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{base}/2/footprints?limit=1", headers=headers) as answer:
            assert answer.status == 200
            assert answer.headers["Link"].startswith(f"<{base}/2/footprints?limit=1&page=")
        for method, path in (("POST", "/auth/token"), ("GET", "/2/footprints"), ("POST", "/2/events")):
            with pytest.raises(aiohttp.ClientError):
                async with session.request(
                    method, f"http://127.0.0.1:{port}{path}", headers=headers
                ) as answer:
                    await answer.read()


# --------------------------------------------------------------------------------------------------------------
# Footprints: shape and values


async def test_a_published_form_is_a_valid_footprint_with_its_figures(setup: Setup):
    handle = await publish_form(setup, form("A00 铝锭"), "CICES.AL")
    await publish(
        setup.api, example("enterprise-profile/1"), template="enterprise-profile/1", suffix="PROFILE"
    )
    headers = await bearer(setup, await recipient(setup))
    body = await (await setup.api.get("/2/footprints", headers=headers)).json()
    assert len(body["data"]) == 1
    result = body["data"][0]
    assert_footprint(result)
    assert result["specVersion"] == "2.3.0"
    assert result["version"] == 1
    assert "updated" not in result  # never updated: the spec forbids the property
    assert result["companyName"] == example("enterprise-profile/1")["name"]
    assert result["companyIds"] == [f"urn:pact:company:customcode:vendor-assigned:{PREFIX}"]
    assert result["productIds"] == [f"urn:pact:carbonid.org:supplier-id:{handle}"]
    assert result["productNameCompany"] == "A00 铝锭"
    assert result["productCategoryCpc"] == "4"
    pcf = result["pcf"]
    # The example form: 12.9 kgCO2e per kg of ingot, quantified as 1 kg.
    assert (pcf["declaredUnit"], pcf["unitaryProductAmount"]) == ("kilogram", "1")
    assert pcf["pCfExcludingBiogenic"] == pcf["fossilGhgEmissions"] == pcf["pCfIncludingBiogenic"] == "12.9"
    assert (pcf["referencePeriodStart"], pcf["referencePeriodEnd"]) == (
        "2025-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
    )
    # validUntil 2027-12-31 (inclusive) → end 2028-01-01, within the spec's reference end + 3 years.
    assert (result["validityPeriodStart"], result["validityPeriodEnd"]) == (
        "2026-01-01T00:00:00Z",
        "2028-01-01T00:00:00Z",
    )
    assert pcf["geographyCountry"] == "CN"
    # TiR 1, TeR 2, GeR 1, SoR 2 → 1 + (s − 1) / 2; completeness from the DQR (1 + 2 + 1 + 2) / 4 = 1.5 → 1.25.
    assert pcf["dqi"] == {
        "coveragePercent": 100,
        "technologicalDQR": 1.5,
        "temporalDQR": 1.0,
        "geographicalDQR": 1.0,
        "completenessDQR": 1.25,
        "reliabilityDQR": 1.5,
    }
    # Inventory kgCO2e: alumina 1.93 × 1.2 = 2.316 (supplier form, primary), anodes 0.42 × 0.6 = 0.252 (generic),
    # gas 0.104 × 2.16 = 0.22464, power 13.75 × 0.55 = 7.5625, CO2 1.51 × 1 = 1.51, CF4 0.00008 × 7380 = 0.5904,
    # transport 0.2 × 0.078 = 0.0156; total 12.47114, primary 12.21914 → 97.979…% → 97.98.
    assert pcf["primaryDataShare"] == 97.98
    assert (pcf["characterizationFactors"], pcf["ipccCharacterizationFactorsSources"]) == ("AR6", ["AR6"])
    assert [source["name"] for source in pcf["secondaryEmissionFactorSources"]] == [
        "CICES 缺省值",
        "GB/T 32150 缺省值",
        "生态环境部公告2025年第47号 华东电网",
    ]
    assert pcf["secondaryEmissionFactorSources"][2]["version"] == "2025"


async def test_units_convert_to_the_declared_unit_and_pieces_are_not_footprints(setup: Setup):
    await publish_form(
        setup,
        form("ingot, tonnes", quantification={"kind": "mass", "amount": 1, "unit": "t"},
             emissionFactor={"value": 12.9, "unit": "tCO2e/t"}, tags=["CPC:41431"]),
        "CICES.T",
    )  # fmt: skip
    await publish_form(
        setup,
        form("ingot, 20 kg", quantification={"kind": "mass", "amount": 20, "unit": "kg"},
             emissionFactor={"value": 12900, "unit": "kgCO2e/t"}),
        "CICES.20KG",
    )  # fmt: skip
    await publish_form(
        setup,
        form("bracket", quantification={"kind": "count", "amount": 1, "unit": "件"},
             emissionFactor={"value": 3.2, "unit": "kgCO2e/件"}),
        "CICES.PIECE",
    )  # fmt: skip
    headers = await bearer(setup, await recipient(setup))
    data = (await (await setup.api.get("/2/footprints", headers=headers)).json())["data"]
    by_name = {item["productNameCompany"]: item for item in data}
    assert set(by_name) == {"ingot, tonnes", "ingot, 20 kg"}  # a piece has no v2.3 declared unit
    for item in data:
        assert_footprint(item)
    tonnes = by_name["ingot, tonnes"]
    # 1 t = 1000 kg of product; 12.9 tCO2e/t = 12.9 × 1000 kg / 1000 kg = 12.9 kgCO2e/kg.
    assert (tonnes["pcf"]["unitaryProductAmount"], tonnes["pcf"]["pCfExcludingBiogenic"]) == ("1000", "12.9")
    assert tonnes["productCategoryCpc"] == "41431"
    assert tonnes["productClassifications"] == ["urn:cpc:41431"]
    kg20 = by_name["ingot, 20 kg"]
    # 12900 kgCO2e/t ÷ 1000 kg/t = 12.9 kgCO2e/kg; the product is 20 kg.
    assert (kg20["pcf"]["unitaryProductAmount"], kg20["pcf"]["pCfExcludingBiogenic"]) == ("20", "12.9")


async def test_a_new_version_keeps_the_id_and_says_updated(setup: Setup):
    handle = await publish_form(setup, form("ingot"), "CICES.V")
    headers = await bearer(setup, await recipient(setup))
    first = (await (await setup.api.get("/2/footprints", headers=headers)).json())["data"][0]
    document = form("ingot", emissionFactor={"value": 11.5, "unit": "kgCO2e/kg"})
    await publish(setup.api, document, template="product-footprint/1", suffix="CICES.V", reason="green power")
    second = await (await setup.api.get(f"/2/footprints/{first['id']}", headers=headers)).json()
    assert second["data"]["id"] == first["id"]
    assert second["data"]["version"] == 2
    assert second["data"]["pcf"]["pCfExcludingBiogenic"] == "11.5"
    assert second["data"]["productIds"] == [product_id(handle)]
    if "updated" in second["data"]:  # published within the same second as version 1, it cannot be later
        assert second["data"]["updated"] > second["data"]["created"]
    assert_footprint(second["data"])


# --------------------------------------------------------------------------------------------------------------
# Pagination


async def test_pagination_follows_absolute_next_links_to_the_end(setup: Setup):
    for number in range(5):
        await publish_form(setup, form(f"ingot {number}"), f"CICES.P{number}")
    await publish_form(
        setup,
        form("bracket", quantification={"kind": "count", "amount": 1, "unit": "件"},
             emissionFactor={"value": 3.2, "unit": "kgCO2e/件"}),
        "CICES.P9",
    )  # fmt: skip
    headers = await bearer(setup, await recipient(setup))
    everything = (await (await setup.api.get("/2/footprints", headers=headers)).json())["data"]
    assert len(everything) == 5

    pages: list[list[str]] = []
    response = await setup.api.get("/2/footprints?limit=2", headers=headers)
    host = f"127.0.0.1:{setup.api.port}"
    while True:
        assert response.status == 200
        ids = [item["id"] for item in (await response.json())["data"]]
        assert len(ids) <= 2
        pages.append(ids)
        link = response.headers.get("Link")
        if link is None:
            break
        match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert match, link
        url = urlsplit(match.group(1))
        assert (url.scheme, url.netloc, url.path) == ("http", host, "/2/footprints")  # absolute, same host
        next_path = f"{url.path}?{url.query}"
        again = await setup.api.get(next_path, headers=headers)  # a pagination link may be called twice
        response = await setup.api.get(next_path, headers=headers)
        assert [i["id"] for i in (await again.json())["data"]] == [
            i["id"] for i in (await response.json())["data"]
        ]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [pf_id for page in pages for pf_id in page] == [item["id"] for item in everything]


async def test_the_next_link_names_the_host_the_client_asked(setup: Setup):
    for number in range(2):
        await publish_form(setup, form(f"ingot {number}"), f"CICES.H{number}")
    headers = await bearer(setup, await recipient(setup))
    response = await setup.api.get(
        "/2/footprints?limit=1", headers={**headers, "Host": "pact.example.org:8443"}
    )
    link = response.headers["Link"]
    assert link.startswith("<http://pact.example.org:8443/2/footprints?limit=1&page=")
    assert link.endswith('>; rel="next"')


@pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=x", "page=not-a-cursor"])
async def test_bad_pagination_parameters_are_bad_requests(setup: Setup, query: str):
    headers = await bearer(setup, await recipient(setup))
    await pact_error(await setup.api.get(f"/2/footprints?{query}", headers=headers), 400, "BadRequest")


async def test_a_filter_is_answered_as_if_absent(setup: Setup):
    await publish_form(setup, form("ingot"), "CICES.F")
    headers = await bearer(setup, await recipient(setup))
    response = await setup.api.get(
        "/2/footprints", params={"$filter": "created ge '2030-01-01T00:00:00Z'"}, headers=headers
    )
    assert response.status == 200  # never 202: the spec forbids it without a filter being processed
    assert len((await response.json())["data"]) == 1


# --------------------------------------------------------------------------------------------------------------
# GetFootprint and who sees what


async def test_get_footprint_unknown_ids_are_no_such_footprint(setup: Setup):
    headers = await bearer(setup, await recipient(setup))
    for pf_id in ("1b0e3f2a-7d1c-4c9e-8f2b-5a6d7e8f9a0b", "random-string-as-id"):
        await pact_error(
            await setup.api.get(f"/2/footprints/{pf_id}", headers=headers), 404, "NoSuchFootprint"
        )


async def test_private_forms_are_shared_only_through_grants(setup: Setup):
    await publish_form(setup, form("public ingot"), "CICES.PUB")
    private = await publish_form(setup, form("private ingot"), "CICES.PRIV", visibility="private")
    granted = await setup.api.post(
        f"/api/records/{private}/grants", json={"prefix": "88.186.7"}, headers=ADMIN
    )
    assert granted.status == 201
    anyone = await bearer(setup, await recipient(setup, "anyone"))
    customer = await bearer(setup, await recipient(setup, "customer", prefix="88.186.7"))
    other = await bearer(setup, await recipient(setup, "other", prefix="88.186.9"))

    async def names(headers: dict[str, str]) -> set[str]:
        data = (await (await setup.api.get("/2/footprints", headers=headers)).json())["data"]
        return {item["productNameCompany"] for item in data}

    assert await names(anyone) == {"public ingot"}
    assert await names(other) == {"public ingot"}
    assert await names(customer) == {"public ingot", "private ingot"}
    private_id = next(
        item["id"]
        for item in (await (await setup.api.get("/2/footprints", headers=customer)).json())["data"]
        if item["productNameCompany"] == "private ingot"
    )
    assert (await setup.api.get(f"/2/footprints/{private_id}", headers=customer)).status == 200
    await pact_error(await setup.api.get(f"/2/footprints/{private_id}", headers=other), 403, "AccessDenied")


# --------------------------------------------------------------------------------------------------------------
# Action Events


def cloud_event(
    event_type: str, data: Any, *, event_id: str = "event-1", source: str = "//peer.example"
) -> str:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "time": "2025-05-19T10:30:00Z",
            "type": event_type,
            "data": data,
        }
    )


async def post_event(setup: Setup, headers: dict[str, str], body: str) -> Any:
    return await setup.api.post("/2/events", data=body, headers={**headers, "Content-Type": CLOUDEVENTS})


async def test_a_published_notification_is_accepted_with_an_empty_body(setup: Setup):
    headers = await bearer(setup, await recipient(setup))
    data = {"pfIds": ["3a6c14a7-4deb-498a-b5ea-16ce2535b576"]}
    response = await post_event(setup, headers, cloud_event(EVENT_PUBLISHED, data))
    assert response.status == 200
    assert await response.read() == b""


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (cloud_event(EVENT_PUBLISHED, {"pfIds": ["urn:gtin:4712345060507"]}), "BadRequest"),
        (cloud_event(EVENT_PUBLISHED, {"pfIds": []}), "BadRequest"),
        (cloud_event(EVENT_PUBLISHED, "not an object"), "BadRequest"),
        (
            json.dumps(
                {"specversion": "0.3", "id": "1", "source": "//x", "type": EVENT_PUBLISHED, "data": {}}
            ),
            "BadRequest",
        ),
        (
            json.dumps({"specversion": "1.0", "source": "//x", "type": EVENT_PUBLISHED, "data": {}}),
            "BadRequest",
        ),
        ("{not json", "BadRequest"),
        ("[]", "BadRequest"),
        (cloud_event("org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1", {}), "NotImplemented"),
        (
            cloud_event(
                EVENT_REQUEST_CREATED, {"pf": {"productIds": ["urn:x:y"]}}, source="//stranger.example"
            ),
            "BadRequest",
        ),
        (
            cloud_event(
                EVENT_REQUEST_CREATED, {"pf": {"productIds": ["urn:x:y"]}}, source="http://127.0.0.1:1"
            ),
            "BadRequest",
        ),
    ],
)
async def test_malformed_or_unanswerable_events_are_refused(setup: Setup, body: str, code: str):
    headers = await bearer(setup, await recipient(setup))
    await pact_error(await post_event(setup, headers, body), 400, code)


async def requests_in_queue(setup: Setup) -> list[Any]:
    async with setup.app[ENGINE_KEY].connect() as conn:
        rows = await conn.execute(sa.select(pact_schema.requests).order_by(pact_schema.requests.c.id))
        return list(rows)


async def test_a_footprint_request_is_fulfilled_asynchronously(setup: Setup):
    setup.requester.discovery = True
    handle = await publish_form(setup, form("A00 铝锭"), "CICES.REQ")
    headers = await bearer(setup, await recipient(setup))
    request = cloud_event(
        EVENT_REQUEST_CREATED,
        {"pf": {"productIds": [product_id(handle)]}, "comment": "Please send PCF data for this year."},
        event_id="run-12",
        source=setup.requester_url,
    )
    response = await post_event(setup, headers, request)
    assert (response.status, await response.read()) == (200, b"")
    await asyncio.wait_for(setup.requester.received.wait(), 30)

    assert setup.requester.token_paths == ["/oauth2/token"]  # found through OpenID discovery
    (sent_headers, event), = setup.requester.events  # fmt: skip
    assert sent_headers["Content-Type"] == CLOUDEVENTS
    assert event["type"] == "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1"
    assert event["specversion"] == "1.0"
    assert re.fullmatch(r"[0-9a-f-]{36}", event["id"])
    assert event["data"]["requestEventId"] == "run-12"
    (sent,) = event["data"]["pfs"]
    assert_footprint(sent)
    assert sent["productIds"] == [product_id(handle)]
    listed = (await (await setup.api.get("/2/footprints", headers=headers)).json())["data"]
    assert sent == listed[0]


async def test_a_request_for_an_unknown_product_is_rejected(setup: Setup):
    headers = await bearer(setup, await recipient(setup))
    request = cloud_event(
        EVENT_REQUEST_CREATED,
        {"pf": {"productIds": ["urn:pact:null"]}},
        event_id="run-14.A",
        source=setup.requester_url,
    )
    assert (await post_event(setup, headers, request)).status == 200
    await asyncio.wait_for(setup.requester.received.wait(), 30)
    assert setup.requester.token_paths == ["/auth/token"]  # no discovery document: the spec's fallback
    (_, event), = setup.requester.events  # fmt: skip
    assert event["type"] == "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1"
    assert event["data"]["requestEventId"] == "run-14.A"
    assert event["data"]["error"]["code"] == "NoSuchFootprint"
    assert event["data"]["error"]["message"]


async def test_a_request_for_a_form_not_shared_is_rejected_access_denied(setup: Setup):
    handle = await publish_form(setup, form("private ingot"), "CICES.HIDDEN", visibility="private")
    headers = await bearer(setup, await recipient(setup))
    request = cloud_event(
        EVENT_REQUEST_CREATED, {"pf": {"productIds": [product_id(handle)]}}, source=setup.requester_url
    )
    assert (await post_event(setup, headers, request)).status == 200
    await asyncio.wait_for(setup.requester.received.wait(), 30)
    assert setup.requester.events[0][1]["data"]["error"]["code"] == "AccessDenied"


async def test_an_answer_is_retried_until_the_requester_takes_it(setup: Setup):
    setup.requester.statuses = [503, 500]
    handle = await publish_form(setup, form("ingot"), "CICES.RETRY")
    headers = await bearer(setup, await recipient(setup))
    request = cloud_event(
        EVENT_REQUEST_CREATED, {"pf": {"productIds": [product_id(handle)]}}, source=setup.requester_url
    )
    assert (await post_event(setup, headers, request)).status == 200
    # A repeated request event (same source and id) is answered once.
    assert (await post_event(setup, headers, request)).status == 200
    await setup.app[PACT_RESPONDER_KEY].drain()
    events = [event for _, event in setup.requester.events]
    assert len(events) == 3  # 503, 500, then 200 (pact_retry_delays has two delays: three attempts)
    assert len({event["id"] for event in events}) == 1  # every retry sends the very same event
    (row,) = await requests_in_queue(setup)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)


async def test_an_answer_is_given_up_after_the_last_retry(setup: Setup):
    setup.requester.statuses = [503, 503, 503, 503]
    handle = await publish_form(setup, form("ingot"), "CICES.GIVEUP")
    headers = await bearer(setup, await recipient(setup))
    request = cloud_event(
        EVENT_REQUEST_CREATED, {"pf": {"productIds": [product_id(handle)]}}, source=setup.requester_url
    )
    assert (await post_event(setup, headers, request)).status == 200
    await setup.app[PACT_RESPONDER_KEY].drain()
    assert len(setup.requester.events) == 3
    (row,) = await requests_in_queue(setup)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "HTTP 503" in row.last_error


# --------------------------------------------------------------------------------------------------------------
# The command line


async def test_pact_client_add_list_revoke(tmp_path: Path, database_url: str, aiohttp_client: Any):
    from tests.node.test_cli import write_config

    config = write_config(tmp_path, database_url)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(node_cli, list(args), catch_exceptions=False)

    assert (await asyncio.to_thread(invoke, "init", "--config", str(config))).exit_code == 0
    added = await asyncio.to_thread(
        invoke, "pact-client", "add", "automaker", "--prefix", "88.186.7", "--config", str(config)
    )
    assert added.exit_code == 0, added.output
    client_id = re.search(r"^client_id\s+(\S+)$", added.output, re.MULTILINE)
    secret = re.search(r"^client_secret\s+(\S+)$", added.output, re.MULTILINE)
    assert client_id
    assert secret
    assert "88.186.7" in added.output
    duplicate = await asyncio.to_thread(invoke, "pact-client", "add", "automaker", "--config", str(config))
    assert duplicate.exit_code == 1
    bad = await asyncio.to_thread(invoke, "pact-client", "add", "x y", "--config", str(config))
    assert bad.exit_code == 1
    own = await asyncio.to_thread(
        invoke, "pact-client", "add", "me", "--prefix", PREFIX, "--config", str(config)
    )
    assert own.exit_code == 1

    listed = await asyncio.to_thread(invoke, "pact-client", "list", "--config", str(config))
    assert f"{client_id.group(1)}\tautomaker\t88.186.7\tactive" in listed.output
    assert secret.group(1) not in listed.output

    settings = NodeSettings(
        prefix=PREFIX, data_dir=tmp_path / "data", database_url=database_url, log_json=False
    )
    api = await aiohttp_client(create_app(settings))
    token = await api.post(
        "/auth/token",
        data="grant_type=client_credentials",
        headers={"Authorization": basic_of(client_id.group(1), secret.group(1)), "Content-Type": FORM},
    )
    assert token.status == 200

    revoked = await asyncio.to_thread(
        invoke, "pact-client", "revoke", client_id.group(1), "--config", str(config)
    )
    assert revoked.exit_code == 0, revoked.output
    again = await api.post(
        "/auth/token",
        data="grant_type=client_credentials",
        headers={"Authorization": basic_of(client_id.group(1), secret.group(1)), "Content-Type": FORM},
    )
    assert again.status == 401


# --------------------------------------------------------------------------------------------------------------
# The mapping and the requester rules (pure)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("0E-8"), "0"),
        (Decimal("12.900"), "12.9"),
        (Decimal("0.00001"), "0.00001"),
        (Decimal(1) / Decimal(3), "0.333333333333333"),  # 15 significant digits
    ],
)
def test_decimals_are_plain_dotted_text(value: Decimal, text: str):
    assert decimal_text(value) == text


@pytest.mark.parametrize(
    ("quantification", "factor", "declared", "amount", "pcf"),
    [
        # 1 MWh = 1000 kWh; 0.55 tCO2e/MWh = 550 kg / 1000 kWh = 0.55 kgCO2e/kWh.
        (
            {"kind": "energy", "amount": 1, "unit": "MWh"},
            {"value": 0.55, "unit": "tCO2e/MWh"},
            "kilowatt hour",
            "1000",
            "0.55",
        ),
        # 1 GJ = 1000 MJ; 110 kgCO2e/GJ = 0.11 kgCO2e/MJ.
        (
            {"kind": "energy", "amount": 2, "unit": "GJ"},
            {"value": 110, "unit": "kgCO2e/GJ"},
            "megajoule",
            "2000",
            "0.11",
        ),
        # 500 g = 0.5 kg; 4 gCO2e/g = 4 × 0.001 kg / 0.001 kg = 4 kgCO2e/kg.
        (
            {"kind": "mass", "amount": 500, "unit": "g"},
            {"value": 4, "unit": "gCO2e/g"},
            "kilogram",
            "0.5",
            "4",
        ),
        (
            {"kind": "volume", "amount": 1, "unit": "m³"},
            {"value": 2.5, "unit": "kgCO₂e/m3"},
            "cubic meter",
            "1",
            "2.5",
        ),
        (
            {"kind": "other", "amount": 1, "unit": "t·km"},
            {"value": 0.078, "unit": "kgCO2e/(t·km)"},
            "ton kilometer",
            "1",
            "0.078",
        ),
    ],
)
def test_declared_units_and_factors_convert(
    quantification: dict[str, Any], factor: dict[str, Any], declared: str, amount: str, pcf: str
):
    unit, quantity = declared_unit(quantification)
    assert (unit.declared, decimal_text(quantity)) == (declared, amount)
    assert decimal_text(pcf_per_declared_unit(factor, unit)) == pcf


@pytest.mark.parametrize(
    ("quantification", "factor"),
    [
        ({"kind": "count", "amount": 1, "unit": "件"}, {"value": 1, "unit": "kgCO2e/件"}),
        ({"kind": "mass", "amount": 1, "unit": "kWh"}, {"value": 1, "unit": "kgCO2e/kWh"}),
        ({"kind": "mass", "amount": 1, "unit": "kg"}, {"value": 1, "unit": "kgCO2e/kWh"}),
        ({"kind": "mass", "amount": 1, "unit": "kg"}, {"value": 1, "unit": "kg/kg"}),
    ],
)
def test_forms_outside_v2_3_are_unmappable(quantification: dict[str, Any], factor: dict[str, Any]):
    def pcf() -> Decimal:
        unit, _ = declared_unit(quantification)
        return pcf_per_declared_unit(factor, unit)

    with pytest.raises(UnmappableForm, match=r"^/(quantification|emissionFactor)"):
        pcf()


def test_dqr_scale_and_product_ids_round_trip():
    assert [dqr_to_pact(score) for score in (1, 2, 3, 4, 5)] == [1.0, 1.5, 2.0, 2.5, 3.0]
    urn = product_id("88.186.1/CICES.铝锭 #1")
    assert urn == "urn:pact:carbonid.org:supplier-id:88.186.1/CICES.%E9%93%9D%E9%94%AD%20%231"
    assert handle_of_product_id(urn) == "88.186.1/CICES.铝锭 #1"
    assert handle_of_product_id("URN:PACT:carbonid.org:SUPPLIER-ID:88.186.1/X") == "88.186.1/X"
    assert handle_of_product_id("urn:pact:null") is None


def test_a_2024_footprint_leaves_out_what_the_spec_requires_only_from_2025():
    document = example("product-footprint/1")
    document.update(collectionPeriod={"start": "2024-01-01", "end": "2024-12-31"}, validUntil="2030-06-30")
    form_version = FormVersion(
        "8e2c9a4b-1f3d-4a5e-9b6c-7d8e9f0a1b2c",
        "88.186.1/CICES.1",
        1,
        "2025-01-05T00:00:00Z",
        "2025-01-05T00:00:00Z",
        document,
    )
    result = footprint(form_version, Company("Acme", PREFIX), default_cpc="4")
    assert_footprint(result)
    # Reference end 2025-01-01 (exclusive): nothing of 2025 is in it, so the O* properties stay optional.
    assert "dLucGhgEmissions" not in result["pcf"]
    assert "geographyCountry" not in result["pcf"]
    # validUntil 2030-06-30 lies beyond reference end + 3 years: the validity is capped at 2028-01-01.
    assert result["validityPeriodEnd"] == "2028-01-01T00:00:00Z"


def test_updated_appears_only_after_a_later_version():
    document = example("product-footprint/1")

    def mapped(created: str, updated: str) -> dict[str, Any]:
        form_version = FormVersion(
            "8e2c9a4b-1f3d-4a5e-9b6c-7d8e9f0a1b2c", "88.186.1/CICES.1", 2, created, updated, document
        )
        return footprint(form_version, Company("Acme", PREFIX), default_cpc="4")

    assert "updated" not in mapped("2025-03-01T08:00:00Z", "2025-03-01T08:00:00Z")
    assert mapped("2025-03-01T08:00:00Z", "2025-04-02T09:30:00Z")["updated"] == "2025-04-02T09:30:00Z"


def test_requesters_are_https_base_urls_and_credentials_are_checked():
    assert requester_of("https://Webhook.Example.com") == requester_of("//webhook.example.com:443/")
    assert requester_of("//peer.example:8443/pact/").base == "https://peer.example:8443/pact"
    for source in (
        "http://peer.example",
        "peer.example",
        "https://u:p@peer.example",
        "https://peer.example?q=1",
    ):
        with pytest.raises(ValueError, match="source"):
            requester_of(source)
    good = json.dumps({"peer.example:8443": {"client_id": "a", "client_secret": "b"}})
    assert parse_peer_credentials(good, "f")["peer.example:8443"].client_secret == "b"
    for bad in (
        '{"https://peer.example": {"client_id": "a", "client_secret": "b"}}',
        '{"peer.example": {"client_id": "a"}}',
        "[]",
    ):
        with pytest.raises(ValueError, match=r"^f "):
            parse_peer_credentials(bad, "f")
