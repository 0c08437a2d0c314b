"""What every service's OpenAPI document must say about answers no handler writes.

aiohttp's HTTP parser refuses some requests before routing, so neither a handler nor the problem middleware
sees them: a request line or a header longer than 8190 bytes, a header with a control character, a
malformed request line. The server answers those itself with 400 and a one-line `text/plain` body. A client
(or a fuzzer) holding a service to its document must find that answer there, on every operation.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["HTTP_METHODS", "add_server_errors"]

HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

SERVER_400_DESCRIPTION: Final = (
    "The HTTP server itself refuses a request line or header over 8190 bytes, or a malformed one "
    "(text/plain, before any handler runs)."
)


def add_server_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Add the server's own `400 text/plain` answer to every operation of `document`; returns `document`."""
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            bad = responses.setdefault("400", {"description": SERVER_400_DESCRIPTION})
            bad.setdefault("content", {})["text/plain"] = {"schema": {"type": "string"}}
    return document
