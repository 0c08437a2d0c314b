"""The OpenAPI description of the regional routes (`resolver.regions_api`)."""

from __future__ import annotations

from typing import Any, Final

from common.web import problem_response_spec

TAGS: Final = ["Regional monitoring"]
REGULATOR_OPTIONAL: Final[list[dict[str, list[str]]]] = [{}, {"regulatorBasic": []}]
NUMBER_OR_NULL: Final = {"type": ["number", "null"]}
CARRIERS: Final = ("coal", "oil", "gas", "electricity", "heat", "other")


def _aggregate() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["enterprises", "suppressed"],
        "properties": {
            "enterprises": {"type": "integer", "minimum": 0},
            "emissionsTCo2": NUMBER_OR_NULL,
            "grossEmissionsTCo2": NUMBER_OR_NULL,
            "addedValue10kCny": NUMBER_OR_NULL,
            "intensity": NUMBER_OR_NULL,
            "benchmark": NUMBER_OR_NULL,
            "efficiencyValue": NUMBER_OR_NULL,
            "gradeCounts": {
                "type": ["object", "null"],
                # A suppressed cell keeps the keys, each null (carbon_efficiency.regional_report.aggregate).
                "properties": {
                    key: {"type": ["integer", "null"], "minimum": 0}
                    for key in ("1", "2", "3", "4", "5", "ungraded")
                },
            },
            "energyGj": {"type": ["object", "null"], "properties": {c: NUMBER_OR_NULL for c in CARRIERS}},
            "energyShares": {"type": ["object", "null"], "properties": {c: NUMBER_OR_NULL for c in CARRIERS}},
            "neutralityRate": NUMBER_OR_NULL,
            "suppressed": {"type": "boolean"},
        },
    }


def _named(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "allOf": [
            {"$ref": "#/components/schemas/RegionalAggregate"},
            {
                "type": "object",
                "required": ["code"],
                "properties": {
                    "code": {"type": "string"},
                    "nameZh": {"type": "string"},
                    "nameEn": {"type": "string"},
                    **(extra or {}),
                },
            },
        ]
    }


def region_schemas() -> dict[str, Any]:
    """The component schemas of the regional routes."""
    return {
        "RegionalAggregate": _aggregate(),
        "RegionalReport": {
            "type": "object",
            "required": [
                "region",
                "period",
                "childLevel",
                "disclosure",
                "totals",
                "children",
                "rankings",
                "trend",
            ],
            "properties": {
                "region": {
                    "type": "object",
                    "required": ["code", "level"],
                    "properties": {
                        "code": {"type": "string"},
                        "level": {"enum": ["national", "province", "city", "county"]},
                        "nameZh": {"type": "string"},
                        "nameEn": {"type": "string"},
                    },
                },
                "period": {"type": "object", "required": ["text", "granularity", "official", "months"]},
                "industry": {"type": ["object", "null"]},
                "childLevel": {"enum": ["province", "city", "county", None]},  # None: a county's report
                "disclosure": {"enum": ["public", "regulator"]},
                "totals": {"$ref": "#/components/schemas/RegionalAggregate"},
                "children": {"type": "array", "items": _named()},
                "rankings": {
                    "type": "object",
                    "properties": {
                        "children": {"type": "array", "items": {"type": "string"}},
                        "industries": {"type": "array", "items": _named()},
                        "enterprises": {"type": ["array", "null"], "items": {"type": "object"}},
                    },
                },
                "trend": {
                    "type": "object",
                    "required": ["granularity", "points"],
                    "properties": {
                        "granularity": {"enum": ["month", "quarter", "year"]},
                        "points": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    }


def _parameters() -> list[dict[str, Any]]:
    def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}

    return [
        {
            "name": "code",
            "in": "path",
            "required": True,
            "description": "A GB/T 2260 region code (330000, 330500, 330522) or 000000 for the nation.",
            "schema": {"type": "string", "pattern": "^[0-9]{6}$"},
        },
        query(
            "period",
            "2025, 2025H1, 2025Q1 or 2025-03 (default: the latest year indexed).",
            {"type": "string"},
        ),
        query(
            "level",
            "Level of the breakdown (default: the next level down).",
            {"enum": ["province", "city", "county"]},
        ),
        query("industry", "A GB/T 4754 division, e.g. C32.", {"type": "string"}),
        query("trend", "Granularity of the trend series.", {"enum": ["month", "quarter", "year"]}),
    ]


def region_paths() -> dict[str, Any]:
    """The OpenAPI path items of the regional routes."""
    errors = {
        "400": problem_response_spec("A bad period, level, industry or format."),
        "401": problem_response_spec("Wrong regulator credentials."),
        "403": problem_response_spec("The region is outside the regulator's scope."),
        "404": problem_response_spec("No such region."),
        "503": problem_response_spec("The index is still loading."),
    }
    return {
        "/api/regions/{code}/efficiency": {
            "get": {
                "summary": "Carbon efficiency of a region, its child regions, industries and enterprises",
                "description": (
                    "Anyone gets public aggregates (cells of fewer than `public_min_cell` enterprises are "
                    "suppressed; no enterprise rows); a regulator whose scope covers the region gets everything."
                ),
                "operationId": "getRegionEfficiency",
                "tags": TAGS,
                "security": REGULATOR_OPTIONAL,
                "parameters": [
                    *_parameters(),
                    {"name": "format", "in": "query", "required": False, "schema": {"enum": ["json", "csv"]}},
                ],
                "responses": {
                    "200": {
                        "description": "The report.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/RegionalReport"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **errors,
                },
            }
        },
        "/regions/{code}": {
            "get": {
                "summary": "The regional dashboard (HTML, Chinese and English, charts drawn on the server)",
                "operationId": "getRegionDashboard",
                "tags": TAGS,
                "security": REGULATOR_OPTIONAL,
                "parameters": _parameters(),
                "responses": {
                    "200": {
                        "description": "The dashboard.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    **{
                        status: {
                            "description": spec["description"],
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                        for status, spec in errors.items()
                    },
                },
            }
        },
    }
