"""What every carbonid service's application has: middlewares, health, OpenAPI, bundled JSON-LD contexts.

A service's `create_app(settings)` starts from `create_service_app` and adds its own routes, storage
and resources. The routes added here:

- `GET /healthz`: `{"status":"ok",...}`, and a database round trip when the app has an engine (503 when
  the database does not answer);
- `GET /openapi.json`: the service's OpenAPI 3.1 document, built once on first request;
- `GET /metrics`: the service's metrics in the Prometheus text format (`common.metrics`): requests by route
  template and status, latency histograms, requests in flight, and whatever the service adds;
- `GET /api/contexts` and `GET /api/contexts/{name}`: every JSON-LD context the service signs or verifies
  with, listed with its canonical URL and downloadable, so an outside verifier can preload them (no
  service ever fetches a context itself).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Final

import sqlalchemy as sa
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from common.app_keys import ENGINE_KEY, METRICS_KEY, PROBLEM_TYPE_KEY, SETTINGS_KEY
from common.database import DatabaseUnavailable, translate_unavailable
from common.errors import NotFound, ServiceUnavailable, render_problems
from common.logging import request_id_middleware
from common.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from common.metrics import Counter, Gauge, Histogram, Metrics
from common.settings import ServiceSettings

OpenApiBuilder = Callable[[web.Application], dict[str, Any]]

SERVICE_NAME_KEY: Final = web.AppKey("SERVICE_NAME_KEY", str)
_OPENAPI_BUILDER_KEY: Final = web.AppKey("_OPENAPI_BUILDER_KEY", object)
_OPENAPI_CACHE_KEY: Final = web.AppKey("_OPENAPI_CACHE_KEY", dict)
_CONTEXTS_KEY: Final = web.AppKey("_CONTEXTS_KEY", dict)


class HttpMetrics:
    """The metrics every request feeds: count by (method, route template, status), latency, in flight."""

    __slots__ = ("in_flight", "latency", "problems", "requests")

    def __init__(self, metrics: Metrics) -> None:
        self.requests: Counter = metrics.counter(
            "http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
        )
        self.latency: Histogram = metrics.histogram(
            "http_request_duration_seconds",
            "Time to answer a request, by method and route template.",
            ("method", "route"),
        )
        self.problems: Counter = metrics.counter(
            "http_problems_total",
            "Requests answered with a problem+json error, by route template and problem type "
            "(signature and key failures, database unavailable, validation errors...).",
            ("route", "type"),
        )
        self.in_flight: Gauge = metrics.gauge("http_requests_in_flight", "Requests being answered now.")
        self.in_flight.set(0)

    def record(self, request: web.Request, status: int, seconds: float) -> None:
        """Count one answered request (hot path: plain dict arithmetic, no label checks)."""
        resource = request.match_info.route.resource
        # The route template, never the raw path: a handle per label value would grow without bound.
        route = resource.canonical if resource is not None else "unmatched"
        method = request.method
        key = (method, route, str(status))
        values = self.requests.values
        values[key] = values.get(key, 0.0) + 1
        self.latency.observe(seconds, method, route)
        problem = request.get(PROBLEM_TYPE_KEY)
        if problem is not None:
            self.problems.inc(route=route, type=problem)


_HTTP_METRICS_KEY: Final = web.AppKey("_HTTP_METRICS_KEY", HttpMetrics)

JSON_LD = "application/ld+json"


def context_name(url: str) -> str:
    """A readable path segment for a context URL: https://www.w3.org/ns/credentials/v2 → www.w3.org-ns-credentials-v2."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", url.split("://", 1)[-1]).strip("-")


def create_service_app(
    settings: ServiceSettings,
    *,
    name: str,
    openapi: OpenApiBuilder,
    contexts: Mapping[str, Mapping[str, Any]],
    middlewares: Iterable[Middleware] = (),
) -> web.Application:
    """The base application of a service, with the shared middlewares and routes."""
    app = web.Application(
        middlewares=[service_middleware, *middlewares],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS_KEY] = settings
    app[SERVICE_NAME_KEY] = name
    metrics = Metrics()
    app[METRICS_KEY] = metrics
    app[_HTTP_METRICS_KEY] = HttpMetrics(metrics)
    app[_OPENAPI_BUILDER_KEY] = openapi
    app[_OPENAPI_CACHE_KEY] = {}  # filled on first request; a dict, since app state is frozen once started
    app[_CONTEXTS_KEY] = {context_name(url): (url, dict(doc)) for url, doc in contexts.items()}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/metrics", metrics_text)
    app.router.add_get("/api/contexts", list_contexts)
    app.router.add_get("/api/contexts/{name}", get_context)
    return app


@web.middleware
async def service_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`request_id_middleware`, `problem_middleware` and the HTTP metrics in one: every middleware costs aiohttp
    a wrapped call per request, and this runs on every request of every service (profiled on the resolver's
    cached path).
    """
    http = request.app.get(_HTTP_METRICS_KEY)
    if http is None:  # a sub-application: its parent's middleware counts the request
        return await request_id_middleware(request, partial(render_problems, handler=handler))
    started = time.perf_counter()
    gauge = http.in_flight.values
    gauge[()] += 1
    status = 500
    try:
        response = await request_id_middleware(request, partial(render_problems, handler=handler))
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects, and the errors of routes that answer in their own shape
        status = exc.status
        raise
    finally:
        gauge[()] -= 1
        http.record(request, status, time.perf_counter() - started)


async def healthz(request: web.Request) -> web.Response:
    """Liveness and, when the service has a database, readiness."""
    body: dict[str, Any] = {"status": "ok", "service": request.app[SERVICE_NAME_KEY]}
    if ENGINE_KEY in request.app:
        try:
            with translate_unavailable():
                async with request.app[ENGINE_KEY].connect() as connection:
                    await connection.execute(sa.text("SELECT 1"))
        except DatabaseUnavailable as exc:
            raise ServiceUnavailable(f"database does not answer: {exc}", retry_after=5) from None
        body["database"] = "ok"
    return web.json_response(body)


async def metrics_text(request: web.Request) -> web.Response:
    """The service's metrics in the Prometheus text exposition format."""
    return web.Response(
        text=request.app[METRICS_KEY].render(),
        headers={"Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store"},
    )


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this service."""
    app = request.app
    cache = app[_OPENAPI_CACHE_KEY]
    if "document" not in cache:
        builder = app[_OPENAPI_BUILDER_KEY]
        assert callable(builder)
        cache["document"] = builder(app)
    return web.json_response(cache["document"])


async def list_contexts(request: web.Request) -> web.Response:
    """Every bundled JSON-LD context: its canonical URL and where to download it here."""
    contexts = request.app[_CONTEXTS_KEY]
    listing = [{"url": url, "href": f"/api/contexts/{name}"} for name, (url, _) in sorted(contexts.items())]
    return web.json_response({"contexts": listing})


async def get_context(request: web.Request) -> web.Response:
    """One bundled context document, byte-stable JSON-LD."""
    entry = request.app[_CONTEXTS_KEY].get(request.match_info["name"])
    if entry is None:
        raise NotFound(f"no bundled context named {request.match_info['name']!r}; see /api/contexts")
    url, document = entry
    return web.Response(
        text=json.dumps(document, ensure_ascii=False, indent=2),
        content_type=JSON_LD,
        headers={"Link": f'<{url}>; rel="canonical"', "Cache-Control": "public, max-age=86400"},
    )


def app_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route, as OpenAPI writes them; HEAD routes aiohttp adds are left out."""
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path is None or route.method in ("HEAD", "*"):
            continue
        routes.add((route.method, re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)))
    return routes


def openapi_routes(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation an OpenAPI document describes."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {
        (method.upper(), path)
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in methods
    }


PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}


def problem_response_spec(description: str) -> dict[str, Any]:
    """An OpenAPI response object for a problem+json error."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def base_openapi(title: str, version: str, description: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document holding the routes every service shares; services add their own paths."""
    json_ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "Liveness and database readiness",
                    "operationId": "healthz",
                    "responses": {
                        "200": {
                            "description": "The service and its database answer.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["status", "service"],
                                        "properties": {
                                            "status": {"const": "ok"},
                                            "service": {"type": "string"},
                                            "database": {"const": "ok"},
                                        },
                                    }
                                }
                            },
                        },
                        "503": problem_response_spec("The database does not answer."),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Metrics in the Prometheus text format",
                    "operationId": "metrics",
                    "description": (
                        "Requests by route template and status, latency histograms, requests in flight, and the "
                        "service's own counters (cache hits, verification failures, federation errors)."
                    ),
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format 0.0.4.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {"summary": "This document", "operationId": "openapi", "responses": {"200": json_ok}}
            },
            "/api/contexts": {
                "get": {
                    "summary": "The JSON-LD contexts this service signs and verifies with",
                    "operationId": "listContexts",
                    "responses": {
                        "200": {
                            "description": "Canonical URL and download link of every bundled context.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["contexts"],
                                        "properties": {
                                            "contexts": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "required": ["url", "href"],
                                                    "properties": {
                                                        "url": {"type": "string", "format": "uri"},
                                                        "href": {"type": "string"},
                                                    },
                                                },
                                            }
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/contexts/{name}": {
                "get": {
                    "summary": "One JSON-LD context document",
                    "operationId": "getContext",
                    "parameters": [
                        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {
                            "description": "The context document.",
                            "content": {JSON_LD: {"schema": {"type": "object"}}},
                        },
                        "404": problem_response_spec("No bundled context has that name."),
                    },
                }
            },
        },
        "components": {"schemas": {"Problem": PROBLEM_SCHEMA}},
    }


def run_service(app: web.Application, settings: ServiceSettings, *, ssl_context: Any = None) -> None:
    """Serve `app` until interrupted (the caller picks the event loop, e.g. uvloop, before calling)."""
    from common.logging import StructuredAccessLogger, configure_logging

    if (settings.tls_certificate is None) != (settings.tls_key is None):
        raise ValueError("tls_certificate and tls_key go together: set both or neither")
    if settings.tls_client_ca is not None and settings.tls_certificate is None:
        raise ValueError("tls_client_ca needs tls_certificate: client certificates only exist over TLS")
    configure_logging(settings.log_level, json=settings.log_json)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        ssl_context=ssl_context,
        access_log_class=StructuredAccessLogger,
        print=None,
    )
