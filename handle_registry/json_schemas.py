"""JSON Schemas of the Handle REST JSON the codec reads and writes, for OpenAPI documents.

Every service that speaks the Handle REST API (registry, node, resolver) describes its Handle routes
with these, so the documents agree with each other and with `handle_registry.codec`. The schemas
refer to each other as `#/components/schemas/<Name>`.
"""

from __future__ import annotations

from typing import Any

from handle_registry.values import ValueFormat

TIMESTAMP_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def handle_json_schemas() -> dict[str, Any]:
    """Component schemas: HandleData, HandleValue, HandleValueInput, HandlePutBody, HandleResolution,
    HandleSuccess, HandleError, HandleList."""
    data = {
        "type": "object",
        "required": ["format", "value"],
        "properties": {"format": {"enum": [f.value for f in ValueFormat]}, "value": {}},
    }
    return {
        "HandleData": data,
        "HandleValue": {
            "type": "object",
            "required": ["index", "type", "data", "ttl", "timestamp"],
            "properties": {
                "index": {"type": "integer"},
                "type": {"type": "string"},
                "data": _ref("HandleData"),
                "permissions": {"type": "string", "pattern": "^[01]{4}$"},
                "ttl": {"type": "integer"},
                "timestamp": {"type": "string", "pattern": TIMESTAMP_PATTERN},
            },
        },
        "HandleValueInput": {
            "type": "object",
            "description": "A handle value as a client may send it: index may be a numeric string, data a bare string.",
            "required": ["index", "type", "data"],
            "properties": {
                "index": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]{1,10}$"}]},
                "type": {"type": "string", "minLength": 1},
                "data": {"anyOf": [{"type": "string"}, _ref("HandleData")]},
                "ttl": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "timestamp": {"type": "string"},
                "permissions": {"type": "string", "pattern": "^[01]{4}$"},
            },
        },
        "HandlePutBody": {
            "description": 'A PUT body: `{"values":[…]}`, a bare array of values, or one value.',
            "anyOf": [
                {
                    "type": "object",
                    "required": ["values"],
                    "properties": {
                        "values": {"type": "array", "items": _ref("HandleValueInput")},
                        "handle": {"type": "string"},
                    },
                },
                {"type": "array", "items": _ref("HandleValueInput")},
                _ref("HandleValueInput"),
            ],
        },
        "HandleResolution": {
            "type": "object",
            "description": "responseCode 1 (values), 200 (no value passed the filters) or 303 (a prefix referral: "
            "the values of the delegated prefix's record).",
            "required": ["responseCode", "handle", "values"],
            "properties": {
                "responseCode": {"enum": [1, 200, 303]},
                "handle": {"type": "string", "description": "Exactly as requested."},
                "values": {"type": "array", "items": _ref("HandleValue")},
            },
        },
        "HandleSuccess": {
            "type": "object",
            "required": ["responseCode", "handle"],
            "properties": {
                "responseCode": {"const": 1},
                "handle": {"type": "string", "description": "As requested, or the newly minted handle."},
            },
        },
        "HandleError": {
            "type": "object",
            "required": ["responseCode", "message"],
            "properties": {
                "responseCode": {"type": "integer"},
                "handle": {"type": "string"},
                "message": {"type": "string"},
            },
        },
        "HandleList": {
            "type": "object",
            "required": ["responseCode", "prefix", "totalCount", "handles"],
            "properties": {
                "responseCode": {"const": 1},
                "prefix": {"type": "string"},
                "totalCount": {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "A number written as a string.",
                },
                "page": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "handles": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
