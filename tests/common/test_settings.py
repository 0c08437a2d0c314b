# RUF009 cannot tell that setting() is dataclasses.field() with documentation attached.
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from common.settings import (
    ServiceSettings,
    SettingsError,
    describe_settings,
    in_range,
    load_settings,
    matches,
    render_settings_toml,
    setting,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Database:
    url: str = setting(default="sqlite+aiosqlite:///data/x.db", doc="Database URL.")
    pool_size: int = setting(default=5, doc="Connections kept open.", validate=in_range(1, 100))


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    name: str = setting(doc="A required name.", validate=matches(r"[a-z]+", "lower-case letters"))
    port: int = setting(default=8080, doc="Port.", validate=in_range(1, 65535))
    ratio: float = setting(default=0.5, doc="A ratio.")
    debug: bool = setting(default=False, doc="Debug mode.")
    data_dir: Path = setting(default=Path("data"), doc="Data directory.")
    peers: tuple[str, ...] = setting(default=(), doc="Peer URLs.")
    weights: tuple[int, ...] = setting(default=(1, 2), doc="Weights.")
    public_url: str | None = setting(default=None, doc="Public URL, if any.")
    timeout_s: float | None = setting(default=None, doc="Timeout in seconds, if any.")
    mode: Literal["fast", "safe"] = setting(default="safe", doc="Mode.")
    secret_file: Path | None = setting(default=None, doc="Secret file.", env="CARBONID_SECRET")
    db: Database = setting(default_factory=Database, doc="The database.")


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomDefault:
    db: Database = setting(default_factory=lambda: Database(url="postgresql://db/x"), doc="The database.")


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    low: int = setting(default=0, doc="Lower bound.")
    high: int = setting(default=10, doc="Upper bound.")

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeLike(ServiceSettings):
    port: int = setting(default=8001, doc="Port of the node.", validate=in_range(0, 65535))
    prefix: str = setting(doc="Identifier prefix.")


REQUIRED = {"CARBONID_NAME": "acme"}


def write(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_required_from_env() -> None:
    assert load_settings(Example, path=None, env=REQUIRED) == Example(name="acme")


def test_toml_sets_every_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name = "acme"
        port = 9000
        ratio = 2
        debug = true
        data_dir = "/var/lib/carbonid"
        peers = ["https://a.example", "https://b.example"]
        weights = [3, 4, 5]
        public_url = "https://node.example"
        timeout_s = 1.5
        mode = "fast"
        secret_file = "/run/secret"
        [db]
        url = "postgresql://db/carbonid"
        pool_size = 20
        """,
    )
    settings = load_settings(Example, path=path, env={})
    assert settings == Example(
        name="acme",
        port=9000,
        ratio=2.0,
        debug=True,
        data_dir=Path("/var/lib/carbonid"),
        peers=("https://a.example", "https://b.example"),
        weights=(3, 4, 5),
        public_url="https://node.example",
        timeout_s=1.5,
        mode="fast",
        secret_file=Path("/run/secret"),
        db=Database(url="postgresql://db/carbonid", pool_size=20),
    )
    assert isinstance(settings.ratio, float)


def test_environment_overrides_file_and_file_overrides_default(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "acme"\nport = 9000\nratio = 0.25\n[db]\nurl = "postgresql://db/x"\n')
    env = {"CARBONID_PORT": "9100", "CARBONID_DB__POOL_SIZE": "7"}
    settings = load_settings(Example, path=path, env=env)
    assert settings.port == 9100  # environment beats the file
    assert settings.ratio == 0.25  # file beats the default
    assert settings.debug is False  # default when nobody says otherwise
    assert settings.db == Database(url="postgresql://db/x", pool_size=7)


@pytest.mark.parametrize(
    ("var", "raw", "attribute", "expected"),
    [
        ("CARBONID_DEBUG", "true", "debug", True),
        ("CARBONID_DEBUG", "TRUE", "debug", True),
        ("CARBONID_DEBUG", "1", "debug", True),
        ("CARBONID_DEBUG", "yes", "debug", True),
        ("CARBONID_DEBUG", "false", "debug", False),
        ("CARBONID_DEBUG", "0", "debug", False),
        ("CARBONID_DEBUG", "No", "debug", False),
        ("CARBONID_PORT", " 8443 ", "port", 8443),
        ("CARBONID_RATIO", "1e-3", "ratio", 0.001),
        ("CARBONID_DATA_DIR", "/srv/data", "data_dir", Path("/srv/data")),
        ("CARBONID_PEERS", "https://a, https://b,,", "peers", ("https://a", "https://b")),
        ("CARBONID_PEERS", "", "peers", ()),
        ("CARBONID_WEIGHTS", "7,8", "weights", (7, 8)),
        ("CARBONID_PUBLIC_URL", "https://x", "public_url", "https://x"),
        ("CARBONID_PUBLIC_URL", "", "public_url", None),
        ("CARBONID_TIMEOUT_S", "2.5", "timeout_s", 2.5),
        ("CARBONID_MODE", "fast", "mode", "fast"),
        ("CARBONID_SECRET", "/run/s", "secret_file", Path("/run/s")),
        ("CARBONID_DB__URL", "postgresql://h/d", "db", Database(url="postgresql://h/d")),
    ],
)
def test_environment_coercion(var: str, raw: str, attribute: str, expected: object) -> None:
    settings = load_settings(Example, path=None, env={**REQUIRED, var: raw})
    assert getattr(settings, attribute) == expected


@pytest.mark.parametrize(
    ("var", "raw", "problem"),
    [
        ("CARBONID_PORT", "eighty", "expected an integer"),
        ("CARBONID_PORT", "8.5", "expected an integer"),
        ("CARBONID_PORT", "0", "must be at least 1"),
        ("CARBONID_DEBUG", "maybe", "expected a boolean"),
        ("CARBONID_RATIO", "half", "expected a number"),
        ("CARBONID_WEIGHTS", "1,two", "expected an integer"),
        ("CARBONID_MODE", "reckless", "expected one of 'fast', 'safe'"),
        ("CARBONID_DB__POOL_SIZE", "1000", "must be at most 100"),
        ("CARBONID_NAME", "ACME", "must be lower-case letters"),
        ("CARBONID_DATA_DIR", " ", "expected a non-empty path"),
    ],
)
def test_bad_environment_value_names_the_variable(var: str, raw: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(Example, path=None, env={**REQUIRED, var: raw})
    message = str(caught.value)
    assert f"environment variable {var}" in message
    assert problem in message
    assert "\n" not in message
    assert caught.value.source == f"environment variable {var}"


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ('port = "8080"', "port", "expected an integer"),
        ("port = true", "port", "expected an integer"),
        ("port = 70000", "port", "must be at most 65535"),
        ('debug = "yes"', "debug", "expected a boolean"),
        ("ratio = false", "ratio", "expected a number"),
        ("name = 5", "name", "expected a string"),
        ('peers = "https://a"', "peers", "expected an array"),
        ("weights = [1, 1.5]", "weights", "expected an integer"),
        ('mode = "FAST"', "mode", "expected one of"),
        ("db = 3", "db", "expected a table"),
        ("[db]\npool_size = 0", "db.pool_size", "must be at least 1"),
    ],
)
def test_bad_file_value_names_file_and_key(tmp_path: Path, toml: str, key: str, problem: str) -> None:
    path = write(tmp_path, toml if key == "name" else f'name = "acme"\n{toml}')
    with pytest.raises(SettingsError) as caught:
        load_settings(Example, path=path, env={})
    message = str(caught.value)
    assert f"{path}:{key}" in message
    assert problem in message
    assert "\n" not in message


def test_unknown_file_key_is_refused_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "prot = 8080\n")
    with pytest.raises(SettingsError, match=r"unknown setting 'prot' \(did you mean 'port'\?\)") as caught:
        load_settings(Example, path=path, env=REQUIRED)
    assert caught.value.source == f"{path}:prot"


def test_unknown_nested_file_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[db]\nurll = "x"\n')
    with pytest.raises(SettingsError, match=r":db\.urll: unknown setting 'db\.urll'"):
        load_settings(Example, path=path, env=REQUIRED)


def test_unknown_variable_in_a_table_namespace_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"CARBONID_DB__URLL.*did you mean CARBONID_DB__URL"):
        load_settings(Example, path=None, env={**REQUIRED, "CARBONID_DB__URLL": "x"})


def test_unknown_top_level_variable_warns_without_failing(caplog: pytest.LogCaptureFixture) -> None:
    # CARBONID_* is shared with other services and tools, e.g. CARBONID_TEST_POSTGRES_URL.
    with caplog.at_level(logging.WARNING, logger="common.settings"):
        settings = load_settings(Example, path=None, env={**REQUIRED, "CARBONID_PROT": "1"})
    assert settings.port == 8080
    assert [r.env_var for r in caplog.records] == ["CARBONID_PROT"]  # type: ignore[attr-defined]


def test_table_set_as_a_variable_is_refused() -> None:
    with pytest.raises(SettingsError, match="CARBONID_DB__<KEY>"):
        load_settings(Example, path=None, env={**REQUIRED, "CARBONID_DB": "x"})


def test_missing_required_setting_names_field_and_sources(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 1\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(Example, path=path, env={})
    assert str(caught.value) == (
        f"missing required setting 'name' (set {path}:name or environment variable CARBONID_NAME)"
    )
    assert caught.value.field == "name"


def test_section_reads_one_table_of_a_shared_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[node]\nname = "acme"\nport = 1\n[resolver]\nanything = "else"\n')
    assert load_settings(Example, path=path, env={}, section="node") == Example(name="acme", port=1)
    with pytest.raises(SettingsError, match=r":node\.prot: unknown setting 'prot'"):
        load_settings(
            Example, path=write(tmp_path, "[node]\nprot = 1\n", "b.toml"), env=REQUIRED, section="node"
        )


def test_nested_default_instance_keeps_its_values_when_one_key_changes() -> None:
    settings = load_settings(CustomDefault, path=None, env={"CARBONID_DB__POOL_SIZE": "9"})
    assert settings.db == Database(url="postgresql://db/x", pool_size=9)


def test_cross_field_check_in_post_init_becomes_settings_error() -> None:
    with pytest.raises(SettingsError, match="settings Window: low must not exceed high"):
        load_settings(Window, path=None, env={"CARBONID_LOW": "11"})


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(Example, path=tmp_path / "nope.toml", env=REQUIRED)
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_settings(Example, path=write(tmp_path, "port = = 1"), env=REQUIRED)


def test_service_settings_subclass_redeclares_a_default() -> None:
    settings = load_settings(
        NodeLike, path=None, env={"CARBONID_PREFIX": "88.186.1", "CARBONID_LOG_JSON": "no"}
    )
    assert settings.port == 8001
    assert settings.prefix == "88.186.1"
    assert settings.log_json is False
    assert settings.database_url is None


@pytest.mark.parametrize("cls", [Example, ServiceSettings, NodeLike, CustomDefault, Window])
def test_every_setting_is_documented(cls: type) -> None:
    docs = describe_settings(cls)
    assert docs
    for doc in docs:
        assert doc.doc.strip(), f"{cls.__name__}.{doc.name} has no documentation"


def test_describe_settings_lists_names_types_defaults_and_variables() -> None:
    docs = {d.name: d for d in describe_settings(Example)}
    assert docs["name"].required
    assert docs["name"].env == "CARBONID_NAME"
    assert docs["port"].default == 8080
    assert docs["port"].type == "integer"
    assert docs["secret_file"].env == "CARBONID_SECRET"
    assert docs["mode"].type == 'one of "fast", "safe"'
    assert docs["db"].type == "table"
    assert docs["db.pool_size"].env == "CARBONID_DB__POOL_SIZE"
    assert docs["db.pool_size"].default == 5


@pytest.mark.parametrize(
    ("cls", "env"),
    [(Example, REQUIRED), (ServiceSettings, {}), (NodeLike, {"CARBONID_PREFIX": "88"}), (CustomDefault, {})],
)
@pytest.mark.parametrize("section", [None, "svc"])
def test_rendered_toml_parses_back_to_the_defaults(
    tmp_path: Path, cls: type, env: dict[str, str], section: str | None
) -> None:
    text = render_settings_toml(cls, section=section)
    tomllib.loads(text)
    path = write(tmp_path, text)
    assert load_settings(cls, path=path, env=env, section=section) == load_settings(cls, path=None, env=env)


def test_rendered_toml_shows_docs_and_variables() -> None:
    text = render_settings_toml(Example)
    assert "# Port.\n# type: integer; env: CARBONID_PORT\nport = 8080\n" in text
    assert "# type: string; env: CARBONID_NAME; required\n# name = ..." in text
    assert "[db]" in text
    assert "pool_size = 5" in text
    assert "weights = [1, 2]" in text
