"""Settings: one frozen dataclass per service, read from TOML and ``CARBONID_*`` environment variables.

A service declares its settings as a frozen dataclass whose fields are made with :func:`setting`, so every
field carries its documentation and an optional validator::

    @dataclass(frozen=True, slots=True, kw_only=True)
    class NodeSettings(ServiceSettings):
        prefix: str = setting(doc="Identifier prefix this node publishes under, e.g. 88.186.1.")

:func:`load_settings` reads the TOML file, overlays the environment (``CARBONID_PREFIX``; nested dataclass
fields as ``CARBONID_<FIELD>__<SUB>``), coerces every value to its annotated type and validates it; any
problem is one :class:`SettingsError` naming the field and where the value came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import logging
import os
import re
import textwrap
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal, TypeVar, overload

__all__ = [
    "ServiceSettings",
    "SettingDoc",
    "SettingsError",
    "describe_settings",
    "in_range",
    "load_settings",
    "matches",
    "non_empty",
    "render_settings_toml",
    "setting",
]

T = TypeVar("T")
V = TypeVar("V")

_log = logging.getLogger(__name__)

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class SettingsError(ValueError):
    """A setting is unknown, missing, of the wrong type or fails its validator.

    The message is one line naming the field and its source; ``field`` and ``source`` carry the same for code.
    """

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.source = source


# --------------------------------------------------------------------------------------------------------------
# Declaring settings


@overload
def setting(
    *,
    default: V,
    doc: str,
    validate: Callable[[V], object] | None = None,
    env: str | None = None,
) -> V: ...


@overload
def setting(
    *,
    default_factory: Callable[[], V],
    doc: str,
    validate: Callable[[V], object] | None = None,
    env: str | None = None,
) -> V: ...


@overload
def setting(
    *,
    doc: str,
    validate: Callable[[Any], object] | None = None,
    env: str | None = None,
) -> Any: ...


def setting(
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    doc: str,
    validate: Callable[[Any], object] | None = None,
    env: str | None = None,
) -> Any:
    """Declare a documented settings field; without a default the field is required.

    ``validate`` receives the coerced value and rejects it by raising ``ValueError`` with the reason.
    ``env`` overrides the environment variable name derived from the field's path.
    """
    metadata = {"doc": doc, "validate": validate, "env": env}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def in_range(minimum: float | None = None, maximum: float | None = None) -> Callable[[float], None]:
    """Validator: the number lies within ``[minimum, maximum]`` (either bound may be open)."""

    def check(value: float) -> None:
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}, got {value}")

    return check


def non_empty(value: object) -> None:
    """Validator: the string or tuple is not empty (a required setting set to '' is usually a mistake)."""
    if isinstance(value, str | tuple) and not value:
        raise ValueError("must not be empty")


def matches(pattern: str, description: str) -> Callable[[str], None]:
    """Validator: the whole string matches ``pattern``; ``description`` says what is expected."""
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if compiled.fullmatch(value) is None:
            raise ValueError(f"must be {description}, got {value!r}")

    return check


def optional(check: Callable[[str], None]) -> Callable[[str | None], None]:
    """Apply `check` to a value only when it is set."""

    def run(value: str | None) -> None:
        if value is not None:
            check(value)

    return run


def _ip_networks(value: tuple[str, ...]) -> None:
    """Validator: every item is an IP address or network (CIDR)."""
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings:
    """What every carbonid service has: where it listens, where its data lives, how it logs.

    Services subclass it (``@dataclass(frozen=True, slots=True, kw_only=True)``) and may redeclare a field to
    change its default, e.g. the port.
    """

    host: str = setting(default="127.0.0.1", doc="Address the HTTP server binds to.", validate=non_empty)
    port: int = setting(
        default=8080,
        doc="TCP port the HTTP server listens on (0 picks a free port).",
        validate=in_range(0, 65535),
    )
    data_dir: Path = setting(
        default=Path("data"),
        doc="Directory for the service's files: the SQLite database, keys, caches.",
    )
    database_url: str | None = setting(
        default=None,
        doc=(
            "SQLAlchemy database URL, e.g. postgresql+asyncpg://user@host/db. "
            "When unset, a SQLite file in data_dir is used."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = setting(
        default="info", doc="Lowest level of log records written."
    )
    log_json: bool = setting(
        default=True, doc="Write logs as one JSON object per line (false: human-readable text)."
    )
    max_body_bytes: int = setting(
        default=1024 * 1024,
        doc="Largest request body accepted, in bytes; larger bodies are answered with 413.",
        validate=in_range(1024, None),
    )
    rate_limit_resolve_per_second: float = setting(
        default=200.0,
        doc=(
            "Resolution requests (GET /api/handles/..., certificate pages) each client may make a second, "
            "on average; 0 turns the limit off (benchmarks). More get 429 with Retry-After. A client is its "
            "address (an IPv6 client its /64)."
        ),
        validate=in_range(0, None),
    )
    rate_limit_resolve_burst: int = setting(
        default=400,
        doc="Resolution requests a client may make at once before rate_limit_resolve_per_second applies.",
        validate=in_range(1, None),
    )
    rate_limit_publish_per_minute: float = setting(
        default=120.0,
        doc=(
            "Publishing requests (writes of records, forms and handles, prefix applications, evaluations, "
            "notifications) each client may make a minute, on average; 0 turns the limit off. A client is "
            "the account its credentials name, else its address."
        ),
        validate=in_range(0, None),
    )
    rate_limit_publish_burst: int = setting(
        default=60,
        doc="Publishing requests a client may make at once before rate_limit_publish_per_minute applies.",
        validate=in_range(1, None),
    )
    rate_limit_max_clients: int = setting(
        default=50_000,
        doc=(
            "Clients remembered per rate-limited class of routes (least recently seen forgotten first), "
            "which bounds the limiters' memory (about 12 MB per class at the default)."
        ),
        validate=in_range(1, None),
    )
    rate_limit_exempt_loopback: bool = setting(
        default=True,
        doc=(
            "Leave requests from this host (a loopback peer, with no X-Forwarded-For or Forwarded header) "
            "unlimited: the command line, co-located services and the local demo all share that address. A "
            "request a proxy on this host forwarded is limited by its client, or by the proxy's address when "
            "the proxy is not among trusted_proxies."
        ),
    )
    trusted_proxies: tuple[str, ...] = setting(
        default=(),
        doc=(
            "Addresses or networks (CIDR) of reverse proxies in front of the service: only for a peer among "
            "them is the client read from X-Forwarded-For (the rightmost address that is not a proxy)."
        ),
        validate=_ip_networks,
    )
    public_url: str | None = setting(
        default=None,
        doc=(
            "The service's base URL as others reach it (e.g. https://node.example:8443); it names the "
            "service's did:web DID and absolute links. Default: built from host, port and TLS."
        ),
        validate=optional(
            matches(r"https?://[^/?#\s]+(/[^?#\s]*)?", "an http(s) URL without query or fragment")
        ),
    )
    tls_certificate: Path | None = setting(
        default=None, doc="PEM certificate chain to serve HTTPS with; unset serves plain HTTP."
    )
    tls_key: Path | None = setting(default=None, doc="PEM private key of tls_certificate.")
    tls_client_ca: Path | None = setting(
        default=None,
        doc=(
            "Federation CA certificate (PEM): clients presenting a certificate it issued are identified by the "
            "prefix the certificate is bound to. Needs tls_certificate."
        ),
    )

    def base_url(self) -> str:
        """`public_url`, or the URL this service is reached at from its own host and port."""
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_certificate else "http"
        # A wildcard bind address is not a reachable host; the URL names the loopback instead.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"{scheme}://{host}:{self.port}"


# --------------------------------------------------------------------------------------------------------------
# Describing settings


@dataclass(frozen=True, slots=True)
class SettingDoc:
    """One documented setting: dotted name, type, default, documentation, environment variable."""

    name: str
    type: str
    default: object
    required: bool
    doc: str
    env: str


def describe_settings(cls: type[Any], *, prefix: str = "CARBONID_") -> list[SettingDoc]:
    """List every setting of ``cls`` (nested tables and their fields included) with its documentation."""
    out: list[SettingDoc] = []
    _describe(cls, prefix, (), None, out)
    return out


def _describe(
    cls: type[Any], env_prefix: str, path: tuple[str, ...], base: object | None, out: list[SettingDoc]
) -> None:
    hints = _settings_hints(cls)
    for f in _init_fields(cls):
        tp = hints[f.name]
        env_name = _env_name(f, env_prefix)
        name = ".".join((*path, f.name))
        default, required = _field_default(f, base)
        if _is_settings_class(tp):
            out.append(SettingDoc(name, "table", None, False, _doc(f), env_name + "__*"))
            _describe(tp, env_name + "__", (*path, f.name), default, out)
        else:
            out.append(SettingDoc(name, _type_name(tp), default, required, _doc(f), env_name))


def render_settings_toml(cls: type[Any], *, section: str | None = None, prefix: str = "CARBONID_") -> str:
    """Render a commented example TOML file of ``cls`` holding every default; it parses back unchanged.

    Required fields and fields whose default is unset are written commented out, since TOML has no null.
    """
    lines = [f"# Settings of {cls.__name__}. Every key can also be set by the environment variable shown."]
    table = (section,) if section else ()
    _render(cls, prefix, table, None, lines, header=bool(section))
    return "\n".join(lines) + "\n"


def _render(
    cls: type[Any],
    env_prefix: str,
    table: tuple[str, ...],
    base: object | None,
    lines: list[str],
    *,
    header: bool,
) -> None:
    hints = _settings_hints(cls)
    if header:
        lines += ["", "[" + ".".join(_toml_key(k) for k in table) + "]"]
    nested: list[tuple[dataclasses.Field[Any], type[Any], object | None]] = []
    for f in _init_fields(cls):
        tp = hints[f.name]
        default, required = _field_default(f, base)
        if _is_settings_class(tp):
            # TOML wants a table's plain keys before any sub-table, so sub-tables come last.
            nested.append((f, tp, default))
            continue
        env_name = _env_name(f, env_prefix)
        lines.append("")
        lines += _comment(_doc(f))
        lines.append(f"# type: {_type_name(tp)}; env: {env_name}" + ("; required" if required else ""))
        if required:
            lines.append(f"# {_toml_key(f.name)} = ...")
        elif default is None:
            lines.append(f"# {_toml_key(f.name)} =   (unset by default)")
        else:
            lines.append(f"{_toml_key(f.name)} = {_toml_value(default)}")
    for f, tp, default in nested:
        env_name = _env_name(f, env_prefix)
        lines.append("")
        lines += _comment(_doc(f))
        lines.append(f"# env: {env_name}__<KEY>")
        _render(tp, env_name + "__", (*table, f.name), default, lines, header=True)


def _comment(text: str) -> list[str]:
    return [
        f"# {line}".rstrip()
        for paragraph in text.splitlines()
        for line in textwrap.wrap(paragraph, 100) or [""]
    ]


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_string(value: str) -> str:
    # JSON string escapes are TOML basic-string escapes, except that TOML also forbids a raw DEL.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, PurePath):
        return _toml_string(str(value))
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot render {value!r} as TOML")


# --------------------------------------------------------------------------------------------------------------
# Loading settings


def load_settings(
    cls: type[T],
    *,
    path: Path | None,
    env: Mapping[str, str] = os.environ,
    prefix: str = "CARBONID_",
    section: str | None = None,
) -> T:
    """Build ``cls`` from the TOML file at ``path`` (optional), overlaid by environment variables.

    Precedence: environment variable, then the file, then the field's default. With ``section``, only that
    table of the file is read (one file may hold the settings of several services). Raises
    :class:`SettingsError` for unknown keys, wrong types, missing required fields and rejected values.
    """
    if not _is_settings_class(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    table: Mapping[str, object] = {}
    file_label = None
    key_path: tuple[str, ...] = ()
    if path is not None:
        file_label = str(path)
        table = _read_toml(path, section)
        key_path = (section,) if section else ()
    return _build(
        cls,
        table,
        env=env,
        env_prefix=prefix,
        file_label=file_label,
        key_path=key_path,
        name_path=(),
        base=None,
        nested=False,
    )


def _read_toml(path: Path, section: str | None) -> Mapping[str, object]:
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist", source=str(path)) from None
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror}", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}", source=str(path)) from None
    if section is None:
        return document
    value = document.get(section, {})
    if not isinstance(value, dict):
        raise SettingsError(
            f"{path}:{section}: expected a table [{section}], got {_kind(value)}", source=f"{path}:{section}"
        )
    return value


def _build(
    cls: type[T],
    table: Mapping[str, object],
    *,
    env: Mapping[str, str],
    env_prefix: str,
    file_label: str | None,
    key_path: tuple[str, ...],
    name_path: tuple[str, ...],
    base: object | None,
    nested: bool,
) -> T:
    hints = _settings_hints(cls)
    fields = {f.name: f for f in _init_fields(cls)}

    for key in table:
        if key not in fields:
            where = f"{file_label}:{'.'.join((*key_path, key))}"
            hint = difflib.get_close_matches(key, list(fields), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise SettingsError(
                f"{where}: unknown setting {'.'.join((*name_path, key))!r}{suggestion}",
                field=".".join((*name_path, key)),
                source=where,
            )
    _check_env_names(cls, fields, hints, env, env_prefix, strict=nested)

    values: dict[str, object] = {}
    for name, f in fields.items():
        tp = hints[name]
        dotted = ".".join((*name_path, name))
        env_name = _env_name(f, env_prefix)
        default, required = _field_default(f, base)
        if _is_settings_class(tp):
            sub_where = f"{file_label}:{'.'.join((*key_path, name))}"
            sub_table = table.get(name, {})
            if not isinstance(sub_table, dict):
                raise SettingsError(
                    f"{sub_where}: setting {dotted!r}: expected a table, got {_kind(sub_table)}",
                    field=dotted,
                    source=sub_where,
                )
            if env_name in env:
                raise SettingsError(
                    f"environment variable {env_name}: setting {dotted!r} is a table; "
                    f"set {env_name}__<KEY> instead",
                    field=dotted,
                    source=env_name,
                )
            values[name] = _build(
                tp,
                sub_table,
                env=env,
                env_prefix=env_name + "__",
                file_label=file_label,
                key_path=(*key_path, name),
                name_path=(*name_path, name),
                base=default,
                nested=True,
            )
            continue
        if env_name in env:
            raw: object = env[env_name]
            source = f"environment variable {env_name}"
            from_env = True
        elif name in table:
            raw = table[name]
            source = f"{file_label}:{'.'.join((*key_path, name))}"
            from_env = False
        elif not required:
            values[name] = default
            continue
        else:
            sources = [f"environment variable {env_name}"]
            if file_label is not None:
                sources.insert(0, f"{file_label}:{'.'.join((*key_path, name))}")
            raise SettingsError(
                f"missing required setting {dotted!r} (set {' or '.join(sources)})", field=dotted
            )
        try:
            value = _coerce(raw, tp, from_env=from_env)
            validator = f.metadata.get("validate")
            if validator is not None:
                validator(value)
        except ValueError as exc:
            raise SettingsError(f"{source}: setting {dotted!r}: {exc}", field=dotted, source=source) from None
        values[name] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        # A __post_init__ checking fields against each other speaks for the whole table.
        where = ".".join(name_path) or cls.__name__
        raise SettingsError(f"settings {where}: {exc}", field=".".join(name_path) or None) from None


def _check_env_names(
    cls: type[Any],
    fields: Mapping[str, dataclasses.Field[Any]],
    hints: Mapping[str, Any],
    env: Mapping[str, str],
    env_prefix: str,
    *,
    strict: bool,
) -> None:
    """Refuse (in a nested table's namespace) or warn about (top level) variables naming no setting.

    The top-level prefix is shared by every carbonid service and tool (``CARBONID_TEST_POSTGRES_URL``), so an
    unknown name there may belong to someone else and only draws a warning; ``CARBONID_<TABLE>__`` belongs to
    this table alone, so an unknown name there is a typo.
    """
    known: set[str] = set()
    tables: list[str] = []
    for name, f in fields.items():
        env_name = _env_name(f, env_prefix)
        known.add(env_name)
        if _is_settings_class(hints[name]):
            tables.append(env_name + "__")
    for var in env:
        if not var.startswith(env_prefix) or var in known or any(var.startswith(t) for t in tables):
            continue
        if strict:
            hint = difflib.get_close_matches(var, sorted(known), n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise SettingsError(
                f"environment variable {var}: no such setting in {cls.__name__}{suggestion}", source=var
            )
        _log.warning(
            "ignoring environment variable %s: %s has no such setting",
            var,
            cls.__name__,
            extra={"env_var": var},
        )


# --------------------------------------------------------------------------------------------------------------
# Types and coercion


def _coerce(value: object, tp: Any, *, from_env: bool) -> object:
    """Convert a TOML value or an environment string to ``tp``; ValueError says what was wrong."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        inner = _optional_inner(tp)
        if from_env and isinstance(value, str) and value.strip() == "":
            # TOML has no null; an empty environment variable is how one unsets an optional setting.
            return None
        return _coerce(value, inner, from_env=from_env)
    if origin is Literal:
        choices = typing.get_args(tp)
        for choice in choices:
            if from_env and isinstance(value, str):
                text = value.strip()
                if (str(choice).lower() if isinstance(choice, bool) else str(choice)) == text:
                    return choice
            elif type(value) is type(choice) and value == choice:
                return choice
        raise ValueError(f"expected one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    if origin is tuple:
        item_type = _tuple_item(tp)
        if from_env and isinstance(value, str):
            items: list[object] = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list):
            items = value
        else:
            raise ValueError(f"expected an array, got {_kind(value)}")
        return tuple(_coerce(item, item_type, from_env=from_env) for item in items)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if from_env and isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise ValueError(f"expected a boolean (true/false, yes/no, 1/0), got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_env and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ValueError(f"expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if from_env and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ValueError(f"expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"expected a string, got {_kind(value)}")
    if isinstance(tp, type) and issubclass(tp, PurePath):
        if isinstance(value, str) and value.strip():
            return tp(value)
        raise ValueError(f"expected a non-empty path string, got {value!r}")
    raise TypeError(f"unsupported settings type {tp!r}")


def _optional_inner(tp: Any) -> Any:
    args = typing.get_args(tp)
    inner = [a for a in args if a is not type(None)]
    if len(inner) != 1 or len(args) != 2:
        raise TypeError(f"unsupported settings type {tp!r}: only 'X | None' unions are supported")
    return inner[0]


def _tuple_item(tp: Any) -> Any:
    args = typing.get_args(tp)
    if len(args) != 2 or args[1] is not Ellipsis:
        raise TypeError(f"unsupported settings type {tp!r}: use tuple[X, ...]")
    return args[0]


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return f"{_type_name(_optional_inner(tp))} or unset"
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(c) for c in typing.get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(_tuple_item(tp))} (env: comma-separated)"
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if tp in names:
        return names[tp]
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return "path"
    raise TypeError(f"unsupported settings type {tp!r}")


def _kind(value: object) -> str:
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer"}
    return names.get(type(value), f"a {type(value).__name__}")


def _is_settings_class(tp: object) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _settings_hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _init_fields(cls: type[Any]) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _env_name(f: dataclasses.Field[Any], env_prefix: str) -> str:
    override = f.metadata.get("env")
    return str(override) if override else env_prefix + f.name.upper()


def _doc(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("doc") or "")


def _field_default(f: dataclasses.Field[Any], base: object | None) -> tuple[object, bool]:
    """The value a field takes when nothing sets it, and whether it is required.

    Within a nested table whose parent default is an instance, that instance's values are the defaults, so a
    ``default_factory=lambda: Db(url=...)`` keeps its URL when only another key is overridden.
    """
    if base is not None:
        return getattr(base, f.name), False
    if f.default is not dataclasses.MISSING:
        return f.default, False
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory(), False
    return None, True
