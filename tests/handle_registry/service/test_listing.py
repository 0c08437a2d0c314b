"""Listings: prefixes by status, region (GB/T 2260 hierarchy), industry (GB/T 4754 prefix), pages; Handle lists."""

from __future__ import annotations

import pytest

from tests.handle_registry.service.support import enterprise

# prefix, region, industry, final status
COMPANIES = [
    ("88.1.1", "330522", "C3216", "approved"),  # Changxing, Huzhou, Zhejiang: aluminium smelting
    ("88.1.2", "330212", "C3011", "approved"),  # Yinzhou, Ningbo, Zhejiang: cement
    ("88.1.3", "320102", "D4411", "approved"),  # Xuanwu, Nanjing, Jiangsu: thermal power
    ("88.1.4", "330102", "C3216", "pending"),  # Shangcheng, Hangzhou, Zhejiang
    ("88.1.5", "330502", "3216", "suspended"),  # Wuxing, Huzhou; industry written in digits
]


@pytest.fixture
async def populated(registry):
    for prefix, region, industry, status in COMPANIES:
        company = enterprise(prefix, region=region, industry=industry)
        if status == "pending":
            assert (await registry.apply(company)).status == 201
            continue
        await registry.register(company)
        if status == "suspended":
            response = await registry.client.post(
                f"/api/prefixes/{prefix}/suspend", json={"reason": "audit"}, headers=registry.admin
            )
            assert response.status == 200
    return registry


async def listed(registry, admin=False, **params) -> list[str]:
    response = await registry.client.get(
        "/api/prefixes", params=params, headers=registry.admin if admin else {}
    )
    assert response.status == 200, await response.text()
    return [entry["prefix"] for entry in (await response.json())["prefixes"]]


async def test_filters(populated):
    registry = populated
    assert await listed(registry) == ["88.1.1", "88.1.2", "88.1.3", "88.1.5"]
    assert await listed(registry, admin=True) == ["88.1.1", "88.1.2", "88.1.3", "88.1.4", "88.1.5"]
    assert await listed(registry, region="330000") == ["88.1.1", "88.1.2", "88.1.5"]
    assert await listed(registry, admin=True, region="330000") == ["88.1.1", "88.1.2", "88.1.4", "88.1.5"]
    assert await listed(registry, region="330500") == ["88.1.1", "88.1.5"]
    assert await listed(registry, region="330522") == ["88.1.1"]
    assert await listed(registry, region="320000") == ["88.1.3"]
    assert await listed(registry, industry="C") == ["88.1.1", "88.1.2", "88.1.5"]
    assert await listed(registry, industry="C32") == ["88.1.1", "88.1.5"]
    assert await listed(registry, industry="3216") == ["88.1.1", "88.1.5"]
    assert await listed(registry, industry="D44") == ["88.1.3"]
    assert await listed(registry, region="330000", industry="C30") == ["88.1.2"]
    assert await listed(registry, status="suspended") == ["88.1.5"]
    assert await listed(registry, status="pending") == []
    assert await listed(registry, admin=True, status="pending") == ["88.1.4"]
    assert await listed(registry, kind="registry") == []
    # Well-formed codes the tables do not know select nothing.
    assert await listed(registry, region="999999") == []
    assert await listed(registry, industry="C99") == []
    summary = (await (await registry.client.get("/api/prefixes", params={"region": "330522"})).json())[
        "prefixes"
    ][0]
    assert summary["enterpriseName"] == "长兴示范铝业有限公司"
    assert (summary["region"], summary["industry"], summary["kind"]) == ("330522", "C3216", "enterprise")


async def test_pages(populated):
    registry = populated
    first = await (await registry.client.get("/api/prefixes", params={"pageSize": "2"})).json()
    assert (
        [p["prefix"] for p in first["prefixes"]],
        first["totalCount"],
        first["page"],
        first["pageSize"],
    ) == (
        ["88.1.1", "88.1.2"],
        4,
        1,
        2,
    )
    assert await listed(registry, pageSize="2", page="2") == ["88.1.3", "88.1.5"]
    assert await listed(registry, pageSize="2", page="3") == []
    default = await (await registry.client.get("/api/prefixes")).json()
    assert default["pageSize"] == 50


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"kind": "node"},
        {"region": "000000"},
        {"region": "3305"},
        {"industry": "Z9"},
        {"page": "0"},
        {"page": "x"},
        {"pageSize": "501"},
        {"pageSize": "0"},
    ],
)
async def test_bad_parameters(registry, params):
    response = await registry.client.get("/api/prefixes", params=params)
    assert response.status == 400
    assert (await response.json())["type"] == "https://carbonid.org/problems/invalid-parameter"


async def test_handle_listing(populated):
    client = populated.client
    body = await (await client.get("/api/handles", params={"prefix": "0.NA"})).json()
    assert body == {
        "responseCode": 1,
        "prefix": "0.NA",
        "totalCount": "3",
        "handles": ["0.NA/88.1.1", "0.NA/88.1.2", "0.NA/88.1.3"],
    }
    paged = await (
        await client.get("/api/handles", params={"prefix": "0.NA", "page": "1", "pageSize": "2"})
    ).json()
    assert (paged["handles"], paged["page"], paged["pageSize"], paged["totalCount"]) == (
        ["0.NA/88.1.3"],
        1,
        2,
        "3",
    )
    counted = await (
        await client.get("/api/handles", params={"prefix": "0.na/0.NA", "page": "0", "pageSize": "0"})
    ).json()
    assert (counted["handles"], counted["totalCount"], counted["prefix"]) == ([], "3", "0.na/0.NA")
    other = await (await client.get("/api/handles", params={"prefix": "88"})).json()
    assert (other["responseCode"], other["totalCount"], other["handles"]) == (1, "0", [])
    missing = await client.get("/api/handles")
    assert missing.status == 400
    assert (await missing.json())["responseCode"] == 102
    bad = await client.get("/api/handles", params={"prefix": "0.NA", "page": "x"})
    assert bad.status == 400
    assert (await bad.json())["responseCode"] == 4
