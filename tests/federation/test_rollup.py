"""A cradle-to-gate roll-up across three nodes of the demo federation, through the resolver's own credentials:
raw material (smelter 88.186.1) → part (supplier 88.186.2, PRIVATE, granted) → vehicle component (car maker
88.136.1), with one supplier form that was never published falling back to a flagged default; and a supplier
cycle refused with its path."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from carbonid.demo_products import product_forms
from carbonid.federation import OPERATOR_NAME, Federation, running_federation
from tests.carbonid.test_demo import basic, free_base_port


@pytest.fixture
async def federation(tmp_path: Path) -> AsyncIterator[Federation]:
    async with running_federation(tmp_path / "federation", free_base_port()) as running:
        yield running


def _operator(federation: Federation) -> dict[str, str]:
    token = base64.b64encode(f"{OPERATOR_NAME}:{federation.resolver.operator_secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def _rollup(federation: Federation, handle: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{federation.resolver.url}/api/rollups",
            json={"handle": handle, **extra},
            headers=_operator(federation),
        ) as response,
    ):
        return response.status, await response.json()


def _supplier(node: dict[str, Any], handle: str) -> dict[str, Any]:
    return next(link for link in node["suppliers"] if link.get("supplierHandle") == handle)


async def test_a_three_tier_rollup_reads_a_granted_part_and_falls_back_for_a_missing_one(federation):
    status, body = await _rollup(federation, "88.136.1/PF.1")
    assert status == 200, body
    root = body["tree"]
    assert root["handle"] == "88.136.1/PF.1"

    knuckle = _supplier(root, "88.186.2/PF.1")
    assert knuckle["origin"] == "supplier"
    part = knuckle["supplier"]
    assert (part["access"], part["grantedTo"]) == ("granted", "88.100.9")  # private, read through its grant
    ingot = _supplier(part, "88.186.1/PF.1")["supplier"]
    assert ingot["access"] == "public"
    assert ingot["suppliers"] == [] or all(link["origin"] != "supplier" for link in ingot["suppliers"])

    # Each tier: total = own inventory + Σ quantity × supplier factor.
    for node in (root, part, ingot):
        assert node["totalKgCo2e"] == pytest.approx(node["ownKgCo2e"] + node["suppliersKgCo2e"], rel=1e-12)
    assert knuckle["emissionsKgCo2e"] == pytest.approx(2 * part["totalKgCo2e"], rel=1e-12)
    ingot_line = _supplier(part, "88.186.1/PF.1")
    assert ingot_line["emissionsKgCo2e"] == pytest.approx(3.4 * ingot["totalKgCo2e"], rel=1e-12)

    # The bolts' supplier form was never published: a flagged default, and the data quality pays for it.
    bolts = _supplier(root, "88.131.1/PF.9")
    assert bolts["origin"] == "default"
    assert "88.131.1/PF.9" in bolts["fallback"]
    assert [fallback["supplierHandle"] for fallback in body["fallbacks"]] == ["88.131.1/PF.9"]
    assert body["dataQuality"]["penalty"] == 1
    assert body["dataQuality"]["dqr"] > sum(body["dataQuality"]["stated"].values()) / 4

    # The published factor of the car maker's form is what the roll-up computes.
    published = next(form for form in product_forms() if form.handle == "88.136.1/PF.1")
    assert body["totalKgCo2e"] == pytest.approx(published.document["emissionFactor"]["value"], abs=1e-3)


async def test_a_supplier_cycle_is_refused_with_its_path(federation):
    smelter = next(node for node in federation.nodes if node.prefix == "88.186.1")
    forms = {form.handle: form for form in product_forms()}
    headers = basic(f"300:{smelter.admin_handle}", smelter.admin_secret)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=federation.client_ssl_context())
    ) as session:
        for suffix, other in (("PF.CYCLE-A", "PF.CYCLE-B"), ("PF.CYCLE-B", "PF.CYCLE-A")):
            document = dict(forms["88.186.1/PF.2"].document)
            inventory = dict(document["inventory"])
            inventory["materials"] = [
                {
                    "name": "回炉料",
                    "quantity": 0.1,
                    "unit": "kg",
                    "supplierHandle": f"88.186.1/{other}",
                    "emissionFactor": {"value": 2.0, "unit": "kgCO2e/kg", "source": "test"},
                }
            ]
            document["inventory"] = inventory
            request = {"template": "product-footprint/1", "document": document, "suffix": suffix}
            async with session.post(f"{smelter.url}/api/records", json=request, headers=headers) as response:
                assert response.status == 201, await response.text()
    status, body = await _rollup(federation, "88.186.1/PF.CYCLE-A")
    assert status == 422, body
    assert "cycle" in body["detail"]
    assert "88.186.1/PF.CYCLE-A → 88.186.1/PF.CYCLE-B → 88.186.1/PF.CYCLE-A" in body["detail"]


async def test_only_operators_may_ask_for_a_rollup(federation):
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{federation.resolver.url}/api/rollups", json={"handle": "88.136.1/PF.1"}) as response,
    ):
        assert response.status == 401
