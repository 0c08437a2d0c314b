"""The typed keys under which the resolver keeps its shared resources in the aiohttp application, declared once."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from resolver.certificates import CertificateAuthority
from resolver.context import ResolverContext
from resolver.notifications import NonceMemory
from resolver.regional_state import RegionalState

RESOLVER_KEY: Final = web.AppKey("RESOLVER_KEY", ResolverContext)
"""The resolver's context (settings, trust anchor, upstream session, caches), made in a cleanup context."""

CERTIFICATES_KEY: Final = web.AppKey("CERTIFICATES_KEY", CertificateAuthority)
"""What issuing and showing certificates needs (store, factor library, benchmarks, caches)."""

NOTIFICATION_NONCES_KEY: Final = web.AppKey("NOTIFICATION_NONCES_KEY", NonceMemory)
"""The nonces of the notifications received lately (a replayed notification is refused)."""

REGIONAL_KEY: Final = web.AppKey("REGIONAL_KEY", RegionalState)
"""The regional index in memory, kept in step with the database (`resolver.regional_state`)."""
