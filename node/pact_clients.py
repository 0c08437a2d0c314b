"""PACT client credentials and the tokens issued for them (Action Authenticate), and bearer authentication.

A client is a data recipient this node issued credentials to (`carbonid node pact-client add`): a generated
client_id and a secret kept as its salted hash. POST /auth/token implements OAuth 2.0 client credentials
(RFC 6749 section 4.4): Basic client_id:secret (each form-encoded first, section 2.3.1), form body
`grant_type=client_credentials`; the token is random, stored as its SHA-256, valid `pact_token_ttl` seconds.
Errors there are OAuth's (`TokenRequestError`, section 5.2); on the /2 actions a missing or unknown token is the
spec's BadRequest and an expired one TokenExpired.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import parse_qs, unquote_plus

from certs.data_integrity import format_datetime, parse_datetime
from common.passwords import MalformedCredentials, basic_credentials, hash_secret, new_secret
from handle_registry.identifiers import InvalidPrefix, parse_prefix
from node.pact import PactCode, PactError, PactService
from node.pact_store import ClientNameTaken, ClientRow, PactStore
from node.settings import NodeSettings

CLIENT_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"


class TokenRequestError(Exception):
    """An OAuth 2.0 error of the token endpoint: `{"error", "error_description"}` with its status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def to_json(self) -> dict[str, str]:
        """The RFC 6749 section 5.2 body."""
        return {"error": self.error, "error_description": self.description}


class InvalidClientRequest(ValueError):
    """A `pact-client` command was given a bad name or prefix, or names no client."""


# --------------------------------------------------------------------------------------------------------------
# Clients


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """New credentials: shown once, the secret is kept only as its salted hash."""

    client_id: str
    client_secret: str
    name: str
    prefix: str | None


def _client_prefix(settings: NodeSettings, text: str | None) -> tuple[str, str] | tuple[None, None]:
    if text is None:
        return None, None
    try:
        prefix = parse_prefix(text)
    except InvalidPrefix as exc:
        raise InvalidClientRequest(f"--prefix: {exc}") from None
    if prefix.is_na or prefix == parse_prefix(settings.prefix):
        raise InvalidClientRequest(f"--prefix: {text} is not a peer prefix")
    return prefix.text, prefix.key


async def add_client(
    store: PactStore, settings: NodeSettings, name: str, *, prefix: str | None = None, at: str
) -> IssuedClient:
    """Issue credentials to a data recipient, reading as `prefix` (its grants) when given."""
    if not CLIENT_NAME.fullmatch(name):
        raise InvalidClientRequest(
            f"name {name!r}: 1 to 64 letters, digits, '.', '_' or '-', starting alphanumeric"
        )
    prefix_text, prefix_key = _client_prefix(settings, prefix)
    client_id = f"pact-{secrets.token_hex(8)}"
    secret = new_secret()
    row = ClientRow(client_id, name, hash_secret(secret), prefix_text, prefix_key, at, None)
    try:
        async with store.unit(write=True) as db:
            await db.insert_client(row)
    except ClientNameTaken:
        raise InvalidClientRequest(f"a PACT client named {name!r} exists; choose another name") from None
    return IssuedClient(client_id, secret, name, prefix_text)


async def list_clients(store: PactStore) -> list[ClientRow]:
    """Every client, revoked ones included."""
    async with store.unit() as db:
        return await db.list_clients()


async def revoke_client(store: PactStore, client_id: str, *, at: str) -> None:
    """Revoke a client's credentials and its tokens."""
    async with store.unit(write=True) as db:
        if not await db.revoke_client(client_id, at):
            raise InvalidClientRequest(f"no active PACT client {client_id!r}")


# --------------------------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """An issued access token."""

    access_token: str
    expires_in: int

    def to_json(self) -> dict[str, Any]:
        """The RFC 6749 section 5.1 body."""
        return {"access_token": self.access_token, "token_type": "bearer", "expires_in": self.expires_in}


def token_hash(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token_request(content_type: str, body: bytes) -> None:
    """The body must be `grant_type=client_credentials` (form-encoded, each parameter once; scope ignored)."""
    if content_type != FORM_CONTENT_TYPE:
        raise TokenRequestError(400, "invalid_request", f"send the parameters as {FORM_CONTENT_TYPE}")
    try:
        params = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, max_num_fields=16
        )
    except (UnicodeDecodeError, ValueError):
        raise TokenRequestError(
            400, "invalid_request", "the body is not a form-encoded parameter list"
        ) from None
    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        raise TokenRequestError(400, "invalid_request", f"parameter {repeated[0]} is given more than once")
    grant = params.get("grant_type", [None])[0]
    if grant is None:
        raise TokenRequestError(400, "invalid_request", "grant_type is required")
    if grant != "client_credentials":
        raise TokenRequestError(
            400, "unsupported_grant_type", f"grant_type {grant!r}: only client_credentials"
        )


async def issue_token(pact: PactService, authorization: str | None) -> TokenGrant:
    """Check the client's Basic credentials and issue a bearer token valid `pact_token_ttl` seconds."""
    failed = TokenRequestError(401, "invalid_client", "client authentication failed")
    try:
        credentials = basic_credentials(authorization)
    except MalformedCredentials:
        raise failed from None
    if credentials is None:
        raise TokenRequestError(401, "invalid_client", "authenticate with HTTP Basic client_id:client_secret")
    # RFC 6749 section 2.3.1: both are form-encoded before Basic encoding.
    client_id, secret = unquote_plus(credentials[0]), unquote_plus(credentials[1])
    async with pact.store.unit() as db:
        client = await db.get_client(client_id)
    # scrypt costs tens of milliseconds: keep it off the event loop.
    if (
        client is None
        or client.revoked_at is not None
        or not await asyncio.to_thread(pact.secrets.check, secret, client.secret_hash)
    ):
        raise failed
    token = secrets.token_urlsafe(32)
    issued = pact.clock()
    ttl = pact.settings.pact_token_ttl
    async with pact.store.unit(write=True) as db:
        await db.insert_token(
            token_hash(token),
            client.client_id,
            issued_at=format_datetime(issued),
            expires_at=format_datetime(issued + timedelta(seconds=ttl)),
        )
    return TokenGrant(token, ttl)


async def authenticate(pact: PactService, authorization: str | None) -> ClientRow:
    """The client a bearer token was issued to: BadRequest for a missing or unknown token, TokenExpired."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PactError(PactCode.BAD_REQUEST, "authenticate with a bearer token from POST /auth/token")
    async with pact.store.unit() as db:
        found = await db.token_client(token_hash(token.strip()))
    if found is None:
        raise PactError(PactCode.BAD_REQUEST, "invalid access token")
    client, expires_at = found
    if parse_datetime(expires_at) <= pact.clock():
        raise PactError(PactCode.TOKEN_EXPIRED, "the access token has expired; request a new one")
    return client
