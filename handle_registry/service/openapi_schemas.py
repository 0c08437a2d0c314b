"""Schemas of the registry's OpenAPI document: patterns, request bodies (from the templates), responses."""

from __future__ import annotations

from typing import Any, Final

from handle_registry.json_schemas import handle_json_schemas
from handle_registry.service.queries import KINDS, MAX_PAGE_SIZE, STATUSES
from metadata_templates import default_catalog


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


PREFIX_PATTERN: Final = r"^[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*$"
PREFIX_SCHEMA: Final = {"type": "string", "pattern": PREFIX_PATTERN, "maxLength": 255}
# A prefix, optionally followed by "/" and a printable suffix (the path is percent-decoded once).
HANDLE_PATTERN: Final = r"^[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*(/[^\x00-\x1f\x7f-\x9f]+)?$"
LIST_PREFIX_PATTERN: Final = r"^[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*(/[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*)?$"
DID_PATTERN: Final = r"^did:[a-z0-9]+:([A-Za-z0-9._:-]|%[0-9A-Fa-f]{2})*([A-Za-z0-9._-]|%[0-9A-Fa-f]{2})$"
URL_PATTERN: Final = r"^https?://[^/?#\s]+(/[^?#\s]*)?$"
INT32: Final = 2**31 - 1
REASON_PATTERN: Final = r"\S"
NULLABLE_STRING: Final = {"type": ["string", "null"]}


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """A template's JSON Schema made self-contained for the OpenAPI document: $defs inlined, x- members dropped."""
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    target = schema.get("$ref")
    if isinstance(target, str) and target.startswith("#/$defs/"):
        return _inline(defs[target.removeprefix("#/$defs/")], defs)
    inlined = {
        key: _inline(value, defs)
        for key, value in schema.items()
        if key not in ("$schema", "$id", "$defs") and not key.startswith("x-")
    }
    if inlined.get("format") == "handle-prefix" and "pattern" not in inlined:
        # carbonid's own format, unknown to generic validators: say it as a pattern too.
        inlined["pattern"] = PREFIX_PATTERN
    return inlined


def template_schema(ref: str) -> dict[str, Any]:
    """The JSON Schema of a bundled template, inlined."""
    schema = default_catalog().resolve(ref).schema
    inlined: dict[str, Any] = _inline(schema, dict(schema.get("$defs", {})))
    return inlined


PROOF_SCHEMA: Final = {"type": "object", "description": "A Data Integrity proof."}


def signed(schema: dict[str, Any], *, proofs: bool = False) -> dict[str, Any]:
    """A template schema plus its proof: one authentication proof (a request) or a proof set (a record)."""
    proof: dict[str, Any] = (
        {"oneOf": [PROOF_SCHEMA, {"type": "array", "items": PROOF_SCHEMA, "minItems": 1}]}
        if proofs
        else PROOF_SCHEMA
    )
    return {
        **schema,
        "required": [*schema["required"], "proof"],
        "properties": {**schema["properties"], "proof": proof},
    }


def _application_schema() -> dict[str, Any]:
    schema = template_schema("prefix-application/1")
    schema["properties"]["profile"] = template_schema("enterprise-profile/1")
    return signed(schema)


SCHEMAS: Final[dict[str, Any]] = {
    "PrefixApplication": {
        "description": "A prefix-application/1 document (its profile an enterprise-profile/1 document) signed as a "
        "request: one Data Integrity proof, proofPurpose authentication, domain = this registry's DID, made by "
        "one of the keys it lists; a fresh created time and a nonce.",
        **_application_schema(),
    },
    "KeyChange": {
        "description": "A key-change/1 document signed as a request (domain = this registry's DID) by a key that is "
        "active in the prefix's current record.",
        **signed(template_schema("key-change/1")),
    },
    "Reason": {
        "type": "object",
        "required": ["reason"],
        "additionalProperties": False,
        "properties": {
            "reason": {
                "type": "string",
                "maxLength": 2000,
                "pattern": REASON_PATTERN,
                "description": "Not blank.",
            }
        },
    },
    "Delegation": {
        "type": "object",
        "required": ["prefix", "serviceUrl", "didDocument"],
        "additionalProperties": False,
        "properties": {
            "prefix": {**PREFIX_SCHEMA, "description": "The sub-prefix handed over, e.g. 88.186."},
            "serviceUrl": {
                "type": "string",
                "pattern": URL_PATTERN,
                "description": "The delegated registry's URL.",
            },
            "didDocument": ref("DidDocument"),
        },
    },
    "DidDocument": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "@context": {"type": "array", "items": {"type": "string"}},
            "id": {"type": "string", "pattern": DID_PATTERN},
            "verificationMethod": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["id", "type", "controller", "publicKeyMultibase"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"const": "Multikey"},
                        "controller": {"type": "string"},
                        "publicKeyMultibase": {"type": "string", "pattern": "^z[1-9A-HJ-NP-Za-km-z]+$"},
                        "expires": {"type": "string", "format": "date-time"},
                        "revoked": {"type": "string", "format": "date-time"},
                    },
                },
            },
            "assertionMethod": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "authentication": {"type": "array", "items": {"type": "string"}},
            "service": {"type": "array", "items": {"type": "object"}},
        },
    },
    "PrefixRecord": {
        "description": "A prefix-record/1 document with the registry's assertion proofs (one per registry key).",
        **signed(template_schema("prefix-record/1"), proofs=True),
    },
    "ApplicationAccepted": {
        "type": "object",
        "required": ["prefix", "status", "href"],
        "properties": {
            "prefix": {"type": "string"},
            "status": {"const": "pending"},
            "href": {"type": "string"},
        },
    },
    "PrefixSummary": {
        "type": "object",
        "required": [
            "prefix",
            "kind",
            "status",
            "version",
            "did",
            "serviceUrl",
            "createdAt",
            "updatedAt",
            "href",
        ],
        "properties": {
            "prefix": {"type": "string"},
            "kind": {"enum": list(KINDS)},
            "status": {"enum": list(STATUSES)},
            "version": {
                "type": "integer",
                "minimum": 0,
                "description": "Current record version; 0 before approval.",
            },
            "did": {"type": "string"},
            "serviceUrl": {"type": "string"},
            "enterpriseName": NULLABLE_STRING,
            "uscc": NULLABLE_STRING,
            "region": NULLABLE_STRING,
            "industry": NULLABLE_STRING,
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
            "href": {"type": "string"},
        },
    },
    "PrefixEvent": {
        "type": "object",
        "required": ["at", "action", "actor", "reason", "version"],
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "action": {
                "enum": [
                    "applied",
                    "approved",
                    "rejected",
                    "suspended",
                    "reinstated",
                    "delegated",
                    "keys-changed",
                ]
            },
            "actor": {
                "type": "string",
                "description": "admin:<name>, or the verification method that signed.",
            },
            "reason": NULLABLE_STRING,
            "version": {"type": ["integer", "null"]},
        },
    },
    "PrefixDetails": {
        "allOf": [
            ref("PrefixSummary"),
            {
                "type": "object",
                "required": ["statusReason", "history", "record"],
                "properties": {
                    "statusReason": NULLABLE_STRING,
                    "history": {"type": "array", "items": ref("PrefixEvent")},
                    "record": {"oneOf": [ref("PrefixRecord"), {"type": "null"}]},
                    "application": {"type": "object", "description": "Administrators only."},
                },
            },
        ]
    },
    "PrefixPage": {
        "type": "object",
        "required": ["prefixes", "totalCount", "page", "pageSize"],
        "properties": {
            "prefixes": {"type": "array", "items": ref("PrefixSummary")},
            "totalCount": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "pageSize": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        },
    },
    **handle_json_schemas(),
    "TemplateSummary": {
        "type": "object",
        "required": [
            "id",
            "version",
            "ref",
            "labels",
            "description",
            "type",
            "context",
            "industries",
            "items",
        ],
        "properties": {
            "id": {"type": "string"},
            "version": {"type": "integer"},
            "ref": {"type": "string"},
            "labels": {"type": "object"},
            "description": {"type": "object"},
            "type": {"type": "string"},
            "context": {"type": "string"},
            "industries": {"type": "array", "items": {"type": "string"}},
            "items": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Template": {
        "allOf": [
            ref("TemplateSummary"),
            {"type": "object", "required": ["schema"], "properties": {"schema": {"type": "object"}}},
        ]
    },
}
