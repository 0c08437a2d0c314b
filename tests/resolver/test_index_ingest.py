"""The regional index's rows: indexing a verified activity-data record (notifications, `carbonid resolver sync`),
the storage of the rows (upsert, generation, columns, official grades) and the index kept in memory."""

from __future__ import annotations

import asyncio
import json
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import unused_port
from click.testing import CliRunner

from carbon_efficiency import regional
from carbon_efficiency.accounting import account
from carbon_efficiency.factors import FactorLibrary
from carbon_efficiency.model import CARRIERS
from carbonid.cli import main as carbonid_main
from certs.identity import ServiceIdentity
from certs.signed_requests import sign_request
from common.database import DatabaseUnavailable, create_engine
from handle_registry.identifiers import fold_ascii
from node.notify import notification_document
from resolver import notifications_api, regional_state
from resolver.app import create_app as create_resolver
from resolver.index_columns import IndexColumns, merge_columns
from resolver.index_ingest import index_record
from resolver.index_sync import index_handles, plan_sync
from resolver.keys import CERTIFICATES_KEY
from resolver.regional_state import RegionalState
from resolver.repository import IndexGeneration, ResolverStore
from resolver.schema import index_rows
from tests.resolver.conftest import CATALOG, RESOLVER_PREFIX, FakeClock, Federation, Node, Resolver
from tests.resolver.test_app import Conformance
from tests.resolver.test_trust import store_document, stored_document

PROFILE_REGION = "330522"  # the shipped enterprise-profile example: 长兴县


async def start_resolver(f: Federation, *, regional_index: bool = True, **overrides: Any) -> Resolver:
    """A resolver on a known port, named by it (its did:web DID is what nodes sign notifications for)."""
    port = unused_port()
    clock = FakeClock()
    settings = f.resolver_settings(port=port, public_url=f"http://127.0.0.1:{port}", **overrides)
    app = create_resolver(settings, clock=clock, regional_index=regional_index)
    server = await f.start_server(app, port=port)
    resolver = Resolver(app, settings.base_url(), clock, server)
    f.resolvers.append(resolver)
    return resolver


def store_of(resolver: Resolver) -> ResolverStore:
    return resolver.app[CERTIFICATES_KEY].store


def node_identity(node: Node) -> ServiceIdentity:
    return ServiceIdentity.load_or_create(node.settings.data_dir / "keys", node.settings.base_url())


def signed_notification(
    resolver: Resolver, identity: ServiceIdentity, handle: str, version: int, **changes: Any
) -> dict[str, Any]:
    document = notification_document(handle, version) | changes
    return identity.sign_request(document, CATALOG.loader, domain=resolver.ctx.identity.did.id)


async def notify(f: Federation, resolver: Resolver, body: Any) -> tuple[int, dict[str, Any]]:
    async with f.session.post(f"{resolver.url}/api/notifications", json=body) as response:
        return response.status, await response.json(content_type=None)


async def index_row(resolver: Resolver, handle: str) -> dict[str, Any] | None:
    async with store_of(resolver).index() as db:
        query = sa.select(index_rows).where(index_rows.c.handle_key == fold_ascii(handle))
        row = (await db.conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def index_size(resolver: Resolver) -> int:
    async with store_of(resolver).index() as db:
        return (await db.generation()).rows


async def publish_enterprise(f: Federation, node: Node, suffix: str = "ACT.2025", **kwargs: Any) -> str:
    await f.publish(node, "PROFILE", template="enterprise-profile/1")
    return await f.publish(node, suffix, **kwargs)


async def publish_footprint(node: Node, suffix: str) -> str:
    """A product footprint (its template has no `prefix` member, which `Federation.publish` sets)."""
    document = CATALOG.resolve("product-footprint/1").example_document()
    document.pop("handle", None)
    body = {"template": "product-footprint/1", "document": document, "suffix": suffix}
    async with node.session.post(f"{node.url}/api/records", json=body, headers=node.admin) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["handle"])


# --------------------------------------------------------------------------------------------------------------
# Notifications


async def test_a_notification_indexes_the_record_and_a_replay_is_refused(federation: Federation):
    f = federation
    resolver = await start_resolver(f)
    handle = await publish_enterprise(f, f.node1)
    body = signed_notification(resolver, node_identity(f.node1), handle, 1)

    status, answer = await notify(f, resolver, body)
    assert status == 202, answer
    assert answer == {"status": "inserted", "handle": handle, "version": 1}
    row = await index_row(resolver, handle)
    assert row is not None
    document = CATALOG.resolve("activity-data/1").example_document()
    expected = account(
        document,
        region=PROFILE_REGION,
        library=FactorLibrary.default(),
        gwp="AR6",
        as_of=datetime.now(UTC).date(),
    )
    assert (row["prefix"], row["region"], row["industry"]) == ("88.186.1", PROFILE_REGION, "C3216")
    assert (row["period"], row["granularity"], row["version"]) == ("2025", "year", 1)
    assert row["month_start"] == 2025 * 12 + 1 - 1  # January 2025
    assert row["months"] == 12
    assert row["net_emissions_t"] == pytest.approx(expected.net_emissions, rel=1e-9)
    assert row["gross_emissions_t"] == pytest.approx(expected.gross_emissions, rel=1e-9)
    assert row["added_value_10k_cny"] == 48000
    assert [row[f"energy_{carrier}_gj"] for carrier in CARRIERS] == pytest.approx(
        [expected.energy_gj[carrier] for carrier in CARRIERS], rel=1e-9
    )
    assert row["neutrality_offsets_t"] == pytest.approx(expected.neutrality_offsets, rel=1e-9)

    status, answer = await notify(f, resolver, body)
    assert status == 401
    assert answer["type"].endswith("/signature-replayed")


async def test_a_notification_signed_with_a_key_the_prefix_record_does_not_list_is_refused(
    federation: Federation, tmp_path: Path
):
    f = federation
    resolver = await start_resolver(f)
    handle = await publish_enterprise(f, f.node1)
    # The node's DID, but a key the registry never listed; then another node's (listed, for its own prefix).
    stranger = ServiceIdentity.load_or_create(tmp_path / "stranger", f.node1.settings.base_url())
    for identity in (stranger, node_identity(f.node2)):
        status, answer = await notify(f, resolver, signed_notification(resolver, identity, handle, 1))
        assert status == 401, answer
        assert answer["type"].endswith("/key-not-listed")
    assert await index_row(resolver, handle) is None


async def test_an_unknown_key_makes_the_resolver_ask_the_registry_again_only_now_and_then(
    federation: Federation, tmp_path: Path
):
    f = federation
    resolver = await start_resolver(f)
    handle = await publish_enterprise(f, f.node1)
    status, _ = await notify(f, resolver, signed_notification(resolver, node_identity(f.node1), handle, 1))
    assert status == 202
    asked = f.root.probe.count("0.NA/88.186.1")
    stranger = ServiceIdentity.load_or_create(tmp_path / "stranger", f.node1.settings.base_url())
    # The prefix record was fetched just now: a key it does not list is refused without asking again.
    status, _ = await notify(f, resolver, signed_notification(resolver, stranger, handle, 1))
    assert status == 401
    assert f.root.probe.count("0.NA/88.186.1") == asked
    # Fetched a while ago (a rotated key may be missing from it): asked again, once.
    resolver.clock.advance(31)
    status, answer = await notify(f, resolver, signed_notification(resolver, stranger, handle, 1))
    assert status == 401
    assert answer["type"].endswith("/key-not-listed")
    assert f.root.probe.count("0.NA/88.186.1") == asked + 1


async def test_a_notification_for_another_resolver_stale_or_unsigned_is_refused(federation: Federation):
    f = federation
    resolver = await start_resolver(f)
    handle = await publish_enterprise(f, f.node1)
    identity = node_identity(f.node1)
    document = notification_document(handle, 1)
    elsewhere = identity.sign_request(document, CATALOG.loader, domain="did:web:another.resolver.example")
    key = identity.keys[0]
    stale = sign_request(
        document,
        key,
        verification_method=identity.method_id(key),
        domain=resolver.ctx.identity.did.id,
        loader=CATALOG.loader,
        created=datetime.now(UTC) - timedelta(minutes=20),
    )
    for body, code in (
        (elsewhere, "signature-wrong-domain"),
        (stale, "signature-stale"),
        (document, "signature-missing"),
    ):
        status, answer = await notify(f, resolver, body)
        assert status == 401, answer
        assert answer["type"].endswith(f"/{code}")
    assert await index_row(resolver, handle) is None


async def test_notification_answers_match_their_openapi_description(federation: Federation):
    f = federation
    resolver = await start_resolver(f)
    async with f.session.get(f"{resolver.url}/openapi.json") as response:
        document = await response.json()
    document["paths"].update(notifications_api.notification_paths())
    document["components"]["schemas"].update(notifications_api.notification_schemas())
    conformance = Conformance(document)

    async def post(body: Any) -> Any:
        async with f.session.post(f"{resolver.url}/api/notifications", json=body) as response:
            return await conformance.check("POST", "/api/notifications", response)

    identity = node_identity(f.node1)
    handle = await publish_enterprise(f, f.node1)
    profile = "88.186.1/PROFILE"
    body = signed_notification(resolver, identity, handle, 1)
    assert (await post(body))["status"] == "inserted"
    assert (await post(signed_notification(resolver, identity, profile, 1)))["status"] == "not-activity-data"
    assert (await post(body))["status"] == 401
    assert (await post({"type": "RecordPublished"}))["status"] == 400
    unknown = signed_notification(resolver, identity, "88.186.1/ACT.NONE", 1)
    assert (await post(unknown))["indexStatus"] == "not-found"
    await f.stop_node(f.node1)
    fresh = signed_notification(resolver, identity, "88.186.1/ACT.2026", 1)
    assert (await post(fresh))["status"] == 502
    assert {status for _, _, status in conformance.checked} == {202, 400, 401, 422, 502}


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "RecordChanged"},
        {"version": 0},
        {"version": True},
        {"handle": "0.NA/88.186.1"},
        {"extra": 1},
        {"@context": ["https://www.w3.org/ns/credentials/v2"]},
    ],
)
async def test_what_is_not_a_notification_is_400(federation: Federation, changes: dict[str, Any]):
    f = federation
    resolver = await start_resolver(f)
    body = notification_document("88.186.1/ACT.2025", 1) | changes | {"proof": {}}
    status, answer = await notify(f, resolver, body)
    assert status == 400, answer
    assert answer["type"].endswith("/invalid-notification")


async def test_a_record_that_does_not_verify_is_not_indexed(federation: Federation):
    f = federation
    resolver = await start_resolver(f)
    handle = await publish_enterprise(f, f.node1)
    version, document = await stored_document(f, f.node1, handle)
    document["industrialAddedValue10kCny"] = 96000
    await store_document(f, f.node1, handle, version, document)

    status, answer = await notify(
        f, resolver, signed_notification(resolver, node_identity(f.node1), handle, 1)
    )
    assert status == 422, answer
    assert answer["type"].endswith("/record-not-indexed")
    assert answer["indexStatus"] == "not-verified"
    assert "signature does not verify" in answer["detail"]
    assert await index_row(resolver, handle) is None
    assert await index_size(resolver) == 0


async def test_activity_data_without_a_profile_is_refused_and_a_profile_change_reindexes(
    federation: Federation,
):
    f = federation
    resolver = await start_resolver(f)
    identity = node_identity(f.node1)
    handle = await f.publish(f.node1, "ACT.2025")
    status, answer = await notify(f, resolver, signed_notification(resolver, identity, handle, 1))
    assert status == 422, answer
    assert answer["indexStatus"] == "refused"
    assert "publishes no enterprise profile" in answer["detail"]
    assert await index_row(resolver, handle) is None

    profile = await f.publish(f.node1, "PROFILE", template="enterprise-profile/1")
    # A profile is not activity data: accepted, nothing of its own to index, no rows of the prefix yet.
    status, answer = await notify(f, resolver, signed_notification(resolver, identity, profile, 1))
    assert status == 202, answer
    assert answer == {
        "status": "not-activity-data",
        "handle": profile,
        "version": 1,
        "reason": f"{profile} is a enterprise-profile/1 record, not activity-data/1",
    }
    status, answer = await notify(f, resolver, signed_notification(resolver, identity, handle, 1))
    assert (status, answer["status"]) == (202, "inserted")
    assert (await index_row(resolver, handle))["region"] == PROFILE_REGION

    # The enterprise moves to 德清县 (330521): its rows follow when the node announces the new profile.
    await f.publish(
        f.node1,
        "PROFILE",
        template="enterprise-profile/1",
        reason="moved",
        changes={"region": "330521"},
    )
    status, answer = await notify(f, resolver, signed_notification(resolver, identity, profile, 2))
    assert status == 202, answer
    assert answer["reindexed"] == [{"handle": handle, "status": "replaced", "version": 1}]
    assert (await index_row(resolver, handle))["region"] == "330521"


async def test_a_newer_version_replaces_the_row_and_an_older_one_does_not(federation: Federation):
    f = federation
    resolver = await start_resolver(f)
    identity = node_identity(f.node2)
    handle = await publish_enterprise(f, f.node2)
    status, answer = await notify(f, resolver, signed_notification(resolver, identity, handle, 1))
    assert (status, answer["status"]) == (202, "inserted")
    first = await index_row(resolver, handle)

    # Version 2 is announced while version 1 is still cached (ttl 60 s): it is read again, and replaces it.
    await f.publish(f.node2, "ACT.2025", reason="corrected", changes={"industrialAddedValue10kCny": 50000})
    status, answer = await notify(f, resolver, signed_notification(resolver, identity, handle, 2))
    assert status == 202, answer
    assert answer == {"status": "replaced", "handle": handle, "version": 2}
    second = await index_row(resolver, handle)
    assert (second["version"], second["added_value_10k_cny"]) == (2, 50000)
    assert second["id"] > first["id"]  # a replacement takes a new id: what changed is found by id
    assert await index_size(resolver) == 1

    # The same version again changes nothing; version 1's row never comes back.
    assert (await index_record(resolver.ctx, store_of(resolver), handle)).status == "unchanged"
    older = {key: value for key, value in first.items() if key != "id"}
    async with store_of(resolver).index(write=True) as db:
        assert await db.upsert_row(older) == "older"
        assert await db.row_version(fold_ascii(handle)) == 2
    assert (await index_row(resolver, handle))["added_value_10k_cny"] == 50000


async def test_index_record_says_what_it_could_not_index(federation: Federation):
    f = federation
    resolver = await start_resolver(f)
    store = store_of(resolver)
    await f.publish(f.node1, "PROFILE", template="enterprise-profile/1")
    footprint = await publish_footprint(f.node1, "PCF.1")
    # Signed by the node, but not valid activity data (its required fuels are gone).
    invalid = await f.publish(f.node1, "ACT.2023", changes={"period": "2023"})
    version, document = await stored_document(f, f.node1, invalid)
    unsigned = {key: value for key, value in document.items() if key not in ("proof", "fuels")}
    await store_document(f, f.node1, invalid, version, node_identity(f.node1).sign(unsigned, CATALOG.loader))
    outcomes = {
        text: await index_record(resolver.ctx, store, text)
        for text in (
            "88.186.1/ACT.NONE",
            footprint,
            "0.NA/88.186.1",
            "88.186.1",
            "88.999.1/ACT.2025",
            invalid,
        )
    }
    assert {text: outcome.status for text, outcome in outcomes.items()} == {
        invalid: "refused",
        "88.186.1/ACT.NONE": "not-found",
        footprint: "not-activity-data",
        "0.NA/88.186.1": "not-activity-data",
        "88.186.1": "refused",
        "88.999.1/ACT.2025": "not-found",
    }
    assert "is not valid activity-data/1" in str(outcomes[invalid].reason)
    assert not any(outcome.indexed for outcome in outcomes.values())
    assert await index_size(resolver) == 0


# --------------------------------------------------------------------------------------------------------------
# Sync


async def _publish_population(f: Federation) -> set[str]:
    """Activity data on both nodes, one private record granted to the resolver's prefix, and records the
    resolver must not index (another template; private and not granted)."""
    expected = {
        await publish_enterprise(f, f.node1, "ACT.2025"),
        await f.publish(f.node1, "ACT.2025-03", changes={"period": "2025-03", "granularity": "month"}),
        await f.publish(
            f.node1,
            "ACT.2025Q2",
            visibility="private",
            changes={"period": "2025Q2", "granularity": "quarter"},
        ),
        await publish_enterprise(f, f.node2, "ACT.2025"),
    }
    await f.grant(f.node1, "88.186.1/ACT.2025Q2", RESOLVER_PREFIX)
    await f.publish(f.node1, "ACT.SECRET", visibility="private")
    await publish_footprint(f.node2, "PCF.1")
    return expected


async def test_sync_indexes_every_activity_record_of_both_nodes(federation: Federation):
    f = federation
    resolver = await start_resolver(f)
    expected = await _publish_population(f)
    store = store_of(resolver)

    plan = await plan_sync(resolver.ctx)
    assert set(plan.handles) == expected
    assert plan.prefixes == ("88.186.1", "88.200.1")
    assert plan.registries == (f.root.url, f.delegated.url)
    assert plan.problems == ()
    seen: list[str] = []
    report = await index_handles(
        resolver.ctx, store, plan, progress=lambda outcome: seen.append(outcome.handle)
    )
    assert sorted(seen) == sorted(expected)
    assert dict(report.counts) == {"inserted": 4}
    assert report.indexed == 4
    assert report.complete
    quarter = await index_row(resolver, "88.186.1/ACT.2025Q2")
    assert (quarter["month_start"], quarter["months"]) == (2025 * 12 + 4 - 1, 3)  # April 2025, 3 months

    again = await index_handles(resolver.ctx, store, await plan_sync(resolver.ctx))
    assert dict(again.counts) == {"unchanged": 4}


async def test_resolver_sync_command_reports_and_exits_by_outcome(federation: Federation, tmp_path: Path):
    f = federation
    resolver = await start_resolver(f)
    expected = await _publish_population(f)
    bad = await f.publish(f.node2, "ACT.2024", changes={"period": "2024"})
    version, document = await stored_document(f, f.node2, bad)
    await store_document(f, f.node2, bad, version, document | {"industrialAddedValue10kCny": 1})
    settings = resolver.ctx.settings
    cert, key = f.client_cert
    config = tmp_path / "resolver.toml"
    config.write_text(
        "[resolver]\n"
        + "".join(
            f"{name} = {json.dumps(str(value))}\n"
            for name, value in (
                ("data_dir", settings.data_dir),
                ("database_url", f.database_url),
                ("root_registry_url", f.root.url),
                ("trust_anchor", f.anchor_file),
                ("federation_ca", f.ca_file),
                ("client_certificate", cert),
                ("client_key", key),
                ("prefix", RESOLVER_PREFIX),
                ("public_url", settings.public_url),
            )
        ),
        "utf-8",
    )
    assert tomllib.loads(config.read_text("utf-8"))["resolver"]["prefix"] == RESOLVER_PREFIX

    runner = CliRunner()
    # The command runs its own event loop; the federation keeps answering on this one meanwhile.
    result = await asyncio.to_thread(
        runner.invoke, carbonid_main, ["resolver", "sync", "--config", str(config)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert "2 registries, 2 enterprise prefixes, 5 activity-data records" in result.stdout
    assert "indexed 4: 4 new, 0 replaced, 0 unchanged" in result.stdout
    assert f"  {bad}  not-verified: " in result.stdout
    for handle in expected:
        assert (await index_row(resolver, handle)) is not None
    assert await index_row(resolver, bad) is None

    result = await asyncio.to_thread(
        runner.invoke,
        carbonid_main,
        ["resolver", "sync", "--config", str(config), "--registry", "http://127.0.0.1:1"],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert "cannot list the prefixes" in result.stderr


# --------------------------------------------------------------------------------------------------------------
# Storage and the index in memory


def synthetic_row(number: int, *, version: int = 1, added_value: float | None = None) -> dict[str, Any]:
    """Row `number` of a synthetic population: its own prefix, one month of 2025, distinct figures."""
    prefix = f"88.{500 + number // 1000}.{number % 1000}"
    handle = f"{prefix}/ACT.2025-{number % 12 + 1:02d}"
    row: dict[str, Any] = {
        "handle": handle,
        "handle_key": fold_ascii(handle),
        "prefix": prefix,
        "prefix_key": fold_ascii(prefix),
        "region": ("330521", "330522", "330523")[number % 3],
        "industry": ("C3216", "C3011", "C2614")[number % 3],
        "period": f"2025-{number % 12 + 1:02d}",
        "granularity": "month",
        "month_start": 2025 * 12 + number % 12,
        "months": 1,
        "net_emissions_t": number * 1.5 + 0.1,
        "gross_emissions_t": number * 2.0 + 0.3,
        "added_value_10k_cny": added_value if added_value is not None else 1000.0 + number / 7,
        "neutrality_offsets_t": number / 3,
        "version": version,
        "digest": f"{number:064x}",
        "indexed_at": "2026-01-01T00:00:00Z",
    }
    for position, carrier in enumerate(CARRIERS):
        row[f"energy_{carrier}_gj"] = number * 10.0 + position / 9
    return row


async def upsert(store: ResolverStore, rows: list[dict[str, Any]]) -> list[str]:
    async with store.index(write=True) as db:
        return [await db.upsert_row(row) for row in rows]


@pytest.fixture
async def store(federation: Federation) -> ResolverStore:
    # The tests below drive their own RegionalState: the app's own start-up build stays out of their way.
    return store_of(await start_resolver(federation, regional_index=False))


async def test_load_columns_round_trips(store: ResolverStore):
    rows = [synthetic_row(number) for number in range(3000)]
    assert set(await upsert(store, rows)) == {"inserted"}
    async with store.index() as db:
        columns, total = await db.load_columns()
    assert total == len(columns) == 3000
    assert columns.prefix == [row["prefix_key"] for row in rows]
    assert columns.industry == [row["industry"] for row in rows]
    assert columns.region.tolist() == [int(row["region"]) for row in rows]
    assert columns.month_start.tolist() == [row["month_start"] for row in rows]
    assert columns.months.tolist() == [1] * 3000
    for name, column in (
        ("emissions", "net_emissions_t"),
        ("gross", "gross_emissions_t"),
        ("added_value", "added_value_10k_cny"),
        ("offsets", "neutrality_offsets_t"),
    ):
        assert getattr(columns, name).tolist() == [row[column] for row in rows], name
    assert columns.energy.shape == (3000, 6)
    assert columns.energy.tolist() == [[row[f"energy_{c}_gj"] for c in CARRIERS] for row in rows]
    assert np.all(np.diff(columns.ids) > 0)
    # Strings are shared: one object per distinct prefix or industry, not per row.
    assert columns.industry[0] is columns.industry[3]


async def test_what_changed_since_a_load_merges_into_the_columns(store: ResolverStore):
    await upsert(store, [synthetic_row(number) for number in range(100)])
    async with store.index() as db:
        held, _ = await db.load_columns()
    # Row 7 gets version 2 (a new id), row 100 is new.
    assert await upsert(store, [synthetic_row(7, version=2, added_value=77.0), synthetic_row(100)]) == [
        "replaced",
        "inserted",
    ]
    async with store.index() as db:
        changed, total = await db.load_columns(after_id=held.last_id)
        everything, _ = await db.load_columns()
    assert len(changed) == 2
    assert total == 101
    merged = merge_columns(held, changed)
    assert len(merged) == 101
    for name in (
        "ids",
        "keys",
        "region",
        "month_start",
        "months",
        "emissions",
        "gross",
        "added_value",
        "offsets",
    ):
        assert getattr(merged, name).tolist() == getattr(everything, name).tolist(), name
    assert merged.energy.tolist() == everything.energy.tolist()
    assert merged.prefix == everything.prefix
    assert merged.added_value[-2] == 77.0
    assert merge_columns(held, IndexColumns.empty()) is held


async def test_the_generation_changes_with_rows_and_grades(store: ResolverStore):
    async with store.index() as db:
        empty = await db.generation()
    assert empty == IndexGeneration(0, 0, 0, 0)
    await upsert(store, [synthetic_row(1)])
    async with store.index() as db:
        one = await db.generation()
    assert (one.rows, one.last_row_id > 0) == (1, True)
    assert await upsert(store, [synthetic_row(1)]) == ["unchanged"]
    async with store.index() as db:
        assert await db.generation() == one
    await upsert(store, [synthetic_row(1, added_value=5.0)])
    async with store.index() as db:
        replaced = await db.generation()
    assert (replaced.rows, replaced.last_row_id > one.last_row_id) == (1, True)
    await insert_evaluation(store, "88.500.1", "2025", "year", 2)
    async with store.index() as db:
        graded = await db.generation()
    assert graded.last_evaluation_id > replaced.last_evaluation_id


async def insert_evaluation(
    store: ResolverStore, prefix: str, period: str, granularity: str, grade: int | None, status: str = "valid"
) -> None:
    async with store.evaluations(write=True) as db:
        index = await db.next_status_index()
        handle = f"{RESOLVER_PREFIX}/CERT.{prefix}.{period}.{index}"
        await db.insert_evaluation(
            {
                "handle": handle,
                "handle_key": fold_ascii(handle),
                "prefix": prefix,
                "prefix_key": fold_ascii(prefix),
                "period": period,
                "granularity": granularity,
                "region": "330522",
                "industry": "C3216",
                "net_emissions_t": 1.0,
                "added_value_10k_cny": 1.0,
                "grade": grade,
                "status_index": index,
                "status": status,
                "issued_at": "2026-01-01T00:00:00Z",
                "valid_until": "2027-01-01T00:00:00Z",
                "credential": "{}",
                "report": "{}",
            }
        )


async def test_official_grades_one_per_prefix_and_year(store: ResolverStore):
    await insert_evaluation(store, "88.500.1", "2025-06", "rolling-12-months", 4)
    await insert_evaluation(store, "88.500.1", "2025", "year", 2)
    await insert_evaluation(store, "88.500.1", "2025-12", "rolling-12-months", 5)  # the calendar year wins
    await insert_evaluation(store, "88.500.2", "2025-03", "rolling-12-months", 3)
    await insert_evaluation(store, "88.500.2", "2025-09", "rolling-12-months", 1)  # the latest rolling wins
    await insert_evaluation(store, "88.500.3", "2025", "year", 2, status="revoked")
    await insert_evaluation(store, "88.500.4", "2025", "year", None)  # ungraded
    await insert_evaluation(store, "88.500.5", "2025Q1", "quarter", 3)  # a trend, not official
    await insert_evaluation(store, "88.500.6", "2024", "year", 3)
    async with store.index() as db:
        grades = await db.official_grades()
    assert grades == [("88.500.1", 2025, 2), ("88.500.2", 2025, 1), ("88.500.6", 2024, 3)]


async def test_the_regional_state_follows_the_rows(store: ResolverStore, monkeypatch: pytest.MonkeyPatch):
    builds: list[int] = []
    build = regional_state.build_index

    def counting_build(columns: IndexColumns, grades: Any) -> Any:
        builds.append(len(columns))
        return build(columns, grades)

    monkeypatch.setattr(regional_state, "build_index", counting_build)
    await upsert(store, [synthetic_row(number) for number in range(30)])
    now = [0.0]
    state = RegionalState(refresh_seconds=5, clock=lambda: now[0])
    state.start(store)
    first = await state.current(store)
    assert isinstance(first, regional.RegionalIndex)
    assert first.size == 30
    assert builds == [30]

    await upsert(store, [synthetic_row(30), synthetic_row(3, version=2, added_value=9.0)])
    assert await state.current(store) is first  # checked less than refresh_seconds ago
    now[0] += 5
    # Concurrent callers share one refresh, which reads only the two rows that changed.
    second, again = await asyncio.gather(state.current(store), state.current(store))
    assert second is again
    assert second.size == 31
    assert builds == [30, 31]
    now[0] += 5
    assert await state.current(store) is second  # nothing changed: nothing rebuilt
    assert builds == [30, 31]

    # A row that goes away is noticed by the count: everything is read again.
    async with store.index(write=True) as db:
        first_id = sa.select(sa.func.min(index_rows.c.id)).scalar_subquery()
        await db.conn.execute(index_rows.delete().where(index_rows.c.id == first_id))
    third = await state.refresh(store)
    assert third.size == 30
    assert state.generation is not None
    assert state.generation.rows == 30
    await state.close()


async def test_a_slow_rebuild_answers_from_the_previous_index(
    store: ResolverStore, monkeypatch: pytest.MonkeyPatch
):
    await upsert(store, [synthetic_row(1)])
    state = RegionalState(refresh_seconds=0, max_wait_seconds=0)
    first = await state.current(store)
    release = threading.Event()
    build = regional_state.build_index

    def gated_build(columns: IndexColumns, grades: Any) -> Any:
        release.wait(timeout=60)
        return build(columns, grades)

    monkeypatch.setattr(regional_state, "build_index", gated_build)
    await upsert(store, [synthetic_row(2)])
    assert await state.current(store) is first  # rebuilding: the previous index answers meanwhile
    assert await state.current(store) is first
    release.set()
    second = await state.refresh(store)  # joins the rebuild under way
    assert second.size == 2
    assert await state.current(store) is second
    await state.close()


async def test_the_regional_state_keeps_serving_when_a_refresh_fails(store: ResolverStore):
    now = [0.0]
    state = RegionalState(refresh_seconds=0, clock=lambda: now[0])
    first = await state.current(store)
    assert first.size == 0
    unreachable = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        broken = ResolverStore(unreachable)
        now[0] += 1
        assert await state.current(broken) is first
        with pytest.raises(DatabaseUnavailable):  # nothing to serve before the first build
            await RegionalState().current(broken)
    finally:
        await unreachable.dispose()


def test_index_columns_without_rows():
    empty = IndexColumns.empty()
    assert len(empty) == 0
    assert empty.last_id == 0
    assert empty.energy.shape == (0, 6)
