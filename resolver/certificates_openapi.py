"""The OpenAPI description of the certificate routes (`resolver.certificates_api`)."""

from __future__ import annotations

from typing import Any, Final

from common.web import problem_response_spec
from metadata_templates import default_catalog

TAGS: Final = ["Carbon-efficiency certificates"]
OPERATOR: Final[list[dict[str, list[str]]]] = [{"operatorBasic": []}]


def _json(description: str, schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": schema}}}


def _handle_parameter(description: str) -> dict[str, Any]:
    return {
        "name": "handle",
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": "88.100.9/CERT.88.186.1.2025",  # a handle holds a `/`, sent as is or as %2F
    }


def _without_annotations(node: Any) -> Any:
    """A template schema without its x- annotations and $id/$schema (it is embedded)."""
    if isinstance(node, dict):
        return {
            key: _without_annotations(value)
            for key, value in node.items()
            if not key.startswith("x-") and key not in ("$id", "$schema")
        }
    if isinstance(node, list):
        return [_without_annotations(item) for item in node]
    return node


def certificate_schemas() -> dict[str, Any]:
    """The component schemas of the certificate routes."""
    template = default_catalog().resolve("carbon-efficiency-certificate/1")
    credential = _without_annotations(template.schema)
    definitions = credential.pop("$defs", {})
    credential = _rename_refs(credential)
    schemas: dict[str, Any] = {
        "CarbonEfficiencyCertificate": {
            **credential,
            "properties": {**credential["properties"], "proof": {}},
            "description": "A signed carbon-efficiency-certificate/1 Verifiable Credential.",
        },
        "EvaluationRequest": {
            "type": "object",
            "required": ["prefix", "period"],
            "additionalProperties": False,
            "properties": {
                "prefix": {"type": "string", "description": "The enterprise's prefix, e.g. 88.186.1."},
                "period": {
                    "type": "string",
                    "description": "2025 (official), 2025H1, 2025Q1, 2025-03 (trends), or with rolling a month.",
                },
                "rolling": {
                    "type": "boolean",
                    "description": "The 12 months ending with `period` (official).",
                },
            },
        },
        "IssuedCertificate": {
            "type": "object",
            "required": ["handle", "certificate", "qrPng", "qrSvg", "superseded", "credential", "report"],
            "properties": {
                "handle": {"type": "string"},
                "certificate": {"type": "string", "format": "uri"},
                "qrPng": {"type": "string", "format": "uri"},
                "qrSvg": {"type": "string", "format": "uri"},
                "superseded": {"type": "array", "items": {"type": "string"}},
                "credential": {"$ref": "#/components/schemas/CarbonEfficiencyCertificate"},
                "report": {"type": "object"},
            },
        },
        "CertificateList": {
            "type": "object",
            "required": ["certificates", "limit", "offset"],
            "properties": {
                "certificates": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["handle", "prefix", "period", "granularity", "status", "issuedAt"],
                        "properties": {
                            "handle": {"type": "string"},
                            "prefix": {"type": "string"},
                            "period": {"type": "string"},
                            "granularity": {"type": "string"},
                            "grade": {"type": ["integer", "null"]},
                            "status": {"enum": ["valid", "revoked", "superseded"]},
                            "issuedAt": {"type": "string"},
                            "validUntil": {"type": "string"},
                        },
                    },
                },
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        },
        "EvaluationReport": {
            "type": "object",
            "required": ["handle", "status", "credential", "accounting", "sources", "verification"],
            "properties": {
                "handle": {"type": "string"},
                "status": {"enum": ["valid", "revoked", "superseded", "expired"]},
                "statusReason": {"type": "string"},
                "credential": {"$ref": "#/components/schemas/CarbonEfficiencyCertificate"},
                "accounting": {"type": "object", "description": "Every line with its emissions and factor."},
                "benchmark": {"type": ["object", "null"]},
                "sources": {"type": "array", "items": {"type": "object"}},
                "verification": {"type": "object"},
            },
        },
        "RevocationRequest": {
            "type": "object",
            "required": ["reason"],
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 300}},
        },
        "StatusListCredential": {
            "type": "object",
            "required": ["@context", "id", "type", "issuer", "credentialSubject", "proof"],
            "description": "A W3C BitstringStatusListCredential (statusPurpose revocation).",
        },
    }
    for name, definition in definitions.items():
        schemas[f"Certificate_{name}"] = _rename_refs(definition)
    return schemas


def _rename_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", "#/components/schemas/Certificate_")
                if key == "$ref"
                else _rename_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item) for item in node]
    return node


def certificate_paths() -> dict[str, Any]:
    """The OpenAPI path items of the certificate routes."""
    unauthorized = problem_response_spec("Operator credentials are missing or wrong.")
    body_errors = {  # common.errors.read_json, once the operator is authenticated
        "413": problem_response_spec("The body is larger than max_body_bytes."),
        "415": problem_response_spec("The body is not application/json."),
    }
    return {
        "/api/evaluations": {
            "post": {
                "summary": "Evaluate an enterprise and issue its carbon-efficiency certificate",
                "description": (
                    "Resolves and verifies the enterprise's profile and activity data for the period, accounts, "
                    "grades against the benchmark and issues a signed Verifiable Credential under the resolver's "
                    "prefix. A re-evaluation supersedes the previous certificate of the same prefix and period."
                ),
                "operationId": "evaluate",
                "tags": TAGS,
                "security": OPERATOR,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/EvaluationRequest"}}
                    },
                },
                "responses": {
                    "201": _json("Issued.", {"$ref": "#/components/schemas/IssuedCertificate"}),
                    "400": problem_response_spec("The body is not JSON."),
                    "401": unauthorized,
                    "409": problem_response_spec("The resolver has no prefix to issue under."),
                    "422": problem_response_spec(
                        "No activity data for the period, records that do not verify, data that cannot be accounted."
                    ),
                    "502": problem_response_spec("A registry or node the evaluation needs does not answer."),
                    **body_errors,
                },
            },
            "get": {
                "summary": "Issued certificates, newest first",
                "operationId": "listEvaluations",
                "tags": TAGS,
                "parameters": [
                    {"name": "prefix", "in": "query", "required": False, "schema": {"type": "string"}},
                    {"name": "period", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    },
                ],
                "responses": {
                    "200": _json("The certificates.", {"$ref": "#/components/schemas/CertificateList"}),
                    "400": problem_response_spec("A bad limit or offset."),
                },
            },
        },
        "/api/evaluations/{handle}": {
            "get": {
                "summary": "The report behind a certificate: accounting lines, factors, status, verification",
                "operationId": "getEvaluation",
                "tags": TAGS,
                "parameters": [
                    _handle_parameter("The certificate's handle, e.g. 88.100.9/CERT.88.186.1.2025.")
                ],
                "responses": {
                    "200": _json("The report.", {"$ref": "#/components/schemas/EvaluationReport"}),
                    "404": problem_response_spec("No such certificate was issued here."),
                },
            }
        },
        "/api/evaluations/{handle}/revoke": {
            "post": {
                "summary": "Revoke a certificate",
                "operationId": "revokeEvaluation",
                "tags": TAGS,
                "security": OPERATOR,
                "parameters": [_handle_parameter("The certificate's handle.")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RevocationRequest"}}
                    },
                },
                "responses": {
                    "204": {"description": "Revoked: its bit in the status list is set."},
                    "400": problem_response_spec("No reason given."),
                    "401": unauthorized,
                    "404": problem_response_spec("No such certificate was issued here."),
                    "409": problem_response_spec("Already revoked or superseded."),
                    **body_errors,
                },
            }
        },
        "/api/rollups": {
            "post": {
                "summary": "Cradle-to-gate roll-up of a product carbon form across the federation",
                "description": (
                    "Resolves the form's supplier links as the resolver's prefix, verifies every form, and computes "
                    "own inventory + sum of quantity x supplier factor recursively; a missing, expired or ungranted "
                    "supplier falls back to a flagged default factor with a penalised data-quality rating."
                ),
                "operationId": "rollUp",
                "tags": ["Product carbon footprints"],
                "security": OPERATOR,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["handle"],
                                "properties": {
                                    "handle": {"type": "string"},
                                    "depthLimit": {"type": "integer", "minimum": 0, "maximum": 16},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json("The roll-up tree.", {"type": "object"}),
                    "400": problem_response_spec("The body is not JSON."),
                    "401": problem_response_spec("Operator credentials are missing or wrong."),
                    "422": problem_response_spec("A cycle, a missing root, a form that cannot be computed."),
                    "502": problem_response_spec("A registry or node does not answer."),
                    **body_errors,
                },
            }
        },
        "/api/status-lists/{list}": {
            "get": {
                "summary": "The revocation status list (W3C Bitstring Status List credential)",
                "operationId": "getStatusList",
                "tags": TAGS,
                "parameters": [
                    {
                        "name": "list",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "1",
                    }
                ],
                "responses": {
                    "200": _json(
                        "The signed list.",
                        {"$ref": "#/components/schemas/StatusListCredential"},
                        "application/vc+ld+json",
                    ),
                    "404": problem_response_spec("No such list."),
                },
            }
        },
        "/c/{handle}": {
            "get": {
                "summary": "The certificate page, its signed credential, or its QR code",
                "description": (
                    "HTML for a browser (Chinese and English, phone-first). With `Accept: application/ld+json`, "
                    "`application/vc+ld+json` or `application/vc` (or `?format=json`): the signed credential. "
                    "`/c/{handle}.png` and `/c/{handle}.svg`: a QR code in the grade's colour that decodes to the page."
                ),
                "operationId": "getCertificate",
                "tags": TAGS,
                "parameters": [
                    _handle_parameter("The certificate's handle, optionally followed by .png or .svg."),
                    {"name": "format", "in": "query", "required": False, "schema": {"enum": ["json"]}},
                ],
                "responses": {
                    "200": {
                        "description": "The page, the credential or the QR image.",
                        "content": {
                            "text/html": {"schema": {"type": "string"}},
                            "application/ld+json": {
                                "schema": {"$ref": "#/components/schemas/CarbonEfficiencyCertificate"}
                            },
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                            "image/svg+xml": {"schema": {"type": "string"}},
                        },
                    },
                    "404": {
                        "description": "No such certificate (an HTML page for a browser).",
                        "content": {
                            "text/html": {"schema": {"type": "string"}},
                            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
                        },
                    },
                },
            }
        },
    }
