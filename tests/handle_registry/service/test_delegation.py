"""Delegation: the root registry (88) hands 88.186 to a secondary registry and refers resolvers there."""

from __future__ import annotations

import pytest

from certs.data_integrity import verify_proofs
from certs.did import DidDocument
from certs.keys import generate_signing_key
from handle_registry.prefix_records import PrefixRecord
from handle_registry.service.app import create_app
from tests.handle_registry.service.conftest import Harness
from tests.handle_registry.service.support import (
    CATALOG,
    LOADER,
    add_admin,
    enterprise,
    settings_for,
    signed_record_from,
)

PROBLEM = "https://carbonid.org/problems/"
SECONDARY_URL = "http://secondary.test:18101"


@pytest.fixture
async def secondary(aiohttp_client, tmp_path) -> Harness:
    # The secondary keeps its own database (a registry never shares tables with another registry).
    settings = settings_for(
        tmp_path / "secondary",
        f"sqlite+aiosqlite:///{tmp_path / 'secondary.db'}",
        served=("88.186",),
        public_url=SECONDARY_URL,
    )
    client = await aiohttp_client(create_app(settings))
    return Harness(client, await add_admin(client.server.app))


async def delegate(root: Harness, secondary: Harness, prefix: str = "88.186"):
    return await root.client.post(
        "/api/delegations",
        json={"prefix": prefix, "serviceUrl": SECONDARY_URL, "didDocument": secondary.anchor().to_json()},
        headers=root.admin,
    )


async def test_referral_to_the_secondary_registry_which_serves_its_own_prefixes(registry, secondary):
    root = registry
    delegated = await delegate(root, secondary)
    assert delegated.status == 201
    details = await delegated.json()
    assert (details["kind"], details["status"], details["version"]) == ("registry", "approved", 1)
    assert delegated.headers["Location"] == "/api/prefixes/88.186"

    # The delegation's own record resolves normally at the root.
    own = await root.resolve("0.NA/88.186")
    assert own.status == 200
    delegation_document = signed_record_from(await own.json())

    # Below it, the root refers: HTTP 300, responseCode 303, the delegation's values.
    referral = await root.resolve("0.NA/88.186.1")
    assert referral.status == 300
    body = await referral.json()
    assert body["responseCode"] == 303
    assert body["handle"] == "0.NA/88.186.1"
    document = signed_record_from(body)
    assert document == delegation_document
    root_anchor = DidDocument.from_json(await (await root.client.get("/.well-known/did.json")).json())
    verify_proofs(document, root_anchor, loader=LOADER)
    delegation = PrefixRecord.from_document(document, CATALOG)
    assert (delegation.kind, delegation.service_url, delegation.did) == (
        "registry",
        SECONDARY_URL,
        secondary.did,
    )
    assert [key.public_key for key in delegation.keys] == [m.public_key for m in secondary.anchor().methods]
    # A slashless handle is the prefix record too, and deeper prefixes are referred as well.
    slashless = await root.resolve("88.186.1")
    assert slashless.status == 300
    assert (await slashless.json())["handle"] == "88.186.1"
    assert (await root.resolve("0.NA/88.186.1.7")).status == 300

    # The root refuses applications under the delegation and names where to apply.
    company = enterprise("88.186.1")
    refused = await root.apply(company)
    assert refused.status == 422
    problem = await refused.json()
    assert problem["type"] == PROBLEM + "prefix-delegated"
    assert problem["registry"] == SECONDARY_URL
    assert SECONDARY_URL in problem["detail"]

    # The secondary registry, serving 88.186, registers 88.186.1 and serves it.
    await secondary.register(company)
    resolved = await secondary.resolve("0.NA/88.186.1")
    assert resolved.status == 200
    record_document = signed_record_from(await resolved.json())
    # The chain of trust a resolver follows: root anchor → delegation record → the secondary's record.
    verify_proofs(record_document, delegation, loader=LOADER)
    record = PrefixRecord.from_document(record_document, CATALOG)
    assert record.registry == secondary.did
    assert [key.public_key for key in record.keys] == [company.keys[0].public_key]


async def test_a_delegation_must_not_cut_off_registered_prefixes(registry, secondary):
    company = enterprise("88.186.1")
    assert (await registry.apply(company)).status == 201  # pending is enough to hold the prefix
    refused = await delegate(registry, secondary)
    assert refused.status == 409
    body = await refused.json()
    assert body["type"] == PROBLEM + "prefixes-below"
    assert body["prefixes"] == ["88.186.1"]
    # A rejected application does not hold the prefix.
    await registry.client.post(
        "/api/prefixes/88.186.1/reject", json={"reason": "wrong registry"}, headers=registry.admin
    )
    assert (await delegate(registry, secondary)).status == 201


async def test_delegation_refusals(registry, secondary):
    assert (await delegate(registry, secondary, "89.1")).status == 422
    assert (await delegate(registry, secondary, "88")).status == 422
    assert (await delegate(registry, secondary)).status == 201
    again = await delegate(registry, secondary)
    assert again.status == 409
    assert (await again.json())["type"] == PROBLEM + "prefix-taken"
    below = await delegate(registry, secondary, "88.186.9")
    assert below.status == 422
    assert (await below.json())["type"] == PROBLEM + "prefix-delegated"
    anonymous = await registry.client.post(
        "/api/delegations",
        json={"prefix": "88.187", "serviceUrl": SECONDARY_URL, "didDocument": secondary.anchor().to_json()},
    )
    assert anonymous.status == 401


WEIRD_DIDS = ("did:web:x y", "did:web:x\u0001", "did:web:é", "did:Web:x", "did:web:")


def did_document(did: str, separator: str = "#k") -> dict:
    key = generate_signing_key()
    method = did + separator
    return {
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": key.public_key.multibase,
            }
        ],
        "assertionMethod": [method],
    }


@pytest.mark.parametrize(
    "body",
    [
        {"prefix": "88.187", "serviceUrl": SECONDARY_URL},
        {"prefix": "88.187", "serviceUrl": "ftp://x", "didDocument": {}},
        {"prefix": "88..187", "serviceUrl": SECONDARY_URL, "didDocument": {}},
        {"prefix": "88.187", "serviceUrl": SECONDARY_URL, "didDocument": {"id": "not-a-did"}},
        {
            "prefix": "88.187",
            "serviceUrl": SECONDARY_URL,
            "didDocument": {"id": "did:web:x", "service": {"a": 1}},
        },
        {
            "prefix": "88.187",
            "serviceUrl": SECONDARY_URL,
            "didDocument": {"id": "did:web:x", "verificationMethod": ["x"]},
        },
        {"prefix": "88.187", "serviceUrl": SECONDARY_URL, "didDocument": {"id": "did:web:x"}},
        {"prefix": "88.187", "serviceUrl": SECONDARY_URL, "didDocument": {"id": "did:web:x"}, "extra": True},
        *(
            {"prefix": "88.187", "serviceUrl": SECONDARY_URL, "didDocument": did_document(did)}
            for did in WEIRD_DIDS
        ),
        {"prefix": "88.187", "serviceUrl": SECONDARY_URL, "didDocument": did_document("did:web:x", "#")},
    ],
)
async def test_malformed_delegations_are_unprocessable(registry, body):
    response = await registry.client.post("/api/delegations", json=body, headers=registry.admin)
    assert response.status == 422
    assert (await response.json())["type"] == PROBLEM + "invalid-document"
