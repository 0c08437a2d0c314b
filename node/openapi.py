"""The node's OpenAPI 3.1 document: every route, parameter, body and answer, with its schema.

The Handle REST API answers in Handle JSON (`HandleError` bodies, the Handle server's statuses); the
node's own routes answer errors in problem+json. Wrong Basic credentials on a Handle route get 401 with an
empty body, as the Handle.Net server sends it; that response therefore documents no content.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certs.did import DID_DOCUMENT_JSON_SCHEMA
from common.openapi import add_server_errors
from common.ratelimit import add_rate_limit_responses
from common.web import base_openapi, problem_response_spec
from handle_registry.json_schemas import handle_json_schemas
from node.forms_openapi import add_form_openapi
from node.pact_openapi import add_pact_openapi

JSON = "application/json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _handle_error(description: str) -> dict[str, Any]:
    return _json(description, _ref("HandleError"))


def _path_param(
    name: str, description: str, schema: dict[str, Any] | None = None, example: str | None = None
) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1},
    }
    if example is not None:
        # A handle holds a `/`, sent as is or as %2F: the example says so to clients and test generators.
        parameter["example"] = example
    return parameter


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


HANDLE_FLAG = {"type": "boolean"}
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{}, {"handleAdmin": []}, {"peerCertificate": []}]
ADMIN_AUTH: list[dict[str, list[str]]] = [{"handleAdmin": []}]

HANDLE_PATH = _path_param(
    "handle",
    "The handle, `<prefix>/<suffix>` (the suffix may contain `/`); read from the raw path and percent-decoded "
    "once, so `%2F` is a `/` and `+` stays `+`.",
    {"type": "string"},
    example="88.186.1/PROFILE",
)
RECORD_PATH = _path_param("handle", "The record's handle, `<prefix>/<suffix>`.", example="88.186.1/PROFILE")
PRETTY = _query("pretty", "Indent the JSON answer (present, `true` or `yes`).", HANDLE_FLAG)

HANDLE_401 = {
    "description": (
        "Credentials missing for a write (Handle code 402, JSON body) or wrong (empty body, "
        '`WWW-Authenticate: Basic realm="handle"` and a Handle session challenge), as the Handle.Net server answers.'
    )
}
HANDLE_403 = _handle_error(
    "Not allowed: the handle is a signed carbon record (code 401, written only through /api/records), the node's "
    "administrator handle cannot be deleted, or credentials came over plain HTTP from another host (code 402)."
)
HANDLE_503 = _handle_error("The node's database is unavailable (code 3); retry later.")

PROBLEM_401 = problem_response_spec("Administrator credentials are missing or wrong.")
PROBLEM_403 = problem_response_spec("Credentials were sent over plain HTTP from another host.")
PROBLEM_503 = problem_response_spec("The node's database is unavailable; retry later.")


def _schemas() -> dict[str, Any]:
    metadata_properties = {
        "handle": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "template": {"type": "string", "description": "`<template id>/<version>`"},
        "visibility": {"enum": ["public", "private"]},
        "created": {
            "type": "string",
            "format": "date-time",
            "description": "When this version was published.",
        },
        "changedBy": {"type": "string", "description": "The administrator identity that published it."},
        "reason": {"type": ["string", "null"], "description": "Why it changed (required from version 2 on)."},
        "digest": {"type": "string", "description": "Hex sha256 of the signed document's canonical JSON."},
        "href": {"type": "string"},
    }
    metadata_required = [
        "handle",
        "version",
        "template",
        "visibility",
        "created",
        "changedBy",
        "reason",
        "digest",
        "href",
    ]
    grant_properties = {
        "prefix": {"type": "string"},
        "partCode": {"type": ["string", "null"]},
        "active": {"type": "boolean"},
        "grantedAt": {"type": "string", "format": "date-time"},
        "grantedBy": {"type": "string"},
        "revokedAt": {"type": ["string", "null"]},
        "revokedBy": {"type": ["string", "null"]},
    }
    log_entry = {
        "type": "object",
        "required": ["seq", "subject", "version", "digest", "at", "prev", "hash", "signature", "keyId"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "subject": {"type": "string", "description": "Hex sha256 of the handle's normalised key."},
            "version": {"type": "integer", "minimum": 1},
            "digest": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "prev": {"type": "string", "description": "The previous entry's hash (64 zeros for the first)."},
            "hash": {"type": "string", "description": "sha256 of the canonical JSON of seq..prev."},
            "signature": {"type": "string", "description": "Ed25519 over the raw hash bytes, multibase."},
            "keyId": {"type": "string"},
            "handle": {
                "type": "string",
                "description": "Only for entries whose record is public (not hashed).",
            },
        },
    }
    return {
        **handle_json_schemas(),
        "InvalidRecordProblem": {
            "allOf": [
                _ref("Problem"),
                {
                    "type": "object",
                    "required": ["issues"],
                    "properties": {
                        "issues": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["pointer", "message"],
                                "properties": {"pointer": {"type": "string"}, "message": {"type": "string"}},
                            },
                        },
                        "template": {"type": "string"},
                    },
                },
            ]
        },
        "PublishRequest": {
            "type": "object",
            "required": ["template", "document"],
            "additionalProperties": False,
            "properties": {
                "template": {
                    "type": "string",
                    "description": "A template id (latest version) or `id/version`.",
                },
                "document": {
                    "type": "object",
                    "description": "The unsigned document; the node sets `handle` and signs.",
                },
                "suffix": {
                    "type": "string",
                    "description": "The handle suffix; default: the document's handle, or generated.",
                },
                "visibility": {
                    "enum": ["public", "private"],
                    "description": "Default: public, or the record's current one.",
                },
                "reason": {
                    "type": "string",
                    "maxLength": 2000,
                    "description": "Why it changes; required from version 2.",
                },
            },
        },
        "PublishResult": {
            "type": "object",
            "required": ["handle", "version", "href"],
            "properties": {
                "handle": {"type": "string"},
                "version": {"type": "integer"},
                "href": {"type": "string"},
            },
        },
        "RecordMetadata": {
            "type": "object",
            "required": metadata_required,
            "properties": metadata_properties,
        },
        "Record": {
            "type": "object",
            "required": [*metadata_required, "published", "latestVersion", "document"],
            "properties": {
                **metadata_properties,
                "published": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When version 1 was published.",
                },
                "latestVersion": {"type": "integer"},
                "document": {"type": "object", "description": "The signed document (Data Integrity proofs)."},
                "grant": {
                    "type": "object",
                    "description": "For a peer reading through a grant: that grant.",
                    "properties": {"prefix": {"type": "string"}, "partCode": {"type": ["string", "null"]}},
                },
            },
        },
        "VersionList": {
            "type": "object",
            "required": ["handle", "versions"],
            "properties": {
                "handle": {"type": "string"},
                "versions": {"type": "array", "items": _ref("RecordMetadata")},
            },
        },
        "RecordList": {
            "type": "object",
            "required": ["totalCount", "page", "pageSize", "records"],
            "properties": {
                "totalCount": {"type": "integer"},
                "page": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "records": {"type": "array", "items": _ref("RecordMetadata")},
            },
        },
        "GrantRequest": {
            "type": "object",
            "required": ["prefix"],
            "additionalProperties": False,
            "properties": {
                "prefix": {"type": "string", "description": "The peer's prefix, e.g. 88.186.7."},
                "partCode": {
                    "type": "string",
                    "maxLength": 200,
                    "description": "The customer's own part code.",
                },
            },
        },
        "Grant": {"type": "object", "required": list(grant_properties), "properties": grant_properties},
        "GrantList": {
            "type": "object",
            "required": ["handle", "grants"],
            "properties": {"handle": {"type": "string"}, "grants": {"type": "array", "items": _ref("Grant")}},
        },
        "LogEntry": log_entry,
        "Log": {
            "type": "object",
            "required": ["entries", "head"],
            "properties": {
                "entries": {"type": "array", "items": _ref("LogEntry")},
                "head": {
                    "type": "object",
                    "required": ["seq", "hash"],
                    "properties": {"seq": {"type": "integer", "minimum": 0}, "hash": {"type": "string"}},
                },
            },
        },
        "DidDocument": DID_DOCUMENT_JSON_SCHEMA,
    }


def _handle_paths() -> dict[str, Any]:
    list_params = [
        _query(
            "prefix",
            "The prefix (`88.186.1` or `0.NA/88.186.1`); it must be this node's.",
            {"type": "string"},
        ),
        _query("page", "Zero-based page (with pageSize; negative: no paging).", {"type": "integer"}),
        _query("pageSize", "Handles per page (0: the count only).", {"type": "integer"}),
        PRETTY,
    ]
    return {
        "/api/handles": {
            "get": {
                "summary": "List the handles under the node's prefix",
                "description": "Private records appear only to the administrator and to peers they are granted to.",
                "operationId": "listHandles",
                "tags": ["Handle REST API"],
                "security": OPTIONAL_AUTH,
                "parameters": list_params,
                "responses": {
                    "200": _json(
                        "The handles (totalCount is a string, as the Handle server writes it).",
                        _ref("HandleList"),
                    ),
                    "400": _handle_error("No prefix (102), a bad page (4), or not this node's prefix (301)."),
                    "401": HANDLE_401,
                    "403": HANDLE_403,
                    "503": HANDLE_503,
                },
            }
        },
        "/api/handles/{handle}": {
            "parameters": [HANDLE_PATH],
            "get": {
                "summary": "Resolve a handle",
                "description": (
                    "All values, or those matching any `type=` (a trailing `.` selects a family) or any `index=`. "
                    "A carbon record resolves to TEMPLATE (1001), its fields (2000+), DOCUMENT (400), PROOF (401+) "
                    "and HS_ADMIN (100). A private record the caller may not read is not found (code 100). "
                    "An empty handle with `prefix=` lists handles."
                ),
                "operationId": "resolveHandle",
                "tags": ["Handle REST API"],
                "security": OPTIONAL_AUTH,
                "parameters": [
                    _repeatable("type", "Value types to select.", {"type": "string"}),
                    _repeatable("index", "Value indexes to select.", {"type": "integer"}),
                    _query(
                        "publicOnly", "Only public values (default: true unless authenticated).", HANDLE_FLAG
                    ),
                    _query("auth", "Accepted and ignored (every answer is authoritative).", HANDLE_FLAG),
                    _query(
                        "prefix",
                        "With an empty handle: list the handles under this prefix.",
                        {"type": "string"},
                    ),
                    PRETTY,
                ],
                "responses": {
                    "200": _json(
                        "The values (responseCode 200 and no values when none passed the filters).",
                        _ref("HandleResolution"),
                    ),
                    "400": _handle_error(
                        "Invalid handle (102), bad index (4), or not this node's prefix (301)."
                    ),
                    "401": HANDLE_401,
                    "403": HANDLE_403,
                    "404": _handle_error("Handle not found (100)."),
                    "503": HANDLE_503,
                },
            },
            "put": {
                "summary": "Create or replace a handle, or add and replace values",
                "description": (
                    "Without `index=`: create the handle or replace all its values (a default HS_ADMIN is added when "
                    "none is sent). With `index=` (or `index=various`): add or replace those values. HS_SECKEY values "
                    "are stored as salted hashes and never shown publicly."
                ),
                "operationId": "putHandle",
                "tags": ["Handle REST API"],
                "security": ADMIN_AUTH,
                "parameters": [
                    _repeatable(
                        "index",
                        "Indexes to add or replace, or `various`.",
                        {"anyOf": [{"type": "integer"}, {"const": "various"}]},
                    ),
                    _query(
                        "overwrite",
                        "Replace what exists (default true); false: 409 when it exists.",
                        HANDLE_FLAG,
                    ),
                    _query(
                        "mintNewSuffix",
                        "Append a fresh suffix to the path handle (`<prefix>/` or a suffix start).",
                        HANDLE_FLAG,
                    ),
                    PRETTY,
                ],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("HandlePutBody")}}},
                "responses": {
                    "200": _json("Written.", _ref("HandleSuccess")),
                    "201": _json("Created (the answer to overwrite=false).", _ref("HandleSuccess")),
                    "400": _handle_error(
                        "Invalid handle (102), not this node's prefix (301), not application/json or unreadable body (4), "
                        "or an invalid value (202)."
                    ),
                    "401": HANDLE_401,
                    "403": HANDLE_403,
                    "404": _handle_error("Adding values to a handle that does not exist (100)."),
                    "409": _handle_error(
                        "The handle (101) or a value index (201) exists and overwrite=false."
                    ),
                    "413": _handle_error("The body is larger than max_body_bytes (code 4)."),
                    "503": HANDLE_503,
                },
            },
            "delete": {
                "summary": "Delete a handle, or some of its values",
                "operationId": "deleteHandle",
                "tags": ["Handle REST API"],
                "security": ADMIN_AUTH,
                "parameters": [
                    _repeatable("index", "Indexes of the values to remove.", {"type": "integer"}),
                    PRETTY,
                ],
                "responses": {
                    "200": _json("Deleted.", _ref("HandleSuccess")),
                    "400": _handle_error(
                        "Invalid handle (102), not this node's prefix (301), or values not found (200)."
                    ),
                    "401": HANDLE_401,
                    "403": HANDLE_403,
                    "404": _handle_error("Handle not found (100)."),
                    "503": HANDLE_503,
                },
            },
        },
    }


def _record_paths() -> dict[str, Any]:
    tags = ["Carbon records"]
    not_found = problem_response_spec("No such record, or none the caller may read (the same answer).")
    paging = [
        _query("page", "Zero-based page.", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
        _query("pageSize", "Records per page.", {"type": "integer", "minimum": 1, "maximum": 1000}),
    ]
    bad_parameter = problem_response_spec("A query parameter is out of range.")
    return {
        "/api/records": {
            "post": {
                "summary": "Publish a document as a new version of a record",
                "description": (
                    "Validates the document against its template, sets its `handle`, signs it with every node key, "
                    "stores it as a new version (versions are never rewritten) and appends to the log."
                ),
                "operationId": "publishRecord",
                "tags": tags,
                "security": ADMIN_AUTH,
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("PublishRequest")}}},
                "responses": {
                    "201": _json(
                        "Published.",
                        _ref("PublishResult"),
                        headers={"Location": {"description": "The record.", "schema": {"type": "string"}}},
                    ),
                    "400": problem_response_spec("The body is not JSON, or is not an object."),
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "409": problem_response_spec("The handle is an ordinary Handle record."),
                    "413": problem_response_spec("The body is larger than max_body_bytes."),
                    "415": problem_response_spec("The body is not application/json."),
                    "422": {
                        "description": "The request or the document is invalid; `issues` lists JSON pointers and messages.",
                        "content": {"application/problem+json": {"schema": _ref("InvalidRecordProblem")}},
                    },
                    "503": PROBLEM_503,
                },
            },
            "get": {
                "summary": "List records",
                "description": "Most recently changed first; private records only for those who may read them.",
                "operationId": "listRecords",
                "tags": tags,
                "security": OPTIONAL_AUTH,
                "parameters": [
                    _query("template", "A template id or `id/version`.", {"type": "string"}),
                    _query("period", "The documents' `period` member, e.g. 2025.", {"type": "string"}),
                    *paging,
                ],
                "responses": {
                    "200": _json("A page of records.", _ref("RecordList")),
                    "400": bad_parameter,
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "503": PROBLEM_503,
                },
            },
        },
        "/api/records/{handle}": {
            "get": {
                "summary": "A record's latest signed document and metadata",
                "operationId": "getRecord",
                "tags": tags,
                "security": OPTIONAL_AUTH,
                "parameters": [RECORD_PATH],
                "responses": {
                    "200": _json("The record.", _ref("Record")),
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "404": not_found,
                    "503": PROBLEM_503,
                },
            }
        },
        "/api/records/{handle}/versions": {
            "get": {
                "summary": "Every version's metadata",
                "operationId": "listVersions",
                "tags": tags,
                "security": OPTIONAL_AUTH,
                "parameters": [RECORD_PATH],
                "responses": {
                    "200": _json("Oldest first.", _ref("VersionList")),
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "404": not_found,
                    "503": PROBLEM_503,
                },
            }
        },
        "/api/records/{handle}/versions/{version}": {
            "get": {
                "summary": "One version's signed document and metadata",
                "operationId": "getVersion",
                "tags": tags,
                "security": OPTIONAL_AUTH,
                "parameters": [
                    RECORD_PATH,
                    _path_param("version", "The version number.", {"type": "string", "pattern": "^[0-9]+$"}),
                ],
                "responses": {
                    "200": _json("The version.", _ref("Record")),
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "404": problem_response_spec("No such record or version."),
                    "503": PROBLEM_503,
                },
            }
        },
        "/api/records/{handle}/grants": {
            "get": {
                "summary": "The grant history of a record",
                "operationId": "listGrants",
                "tags": tags,
                "security": ADMIN_AUTH,
                "parameters": [RECORD_PATH],
                "responses": {
                    "200": _json("Active and revoked grants, oldest first.", _ref("GrantList")),
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "404": not_found,
                    "503": PROBLEM_503,
                },
            },
            "post": {
                "summary": "Let a peer prefix read a private record",
                "operationId": "grantAccess",
                "tags": tags,
                "security": ADMIN_AUTH,
                "parameters": [RECORD_PATH],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("GrantRequest")}}},
                "responses": {
                    "201": _json("Granted.", _ref("Grant")),
                    "400": problem_response_spec("The body is not a JSON object."),
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "404": not_found,
                    "409": problem_response_spec("The prefix already holds an active grant."),
                    "413": problem_response_spec("The body is larger than max_body_bytes."),
                    "415": problem_response_spec("The body is not application/json."),
                    "422": {
                        "description": "The prefix or part code is invalid.",
                        "content": {"application/problem+json": {"schema": _ref("InvalidRecordProblem")}},
                    },
                    "503": PROBLEM_503,
                },
            },
        },
        "/api/records/{handle}/grants/{prefix}": {
            "delete": {
                "summary": "Revoke a peer's grant",
                "operationId": "revokeAccess",
                "tags": tags,
                "security": ADMIN_AUTH,
                "parameters": [RECORD_PATH, _path_param("prefix", "The peer's prefix.")],
                "responses": {
                    "200": _json("The revoked grant.", _ref("Grant")),
                    "401": PROBLEM_401,
                    "403": PROBLEM_403,
                    "404": problem_response_spec("No such record, or the prefix holds no active grant."),
                    "503": PROBLEM_503,
                },
            }
        },
        "/api/log": {
            "get": {
                "summary": "The hash-chained, signed publication log",
                "description": (
                    "Entries after `after`, oldest first, and the head. Each entry's hash covers seq, subject, "
                    "version, digest, at and prev; the signature is the node's Ed25519 key over the hash."
                ),
                "operationId": "getLog",
                "tags": ["Log"],
                "parameters": [
                    _query(
                        "after",
                        "Entries with a larger seq.",
                        {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    ),
                    _query(
                        "limit",
                        "At most this many entries.",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                    ),
                ],
                "responses": {
                    "200": _json("Entries and head.", _ref("Log")),
                    "400": bad_parameter,
                    "503": PROBLEM_503,
                },
            }
        },
        "/.well-known/did.json": {
            "get": {
                "summary": "The node's did:web DID document",
                "operationId": "getDidDocument",
                "tags": ["Identity"],
                "responses": {"200": _json("Its keys and its Handle API endpoint.", _ref("DidDocument"))},
            }
        },
    }


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The complete OpenAPI document of the node."""
    document = base_openapi(
        "carbonid enterprise node",
        "1",
        "Publishes signed carbon records under the enterprise's identifier prefix and answers the Handle "
        "System REST API (as the Handle.Net server v9 does) for them.",
    )
    document["paths"].update(_handle_paths())
    document["paths"].update(_record_paths())
    document["components"]["schemas"].update(_schemas())
    document["components"]["securitySchemes"] = {
        "handleAdmin": {
            "type": "http",
            "scheme": "basic",
            "description": "User `300%3A<prefix>%2FADMIN` (the value reference 300:<prefix>/ADMIN, percent-encoded), "
            "password the admin secret printed by `carbonid node init`.",
        },
        "peerCertificate": {
            "type": "mutualTLS",
            "description": "A client certificate from the federation CA bound to a peer prefix (SAN hdl:0.NA/<prefix>).",
        },
    }
    add_form_openapi(document)
    add_pact_openapi(document)
    add_server_errors(document)
    return add_rate_limit_responses(document, app)
