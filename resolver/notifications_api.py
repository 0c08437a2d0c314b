"""The resolver's notification route: `POST /api/notifications`, a node telling it a record was published.

202 {"status", "handle", "version"[, "reason"][, "reindexed"]} once the notification is verified and the
record read: `status` is how indexing went (inserted, replaced, unchanged, older: a higher version is indexed;
not-activity-data: nothing to index). Problems: 400 not a notification; 401 not signed by a key of the
handle's prefix, stale, for another resolver, or replayed; 422 the record cannot be indexed (not found or
not readable by the resolver, not verified, not accountable); 502 a registry or node did not answer.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from common.errors import read_json_object
from common.web import problem_response_spec
from resolver.keys import CERTIFICATES_KEY, NOTIFICATION_NONCES_KEY, RESOLVER_KEY
from resolver.notifications import NonceMemory, accept_notification

TAGS: Final = ["Notifications"]


async def post_notification(request: web.Request) -> web.Response:
    """Verify a node's notification and index the record it names."""
    body = await read_json_object(request)
    accepted = await accept_notification(
        request.app[RESOLVER_KEY],
        request.app[CERTIFICATES_KEY].store,
        request.app[NOTIFICATION_NONCES_KEY],
        body,
    )
    return web.json_response(accepted.to_json(), status=202)


def add_routes(app: web.Application) -> None:
    """Register the notification route (and the memory of the nonces it has seen)."""
    app[NOTIFICATION_NONCES_KEY] = NonceMemory()
    app.router.add_post("/api/notifications", post_notification)


def notification_schemas() -> dict[str, Any]:
    """The component schemas of the notification route."""
    return {
        "RecordPublished": {
            "type": "object",
            "required": ["@context", "type", "handle", "version", "proof"],
            "additionalProperties": False,
            "description": (
                "A signed request (Data Integrity proof, proofPurpose authentication, domain = the resolver's "
                "DID, with created and a nonce) made with a key the handle's prefix record lists."
            ),
            "properties": {
                "@context": {
                    "type": "array",
                    "description": "The notification context (node.notify.NOTIFICATION_CONTEXT), then "
                    "optionally https://w3id.org/security/data-integrity/v2.",
                },
                "type": {"const": "RecordPublished"},
                "handle": {
                    "type": "string",
                    "description": "The record published, e.g. 88.186.1/ACT.2025-03.",
                },
                "version": {"type": "integer", "minimum": 1, "description": "The version published."},
                "proof": {"type": "object"},
            },
        },
        "NotificationAccepted": {
            "type": "object",
            "required": ["status", "handle", "version"],
            "properties": {
                "status": {
                    "enum": ["inserted", "replaced", "unchanged", "older", "not-activity-data"],
                    "description": "How indexing went (older: a higher version is indexed already).",
                },
                "handle": {"type": "string"},
                "version": {"type": "integer"},
                "reason": {"type": "string"},
                "reindexed": {
                    "type": "array",
                    "description": "After a profile changed: each row of the enterprise indexed again.",
                    "items": {
                        "type": "object",
                        "required": ["handle", "status"],
                        "properties": {
                            "handle": {"type": "string"},
                            "status": {"type": "string"},
                            "version": {"type": "integer"},
                            "reason": {"type": "string"},
                        },
                    },
                },
            },
        },
    }


def notification_paths() -> dict[str, Any]:
    """The OpenAPI path item of `POST /api/notifications`."""
    return {
        "/api/notifications": {
            "post": {
                "tags": TAGS,
                "summary": "A node's signed notification that it published a record: index it now",
                "operationId": "postNotification",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RecordPublished"}}
                    },
                },
                "responses": {
                    "202": {
                        "description": "Verified; the record was read and indexed (or needs no indexing).",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NotificationAccepted"}
                            }
                        },
                    },
                    "400": problem_response_spec("Not a notification (invalid-notification, invalid-json)."),
                    "401": problem_response_spec(
                        "Not proven to come from the handle's node: signature-missing, signature-invalid, "
                        "signature-malformed, signature-stale, signature-wrong-domain, signature-replayed, "
                        "key-not-listed, key-retired, key-revoked, prefix-not-verified."
                    ),
                    "413": problem_response_spec("The body is too large."),
                    "415": problem_response_spec("The body is not JSON."),
                    "422": problem_response_spec(
                        "record-not-indexed: the record is not found (or not readable by the resolver), does "
                        "not verify, or cannot be accounted for; `indexStatus` says which."
                    ),
                    "502": problem_response_spec("A registry or node did not answer (upstream-unavailable)."),
                },
            }
        }
    }
