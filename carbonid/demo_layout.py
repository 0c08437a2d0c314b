"""Where the demo federation lives: its ports, its data directory's fixed files, its CA and certificates.

Port layout (P = the base port, 18000 by default):

| port | service | scheme |
|---|---|---|
| P | resolver (its client certificate is bound to 88.100.9) | http |
| P+100 | root registry, serves `88` | http |
| P+101 | industry registry, serves `88.186` (delegated by the root) | http |
| P+443 + i | enterprise node i, in the order of `carbonid.demo_enterprises.ENTERPRISES` | https (demo CA) |

A data directory keeps its base port (in `layout.json`): every service is named by its URL (its did:web
DID, the service URLs registries sign into prefix records), so the same directory on other ports would
be another federation. Certificates are issued by the directory's demo CA and renewed when they near
their end or were issued by another CA.
"""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature

from carbonid.demo_enterprises import ENTERPRISES
from certs.files import write_private_file, write_public_file
from certs.x509 import CertificateAuthority, IssuedCertificate, create_ca

DEFAULT_BASE_PORT: Final = 18000
HOST: Final = "127.0.0.1"
RESOLVER_OFFSET: Final = 0
ROOT_REGISTRY_OFFSET: Final = 100
INDUSTRY_REGISTRY_OFFSET: Final = 101
FIRST_NODE_OFFSET: Final = 443
LAYOUT_FILE: Final = "layout.json"
CA_NAME: Final = "carbonid demo federation CA"
# Certificates are renewed when they have less than this left, so a long-lived demo directory keeps working.
RENEW_BEFORE: Final = timedelta(days=30)


class DemoError(Exception):
    """The demo cannot go on; the message is one line saying why."""


class UsageError(DemoError):
    """The demo was asked for something it cannot do (a port in use, another base port for a directory)."""


class PortInUse(UsageError):
    """A port of the layout is taken by another process."""


def ports(base_port: int) -> dict[int, str]:
    """Every port of the layout with the service listening there."""
    layout = {
        base_port + RESOLVER_OFFSET: "resolver",
        base_port + ROOT_REGISTRY_OFFSET: "root registry",
        base_port + INDUSTRY_REGISTRY_OFFSET: "industry registry",
    }
    for position, spec in enumerate(ENTERPRISES):
        layout[base_port + FIRST_NODE_OFFSET + position] = f"node {spec.name}"
    return layout


def choose_base_port(data_dir: Path, requested: int | None) -> int:
    """The base port: the one `data_dir` was made with, else `requested`, else 18000."""
    path = data_dir / LAYOUT_FILE
    stored: int | None = None
    if path.exists():
        try:
            stored = int(json.loads(path.read_text("utf-8"))["basePort"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path} is unreadable ({exc}); remove it or use a fresh --data-dir") from None
    if stored is not None and requested is not None and requested != stored:
        raise UsageError(
            f"{data_dir} holds a federation on base port {stored} (services are named by their URLs); "
            f"use --base-port {stored} or another --data-dir"
        )
    base_port = stored if stored is not None else requested if requested is not None else DEFAULT_BASE_PORT
    highest = max(ports(base_port))
    if base_port < 1024 or highest > 65535:
        raise UsageError(
            f"base port {base_port} puts services outside 1024..65535 (the highest is P+{highest - base_port})"
        )
    return base_port


def check_ports_free(base_port: int) -> None:
    """Raise `PortInUse` naming the first port of the layout another process listens on."""
    for port, label in ports(base_port).items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As aiohttp binds: SO_REUSEADDR, so a port in TIME_WAIT after the last run counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUse(port_message(port, label)) from None
                raise


def port_message(port: int, label: str) -> str:
    """The one line saying a port is taken."""
    return f"port {port} ({label}) is already in use; stop what listens there or choose another --base-port"


def write_json(path: Path, data: Any, *, private: bool = False) -> None:
    """Write JSON atomically: 0600 when `private` (secrets), else 0644."""
    text = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    (write_private_file if private else write_public_file)(path, text)


# --- certificates -----------------------------------------------------------------------------------


def load_or_create_ca(directory: Path) -> CertificateAuthority:
    """The demo federation CA in `directory` (ca.pem, ca.key 0600), made on first use."""
    if (directory / "ca.pem").exists() and (directory / "ca.key").exists():
        return CertificateAuthority.load(directory)
    ca = create_ca(CA_NAME)
    ca.save(directory)
    return ca


def _still_good(directory: Path, name: str, ca: CertificateAuthority) -> bool:
    if not (directory / f"{name}.pem").exists() or not (directory / f"{name}.key").exists():
        return False
    try:
        issued = IssuedCertificate.load(directory, name)
        issued.certificate.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, OSError, InvalidSignature):
        return False  # unreadable, or issued by an earlier CA of this directory: issue it again
    return issued.certificate.not_valid_after_utc - RENEW_BEFORE > datetime.now(UTC)


def ensure_certificate(
    directory: Path, name: str, ca: CertificateAuthority, issue: Callable[[], IssuedCertificate]
) -> tuple[Path, Path]:
    """(certificate, key) paths of `<directory>/<name>.pem|.key`, issued when missing, stale or from another CA."""
    if not _still_good(directory, name, ca):
        issue().save(directory, name)
    return directory / f"{name}.pem", directory / f"{name}.key"
