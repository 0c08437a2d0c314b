"""What can go wrong while resolving, named for what it means to the resolver.

Lower layers' exceptions are translated at the boundary: `aiohttp.ClientError` and timeouts of a request
to a registry or node become `RegistryUnreachable` / `NodeUnreachable` (in `resolver.upstream`); a version
below one already verified becomes `RollbackRefused` (in `resolver.versions`).
"""

from __future__ import annotations

from certs.errors import VerificationError


class UpstreamError(Exception):
    """A registry or node did not give a usable answer: unreachable, too slow, or answering nonsense.

    `service` is "registry" or "node", `url` the address asked. The resolver serves a cached answer
    (flagged stale) when it has one young enough, and answers 503 otherwise.
    """

    service = "service"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{self.service} {url} {reason}")
        self.url = url
        self.reason = reason


class RegistryUnreachable(UpstreamError):
    """A registry did not answer usably."""

    service = "registry"


class NodeUnreachable(UpstreamError):
    """An enterprise node did not answer usably."""

    service = "node"


class RollbackRefused(VerificationError):
    """A signed record (or prefix record) is older than one this resolver already verified, or is a second,
    different document with the same version (equivocation)."""


class TrustAnchorError(ValueError):
    """The pinned trust anchor (the top-level registry's DID document) cannot be read or is not one."""
