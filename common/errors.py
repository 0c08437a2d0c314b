"""Problem Details (RFC 9457): one error renderer, one body shape, for every service.

Handlers raise a :class:`ProblemError` (or one of its subclasses); :func:`problem_middleware` renders it, and
also renders aiohttp's own HTTP errors (unknown route, wrong method, body too large) and crashes, as
``application/problem+json``::

    {"type": "https://carbonid.org/problems/invalid-json", "title": "Invalid JSON", "status": 400,
     "detail": "...", "request_id": "..."}

A route that must answer errors in another shape (the Handle REST API answers in Handle JSON) is decorated
with :func:`handles_own_errors`; see there.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, Final, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from common.app_keys import PROBLEM_TYPE_KEY
from common.database import DatabaseUnavailable
from common.logging import request_id
from common.strict_json import finite_float, nesting_depth

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPE_BASE",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "ProblemError",
    "ServiceUnavailable",
    "Unauthorized",
    "UnprocessableContent",
    "UnsupportedMediaType",
    "handles_own_errors",
    "problem_middleware",
    "problem_response",
    "read_json",
    "read_json_object",
]

PROBLEM_TYPE_BASE: Final = "https://carbonid.org/problems/"
"""Every problem ``type`` is this base followed by the problem's stable code."""

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"

DEFAULT_MAX_JSON_DEPTH: Final = 32

_log = logging.getLogger(__name__)

_MEMBERS: Final = frozenset({"type", "title", "status", "detail", "instance"})

# RFC 9110 renamed these; Python 3.11's HTTPStatus still has the old phrases.
_TITLES: Final[Mapping[int, str]] = {413: "Content Too Large", 422: "Unprocessable Content"}

# Headers describing the body aiohttp wrote; they do not describe the problem body that replaces it.
_BODY_HEADERS: Final = frozenset({"content-type", "content-length", "content-encoding", "transfer-encoding"})


def _status_title(status: int) -> str:
    if status in _TITLES:
        return _TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _code_for(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class ProblemError(Exception):
    """An error a client should see: HTTP ``status``, stable ``type`` code, ``title``, optional ``detail``.

    Extra keyword arguments become extension members of the body (JSON-serialisable values). Subclasses set
    ``status``, ``type`` and ``title`` as class attributes; an instance may override each.
    """

    status: int = 500
    type: str | None = None
    title: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        type: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: object,
    ) -> None:
        if status is not None:
            self.status = status
        self.title = title or self.title or _status_title(self.status)
        self.type = type or self.type or _code_for(_status_title(self.status))
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})
        clash = _MEMBERS.intersection(extensions)
        if clash:
            raise ValueError(f"extension members may not be named {sorted(clash)}")
        self.extensions: dict[str, object] = dict(extensions)
        super().__init__(detail or self.title)

    @property
    def type_uri(self) -> str:
        """The ``type`` member as rendered: :data:`PROBLEM_TYPE_BASE` + the code."""
        return PROBLEM_TYPE_BASE + str(self.type)

    def to_dict(self) -> dict[str, object]:
        """Return the problem+json body."""
        body: dict[str, object] = {"type": self.type_uri, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        return body


class BadRequest(ProblemError):
    """400: the request is malformed."""

    status = 400
    type = "bad-request"
    title = "Bad Request"


class Unauthorized(ProblemError):
    """401: credentials are missing or wrong; carries the ``WWW-Authenticate`` challenge."""

    status = 401
    type = "unauthorized"
    title = "Unauthorized"

    def __init__(
        self, detail: str | None = None, *, challenge: str = 'Basic realm="carbonid"', **kwargs: Any
    ) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", challenge)


class Forbidden(ProblemError):
    """403: authenticated, but not allowed to do this."""

    status = 403
    type = "forbidden"
    title = "Forbidden"


class NotFound(ProblemError):
    """404: no such thing."""

    status = 404
    type = "not-found"
    title = "Not Found"


class Conflict(ProblemError):
    """409: the request conflicts with the current state (e.g. the name is taken)."""

    status = 409
    type = "conflict"
    title = "Conflict"


class PayloadTooLarge(ProblemError):
    """413: the body is larger than the service accepts."""

    status = 413
    type = "content-too-large"
    title = "Content Too Large"


class UnsupportedMediaType(ProblemError):
    """415: the body's content type is not one this route reads."""

    status = 415
    type = "unsupported-media-type"
    title = "Unsupported Media Type"


class UnprocessableContent(ProblemError):
    """422: well-formed, but the content fails validation."""

    status = 422
    type = "unprocessable-content"
    title = "Unprocessable Content"


class ServiceUnavailable(ProblemError):
    """503: a dependency is down; ``retry_after`` seconds become the ``Retry-After`` header."""

    status = 503
    type = "service-unavailable"
    title = "Service Unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(retry_after))


# --------------------------------------------------------------------------------------------------------------
# Rendering


_OWN_ERRORS_ATTR: Final = "__carbonid_handles_own_errors__"

H = TypeVar("H", bound=Callable[..., Any])


def handles_own_errors(handler: H) -> H:
    """Mark a route handler (function or ``web.View`` class) as rendering its own error bodies.

    For such a route, :func:`problem_middleware` lets ``web.HTTPException`` s through untouched, so the
    handler can answer e.g. ``raise web.HTTPNotFound(text=handle_json, content_type="application/json")``.
    A :class:`ProblemError` it raises is still rendered as problem+json, and a crash is still a logged 500
    problem without internals: the opt-out covers the shape a route chose, never an accident.
    """
    setattr(handler, _OWN_ERRORS_ATTR, True)
    return handler


def _route_handles_own_errors(request: web.Request) -> bool:
    return bool(getattr(request.match_info.handler, _OWN_ERRORS_ATTR, False))


def problem_response(problem: ProblemError, request: web.BaseRequest | None = None) -> web.Response:
    """Render ``problem`` as a problem+json response (with the request id when ``request`` is given)."""
    body = problem.to_dict()
    if request is not None:
        body.setdefault("request_id", request_id(request))
        request[PROBLEM_TYPE_KEY] = str(body.get("type", "about:blank")).rsplit("/", 1)[-1]
    response = web.Response(
        status=problem.status,
        text=json.dumps(body, ensure_ascii=False, default=str),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )
    return response


def _problem_from_http_exception(exc: web.HTTPException) -> ProblemError:
    title = _status_title(exc.status)
    default_text = f"{exc.status}: {exc.reason}"
    # aiohttp's text for its own errors is written for clients (e.g. the body size limit); keep it as detail.
    detail = exc.text if exc.content_type == "text/plain" and exc.text and exc.text != default_text else None
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
    return ProblemError(detail, status=exc.status, type=_code_for(title), title=title, headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as problem+json: ProblemErrors, aiohttp's HTTP errors, and crashes (500).

    Place it after :func:`common.logging.request_id_middleware` (or use ``common.web.service_middleware``,
    which is both in one). Redirects and other non-error ``HTTPException`` s pass through; routes marked
    with :func:`handles_own_errors` keep their ``HTTPException`` s. :class:`common.database.DatabaseUnavailable`
    becomes a 503; any other exception a 500 whose body names only the request id, logged once with its
    traceback.
    """
    return await render_problems(request, handler)


async def render_problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Call `handler`, turning its errors into problem+json responses (the body of `problem_middleware`)."""
    try:
        return await handler(request)
    except ProblemError as exc:
        return problem_response(exc, request)
    except web.HTTPException as exc:
        if exc.status < 400 or _route_handles_own_errors(request):
            raise
        return problem_response(_problem_from_http_exception(exc), request)
    except DatabaseUnavailable as exc:
        rid = request_id(request)
        _log.warning(
            "database unavailable",
            extra={"request_id": rid, "method": request.method, "path": request.path, "error": str(exc)},
        )
        unavailable = ServiceUnavailable(
            "The database is unavailable; retry later.", type="database-unavailable", retry_after=5
        )
        return problem_response(unavailable, request)
    except Exception as exc:
        rid = request_id(request)
        _log.error(
            "unhandled exception",
            exc_info=exc,
            extra={"request_id": rid, "method": request.method, "path": request.path},
        )
        problem = ProblemError(
            "An unexpected error occurred; quote the request id when reporting it.",
            status=500,
            type="internal-error",
        )
        return problem_response(problem, request)


# --------------------------------------------------------------------------------------------------------------
# Reading JSON bodies


def _is_json_media_type(media_type: str) -> bool:
    media_type = media_type.lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # Signed documents must mean one thing: with a repeated member, parsers disagree on which value wins.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate member name {key!r}")
            seen.add(key)
    return result


async def read_json(request: web.Request, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> object:
    """Read the request body as JSON, answering malformed requests with problems.

    415 unless the content type is ``application/json`` or ``application/*+json``; 400 (``invalid-json``)
    for an empty body, bad UTF-8, bad syntax (with line, column and position), ``NaN``/``Infinity`` (or a
    number that overflows to it), an integer of more than 4300 digits or a repeated member name; 400
    (``json-too-deep``) beyond ``max_depth`` nested arrays/objects. The size limit is the application's
    ``client_max_size`` (413).
    """
    if not _is_json_media_type(request.content_type):
        raise UnsupportedMediaType(
            f"expected a JSON body (application/json), got {request.content_type}",
            type="unsupported-media-type",
        )
    body = await request.read()
    if not body.strip():
        raise BadRequest("the request body is empty", type="invalid-json", title="Invalid JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the request body is not UTF-8 (byte {exc.start})",
            type="invalid-json",
            title="Invalid JSON",
            position=exc.start,
        ) from None
    if nesting_depth(text, max_depth) > max_depth:
        raise BadRequest(
            f"JSON nested deeper than {max_depth} levels",
            type="json-too-deep",
            title="JSON Too Deep",
            max_depth=max_depth,
        )
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=finite_float,
            object_pairs_hook=_unique_members,
        )
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            type="invalid-json",
            title="Invalid JSON",
            line=exc.lineno,
            column=exc.colno,
            position=exc.pos,
        ) from None
    except ValueError as exc:
        raise BadRequest(str(exc), type="invalid-json", title="Invalid JSON") from None


async def read_json_object(
    request: web.Request, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH
) -> dict[str, Any]:
    """Like :func:`read_json`, and 400 (``invalid-json``) unless the body is a JSON object."""
    value = await read_json(request, max_depth=max_depth)
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object", type="invalid-json", title="Invalid JSON")
    return value
