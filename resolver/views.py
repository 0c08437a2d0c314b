"""Answers as Handle JSON bytes: the values (filtered by `type=` / `index=`) and the `verification` object.

Pure: the handlers pick the status and send these bytes; the hot path sends bytes kept from an earlier
encoding of the same cache entry for the same request target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from handle_registry.codec import dumps, encode_error, encode_values
from handle_registry.response_codes import (
    HANDLE_NOT_FOUND,
    SUCCESS,
    VALUES_NOT_FOUND,
    http_status_for,
)
from handle_registry.values import select_values
from resolver.answers import Found, Served

JSON_CONTENT_TYPE: Final = "application/json"


@dataclass(frozen=True, slots=True)
class Filters:
    """The selection and layout a request asks for: repeated `type=`, repeated `index=`, `pretty`."""

    types: tuple[str, ...] = ()
    indexes: tuple[int, ...] = ()
    pretty: bool = False


def found_body(
    requested: str, found: Found, filters: Filters, *, cached: bool, stale: bool
) -> dict[str, Any]:
    """`{"responseCode","handle","values","verification"}`; code 200 with no values when none is selected."""
    selected = select_values(found.values, types=filters.types, indexes=filters.indexes)
    return {
        "responseCode": int(SUCCESS if selected else VALUES_NOT_FOUND),
        "handle": requested,
        "values": encode_values(selected, with_permissions=True),
        "verification": found.verification.to_json(cached=cached, stale=stale),
    }


def served_response(requested: str, served: Served, filters: Filters) -> tuple[int, bytes]:
    """The HTTP status and body of a served answer."""
    answer = served.answer
    if isinstance(answer, Found):
        body = found_body(requested, answer, filters, cached=served.cached, stale=served.stale)
        return 200, encode(body, pretty=filters.pretty)
    return error_response(HANDLE_NOT_FOUND, answer.message, requested, pretty=filters.pretty)


def error_response(
    code: int, message: str, handle: str | None, *, pretty: bool = False, status: int | None = None
) -> tuple[int, bytes]:
    """`{"responseCode","handle","message"}` with the status the Handle server gives the code (or `status`)."""
    body = encode(encode_error(code, message, handle=handle), pretty=pretty)
    return (status if status is not None else http_status_for(code)), body


def encode(document: Any, *, pretty: bool = False) -> bytes:
    """Handle JSON as the server writes it (compact, or 2-space indented), UTF-8."""
    return dumps(document, pretty=pretty).encode("utf-8")
