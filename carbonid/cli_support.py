"""What every `carbonid` command shares: exit codes, one-line errors, reading JSON and settings, TLS.

Exit codes: 0 success; 1 the input was read but is refused (a document failing its template, a
signature that does not verify, an operation a service refused); 2 the command could not run
(unreadable file, bad JSON, bad settings, bad option).
"""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from certs.tls import serving_ssl_context
from common.settings import ServiceSettings, SettingsError, load_settings

EXIT_INVALID = 1
EXIT_USAGE = 2

S = TypeVar("S", bound=ServiceSettings)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one line on stderr and exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def read_json(path: Path) -> Any:
    """Read a JSON file or exit 2 saying why not."""
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    except json.JSONDecodeError as exc:
        fail(f"{path} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")


def write_json(data: Any, out: Path | None) -> None:
    """Write JSON to a file or stdout."""
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, "utf-8")


def config_option(section: str, *, required: bool) -> Any:
    """The `--config FILE` option of a service command."""
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False, path_type=Path),
        required=required,
        default=None,
        help=f"Settings file (TOML, table [{section}]); CARBONID_* variables override it.",
    )


def load_service_settings(cls: type[S], config: Path | None, section: str) -> S:
    """A service's settings from `config` and the environment, or exit 2 naming what is wrong."""
    try:
        return load_settings(cls, path=config, section=section)
    except SettingsError as exc:
        fail(str(exc))


def serving_tls(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context a service serves with (None for plain HTTP), or exit 2 saying what is wrong."""
    if settings.tls_certificate is None and settings.tls_key is None:
        return None
    if settings.tls_certificate is None or settings.tls_key is None:
        fail("tls_certificate and tls_key go together: set both or neither")
    try:
        return serving_ssl_context(settings.tls_certificate, settings.tls_key, settings.tls_client_ca)
    except (OSError, ssl.SSLError, ValueError) as exc:
        fail(f"cannot load the TLS certificate and key: {exc}")


def client_tls(ca: Path | None) -> ssl.SSLContext | None:
    """A client TLS context trusting `ca` (a PEM file), None for the system's CAs, or exit 2 saying why not."""
    if ca is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        fail(f"cannot load CA {ca}: {exc}")
