"""Administrator authentication: HTTP Basic `name:secret` checked against the registry's admin accounts."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from handle_registry.service.administration import authenticate_admin
from handle_registry.service.errors import AdminAuthenticationRequired
from handle_registry.service.keys import REGISTRY_KEY


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The (name, secret) of an `Authorization: Basic` header; None without a header; 401 if malformed."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise AdminAuthenticationRequired("administrators authenticate with HTTP Basic (name:secret)")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AdminAuthenticationRequired(
            "the Basic credentials are not base64 of UTF-8 name:secret"
        ) from None
    name, colon, secret = decoded.partition(":")
    if not colon:
        raise AdminAuthenticationRequired("the Basic credentials must be name:secret")
    return name, secret


async def optional_admin(request: web.Request) -> str | None:
    """The authenticated administrator, None for an anonymous caller; 401 for wrong credentials."""
    credentials = basic_credentials(request.headers.get("Authorization"))
    if credentials is None:
        return None
    return await authenticate_admin(request.app[REGISTRY_KEY], *credentials)


async def require_admin(request: web.Request) -> str:
    """The authenticated administrator; 401 with a Basic challenge when credentials are missing or wrong."""
    admin = await optional_admin(request)
    if admin is None:
        raise AdminAuthenticationRequired("this action needs administrator credentials (HTTP Basic)")
    return admin
