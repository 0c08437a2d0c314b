"""Reading an enterprise's record for the resolver's own use: resolved as the resolver's prefix (so records
granted to it are read), verified back to the trust anchor, of the template expected, with a signed version.

Shared by evaluations (which cite what they read in the certificate) and the regional index (which keeps
the handle, version and digest of every row). Each caller translates the two failures into its own terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from certs.errors import MalformedProofError
from handle_registry.identifiers import Handle
from resolver.answers import VERIFIED, Found
from resolver.context import ResolverContext
from resolver.errors import UpstreamError
from resolver.resolution import resolve_record
from resolver.verification import signed_document

NOT_VERIFIED: Final = "not-verified"
OTHER_TEMPLATE: Final = "other-template"
UNVERSIONED: Final = "unversioned"

RefusalKind = Literal["not-verified", "other-template", "unversioned"]


@dataclass(frozen=True, slots=True)
class SignedSource:
    """A verified record: its handle, signed version and digest, and the signed document."""

    handle: str
    version: int
    digest: str
    document: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """`{"handle", "version", "digest"}`: how a certificate cites it."""
        return {"handle": self.handle, "version": self.version, "digest": self.digest}


class SourceRefused(Exception):
    """The record exists but cannot be used; `kind` says why (not verified, another template, no version)."""

    def __init__(self, kind: RefusalKind, message: str, *, template: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.template = template
        """The record's template, when it is another than the one expected."""


class SourceUnavailable(Exception):
    """A registry or node the record is read from did not answer."""


async def verified_source(ctx: ResolverContext, handle: Handle, template_ref: str) -> SignedSource | None:
    """The verified signed document of `handle`, read as the resolver's prefix; None when it does not exist.

    Raises `SourceRefused` when it exists but does not verify, is not a `template_ref` record or carries no
    signed version, and `SourceUnavailable` when a registry or node does not answer.
    """
    try:
        served = await resolve_record(ctx, handle, as_peer=True)
    except UpstreamError as exc:
        raise SourceUnavailable(f"cannot read {handle.text}: {exc}") from None
    answer = served.answer
    if not isinstance(answer, Found):
        return None
    verification = answer.verification
    if verification.status != VERIFIED:
        reason = verification.reason or verification.status
        raise SourceRefused(NOT_VERIFIED, f"{handle.text} does not verify ({verification.status}): {reason}")
    try:
        template, document = signed_document(ctx.catalog, answer.values)
    except MalformedProofError as exc:  # pragma: no cover - verified answers carry their document
        raise SourceRefused(NOT_VERIFIED, f"{handle.text}: {exc}") from None
    if template.ref != template_ref:
        raise SourceRefused(
            OTHER_TEMPLATE,
            f"{handle.text} is a {template.ref} record, not {template_ref}",
            template=template.ref,
        )
    if verification.version is None or verification.digest is None:
        raise SourceRefused(
            UNVERSIONED, f"{handle.text} carries no signed version: it cannot be cited or indexed"
        )
    return SignedSource(handle.text, verification.version, verification.digest, document)
