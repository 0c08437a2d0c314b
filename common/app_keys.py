"""The typed keys under which the services keep their shared resources, declared once, here.

Handlers of a sub-application read them through ``request.config_dict``, which also sees the parent app.
"""

from __future__ import annotations

from typing import Final, TypeVar

from aiohttp import web
from aiohttp.helpers import ChainMapProxy
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["ENGINE_KEY", "REQUEST_ID_KEY", "SETTINGS_KEY", "settings_of"]

T = TypeVar("T")

ENGINE_KEY: Final = web.AppKey("ENGINE_KEY", AsyncEngine)
"""The service's database engine, made and disposed by :func:`common.database.engine_context`."""

SETTINGS_KEY: Final = web.AppKey("SETTINGS_KEY", object)
"""The service's settings dataclass; read it typed with :func:`settings_of`."""

REQUEST_ID_KEY: Final = web.RequestKey("REQUEST_ID_KEY", str)
"""The id of the current request, set by :func:`common.logging.request_id_middleware`."""


def settings_of(app: web.Application | ChainMapProxy, cls: type[T]) -> T:
    """Return the settings stored under :data:`SETTINGS_KEY`, checked to be a ``cls``."""
    value = app[SETTINGS_KEY]
    if not isinstance(value, cls):
        raise TypeError(f"settings are a {type(value).__name__}, not a {cls.__name__}")
    return value
