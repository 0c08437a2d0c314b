"""Who is asking: the node's administrator (HTTP Basic, checked against HS_SECKEY), a federation peer
(a client certificate bound to a prefix), or anyone; and what each may read.

Administrator credentials are those of a Handle server: `Authorization: Basic base64(user:secret)` where
the user `300%3A88.186.1%2FADMIN` (percent-encoded, so the colon inside survives the split at the first
`:`) decodes to the value reference `300:88.186.1/ADMIN`. The secret is checked against the salted hash
kept as the HS_SECKEY value at that index of `<prefix>/ADMIN` (index 0: any HS_SECKEY of it). Only the
node's own `<prefix>/ADMIN` authenticates: it administers every handle under the prefix.

Visibility: a public record is read by anyone; a private one by the administrator and by a peer whose
certificate is bound to a prefix holding an active grant. Everyone else is told the record does not exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from dataclasses import dataclass

from handle_registry.codec import CodecError, decode_value, parse_json
from handle_registry.identifiers import (
    Handle,
    InvalidHandle,
    Prefix,
    fold_ascii,
    parse_value_reference,
    percent_decode,
)
from handle_registry.values import TYPE_HS_SECKEY, ValueFormat
from node.context import NodeContext
from node.repository import ReadScope, RecordRow, StoredValue, StoreSession


class AuthenticationFailed(Exception):
    """Credentials were given but are malformed or wrong; the message says which, for the log only."""


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    """What a Basic `Authorization` header says: the value reference and the secret."""

    index: int
    handle: Handle
    secret: str

    @property
    def user(self) -> str:
        """The value reference as `index:handle`."""
        return f"{self.index}:{self.handle.text}"


@dataclass(frozen=True, slots=True)
class Caller:
    """The party behind a request: the authenticated admin identity and/or the peer's prefix, or nobody."""

    admin: str | None = None
    peer_prefix: Prefix | None = None

    @property
    def is_admin(self) -> bool:
        """True when the request carried the node administrator's credentials."""
        return self.admin is not None

    @property
    def scope(self) -> ReadScope:
        """What this caller may read, as the store understands it."""
        return ReadScope(
            admin=self.is_admin,
            peer_prefix_key=self.peer_prefix.key if self.peer_prefix is not None else None,
        )


ANONYMOUS = Caller()


def parse_basic_authorization(header: str) -> BasicCredentials:
    """Read `Basic base64(user:secret)`; the user part is percent-decoded (`+` kept) as the Handle server does.

    Raises `AuthenticationFailed` for another scheme, bad base64 or UTF-8, or a user that is no value reference.
    """
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise AuthenticationFailed(f"unsupported authorization scheme {scheme!r}")
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed("Basic credentials are not valid base64") from None
    user_bytes, colon, secret_bytes = raw.partition(b":")
    if not colon:
        raise AuthenticationFailed("Basic credentials have no ':' between user and secret")
    try:
        user = percent_decode(user_bytes.decode("utf-8"))
        secret = secret_bytes.decode("utf-8")
        index, handle = parse_value_reference(user)
    except (UnicodeDecodeError, InvalidHandle) as exc:
        raise AuthenticationFailed(f"Basic user is not a value reference index:handle: {exc}") from None
    return BasicCredentials(index, handle, secret)


def _seckey_hash(value: StoredValue) -> str | None:
    """The salted hash an HS_SECKEY value holds (always text: secrets are hashed when written)."""
    try:
        data = decode_value(parse_json(value.value_json)).data
    except CodecError:
        return None
    return data.value if data.format is ValueFormat.STRING and isinstance(data.value, str) else None


async def authenticate_admin(ctx: NodeContext, credentials: BasicCredentials) -> str:
    """Check admin credentials; return the identity `index:<prefix>/ADMIN` that matched.

    Raises `AuthenticationFailed` when the user is not the node's admin handle or the secret does not match
    any HS_SECKEY at that index (any index for index 0).
    """
    admin_handle = ctx.prefix.admin_handle
    if credentials.handle != admin_handle:
        raise AuthenticationFailed(
            f"{credentials.handle.text} is not this node's admin handle {admin_handle.text}"
        )
    async with ctx.store.unit() as db:
        values = await db.get_values(admin_handle.key)
    candidates = [
        (value.index, stored)
        for value in values
        if fold_ascii(value.type) == TYPE_HS_SECKEY
        and credentials.index in (0, value.index)
        and (stored := _seckey_hash(value)) is not None
    ]
    secrets = [credentials.secret]
    if "%" in credentials.secret:
        # pyhandle percent-encodes the secret, the Handle server does not decode it: accept either form.
        with contextlib.suppress(InvalidHandle):
            secrets.append(percent_decode(credentials.secret))
    for index, stored in candidates:
        for secret in secrets:
            # scrypt costs tens of milliseconds: keep it off the event loop.
            if await asyncio.to_thread(ctx.secrets.check, secret, stored):
                return f"{index}:{admin_handle.text}"
    raise AuthenticationFailed(f"secret does not match {credentials.user}")


def may_read_record(record: RecordRow, caller: Caller, *, granted: bool) -> bool:
    """Whether `caller` may see `record`; `granted` says whether the caller's peer prefix holds an active grant."""
    return record.visibility == "public" or caller.is_admin or (caller.peer_prefix is not None and granted)


async def can_read_record(db: StoreSession, record: RecordRow, caller: Caller) -> bool:
    """`may_read_record`, looking the grant up (in the caller's unit of work) only when it matters."""
    if record.visibility == "public" or caller.is_admin:
        return True
    if caller.peer_prefix is None:
        return False
    grant = await db.active_grant(record.key, caller.peer_prefix.key)
    return may_read_record(record, caller, granted=grant is not None)
