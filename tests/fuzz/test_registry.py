"""Fuzz the root registry against its own OpenAPI document: anonymous, and as its administrator.

The root registry serves 88, has delegated 88.186 to the industry registry and approved two enterprises
directly; the fuzzer also draws those real prefixes and handles so that the routes behind the lookups run.
"""

from __future__ import annotations

import pytest

from tests.fuzz.support import RunningFederation, assert_as_documented, basic, fuzz, fuzz_config, load_schema


@pytest.mark.parametrize("caller", ["anonymous", "administrator"])
def test_the_registry_answers_as_documented(caller: str, fuzz_federation: RunningFederation) -> None:
    """No 5xx; status, content type and body as the registry's document says."""
    registry = fuzz_federation.federation.registry("root")
    headers = {}
    if caller == "administrator":
        assert registry.admin_name is not None
        assert registry.admin_secret is not None
        headers["Authorization"] = basic(registry.admin_name, registry.admin_secret)
    prefixes = [node.prefix for node in fuzz_federation.federation.nodes if node.spec.registry == "root"]
    prefixes += ["88.186", "88.186.1", "88.999.7"]
    config = fuzz_config(
        headers=headers,
        dictionaries={
            "prefixes": prefixes,
            "handles": [f"0.NA/{prefix}" for prefix in prefixes] + ["88.186.2", "0.NA/88.186.2"],
            "templates": ["enterprise-profile", "prefix-record", "activity-data"],
        },
        parameters={
            "path.prefix": {"dictionary": "prefixes", "probability": 0.5},
            "path.handle": {"dictionary": "handles", "probability": 0.5},
            "path.id": {"dictionary": "templates", "probability": 0.5},
        },
    )
    schema = load_schema(registry.url, config)
    report = fuzz(schema)
    print(f"registry, {caller}: {report.summary()}")
    assert_as_documented(report, schema)
    administrators_only = [op for op in report.operations if op.startswith("POST /api/prefixes/{prefix}/")]
    administrators_only += ["POST /api/delegations"]
    administrators_only.remove("POST /api/prefixes/{prefix}/keys")  # signed by the prefix's key instead
    for operation in administrators_only:
        assert report.only_refused(operation) == (caller == "anonymous"), (
            operation,
            report.statuses[operation],
        )
