"""Administrators: authentication, suspension and reinstatement, races, and nothing half-written."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from certs.identity import ServiceIdentity
from handle_registry.identifiers import Prefix
from handle_registry.prefix_records import PrefixRecord, PrefixSuspendedError
from handle_registry.service.app import create_app
from handle_registry.service.errors import RecordVersionTaken
from handle_registry.service.keys import REGISTRY_KEY
from tests.handle_registry.service.conftest import Harness
from tests.handle_registry.service.support import CATALOG, add_admin, basic, enterprise, signed_record_from

PROBLEM = "https://carbonid.org/problems/"


async def test_admin_routes_need_credentials(registry):
    company = enterprise("88.186.1")
    await registry.apply(company)
    for headers in (
        {},
        basic("root", "wrong secret"),
        basic("nobody", "whatever"),
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + "bm9jb2xvbg=="},  # "nocolon"
    ):
        response = await registry.client.post("/api/prefixes/88.186.1/approve", headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert (await response.json())["type"] == PROBLEM + "admin-authentication-required"
        # Wrong credentials are refused on reads too, never quietly treated as anonymous.
        if headers:
            assert (await registry.client.get("/api/prefixes", headers=headers)).status == 401
    details = await (await registry.client.get("/api/prefixes/88.186.1", headers=registry.admin)).json()
    assert details["status"] == "pending"
    assert details["application"]["prefix"] == "88.186.1"


async def test_suspend_and_reinstate(registry):
    company = enterprise("88.186.2")
    await registry.register(company)
    suspended = await registry.client.post(
        "/api/prefixes/88.186.2/suspend",
        json={"reason": "emission data under investigation"},
        headers=registry.admin,
    )
    assert suspended.status == 200
    assert (await suspended.json())["version"] == 2

    resolved = await registry.resolve("0.NA/88.186.2")
    assert resolved.status == 200
    record = PrefixRecord.from_document(signed_record_from(await resolved.json()), CATALOG)
    assert (record.status, record.version) == ("suspended", 2)
    with pytest.raises(PrefixSuspendedError):
        record.resolve_key(record.keys[0].id, "assertionMethod", datetime.now(UTC))
    public = await (await registry.client.get("/api/prefixes/88.186.2")).json()
    assert public["status"] == "suspended"
    assert public["statusReason"] == "emission data under investigation"
    listed = await (await registry.client.get("/api/prefixes")).json()
    assert [p["status"] for p in listed["prefixes"]] == ["suspended"]

    again = await registry.client.post(
        "/api/prefixes/88.186.2/suspend", json={"reason": "x"}, headers=registry.admin
    )
    assert again.status == 409
    reinstated = await registry.client.post(
        "/api/prefixes/88.186.2/reinstate", json={"reason": "investigation closed"}, headers=registry.admin
    )
    assert reinstated.status == 200
    record = PrefixRecord.from_document((await reinstated.json())["record"], CATALOG)
    assert (record.status, record.version) == ("approved", 3)
    record.resolve_key(record.keys[0].id, "assertionMethod", datetime.now(UTC))
    history = (await reinstated.json())["history"]
    assert [(e["action"], e["reason"]) for e in history[-2:]] == [
        ("suspended", "emission data under investigation"),
        ("reinstated", "investigation closed"),
    ]


async def test_actions_on_the_wrong_prefix(registry):
    company = enterprise("88.186.3")
    await registry.apply(company)
    reason = {"reason": "r"}
    cases = [
        ("/api/prefixes/88.186.3/suspend", reason, 409),  # pending
        ("/api/prefixes/88.186.3/reinstate", reason, 409),
        ("/api/prefixes/88.186.99/approve", None, 404),
        ("/api/prefixes/88.186.99/reject", reason, 404),
        ("/api/prefixes/88..1/approve", None, 400),
        ("/api/prefixes/88.186.3/reject", None, 415),
    ]
    for path, body, status in cases:
        if body is None:
            response = await registry.client.post(path, headers=registry.admin)
        else:
            response = await registry.client.post(path, json=body, headers=registry.admin)
        assert response.status == status, path
    assert (await registry.client.get("/api/prefixes/88..1")).status == 400
    assert (await registry.client.get("/api/prefixes/88.186.99", headers=registry.admin)).status == 404


async def test_two_approvals_racing_issue_one_record(registry):
    company = enterprise("88.186.4")
    await registry.apply(company)
    first, second = await asyncio.gather(registry.approve("88.186.4"), registry.approve("88.186.4"))
    assert sorted([first.status, second.status]) == [200, 409]
    details = await (await registry.client.get("/api/prefixes/88.186.4")).json()
    assert [e["action"] for e in details["history"]] == ["applied", "approved"]
    store = registry.app[REGISTRY_KEY].store
    async with store.transaction() as tx:
        entry = await tx.prefix(Prefix("88.186.4"))
        assert entry is not None
        assert [record.version for record in await tx.records(entry.id)] == [1]
    # The unique (prefix, version) constraint is the last line of defence.
    with pytest.raises(RecordVersionTaken):
        async with store.transaction(write=True) as tx:
            await tx.add_record(entry.id, 1, {"forged": True}, issued_at=datetime.now(UTC))


@dataclass(frozen=True)
class FailingSigner:
    """Has the registry's DID but cannot sign (a key store gone bad)."""

    identity: ServiceIdentity

    @property
    def did(self) -> Any:
        return self.identity.did

    def sign(self, document: Any, loader: Any, *, created: Any = None) -> dict[str, Any]:
        raise RuntimeError("the signing key is unavailable")


async def test_a_failed_signature_leaves_nothing_written(aiohttp_client, settings):
    identity = ServiceIdentity.load_or_create(settings.data_dir / "keys", settings.base_url())
    client = await aiohttp_client(create_app(settings, signer=FailingSigner(identity)))
    registry = Harness(client, await add_admin(client.server.app))
    company = enterprise("88.186.5")
    assert (await registry.apply(company)).status == 201
    failed = await registry.approve("88.186.5")
    assert failed.status == 500
    assert (await failed.json())["type"] == PROBLEM + "internal-error"
    details = await (await registry.client.get("/api/prefixes/88.186.5", headers=registry.admin)).json()
    assert (details["status"], details["version"], details["record"]) == ("pending", 0, None)
    assert [e["action"] for e in details["history"]] == ["applied"]
    assert (await registry.resolve("0.NA/88.186.5")).status == 404
