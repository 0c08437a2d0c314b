"""The Prometheus text format of `common.metrics`, and the HTTP metrics every service answers at `/metrics`."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from common.app_keys import METRICS_KEY
from common.errors import BadRequest
from common.metrics import CONTENT_TYPE, Metrics, Sample
from common.settings import ServiceSettings
from common.web import base_openapi, create_service_app

_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$'
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """A strict reader of the text format: every line is a comment or a sample of a declared metric."""
    assert text.endswith("\n")
    declared: dict[str, str] = {}
    samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in declared, f"{name} declared twice"
            declared[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.group(1), match.group(2) or "", match.group(3)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in declared or (base in declared and declared[base] == "histogram"), f"{name} undeclared"
        samples[name].append((dict(_LABEL.findall(labels)), float(value)))
    return samples


def test_counter_gauge_and_escaped_labels() -> None:
    metrics = Metrics()
    errors = metrics.counter("errors_total", "Errors.", ("kind",))
    errors.inc(kind='a "quoted"\nname\\')
    errors.inc(2, kind="plain")
    gauge = metrics.gauge("queue_depth", "Depth.")
    gauge.set(3)
    gauge.add(-1)
    samples = parse(metrics.render())
    assert dict((labels["kind"], value) for labels, value in samples["carbonid_errors_total"]) == {
        'a \\"quoted\\"\\nname\\\\': 1.0,
        "plain": 2.0,
    }
    assert samples["carbonid_queue_depth"] == [({}, 2.0)]
    with pytest.raises(ValueError, match="never goes down"):
        errors.inc(-1, kind="plain")
    with pytest.raises(ValueError, match="takes labels"):
        errors.inc(other="x")


def test_histogram_buckets_are_cumulative_and_end_at_count() -> None:
    metrics = Metrics()
    latency = metrics.histogram("latency_seconds", "Latency.", ("route",), buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        latency.observe(value, "/x")
    samples = parse(metrics.render())
    buckets = {labels["le"]: value for labels, value in samples["carbonid_latency_seconds_bucket"]}
    # le is inclusive: 0.1 falls in the 0.1 bucket.
    assert buckets == {"0.1": 2.0, "1": 3.0, "+Inf": 4.0}
    assert samples["carbonid_latency_seconds_count"] == [({"route": "/x"}, 4.0)]
    assert samples["carbonid_latency_seconds_sum"][0][1] == pytest.approx(3.65)


def test_names_are_checked_once_at_registration() -> None:
    metrics = Metrics()
    metrics.counter("a_total", "A.")
    with pytest.raises(ValueError, match="already registered"):
        metrics.counter("a_total", "A again.")
    with pytest.raises(ValueError, match="not a metric name"):
        metrics.counter("bad-name", "B.")
    with pytest.raises(ValueError, match="not a label name"):
        metrics.counter("c_total", "C.", ("le",))
    with pytest.raises(ValueError, match="ascending"):
        metrics.histogram("d_seconds", "D.", buckets=(1.0, 0.5))


def test_collector_reads_figures_at_scrape_time() -> None:
    metrics = Metrics()
    hits = {"answers": 0}
    metrics.collector(
        "cache_hits_total",
        "Hits.",
        lambda: [Sample({"cache": name}, value) for name, value in hits.items()],
    )
    assert parse(metrics.render())["carbonid_cache_hits_total"] == [({"cache": "answers"}, 0.0)]
    hits["answers"] = 7
    assert parse(metrics.render())["carbonid_cache_hits_total"] == [({"cache": "answers"}, 7.0)]


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"id": request.match_info["id"]})


async def _refused(request: web.Request) -> web.Response:
    raise BadRequest("no", type="thing-refused")


def _app(tmp_path: Any) -> web.Application:
    settings = ServiceSettings(data_dir=tmp_path)
    app = create_service_app(
        settings, name="test", openapi=lambda app: base_openapi("t", "1", "t"), contexts={}
    )
    app.router.add_get("/things/{id}", _ok)
    app.router.add_post("/things", _refused)
    return app


async def test_metrics_count_requests_by_route_template_status_and_problem(
    aiohttp_client: Any, tmp_path: Any
) -> None:
    client: TestClient[Any, Any] = await aiohttp_client(_app(tmp_path))
    for thing in ("a", "b", "c"):
        assert (await client.get(f"/things/{thing}")).status == 200
    assert (await client.post("/things", json={})).status == 400
    assert (await client.get("/nowhere")).status == 404

    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    samples = parse(await response.text())
    requests = {
        (labels["method"], labels["route"], labels["status"]): value
        for labels, value in samples["carbonid_http_requests_total"]
    }
    # One series per route template, not per path: a handle per label would grow without bound.
    assert requests[("GET", "/things/{id}", "200")] == 3
    assert requests[("POST", "/things", "400")] == 1
    assert requests[("GET", "unmatched", "404")] == 1
    counts = {
        (labels["method"], labels["route"]): value
        for labels, value in samples["carbonid_http_request_duration_seconds_count"]
    }
    assert counts[("GET", "/things/{id}")] == 3
    problems = {
        (labels["route"], labels["type"]): value for labels, value in samples["carbonid_http_problems_total"]
    }
    assert problems[("/things", "thing-refused")] == 1
    # The scrape itself is in flight while it renders.
    assert samples["carbonid_http_requests_in_flight"] == [({}, 1.0)]
    assert client.app is not None
    assert client.app[METRICS_KEY] is not None


async def test_metrics_route_is_in_the_openapi_document(aiohttp_client: Any, tmp_path: Any) -> None:
    client = await aiohttp_client(_app(tmp_path))
    document = await (await client.get("/openapi.json")).json()
    assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
