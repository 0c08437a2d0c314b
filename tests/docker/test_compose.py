"""docker/: what can be checked without a Docker engine.

The compose file parses; every service has an image or a build; every carbonid service's command is a real
command of the CLI, its TOML file and CARBONID_* variables (the image's included) name real settings of
that service and load; ports, healthchecks, public URLs, databases and depends_on agree with each other;
the init script only uses what its service mounts and sets; every file the compose file or the Dockerfile
names exists.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from carbonid.cli import main
from common.settings import ServiceSettings, describe_settings, load_settings
from handle_registry.service.settings import RegistrySettings
from metadata_templates import default_catalog, validate
from node.settings import NodeSettings
from resolver.settings import ResolverSettings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
ROOT = DOCKER.parent
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text("utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SETTINGS = {"registry": RegistrySettings, "node": NodeSettings, "resolver": ResolverSettings}
INIT_SCRIPT = (DOCKER / "init.sh").read_text("utf-8")


def dockerfile_lines() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in (DOCKER / "Dockerfile").read_text("utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return joined


def image_environment() -> dict[str, str]:
    """The ENV the image sets."""
    env: dict[str, str] = {}
    for line in dockerfile_lines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                name, _, value = item.partition("=")
                env[name] = value
    return env


@dataclass
class CarbonidService:
    """A compose service running `carbonid <kind> serve --config FILE`, with its settings loaded."""

    name: str
    kind: str
    config: Path
    section: str
    environment: dict[str, str]
    settings: ServiceSettings


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → source (a path relative to docker/, or a named volume)."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        found[target] = source
    return found


def mounted_file(service: dict[str, Any], container_path: str) -> Path:
    source = mounts(service).get(container_path)
    assert source is not None, f"{container_path} is not mounted"
    assert source.startswith("./"), f"{container_path} should come from a file of docker/, not {source}"
    return DOCKER / source


@cache
def carbonid() -> dict[str, CarbonidService]:
    """The carbonid services by name, their settings loaded as the container would (a failure fails the test)."""
    services = {}
    for name, service in SERVICES.items():
        command = service.get("command") or []
        if len(command) < 4 or command[1] != "serve":
            continue
        kind, config_path = command[0], command[command.index("--config") + 1]
        config = mounted_file(service, config_path)
        env = {**image_environment(), **environment(service)}
        settings = load_settings(SETTINGS[kind], path=config, env=env, section=kind)
        services[name] = CarbonidService(name, kind, config, kind, env, settings)
    return services


def test_compose_runs_a_registry_two_nodes_and_the_resolver_on_postgres():
    kinds = sorted(service.kind for service in carbonid().values())
    assert kinds == ["node", "node", "registry", "resolver"]
    assert any(service.get("image", "").startswith("postgres") for service in SERVICES.values())


def test_every_service_has_an_image_or_a_build():
    for name, service in SERVICES.items():
        assert service.get("image") or service.get("build"), name


def test_the_build_uses_the_dockerfile_of_this_folder():
    for name, service in SERVICES.items():
        build = service.get("build")
        if build is None:
            continue
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT, name
        assert (context / build["dockerfile"]).resolve() == DOCKER / "Dockerfile", name


def test_every_command_is_a_command_of_the_cli():
    for service in carbonid().values():
        command = SERVICES[service.name]["command"]
        if command[0] == "resolver" and "resolver" not in main.commands:
            pytest.skip("the resolver's command group is not registered in carbonid.cli yet")
        group = main.commands[command[0]]
        serve = group.commands[command[1]]  # type: ignore[attr-defined]
        assert "--config" in {opt for param in serve.params for opt in param.opts}


def test_every_toml_key_and_carbonid_variable_names_a_real_setting():
    for service in carbonid().values():
        documented = describe_settings(SETTINGS[service.kind])
        names = {doc.name for doc in documented}
        variables = {doc.env for doc in documented}
        table = tomllib.loads(service.config.read_text("utf-8"))
        assert set(table) == {service.section}, f"{service.config.name} holds one table, [{service.section}]"
        assert set(table[service.section]) <= names, service.config.name
        carbonid_vars = {name for name in service.environment if name.startswith("CARBONID_")}
        assert carbonid_vars <= variables, service.name


def test_every_service_listens_on_all_interfaces_at_its_published_and_checked_port():
    for service in carbonid().values():
        settings = service.settings
        assert settings.host == "0.0.0.0", service.name  # inside a container
        published = {int(entry.split(":")[-1]) for entry in SERVICES[service.name]["ports"]}
        assert published == {settings.port}, service.name
        check = " ".join(SERVICES[service.name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{settings.port}/healthz" in check, service.name


def test_public_urls_name_the_service_in_the_compose_network():
    registry_url = next(s.settings.base_url() for s in carbonid().values() if s.kind == "registry")
    for service in carbonid().values():
        url = urlsplit(service.settings.base_url())
        assert url.port == service.settings.port, service.name
        if service.kind == "resolver":
            assert service.settings.root_registry_url == registry_url  # type: ignore[attr-defined]
            continue
        assert url.hostname == service.name, service.name
        if service.kind == "node":
            assert service.settings.registry_url == registry_url, service.name  # type: ignore[attr-defined]


def test_every_service_has_its_own_database_created_by_the_init_script():
    created = set(
        re.findall(r"CREATE DATABASE (\w+);", (DOCKER / "postgres" / "init-databases.sql").read_text())
    )
    postgres = next(
        name for name, service in SERVICES.items() if service.get("image", "").startswith("postgres")
    )
    init_sql = mounts(SERVICES[postgres])
    assert any(target.startswith("/docker-entrypoint-initdb.d/") for target in init_sql)
    databases = []
    for service in carbonid().values():
        url = urlsplit(service.settings.database_url or "")
        assert url.scheme == "postgresql+asyncpg", service.name
        assert url.hostname == postgres, service.name
        databases.append(url.path.lstrip("/"))
    assert len(set(databases)) == len(databases), "two services share a database"
    assert set(databases) <= created


def test_data_dirs_are_named_volumes():
    declared = set(COMPOSE["volumes"])
    for service in carbonid().values():
        source = mounts(SERVICES[service.name]).get(str(service.settings.data_dir))
        assert source in declared, (
            f"{service.name}: data_dir {service.settings.data_dir} is not a named volume"
        )
    assert image_environment()["CARBONID_DATA_DIR"] == "/data"


def test_depends_on_names_services_and_waits_for_what_is_needed():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            assert dependency != name
    for service in carbonid().values():
        depends = SERVICES[service.name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["init"]["condition"] == "service_completed_successfully"
        if service.kind != "registry":
            assert depends["registry"]["condition"] == "service_healthy"
        assert "healthcheck" in SERVICES[service.name]
    assert "healthcheck" in SERVICES["postgres"]
    assert SERVICES["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_init_script_uses_only_what_its_service_mounts_and_sets():
    init = SERVICES["init"]
    assert init["entrypoint"][-1] in mounts(init)
    assert mounted_file(init, init["entrypoint"][-1]) == DOCKER / "init.sh"
    init_env = environment(init)
    for variable in set(re.findall(r'"\$([A-Z_]+)"', INIT_SCRIPT)):
        assert variable in init_env, variable
    for config in re.findall(r'\$CONFIG/([\w.-]+\.toml)"', INIT_SCRIPT):
        mounted_file(init, f"/etc/carbonid/{config}")
    for volume in set(re.findall(r"/volumes/([\w-]+)(?=[/\s\"]|$)", INIT_SCRIPT, flags=re.MULTILINE)):
        assert f"/volumes/{volume}" in mounts(init), volume
    nodes = re.findall(r"^node_init (\w+) \"\$(\w+)\"$", INIT_SCRIPT, flags=re.MULTILINE)
    assert len(nodes) == 2
    for node_name, url_variable in nodes:
        config = mounted_file(init, f"/etc/carbonid/node-{node_name}.toml")
        # The node initialised is the node served: same settings file, same database, same volume.
        served = next(s for s in carbonid().values() if s.config == config)
        assert served.settings.database_url == init_env[url_variable]
        data_volume = mounts(SERVICES[served.name])[str(served.settings.data_dir)]
        assert mounts(init)[f"/volumes/node-{node_name}"] == data_volume
    registry = next(s for s in carbonid().values() if s.kind == "registry")
    assert init_env["REGISTRY_DATABASE_URL"] == registry.settings.database_url
    assert (
        mounts(init)["/volumes/registry"] == mounts(SERVICES[registry.name])[str(registry.settings.data_dir)]
    )


def test_the_resolver_pins_the_anchor_the_init_script_writes():
    resolver = next(s for s in carbonid().values() if s.kind == "resolver")
    anchor = resolver.settings.trust_anchor  # type: ignore[attr-defined]
    data_dir = resolver.settings.data_dir
    volume = mounts(SERVICES[resolver.name])[str(data_dir)]
    init_path = next(target for target, source in mounts(SERVICES["init"]).items() if source == volume)
    assert f"--out {init_path}/{anchor.relative_to(data_dir)}" in INIT_SCRIPT


def test_the_node_profiles_are_valid_and_name_the_node_prefix():
    template = default_catalog().resolve("enterprise-profile/1")
    for service in carbonid().values():
        if service.kind != "node":
            continue
        profile = mounted_file(SERVICES[service.name], "/etc/carbonid/profile.json")
        document = yaml.safe_load(profile.read_text("utf-8"))
        validate(template, document)
        assert document["prefix"] == service.settings.prefix  # type: ignore[attr-defined]


def test_every_file_the_compose_file_names_exists():
    for name, service in SERVICES.items():
        for target, source in mounts(service).items():
            if source.startswith("."):
                assert (DOCKER / source).is_file(), f"{name}: {source} for {target}"


def test_the_dockerfile_builds_a_non_root_carbonid_image_from_files_that_exist():
    lines = dockerfile_lines()
    assert lines[0] == "FROM python:3.11-slim"
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text("utf-8").splitlines()
    kept = {line[1:] for line in ignore if line.startswith("!")}
    for line in lines:
        if line.startswith("COPY "):
            *sources, _ = shlex.split(line[5:])
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source in kept, f"{source} is left out of the build context"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image must not run as root"
    assert users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["carbonid"]' in lines
    assert any(line.startswith("VOLUME ") and "/data" in line for line in lines)
    assert "pip install ." in " ".join(lines)
