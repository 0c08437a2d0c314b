"""Fuzz the resolver against its own OpenAPI document: anonymous, and as its operator and its regulator.

The resolver has indexed every activity record of the demo federation and issued each node's 2025
certificate; the fuzzer draws real handles (profiles, private activity data, certificates), region codes,
periods and the status list for part of its parameters, so resolution, verification, certificate pages and
regional queries run on real data, not only on refusals.
"""

from __future__ import annotations

import pytest

from carbonid.federation import OPERATOR_NAME, REGULATOR_NAME
from tests.fuzz.support import (
    RunningFederation,
    assert_as_documented,
    fuzz,
    fuzz_config,
    load_schema,
)

PERIOD = "2025"


@pytest.mark.parametrize("caller", ["anonymous", "operator", "regulator"])
def test_the_resolver_answers_as_documented(caller: str, fuzz_federation: RunningFederation) -> None:
    """No 5xx; status, content type and body as the resolver's document says."""
    federation = fuzz_federation.federation
    resolver = federation.resolver
    auth = {}
    if caller == "operator":
        auth["operatorBasic"] = {"username": OPERATOR_NAME, "password": resolver.operator_secret}
    if caller == "regulator":
        auth["regulatorBasic"] = {"username": REGULATOR_NAME, "password": resolver.regulator_secret}
    prefixes = [node.prefix for node in federation.nodes]
    certificates = [f"{resolver.prefix}/CERT.{prefix}.{PERIOD}" for prefix in prefixes]
    handles = [f"{prefix}/PROFILE" for prefix in prefixes]
    handles += [f"{prefix}/ACT.{PERIOD}-0{month}" for prefix in prefixes for month in (1, 6)]
    handles += ["0.NA/88.186", "88.186/x", *certificates]
    config = fuzz_config(
        auth=auth,
        dictionaries={
            "handles": handles,
            "certificates": certificates,
            "prefixes": prefixes,
            "regions": ["000000", "330000", "330500", "330522", "130000", "340000"],
            "periods": [PERIOD, f"{PERIOD}-03", f"{PERIOD}Q2", f"{PERIOD}H1"],
            "industries": ["C", "C32", "C3216", "C36"],
            "lists": ["1"],
        },
        parameters={
            "path.handle": {"dictionary": "handles", "probability": 0.5},
            "query.prefix": {"dictionary": "prefixes", "probability": 0.5},
            "path.code": {"dictionary": "regions", "probability": 0.5},
            "query.period": {"dictionary": "periods", "probability": 0.5},
            "query.industry": {"dictionary": "industries", "probability": 0.3},
            "path.list": {"dictionary": "lists", "probability": 0.5},
        },
        operations=[
            {  # a resolver does not list handles: Handle code 5, which the Handle server answers with 501
                "include-path-regex": "^/api/handles",
                "include-method": "GET",
                "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "501"]}},
            }
        ],
    )
    schema = load_schema(resolver.url, config)
    report = fuzz(schema)
    print(f"resolver, {caller}: {report.summary()}")
    assert_as_documented(report, schema)
    for operation in ("POST /api/evaluations", "POST /api/evaluations/{handle}/revoke", "POST /api/rollups"):
        assert report.only_refused(operation) == (caller != "operator"), (
            operation,
            report.statuses[operation],
        )
    # The regulator's region (330000) is all it may see in full; the public is never refused.
    assert report.answered("GET /api/regions/{code}/efficiency", 403) == (caller == "regulator")
