"""Reviewer accounts: the role that approves or rejects submitted product forms (CICES 管委会 审核).

A reviewer is a third party or an industry node's staff, not the enterprise: it gets an account on the
node (`carbonid node reviewer add NAME`, which prints its secret once; only a salted hash is kept) and
authenticates with HTTP Basic, user `reviewer:<name>`:

    Authorization: Basic base64("reviewer:<name>:<secret>")        e.g. curl -u 'reviewer:alice:s3cret'

The colon inside the user may also be percent-encoded (`reviewer%3Aalice`), as Handle clients encode the
administrator's `300%3A<prefix>%2FADMIN`. Names are ASCII letters, digits, `.`, `_` and `-` (no colon),
compared case-insensitively. Reviewer credentials open only the form routes; they are not the
administrator's and publish nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

from common.passwords import hash_secret
from node.access import AuthenticationFailed
from node.context import NodeContext, now_text
from node.forms_repository import AlreadyStored, ReviewerRow, forms_unit

USER: Final = "reviewer"
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PLAIN: Final = f"{USER}:"
_ENCODED: Final = f"{USER}%3a"


class InvalidReviewerName(ValueError):
    """A reviewer name outside the allowed characters."""


class ReviewerExists(Exception):
    """A reviewer of that name exists already."""


@dataclass(frozen=True, slots=True)
class ReviewerCredentials:
    """The name and secret a reviewer's Basic header carries."""

    name: str
    secret: str


def check_name(name: str) -> str:
    """`name` if it is a valid reviewer name; `InvalidReviewerName` otherwise."""
    if not _NAME.fullmatch(name):
        raise InvalidReviewerName(
            f"reviewer name {name!r}: 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def reviewer_credentials(header: str | None) -> ReviewerCredentials | None:
    """The reviewer a Basic `Authorization` header names, or None when it names no reviewer."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    start = raw[: len(_ENCODED)].lower()
    if start.startswith(_PLAIN):
        rest = raw[len(_PLAIN) :]
    elif start == _ENCODED:
        rest = raw[len(_ENCODED) :]
    else:
        return None
    name, _, secret = rest.partition(":")
    return ReviewerCredentials(name, secret)


async def authenticate_reviewer(ctx: NodeContext, credentials: ReviewerCredentials) -> str:
    """The reviewer's name as registered; `AuthenticationFailed` for an unknown name or a wrong secret."""
    async with forms_unit(ctx.store) as db:
        reviewer = await db.get_reviewer(credentials.name.lower())
    # scrypt costs tens of milliseconds: keep it off the event loop.
    if reviewer is None or not await asyncio.to_thread(
        ctx.secrets.check, credentials.secret, reviewer.secret_hash
    ):
        raise AuthenticationFailed(f"wrong secret or unknown reviewer {credentials.name!r}")
    return reviewer.name


async def add_reviewer(ctx: NodeContext, name: str, secret: str) -> ReviewerRow:
    """A new reviewer account holding the salted hash of `secret`; `ReviewerExists` if the name is taken."""
    row = ReviewerRow(
        check_name(name).lower(), name, await asyncio.to_thread(hash_secret, secret), now_text()
    )
    try:
        async with forms_unit(ctx.store, write=True) as db:
            await db.insert_reviewer(row)
    except AlreadyStored:
        raise ReviewerExists(f"reviewer {name} exists already") from None
    return row


async def remove_reviewer(ctx: NodeContext, name: str) -> bool:
    """Delete a reviewer account (its name stays in the forms' history); whether there was one."""
    async with forms_unit(ctx.store, write=True) as db:
        return await db.delete_reviewer(name.lower())
