"""The trust layer's error family.

Verification raises, it never returns False: a caller that forgets to check a result cannot
accept a forged document by accident. Every verification failure is a `VerificationError`;
the subclasses say precisely what failed so callers and logs can tell a tampered document
from an unknown key or a revoked one.
"""

from __future__ import annotations


class CertsError(Exception):
    """Base of every error raised by `certs`."""


class KeyFormatError(CertsError, ValueError):
    """A key could not be parsed (PEM, Multikey, JWK) or is not a valid key of its algorithm."""


class UnsafeDocumentError(CertsError, ValueError):
    """A document cannot be signed safely: a control character, an undefined term, a relative IRI.

    `pointer` is the JSON pointer of the offending spot when it is known.
    """

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(f"{message} at {pointer or '/'}")
        self.pointer = pointer
        self.reason = message


class ContextNotAllowedError(CertsError, ValueError):
    """A JSON-LD context URL is not bundled; it is refused, never fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(f"JSON-LD context {url!r} is not bundled with carbonid and is never fetched")
        self.url = url


class VerificationError(CertsError):
    """A signature, proof or key could not be verified."""


class InvalidSignatureError(VerificationError):
    """The signature does not match the signed data and key."""


class MalformedProofError(VerificationError):
    """A proof is missing members, has values of the wrong shape, or its document cannot be canonicalised."""


class NoProofError(MalformedProofError):
    """The document carries no proof at all."""


class UnsupportedCryptosuiteError(VerificationError):
    """The proof names a type or cryptosuite carbonid does not implement."""


class UnknownVerificationMethodError(VerificationError):
    """The proof's verification method is not listed (for that purpose) in the controller document."""


class KeyExpiredError(VerificationError):
    """The key was retired (rotated out) before the proof was created."""


class KeyRevokedError(VerificationError):
    """The key was revoked before the proof was created."""


class ProofExpiredError(VerificationError):
    """The proof's own `expires` time has passed."""


class StaleRequestError(VerificationError):
    """A signed request is older than the receiver accepts, or dated in the future."""


class DomainMismatchError(VerificationError):
    """A signed request was made for another receiver (its proof's `domain` differs)."""
