"""What can go wrong while resolving, named for what it means to the resolver.

Lower layers' exceptions are translated at the boundary: `aiohttp.ClientError` and timeouts of a request
to a registry or node become `RegistryUnreachable` / `NodeUnreachable` (in `resolver.upstream`); a version
below one already verified becomes `RollbackRefused` (in `resolver.versions`).
"""

from __future__ import annotations

from certs.errors import VerificationError
from common.errors import ProblemError


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


class EvaluationRefused(ProblemError):
    """422: the enterprise's data cannot be evaluated as asked (missing, unverified, not accountable)."""

    status = 422
    type = "evaluation-refused"
    title = "Evaluation refused"


class EvaluationSourceUnavailable(ProblemError):
    """502: a registry or node the evaluation needs did not answer."""

    status = 502
    type = "upstream-unavailable"
    title = "Upstream unavailable"


class NoResolverPrefix(ProblemError):
    """409: certificates are issued under the resolver's prefix, and none is configured."""

    status = 409
    type = "no-resolver-prefix"
    title = "The resolver has no prefix"


class CertificateNotFound(ProblemError):
    """404: no certificate with this handle was issued here."""

    status = 404
    type = "certificate-not-found"
    title = "Certificate not found"


class CertificateNotValid(ProblemError):
    """409: the certificate is already revoked or superseded."""

    status = 409
    type = "certificate-not-valid"
    title = "Certificate not valid"


class OperatorAuthenticationRequired(ProblemError):
    """401: evaluations and revocations need an operator's HTTP Basic credentials."""

    status = 401
    type = "operator-authentication-required"
    title = "Operator authentication required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail, headers={"WWW-Authenticate": 'Basic realm="carbonid-resolver", charset="UTF-8"'}
        )


class RegulatorAuthenticationRequired(ProblemError):
    """401: the regulator credentials given are wrong (without credentials, public aggregates are answered)."""

    status = 401
    type = "regulator-authentication-required"
    title = "Regulator authentication required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail, headers={"WWW-Authenticate": 'Basic realm="carbonid-regulators", charset="UTF-8"'}
        )


class OutsideScope(ProblemError):
    """403: a regulator asked about a region outside its scope."""

    status = 403
    type = "outside-scope"
    title = "Outside your region"


class RegionNotFound(ProblemError):
    """404: no such GB/T 2260 region."""

    status = 404
    type = "region-not-found"
    title = "Region not found"


class IndexNotReady(ProblemError):
    """503: the regional index is still being loaded."""

    status = 503
    type = "index-loading"
    title = "Index loading"
