"""The regional routes on a real resolver: who sees what (public aggregates, regulators within their scope at
every level), the figures against hand sums, CSV against JSON, the dashboard and its errors.

The index rows are written straight into the resolver's store: ingestion (notifications, sync) has its own
tests in test_index_ingest.py; here the rows are the fixture.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from resolver.keys import CERTIFICATES_KEY
from resolver.regulators import ensure_regulator
from tests.resolver.conftest import Federation, Resolver, basic

# (prefix, county, division, monthly net tCO2, monthly added value 10^4 CNY)
ENTERPRISES = [
    ("88.1.1", "330522", "C32", 100.0, 10.0),  # Huzhou, Changxing
    ("88.1.2", "330522", "C32", 50.0, 20.0),
    ("88.1.3", "330522", "C36", 10.0, 40.0),
    ("88.1.4", "330502", "C32", 30.0, 5.0),  # Huzhou, Wuxing
    ("88.1.5", "330106", "C36", 20.0, 50.0),  # Hangzhou, Xihu
    ("88.1.6", "320583", "C31", 300.0, 60.0),  # Suzhou, Kunshan (Jiangsu)
]
SECRET = "regulator secret"
SCOPES = {
    "nation": "000000",
    "zhejiang": "330000",
    "huzhou": "330500",
    "changxing": "330522",
    "suzhou": "320500",
}


async def _seed(resolver: Resolver) -> None:
    store = resolver.app[CERTIFICATES_KEY].store
    now = "2026-01-05T00:00:00Z"
    async with store.index(write=True) as db:
        for prefix, county, division, emissions, added in ENTERPRISES:
            for month in range(1, 13):
                handle = f"{prefix}/ACT.2025-{month:02d}"
                await db.upsert_row(
                    {
                        "handle": handle,
                        "handle_key": handle.upper(),
                        "prefix": prefix,
                        "prefix_key": prefix.upper(),
                        "region": county,
                        "industry": division + "10",
                        "period": f"2025-{month:02d}",
                        "granularity": "month",
                        "month_start": 2025 * 12 + month - 1,
                        "months": 1,
                        "net_emissions_t": emissions,
                        "gross_emissions_t": emissions,
                        "added_value_10k_cny": added,
                        "energy_coal_gj": emissions * 10,
                        "energy_oil_gj": 0.0,
                        "energy_gas_gj": 0.0,
                        "energy_electricity_gj": emissions * 30,
                        "energy_heat_gj": 0.0,
                        "energy_other_gj": 0.0,
                        "neutrality_offsets_t": 0.0,
                        "version": 1,
                        "digest": "0" * 64,
                        "indexed_at": now,
                    }
                )
    for name, scope in SCOPES.items():
        await ensure_regulator(store, name, SECRET, scope, at=datetime(2026, 1, 5, tzinfo=UTC))


@pytest.fixture
async def resolver(federation: Federation) -> Resolver:
    started = await federation.start_resolver(index_refresh_seconds=0)
    await _seed(started)
    return started


async def _get(federation: Federation, url: str, who: str | None = None) -> tuple[int, str, Any]:
    headers = basic(who, SECRET) if who else {}
    async with federation.session.get(url, headers=headers) as response:
        body = await response.read()
        if response.content_type == "application/json" or response.content_type.endswith("+json"):
            return response.status, response.content_type, await response.json()
        return response.status, response.content_type, body.decode("utf-8")


def _efficiency(resolver: Resolver, code: str, query: str = "period=2025") -> str:
    return f"{resolver.url}/api/regions/{code}/efficiency?{query}"


async def test_regulator_totals_are_hand_sums_and_intensity_is_sum_over_sum(federation, resolver):
    status, _, report = await _get(federation, _efficiency(resolver, "330500"), "huzhou")
    assert status == 200, report
    totals = report["totals"]
    # Huzhou: 88.1.1-88.1.4, twelve months each: emissions (100+50+10+30)*12, added value (10+20+40+5)*12.
    assert totals["enterprises"] == 4
    assert totals["emissionsTCo2"] == pytest.approx(2280.0)
    assert totals["addedValue10kCny"] == pytest.approx(900.0)
    assert totals["intensity"] == pytest.approx(2280.0 / 900.0)  # 2.533…, not the mean of ratios (3.81…)
    assert totals["energyShares"]["electricity"] == pytest.approx(0.75)
    children = {child["code"]: child for child in report["children"]}
    assert set(children) == {"330502", "330522"}
    assert children["330522"]["emissionsTCo2"] == pytest.approx(1920.0)
    assert {row["prefix"] for row in report["rankings"]["enterprises"]} == {
        "88.1.1",
        "88.1.2",
        "88.1.3",
        "88.1.4",
    }
    filtered = (
        await _get(federation, _efficiency(resolver, "330500", "period=2025&industry=C32"), "huzhou")
    )[2]
    assert filtered["totals"]["enterprises"] == 3
    assert filtered["totals"]["emissionsTCo2"] == pytest.approx((100 + 50 + 30) * 12)


@pytest.mark.parametrize(
    ("who", "inside", "outside"),
    [
        ("nation", ["000000", "330000", "320500", "330522"], []),
        ("zhejiang", ["330000", "330500", "330100", "330522"], ["000000", "320000", "320500"]),
        ("huzhou", ["330500", "330522", "330502"], ["000000", "330000", "330100", "320500"]),
        ("changxing", ["330522"], ["000000", "330000", "330500", "330502", "320583"]),
        ("suzhou", ["320500", "320583"], ["320000", "330500", "330522"]),
    ],
)
async def test_a_regulator_sees_its_region_and_below_and_nothing_else(
    federation, resolver, who, inside, outside
):
    for code in inside:
        status, _, report = await _get(federation, _efficiency(resolver, code), who)
        assert status == 200, (who, code, report)
        assert report["disclosure"] == "regulator"
        assert report["rankings"]["enterprises"] is not None
    for code in outside:
        status, _, problem = await _get(federation, _efficiency(resolver, code), who)
        assert status == 403, (who, code, problem)
        assert problem["type"].endswith("outside-scope")
        status, content_type, _ = await _get(federation, f"{resolver.url}/regions/{code}?period=2025", who)
        assert (status, content_type) == (403, "text/html")


async def test_the_public_gets_aggregates_without_enterprises_and_small_cells_suppressed(
    federation, resolver
):
    status, _, report = await _get(federation, _efficiency(resolver, "000000"))
    assert status == 200
    assert report["disclosure"] == "public"
    assert report["rankings"]["enterprises"] is None
    provinces = {child["code"]: child for child in report["children"]}
    # Zhejiang has 5 enterprises: shown; Jiangsu has 1: its count only.
    assert provinces["330000"]["suppressed"] is False
    assert provinces["330000"]["emissionsTCo2"] == pytest.approx((100 + 50 + 10 + 30 + 20) * 12)
    assert provinces["320000"]["suppressed"] is True
    assert provinces["320000"]["enterprises"] == 1
    assert provinces["320000"]["emissionsTCo2"] is None
    county = (await _get(federation, _efficiency(resolver, "330502")))[2]
    assert county["totals"]["suppressed"] is True
    assert county["totals"]["emissionsTCo2"] is None


async def test_wrong_credentials_are_401_not_a_public_answer(federation, resolver):
    async with federation.session.get(
        _efficiency(resolver, "330000"), headers=basic("zhejiang", "wrong")
    ) as response:
        assert response.status == 401
        assert "Basic" in response.headers["WWW-Authenticate"]


async def test_csv_has_the_json_figures(federation, resolver):
    _, _, report = await _get(federation, _efficiency(resolver, "330000"), "zhejiang")
    status, content_type, text = await _get(
        federation, _efficiency(resolver, "330000", "period=2025&format=csv"), "zhejiang"
    )
    assert (status, content_type) == (200, "text/csv")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    totals = next(row for row in rows if row["scope"] == "totals")
    assert float(totals["emissionsTCo2"]) == report["totals"]["emissionsTCo2"]
    children = {row["code"]: row for row in rows if row["scope"] == "child"}
    for child in report["children"]:
        assert float(children[child["code"]]["addedValue10kCny"]) == child["addedValue10kCny"]
    enterprises = [row for row in rows if row["scope"] == "enterprise"]
    assert len(enterprises) == len(report["rankings"]["enterprises"])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/regions/339999/efficiency?period=2025", 404),
        ("/api/regions/abc/efficiency?period=2025", 404),
        ("/api/regions/330000/efficiency?period=2025-13", 400),
        ("/api/regions/330522/efficiency?period=2025&level=city", 400),
        ("/api/regions/330000/efficiency?period=2025&industry=Z99", 400),
        ("/api/regions/330000/efficiency?period=2025&format=xml", 400),
    ],
)
async def test_bad_queries_are_clear_errors(federation, resolver, path, status):
    got, content_type, problem = await _get(federation, f"{resolver.url}{path}")
    assert (got, content_type) == (status, "application/problem+json"), problem
    assert problem["detail"]


async def test_the_dashboard_renders_with_drill_down_links_and_defaults_to_the_latest_year(
    federation, resolver
):
    status, content_type, page = await _get(federation, f"{resolver.url}/regions/330000")
    assert (status, content_type) == (200, "text/html")
    assert "浙江" in page
    assert "/regions/330500" in page  # drill down to Huzhou
    assert "<script" not in page
    status, _, page = await _get(federation, f"{resolver.url}/regions/330500?period=2025", "huzhou")
    assert status == 200
    assert "88.1.1" in page  # enterprise rows for the regulator of the region


async def test_the_sign_in_link_challenges_an_anonymous_browser(federation, resolver):
    async with federation.session.get(f"{resolver.url}/regions/330000?period=2025&signin=1") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    status, _, page = await _get(
        federation, f"{resolver.url}/regions/330000?period=2025&signin=1", "zhejiang"
    )
    assert status == 200
    assert "监管视图" in page
