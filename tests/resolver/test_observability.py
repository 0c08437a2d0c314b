"""Operations across the federation: one request id followed from the resolver to the registries and the
node, and every service's `/metrics` counting what happened (requests, cache, verification, federation)."""

from __future__ import annotations

from urllib.parse import quote

from yarl import URL

from tests.common.test_metrics import parse
from tests.resolver.conftest import Federation
from tests.resolver.test_trust import store_document, stored_document


async def test_the_client_request_id_reaches_every_registry_and_node_the_resolver_asks(
    federation: Federation,
):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node1, "ACT.2025")
    url = URL(f"{resolver.url}/api/handles/{quote(handle, safe='/')}", encoded=True)

    async with f.session.get(url, headers={"X-Request-Id": "trace-0001"}) as response:
        assert response.status == 200
        assert response.headers["X-Request-Id"] == "trace-0001"

    node_path = f"/api/handles/{quote(handle, safe='/')}"
    assert (node_path, "trace-0001") in f.node1.probe.request_ids
    # The prefix chain: the root registry referred 88.186 to the delegated registry, which holds 88.186.1.
    assert any(rid == "trace-0001" for _, rid in f.root.probe.request_ids)
    assert any(rid == "trace-0001" for _, rid in f.delegated.probe.request_ids)


async def test_without_a_client_id_the_resolver_s_own_id_is_carried(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node2, "ACT.2025")
    url = URL(f"{resolver.url}/api/handles/{quote(handle, safe='/')}", encoded=True)
    async with f.session.get(url) as response:
        assert response.status == 200
        generated = response.headers["X-Request-Id"]
    assert len(generated) == 32
    assert (f"/api/handles/{quote(handle, safe='/')}", generated) in f.node2.probe.request_ids
    # A later request gets a new id: ids do not leak from one request's context into the next.
    other = await f.publish(f.node2, "ACT.2024")
    async with f.session.get(
        URL(f"{resolver.url}/api/handles/{quote(other, safe='/')}", encoded=True)
    ) as again:
        assert again.status == 200
        assert again.headers["X-Request-Id"] != generated
    seen = dict(f.node2.probe.request_ids)
    assert seen[f"/api/handles/{quote(other, safe='/')}"] == again.headers["X-Request-Id"]


async def test_every_service_serves_its_metrics(federation: Federation):
    f = federation
    resolver = await f.start_resolver()
    handle = await f.publish(f.node1, "ACT.2025")
    await f.resolve(resolver, handle)
    for base in (f.root.url, f.delegated.url, f.node2.url, resolver.url):
        for _ in range(2):  # a scrape is counted once answered: the second one sees the first
            async with f.session.get(f"{base}/metrics") as response:
                assert response.status == 200, base
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                samples = parse(await response.text())
        scrapes = [
            value
            for labels, value in samples["carbonid_http_requests_total"]
            if labels["route"] == "/metrics"
        ]
        assert scrapes, base
        assert scrapes[0] >= 1, base
    async with f.node1.session.get(f"{f.node1.url}/metrics") as response:
        samples = parse(await response.text())
    routes = {labels["route"] for labels, _ in samples["carbonid_http_requests_total"]}
    assert "/api/records" in routes


def counter(samples: dict, name: str, **labels: str) -> float:
    """The value of one labelled sample (0 when absent)."""
    return sum(
        value for found, value in samples.get(name, []) if all(found.get(k) == v for k, v in labels.items())
    )


async def test_resolver_metrics_count_cache_hits_verification_failures_and_federation_errors(
    federation: Federation,
):
    f = federation
    resolver = await f.start_resolver()
    good = await f.publish(f.node2, "ACT.2025")
    for _ in range(3):
        assert (await f.resolve(resolver, good))[0] == 200
    # A record tampered with at the node: a verification failure with its code.
    bad = await f.publish(f.node2, "ACT.2024")
    version, document = await stored_document(f, f.node2, bad)
    document["industrialAddedValue10kCny"] = 1
    await store_document(f, f.node2, bad, version, document)
    status, body = await f.resolve(resolver, bad)
    assert (status, body["verification"]["code"]) == (200, "signature-invalid")
    # The node goes away: an uncached handle cannot be resolved.
    await f.stop_node(f.node2)
    status, _ = await f.resolve(resolver, f"{f.node2.prefix}/ACT.2023")
    assert status == 503

    async with f.session.get(f"{resolver.url}/metrics") as response:
        samples = parse(await response.text())
    cache = "carbonid_resolver_cache_total"
    assert counter(samples, cache, cache="answers", result="miss") >= 3
    # The second identical request came from the answers cache (and kept its bytes), the third from the bytes.
    assert counter(samples, cache, cache="answers", result="hit") == 1
    assert counter(samples, cache, cache="responses", result="hit") == 1
    assert counter(samples, cache, cache="prefixes", result="hit") >= 1
    assert counter(samples, "carbonid_verification_failures_total", code="signature-invalid") == 1
    assert counter(samples, "carbonid_federation_errors_total", upstream="node") == 1
    assert counter(samples, "carbonid_proof_verifications_total") >= 2
    routes = {labels["route"] for labels, _ in samples["carbonid_http_request_duration_seconds_count"]}
    assert "/api/handles/{handle}" in routes
