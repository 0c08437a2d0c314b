"""Form list filters: every operator of the CICES manual one by one, nested AND/OR groups, the simple filters,
refusals naming the field or operator at fault, values that look like SQL, and the CSV export."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest

from node.form_filters import (
    FORM_FIELDS,
    MATCH_ALL,
    MAX_CONDITIONS,
    MAX_DEPTH,
    OPERATORS,
    Condition,
    Group,
    InvalidFilter,
    Kind,
    all_of,
    parse_filter,
    parse_filter_text,
)
from node.keys import NODE_KEY
from node.reviewers import add_reviewer
from tests.node.conftest import ADMIN, example, publish
from tests.node.test_forms import simple_form

# Forms A to F. Each factor is one material line: quantity × 1 kgCO2e/kg per 1 kg, so the factor is the
# quantity. F's transport line has no factor, so F's factor does not compute (null).
FORMS: dict[str, dict[str, Any]] = {
    "A": {
        "name": "A00 铝锭",
        "model": "Al99.70",
        "tags": ["铝", "原材料"],
        "validUntil": "2027-12-31",
        "q": 12.9,
    },
    "B": {"name": "再生铝合金", "model": "ADC12", "tags": ["铝"], "q": 0.78},
    "C": {"name": "天窗顶棚", "model": "", "tags": [], "validUntil": "2026-05-09", "q": 33.5},
    "D": {"name": "橡胶 50%_off", "tags": ["原材料"], "validUntil": "2028-01-01", "q": 3.08},
    "E": {"name": "MOS", "model": "TBL341SE5", "validUntil": "2027-06-30", "q": 1, "public": True},
    "F": {"name": "未计算", "model": "X-1", "q": 2},
}
ALL = set(FORMS)


def document(spec: dict[str, Any]) -> dict[str, Any]:
    members = {key: value for key, value in spec.items() if key != "q"}
    members.setdefault("public", False)
    form = simple_form(**members)
    if "model" not in spec:
        form.pop("model")
    if "tags" not in spec:
        form.pop("tags")
    form["inventory"]["materials"] = [
        {
            "name": "材料",
            "quantity": spec["q"],
            "unit": "kg",
            "emissionFactor": {"value": 1, "unit": "kgCO2e/kg", "source": "测试"},
        }
    ]
    form["inventory"]["directEmissions"] = []
    form["inventory"]["transport"] = []
    if spec["name"] == "未计算":
        form["inventory"]["transport"] = [{"leg": "inbound", "mode": "rail", "tonneKm": 1}]
    return form


@pytest.fixture
async def forms(client) -> dict[str, str]:
    """Forms A–F (handle → letter); E is published, sent to 88.186.7 with part code CUST-001; B is submitted."""
    await publish(client, example("enterprise-profile/1"), template="enterprise-profile/1")
    letters = {}
    for letter, spec in FORMS.items():
        response = await client.post("/api/forms", json={"document": document(spec)}, headers=ADMIN)
        assert response.status == 201, await response.text()
        letters[(await response.json())["handle"]] = letter
    handle = {letter: handle for handle, letter in letters.items()}
    assert (await client.post(f"/api/forms/{handle['B']}/submit", headers=ADMIN)).status == 200
    return letters


async def matched(client, letters: dict[str, str], node: Any, **params: str) -> set[str]:
    response = await client.get("/api/forms", headers=ADMIN, params={"filter": json.dumps(node), **params})
    body = await response.json()
    assert response.status == 200, body
    assert body["totalCount"] == len(body["forms"])
    return {letters[item["handle"]] for item in body["forms"]}


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


# --------------------------------------------------------------------------------------------------------------
# Parsing (no database)


def test_a_filter_parses_into_groups_and_conditions():
    node = parse_filter(
        {
            "or": [
                {"and": [cond("name", "contains", "铝"), cond("emissionFactor", "lt", 5)]},
                cond("tags", "empty"),
            ]
        },
        FORM_FIELDS,
    )
    assert node == Group(
        "or",
        (
            Group(
                "and",
                (
                    Condition("name", "contains", "铝", Kind.TEXT),
                    Condition("emissionFactor", "lt", 5.0, Kind.NUMBER),
                ),
            ),
            Condition("tags", "empty", None, Kind.LIST),
        ),
    )
    assert parse_filter_text('{"field": "model", "op": "in", "value": ["a", "b"]}', FORM_FIELDS) == Condition(
        "model", "in", ("a", "b"), Kind.TEXT
    )
    assert all_of(MATCH_ALL, node) == node
    assert all_of(MATCH_ALL, MATCH_ALL) == MATCH_ALL
    assert len(OPERATORS) == 18  # the manual's 14 and lt, lte, gt, gte


@pytest.mark.parametrize(
    ("data", "pointer", "words"),
    [
        (cond("colour", "equals", "red"), "/field", "unknown field 'colour'"),
        (cond("name", "like", "x"), "/op", "unknown operator 'like'"),
        (
            {"or": [cond("name", "equals", "x"), {"and": [cond("nme", "equals", "x")]}]},
            "/or/1/and/0/field",
            "nme",
        ),
        (cond("emissionFactor", "contains", "1"), "/op", "contains does not apply to emissionFactor"),
        (cond("name", "lt", "b"), "/op", "lt does not apply to name"),
        (cond("public", "in", [True]), "/op", "in does not apply to public"),
        (cond("name", "equals"), "/value", "equals needs a value"),
        (cond("name", "empty", "x"), "/value", "empty takes no value"),
        (cond("name", "in", "x"), "/value", "non-empty list"),
        (cond("name", "in", []), "/value", "non-empty list"),
        (cond("name", "contains", ""), "/value", "non-empty string"),
        (cond("emissionFactor", "equals", "1"), "/value", "emissionFactor is a number"),
        (cond("emissionFactor", "in", [1, True]), "/value/1", "is a number"),
        (cond("validUntil", "lt", "2027"), "/value", "date YYYY-MM-DD"),
        (cond("public", "equals", "true"), "/value", "true or false"),
        (cond("name", "equals", 7), "/value", "compared with a string"),
        (cond("name", "equals", "x" * 201), "/value", "at most 200"),
        ({"field": "name", "op": "equals", "value": "x", "and": []}, "", "exactly one member"),
        ({"field": "name", "op": "equals", "value": "x", "extra": 1}, "/extra", "unknown member"),
        ({"and": cond("name", "null")}, "/and", "a list"),
        ([cond("name", "null")], "", "expected an object"),
    ],
)
def test_a_malformed_filter_is_refused_naming_what_is_wrong(data, pointer, words):
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(data, FORM_FIELDS)
    assert caught.value.pointer == pointer
    assert words in str(caught.value)


def test_filters_are_bounded_in_depth_and_size():
    deep: dict[str, Any] = cond("name", "null")
    for _ in range(MAX_DEPTH + 1):
        deep = {"and": [deep]}
    with pytest.raises(InvalidFilter, match="nest at most"):
        parse_filter(deep, FORM_FIELDS)
    # The deepest filter parse_filter accepts also passes the scan made on the text before parsing.
    deepest = deep["and"][0]
    parse_filter(deepest, FORM_FIELDS)
    assert parse_filter_text(json.dumps(deepest), FORM_FIELDS) == parse_filter(deepest, FORM_FIELDS)
    with pytest.raises(InvalidFilter, match="nested deeper"):
        parse_filter_text("[" * 4000 + "]" * 4000, FORM_FIELDS)
    with pytest.raises(InvalidFilter, match=f"at most {MAX_CONDITIONS} conditions"):
        parse_filter({"or": [cond("name", "null")] * (MAX_CONDITIONS + 1)}, FORM_FIELDS)
    with pytest.raises(InvalidFilter, match="not JSON"):
        parse_filter_text("{", FORM_FIELDS)
    with pytest.raises(InvalidFilter, match="not JSON"):
        parse_filter_text('{"field": "emissionFactor", "op": "equals", "value": NaN}', FORM_FIELDS)


# --------------------------------------------------------------------------------------------------------------
# Every operator, on the database


TEXT_CASES = [
    (cond("model", "equals", "ADC12"), {"B"}),
    (cond("model", "equals", "adc12"), set()),  # equals is exact
    (cond("model", "not_equals", "ADC12"), ALL - {"B"}),  # D has no model: it is not ADC12
    (cond("model", "in", ["ADC12", "Al99.70"]), {"A", "B"}),
    (cond("model", "not_in", ["ADC12", "Al99.70"]), {"C", "D", "E", "F"}),
    (cond("name", "starts_with", "a00"), {"A"}),  # matching ignores ASCII case
    (cond("name", "not_starts_with", "A00"), ALL - {"A"}),
    (cond("name", "contains", "铝"), {"A", "B"}),
    (cond("name", "not_contains", "铝"), {"C", "D", "E", "F"}),
    (cond("model", "ends_with", "se5"), {"E"}),
    (cond("model", "not_ends_with", "SE5"), ALL - {"E"}),
    (cond("model", "empty"), {"C", "D"}),  # C's model is "", D has none
    (cond("model", "not_empty"), {"A", "B", "E", "F"}),
    (cond("model", "null"), {"D"}),
    (cond("model", "not_null"), ALL - {"D"}),
    (cond("handle", "ends_with", "/PF.3"), {"C"}),
    (cond("state", "equals", "submitted"), {"B"}),
    (cond("state", "in", ["draft", "published"]), ALL - {"B"}),
    (cond("productType", "equals", "material-part-process"), ALL),
]
LIST_CASES = [
    (cond("tags", "equals", "铝"), {"A", "B"}),
    (cond("tags", "not_equals", "铝"), {"C", "D", "E", "F"}),  # no tag is 铝
    (cond("tags", "in", ["原材料", "铸件"]), {"A", "D"}),
    (cond("tags", "not_in", ["原材料"]), {"B", "C", "E", "F"}),
    (cond("tags", "starts_with", "原"), {"A", "D"}),
    (cond("tags", "not_starts_with", "原"), {"B", "C", "E", "F"}),
    (cond("tags", "contains", "材"), {"A", "D"}),
    (cond("tags", "not_contains", "材"), {"B", "C", "E", "F"}),
    (cond("tags", "ends_with", "料"), {"A", "D"}),
    (cond("tags", "not_ends_with", "料"), {"B", "C", "E", "F"}),
    (cond("tags", "empty"), {"C", "E", "F"}),
    (cond("tags", "not_empty"), {"A", "B", "D"}),
    (cond("tags", "null"), {"C", "E", "F"}),
    (cond("tags", "not_null"), {"A", "B", "D"}),
]
NUMBER_AND_DATE_CASES = [
    (cond("emissionFactor", "equals", 12.9), {"A"}),
    (cond("emissionFactor", "not_equals", 12.9), ALL - {"A"}),  # F (no factor) included
    (cond("emissionFactor", "in", [0.78, 1]), {"B", "E"}),
    (cond("emissionFactor", "not_in", [0.78, 1]), {"A", "C", "D", "F"}),
    (cond("emissionFactor", "gt", 3.08), {"A", "C"}),
    (cond("emissionFactor", "gte", 3.08), {"A", "C", "D"}),
    (cond("emissionFactor", "lt", 1), {"B"}),
    (cond("emissionFactor", "lte", 1), {"B", "E"}),
    (cond("emissionFactor", "null"), {"F"}),
    (cond("emissionFactor", "empty"), {"F"}),
    (cond("emissionFactor", "not_null"), ALL - {"F"}),
    (cond("emissionFactorUnit", "equals", "kgCO2e/kg"), ALL - {"F"}),
    (cond("validUntil", "lt", "2027-01-01"), {"C"}),
    (cond("validUntil", "gte", "2027-06-30"), {"A", "D", "E"}),
    (cond("validUntil", "starts_with", "2027"), {"A", "E"}),
    (cond("validUntil", "null"), {"B", "F"}),
    (cond("validUntil", "not_empty"), {"A", "C", "D", "E"}),
    (cond("periodStart", "equals", "2025-01-01"), ALL),
    (cond("public", "equals", True), {"E"}),
    (cond("public", "not_equals", True), ALL - {"E"}),
    (cond("public", "not_null"), ALL),
    (cond("partCodes", "equals", "CUST-001"), {"E"}),
    (cond("partCodes", "empty"), ALL - {"E"}),
    (cond("customers", "in", ["88.186.7"]), {"E"}),
    (cond("publishedVersion", "equals", 1), {"E"}),
    (cond("createdAt", "gte", "2000-01-01"), ALL),
]
NESTED_CASES = [
    # (name contains 铝 AND model = ADC12) OR tags = 原材料 → B, and A and D.
    ({"or": [{"and": [cond("name", "contains", "铝"), cond("model", "equals", "ADC12")]}, cond("tags", "equals", "原材料")]}, {"A", "B", "D"}),
    # (factor < 5 OR factor null) AND (tags empty OR model ends with 5)
    (
        {"and": [{"or": [cond("emissionFactor", "lt", 5), cond("emissionFactor", "null")]},
                 {"or": [cond("tags", "empty"), cond("model", "ends_with", "5")]}]},
        {"E", "F"},
    ),
    ({"or": [{"or": [{"and": [cond("name", "starts_with", "再生")]}]}, {"and": [{"and": [cond("state", "equals", "published")]}]}]}, {"B", "E"}),
    ({"and": []}, ALL),
    ({"or": []}, set()),
    ({"and": [cond("tags", "equals", "铝"), {"or": []}]}, set()),
]  # fmt: skip


async def published_and_sent(client, letters: dict[str, str]) -> None:
    """Publish E (approved by a reviewer) and send it to 88.186.7 with part code CUST-001."""
    handle = next(h for h, letter in letters.items() if letter == "E")
    assert (await client.post(f"/api/forms/{handle}/submit", headers=ADMIN)).status == 200
    await add_reviewer(client.app[NODE_KEY], "carol", "s")
    reviewer = {"Authorization": "Basic " + base64.b64encode(b"reviewer:carol:s").decode()}
    assert (await client.post(f"/api/forms/{handle}/approve", headers=reviewer)).status == 200
    assert (await client.post(f"/api/forms/{handle}/publish", headers=ADMIN)).status == 200
    sent = await client.post(
        f"/api/forms/{handle}/send", json={"prefix": "88.186.7", "partCode": "CUST-001"}, headers=ADMIN
    )
    assert sent.status == 201


async def test_every_operator_on_text_list_number_date_and_boolean_fields(client, forms):
    await published_and_sent(client, forms)
    for node, expected in [*TEXT_CASES, *LIST_CASES, *NUMBER_AND_DATE_CASES]:
        assert await matched(client, forms, node) == expected, node


async def test_nested_and_or_groups(client, forms):
    await published_and_sent(client, forms)
    for node, expected in NESTED_CASES:
        assert await matched(client, forms, node) == expected, node


async def test_simple_filters_join_the_advanced_one_and_search_takes_the_filter_in_the_body(client, forms):
    await published_and_sent(client, forms)
    assert await matched(client, forms, {"and": []}, q="al99") == {"A"}  # model, ASCII case ignored
    assert await matched(client, forms, {"and": []}, q="铝") == {"A", "B"}  # name
    assert await matched(client, forms, {"and": []}, q="PF.6") == {"F"}  # handle
    assert await matched(client, forms, cond("name", "contains", "铝"), state="submitted") == {"B"}
    assert await matched(client, forms, {"and": []}, tag="原材料") == {"A", "D"}
    node = NESTED_CASES[0][0]
    response = await client.post("/api/forms/search", json={"filter": node, "pageSize": 2}, headers=ADMIN)
    body = await response.json()
    assert (body["totalCount"], body["pageSize"], len(body["forms"])) == (3, 2, 2)
    second = await (
        await client.post("/api/forms/search", json={"filter": node, "page": 1, "pageSize": 2}, headers=ADMIN)
    ).json()
    assert {forms[item["handle"]] for item in body["forms"] + second["forms"]} == {"A", "B", "D"}


async def test_values_are_data_never_sql(client, forms):
    for value in ("x' OR '1'='1", "'; DROP TABLE node_forms; --", "%", "_", "/", "\\"):
        expected = {"D"} if value in ("%", "_") else set()
        assert await matched(client, forms, cond("name", "contains", value)) == expected, value
        assert await matched(client, forms, cond("name", "equals", value)) == set(), value
    assert await matched(client, forms, cond("name", "contains", "50%_")) == {"D"}
    assert await matched(client, forms, cond("name", "starts_with", "%")) == set()
    assert await matched(client, forms, cond("name", "ends_with", "_off")) == {"D"}
    assert len(await matched(client, forms, {"and": []})) == 6  # the table is still there


async def test_a_bad_filter_is_a_400_naming_the_field_or_operator(client, forms):
    for node, words, pointer in [
        (cond("colour", "equals", "x"), "unknown field 'colour'", "/field"),
        ({"or": [cond("name", "resembles", "x")]}, "unknown operator 'resembles'", "/or/0/op"),
    ]:
        response = await client.get("/api/forms", headers=ADMIN, params={"filter": json.dumps(node)})
        body = await response.json()
        assert response.status == 400
        assert body["type"] == "https://carbonid.org/problems/invalid-filter"
        assert (body["pointer"], body["parameter"]) == (pointer, "filter")
        assert words in body["detail"]
    for params in ({"filter": "{not json"}, {"state": "archived"}, {"format": "xml"}, {"pageSize": "0"}):
        assert (await client.get("/api/forms", headers=ADMIN, params=params)).status == 400, params
    search = await client.post("/api/forms/search", json={"filter": cond("x", "equals", "y")}, headers=ADMIN)
    assert search.status == 400
    assert (await client.post("/api/forms/search", json={"where": {}}, headers=ADMIN)).status == 400
    assert (await client.post("/api/forms/search", json={"page": -1}, headers=ADMIN)).status == 400


def cell(value: Any) -> str:
    """How the CSV writes a JSON value of a listing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


async def test_the_csv_export_equals_the_json_list(client, forms):
    await published_and_sent(client, forms)
    node = {"or": [cond("tags", "not_empty"), cond("public", "equals", True)]}
    listing = await (
        await client.get("/api/forms", headers=ADMIN, params={"filter": json.dumps(node)})
    ).json()
    response = await client.get(
        "/api/forms", headers=ADMIN, params={"filter": json.dumps(node), "format": "csv"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="forms.csv"'
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM, so Excel reads UTF-8
    text = raw.decode("utf-8")[1:]
    assert text.endswith("\r\n")
    assert "\r\n" in text
    assert "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(FORM_FIELDS)
    assert rows[1:] == [[cell(item[field]) for field in FORM_FIELDS] for item in listing["forms"]]
    assert len(rows) == 1 + 4  # A, B, D by tags, E public


async def test_csv_quotes_what_needs_quoting_and_defuses_formulas(client):
    await publish(client, example("enterprise-profile/1"), template="enterprise-profile/1")
    spec = {"name": '=HYPERLINK("x"),"引号"', "model": "a,b", "tags": ["x; y", "z"], "q": 1}
    assert (await client.post("/api/forms", json={"document": document(spec)}, headers=ADMIN)).status == 201
    response = await client.get("/api/forms", headers=ADMIN, params={"format": "csv"})
    text = (await response.read()).decode("utf-8")
    assert '"\'=HYPERLINK(""x""),""引号""","a,b"' in text
    row = list(csv.reader(io.StringIO(text[1:], newline="")))[1]
    assert row[2] == "'" + spec["name"]
    assert row[3] == "a,b"
