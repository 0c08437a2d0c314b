"""What the registry refuses, as problems with stable `type` codes (rendered as problem+json).

Use-cases and the store raise these; the same classes name the codes in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterable

from common.errors import BadRequest, Conflict, NotFound, Unauthorized, UnprocessableContent
from metadata_templates import ValidationIssue

ADMIN_REALM = 'Basic realm="carbonid-registry", charset="UTF-8"'


class InvalidDocument(UnprocessableContent):
    """422: the document fails its template or a rule of the registry; `issues` lists pointer and message."""

    type = "invalid-document"
    title = "Invalid Document"

    def __init__(self, detail: str, issues: Iterable[ValidationIssue]) -> None:
        listed = [{"pointer": issue.pointer, "message": issue.message} for issue in issues]
        super().__init__(detail, issues=listed)


def invalid(pointer: str, message: str) -> InvalidDocument:
    """A 422 with one issue."""
    return InvalidDocument(f"{pointer or '/'}: {message}", [ValidationIssue(pointer, message)])


class PrefixNotServed(UnprocessableContent):
    """422: the prefix is not strictly below a prefix this registry serves."""

    type = "prefix-not-served"
    title = "Prefix Not Served Here"


class PrefixDelegated(UnprocessableContent):
    """422: the prefix is at or below a prefix delegated to another registry; apply there."""

    type = "prefix-delegated"
    title = "Prefix Delegated To Another Registry"


class InvalidPrefixParameter(BadRequest):
    """400: the prefix in the path is not a prefix."""

    type = "invalid-prefix"
    title = "Invalid Prefix"


class InvalidParameter(BadRequest):
    """400: a query parameter has a value the route does not accept."""

    type = "invalid-parameter"
    title = "Invalid Parameter"


class PrefixNotFound(NotFound):
    """404: no such prefix (or not one the caller may see)."""

    type = "prefix-not-found"
    title = "Prefix Not Found"


class TemplateNotFound(NotFound):
    """404: no such template or version."""

    type = "template-not-found"
    title = "Template Not Found"


class PrefixTaken(Conflict):
    """409: the prefix is already pending, approved or suspended (or delegated)."""

    type = "prefix-taken"
    title = "Prefix Taken"


class WrongStatus(Conflict):
    """409: the prefix is not in a status this action applies to."""

    type = "wrong-status"
    title = "Wrong Status"


class PrefixesBelow(Conflict):
    """409: a delegation would cover prefixes already registered here."""

    type = "prefixes-below"
    title = "Prefixes Registered Below"


class RecordVersionTaken(Conflict):
    """409: another request issued this record version first; re-read and retry."""

    type = "concurrent-update"
    title = "Concurrent Update"


class AdminExists(Conflict):
    """409: an administrator with this name exists."""

    type = "admin-exists"
    title = "Administrator Exists"


class SignatureRejected(Unauthorized):
    """401: a signed request does not prove what it must; `type` says precisely why."""

    type = "signature-invalid"
    title = "Signature Rejected"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, type=code, challenge='DataIntegrityProof realm="carbonid-registry"')


class AdminAuthenticationRequired(Unauthorized):
    """401: administrator credentials are missing or wrong."""

    type = "admin-authentication-required"
    title = "Administrator Authentication Required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, challenge=ADMIN_REALM)
