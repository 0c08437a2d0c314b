"""What the fuzzers found, pinned one request each, on the same running federation.

Each test names the request that used to go wrong and what it got: a 500, an answer in the wrong shape, or
an answer the service's OpenAPI document did not describe.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests

from common.errors import PROBLEM_CONTENT_TYPE
from tests.fuzz.support import RunningFederation, basic

TIMEOUT = 30


def _get(url: str, running: RunningFederation, **kwargs: Any) -> requests.Response:
    return requests.get(url, verify=running.federation.ca_file, timeout=TIMEOUT, **kwargs)


def _urls(running: RunningFederation) -> dict[str, str]:
    federation = running.federation
    return {
        "registry": federation.registry("root").url,
        "node": running.node.url,
        "resolver": federation.resolver.url,
    }


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("registry", "/api/handles/0.NA%2F88.186%0A"),
        ("node", "/api/handles/88.186.2%2FPRO%0AFILE"),
        ("node", "/api/handles/%0A"),
        ("resolver", "/api/handles/88.186.2%2FPRO%0AFILE"),
    ],
)
def test_a_line_break_in_a_handle_is_an_invalid_handle_in_handle_json(
    fuzz_federation: RunningFederation, service: str, path: str
) -> None:
    """It used to miss the route (`.` does not match a line break): a 404 problem, not Handle JSON."""
    response = _get(_urls(fuzz_federation)[service] + path, fuzz_federation)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["responseCode"] == 102


def test_the_node_refuses_writes_to_a_handle_with_a_line_break_in_handle_json(
    fuzz_federation: RunningFederation,
) -> None:
    node = fuzz_federation.node
    admin = {"Authorization": basic(f"300:{node.admin_handle}", node.admin_secret)}
    url = f"{node.url}/api/handles/88.186.2%2FFUZZ%0A1"
    ca = fuzz_federation.federation.ca_file
    for method, body in (("PUT", []), ("DELETE", None)):
        response = requests.request(method, url, json=body, headers=admin, verify=ca, timeout=TIMEOUT)
        assert (response.status_code, response.json()["responseCode"]) == (400, 102), method


@pytest.mark.parametrize("service", ["registry", "node", "resolver"])
def test_the_servers_own_answer_to_an_overlong_request_line_is_documented(
    fuzz_federation: RunningFederation, service: str
) -> None:
    """aiohttp refuses a request line over 8190 bytes itself, in text/plain; every operation says so."""
    base = _urls(fuzz_federation)[service]
    response = _get(f"{base}/api/handles/88/{'x' * 9000}", fuzz_federation)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    document = _get(f"{base}/openapi.json", fuzz_federation).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert "text/plain" in operation["responses"]["400"]["content"], (method, path)


def test_a_timestamp_before_year_1_in_utc_is_refused_not_a_crash(fuzz_federation: RunningFederation) -> None:
    """0001-01-01T00:00:00+01:00 is a valid date and time, an hour before year 1 in UTC: it was a 500."""
    node = fuzz_federation.node
    admin = {"Authorization": basic(f"300:{node.admin_handle}", node.admin_secret)}
    value = {
        "index": 1,
        "type": "URL",
        "data": "https://example.org",
        "timestamp": "0001-01-01T00:00:00+01:00",
    }
    url = f"{node.url}/api/handles/{node.prefix}/FUZZ.TIMESTAMP"
    ca = fuzz_federation.federation.ca_file
    response = requests.put(url, json={"values": [value]}, headers=admin, verify=ca, timeout=TIMEOUT)
    assert (response.status_code, response.json()["responseCode"]) == (400, 4)
    assert "outside years 1..9999" in response.json()["message"]
    assert _get(url, fuzz_federation).status_code == 404


def test_an_offset_beyond_64_bits_is_a_bad_request(fuzz_federation: RunningFederation) -> None:
    """It reached the database, which cannot bind it: a 500."""
    resolver = fuzz_federation.federation.resolver.url
    response = _get(f"{resolver}/api/evaluations?offset={2**70}", fuzz_federation)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith(PROBLEM_CONTENT_TYPE)
    assert _get(f"{resolver}/api/evaluations?offset={2**31 - 1}", fuzz_federation).status_code == 200


@pytest.mark.parametrize("code", ["330522", "000000"])
def test_regional_reports_with_suppressed_cells_and_counties_match_the_document(
    fuzz_federation: RunningFederation, code: str
) -> None:
    """A suppressed cell has null grade counts and a county has no child level; the document said neither."""
    resolver = fuzz_federation.federation.resolver.url
    query = "" if code == "330522" else "?level=county&period=2025H1"
    body = _get(f"{resolver}/api/regions/{code}/efficiency{query}", fuzz_federation).json()
    document = _get(f"{resolver}/openapi.json", fuzz_federation).json()
    schema = {"$ref": "#/components/schemas/RegionalReport", "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)
    if code == "330522":
        assert body["childLevel"] is None
    else:
        assert any(child["suppressed"] and child["gradeCounts"]["1"] is None for child in body["children"]), (
            body
        )


@pytest.mark.parametrize("path", ["/api/evaluations", "/api/rollups"])
def test_the_operators_wrong_content_type_is_a_documented_415(
    fuzz_federation: RunningFederation, path: str
) -> None:
    resolver = fuzz_federation.federation.resolver
    url = resolver.url + path
    operator = {"Authorization": basic("demo", resolver.operator_secret), "Content-Type": "text/plain"}
    response = requests.post(url, data="{}", headers=operator, timeout=TIMEOUT)
    assert response.status_code == 415
    document = _get(f"{resolver.url}/openapi.json", fuzz_federation).json()
    assert "415" in document["paths"][path]["post"]["responses"]
