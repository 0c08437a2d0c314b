"""Administrator authentication: HTTP Basic `name:secret` checked against the registry's admin accounts."""

from __future__ import annotations

from aiohttp import web

from common.passwords import MalformedCredentials, basic_credentials
from handle_registry.service.administration import authenticate_admin
from handle_registry.service.errors import AdminAuthenticationRequired
from handle_registry.service.keys import REGISTRY_KEY


async def optional_admin(request: web.Request) -> str | None:
    """The authenticated administrator, None for an anonymous caller; 401 for wrong credentials."""
    try:
        credentials = basic_credentials(request.headers.get("Authorization"))
    except MalformedCredentials as exc:
        raise AdminAuthenticationRequired(str(exc)) from None
    if credentials is None:
        return None
    return await authenticate_admin(request.app[REGISTRY_KEY], *credentials)


async def require_admin(request: web.Request) -> str:
    """The authenticated administrator; 401 with a Basic challenge when credentials are missing or wrong."""
    admin = await optional_admin(request)
    if admin is None:
        raise AdminAuthenticationRequired("this action needs administrator credentials (HTTP Basic)")
    return admin
