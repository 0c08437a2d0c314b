"""Fuzz an enterprise node against its own OpenAPI document: anonymous, as its administrator (with PACT
client credentials, a PACT token and a form reviewer), and as a federation peer presenting its client
certificate.

The node is the demo's auto-parts supplier: a public profile and product records, private monthly activity
data granted to the resolver's prefix, and (made here) two product forms, one a draft and one submitted.
The fuzzer draws those real handles for half of its path parameters, so the routes behind the lookups run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import requests

from carbonid.provisioning import wanted_records
from metadata_templates import default_catalog
from node.reviewers import add_reviewer
from node.runtime import open_node
from tests.fuzz.support import (
    RunningFederation,
    assert_as_documented,
    basic,
    fuzz,
    fuzz_config,
    load_schema,
)

REVIEWER = "fuzz"
REVIEWER_SECRET = "fuzz reviewer secret"


@dataclass
class NodeData:
    """What the fuzzer knows of the node: real handles and credentials."""

    handles: list[str]
    private: str
    """A private record granted to the resolver's prefix (88.100.9)."""
    forms: list[str]
    token: str


async def _prepare(running: RunningFederation) -> NodeData:
    node = running.node
    async with open_node(node.settings) as ctx:
        await add_reviewer(ctx, REVIEWER, REVIEWER_SECRET)
    admin = {"Authorization": basic(f"300:{node.admin_handle}", node.admin_secret)}
    document = copy.deepcopy(default_catalog().resolve("product-footprint/1").example_document())
    document.pop("handle", None)
    forms = []
    connector = aiohttp.TCPConnector(ssl=running.federation.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        for submit in (False, True):
            async with session.post(
                f"{node.url}/api/forms", json={"document": document}, headers=admin
            ) as made:
                assert made.status == 201, await made.text()
                handle = (await made.json())["handle"]
            if submit:
                async with session.post(f"{node.url}/api/forms/{handle}/submit", headers=admin) as step:
                    assert step.status == 200, await step.text()
            forms.append(handle)
        client = {"Authorization": basic(node.pact["clientId"], node.pact["clientSecret"])}
        async with session.post(
            f"{node.url}/auth/token", data={"grant_type": "client_credentials"}, headers=client
        ) as issued:
            assert issued.status == 200, await issued.text()
            token = (await issued.json())["access_token"]
    records = wanted_records(node)
    handles = [f"{node.prefix}/{suffix}" for suffix, *_ in records]
    private = next(
        f"{node.prefix}/{suffix}" for suffix, _, _, visibility, _ in records if visibility == "private"
    )
    return NodeData(handles=handles, private=private, forms=forms, token=token)


@pytest.fixture(scope="module")
def node_data(fuzz_federation: RunningFederation) -> NodeData:
    """The node's handles, two forms and a PACT token."""
    return fuzz_federation.run(_prepare(fuzz_federation))


# The administrator last: its run may delete or replace the records the peer reads.
@pytest.mark.parametrize("caller", ["anonymous", "peer", "administrator"])
def test_the_node_answers_as_documented(
    caller: str, fuzz_federation: RunningFederation, node_data: NodeData
) -> None:
    """No 5xx; status, content type and body as the node's document says."""
    node = fuzz_federation.node
    federation = fuzz_federation.federation
    options: dict[str, Any] = {}
    if caller == "administrator":
        options["auth"] = {
            "handleAdmin": {"username": f"300%3A{node.admin_handle}", "password": node.admin_secret},
            "formReviewer": {"username": "reviewer", "password": f"{REVIEWER}:{REVIEWER_SECRET}"},
            "pactClient": {"username": node.pact["clientId"], "password": node.pact["clientSecret"]},
            "pactBearer": {"bearer": node_data.token},
        }
    if caller == "peer":  # the resolver's certificate: 88.100.9, granted the node's activity data
        settings = federation.resolver.settings
        assert settings.client_certificate is not None
        assert settings.client_key is not None
        options["client_certificate"] = (settings.client_certificate, settings.client_key)
        private = f"{node.url}/api/records/{node_data.private}"
        assert requests.get(private, verify=federation.ca_file, timeout=30).status_code == 404
        certificate = (str(settings.client_certificate), str(settings.client_key))
        assert (
            requests.get(private, verify=federation.ca_file, cert=certificate, timeout=30).status_code == 200
        )
    handles = node_data.handles + node_data.forms
    config = fuzz_config(
        tls_verify=federation.ca_file,
        dictionaries={
            "handles": handles,
            "forms": node_data.forms,
            "prefixes": ["88.100.9", "88.136.1", "88.186.1"],
            "ids": ["00000000-0000-4000-8000-000000000000"],
        },
        parameters={
            "path.handle": {"dictionary": "handles", "probability": 0.5},
            "path.prefix": {"dictionary": "prefixes", "probability": 0.5},
            "query.prefix": {"dictionary": "prefixes", "probability": 0.3},
        },
        **options,
    )
    schema = load_schema(node.url, config, verify=federation.ca_file)
    report = fuzz(schema)
    print(f"node, {caller}: {report.summary()}")
    assert_as_documented(report, schema)
    for operation in ("GET /api/forms", "POST /api/records", "GET /api/records/{handle}/grants"):
        assert report.only_refused(operation) == (caller != "administrator"), (
            operation,
            report.statuses[operation],
        )
    assert report.answered("GET /2/footprints", 200) == (caller == "administrator")  # the PACT token works
