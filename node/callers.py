"""Reading who is calling from an HTTP request: Basic credentials and the TLS client certificate.

Shared by the Handle routes (which answer in Handle JSON) and the record routes (problem+json); each
renders `AuthenticationFailed` and `InsecureCredentials` in its own shape.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from certs.x509 import CertificateError, prefix_from_certificate
from handle_registry.identifiers import InvalidPrefix, Prefix, parse_prefix
from node.access import Caller, authenticate_admin, parse_basic_authorization
from node.context import NodeContext


class InsecureCredentials(Exception):
    """Credentials arrived over plain HTTP from a non-loopback client; like the Handle server, refuse them."""


def peer_prefix(request: web.BaseRequest) -> Prefix | None:
    """The prefix bound to the client certificate the TLS handshake verified, or None for an anonymous peer."""
    transport = request.transport
    if transport is None:
        return None
    try:
        return parse_prefix(prefix_from_certificate(transport.get_extra_info("peercert")))
    except (CertificateError, InvalidPrefix):
        return None


def _is_loopback(request: web.BaseRequest) -> bool:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if not peer:
        return False
    host = peer[0] if isinstance(peer, tuple) else str(peer)
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credentials_allowed(request: web.BaseRequest, ctx: NodeContext) -> bool:
    """Basic credentials are read over TLS, from loopback, or everywhere when the settings say so."""
    return request.secure or _is_loopback(request) or ctx.settings.plain_http_credentials


def _is_client_certificate_scheme(header: str) -> bool:
    # pyhandle's certificate mode sends `Handle clientCert="true"`: the certificate speaks, not the header.
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower() == "handle" and "clientcert" in rest.lower()


async def identify(request: web.BaseRequest, ctx: NodeContext) -> Caller:
    """The caller: the admin identity when Basic credentials check out, and the peer prefix of its certificate.

    Raises `node.access.AuthenticationFailed` for wrong or malformed credentials and `InsecureCredentials`
    for credentials sent in the clear from another host.
    """
    peer = peer_prefix(request)
    header = request.headers.get("Authorization")
    if header is None or not header.strip() or _is_client_certificate_scheme(header):
        return Caller(peer_prefix=peer)
    if not credentials_allowed(request, ctx):
        raise InsecureCredentials("credentials over plain HTTP are only accepted from loopback")
    credentials = parse_basic_authorization(header)
    return Caller(admin=await authenticate_admin(ctx, credentials), peer_prefix=peer)
