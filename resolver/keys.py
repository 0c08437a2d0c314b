"""The typed keys under which the resolver keeps its shared resources in the aiohttp application, declared once."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from resolver.certificates import CertificateAuthority
from resolver.context import ResolverContext

RESOLVER_KEY: Final = web.AppKey("RESOLVER_KEY", ResolverContext)
"""The resolver's context (settings, trust anchor, upstream session, caches), made in a cleanup context."""

CERTIFICATES_KEY: Final = web.AppKey("CERTIFICATES_KEY", CertificateAuthority)
"""What issuing and showing certificates needs (store, factor library, benchmarks, caches)."""
