"""Fixtures of the node tests: an initialised node on SQLite (and PostgreSQL when configured), its admin
credentials, a federation CA with server and peer certificates, and helpers to publish records."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from certs.x509 import CertificateAuthority, create_ca, issue_client_certificate, issue_server_certificate
from metadata_templates import default_catalog
from node.app import create_app
from node.runtime import initialise_node
from node.settings import NodeSettings

PREFIX = "88.186.1"
SECRET = "correct horse battery staple"
ADMIN_USER = f"300:{PREFIX}/ADMIN"


def basic(user: str, secret: str) -> str:
    """`Authorization: Basic …` as a Handle client builds it: the user percent-encoded (`:` → %3A)."""
    token = base64.b64encode(f"{quote(user, safe='/')}:{secret}".encode()).decode()
    return f"Basic {token}"


ADMIN = {"Authorization": basic(ADMIN_USER, SECRET)}


def example(ref: str) -> dict[str, Any]:
    """A template's shipped example, without its handle (the node sets it)."""
    document = copy.deepcopy(default_catalog().resolve(ref).example_document())
    document.pop("handle", None)
    return document


def activity(period: str = "2025") -> dict[str, Any]:
    """An activity-data document of this node for `period`."""
    document = example("activity-data/1")
    document["period"] = period
    document["granularity"] = (
        "month" if "-" in period else "quarter" if "Q" in period else "half-year" if "H" in period else "year"
    )
    return document


def footprint() -> dict[str, Any]:
    """A product-footprint document."""
    return example("product-footprint/1")


@pytest.fixture
def node_settings(tmp_path: Path, database_url: str) -> NodeSettings:
    """Settings of a node serving PREFIX, with its data in a temporary directory."""
    return NodeSettings(prefix=PREFIX, data_dir=tmp_path / "node", database_url=database_url, log_json=False)


@pytest.fixture
async def node_app(node_settings: NodeSettings) -> web.Application:
    """An initialised node (keys, schema, PREFIX/ADMIN with SECRET), not yet started."""
    await initialise_node(node_settings, SECRET)
    return create_app(node_settings)


@pytest.fixture
async def client(aiohttp_client: Any, node_app: web.Application) -> TestClient[Any, Any]:
    """A test client of the node over plain HTTP on loopback."""
    return await aiohttp_client(node_app)


async def publish(
    client: TestClient[Any, Any],
    document: dict[str, Any],
    *,
    template: str = "activity-data/1",
    suffix: str | None = None,
    visibility: str | None = None,
    reason: str | None = None,
    expect: int = 201,
) -> dict[str, Any]:
    """POST /api/records as the admin and return the JSON answer (checked to have status `expect`)."""
    body: dict[str, Any] = {"template": template, "document": document}
    for name, value in (("suffix", suffix), ("visibility", visibility), ("reason", reason)):
        if value is not None:
            body[name] = value
    response = await client.post("/api/records", json=body, headers=ADMIN)
    answer = await response.json(content_type=None)
    assert response.status == expect, answer
    return answer


@dataclass
class Federation:
    """A test federation CA with a server certificate for loopback and client certificates for peers."""

    directory: Path
    ca: CertificateAuthority

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    def cert(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.pem", self.directory / f"{name}.key"


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    """One CA for the session: server `server`, peers `peer7` (88.186.7) and `peer9` (88.186.9)."""
    directory = tmp_path_factory.mktemp("federation")
    ca = create_ca("carbonid node test federation")
    ca.save(directory)
    issue_server_certificate(ca, ["localhost", "127.0.0.1"]).save(directory, "server")
    issue_client_certificate(ca, "88.186.7").save(directory, "peer7")
    issue_client_certificate(ca, "88.186.9").save(directory, "peer9")
    return Federation(directory, ca)


def dumps(document: Any) -> str:
    """Compact JSON, for request bodies written by hand."""
    return json.dumps(document, separators=(",", ":"))
