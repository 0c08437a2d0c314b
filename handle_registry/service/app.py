"""`create_app(settings)`: the registry's aiohttp application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Final

from aiohttp import web

from certs.canonical import w3c_contexts
from certs.identity import ServiceIdentity
from certs.keys import signing_algorithms
from common.app_keys import ENGINE_KEY
from common.database import default_sqlite_url, engine_context
from common.ratelimit import Limit, RateLimits
from common.web import create_service_app
from handle_registry.codec import dumps, encode_error
from handle_registry.response_codes import SERVER_TOO_BUSY
from handle_registry.service import handle_api, handlers
from handle_registry.service.core import RecordSigner, Registry, utc_now
from handle_registry.service.keys import REGISTRY_KEY
from handle_registry.service.openapi import build_openapi
from handle_registry.service.repository import RegistryStore
from handle_registry.service.schema import MIGRATION_TABLE, MIGRATIONS
from handle_registry.service.settings import RegistrySettings
from metadata_templates import Catalog, default_catalog

SERVICE_NAME = "registry"


def _handle_too_busy(request: web.Request, retry_after: int) -> web.StreamResponse:
    """A refused Handle request in Handle JSON (responseCode 3, HTTP 429), as its other errors are."""
    body = encode_error(SERVER_TOO_BUSY, f"Too many requests from this client; retry after {retry_after} s")
    return web.Response(status=429, text=dumps(body), content_type="application/json", charset="utf-8")


_RESOLVE: Final = Limit("resolve", render=_handle_too_busy, error_schema="HandleError")
_SIGNED: Final = Limit("publish")
_ADMIN: Final = Limit("publish", key_by="account")

RATE_LIMITED_ROUTES: Final[Mapping[tuple[str, str], Limit]] = {
    ("GET", "/api/handles"): _RESOLVE,
    ("GET", "/api/handles/{handle}"): _RESOLVE,
    ("POST", "/api/prefixes"): _SIGNED,
    ("POST", "/api/prefixes/{prefix}/keys"): _SIGNED,
    ("POST", "/api/prefixes/{prefix}/approve"): _ADMIN,
    ("POST", "/api/prefixes/{prefix}/reject"): _ADMIN,
    ("POST", "/api/prefixes/{prefix}/suspend"): _ADMIN,
    ("POST", "/api/prefixes/{prefix}/reinstate"): _ADMIN,
    ("POST", "/api/delegations"): _ADMIN,
}
"""The registry's rate-limited routes: resolution and signed submissions (applications, key changes) by
address, administrators' writes by the account they name."""


def database_url(settings: RegistrySettings) -> str:
    """The configured database, or `<data_dir>/registry.db`."""
    return settings.database_url or default_sqlite_url(settings.data_dir, SERVICE_NAME)


def load_identity(settings: RegistrySettings) -> ServiceIdentity:
    """The registry's signing identity: Ed25519 (and SM2 with `sign_sm2`) keys in `<data_dir>/keys`."""
    return ServiceIdentity.load_or_create(
        settings.data_dir / "keys", settings.base_url(), algorithms=signing_algorithms(settings.sign_sm2)
    )


def _registry_context(
    settings: RegistrySettings,
    catalog: Catalog,
    signer: RecordSigner | None,
    clock: Callable[[], datetime],
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def registry(app: web.Application) -> AsyncIterator[None]:
        engine = app[ENGINE_KEY]
        identity = signer if signer is not None else load_identity(settings)
        app[REGISTRY_KEY] = Registry(settings, RegistryStore(engine), identity, catalog, clock)
        yield

    return registry


def create_app(
    settings: RegistrySettings,
    *,
    signer: RecordSigner | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> web.Application:
    """The registry application; `signer` and `clock` replace the identity from `data_dir` and the real time.
    Rate-limited per client as `RATE_LIMITED_ROUTES` says."""
    catalog = default_catalog()
    limits = RateLimits(settings, RATE_LIMITED_ROUTES)
    app = create_service_app(
        settings,
        name=SERVICE_NAME,
        openapi=build_openapi,
        contexts={**w3c_contexts(), **catalog.contexts},
        middlewares=limits.middlewares(),
    )
    app.cleanup_ctx.append(
        engine_context(database_url(settings), migrations=MIGRATIONS, migration_table=MIGRATION_TABLE)
    )
    app.cleanup_ctx.append(_registry_context(settings, catalog, signer, clock))
    router = app.router
    router.add_get("/.well-known/did.json", handlers.did_document)
    router.add_post("/api/prefixes", handlers.apply)
    router.add_get("/api/prefixes", handlers.list_prefixes)
    router.add_get("/api/prefixes/{prefix}", handlers.get_prefix)
    router.add_post("/api/prefixes/{prefix}/approve", handlers.approve)
    router.add_post("/api/prefixes/{prefix}/reject", handlers.reject)
    router.add_post("/api/prefixes/{prefix}/suspend", handlers.suspend)
    router.add_post("/api/prefixes/{prefix}/reinstate", handlers.reinstate)
    router.add_post("/api/prefixes/{prefix}/keys", handlers.change_keys)
    router.add_post("/api/delegations", handlers.delegate)
    router.add_get("/api/handles", handle_api.list_handles)
    # Any text, line breaks included (`.` stops at one): a control character is the handler's code 102.
    router.add_get(r"/api/handles/{handle:[\s\S]+}", handle_api.resolve)
    router.add_get("/api/templates", handlers.list_templates)
    router.add_get("/api/templates/{id}", handlers.get_template)
    router.add_get("/api/templates/{id}/{version}", handlers.get_template)
    limits.bind(app)
    return app
