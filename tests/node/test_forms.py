"""Product carbon forms: every workflow step and refusal, the history, publication as a signed record with
the computed factor, the default validity, sending to a customer, received forms, reviewer accounts."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from carbonid.node_cli import node as node_cli
from certs.data_integrity import verify_proofs
from certs.did import DidDocument
from common.settings import load_settings
from metadata_templates import default_catalog
from node.app import create_app
from node.form_documents import compute_form_factor, two_years_after
from node.reviewers import add_reviewer
from node.runtime import open_node
from node.settings import NodeSettings
from tests.node.conftest import ADMIN, ADMIN_USER, PREFIX, basic, example, footprint, publish
from tests.node.test_app import Conformance

REVIEWER_SECRET = "reviewer secret"
PROBLEMS = "https://carbonid.org/problems/"


def simple_form(**members: Any) -> dict[str, Any]:
    """A form whose factor is easy to check by hand (no library factor involved):

    material 2.0 kg × 2.5 kgCO2e/kg = 5.0; CO2 0.3 kg × GWP 1 = 0.3; transport 0.5 t·km × 0.1 = 0.05;
    Σ = 5.35 kgCO2e per functional unit, and the functional unit is 1 kg: 5.35 kgCO2e/kg.
    """
    document = footprint()
    for member in ("emissionFactor", "validUntil"):
        document.pop(member)
    document["inventory"] = {
        "materials": [
            {
                "name": "冷轧钢板",
                "quantity": 2.0,
                "unit": "kg",
                "emissionFactor": {"value": 2.5, "unit": "kgCO2e/kg", "source": "供应商实测"},
            }
        ],
        "primaryEnergy": [],
        "secondaryEnergy": [],
        "directEmissions": [
            {"gas": "CO2", "method": "shielding-gas", "quantity": 0.3, "unit": "kg"},
        ],
        "transport": [
            {
                "leg": "outbound",
                "mode": "road",
                "tonneKm": 0.5,
                "emissionFactor": {"value": 0.1, "unit": "kgCO2e/(t·km)", "source": "运输商"},
            }
        ],
    }
    document.update(members)
    return document


def reviewer_header(name: str = "alice", secret: str = REVIEWER_SECRET) -> dict[str, str]:
    """Basic `reviewer:<name>:<secret>`, the colon not percent-encoded (as curl -u sends it)."""
    return {"Authorization": "Basic " + base64.b64encode(f"reviewer:{name}:{secret}".encode()).decode()}


@pytest.fixture
async def reviewer(node_settings, node_app) -> dict[str, str]:
    async with open_node(node_settings) as ctx:
        await add_reviewer(ctx, "alice", REVIEWER_SECRET)
    return reviewer_header()


@pytest.fixture
async def profiled(client):
    """The node with its enterprise profile published (region 330522), so factors compute."""
    await publish(client, example("enterprise-profile/1"), template="enterprise-profile/1")
    return client


async def call(client, method: str, path: str, *, headers, expect: int, **kwargs) -> Any:
    response = await client.request(method, path, headers=headers, **kwargs)
    body = await response.json(content_type=None) if response.status != 204 else None
    assert response.status == expect, body
    return body


async def create(client, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return await call(
        client, "POST", "/api/forms", headers=ADMIN, expect=201, json={"document": document or simple_form()}
    )


async def step(client, handle: str, name: str, headers, expect: int = 200, **kwargs) -> dict[str, Any]:
    return await call(client, "POST", f"/api/forms/{handle}/{name}", headers=headers, expect=expect, **kwargs)


async def approved(client, reviewer, document: dict[str, Any] | None = None) -> str:
    handle = (await create(client, document))["handle"]
    await step(client, handle, "submit", ADMIN)
    await step(client, handle, "approve", reviewer)
    return handle


async def test_a_form_goes_from_draft_to_a_signed_record_with_its_computed_factor(profiled, reviewer):
    client = profiled
    form = await create(client)
    handle = form["handle"]
    assert handle == f"{PREFIX}/PF.1"
    assert (form["state"], form["href"], form["record"], form["rejection"]) == (
        "draft", f"/api/forms/{handle}", None, None
    )  # fmt: skip
    # Computed at once from the inventory: 2.0 × 2.5 + 0.3 × 1 + 0.5 × 0.1 = 5.35 kgCO2e/kg.
    assert math.isclose(form["emissionFactor"], 5.35, rel_tol=1e-9)
    assert form["emissionFactorUnit"] == "kgCO2e/kg"
    assert form["footprintErrors"] is None
    assert [line["pointer"] for line in form["footprint"]["lines"]] == [
        "/inventory/materials/0", "/inventory/directEmissions/0", "/inventory/transport/0"
    ]  # fmt: skip
    assert form["tags"] == ["原材料", "铝"]

    submitted = await step(client, handle, "submit", ADMIN)
    assert submitted["state"] == "submitted"
    approved_form = await step(client, handle, "approve", reviewer, json={"reason": "数据齐全"})
    assert approved_form["state"] == "approved"
    published = await step(client, handle, "publish", ADMIN)
    assert published["state"] == "published"
    assert published["record"] == {"handle": handle, "version": 1, "href": f"/api/records/{handle}"}
    assert published["publishedVersion"] == 1

    # A normal signed record: the node's proof verifies, the factor is the computed one.
    await call(client, "GET", f"/api/records/{handle}", headers={}, expect=404)  # private: "public": false
    record = await call(client, "GET", f"/api/records/{handle}", headers=ADMIN, expect=200)
    assert (record["template"], record["visibility"], record["changedBy"]) == (
        "product-footprint/1", "private", ADMIN_USER
    )  # fmt: skip
    document = record["document"]
    did = DidDocument.from_json(await (await client.get("/.well-known/did.json")).json())
    verify_proofs(document, did, loader=default_catalog().loader)
    assert document["handle"] == handle
    assert document["version"] == 1
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    expected = compute_form_factor(unsigned, "330522", as_of=date.today())
    assert document["emissionFactor"]["value"] == expected.factor
    assert math.isclose(document["emissionFactor"]["value"], 5.35, rel_tol=1e-9)
    assert document["emissionFactor"]["unit"] == "kgCO2e/kg"
    assert document["emissionFactor"]["source"].startswith("computed from the inventory")

    history = await call(client, "GET", f"/api/forms/{handle}/history", headers=reviewer, expect=200)
    assert [(h["from"], h["to"], h["actor"], h["role"], h["reason"]) for h in history["history"]] == [
        (None, "draft", ADMIN_USER, "admin", None),
        ("draft", "submitted", ADMIN_USER, "admin", None),
        ("submitted", "approved", "reviewer:alice", "reviewer", "数据齐全"),
        ("approved", "published", ADMIN_USER, "admin", None),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", h["at"]) for h in history["history"])


async def test_validity_defaults_to_two_years_after_publication(profiled, reviewer):
    client = profiled
    handle = await approved(client, reviewer)
    await step(client, handle, "publish", ADMIN)
    history = await call(client, "GET", f"/api/forms/{handle}/history", headers=ADMIN, expect=200)
    day = date.fromisoformat(history["history"][-1]["at"][:10])
    record = await call(client, "GET", f"/api/records/{handle}", headers=ADMIN, expect=200)
    assert record["document"]["validUntil"] == two_years_after(day).isoformat()
    assert two_years_after(date(2024, 2, 29)) == date(2026, 2, 28)
    assert two_years_after(date(2025, 10, 16)) == date(2027, 10, 16)

    # A validity the form states is kept; a public form becomes a public record.
    stated = await approved(client, reviewer, simple_form(validUntil="2026-06-30", public=True))
    await step(client, stated, "publish", ADMIN)
    record = await call(client, "GET", f"/api/records/{stated}", headers={}, expect=200)
    assert (record["document"]["validUntil"], record["visibility"]) == ("2026-06-30", "public")


async def test_rejected_forms_are_edited_and_resubmitted_and_history_keeps_it_all(profiled, reviewer):
    client = profiled
    handle = (await create(client))["handle"]
    await step(client, handle, "submit", ADMIN)
    rejected = await step(client, handle, "reject", reviewer, json={"reason": "因子来源不准确"})
    assert rejected["state"] == "rejected"
    assert rejected["rejection"]["reason"] == "因子来源不准确"
    assert rejected["rejection"]["by"] == "reviewer:alice"

    edited = await call(
        client, "PUT", f"/api/forms/{handle}", headers=ADMIN, expect=200,
        json={"document": simple_form(name="A00 铝锭（修订）")},
    )  # fmt: skip
    assert (edited["state"], edited["name"]) == ("draft", "A00 铝锭（修订）")
    assert edited["rejection"]["reason"] == "因子来源不准确"  # still shown while it is being answered
    # A draft is edited as often as needed: no transition, no history entry.
    await call(
        client, "PUT", f"/api/forms/{handle}", headers=ADMIN, expect=200, json={"document": simple_form()}
    )
    resubmitted = await step(client, handle, "submit", ADMIN)
    assert resubmitted["rejection"] is None
    await step(client, handle, "approve", reviewer)
    await step(client, handle, "publish", ADMIN)

    history = await call(client, "GET", f"/api/forms/{handle}/history", headers=ADMIN, expect=200)
    assert [(h["from"], h["to"], h["reason"]) for h in history["history"]] == [
        (None, "draft", None),
        ("draft", "submitted", None),
        ("submitted", "rejected", "因子来源不准确"),
        ("rejected", "draft", None),
        ("draft", "submitted", None),
        ("submitted", "approved", None),
        ("approved", "published", None),
    ]


async def test_every_wrong_step_is_refused_and_says_why(profiled, reviewer):
    client = profiled
    handle = (await create(client))["handle"]

    async def refused(method, path, headers, status, kind, **kwargs):
        body = await call(
            client, method, f"/api/forms/{handle}{path}", headers=headers, expect=status, **kwargs
        )
        assert body["type"] == PROBLEMS + kind, body
        return body

    # Roles: the administrator never reviews, a reviewer never drafts, submits or publishes.
    wrong = await refused("POST", "/approve", ADMIN, 403, "wrong-role")
    assert "approve is the reviewer's step" in wrong["detail"]
    await refused("POST", "/submit", reviewer, 403, "wrong-role")
    await refused("PUT", "", reviewer, 403, "wrong-role", json={"document": simple_form()})
    await refused("POST", "/copy", reviewer, 403, "wrong-role")
    await refused("POST", "/submit", {}, 401, "authentication-required")
    await refused("GET", "", reviewer_header(secret="wrong"), 401, "invalid-credentials")
    await refused("GET", "", reviewer_header(name="mallory"), 401, "invalid-credentials")

    # States.
    draft = await refused("POST", "/publish", ADMIN, 409, "invalid-transition")
    assert draft["state"] == "draft"
    assert "only forms that are approved can be published" in draft["detail"]
    await refused("POST", "/approve", reviewer, 409, "invalid-transition")
    await refused("POST", "/send", ADMIN, 409, "invalid-transition", json={"prefix": "88.186.7"})
    await step(client, handle, "submit", ADMIN)
    twice = await refused("POST", "/submit", ADMIN, 409, "invalid-transition")
    assert "it is submitted: it is locked while a reviewer examines it" in twice["detail"]
    locked = await refused("PUT", "", ADMIN, 409, "invalid-transition", json={"document": simple_form()})
    assert locked["state"] == "submitted"
    await refused("POST", "/publish", ADMIN, 409, "invalid-transition")
    no_reason = await refused("POST", "/reject", reviewer, 422, "invalid-form")
    assert no_reason["issues"][0]["pointer"] == "/reason"
    await refused("POST", "/reject", reviewer, 422, "invalid-form", json={"reason": "  "})
    await step(client, handle, "approve", reviewer)
    await refused("POST", "/reject", reviewer, 409, "invalid-transition", json={"reason": "late"})
    await refused("PUT", "", ADMIN, 409, "invalid-transition", json={"document": simple_form()})
    await step(client, handle, "publish", ADMIN)
    final = await refused("POST", "/publish", ADMIN, 409, "invalid-transition")
    assert "published forms are final" in final["detail"]
    await refused("PUT", "", ADMIN, 409, "invalid-transition", json={"document": simple_form()})

    missing = await call(client, "GET", f"/api/forms/{PREFIX}/PF.99", headers=ADMIN, expect=404)
    assert missing["type"] == PROBLEMS + "form-not-found"


async def test_drafts_are_checked_against_the_template_but_not_for_what_the_node_writes(profiled):
    client = profiled
    invalid = simple_form(productType="car")
    invalid.pop("functionalUnit")
    body = await call(client, "POST", "/api/forms", headers=ADMIN, expect=422, json={"document": invalid})
    pointers = {issue["pointer"] for issue in body["issues"]}
    assert {"/document/productType", "/document/functionalUnit"} <= pointers
    named = await call(
        client, "POST", "/api/forms", headers=ADMIN, expect=422,
        json={"document": simple_form(handle=f"{PREFIX}/MINE")},
    )  # fmt: skip
    assert named["issues"][0]["pointer"] == "/document/handle"
    await call(client, "POST", "/api/forms", headers=ADMIN, expect=422, json={"doc": {}})
    # handle, version, emissionFactor and validUntil may be left out of a draft, or given.
    form = await create(client, simple_form(emissionFactor={"value": 9, "unit": "kgCO2e/kg"}, version=3))
    assert math.isclose(form["emissionFactor"], 5.35, rel_tol=1e-9)  # the typed factor is not the form's
    assert "version" not in form["document"]
    await call(
        client, "PUT", f"/api/forms/{form['handle']}", headers=ADMIN, expect=200,
        json={"document": simple_form(handle=form["handle"].lower())},
    )  # fmt: skip


async def test_submission_needs_a_factor_that_computes_and_the_enterprise_region(client, reviewer):
    handle = (await create(client))["handle"]
    form = await call(client, "GET", f"/api/forms/{handle}", headers=ADMIN, expect=200)
    assert form["emissionFactor"] is None
    assert "enterprise profile" in form["footprintErrors"][0]["message"]
    body = await step(client, handle, "submit", ADMIN, expect=409)
    assert body["type"] == PROBLEMS + "no-enterprise-profile"

    await publish(client, example("enterprise-profile/1"), template="enterprise-profile/1")
    broken = simple_form()
    del broken["inventory"]["transport"][0]["emissionFactor"]
    await call(client, "PUT", f"/api/forms/{handle}", headers=ADMIN, expect=200, json={"document": broken})
    body = await step(client, handle, "submit", ADMIN, expect=422)
    assert body["issues"][0]["pointer"] == "/document/inventory/transport/0/emissionFactor"
    assert (await call(client, "GET", f"/api/forms/{handle}", headers=ADMIN, expect=200))["state"] == "draft"


async def test_the_example_form_computes_with_a_flagged_fallback_for_its_unresolved_supplier(
    profiled, reviewer
):
    form = await create(profiled, footprint())
    lines = form["footprint"]["lines"]
    assert lines[0]["supplierHandle"] == "88.186.7/CICES.1001"
    assert "not supplied" in lines[0]["fallback"]
    assert form["footprint"]["dataQuality"]["penalty"] == 1
    # Σ of the lines per 1 kg, whatever the library's factors are.
    assert math.isclose(form["emissionFactor"], sum(line["emissionsKgCo2e"] for line in lines), rel_tol=1e-9)


async def test_form_handles_are_claimed_and_published_forms_sent_copied_and_tagged(profiled, reviewer):
    client = profiled
    handle = await approved(client, reviewer)
    # The handle is the form's: the Handle API cannot take it, and it resolves to nothing before publication.
    values = json.dumps([{"index": 1, "type": "URL", "data": "u"}])
    taken = await client.put(
        f"/api/handles/{handle}", data=values, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert taken.status == 403
    assert (await client.get(f"/api/handles/{handle}")).status == 404
    await step(client, handle, "publish", ADMIN)

    grant = await step(
        client, handle, "send", ADMIN, expect=201, json={"prefix": "88.186.7", "partCode": "B-2291"}
    )
    assert (grant["prefix"], grant["partCode"], grant["active"]) == ("88.186.7", "B-2291", True)
    await step(client, handle, "send", ADMIN, expect=409, json={"prefix": "88.186.7"})
    await step(client, handle, "send", reviewer, expect=403, json={"prefix": "88.186.9"})
    form = await call(client, "GET", f"/api/forms/{handle}", headers=ADMIN, expect=200)
    assert (form["partCodes"], form["customers"]) == (["B-2291"], ["88.186.7"])
    grants = await call(client, "GET", f"/api/records/{handle}/grants", headers=ADMIN, expect=200)
    assert [g["partCode"] for g in grants["grants"]] == ["B-2291"]

    tagged = await call(
        client, "PUT", f"/api/forms/{handle}/tags", headers=ADMIN, expect=200, json={"tags": ["铸件", "2025"]}
    )
    assert (tagged["tags"], tagged["state"]) == (["2025", "铸件"], "published")
    assert tagged["document"]["tags"] == ["铝", "原材料"]  # the signed document stays as approved
    for bad in ({"tags": "铸件"}, {"tags": ["a", "a"]}, {"tags": [""]}, {"labels": []}):
        await call(client, "PUT", f"/api/forms/{handle}/tags", headers=ADMIN, expect=422, json=bad)

    copied = await step(client, handle, "copy", ADMIN, expect=201)
    assert (copied["handle"], copied["state"]) == (f"{PREFIX}/PF.2", "draft")
    assert "validUntil" not in copied["document"]
    assert "emissionFactor" not in copied["document"]
    history = await call(client, "GET", f"/api/forms/{copied['handle']}/history", headers=ADMIN, expect=200)
    assert history["history"][0]["reason"] == f"copied from {handle}"


async def test_received_forms_are_recorded_listed_filtered_and_exported(client):
    path = "/api/forms/received"
    first = await call(
        client, "POST", path, headers=ADMIN, expect=201,
        json={"handle": "88.186.7/PF.3", "partCode": "B-2291", "note": "车门铰链用钢"},
    )  # fmt: skip
    assert (first["supplier"], first["partCode"], first["receivedBy"]) == ("88.186.7", "B-2291", ADMIN_USER)
    await call(client, "POST", path, headers=ADMIN, expect=201, json={"handle": "88.186.9/CICES.77"})
    again = await call(client, "POST", path, headers=ADMIN, expect=409, json={"handle": "88.186.7/pf.3"})
    assert again["type"] == PROBLEMS + "received-exists"
    own = await call(client, "POST", path, headers=ADMIN, expect=422, json={"handle": f"{PREFIX}/PF.1"})
    assert own["issues"][0]["pointer"] == "/handle"
    await call(client, "POST", path, headers=ADMIN, expect=422, json={"handle": "no slash"})
    await call(client, "POST", path, headers=ADMIN, expect=422, json={"handle": "88.186.7/X", "partCode": 7})
    await call(client, "GET", path, headers={}, expect=401)

    listing = await call(client, "GET", path, headers=ADMIN, expect=200)
    assert listing["totalCount"] == 2
    codes = await call(
        client, "GET", path, headers=ADMIN, expect=200,
        params={"filter": json.dumps({"field": "partCode", "op": "not_null"})},
    )  # fmt: skip
    assert [item["handle"] for item in codes["received"]] == ["88.186.7/PF.3"]
    bad = await call(
        client, "GET", path, headers=ADMIN, expect=400,
        params={"filter": json.dumps({"field": "name", "op": "equals", "value": "x"})},
    )  # fmt: skip
    assert "unknown field 'name'" in bad["detail"]
    exported = await client.get(path, headers=ADMIN, params={"format": "csv"})
    text = (await exported.read()).decode("utf-8")
    assert text.startswith("\ufeffhandle,supplier,partCode,note,receivedAt,receivedBy\r\n")
    assert "88.186.7/PF.3,88.186.7,B-2291,车门铰链用钢," in text

    await call(client, "DELETE", f"{path}/88.186.9/CICES.77", headers=ADMIN, expect=204)
    gone = await call(client, "DELETE", f"{path}/88.186.9/CICES.77", headers=ADMIN, expect=404)
    assert gone["type"] == PROBLEMS + "received-not-found"


def test_reviewer_accounts_from_the_command_line(tmp_path, database_url):
    config = tmp_path / "node.toml"
    data = json.dumps(str(tmp_path / "data"))
    config.write_text(
        f'[node]\nprefix = "{PREFIX}"\ndata_dir = {data}\ndatabase_url = "{database_url}"\n', "utf-8"
    )
    runner = CliRunner()
    added = runner.invoke(
        node_cli, ["reviewer", "add", "Bob.Li", "--config", str(config)], catch_exceptions=False
    )
    assert added.exit_code == 0, added.output
    assert "reviewer user   reviewer:Bob.Li" in added.output
    secret = re.search(r"^reviewer secret (\S+)$", added.output, re.MULTILINE).group(1)
    again = runner.invoke(node_cli, ["reviewer", "add", "bob.li", "--config", str(config)])
    assert again.exit_code == 1
    assert "exists already" in again.output
    invalid = runner.invoke(node_cli, ["reviewer", "add", "bob:li", "--config", str(config)])
    assert invalid.exit_code == 2

    async def reads_forms(secret_used: str) -> int:
        settings = load_settings(NodeSettings, path=config, section="node", env={})
        async with TestClient(TestServer(create_app(settings))) as client:
            # The colon percent-encoded, as a Handle client encodes the administrator's user.
            response = await client.get(
                "/api/forms", headers={"Authorization": basic("reviewer:bob.li", secret_used)}
            )
            return response.status

    assert asyncio.run(reads_forms(secret)) == 200
    removed = runner.invoke(node_cli, ["reviewer", "remove", "BOB.LI", "--config", str(config)])
    assert removed.exit_code == 0, removed.output
    assert asyncio.run(reads_forms(secret)) == 401
    assert runner.invoke(node_cli, ["reviewer", "remove", "bob.li", "--config", str(config)]).exit_code == 1


async def test_form_answers_match_the_openapi_document(profiled, reviewer):
    client = profiled
    conformance = Conformance(await (await client.get("/openapi.json")).json())

    async def check(method, template, path, **kwargs):
        return await conformance.check(method, template, await client.request(method, path, **kwargs))

    created = await check("POST", "/api/forms", "/api/forms", json={"document": simple_form()}, headers=ADMIN)
    handle = created["handle"]
    one = f"/api/forms/{handle}"
    await check("POST", "/api/forms", "/api/forms", json={"document": {}}, headers=ADMIN)
    await check("GET", "/api/forms", "/api/forms", headers=ADMIN)
    await check("GET", "/api/forms", "/api/forms?filter=%7B", headers=ADMIN)
    await check("GET", "/api/forms", "/api/forms")
    await check(
        "POST", "/api/forms/search", "/api/forms/search", json={"filter": {"and": []}}, headers=reviewer
    )
    await check("GET", "/api/forms/{handle}", one, headers=reviewer)
    await check("GET", "/api/forms/{handle}", f"/api/forms/{PREFIX}/PF.9", headers=reviewer)
    await check("PUT", "/api/forms/{handle}", one, json={"document": simple_form()}, headers=ADMIN)
    await check("POST", "/api/forms/{handle}/approve", f"{one}/approve", headers=ADMIN)
    await check("POST", "/api/forms/{handle}/submit", f"{one}/submit", headers=ADMIN)
    await check("POST", "/api/forms/{handle}/submit", f"{one}/submit", headers=ADMIN)
    await check("POST", "/api/forms/{handle}/reject", f"{one}/reject", headers=reviewer)
    await check("POST", "/api/forms/{handle}/approve", f"{one}/approve", headers=reviewer)
    await check("POST", "/api/forms/{handle}/publish", f"{one}/publish", headers=ADMIN)
    await check("POST", "/api/forms/{handle}/send", f"{one}/send", json={"prefix": "88.186.7"}, headers=ADMIN)
    await check("PUT", "/api/forms/{handle}/tags", f"{one}/tags", json={"tags": ["x"]}, headers=ADMIN)
    await check("POST", "/api/forms/{handle}/copy", f"{one}/copy", headers=ADMIN)
    await check("GET", "/api/forms/{handle}/history", f"{one}/history", headers=ADMIN)
    received = "/api/forms/received"
    await check("POST", received, received, json={"handle": "88.186.7/PF.1"}, headers=ADMIN)
    await check("GET", received, received, headers=ADMIN)
    await check("DELETE", "/api/forms/received/{handle}", f"{received}/88.186.7/PF.1", headers=ADMIN)
    assert len(conformance.checked) >= 20
