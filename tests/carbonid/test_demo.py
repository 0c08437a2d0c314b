"""`carbonid demo`: the whole federation on loopback, made over real HTTP(S), checked through the resolver.

The command runs twice with `--once` in one temporary directory (the second run must reuse everything and
publish nothing); then the test starts the same federation again with `running_federation` on that
directory and uses `federation.json` as a client would: every node resolves `verified` through the
resolver, every node's administrator credentials work. The data generator is checked on its own.
"""

from __future__ import annotations

import base64
import json
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from carbonid.demo_data import MONTHS, activity_documents
from carbonid.demo_enterprises import ENTERPRISES, EnterpriseSpec, profile_document
from carbonid.demo_layout import PortInUse, check_ports_free
from carbonid.federation import running_federation
from certs.tls import client_ssl_context
from metadata_templates import default_catalog, validate
from metadata_templates.codes import city_of, province_of, validate_industry_code, validate_region_code
from resolver.keys import RESOLVER_KEY
from resolver.resolution import resolve
from tests.imaging import decode_qr

CATALOG = default_catalog()
COMMAND = [sys.executable, "-m", "carbonid.cli", "demo"]
TIMEOUT = 120


RECORDS_PER_NODE = 1 + 12 + 2
"""Each demo node publishes its profile, twelve months of activity data and two product carbon forms."""


def free_base_port() -> int:
    """A base port whose whole layout is free (random, high, so parallel runs rarely meet)."""
    for _ in range(100):
        base = random.randrange(20000, 60000)
        try:
            check_ports_free(base)
        except PortInUse:
            continue
        return base
    raise RuntimeError("no free port range found")


def run_demo(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`carbonid demo ARGUMENTS` in a child process, as a user runs it."""
    return subprocess.run(
        [*COMMAND, *arguments], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


@dataclass(frozen=True)
class DemoRuns:
    data_dir: Path
    base_port: int
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    """`carbonid demo --once` on a fresh directory, then once more on the same directory."""
    data_dir = tmp_path_factory.mktemp("demo") / "federation"
    base = free_base_port()
    arguments = ("--data-dir", str(data_dir), "--base-port", str(base), "--once")
    first = run_demo(*arguments)
    second = run_demo(*arguments)
    return DemoRuns(data_dir, base, first, second)


def federation_file(demo: DemoRuns) -> dict:
    return json.loads((demo.data_dir / "federation.json").read_text("utf-8"))


def basic(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{quote(user, safe='/')}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def node_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("node ")]


# --- the command ------------------------------------------------------------------------------------


def test_the_demo_runs_once_and_exits_0(demo):
    assert demo.first.returncode == 0, demo.first.stdout + demo.first.stderr
    lines = node_lines(demo.first.stdout)
    assert len(lines) == len(ENTERPRISES) >= 4
    for line in lines:
        assert f"{RECORDS_PER_NODE} new / {RECORDS_PER_NODE}" in line
        assert "PROFILE verified" in line
        assert "ACT.2025-12 verified" in line


def test_a_second_run_reuses_everything_and_publishes_nothing_new(demo):
    assert demo.second.returncode == 0, demo.second.stdout + demo.second.stderr
    lines = node_lines(demo.second.stdout)
    assert len(lines) == len(ENTERPRISES)
    for line in lines:
        assert f"0 new / {RECORDS_PER_NODE}" in line
        assert "ACT.2025-12 verified" in line


def certificate_lines(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("carbon-efficiency certificates"))
    return lines[start + 2 : start + 2 + len(ENTERPRISES)]


def test_the_demo_evaluates_every_enterprise_and_keeps_its_qr_codes(demo):
    lines = certificate_lines(demo.first.stdout)
    assert [line.split()[0] for line in lines] == [spec.name for spec in ENTERPRISES]
    # The demo's illustrative benchmarks put the four enterprises in four different grades.
    grades = {int(line.split()[1]) for line in lines}
    assert len(grades) == len(ENTERPRISES)
    for spec in ENTERPRISES:
        png = demo.data_dir / "certificates" / f"{spec.prefix}-2025.png"
        assert png.read_bytes().startswith(b"\x89PNG")
        assert (
            (demo.data_dir / "certificates" / f"{spec.prefix}-2025.svg").read_text("utf-8").startswith("<svg")
        )
        assert decode_qr(png) == [f"http://127.0.0.1:{demo.base_port}/c/88.100.9/CERT.{spec.prefix}.2025"]
    # A second run finds the certificates it issued and issues nothing new.
    again = certificate_lines(demo.second.stdout)
    assert all(line.endswith("(issued before)") for line in again)
    assert [line.split()[:2] for line in again] == [line.split()[:2] for line in lines]


def test_the_demo_indexes_every_activity_record_for_the_regional_dashboard(demo):
    records = 12 * len(ENTERPRISES)
    line = next(line for line in demo.first.stdout.splitlines() if line.startswith("regional index:"))
    assert f"{records} of {records} activity records of {len(ENTERPRISES)} enterprises" in line
    assert "/regions/000000?period=2025" in line
    regulator = federation_file(demo)["resolver"]["regulator"]
    assert regulator["region"] == "330000"
    assert regulator["name"]
    assert regulator["secret"]


def test_federation_json_has_the_required_keys_and_is_private(demo):
    path = demo.data_dir / "federation.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    federation = federation_file(demo)
    assert {"ca", "registries", "resolver", "nodes"} <= set(federation)
    assert Path(federation["ca"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    prefixes = {registry["prefix"] for registry in federation["registries"]}
    assert prefixes == {"88", "88.186"}
    for registry in federation["registries"]:
        assert {"url", "prefix", "did"} <= set(registry)
        assert registry["did"].startswith("did:web:127.0.0.1%3A")
    assert {"url", "prefix", "did"} <= set(federation["resolver"])
    assert federation["resolver"]["url"] == f"http://127.0.0.1:{demo.base_port}"
    assert len(federation["nodes"]) >= 4
    for node in federation["nodes"]:
        assert {"name", "prefix", "url", "region", "industry", "admin"} <= set(node)
        assert re.fullmatch(r"[0-9]{6}", node["region"])
        validate_region_code(node["region"])
        validate_industry_code(node["industry"])
        assert node["url"].startswith("https://127.0.0.1:")
        assert node["admin"] == {
            "handle": f"{node['prefix']}/ADMIN",
            "index": 300,
            "secret": node["admin"]["secret"],
        }
        assert len(node["admin"]["secret"]) >= 16
    assert len({node["prefix"] for node in federation["nodes"]}) == len(federation["nodes"])


def test_secrets_and_keys_are_readable_by_the_owner_only(demo):
    secrets = [
        *demo.data_dir.glob("nodes/*/admin.secret"),
        *demo.data_dir.glob("registries/*/admin.json"),
        demo.data_dir / "ca" / "ca.key",
        *demo.data_dir.glob("nodes/*/tls/server.key"),
        *demo.data_dir.glob("**/keys/*.key"),
    ]
    assert len(secrets) >= 2 * len(ENTERPRISES) + 2
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_the_same_federation_runs_again_and_federation_json_lets_a_client_use_it(demo):
    described = federation_file(demo)
    tls = client_ssl_context(described["ca"])
    resolver = described["resolver"]["url"]
    async with (
        running_federation(demo.data_dir, demo.base_port) as federation,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as session,
    ):
        assert federation.to_json()["nodes"] == described["nodes"]  # the same secrets, URLs and prefixes
        assert {node.published for node in federation.nodes} == {0}
        private = {spec.prefix for spec in ENTERPRISES if spec.activity_visibility == "private"}
        for node in described["nodes"]:
            handles = [f"{node['prefix']}/PROFILE"]
            if node["prefix"] not in private:  # private data is tested below
                handles.append(f"{node['prefix']}/ACT.2025-06")
            for handle in handles:
                async with session.get(f"{resolver}/api/handles/{handle}") as response:
                    assert response.status == 200, await response.text()
                    body = await response.json()
                assert body["handle"] == handle
                assert body["verification"]["status"] == "verified", body["verification"]

            admin = basic(f"300:{node['admin']['handle']}", node["admin"]["secret"])
            listing = f"{node['url']}/api/records?template=activity-data"
            async with session.get(listing, headers=admin) as response:
                assert response.status == 200, await response.text()
                records = (await response.json())["records"]
            # Twelve months, each published once over three runs: nothing duplicated, no second version.
            assert sorted(record["handle"] for record in records) == [
                f"{node['prefix']}/ACT.{month}" for month in MONTHS
            ]
            assert {record["version"] for record in records} == {1}
            wrong = basic(f"300:{node['admin']['handle']}", node["admin"]["secret"] + "x")
            async with session.get(listing, headers=wrong) as response:
                assert response.status == 401

            # The node's PACT client from federation.json gets a token and lists the node's public forms.
            pact = node["pact"]
            client = basic(pact["clientId"], pact["clientSecret"])
            async with session.post(
                pact["tokenUrl"], data={"grant_type": "client_credentials"}, headers=client
            ) as response:
                assert response.status == 200, await response.text()
                token = (await response.json())["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            async with session.get(pact["footprintsUrl"], headers=bearer) as response:
                assert response.status == 200, await response.text()
                footprints = (await response.json())["data"]
            for footprint in footprints:
                assert footprint["specVersion"] == "2.3.0"
                assert isinstance(footprint["pcf"]["pCfExcludingBiogenic"], str)
            mass_forms = {"88.186.1": 2, "88.131.1": 2}  # forms counted in pieces have no PACT declared unit
            assert len(footprints) == mass_forms.get(node["prefix"], 0)


async def test_private_activity_data_is_hidden_from_strangers_and_read_by_the_resolver_only_for_itself(demo):
    described = federation_file(demo)
    private = next(spec for spec in ENTERPRISES if spec.activity_visibility == "private")
    node = next(node for node in described["nodes"] if node["prefix"] == private.prefix)
    handle = f"{private.prefix}/ACT.2025-03"
    tls = client_ssl_context(described["ca"])
    async with (
        running_federation(demo.data_dir, demo.base_port) as federation,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as session,
    ):
        async with session.get(f"{node['url']}/api/handles/{handle}") as response:
            assert response.status == 404  # an anonymous reader is told it does not exist
        # The resolver's prefix holds a grant: it reads the record for itself, as a peer ...
        served = await resolve(federation.resolver.app[RESOLVER_KEY], handle, as_peer=True)
        assert served.answer.verification.status == "verified"
        # ... and its public Handle API still does not serve it to whoever asks.
        async with session.get(f"{described['resolver']['url']}/api/handles/{handle}") as response:
            assert response.status == 404


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_without_once_it_serves_until_interrupted_then_stops_cleanly(demo, signum):
    process = subprocess.Popen(
        [*COMMAND, "--data-dir", str(demo.data_dir)],  # the directory's base port is remembered
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "press Ctrl-C" in line:
                break
        assert any("press Ctrl-C" in line for line in seen), "".join(seen) + process.stderr.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{demo.base_port}/healthz", timeout=10) as answer:
            assert json.load(answer)["status"] == "ok"
        process.send_signal(signum)
        assert process.wait(timeout=TIMEOUT) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    check_ports_free(demo.base_port)  # every service stopped: all its ports are free again


def test_a_port_in_use_is_one_clear_line_and_exit_2(tmp_path):
    base = free_base_port()
    taken = base + 100
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", taken))
        listener.listen()
        result = run_demo("--data-dir", str(tmp_path / "demo"), "--base-port", str(base), "--once")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"port {taken} (root registry) is already in use" in line
    assert not (tmp_path / "demo").exists()


def test_a_directory_keeps_its_base_port(demo):
    other = demo.base_port + 1000
    result = run_demo("--data-dir", str(demo.data_dir), "--base-port", str(other), "--once")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"base port {demo.base_port}" in line


# --- the data ---------------------------------------------------------------------------------------


def by_kind(kind: str) -> EnterpriseSpec:
    return next(spec for spec in ENTERPRISES if spec.kind == kind)


def electricity_mwh(document: dict) -> float:
    """Electricity used: every line but exports, in MWh."""
    factor = {"MWh": 1.0, "kWh": 0.001}
    return sum(
        line["quantity"] * factor[line["unit"]]
        for line in document["electricity"]
        if line["kind"] != "exported"
    )


def fuel(document: dict, name: str) -> float:
    return sum(line["quantity"] for line in document["fuels"] if line["fuel"] == name)


def output(document: dict) -> float:
    (line,) = document["output"]
    return line["quantity"]


def test_the_generator_is_deterministic():
    for spec in ENTERPRISES:
        first = json.dumps(activity_documents(spec), sort_keys=True)
        assert json.dumps(activity_documents(spec), sort_keys=True) == first
        assert json.dumps(activity_documents(spec, seed=7), sort_keys=True) != first


def test_every_enterprise_has_a_valid_profile_and_twelve_valid_months():
    profile_template = CATALOG.resolve("enterprise-profile/1")
    activity_template = CATALOG.resolve("activity-data/1")
    for spec in ENTERPRISES:
        profile = profile_document(spec)
        validate(profile_template, profile)
        assert (profile["prefix"], profile["region"], profile["industry"]) == (
            spec.prefix,
            spec.region,
            spec.industry,
        )
        documents = activity_documents(spec)
        assert [document["period"] for document in documents] == [f"2025-{m:02d}" for m in range(1, 13)]
        for document in documents:
            validate(activity_template, document)
            assert (document["prefix"], document["granularity"]) == (spec.prefix, "month")
            assert document["industrialAddedValue10kCny"] > 0


def test_the_enterprises_differ_in_province_city_and_industry():
    assert len(ENTERPRISES) >= 4
    assert len({province_of(spec.region).code for spec in ENTERPRISES}) >= 3
    assert len({city_of(spec.region).code for spec in ENTERPRISES}) == len(ENTERPRISES)
    assert len({spec.industry for spec in ENTERPRISES}) == len(ENTERPRISES)
    smelter = by_kind("aluminium")
    assert (smelter.prefix, smelter.region, smelter.industry, smelter.registry) == (
        "88.186.1",
        "330522",
        "C3216",
        "industry",
    )
    assert {spec.registry for spec in ENTERPRISES} == {"root", "industry"}


def test_every_line_names_its_data_source_and_green_power_its_evidence():
    green = 0
    for spec in ENTERPRISES:
        for document in activity_documents(spec):
            for member in ("fuels", "electricity", "heat", "processInputs", "ghgEmissions", "output"):
                for line in document.get(member, []):
                    assert line["dataSource"]["kind"], (spec.name, member)
                    assert line["dataSource"]["reference"]
            for line in document["electricity"]:
                if line["kind"] == "purchased-green":
                    green += 1
                    assert line["evidence"]["kind"] == "green-certificate"
    assert green >= 24  # two enterprises buy green power every month


def test_the_aluminium_smelter_has_smelter_magnitudes():
    for document in activity_documents(by_kind("aluminium")):
        tonnes = output(document)
        assert 8_500 <= tonnes <= 11_500
        assert 13_000 <= electricity_mwh(document) * 1000 / tonnes <= 14_200  # kWh per t of aluminium
        (anode,) = document["processInputs"]
        assert 0.39 <= anode["quantity"] / tonnes <= 0.45
        assert 0.3 <= document["industrialAddedValue10kCny"] / tonnes <= 0.5
        assert {gas["gas"] for gas in document["ghgEmissions"]} == {"CF4"}


def test_the_steel_mill_burns_coal_coke_and_blast_furnace_gas():
    for document in activity_documents(by_kind("steel")):
        tonnes = output(document)
        assert 200_000 <= tonnes <= 400_000
        assert 0.25 <= fuel(document, "coke") / tonnes <= 0.35
        assert 0.08 <= fuel(document, "bituminous_coal") / tonnes <= 0.18
        assert fuel(document, "blast_furnace_gas") > 0
        assert 0.07 <= document["industrialAddedValue10kCny"] / tonnes <= 0.15


def test_parts_and_cars_use_mostly_electricity_and_natural_gas():
    for kind, per_unit_kwh in (("auto-parts", (2.0, 3.0)), ("automaker", (700, 900))):
        for document in activity_documents(by_kind(kind)):
            assert {line["fuel"] for line in document["fuels"]} <= {"natural_gas", "diesel"}
            assert fuel(document, "diesel") < 20
            low, high = per_unit_kwh
            assert low <= electricity_mwh(document) * 1000 / output(document) <= high


def test_the_data_follow_the_seasons_and_added_value_follows_output():
    cars = [output(document) for document in activity_documents(by_kind("automaker"))]
    assert cars[1] < 0.8 * cars[11]  # the Spring Festival dip against the year-end rush
    steel = [output(document) for document in activity_documents(by_kind("steel"))]
    assert max(steel[0], steel[1], steel[11]) < min(steel[4], steel[5])  # heating-season limits
    for spec in ENTERPRISES:
        documents = activity_documents(spec)
        ratios = [document["industrialAddedValue10kCny"] / output(document) for document in documents]
        mean = sum(ratios) / len(ratios)
        assert all(abs(ratio - mean) / mean < 0.15 for ratio in ratios), spec.name
