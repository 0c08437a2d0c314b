"""Registry and node together over real HTTP: a node applies for its prefix with a signed application,
an administrator approves it, the node publishes, and the node's records verify through the
registry-signed prefix record with nothing but the registry's DID document pinned.

Both services share one database (SQLite file or PostgreSQL schema): each keeps its own tables and
migration history.
"""

import base64
import json
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from certs.data_integrity import add_proof, verify_proofs
from certs.errors import InvalidSignatureError, VerificationError
from certs.identity import ServiceIdentity
from handle_registry.codec import decode_resolution, parse_json
from handle_registry.prefix_records import PrefixRecord, PrefixSuspendedError
from handle_registry.records import record_values_from_handle_values
from handle_registry.service.administration import create_admin
from handle_registry.service.app import REGISTRY_KEY, load_identity
from handle_registry.service.app import create_app as create_registry
from handle_registry.service.settings import RegistrySettings
from metadata_templates import default_catalog
from metadata_templates.handle_mapping import values_to_document
from node.app import create_app as create_node
from node.registry_client import build_application, sign_application, submit_application
from node.runtime import initialise_node
from node.settings import NodeSettings

CATALOG = default_catalog()
PREFIX = "88.186.1"
NODE_SECRET = "node admin secret of the smelter"


def basic(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{quote(user, safe='/')}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def resolve(session: aiohttp.ClientSession, url: str) -> dict:
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        values = decode_resolution(parse_json(await response.read())).values
    return values_to_document(CATALOG, record_values_from_handle_values(values))[1]


@pytest.fixture
async def federation(tmp_path, aiohttp_server, database_url):
    registry_port, node_port = unused_port(), unused_port()
    registry_settings = RegistrySettings(
        served_prefixes=("88.186",),
        data_dir=tmp_path / "registry",
        database_url=database_url,
        port=registry_port,
        public_url=f"http://127.0.0.1:{registry_port}",
        log_json=False,
    )
    registry_app = create_registry(registry_settings)
    registry = await aiohttp_server(registry_app, port=registry_port)
    admin_secret = await create_admin(registry_app[REGISTRY_KEY].store, "operator", at=datetime.now(UTC))

    node_settings = NodeSettings(
        prefix=PREFIX,
        data_dir=tmp_path / "node",
        database_url=database_url,
        port=node_port,
        public_url=f"http://127.0.0.1:{node_port}",
        registry_url=registry_settings.base_url(),
        log_json=False,
    )
    await initialise_node(node_settings, NODE_SECRET)
    node = await aiohttp_server(create_node(node_settings), port=node_port)
    async with aiohttp.ClientSession() as session:
        yield {
            "session": session,
            "registry": str(registry.make_url("")).rstrip("/"),
            "node": str(node.make_url("")).rstrip("/"),
            "registry_admin": basic("operator", admin_secret),
            "node_admin": basic(f"300:{PREFIX}/ADMIN", NODE_SECRET),
            # The trust anchor a resolver pins: the registry's DID document, taken from its operator, not the network.
            "anchor": load_identity(registry_settings).did,
            "node_settings": node_settings,
        }


async def apply_and_approve(f) -> None:
    settings = f["node_settings"]
    identity = ServiceIdentity.load_or_create(settings.data_dir / "keys", settings.base_url())
    profile = CATALOG.resolve("enterprise-profile").example_document()
    profile.pop("handle")
    application = build_application(settings, identity, CATALOG, profile)
    answer = await submit_application(
        f["registry"], sign_application(identity, CATALOG, application, domain=f["anchor"].id)
    )
    assert (answer.status, answer.body["status"]) == (201, "pending")
    async with f["session"].post(
        f"{f['registry']}/api/prefixes/{PREFIX}/approve", headers=f["registry_admin"]
    ) as response:
        assert response.status == 200, await response.text()


async def publish_activity(f) -> str:
    document = CATALOG.resolve("activity-data").example_document()
    document.pop("handle")
    body = {"template": "activity-data/1", "document": document, "suffix": "ACT.2025"}
    async with f["session"].post(f"{f['node']}/api/records", json=body, headers=f["node_admin"]) as response:
        assert response.status == 201, await response.text()
        return (await response.json())["handle"]


async def test_a_node_record_verifies_through_the_registry_signed_prefix_record(federation):
    f = federation
    await apply_and_approve(f)
    handle = await publish_activity(f)

    prefix_document = await resolve(f["session"], f"{f['registry']}/api/handles/0.NA/{PREFIX}")
    verify_proofs(prefix_document, f["anchor"], loader=CATALOG.loader)
    prefix_record = PrefixRecord.from_document(prefix_document, CATALOG)
    assert prefix_record.service_url == f["node"]
    assert prefix_record.region == "330522"

    record = await resolve(f["session"], f"{f['node']}/api/handles/{handle}")
    (proof,) = verify_proofs(record, prefix_record, loader=CATALOG.loader)
    assert proof.verification_method == prefix_record.keys[0].id

    tampered = json.loads(json.dumps(record))
    tampered["industrialAddedValue10kCny"] = 96000
    with pytest.raises(InvalidSignatureError):
        verify_proofs(tampered, prefix_record, loader=CATALOG.loader)


async def test_a_key_the_prefix_record_does_not_list_cannot_sign_for_the_prefix(federation, tmp_path):
    f = federation
    await apply_and_approve(f)
    record = await resolve(f["session"], f"{f['node']}/api/handles/{await publish_activity(f)}")
    prefix_record = PrefixRecord.from_document(
        await resolve(f["session"], f"{f['registry']}/api/handles/0.NA/{PREFIX}"), CATALOG
    )
    impostor = ServiceIdentity.load_or_create(tmp_path / "impostor", f["node"])
    unsigned = {k: v for k, v in record.items() if k != "proof"}
    # Same DID as the node (it is derived from the URL), but a key the registry never listed.
    forged = add_proof(
        unsigned,
        impostor.keys[0],
        verification_method=impostor.method_id(impostor.keys[0]),
        loader=CATALOG.loader,
    )
    with pytest.raises(VerificationError):
        verify_proofs(forged, prefix_record, loader=CATALOG.loader)


async def test_a_suspended_prefix_verifies_nothing(federation):
    f = federation
    await apply_and_approve(f)
    record = await resolve(f["session"], f"{f['node']}/api/handles/{await publish_activity(f)}")
    url = f"{f['registry']}/api/prefixes/{PREFIX}/suspend"
    async with f["session"].post(
        url, json={"reason": "audit pending"}, headers=f["registry_admin"]
    ) as response:
        assert response.status == 200, await response.text()
    prefix_document = await resolve(f["session"], f"{f['registry']}/api/handles/0.NA/{PREFIX}")
    verify_proofs(prefix_document, f["anchor"], loader=CATALOG.loader)
    with pytest.raises(PrefixSuspendedError):
        verify_proofs(record, PrefixRecord.from_document(prefix_document, CATALOG), loader=CATALOG.loader)
