from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.pytest_plugin import AiohttpClient
from aiohttp.test_utils import TestServer

from common.errors import problem_middleware
from common.logging import (
    REQUEST_ID_HEADER,
    JsonFormatter,
    StructuredAccessLogger,
    TextFormatter,
    configure_logging,
    request_id_middleware,
)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("info", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class Signal(logging.Handler):
    """Lets a test wait for a record logged after the response went out, without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.emitted = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.emitted.set()


@pytest.fixture
def access_logged() -> Iterator[asyncio.Event]:
    signal = Signal()
    access = logging.getLogger("aiohttp.access")
    access.addHandler(signal)
    yield signal.emitted
    access.removeHandler(signal)


async def hello(request: web.Request) -> web.Response:
    logging.getLogger("carbonid.test").info("saying hello", extra={"prefix": "88.186.1"})
    return web.json_response({"hello": "world"})


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


def make_app() -> web.Application:
    app = web.Application(middlewares=[request_id_middleware, problem_middleware])
    app.router.add_get("/hello", hello)
    app.router.add_get("/crash", crash)
    return app


async def test_request_gives_one_access_line_with_the_echoed_request_id(
    aiohttp_client: AiohttpClient, log_stream: io.StringIO, access_logged: asyncio.Event
) -> None:
    server = TestServer(make_app())
    # The runner's arguments reach only an explicit start_server(); aiohttp_client(server) then reuses it.
    await server.start_server(access_log_class=StructuredAccessLogger)
    client = await aiohttp_client(server)
    response = await client.get("/hello?token=s3cret", headers={REQUEST_ID_HEADER: "req-42.a_b"})
    assert response.status == 200
    assert response.headers[REQUEST_ID_HEADER] == "req-42.a_b"
    await asyncio.wait_for(access_logged.wait(), timeout=10)

    lines = json_lines(log_stream)
    [access] = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert access["level"] == "info"
    assert access["msg"] == "GET /hello 200"
    assert access["method"] == "GET"
    assert access["path"] == "/hello"
    assert access["status"] == 200
    assert access["request_id"] == "req-42.a_b"
    assert access["remote"] == "127.0.0.1"
    assert isinstance(access["duration_ms"], float)
    assert access["duration_ms"] >= 0
    assert "s3cret" not in json.dumps(access)
    timestamp = datetime.fromisoformat(str(access["ts"]).replace("Z", "+00:00"))
    assert timestamp.tzinfo == UTC
    assert str(access["ts"]).endswith("Z")

    [app_line] = [line for line in lines if line["logger"] == "carbonid.test"]
    assert app_line["msg"] == "saying hello"
    assert app_line["prefix"] == "88.186.1"


@pytest.mark.parametrize("offered", [None, "", "has space", "x" * 65, "semi;colon", "ünïcode"])
async def test_missing_or_insane_request_id_is_replaced(
    aiohttp_client: AiohttpClient, offered: str | None
) -> None:
    client = await aiohttp_client(make_app())
    headers = {REQUEST_ID_HEADER: offered} if offered is not None else {}
    response = await client.get("/hello", headers=headers)
    generated = response.headers[REQUEST_ID_HEADER]
    assert generated != offered
    assert len(generated) == 32
    assert generated.isalnum()


async def test_longest_sane_request_id_is_kept(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(make_app())
    offered = "a" * 64
    response = await client.get("/no-such-route", headers={REQUEST_ID_HEADER: offered})
    assert response.status == 404
    assert response.headers[REQUEST_ID_HEADER] == offered


async def test_crash_is_one_structured_line_with_traceback(
    aiohttp_client: AiohttpClient, log_stream: io.StringIO
) -> None:
    client = await aiohttp_client(make_app())
    response = await client.get("/crash", headers={REQUEST_ID_HEADER: "crash-1"})
    assert response.status == 500
    errors = [line for line in json_lines(log_stream) if line["level"] == "error"]
    assert len(errors) == 1
    [error] = errors
    assert error["request_id"] == "crash-1"
    assert error["path"] == "/crash"
    assert "Traceback" in str(error["exc"])
    assert "RuntimeError: boom" in str(error["exc"])
    assert len(log_stream.getvalue().splitlines()) == len(json_lines(log_stream))


def make_record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("carbonid.x", logging.WARNING, __file__, 1, "%s items", (3,), None)
    record.__dict__.update(extra)
    return record


def test_json_formatter_members_and_extras() -> None:
    line = JsonFormatter().format(make_record(prefix="88.1", level="mine", when=datetime(2025, 1, 1)))
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "warning"  # the core member wins; the clashing extra is renamed
    assert data["level_"] == "mine"
    assert data["msg"] == "3 items"
    assert data["logger"] == "carbonid.x"
    assert data["prefix"] == "88.1"
    assert data["when"] == "2025-01-01 00:00:00"


def test_text_formatter_is_for_people() -> None:
    line = TextFormatter().format(make_record(prefix="88.1"))
    assert line.endswith("WARNING carbonid.x: 3 items prefix=88.1")


def test_configure_logging_replaces_only_its_own_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        first = configure_logging("debug", stream=io.StringIO())
        second = configure_logging(logging.WARNING, json=False, stream=io.StringIO())
        assert first not in root.handlers
        assert root.handlers == [*before, second]
        assert isinstance(second.formatter, TextFormatter)
        assert root.level == logging.WARNING
        with pytest.raises(ValueError, match="unknown log level 'loud'"):
            configure_logging("loud")
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
