from __future__ import annotations

import json
import logging

import pytest
from aiohttp import ClientResponse, web
from aiohttp.pytest_plugin import AiohttpClient
from aiohttp.test_utils import TestClient

from common.database import DatabaseUnavailable
from common.errors import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPE_BASE,
    Conflict,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    Unauthorized,
    handles_own_errors,
    problem_middleware,
    read_json,
)
from common.logging import REQUEST_ID_HEADER, request_id_middleware

MAX_BODY = 1024
MAX_DEPTH = 4
SECRET = "password=hunter2"


async def conflict(request: web.Request) -> web.Response:
    raise Conflict("prefix 88.1 is already registered", prefix="88.1")


async def echo_json(request: web.Request) -> web.Response:
    return web.json_response({"received": await read_json(request, max_depth=MAX_DEPTH)})


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError(f"connect failed with {SECRET} in /srv/carbonid/secret.py")


async def unauthorized(request: web.Request) -> web.Response:
    raise Unauthorized("credentials required", challenge='Basic realm="88.186.1"')


async def aiohttp_error(request: web.Request) -> web.Response:
    raise web.HTTPBadRequest(text="the period parameter is missing")


async def database_down(request: web.Request) -> web.Response:
    raise DatabaseUnavailable(f"database unavailable: {SECRET}")


@handles_own_errors
async def handle_json(request: web.Request) -> web.Response:
    body = json.dumps({"responseCode": 100, "handle": request.match_info["handle"]})
    raise web.HTTPNotFound(text=body, content_type="application/json")


@handles_own_errors
async def handle_json_crash(request: web.Request) -> web.Response:
    raise KeyError(SECRET)


def make_app() -> web.Application:
    app = web.Application(middlewares=[request_id_middleware, problem_middleware], client_max_size=MAX_BODY)
    app.router.add_get("/conflict", conflict)
    app.router.add_post("/json", echo_json)
    app.router.add_get("/crash", crash)
    app.router.add_get("/unauthorized", unauthorized)
    app.router.add_get("/aiohttp-error", aiohttp_error)
    app.router.add_get("/database-down", database_down)
    app.router.add_get("/api/handles/{handle:.*}", handle_json)
    app.router.add_get("/api/crash", handle_json_crash)
    return app


@pytest.fixture
async def client(aiohttp_client: AiohttpClient) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(make_app())


async def problem(response: ClientResponse, status: int, code: str) -> dict[str, object]:
    """Check ``response`` is a problem+json of ``status``/``code`` and return its body."""
    assert response.status == status
    assert response.content_type == PROBLEM_CONTENT_TYPE
    body = json.loads(await response.text())
    assert body["type"] == PROBLEM_TYPE_BASE + code
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["request_id"] == response.headers[REQUEST_ID_HEADER]
    return dict(body)


async def test_problem_error_renders_its_members(client: TestClient[web.Request, web.Application]) -> None:
    body = await problem(await client.get("/conflict"), 409, "conflict")
    assert body == {
        "type": "https://carbonid.org/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "prefix 88.1 is already registered",
        "prefix": "88.1",
        "request_id": body["request_id"],
    }


async def test_unknown_route_is_a_404_problem(client: TestClient[web.Request, web.Application]) -> None:
    body = await problem(await client.get("/no/such/route"), 404, "not-found")
    assert body["title"] == "Not Found"
    assert "detail" not in body


async def test_wrong_method_is_a_405_problem_keeping_allow(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.delete("/conflict")
    await problem(response, 405, "method-not-allowed")
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}


async def test_oversized_body_is_a_413_problem(client: TestClient[web.Request, web.Application]) -> None:
    payload = json.dumps({"padding": "x" * 2 * MAX_BODY})
    response = await client.post("/json", data=payload, headers={"Content-Type": "application/json"})
    body = await problem(response, 413, "content-too-large")
    assert body["title"] == "Content Too Large"
    assert f"Maximum request body size {MAX_BODY} exceeded" in str(body["detail"])


async def test_crash_is_a_500_problem_without_internals_logged_once(
    client: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get("/crash", headers={REQUEST_ID_HEADER: "trace-me-1"})
        body = await problem(response, 500, "internal-error")
    text = json.dumps(body)
    assert SECRET not in text
    assert "RuntimeError" not in text
    assert "secret.py" not in text
    assert body["request_id"] == "trace-me-1"
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.request_id == "trace-me-1"  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


async def test_aiohttp_http_error_keeps_status_and_text(
    client: TestClient[web.Request, web.Application],
) -> None:
    body = await problem(await client.get("/aiohttp-error"), 400, "bad-request")
    assert body["detail"] == "the period parameter is missing"


async def test_unauthorized_carries_its_challenge(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/unauthorized")
    await problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="88.186.1"'


async def test_database_unavailable_is_a_503_problem(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/database-down")
    body = await problem(response, 503, "database-unavailable")
    assert response.headers["Retry-After"] == "5"
    assert SECRET not in json.dumps(body)


@pytest.mark.parametrize(
    ("content_type", "data", "status", "code"),
    [
        ("text/plain", b'{"a": 1}', 415, "unsupported-media-type"),
        (None, b'{"a": 1}', 415, "unsupported-media-type"),
        ("application/json", b"", 400, "invalid-json"),
        ("application/json", b'{"a": }', 400, "invalid-json"),
        ("application/json", b'{"a": NaN}', 400, "invalid-json"),
        ("application/json", b'{"a": 1, "a": 2}', 400, "invalid-json"),
        ("application/json", b'"\xff"', 400, "invalid-json"),
        ("application/json", b"[[[[[1]]]]]", 400, "json-too-deep"),
        ("application/json", b'{"a": {"b": {"c": {"d": {}}}}}', 400, "json-too-deep"),
        ("application/json", b"[" * 1000, 400, "json-too-deep"),
    ],
)
async def test_bad_json_requests_are_problems(
    client: TestClient[web.Request, web.Application],
    content_type: str | None,
    data: bytes,
    status: int,
    code: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    await problem(await client.post("/json", data=data, headers=headers), status, code)


async def test_bad_json_says_where(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post("/json", data=b'{\n  "a": }', headers={"Content-Type": "application/json"})
    body = await problem(response, 400, "invalid-json")
    assert (body["line"], body["column"], body["position"]) == (2, 8, 9)
    assert str(body["detail"]).startswith("invalid JSON at line 2 column 8")


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", b'{"a": [[["at the limit"]]], "s": "[[[[[[ in a string"}'),
        ("application/ld+json; charset=utf-8", b'{"@context": "x"}'),
    ],
)
async def test_good_json_is_read(
    client: TestClient[web.Request, web.Application], content_type: str, data: bytes
) -> None:
    response = await client.post("/json", data=data, headers={"Content-Type": content_type})
    assert response.status == 200
    assert (await response.json())["received"] == json.loads(data)


async def test_opted_out_route_keeps_its_own_error_shape(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/api/handles/88.1/missing")
    assert response.status == 404
    assert response.content_type == "application/json"
    assert await response.json() == {"responseCode": 100, "handle": "88.1/missing"}
    assert REQUEST_ID_HEADER in response.headers


async def test_opted_out_route_crash_is_still_a_problem_without_internals(
    client: TestClient[web.Request, web.Application],
) -> None:
    body = await problem(await client.get("/api/crash"), 500, "internal-error")
    assert SECRET not in json.dumps(body)


async def test_every_route_answers_errors_as_problems(
    client: TestClient[web.Request, web.Application],
) -> None:
    """Each route of the app, called plainly and with a method it lacks, answers with a problem body."""
    app = client.app
    assert app is not None
    checked = 0
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        if getattr(route.handler, "__carbonid_handles_own_errors__", False):
            continue
        path = resource.canonical
        assert "{" not in path, "give dynamic routes of this app a sample path"
        response = await client.request(route.method, path)
        assert response.status >= 400, f"{route.method} {path} did not fail"
        assert response.content_type == PROBLEM_CONTENT_TYPE, f"{route.method} {path}"
        if route.method != "HEAD":
            body = await response.json(content_type=PROBLEM_CONTENT_TYPE)
            assert {"type", "title", "status"} <= body.keys(), f"{route.method} {path}"
            assert body["status"] == response.status
        wrong = await client.request("PATCH", path)
        await problem(wrong, 405, "method-not-allowed")
        checked += 1
    assert checked >= 10


async def test_redirects_pass_through(aiohttp_client: AiohttpClient) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get("/moved", moved)
    client = await aiohttp_client(app)
    response = await client.get("/moved", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/elsewhere"


async def test_problem_without_request_id_middleware_still_has_an_id(aiohttp_client: AiohttpClient) -> None:
    async def missing(request: web.Request) -> web.Response:
        raise NotFound("no such prefix")

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get("/missing", missing)
    client = await aiohttp_client(app)
    body = await (await client.get("/missing")).json(content_type=PROBLEM_CONTENT_TYPE)
    assert body["type"] == PROBLEM_TYPE_BASE + "not-found"
    assert isinstance(body["request_id"], str)
    assert body["request_id"]


def test_problem_error_defaults_and_members() -> None:
    generic = ProblemError(status=418)
    assert (generic.status, generic.title, generic.type) == (418, "I'm a Teapot", "i-m-a-teapot")
    custom = Conflict("taken", type="prefix-taken", title="Prefix Taken", prefix="88.1")
    assert custom.to_dict() == {
        "type": PROBLEM_TYPE_BASE + "prefix-taken",
        "title": "Prefix Taken",
        "status": 409,
        "detail": "taken",
        "prefix": "88.1",
    }
    assert str(custom) == "taken"
    assert ServiceUnavailable(retry_after=30).headers == {"Retry-After": "30"}
    with pytest.raises(ValueError, match="may not be named"):
        ProblemError("x", instance="/somewhere")
