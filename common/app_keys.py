"""The typed keys under which the services keep their shared resources, declared once, here.

Handlers of a sub-application read them through ``request.config_dict``, which also sees the parent app.
"""

from __future__ import annotations

from typing import Final, TypeVar

from aiohttp import web
from aiohttp.helpers import ChainMapProxy
from sqlalchemy.ext.asyncio import AsyncEngine

from common.metrics import Metrics

__all__ = ["ENGINE_KEY", "METRICS_KEY", "PROBLEM_TYPE_KEY", "REQUEST_ID_KEY", "SETTINGS_KEY", "settings_of"]

T = TypeVar("T")

ENGINE_KEY: Final = web.AppKey("ENGINE_KEY", AsyncEngine)
"""The service's database engine, made and disposed by :func:`common.database.engine_context`."""

SETTINGS_KEY: Final = web.AppKey("SETTINGS_KEY", object)
"""The service's settings dataclass; read it typed with :func:`settings_of`."""

METRICS_KEY: Final = web.AppKey("METRICS_KEY", Metrics)
"""The service's metrics registry, served at `/metrics` (made by :func:`common.web.create_service_app`)."""

PROBLEM_TYPE_KEY: Final = web.RequestKey("PROBLEM_TYPE_KEY", str)
"""The problem type (last path segment of its URI) a request was answered with, for the metrics."""

REQUEST_ID_KEY: Final = web.RequestKey("REQUEST_ID_KEY", str)
"""The id of the current request, set by :func:`common.logging.request_id_middleware`."""


def settings_of(app: web.Application | ChainMapProxy, cls: type[T]) -> T:
    """Return the settings stored under :data:`SETTINGS_KEY`, checked to be a ``cls``."""
    value = app[SETTINGS_KEY]
    if not isinstance(value, cls):
        raise TypeError(f"settings are a {type(value).__name__}, not a {cls.__name__}")
    return value
