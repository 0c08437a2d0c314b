"""The resolver's OpenAPI 3.1 document: every route, parameter and answer, with its schema.

The Handle routes answer in Handle JSON (the schemas of `handle_registry.json_schemas`, the resolution
extended with the `verification` object); the shared routes answer errors in problem+json.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certs.did import DID_DOCUMENT_JSON_SCHEMA
from common.openapi import add_server_errors
from common.ratelimit import add_rate_limit_responses
from common.web import base_openapi
from handle_registry.json_schemas import TIMESTAMP_PATTERN, handle_json_schemas
from resolver.certificates_openapi import certificate_paths, certificate_schemas
from resolver.notifications_api import notification_paths, notification_schemas
from resolver.regions_openapi import region_paths, region_schemas
from resolver.stats import FAILURE_CODES

JSON = "application/json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _handle_error(description: str, **extra: Any) -> dict[str, Any]:
    return _json(description, _ref("HandleError"), **extra)


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


def _repeatable(name: str, description: str, items: dict[str, Any]) -> dict[str, Any]:
    return _query(name, description, {"type": "array", "items": items}, style="form", explode=True)


RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
}
PRETTY = _query("pretty", "Indent the JSON answer (present, `true` or `yes`).", {"type": "boolean"})


def _schemas() -> dict[str, Any]:
    return {
        **handle_json_schemas(),
        "PrefixRecordSummary": {
            "type": "object",
            "description": "The registry-signed prefix record the verification rests on.",
            "required": ["handle", "version", "registry", "issued"],
            "properties": {
                "handle": {"type": "string", "description": "`0.NA/<prefix>`"},
                "version": {"type": "integer", "minimum": 1},
                "registry": {"type": "string", "description": "The DID of the registry that signed it."},
                "issued": {"type": "string", "pattern": TIMESTAMP_PATTERN},
            },
        },
        "Verification": {
            "type": "object",
            "description": (
                "How far the values can be trusted. `verified`: the signed document (index 400) agrees with the "
                "values, its proofs verify with a key listed in the handle's own prefix record, that record "
                "verifies back to the pinned trust anchor through every delegation, and no version went "
                "backwards. `unsigned`: the values carry no signed document. `failed`: `reason` says what did "
                "not hold; the values are shown but must not be trusted."
            ),
            "required": ["status", "registries", "cached", "stale", "checkedAt"],
            "properties": {
                "status": {"enum": ["verified", "unsigned", "failed"]},
                "reason": {"type": "string", "description": "Why verification failed."},
                "code": {
                    "enum": list(FAILURE_CODES),
                    "description": "Why verification failed, as a stable code (with `reason` for people).",
                },
                "verificationMethod": {"type": "string", "description": "The key of the (first) proof."},
                "cryptosuites": {"type": "array", "items": {"type": "string"}},
                "version": {"type": "integer", "minimum": 1, "description": "The signed record's version."},
                "digest": {
                    "type": "string",
                    "description": "Hex sha256 of the signed document's canonical JSON (the node's record digest).",
                },
                "prefixRecord": _ref("PrefixRecordSummary"),
                "registries": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The registries asked, the root first, then each delegated registry.",
                },
                "cached": {"type": "boolean", "description": "Answered from the resolver's cache."},
                "stale": {
                    "type": "boolean",
                    "description": "Past its ttl: served because a registry or node does not answer.",
                },
                "checkedAt": {"type": "string", "pattern": TIMESTAMP_PATTERN},
            },
        },
        "VerifiedResolution": {
            "allOf": [
                _ref("HandleResolution"),
                {
                    "type": "object",
                    "required": ["verification"],
                    "properties": {
                        "responseCode": {"enum": [1, 200]},
                        "verification": _ref("Verification"),
                    },
                },
            ]
        },
        "DidDocument": DID_DOCUMENT_JSON_SCHEMA,
    }


def _paths() -> dict[str, Any]:
    tags = ["Handle REST API"]
    unavailable = _handle_error(
        "A registry or node does not answer and no cached answer is young enough (code 2, naming the service), "
        "or the resolver's database is unavailable (code 3).",
        headers=RETRY_AFTER,
    )
    return {
        "/api/handles": {
            "get": {
                "summary": "Listing handles is not a resolver's business",
                "description": "Answers code 5 (operation not supported): list a prefix's handles at its node.",
                "operationId": "listHandles",
                "tags": tags,
                "parameters": [_query("prefix", "The prefix to list.", {"type": "string"}), PRETTY],
                "responses": {
                    "400": _handle_error("No prefix given (code 102)."),
                    "501": _handle_error("Not supported by a resolver (code 5)."),
                },
            }
        },
        "/api/handles/{handle}": {
            "get": {
                "summary": "Resolve any handle into a verified answer",
                "description": (
                    "Finds the prefix's registry from the root registry (following delegation referrals), the node "
                    "from the registry-signed prefix record, fetches the handle's values and verifies them. "
                    "`0.NA/<prefix>` (or a slashless prefix) resolves the prefix record itself. All values are "
                    "fetched and verified; `type=` and `index=` select what is answered (a value is selected when "
                    "it matches any type, a trailing `.` selecting a family, or any index)."
                ),
                "operationId": "resolveHandle",
                "tags": tags,
                "parameters": [
                    {
                        "name": "handle",
                        "in": "path",
                        "required": True,
                        "description": (
                            "The handle, `<prefix>/<suffix>` (the suffix may contain `/`); read from the raw path "
                            "and percent-decoded once, so `%2F` is a `/` and `+` stays `+`."
                        ),
                        "schema": {"type": "string"},
                        "example": "88.186.1/PROFILE",
                    },
                    _repeatable("type", "Value types to answer.", {"type": "string"}),
                    _repeatable("index", "Value indexes to answer.", {"type": "integer"}),
                    _query(
                        "prefix",
                        "With an empty handle: a listing, which a resolver refuses.",
                        {"type": "string"},
                    ),
                    PRETTY,
                ],
                "responses": {
                    "200": _json(
                        "The values and their verification (responseCode 200 and no values when none is selected).",
                        _ref("VerifiedResolution"),
                    ),
                    "400": _handle_error("Invalid or empty handle (code 102), or a bad index (code 4)."),
                    "404": _handle_error("The handle or its prefix does not exist (code 100)."),
                    "501": _handle_error(
                        "An empty handle with `prefix=`: listing is not supported (code 5)."
                    ),
                    "503": unavailable,
                },
            }
        },
        "/.well-known/did.json": {
            "get": {
                "summary": "The resolver's did:web DID document",
                "operationId": "getDidDocument",
                "tags": ["Identity"],
                "responses": {"200": _json("Its keys.", _ref("DidDocument"))},
            }
        },
    }


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The complete OpenAPI document of the resolver."""
    document = base_openapi(
        "carbonid resolver",
        "1",
        "The recursive node of the carbonid federation: resolves any handle through the registries and the "
        "enterprise nodes and answers Handle System REST JSON with a `verification` object saying whether "
        "the values verify back to the pinned trust anchor; evaluates enterprises' carbon efficiency and "
        "issues signed, revocable certificates with colour-coded QR codes.",
    )
    document["paths"].update(_paths())
    document["paths"].update(certificate_paths())
    document["paths"].update(region_paths())
    document["paths"].update(notification_paths())
    document["components"]["schemas"].update(_schemas())
    document["components"]["schemas"].update(certificate_schemas())
    document["components"]["schemas"].update(region_schemas())
    document["components"]["schemas"].update(notification_schemas())
    document["components"].setdefault("securitySchemes", {})["operatorBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "Resolver operator name:secret (`carbonid resolver operator add NAME`).",
    }
    document["components"]["securitySchemes"]["regulatorBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "Regulator name:secret (`carbonid resolver regulator add NAME --region CODE`).",
    }
    add_server_errors(document)
    return add_rate_limit_responses(document, app)
