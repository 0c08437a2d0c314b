"""The registry's OpenAPI 3.1 document: every route, parameter, body and response, with its schema."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from common.openapi import add_server_errors
from common.ratelimit import add_rate_limit_responses
from common.web import base_openapi, problem_response_spec
from handle_registry.service.openapi_schemas import (
    HANDLE_PATTERN,
    INT32,
    LIST_PREFIX_PATTERN,
    PREFIX_SCHEMA,
    SCHEMAS,
    ref,
)
from handle_registry.service.queries import DEFAULT_PAGE_SIZE, KINDS, MAX_PAGE_SIZE, STATUSES

JSON: Final = "application/json"
PROBLEM_CODES: Final = (
    "Problem `type` codes (after https://carbonid.org/problems/): "
    "400 invalid-json, json-too-deep, invalid-prefix, invalid-parameter; "
    "401 admin-authentication-required, signature-missing, signature-malformed, signature-invalid, "
    "signature-stale, signature-wrong-domain, signature-replayed, key-not-in-application, key-not-in-record, "
    "key-retired, key-revoked; 404 prefix-not-found, template-not-found; 409 prefix-taken, wrong-status, "
    "prefixes-below, concurrent-update; 413 content-too-large; 415 unsupported-media-type; "
    "422 invalid-document (with `issues`: pointer and message), prefix-not-served, prefix-delegated "
    "(with `registry`, the delegated registry's URL); 503 database-unavailable."
)


def _json_response(
    description: str, schema: dict[str, Any], headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _problems(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "Malformed request: bad JSON, a bad prefix in the path, or a bad query parameter.",
        401: "Credentials or the request signature are missing or do not verify (see the problem type).",
        404: "No such prefix (or not one the caller may see) or template.",
        409: "The request conflicts with the prefix's current state.",
        413: "The body is larger than max_body_bytes.",
        415: "The body is not JSON.",
        422: "The document is well-formed JSON but fails its template or a registry rule.",
        503: "The database does not answer; retry later.",
    }
    out: dict[str, Any] = {}
    for status in statuses:
        spec = problem_response_spec(descriptions[status])
        if status == 401:
            spec["headers"] = {
                "WWW-Authenticate": {"description": "The challenge.", "schema": {"type": "string"}}
            }
        if status == 503:
            spec["headers"] = {"Retry-After": {"description": "Seconds.", "schema": {"type": "string"}}}
        out[str(status)] = spec
    return out


def _path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


PREFIX_PARAM: Final = _path_param(
    "prefix", "A prefix such as 88.186.1 (compared ASCII case-insensitively).", PREFIX_SCHEMA
)
ADMIN: Final[list[dict[str, list[str]]]] = [{"adminBasic": []}]
ADMIN_OPTIONAL: Final[list[dict[str, list[str]]]] = [{}, {"adminBasic": []}]


def _handle_response(description: str, schema_name: str) -> dict[str, Any]:
    return _json_response(description, ref(schema_name))


HANDLE_ERRORS: Final = {
    "400": _handle_response(
        "Invalid handle (responseCode 102) or parameter (responseCode 4).", "HandleError"
    ),
    "503": _handle_response("The database does not answer (responseCode 3).", "HandleError"),
}


def _paths() -> dict[str, Any]:
    detail = _json_response("The prefix, its history and current record.", ref("PrefixDetails"))
    reason_body = {"required": True, "content": {JSON: {"schema": ref("Reason")}}}
    return {
        "/.well-known/did.json": {
            "get": {
                "summary": "The registry's DID document: the trust anchor resolvers pin",
                "operationId": "didDocument",
                "responses": {"200": _json_response("The DID document.", ref("DidDocument"))},
            }
        },
        "/api/prefixes": {
            "post": {
                "summary": "Apply for a prefix (signed by one of the keys applied with)",
                "operationId": "applyForPrefix",
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("PrefixApplication")}}},
                "responses": {
                    "201": _json_response(
                        "The application is pending.",
                        ref("ApplicationAccepted"),
                        {"Location": {"description": "The prefix.", "schema": {"type": "string"}}},
                    ),
                    **_problems(400, 401, 409, 413, 415, 422, 503),
                },
            },
            "get": {
                "summary": "List prefixes (anonymous callers: approved and suspended only)",
                "operationId": "listPrefixes",
                "security": ADMIN_OPTIONAL,
                "parameters": [
                    _query("status", "Only this status.", {"enum": list(STATUSES)}),
                    _query("kind", "Only this kind.", {"enum": list(KINDS)}),
                    _query(
                        "region",
                        "GB/T 2260 code: 330000 selects all of Zhejiang, 330500 Huzhou, 330522 one county.",
                        {"type": "string", "pattern": "^(?!00)[0-9]{6}$"},
                    ),
                    _query(
                        "industry",
                        "GB/T 4754 code prefix: C, C32, C321 or C3216 (digits alone: 32, 3216).",
                        {"type": "string", "pattern": "^([A-Ta-t]([0-9]{2,4})?|[0-9]{2,4})$"},
                    ),
                    _query(
                        "page",
                        "Page number, from 1.",
                        {"type": "integer", "minimum": 1, "maximum": 10**9, "default": 1},
                    ),
                    _query(
                        "pageSize",
                        "Entries per page.",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE_SIZE,
                            "default": DEFAULT_PAGE_SIZE,
                        },
                    ),
                ],
                "responses": {
                    "200": _json_response("One page of prefixes, in prefix order.", ref("PrefixPage")),
                    **_problems(400, 401, 503),
                },
            },
        },
        "/api/prefixes/{prefix}": {
            "get": {
                "summary": "A prefix: status, kind, history with reasons, current signed record",
                "operationId": "getPrefix",
                "security": ADMIN_OPTIONAL,
                "parameters": [PREFIX_PARAM],
                "responses": {"200": detail, **_problems(400, 401, 404, 503)},
            }
        },
        "/api/prefixes/{prefix}/approve": {
            "post": {
                "summary": "Approve a pending application: issue the signed prefix record",
                "operationId": "approvePrefix",
                "security": ADMIN,
                "parameters": [PREFIX_PARAM],
                "responses": {"200": detail, **_problems(400, 401, 404, 409, 503)},
            }
        },
        **{
            f"/api/prefixes/{{prefix}}/{action}": {
                "post": {
                    "summary": summary,
                    "operationId": f"{action}Prefix",
                    "security": ADMIN,
                    "parameters": [PREFIX_PARAM],
                    "requestBody": reason_body,
                    "responses": {"200": detail, **_problems(400, 401, 404, 409, 413, 415, 422, 503)},
                }
            }
            for action, summary in (
                ("reject", "Reject a pending application, with a reason"),
                ("suspend", "Suspend an approved prefix (new record version), with a reason"),
                ("reinstate", "Reinstate a suspended prefix (new record version), with a reason"),
            )
        },
        "/api/prefixes/{prefix}/keys": {
            "post": {
                "summary": "Add, retire or revoke the prefix's keys (signed by an active key of the prefix)",
                "operationId": "changeKeys",
                "parameters": [PREFIX_PARAM],
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("KeyChange")}}},
                "responses": {
                    "200": _json_response("The new signed record version.", ref("PrefixRecord")),
                    **_problems(400, 401, 404, 409, 413, 415, 422, 503),
                },
            }
        },
        "/api/delegations": {
            "post": {
                "summary": "Delegate a sub-prefix to another registry",
                "operationId": "delegatePrefix",
                "security": ADMIN,
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("Delegation")}}},
                "responses": {
                    "201": _json_response(
                        "The delegation and its signed record.",
                        ref("PrefixDetails"),
                        {"Location": {"description": "The prefix.", "schema": {"type": "string"}}},
                    ),
                    **_problems(400, 401, 409, 413, 415, 422, 503),
                },
            }
        },
        "/api/handles": {
            "get": {
                "summary": "Handle REST: list the record handles (0.NA/<prefix>) of approved prefixes",
                "operationId": "listHandles",
                "parameters": [
                    {
                        **_query(
                            "prefix",
                            "0.NA (or 0.NA/0.NA); any other prefix holds no handles here.",
                            {"type": "string", "pattern": LIST_PREFIX_PATTERN, "maxLength": 255},
                        ),
                        "required": True,
                    },
                    _query(
                        "page",
                        "Zero-based page; applies with pageSize when both are not negative.",
                        {"type": "integer", "minimum": -INT32, "maximum": INT32},
                    ),
                    _query(
                        "pageSize",
                        "Handles per page; 0 counts only.",
                        {"type": "integer", "minimum": -INT32, "maximum": INT32},
                    ),
                    _query("pretty", "Indent the JSON."),
                ],
                "responses": {"200": _handle_response("The handles.", "HandleList"), **HANDLE_ERRORS},
            }
        },
        "/api/handles/{handle}": {
            "get": {
                "summary": "Handle REST: resolve 0.NA/<prefix> (or a slashless prefix) to its signed record's values",
                "operationId": "resolveHandle",
                "parameters": [
                    {
                        **_path_param(
                            "handle",
                            "0.NA/<prefix>, or <prefix> alone; read from the raw path, decoded once.",
                            {"type": "string", "pattern": HANDLE_PATTERN},
                        ),
                        "example": "0.NA/88.186.1",  # holds a `/`, sent as is or as %2F
                    },
                    {
                        "name": "type",
                        "in": "query",
                        "required": False,
                        "description": "Only values of these types (a trailing '.' selects a family).",
                        "schema": {"type": "array", "items": {"type": "string"}},
                        "style": "form",
                        "explode": True,
                    },
                    {
                        "name": "index",
                        "in": "query",
                        "required": False,
                        "description": "Only values at these indexes.",
                        "schema": {
                            "type": "array",
                            "items": {"type": "integer", "minimum": -INT32, "maximum": INT32},
                        },
                        "style": "form",
                        "explode": True,
                    },
                    _query("pretty", "Indent the JSON."),
                ],
                "responses": {
                    "200": _handle_response(
                        "The values (responseCode 1, or 200 when filters select none).", "HandleResolution"
                    ),
                    "300": _handle_response(
                        "Prefix referral (responseCode 303): the prefix lies under a delegated prefix; the values "
                        "are those of the delegation's record.",
                        "HandleResolution",
                    ),
                    "404": _handle_response("Not found (responseCode 100).", "HandleError"),
                    **HANDLE_ERRORS,
                },
            }
        },
        "/api/templates": {
            "get": {
                "summary": "Every metadata template version (without schemas)",
                "operationId": "listTemplates",
                "responses": {
                    "200": _json_response(
                        "The templates.",
                        {
                            "type": "object",
                            "required": ["templates"],
                            "properties": {"templates": {"type": "array", "items": ref("TemplateSummary")}},
                        },
                    )
                },
            }
        },
        "/api/templates/{id}": {
            "get": {
                "summary": "The latest version of a template, with its schema",
                "operationId": "getTemplate",
                "parameters": [_path_param("id", "Template id, e.g. enterprise-profile.")],
                "responses": {"200": _json_response("The template.", ref("Template")), **_problems(404)},
            }
        },
        "/api/templates/{id}/{version}": {
            "get": {
                "summary": "One version of a template, with its schema",
                "operationId": "getTemplateVersion",
                "parameters": [
                    _path_param("id", "Template id, e.g. enterprise-profile."),
                    _path_param("version", "Version number."),
                ],
                "responses": {"200": _json_response("The template.", ref("Template")), **_problems(404)},
            }
        },
    }


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document of the registry."""
    document = base_openapi(
        "carbonid registry",
        "1",
        "Records which prefix belongs to which enterprise node (or delegated registry) and which keys, and "
        "signs that record; serves it over the Handle REST API at 0.NA/<prefix>. " + PROBLEM_CODES,
    )
    document["paths"].update(_paths())
    add_server_errors(document)
    document["components"]["schemas"].update(SCHEMAS)
    document["components"]["securitySchemes"] = {
        "adminBasic": {"type": "http", "scheme": "basic", "description": "Administrator name:secret."}
    }
    return add_rate_limit_responses(document, app)
