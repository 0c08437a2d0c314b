"""`carbonid resolve` against a served resolver (exit 0 verified, 1 failed / unsigned / not found, 2 no answer
or no resolver), and the `carbonid resolver` group (settings, serve refusals)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import unused_port
from click.testing import CliRunner, Result

from carbonid.resolver_cli import resolve_command, resolver
from common.settings import load_settings
from resolver.settings import ResolverSettings
from tests.resolver.conftest import Federation
from tests.resolver.test_trust import store_document, stored_document


async def run(*args: str, env: dict[str, str] | None = None) -> Result:
    # The command is synchronous: it runs beside the event loop that serves the federation.
    return await asyncio.to_thread(CliRunner().invoke, resolve_command, list(args), env=env)


async def test_exit_codes_say_verified_failed_not_found_and_unreachable(federation: Federation):
    f = federation
    resolver_service = await f.start_resolver()
    url = resolver_service.url
    handle = await f.publish(f.node2, "ACT.2025")

    verified = await run(handle, "--resolver", url)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.splitlines()[0] == f"{handle}  verified"
    assert f"registries     {f.root.url}" in verified.stdout
    assert "TEMPLATE" in verified.stdout
    assert "activity-data/1" in verified.stdout
    assert verified.stderr == ""

    as_json = await run(handle, "--json", env={"CARBONID_RESOLVER_URL": url})
    assert as_json.exit_code == 0
    body: dict[str, Any] = json.loads(as_json.stdout)
    assert body["verification"]["status"] == "verified"

    tampered = await f.publish(f.node2, "ACT.TAMPERED")
    version, document = await stored_document(f, f.node2, tampered)
    document["industrialAddedValue10kCny"] = 1
    await store_document(f, f.node2, tampered, version, document)
    failed = await run(tampered, "--resolver", url)
    assert failed.exit_code == 1
    assert failed.stdout.splitlines()[0] == f"{tampered}  failed"
    assert failed.stderr.startswith("error: failed: proof 0")
    assert "signature does not verify" in failed.stderr

    missing = await run("88.200.1/NOPE", "--resolver", url)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: not found: 88.200.1/NOPE")

    plain = await run("88.200.1/ADMIN", "--resolver", url)
    assert plain.exit_code == 1
    assert plain.stderr.startswith("error: unsigned:")

    # The node is down and nothing is cached: the resolver has no answer to give.
    await f.stop_node(f.node1)
    down = await run("88.186.1/ANY", "--resolver", url)
    assert down.exit_code == 2
    assert "no answer now: node" in down.stderr

    nobody = await run(handle, "--resolver", f"http://127.0.0.1:{unused_port()}")
    assert nobody.exit_code == 2
    assert "cannot reach the resolver" in nobody.stderr

    assert (await run(handle, "--resolver", "ftp://x")).exit_code == 2
    assert (await run("88..1/X", "--resolver", url)).exit_code == 2


def test_settings_output_loads_back(tmp_path):
    result = CliRunner().invoke(resolver, ["settings"])
    assert result.exit_code == 0
    assert "[resolver]" in result.output
    path = tmp_path / "settings.toml"
    path.write_text(result.output, "utf-8")
    env = {"CARBONID_ROOT_REGISTRY_URL": "http://127.0.0.1:18100", "CARBONID_TRUST_ANCHOR": "anchor.json"}
    loaded = load_settings(ResolverSettings, path=path, section="resolver", env=env)
    assert loaded.port == 18000
    assert loaded.root_registry_url == "http://127.0.0.1:18100"


def test_serve_refuses_bad_settings_and_a_missing_anchor(tmp_path):
    config = tmp_path / "resolver.toml"
    config.write_text('[resolver]\nroot_registry_url = "not a url"\ntrust_anchor = "a.json"\n', "utf-8")
    result = CliRunner().invoke(resolver, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "root_registry_url" in result.stderr
    config.write_text(
        '[resolver]\nroot_registry_url = "http://127.0.0.1:1"\n'
        f"trust_anchor = {json.dumps(str(tmp_path / 'missing.json'))}\n"
        f"data_dir = {json.dumps(str(tmp_path / 'data'))}\n",
        "utf-8",
    )
    result = CliRunner().invoke(resolver, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read the trust anchor")
