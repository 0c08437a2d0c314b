"""`carbonid registry`: settings, administrators, the trust anchor, and refusals with their exit codes."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from carbonid.registry_cli import registry as registry_group
from common.settings import load_settings
from handle_registry.service.app import create_app
from handle_registry.service.settings import RegistrySettings
from tests.handle_registry.service.support import basic


def write_config(tmp_path, database_url: str):
    path = tmp_path / "carbonid.toml"
    path.write_text(
        "[registry]\n"
        'served_prefixes = ["88"]\n'
        f"data_dir = {json.dumps(str(tmp_path / 'data'))}\n"
        f"database_url = {json.dumps(database_url)}\n"
        'public_url = "http://registry.test:18100"\n',
        "utf-8",
    )
    return path


def test_settings_output_loads_back(tmp_path):
    result = CliRunner().invoke(registry_group, ["settings"])
    assert result.exit_code == 0
    assert "[registry]" in result.output
    assert "served_prefixes" in result.output
    path = tmp_path / "settings.toml"
    path.write_text(result.output, "utf-8")
    # served_prefixes is required, so the rendered file leaves it commented out for the operator to fill.
    loaded = load_settings(
        RegistrySettings, path=path, section="registry", env={"CARBONID_SERVED_PREFIXES": "88"}
    )
    assert loaded == RegistrySettings(served_prefixes=("88",))


async def test_admin_add_then_basic_auth_works(aiohttp_client, tmp_path, database_url):
    config = write_config(tmp_path, database_url)
    runner = CliRunner()
    # The command runs its own event loop, so it runs beside the test's.
    result = await asyncio.to_thread(
        runner.invoke, registry_group, ["admin", "add", "alice", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert len(secret) >= 24

    again = await asyncio.to_thread(
        runner.invoke, registry_group, ["admin", "add", "alice", "--config", str(config)]
    )
    assert again.exit_code == 1
    assert again.stderr.strip() == "error: administrator 'alice' already exists"

    settings = load_settings(RegistrySettings, path=config, section="registry", env={})
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/api/prefixes", headers=basic("alice", secret))).status == 200
    assert (await client.get("/api/prefixes", headers=basic("alice", secret + "x"))).status == 401
    # Authenticated: the approval fails for want of an application, not of credentials.
    response = await client.post("/api/prefixes/88.1/approve", headers=basic("alice", secret))
    assert response.status == 404


def test_admin_names_are_checked(tmp_path):
    config = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    result = CliRunner().invoke(registry_group, ["admin", "add", "al ice", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: administrator name")


async def test_anchor_is_the_served_did_document(aiohttp_client, tmp_path, database_url):
    config = write_config(tmp_path, database_url)
    runner = CliRunner()
    printed = runner.invoke(registry_group, ["anchor", "--config", str(config)])
    assert printed.exit_code == 0, printed.output
    anchor = json.loads(printed.stdout)
    assert anchor["id"] == "did:web:registry.test%3A18100"
    out = tmp_path / "anchor.json"
    written = runner.invoke(registry_group, ["anchor", "--config", str(config), "--out", str(out)])
    assert written.exit_code == 0
    assert json.loads(out.read_text("utf-8")) == anchor
    settings = load_settings(RegistrySettings, path=config, section="registry", env={})
    client = await aiohttp_client(create_app(settings))
    assert await (await client.get("/.well-known/did.json")).json() == anchor


@pytest.mark.parametrize("command", [["serve"], ["anchor"], ["admin", "add", "bob"]])
def test_bad_configuration_is_one_line_and_exit_2(tmp_path, command):
    config = tmp_path / "bad.toml"
    config.write_text('[registry]\nserved_prefixes = ["88..1"]\n', "utf-8")
    result = CliRunner().invoke(registry_group, [*command, "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "served_prefixes" in result.stderr


def test_serve_refuses_half_a_tls_configuration(tmp_path):
    config = tmp_path / "tls.toml"
    config.write_text(
        '[registry]\nserved_prefixes = ["88"]\n'
        f"tls_certificate = {json.dumps(str(tmp_path / 'missing.pem'))}\n",
        "utf-8",
    )
    result = CliRunner().invoke(registry_group, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "tls_certificate and tls_key" in result.stderr
