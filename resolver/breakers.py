"""Circuit breakers: a registry or node that keeps failing is left alone for a while.

Without them a dead node costs every resolution that needs it the full upstream deadline (every attempt timing
out), and a pile of requests waits on a host that will not answer. With them, after `threshold` requests in a
row to one host failed (each after its retries), the host is *open*: requests to it fail at once, so the
resolver answers from its cache (flagged stale) or with a 503 straight away. After `cooldown` seconds one
request is let through as a probe (*half-open*); its success closes the breaker, its failure opens it again.

Times are seconds on the resolver's clock (injected, so tests pass a cool-down without sleeping).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Admission(Enum):
    """What a breaker says to a request: go ahead, go ahead as the one probe, or fail fast."""

    ALLOWED = "allowed"
    PROBE = "probe"
    REFUSED = "refused"


@dataclass(slots=True)
class CircuitBreaker:
    """The failures in a row of one host, and until when it is left alone."""

    failures: int = 0
    open_until: float | None = None
    probing: bool = False
    last_reason: str = ""

    def admit(self, now: float, threshold: int) -> Admission:
        """May a request go to the host now? At most one probe at a time once the cool-down is over."""
        if threshold < 1 or self.open_until is None:
            return Admission.ALLOWED
        if now < self.open_until or self.probing:
            return Admission.REFUSED
        self.probing = True
        return Admission.PROBE

    def succeeded(self) -> None:
        """The host answered: close the breaker."""
        self.failures = 0
        self.open_until = None
        self.last_reason = ""

    def failed(self, now: float, reason: str, *, threshold: int, cooldown: float) -> bool:
        """A request failed: count it, and open the breaker (again) once `threshold` failed in a row; True
        when this failure opened it."""
        self.failures += 1
        self.last_reason = reason
        if threshold < 1 or self.failures < threshold:
            return False
        was_open = self.open_until is not None
        self.open_until = now + cooldown
        return not was_open

    def end_probe(self) -> None:
        """The probe ended (whatever came of it, recorded separately): another may be let through."""
        self.probing = False


class CircuitBreakers:
    """One breaker per upstream origin (`scheme://host:port`), made when first needed and kept (a federation
    has as many origins as it has registries and nodes)."""

    def __init__(self) -> None:
        self._breakers: dict[str, CircuitBreaker] = {}

    def of(self, origin: str) -> CircuitBreaker:
        """The breaker of `origin`."""
        breaker = self._breakers.get(origin)
        if breaker is None:
            breaker = self._breakers[origin] = CircuitBreaker()
        return breaker
