"""The OpenAPI description of the PACT v2.3 routes (`node.pact_api`), added to the node's document.

The ProductFootprint schema here describes what this node emits (every property it may send, the decimals as
strings); the PACT Technical Specifications v2.3 remain the reference for the data model.
"""

from __future__ import annotations

from typing import Any, Final

JSON: Final = "application/json"
CLOUDEVENTS: Final = "application/cloudevents+json"
TAGS: Final = ["PACT v2.3"]
BEARER: Final[list[dict[str, list[str]]]] = [{"pactBearer": []}]

DECIMAL: Final = {
    "type": "string",
    "pattern": r"^-?\d+(\.\d+)?$",
    "description": "A PACT Decimal, as a string.",
}
DATE_TIME: Final = {"type": "string", "format": "date-time"}
URNS: Final = {
    "type": "array",
    "minItems": 1,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": "^urn:"},
}
SCORE: Final = {"type": "number", "minimum": 1, "maximum": 3}
PERCENT: Final = {"type": "number", "minimum": 0, "maximum": 100}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _error(description: str) -> dict[str, Any]:
    return _json(description, _ref("PactError"))


def pact_schemas() -> dict[str, Any]:
    """The schemas of the PACT bodies."""
    carbon_footprint = {
        "type": "object",
        "required": [
            "declaredUnit",
            "unitaryProductAmount",
            "pCfExcludingBiogenic",
            "fossilGhgEmissions",
            "fossilCarbonContent",
            "biogenicCarbonContent",
            "characterizationFactors",
            "ipccCharacterizationFactorsSources",
            "crossSectoralStandardsUsed",
            "boundaryProcessesDescription",
            "referencePeriodStart",
            "referencePeriodEnd",
            "exemptedEmissionsPercent",
            "exemptedEmissionsDescription",
            "packagingEmissionsIncluded",
        ],
        "properties": {
            "declaredUnit": {
                "enum": [
                    "liter",
                    "kilogram",
                    "cubic meter",
                    "kilowatt hour",
                    "megajoule",
                    "ton kilometer",
                    "square meter",
                ]
            },
            **{
                name: DECIMAL
                for name in (
                    "unitaryProductAmount",
                    "pCfExcludingBiogenic",
                    "pCfIncludingBiogenic",
                    "fossilGhgEmissions",
                    "fossilCarbonContent",
                    "biogenicCarbonContent",
                    "dLucGhgEmissions",
                    "landManagementGhgEmissions",
                    "otherBiogenicGhgEmissions",
                    "biogenicCarbonWithdrawal",
                )
            },
            "characterizationFactors": {"enum": ["AR5", "AR6"]},
            "ipccCharacterizationFactorsSources": {"type": "array", "items": {"pattern": r"^AR\d+$"}},
            "crossSectoralStandardsUsed": {"type": "array", "items": {"type": "string"}},
            "crossSectoralStandards": {"type": "array", "items": {"type": "string"}},
            "biogenicAccountingMethodology": {"enum": ["PEF", "ISO", "GHGP", "Quantis"]},
            "boundaryProcessesDescription": {"type": "string"},
            "referencePeriodStart": DATE_TIME,
            "referencePeriodEnd": DATE_TIME,
            "geographyCountry": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "secondaryEmissionFactorSources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "version"],
                    "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                },
            },
            "exemptedEmissionsPercent": {"type": "number", "minimum": 0, "maximum": 5},
            "exemptedEmissionsDescription": {"type": "string"},
            "packagingEmissionsIncluded": {"type": "boolean"},
            "primaryDataShare": PERCENT,
            "dqi": {
                "type": "object",
                "properties": {
                    "coveragePercent": PERCENT,
                    "technologicalDQR": SCORE,
                    "temporalDQR": SCORE,
                    "geographicalDQR": SCORE,
                    "completenessDQR": SCORE,
                    "reliabilityDQR": SCORE,
                },
            },
            "assurance": {
                "type": "object",
                "required": ["assurance", "providerName"],
                "properties": {
                    "assurance": {"type": "boolean"},
                    "providerName": {"type": "string"},
                    "coverage": {"type": "string"},
                    "comments": {"type": "string"},
                },
            },
        },
    }
    product_footprint = {
        "type": "object",
        "description": "A published CICES product form as a PACT v2.3 ProductFootprint (see node.pact_mapping).",
        "required": [
            "id",
            "specVersion",
            "version",
            "created",
            "status",
            "comment",
            "companyName",
            "companyIds",
            "productDescription",
            "productIds",
            "productCategoryCpc",
            "productNameCompany",
            "pcf",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "specVersion": {"const": "2.3.0"},
            "version": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
            "created": DATE_TIME,
            "updated": DATE_TIME,
            "status": {"enum": ["Active", "Deprecated"]},
            "validityPeriodStart": DATE_TIME,
            "validityPeriodEnd": DATE_TIME,
            "companyName": {"type": "string", "minLength": 1},
            "companyIds": URNS,
            "productDescription": {"type": "string"},
            "productIds": URNS,
            "productClassifications": URNS,
            "productCategoryCpc": {"type": "string", "minLength": 1},
            "productNameCompany": {"type": "string", "minLength": 1},
            "comment": {"type": "string"},
            "pcf": _ref("PactCarbonFootprint"),
        },
    }
    cloud_event = {
        "type": "object",
        "description": "A CloudEvents 1.0 event in structured mode: ProductFootprint.Published.v1 (data.pfIds) or "
        "ProductFootprintRequest.Created.v1 (data.pf, a footprint fragment naming productIds; data.comment).",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1},
            "source": {"type": "string", "minLength": 1},
            "type": {"type": "string"},
            "time": DATE_TIME,
            "data": {"type": "object"},
        },
    }
    return {
        "PactCarbonFootprint": carbon_footprint,
        "PactProductFootprint": product_footprint,
        "PactCloudEvent": cloud_event,
        "PactError": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "enum": [
                        "AccessDenied",
                        "BadRequest",
                        "NoSuchFootprint",
                        "NotImplemented",
                        "TokenExpired",
                        "InternalError",
                    ]
                },
                "message": {"type": "string"},
            },
        },
        "OAuthToken": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"const": "bearer"},
                "expires_in": {"type": "integer"},
            },
        },
        "OAuthError": {
            "type": "object",
            "required": ["error", "error_description"],
            "properties": {
                "error": {
                    "enum": ["invalid_request", "invalid_client", "unsupported_grant_type", "server_error"]
                },
                "error_description": {"type": "string"},
            },
        },
    }


def pact_paths() -> dict[str, Any]:
    """The PACT routes."""
    bad_token = _error("BadRequest: no bearer token, an unknown one, or a malformed request.")
    expired = _error("TokenExpired: the bearer token expired.")
    failed = _error("InternalError.")
    return {
        "/auth/token": {
            "post": {
                "summary": "PACT Action Authenticate: a bearer token for client credentials (RFC 6749 section 4.4)",
                "operationId": "pactToken",
                "tags": TAGS,
                "security": [{"pactClient": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["grant_type"],
                                "properties": {"grant_type": {"const": "client_credentials"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json("The token.", _ref("OAuthToken")),
                    "400": _json(
                        "invalid_request (malformed body, plain HTTP) or unsupported_grant_type.",
                        _ref("OAuthError"),
                    ),
                    "401": _json("invalid_client: wrong or missing client credentials.", _ref("OAuthError")),
                    "500": _json("server_error.", _ref("OAuthError")),
                },
            }
        },
        "/2/footprints": {
            "get": {
                "summary": "PACT Action ListFootprints: the footprints shared with the client, oldest form first",
                "description": 'A `Link: <absolute URL>; rel="next"` header while more remain; the link returns the same '
                "footprints every time. `$filter` is not implemented and, as the spec requires, ignored.",
                "operationId": "pactListFootprints",
                "tags": TAGS,
                "security": BEARER,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "At most this many footprints (1000 at most are served).",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    {
                        "name": "page",
                        "in": "query",
                        "required": False,
                        "description": "The cursor of a pagination link.",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": _json(
                        "The footprints.",
                        {
                            "type": "object",
                            "required": ["data"],
                            "properties": {"data": {"type": "array", "items": _ref("PactProductFootprint")}},
                        },
                        headers={
                            "Link": {
                                "description": 'The next page: <URL>; rel="next".',
                                "schema": {"type": "string"},
                            }
                        },
                    ),
                    "400": bad_token,
                    "401": expired,
                    "403": _error("AccessDenied: PACT over plain HTTP."),
                    "500": failed,
                },
            }
        },
        "/2/footprints/{id}": {
            "get": {
                "summary": "PACT Action GetFootprint: the latest version of one footprint",
                "operationId": "pactGetFootprint",
                "tags": TAGS,
                "security": BEARER,
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "description": "The footprint's PfId.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(
                        "The footprint.",
                        {
                            "type": "object",
                            "required": ["data"],
                            "properties": {"data": _ref("PactProductFootprint")},
                        },
                    ),
                    "400": bad_token,
                    "401": expired,
                    "403": _error("AccessDenied: the footprint is not shared with this client."),
                    "404": _error("NoSuchFootprint."),
                    "500": failed,
                },
            }
        },
        "/2/events": {
            "post": {
                "summary": "PACT Action Events: a Published notification, or a footprint request answered later",
                "description": "A ProductFootprintRequest.Created event is queued and answered asynchronously with a "
                "Fulfilled or Rejected event posted to `<source>/2/events`, retried with back-off. Only requesters "
                "this node holds credentials for (`pact_peer_credentials`) are answered; others get 400.",
                "operationId": "pactEvents",
                "tags": TAGS,
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {CLOUDEVENTS: {"schema": _ref("PactCloudEvent")}},
                },
                "responses": {
                    "200": {"description": "Accepted (empty body)."},
                    "400": _error(
                        "BadRequest (malformed event, unknown requester, bad token) or NotImplemented."
                    ),
                    "401": expired,
                    "403": _error("AccessDenied: PACT over plain HTTP."),
                    "500": failed,
                },
            }
        },
    }


def add_pact_openapi(document: dict[str, Any]) -> None:
    """Add the PACT routes, their schemas and their security schemes to the node's document."""
    document["paths"].update(pact_paths())
    document["components"]["schemas"].update(pact_schemas())
    schemes = document["components"].setdefault("securitySchemes", {})
    schemes["pactClient"] = {
        "type": "http",
        "scheme": "basic",
        "description": "client_id and client_secret printed by `carbonid node pact-client add`.",
    }
    schemes["pactBearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from POST /auth/token.",
    }
