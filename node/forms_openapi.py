"""The OpenAPI description of the product-form routes (`node.forms_api`), added to the node's document."""

from __future__ import annotations

from typing import Any

from common.web import problem_response_spec
from node.form_filters import FORM_FIELDS, OPERATORS, RECEIVED_FIELDS
from node.forms_schema import STATES

JSON = "application/json"
FORM_AUTH: list[dict[str, list[str]]] = [{"handleAdmin": []}, {"formReviewer": []}]
ADMIN_AUTH: list[dict[str, list[str]]] = [{"handleAdmin": []}]
TAGS = ["Product forms"]


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


HANDLE = {
    "name": "handle",
    "in": "path",
    "required": True,
    "description": "The form's handle, `<prefix>/PF.<n>`.",
    "schema": {"type": "string", "minLength": 1},
    "example": "88.186.1/PF.1",
}
PAGING = [
    _query("page", "Zero-based page.", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
    _query("pageSize", "Items per page.", {"type": "integer", "minimum": 1, "maximum": 1000}),
    _query(
        "format",
        "`csv` exports every match (not one page) as RFC 4180 CSV with a BOM.",
        {"enum": ["json", "csv"]},
    ),
]
FILTER = _query("filter", "A filter tree as URL-encoded JSON (see FormFilter).", {"type": "string"})
SIMPLE = [
    _query("q", "The handle, name or model contains this (ASCII case ignored).", {"type": "string"}),
    _query("state", "Only forms in this state.", {"enum": list(STATES)}),
    _query("tag", "Only forms with this classification tag.", {"type": "string"}),
]
CSV = {"text/csv": {"schema": {"type": "string"}}}
INVALID = {
    "description": "The request or the form is invalid; `issues` lists JSON pointers and messages.",
    "content": {"application/problem+json": {"schema": _ref("InvalidRecordProblem")}},
}
ERRORS = {
    "400": problem_response_spec("The body is not a JSON object, or a filter or parameter is invalid."),
    "401": problem_response_spec("Administrator or reviewer credentials are missing or wrong."),
    "403": problem_response_spec("The step is the other role's, or credentials came over plain HTTP."),
    "404": problem_response_spec("No such form."),
    "409": problem_response_spec("The form's state does not allow the step (the problem names the state)."),
    "413": problem_response_spec("The body is larger than max_body_bytes."),
    "415": problem_response_spec("The body is not application/json."),
    "422": INVALID,
    "503": problem_response_spec("The node's database is unavailable; retry later."),
}


def _op(
    summary: str,
    operation_id: str,
    ok: tuple[str, dict[str, Any]],
    errors: str,
    *,
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
    security: list[dict[str, list[str]]] = FORM_AUTH,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "tags": TAGS,
        "security": security,
        "parameters": params if params is not None else [HANDLE],
        "responses": {ok[0]: ok[1], **{code: ERRORS[code] for code in errors.split()}},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(body)}}}
    return operation


def _form(description: str) -> dict[str, Any]:
    return _json(description, _ref("Form"))


def _listing(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}, **CSV}}


def form_paths() -> dict[str, Any]:
    """The paths of the form routes."""
    step = "400 401 403 404 409 413 415 422 503"
    return {
        "/api/forms": {
            "get": _op(
                "List the node's forms", "listForms", ("200", _listing("A page, or the CSV export.", "FormList")),
                "400 401 403 422 503", params=[FILTER, *SIMPLE, *PAGING],
            ),
            "post": _op(
                "Create a draft (its handle is assigned)", "createForm",
                ("201", _form("The new draft; Location names it.")), "400 401 403 413 415 422 503",
                body="FormRequest", params=[],
            ),
        },
        "/api/forms/search": {
            "post": _op(
                "List forms, the filter in the body", "searchForms",
                ("200", _listing("A page, or the CSV export.", "FormList")), "400 401 403 413 415 422 503",
                body="FormSearch", params=[*SIMPLE, PAGING[2]],
            )
        },
        "/api/forms/received": {
            "get": _op(
                "Forms suppliers sent this node (as its administrator recorded them)", "listReceivedForms",
                ("200", _listing("A page, or the CSV export.", "ReceivedList")), "400 401 403 422 503",
                params=[FILTER, *PAGING], security=ADMIN_AUTH,
            ),
            "post": _op(
                "Record a form a supplier sent", "addReceivedForm",
                ("201", _json("Recorded.", _ref("ReceivedForm"))), "400 401 403 409 413 415 422 503",
                body="ReceivedRequest", params=[], security=ADMIN_AUTH,
            ),
        },
        "/api/forms/received/{handle}": {
            "delete": _op(
                "Forget a received form", "removeReceivedForm", ("204", {"description": "Forgotten."}),
                "401 403 404 503", security=ADMIN_AUTH,
            )
        },
        "/api/forms/{handle}": {
            "get": _op("A form, its document and computed footprint", "getForm", ("200", _form("The form.")),
                       "401 403 404 503"),
            "put": _op("Replace the document of a draft or rejected form", "editForm",
                       ("200", _form("The draft.")), step, body="FormRequest"),
        },
        "/api/forms/{handle}/history": {
            "get": _op("Every transition of a form", "getFormHistory",
                       ("200", _json("Oldest first.", _ref("FormHistory"))), "401 403 404 503")
        },
        "/api/forms/{handle}/submit": {
            "post": _op("Submit a draft for review (administrator)", "submitForm", ("200", _form("Submitted.")), step)
        },
        "/api/forms/{handle}/approve": {
            "post": _op("Approve a submitted form (reviewer)", "approveForm", ("200", _form("Approved.")), step)
        },
        "/api/forms/{handle}/reject": {
            "post": _op("Reject a submitted form with a reason (reviewer)", "rejectForm",
                        ("200", _form("Rejected.")), step, body="ReviewRequest")
        },
        "/api/forms/{handle}/publish": {
            "post": _op("Publish an approved form as a signed record (administrator)", "publishForm",
                        ("200", _form("Published; `record` names the version.")), step)
        },
        "/api/forms/{handle}/copy": {
            "post": _op("A new draft with this form's document (administrator)", "copyForm",
                        ("201", _form("The new draft.")), "401 403 404 409 503")
        },
        "/api/forms/{handle}/send": {
            "post": _op("Send a published form to a customer: grant its prefix (administrator)", "sendForm",
                        ("201", _json("The grant.", _ref("Grant"))), step, body="GrantRequest")
        },
        "/api/forms/{handle}/tags": {
            "put": _op("Set a form's classification tags (administrator)", "setFormTags",
                       ("200", _form("The form.")), step, body="TagsRequest")
        },
    }  # fmt: skip


def form_schemas() -> dict[str, Any]:
    """The component schemas of the form routes."""
    text, nullable = {"type": "string"}, {"type": ["string", "null"]}
    strings = {"type": "array", "items": text}
    item = {
        "handle": text,
        "state": {"enum": list(STATES)},
        "name": text,
        "model": nullable,
        "productType": text,
        "public": {"type": "boolean"},
        "tags": strings,
        "periodStart": text,
        "periodEnd": text,
        "functionalUnit": text,
        "emissionFactor": {"type": ["number", "null"], "description": "Computed from the inventory."},
        "emissionFactorUnit": nullable,
        "validUntil": nullable,
        "partCodes": strings,
        "customers": strings,
        "publishedVersion": {"type": ["integer", "null"]},
        "createdAt": text,
        "updatedAt": text,
        "href": text,
    }
    nullable_object = {"type": ["object", "null"]}
    received = {name: nullable for name in RECEIVED_FIELDS}
    condition = {
        "type": "object",
        "required": ["field", "op"],
        "additionalProperties": False,
        "properties": {
            "field": {
                "type": "string",
                "description": f"Forms: {', '.join(FORM_FIELDS)}. Received: {', '.join(RECEIVED_FIELDS)}.",
            },
            "op": {"enum": list(OPERATORS)},
            "value": {
                "description": "A string, number or boolean; a list for in and not_in; none for the unary operators."
            },
        },
    }
    group = {
        name: {
            "type": "object",
            "required": [name],
            "additionalProperties": False,
            "properties": {name: {"type": "array", "items": _ref("FormFilter")}},
        }
        for name in ("and", "or")
    }
    return {
        "FormRequest": {
            "type": "object",
            "required": ["document"],
            "additionalProperties": False,
            "properties": {
                "document": {
                    "type": "object",
                    "description": "A product-footprint/1 document; handle, version, emissionFactor and validUntil may be left out.",
                }
            },
        },
        "FormItem": {"type": "object", "required": list(item), "properties": item},
        "Form": {
            "allOf": [
                _ref("FormItem"),
                {
                    "type": "object",
                    "required": ["document", "footprint", "footprintErrors", "rejection", "record"],
                    "properties": {
                        "document": {"type": "object"},
                        "footprint": nullable_object,
                        "footprintErrors": {"type": ["array", "null"]},
                        "rejection": nullable_object,
                        "record": nullable_object,
                    },
                },
            ]
        },
        "FormList": {
            "type": "object",
            "required": ["totalCount", "page", "pageSize", "forms"],
            "properties": {
                "totalCount": {"type": "integer"},
                "page": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "forms": {"type": "array", "items": _ref("FormItem")},
            },
        },
        "FormHistory": {
            "type": "object",
            "required": ["handle", "history"],
            "properties": {
                "handle": text,
                "history": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["at", "actor", "role", "from", "to", "reason"],
                        "properties": {
                            "at": text,
                            "actor": text,
                            "role": {"enum": ["admin", "reviewer"]},
                            "from": {"enum": [*STATES, None]},
                            "to": {"enum": list(STATES)},
                            "reason": nullable,
                        },
                    },
                },
            },
        },
        "FormFilter": {"oneOf": [group["and"], group["or"], _ref("FormCondition")]},
        "FormCondition": condition,
        "FormSearch": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "filter": _ref("FormFilter"),
                "page": {"type": "integer", "minimum": 0},
                "pageSize": {"type": "integer", "minimum": 1, "maximum": 1000},
            },
        },
        "ReviewRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"reason": {"type": "string", "maxLength": 2000}},
        },
        "TagsRequest": {
            "type": "object",
            "required": ["tags"],
            "additionalProperties": False,
            "properties": {"tags": {"type": "array", "maxItems": 20, "uniqueItems": True, "items": text}},
        },
        "ReceivedRequest": {
            "type": "object",
            "required": ["handle"],
            "additionalProperties": False,
            "properties": {"handle": text, "partCode": text, "note": text},
        },
        "ReceivedForm": {"type": "object", "required": list(received), "properties": received},
        "ReceivedList": {
            "type": "object",
            "required": ["totalCount", "page", "pageSize", "received"],
            "properties": {
                "totalCount": {"type": "integer"},
                "page": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "received": {"type": "array", "items": _ref("ReceivedForm")},
            },
        },
    }


def add_form_openapi(document: dict[str, Any]) -> None:
    """Add the form routes, their schemas and the reviewer's security scheme to the node's document."""
    document["paths"].update(form_paths())
    document["components"]["schemas"].update(form_schemas())
    document["components"].setdefault("securitySchemes", {})["formReviewer"] = {
        "type": "http",
        "scheme": "basic",
        "description": "User `reviewer:<name>` (its colon may be percent-encoded), password the secret printed by "
        "`carbonid node reviewer add`. Reviewers read forms and approve or reject them.",
    }
