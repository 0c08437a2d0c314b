"""Structured logging: one JSON object per line, one access line per request, and request ids.

Install in a service::

    configure_logging(settings.log_level, json=settings.log_json)
    app = web.Application(middlewares=[request_id_middleware, problem_middleware])
    web.run_app(app, access_log_class=StructuredAccessLogger)
"""

from __future__ import annotations

import contextvars
import itertools
import json as _json
import logging
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from common.app_keys import REQUEST_ID_KEY

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "StructuredAccessLogger",
    "TextFormatter",
    "configure_logging",
    "request_id",
    "request_id_middleware",
    "request_id_trace",
]

REQUEST_ID_HEADER: Final = "X-Request-Id"

# A client's id is echoed into headers and logs, so only short plain tokens are trusted.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)
_CURRENT_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "carbonid_request_id", default=None
)

# Everything a LogRecord carries by itself; whatever else is on a record came in through ``extra``.
_RECORD_ATTRS: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: ``ts``, ``level``, ``logger``, ``msg``, extras, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single line of JSON (a traceback is one escaped string)."""
        out: dict[str, object] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            # An extra must never overwrite the core members a log shipper relies on.
            out[key if key not in out else f"{key}_"] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return _json.dumps(out, ensure_ascii=False, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """Format a record for people: ``ts level logger: msg key=value ...`` and any traceback below."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as human-readable text."""
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{_timestamp(record.created)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += " " + extras
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


_installed: logging.Handler | None = None


def configure_logging(
    level: int | str = "info", *, json: bool = True, stream: TextIO | None = None
) -> logging.Handler:
    """Send all logging to ``stream`` (stderr by default), one JSON object per line unless ``json=False``.

    Calling it again replaces the handler it installed before and leaves other handlers (pytest's) alone.
    Returns the installed handler.
    """
    global _installed
    if isinstance(level, str):
        resolved = logging.getLevelNamesMapping().get(level.upper())
        if resolved is None:
            raise ValueError(f"unknown log level {level!r}")
        level = resolved
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    _installed = handler
    return handler


def request_id(request: web.BaseRequest) -> str:
    """Return the request's id: the client's ``X-Request-Id`` if it is a sane token, else a new one."""
    # On every request's hot path (profiled): .get() avoids the KeyError that `in` raises and catches
    # inside the request's mapping, and an id needs to be unique, not unpredictable, so it is a random
    # per-process prefix and a counter (32 hex digits, like a UUID) instead of a random syscall per request.
    known: str | None = request.get(REQUEST_ID_KEY)
    if known is not None:
        return known
    offered = request.headers.get(REQUEST_ID_HEADER)
    rid = (
        offered
        if offered and _SANE_REQUEST_ID.fullmatch(offered)
        else f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"
    )
    request[REQUEST_ID_KEY] = rid
    return rid


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (see :func:`request_id`) and echo it in the ``X-Request-Id`` header.

    Put it first in the middleware list so that every response, errors included, carries the id. A handler
    that prepares a streaming response itself must set the header before preparing it.
    """
    rid = request_id(request)
    # Outbound requests made while handling this one (and background tasks it starts, which copy the
    # context) carry the same id to the next service: see `request_id_trace`.
    _CURRENT_REQUEST_ID.set(rid)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID_HEADER] = rid
        raise
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = rid
    return response


async def _send_request_id(
    session: aiohttp.ClientSession, context: object, params: aiohttp.TraceRequestStartParams
) -> None:
    rid = _CURRENT_REQUEST_ID.get()
    if rid is not None and REQUEST_ID_HEADER not in params.headers:
        params.headers[REQUEST_ID_HEADER] = rid


def request_id_trace() -> aiohttp.TraceConfig:
    """A client trace that sends the current request's id as ``X-Request-Id`` on every outbound request.

    Pass it in ``trace_configs`` of every ``aiohttp.ClientSession`` a service opens, so one id follows a
    request from the resolver to the registry and the nodes and shows in each one's access log.
    """
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_send_request_id)
    return trace


class StructuredAccessLogger(AbstractAccessLogger):
    """aiohttp access logger writing one structured record per request.

    Pass it as ``access_log_class`` to ``web.run_app``/``AppRunner``. Fields: ``method``, ``path``,
    ``status``, ``duration_ms``, ``bytes``, ``request_id``, ``remote``. The query string is left out on
    purpose: it may carry tokens.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write the access record for one finished request."""
        self.logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(time * 1000, 3),
                "bytes": response.body_length,
                "request_id": request.get(REQUEST_ID_KEY),
                "remote": request.remote,
            },
        )

    @property
    def enabled(self) -> bool:
        """Skip timing and formatting altogether when INFO records would be dropped anyway."""
        return self.logger.isEnabledFor(logging.INFO)
