"""`carbonid node`: init (once), settings, apply to a (fake) registry, publish."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import tomllib
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner

from carbonid.node_cli import node
from certs.data_integrity import ASSERTION_METHOD, AUTHENTICATION
from certs.did import DidDocument, VerificationMethod, did_web_for_url
from certs.errors import VerificationError
from certs.keys import public_key_from_multibase
from certs.signed_requests import verify_request
from common.settings import load_settings
from metadata_templates import TemplateValidationError, default_catalog, validate
from node.app import create_app
from node.settings import NodeSettings
from tests.node.conftest import PREFIX, activity, basic, example


def write_config(directory: Path, database_url: str, **extra: object) -> Path:
    table = {"prefix": PREFIX, "data_dir": str(directory / "data"), "database_url": database_url, **extra}
    path = directory / "node.toml"
    path.write_text("[node]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items()), "utf-8")
    return path


def invoke(*args: str):
    return CliRunner().invoke(node, list(args), catch_exceptions=False)


def secret_of(output: str) -> str:
    match = re.search(r"^admin secret (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


async def test_init_once_then_rotate(tmp_path, database_url, aiohttp_client):
    config = write_config(tmp_path, database_url)
    first = await asyncio.to_thread(invoke, "init", "--config", str(config))
    assert first.exit_code == 0, first.output
    assert f"admin user   300:{PREFIX}/ADMIN" in first.output
    secret = secret_of(first.output)
    assert (tmp_path / "data" / "keys" / "ed25519.key").exists()

    again = await asyncio.to_thread(invoke, "init", "--config", str(config))
    assert again.exit_code == 1
    assert "already initialised" in again.output
    assert "--rotate-secret" in again.output

    rotated = await asyncio.to_thread(invoke, "init", "--config", str(config), "--rotate-secret")
    assert rotated.exit_code == 0, rotated.output
    new_secret = secret_of(rotated.output)
    assert new_secret != secret

    settings = load_settings(NodeSettings, path=config, section="node", env={})
    client = await aiohttp_client(create_app(settings))
    admin = f"300:{PREFIX}/ADMIN"
    old = await client.get(f"/api/handles/{PREFIX}/ADMIN", headers={"Authorization": basic(admin, secret)})
    assert old.status == 401
    new = await client.get(
        f"/api/handles/{PREFIX}/ADMIN?index=300", headers={"Authorization": basic(admin, new_secret)}
    )
    assert new.status == 200
    assert (await new.json())["values"][0]["type"] == "HS_SECKEY"


def test_settings_are_printed_and_load_back(tmp_path):
    result = invoke("settings")
    assert result.exit_code == 0
    text = result.output
    assert "[node]" in text
    assert "port = 18443" in text
    path = tmp_path / "node.toml"
    path.write_text(text.replace("# prefix = ...", f'prefix = "{PREFIX}"'), "utf-8")
    assert load_settings(NodeSettings, path=path, section="node", env={}) == NodeSettings(prefix=PREFIX)
    assert tomllib.loads(path.read_text("utf-8"))["node"]["sign_sm2"] is False


def test_bad_configuration_is_exit_2(tmp_path):
    missing = invoke("init", "--config", str(tmp_path / "none.toml"))
    assert missing.exit_code == 2
    assert missing.output.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('[node]\nprefix = "88.186.1"\nport = "x"\n', "utf-8")
    result = invoke("serve", "--config", str(bad))
    assert result.exit_code == 2
    assert "port" in result.output


# --------------------------------------------------------------------------------------------------------------
# node apply, against a fake registry that checks the signed request as the real one must


def fake_registry(*, taken: set[str], received: list[dict]) -> web.Application:
    catalog = default_catalog()
    seen: set[tuple[str, str]] = set()

    def problem(status: int, kind: str, title: str, detail: str) -> web.Response:
        body = {
            "type": f"https://carbonid.org/problems/{kind}",
            "title": title,
            "status": status,
            "detail": detail,
        }
        return web.json_response(body, status=status, content_type="application/problem+json")

    async def apply(request: web.Request) -> web.Response:
        document = await request.json()
        did = document["did"]
        methods = tuple(
            VerificationMethod(key["id"], did, public_key_from_multibase(key["publicKeyMultibase"]))
            for key in document["keys"]
        )
        ids = tuple(m.id for m in methods)
        keys = DidDocument(
            id=did, methods=methods, relationships={ASSERTION_METHOD: ids, AUTHENTICATION: ids}
        )
        own_did = did_web_for_url(str(request.url.origin()))
        try:
            verified = verify_request(document, keys, domain=own_did, loader=catalog.loader)
        except VerificationError as exc:
            return problem(401, "invalid-signature", "Invalid Signature", str(exc))
        if (verified.verification_method, verified.nonce) in seen:
            return problem(409, "replayed-request", "Replayed Request", "nonce already used")
        seen.add((verified.verification_method, verified.nonce))
        try:
            validate(
                catalog.resolve("prefix-application/1"), {k: v for k, v in document.items() if k != "proof"}
            )
        except TemplateValidationError as exc:
            return problem(422, "invalid-application", "Invalid Application", str(exc))
        if document["prefix"] in taken:
            return problem(
                409, "prefix-taken", "Prefix Taken", f"{document['prefix']} belongs to another enterprise"
            )
        received.append(document)
        prefix = document["prefix"]
        return web.json_response(
            {"prefix": prefix, "status": "pending", "href": f"/api/prefixes/{prefix}"}, status=201
        )

    app = web.Application()
    app.router.add_post("/api/prefixes", apply)
    return app


def profile_file(tmp_path: Path, name: str = "profile", **changes: object) -> Path:
    profile = example("enterprise-profile/1")
    profile.update(changes)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(profile, ensure_ascii=False), "utf-8")
    return path


async def test_apply_is_signed_and_accepted(tmp_path, database_url, aiohttp_server):
    received: list[dict] = []
    registry = await aiohttp_server(fake_registry(taken=set(), received=received))
    url = str(registry.make_url("/")).rstrip("/")
    config = write_config(tmp_path, database_url, public_url="https://node.example:18443")
    result = await asyncio.to_thread(
        invoke,
        "apply",
        "--config",
        str(config),
        "--profile",
        str(profile_file(tmp_path)),
        "--registry",
        url,
        "--note",
        "hello",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "prefix": PREFIX,
        "status": "pending",
        "href": f"/api/prefixes/{PREFIX}",
    }
    (application,) = received
    assert application["serviceUrl"] == "https://node.example:18443"
    assert application["did"] == "did:web:node.example%3A18443"
    assert application["note"] == "hello"
    assert application["profile"]["name"] == example("enterprise-profile/1")["name"]
    # The keys applied for are the node's own.
    public = (tmp_path / "data" / "keys" / "ed25519.pub.pem").read_bytes()
    from certs.keys import load_public_key

    assert [k["publicKeyMultibase"] for k in application["keys"]] == [load_public_key(public).multibase]
    assert application["proof"]["proofPurpose"] == "authentication"


async def test_apply_refusals_exit_1_with_the_problem(tmp_path, database_url, aiohttp_server):
    registry = await aiohttp_server(fake_registry(taken={PREFIX}, received=[]))
    url = str(registry.make_url("/")).rstrip("/")
    config = write_config(tmp_path, database_url, registry_url=url)
    profile = str(profile_file(tmp_path))

    taken = await asyncio.to_thread(invoke, "apply", "--config", str(config), "--profile", profile)
    assert taken.exit_code == 1
    assert "refused the application (409)" in taken.output
    assert f"Prefix Taken: {PREFIX} belongs to another enterprise" in taken.output

    wrong_domain = await asyncio.to_thread(
        invoke,
        "apply",
        "--config",
        str(config),
        "--profile",
        profile,
        "--registry-did",
        "did:web:elsewhere.example",
    )
    assert wrong_domain.exit_code == 1
    assert "Invalid Signature" in wrong_domain.output

    other_prefix = await asyncio.to_thread(
        invoke,
        "apply",
        "--config",
        str(config),
        "--profile",
        str(profile_file(tmp_path, "other", prefix="88.186.7")),
    )
    assert other_prefix.exit_code == 1
    assert "/profile/prefix" in other_prefix.output

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = await asyncio.to_thread(
        invoke,
        "apply",
        "--config",
        str(config),
        "--profile",
        profile,
        "--registry",
        f"http://127.0.0.1:{closed_port}",
    )
    assert unreachable.exit_code == 1
    assert "did not answer" in unreachable.output

    no_registry = await asyncio.to_thread(
        invoke, "apply", "--config", str(write_config(tmp_path, database_url)), "--profile", profile
    )
    assert no_registry.exit_code == 2


async def test_publish_from_the_command_line(tmp_path, database_url):
    config = write_config(tmp_path, database_url)
    assert (await asyncio.to_thread(invoke, "init", "--config", str(config))).exit_code == 0
    document = tmp_path / "activity.json"
    document.write_text(json.dumps(activity()), "utf-8")
    result = await asyncio.to_thread(
        invoke, "publish", "--config", str(config), "activity-data", str(document), "--suffix", "ACT.CLI"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["handle"] == f"{PREFIX}/ACT.CLI"
    again = await asyncio.to_thread(
        invoke, "publish", "--config", str(config), "activity-data", str(document), "--suffix", "ACT.CLI"
    )
    assert again.exit_code == 1
    assert "/reason" in again.output
    bad = activity()
    bad["prefix"] = "88.186.9"
    document.write_text(json.dumps(bad), "utf-8")
    invalid = await asyncio.to_thread(
        invoke, "publish", "--config", str(config), "activity-data", str(document)
    )
    assert invalid.exit_code == 1
    assert "/document/prefix" in invalid.output


@pytest.mark.parametrize("name", ["init", "serve", "apply", "publish", "settings"])
def test_every_command_has_help(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0
    assert result.output.startswith("Usage:")
