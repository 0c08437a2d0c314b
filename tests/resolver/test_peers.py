"""Peer credentials: the resolver presents a federation client certificate bound to its prefix, so a record
the node granted to that prefix resolves (verified) for the resolver's own use; a private record not
granted does not exist for it. Its public Handle API never serves a granted record: whoever asks the
resolver gets what an anonymous reader of the node gets."""

from __future__ import annotations

from resolver.answers import NotFound
from resolver.keys import RESOLVER_KEY
from resolver.resolution import resolve
from tests.resolver.conftest import RESOLVER_PREFIX, Federation


async def test_a_record_granted_to_the_resolvers_prefix_is_readable_and_others_are_not(
    federation: Federation,
):
    f = federation
    resolver = await f.start_resolver()
    granted = await f.publish(f.node1, "CICES.GRANTED", visibility="private")
    await f.grant(f.node1, granted, RESOLVER_PREFIX)
    private = await f.publish(f.node1, "CICES.PRIVATE", visibility="private")
    elsewhere = await f.publish(f.node1, "CICES.ELSEWHERE", visibility="private")
    await f.grant(f.node1, elsewhere, "88.186.7")

    ctx = resolver.app[RESOLVER_KEY]
    served = await resolve(ctx, granted, as_peer=True)
    assert served.answer.verification.status == "verified"
    for handle in (private, elsewhere):
        assert isinstance((await resolve(ctx, handle, as_peer=True)).answer, NotFound), handle


async def test_the_handle_api_never_serves_a_granted_record(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    granted = await f.publish(f.node1, "CICES.GRANTED", visibility="private")
    await f.grant(f.node1, granted, RESOLVER_PREFIX)
    # Even after the resolver read it for itself, and so holds it in a cache, the public API does not serve it.
    assert (
        await resolve(resolver.app[RESOLVER_KEY], granted, as_peer=True)
    ).answer.verification.status == "verified"
    for handle in (granted, granted.upper()):
        status, body = await f.resolve(resolver, handle)
        assert (status, body["responseCode"]) == (404, 100), handle


async def test_without_a_client_certificate_the_granted_record_is_not_found(federation: Federation):
    f = federation
    resolver = await f.start_resolver(client_certificate=None, client_key=None, data_dir=f.tmp / "anonymous")
    granted = await f.publish(f.node1, "CICES.GRANTED", visibility="private")
    await f.grant(f.node1, granted, RESOLVER_PREFIX)
    status, _ = await f.resolve(resolver, granted)
    assert status == 404
    public = await f.publish(f.node1, "ACT.2025")
    status, body = await f.resolve(resolver, public)
    assert (status, body["verification"]["status"]) == (200, "verified")
