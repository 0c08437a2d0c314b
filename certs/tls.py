"""TLS contexts for the federation: servers that may require client certificates, clients that present one.

Only the federation CA is trusted on either side: a public web CA must never vouch for a federation peer.
"""

from __future__ import annotations

import ssl

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.x509 import CaSource, StrPath

_PEM_BEGIN = "-----BEGIN"


def server_ssl_context(
    cert_file: StrPath,
    key_file: StrPath | None,
    ca_file: CaSource,
    *,
    require_client_certificate: bool = True,
) -> ssl.SSLContext:
    """A TLS ≥ 1.2 server context presenting ``cert_file``; client certificates must chain to ``ca_file``.

    With ``require_client_certificate=False`` a client may connect without a certificate (it is then
    anonymous: ``getpeercert()`` is ``None``), so one listener serves public reads to everyone and
    private ones to authenticated peers; a client that does present a certificate must still chain to
    the federation CA or the handshake fails. ``ca_file`` may be a path, PEM text or a certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(context)
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    context.verify_mode = ssl.CERT_REQUIRED if require_client_certificate else ssl.CERT_OPTIONAL
    # No load_default_certs(): a public web CA must never vouch for a federation peer.
    _load_ca(context, ca_file)
    return context


def client_ssl_context(
    ca_file: CaSource,
    *,
    cert_file: StrPath | None = None,
    key_file: StrPath | None = None,
) -> ssl.SSLContext:
    """A TLS ≥ 1.2 client context that verifies the server (and its hostname) against ``ca_file`` only.

    Presents the client certificate when ``cert_file`` is given (``key_file`` may be omitted when the
    key is in the same file). ``ca_file`` may be a path, PEM text or a certificate.
    """
    if key_file is not None and cert_file is None:
        raise ValueError("key_file given without cert_file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname on, CERT_REQUIRED
    _harden(context)
    _load_ca(context, ca_file)
    if cert_file is not None:
        context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    return context


def _harden(context: ssl.SSLContext) -> None:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # RFC 5280 strictness (the default from Python 3.13): our own certificates satisfy it, and it
    # rejects malformed ones a lax verifier would let through.
    context.verify_flags |= ssl.VERIFY_X509_STRICT


def _load_ca(context: ssl.SSLContext, source: CaSource) -> None:
    if isinstance(source, x509.Certificate):
        context.load_verify_locations(cadata=source.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    elif isinstance(source, bytes):
        # ssl reads bytes cadata as DER; accept PEM bytes too, since that is what files contain.
        pem = source.lstrip().startswith(_PEM_BEGIN.encode("ascii"))
        context.load_verify_locations(cadata=source.decode("ascii") if pem else source)
    elif isinstance(source, str) and source.lstrip().startswith(_PEM_BEGIN):
        context.load_verify_locations(cadata=source)
    else:
        context.load_verify_locations(cafile=source)


def serving_ssl_context(
    cert_file: StrPath, key_file: StrPath, client_ca: CaSource | None = None
) -> ssl.SSLContext:
    """How a carbonid service serves HTTPS: with `client_ca`, client certificates are optional (anonymous
    readers are served, federation peers presenting a certificate from that CA are identified); without it,
    plain server TLS."""
    if client_ca is not None:
        return server_ssl_context(cert_file, key_file, client_ca, require_client_certificate=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(context)
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    return context
