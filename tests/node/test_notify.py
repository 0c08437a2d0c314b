"""Nodes notify resolvers of what they publish (`notify_resolvers`): in the background, signed for the resolver,
retried with back-off, never failing or delaying a publication, cancelled at shutdown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from certs.did import did_web_for_url
from certs.identity import ServiceIdentity
from certs.signed_requests import verify_request
from common.settings import SettingsError, load_settings
from handle_registry.identifiers import fold_ascii
from metadata_templates import default_catalog
from node.app import create_app
from node.keys import NODE_KEY, NOTIFIER_KEY
from node.notify import NOTIFICATION_CONTEXT, RETRY_DELAYS, Notifier, notification_document
from node.runtime import initialise_node
from node.settings import NodeSettings
from resolver.app import create_app as create_resolver
from resolver.keys import CERTIFICATES_KEY
from resolver.schema import index_rows
from tests.node.conftest import ADMIN, PREFIX, SECRET, activity
from tests.resolver.conftest import FakeClock, Federation, Resolver, federation  # noqa: F401 - the fixture

CATALOG = default_catalog()


async def start_resolver(f: Federation) -> Resolver:
    """A resolver on a known port, named by it (its did:web DID is what a node signs for)."""
    port = unused_port()
    clock = FakeClock()
    settings = f.resolver_settings(port=port, public_url=f"http://127.0.0.1:{port}")
    app = create_resolver(settings, clock=clock)
    server = await f.start_server(app, port=port)
    resolver = Resolver(app, settings.base_url(), clock, server)
    f.resolvers.append(resolver)
    return resolver


async def test_a_publication_notifies_the_resolver_and_the_row_appears(federation: Federation):  # noqa: F811
    f = federation
    resolver = await start_resolver(f)
    for node in (f.node1, f.node2):
        await f.stop_node(node)
        node.settings = replace(node.settings, notify_resolvers=(resolver.url,))
        await f.start_node(node)
        await f.publish(node, "PROFILE", template="enterprise-profile/1")
        handle = await f.publish(node, "ACT.2025")
        assert node.server is not None
        # What the node is still sending is awaited: once it is delivered, the resolver has stored the row.
        await node.server.app[NOTIFIER_KEY].drain()
        async with resolver.app[CERTIFICATES_KEY].store.index() as db:
            row = (
                await db.conn.execute(
                    sa.select(index_rows).where(index_rows.c.handle_key == fold_ascii(handle))
                )
            ).first()
        assert row is not None, handle
        assert (row.prefix, row.version, row.months) == (node.prefix, 1, 12)


class FakeResolver:
    """A resolver stand-in answering notifications with the statuses it is given, recording each request."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        status = self.statuses.pop(0) if self.statuses else 202
        return web.json_response({"detail": f"answered {status}"}, status=status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/notifications", self.handle)
        return app


@pytest.fixture
def identity(tmp_path: Any) -> ServiceIdentity:
    return ServiceIdentity.load_or_create(tmp_path / "keys", "https://node.example:8443")


async def _notify(
    aiohttp_server: Any, identity: ServiceIdentity, statuses: list[int]
) -> tuple[FakeResolver, list[float], bool, TestServer]:
    fake = FakeResolver(statuses)
    server = await aiohttp_server(fake.app())
    url = str(server.make_url("")).rstrip("/")
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    async with aiohttp.ClientSession() as session:
        notifier = Notifier((url,), identity, CATALOG, session, sleep=record)
        notifier.published(f"{PREFIX}/ACT.2025", 3)
        (task,) = notifier.pending
        await notifier.drain()
    assert not notifier.pending
    return fake, waited, task.result(), server, dict(notifier.outcomes)


async def test_a_notification_is_signed_for_the_resolver_it_goes_to(aiohttp_server, identity):
    fake, waited, delivered, server, outcomes = await _notify(aiohttp_server, identity, [202])
    assert delivered
    assert outcomes == {"delivered": 1}
    assert waited == []
    (body,) = fake.bodies
    assert body["@context"][0] == NOTIFICATION_CONTEXT
    assert {key: body[key] for key in ("type", "handle", "version")} == {
        "type": "RecordPublished",
        "handle": f"{PREFIX}/ACT.2025",
        "version": 3,
    }
    domain = did_web_for_url(str(server.make_url("")))
    request = verify_request(body, identity.did, domain=domain, loader=CATALOG.loader)
    assert request.verification_method == identity.method_id(identity.keys[0])


async def test_a_resolver_that_fails_is_tried_again_with_back_off_and_a_fresh_signature(
    aiohttp_server, identity
):
    fake, waited, delivered, _, outcomes = await _notify(aiohttp_server, identity, [503, 429, 202])
    assert delivered
    assert outcomes == {"delivered": 1}
    assert waited == [1.0, 4.0]  # RETRY_DELAYS, in order
    nonces = [body["proof"]["nonce"] for body in fake.bodies]
    assert len(set(nonces)) == 3


async def test_the_node_gives_up_after_the_last_retry(aiohttp_server, identity):
    fake, waited, delivered, _, outcomes = await _notify(aiohttp_server, identity, [500, 500, 500, 500, 202])
    assert not delivered
    assert outcomes == {"failed": 1}
    assert waited == list(RETRY_DELAYS)  # 1, 4, 16 s
    assert len(fake.bodies) == len(RETRY_DELAYS) + 1


async def test_a_refusal_is_not_tried_again(aiohttp_server, identity):
    fake, waited, delivered, _, outcomes = await _notify(aiohttp_server, identity, [401])
    assert not delivered
    assert outcomes == {"refused": 1}
    assert waited == []
    assert len(fake.bodies) == 1


async def test_an_unreachable_resolver_never_fails_a_publication(tmp_path, aiohttp_client, database_url):
    closed = f"http://127.0.0.1:{unused_port()}"
    settings = NodeSettings(
        prefix=PREFIX,
        data_dir=tmp_path / "node",
        database_url=database_url,
        log_json=False,
        notify_resolvers=(closed,),
    )
    await initialise_node(settings, SECRET)
    app = create_app(settings)
    client = await aiohttp_client(app)
    body = {"template": "activity-data/1", "document": activity(), "suffix": "ACT.2025"}
    response = await client.post("/api/records", json=body, headers=ADMIN)
    assert response.status == 201
    notifier = app[NOTIFIER_KEY]
    assert notifier.resolvers == (closed,)
    assert notifier.identity is app[NODE_KEY].identity
    (task,) = notifier.pending  # refused at once, now waiting to try again
    await client.close()  # shutdown cancels what is still pending
    assert task.cancelled()
    assert not notifier.pending


async def test_without_resolvers_nothing_is_sent(client, node_app):
    response = await client.post(
        "/api/records", json={"template": "activity-data/1", "document": activity()}, headers=ADMIN
    )
    assert response.status == 201
    notifier = node_app[NOTIFIER_KEY]
    assert notifier.resolvers == ()
    assert notifier.session is None
    assert not notifier.pending


def test_notification_document_shape():
    assert notification_document("88.186.1/ACT.2025", 2) == {
        "@context": [NOTIFICATION_CONTEXT],
        "type": "RecordPublished",
        "handle": "88.186.1/ACT.2025",
        "version": 2,
    }


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (["https://resolver.example", "http://127.0.0.1:18000/base"], True),
        (["ftp://resolver.example"], False),
        (["https://resolver.example/?q=1"], False),
    ],
)
def test_notify_resolvers_are_http_urls(tmp_path, value, accepted):
    path = tmp_path / "node.toml"
    listed = ", ".join(f'"{url}"' for url in value)
    path.write_text(f'[node]\nprefix = "{PREFIX}"\nnotify_resolvers = [{listed}]\n', "utf-8")
    if accepted:
        settings = load_settings(NodeSettings, path=path, section="node", env={})
        assert settings.notify_resolvers == tuple(value)
    else:
        with pytest.raises(SettingsError, match="notify_resolvers"):
            load_settings(NodeSettings, path=path, section="node", env={})
