"""Fixtures of the abuse-resistance tests: every test runs under a guard that fails it on any connection to a
non-loopback address, any name lookup other than localhost, or any call of pyld's module-default document
loader; file opens can be recorded; nodes, registries and resolvers are the real applications.

The node and resolver fixtures are those of their own test folders (imported, so they are the same code).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pyld import jsonld

from certs.errors import ContextNotAllowedError
from common.ratelimit import RATE_LIMITS_KEY
from node.app import create_app as create_node
from node.runtime import initialise_node
from node.settings import NodeSettings
from tests.node.conftest import SECRET, node_settings  # noqa: F401 (a fixture)
from tests.resolver.conftest import federation  # noqa: F401 (a fixture)


class Clock:
    """The rate limiters' monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def use_clock(app: web.Application) -> Clock:
    """Put `app`'s rate limiters on a clock of the test's."""
    clock = Clock()
    app[RATE_LIMITS_KEY].use_clock(clock)
    return clock


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class Guard:
    """What a test tried that it must not: outbound connections, lookups, default-loader calls."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.loader_calls: list[str] = []


@pytest.fixture(autouse=True)
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[Guard]:
    """Fail the test on any connection or lookup beyond loopback, and on any use of pyld's default loader."""
    found = Guard()
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            found.violations.append(f"connect {address!r}")
            raise ConnectionRefusedError(f"test guard: no connection to {address!r}")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        check(address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(name):
            found.violations.append(f"getaddrinfo {name!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"test guard: no lookup of {name!r}")
        return getaddrinfo(host, *args, **kwargs)

    def default_loader(url: str, options: Any = None) -> Any:
        found.loader_calls.append(url)
        raise ContextNotAllowedError(url)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    previous = jsonld.get_document_loader()
    jsonld.set_document_loader(default_loader)
    try:
        yield found
    finally:
        jsonld.set_document_loader(previous)
    assert found.violations == [], "outbound network use"
    assert found.loader_calls == [], "pyld's default document loader was used"


class _Opens:
    """Paths opened (the `open` audit event) while recording."""

    def __init__(self) -> None:
        self.recording = False
        self.paths: list[str] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.recording and event == "open" and args and isinstance(args[0], str | bytes):
            self.paths.append(str(args[0]))


_OPENS = _Opens()
sys.addaudithook(_OPENS.hook)  # audit hooks cannot be removed: this one does nothing unless recording


@pytest.fixture
def opened_files() -> Iterator[list[str]]:
    """The paths Python opens during the test (from the moment the fixture is set up)."""
    _OPENS.paths = []
    _OPENS.recording = True
    try:
        yield _OPENS.paths
    finally:
        _OPENS.recording = False


async def start_node(aiohttp_client: Any, settings: NodeSettings, **overrides: Any) -> TestClient[Any, Any]:
    """An initialised node with `overrides` applied to its settings, behind loopback as a trusted proxy."""
    settings = replace(settings, trusted_proxies=("127.0.0.1",), **overrides)
    await initialise_node(settings, SECRET)
    client: TestClient[Any, Any] = await aiohttp_client(create_node(settings))
    return client
