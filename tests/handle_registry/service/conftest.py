"""Fixtures: a registry serving 88 on the test's database, driven over real HTTP, with an administrator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from certs.did import DidDocument
from handle_registry.service.app import create_app
from handle_registry.service.keys import REGISTRY_KEY
from handle_registry.service.settings import RegistrySettings
from tests.handle_registry.service.support import Enterprise, add_admin, settings_for


@dataclass
class Harness:
    """A running registry: its client, DID document and an administrator's Authorization header."""

    client: Any
    admin: dict[str, str]

    @property
    def app(self) -> Any:
        return self.client.server.app

    @property
    def app_settings(self) -> RegistrySettings:
        return self.app[REGISTRY_KEY].settings

    @property
    def did(self) -> str:
        return self.app[REGISTRY_KEY].did

    def anchor(self) -> DidDocument:
        return self.app[REGISTRY_KEY].signer.did

    async def apply(self, company: Enterprise, document: dict[str, Any] | None = None) -> Any:
        body = document if document is not None else company.signed_application(self.did)
        return await self.client.post("/api/prefixes", json=body)

    async def approve(self, prefix: str) -> Any:
        return await self.client.post(f"/api/prefixes/{prefix}/approve", headers=self.admin)

    async def register(self, company: Enterprise) -> dict[str, Any]:
        """Apply and approve; the prefix's details as the administrator sees them."""
        applied = await self.apply(company)
        assert applied.status == 201, await applied.text()
        approved = await self.approve(company.prefix)
        assert approved.status == 200, await approved.text()
        return await approved.json()

    async def resolve(self, handle: str, **params: Any) -> Any:
        return await self.client.get(f"/api/handles/{handle}", params=params)


@pytest.fixture
def settings(tmp_path, database_url) -> RegistrySettings:
    return settings_for(tmp_path / "registry", database_url)


@pytest.fixture
async def registry(aiohttp_client, settings) -> Harness:
    client = await aiohttp_client(create_app(settings))
    return Harness(client, await add_admin(client.server.app))
