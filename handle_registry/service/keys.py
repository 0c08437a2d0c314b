"""The registry application's typed keys, declared once, here."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from handle_registry.service.core import Registry

REGISTRY_KEY: Final = web.AppKey("REGISTRY_KEY", Registry)
"""The use-cases' `Registry` (store, signer, catalog, clock), made at start-up by the app's cleanup context."""
