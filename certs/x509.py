"""The federation CA and the server and client certificates it issues (TLS contexts: `certs.tls`).

Every node is reachable over TLS. Node-to-node reads of private records authenticate with a client
certificate issued by the federation CA and bound to the peer's identifier prefix: the certificate
carries the SAN URI ``hdl:0.NA/<prefix>`` (the prefix's own record handle), which
:func:`prefix_from_certificate` reads back on the server side.

All keys are ECDSA P-256 signed with SHA-256: every TLS stack and ``openssl`` accept it, signing is
cheap, and the handshake stays small. (Ed25519 and SM2 sign documents elsewhere in ``certs``; TLS
client support for Ed25519 certificates is still uneven, so it is not used here.)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.errors import CertsError
from certs.files import write_private_file, write_public_file

__all__ = [
    "CLOCK_SKEW",
    "CaSource",
    "CertificateAuthority",
    "CertificateError",
    "IssuedCertificate",
    "PeerCertificate",
    "create_ca",
    "issue_client_certificate",
    "issue_server_certificate",
    "prefix_from_certificate",
    "prefix_record_uri",
]

StrPath: TypeAlias = str | os.PathLike[str]
#: A trusted CA certificate: a file path, PEM text, PEM or DER bytes, or the certificate itself.
CaSource: TypeAlias = StrPath | bytes | x509.Certificate
#: What :func:`prefix_from_certificate` reads: a certificate, DER/PEM bytes, or ``getpeercert()``'s dict.
PeerCertificate: TypeAlias = x509.Certificate | bytes | Mapping[str, Any] | None

# Peers run on other enterprises' clocks: a certificate dated exactly "now" would be "not yet valid"
# on a peer a minute behind, so every certificate starts a little in the past.
CLOCK_SKEW = dt.timedelta(minutes=5)

_PREFIX_RE = re.compile(r"[0-9A-Za-z_-]+(?:\.[0-9A-Za-z_-]+)*")
# "hdl:" and "0.NA" compare case-insensitively, like every handle.
_PREFIX_URI_HEAD = "hdl:0.na/"
_CN_MAX = 64  # X.520 upper bound on commonName
_PEM_BEGIN = "-----BEGIN"


class CertificateError(CertsError, ValueError):
    """A certificate, or what was read as one, does not carry what carbonid needs from it."""


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """The federation CA: its private key and self-signed certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def cert_pem(self) -> str:
        """The CA certificate as PEM text (``str``, so it can go straight into ``cadata=``)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def save(self, directory: StrPath, *, passphrase: bytes | None = None) -> None:
        """Write ``ca.key`` (0600; encrypted if a passphrase is given) and ``ca.pem`` into ``directory``."""
        target = _ensure_directory(directory)
        write_private_file(target / "ca.key", _private_key_pem(self.key, passphrase))
        write_public_file(target / "ca.pem", self.cert_pem.encode("ascii"))

    @classmethod
    def load(cls, directory: StrPath, *, passphrase: bytes | None = None) -> CertificateAuthority:
        """Read a CA written by :meth:`save`; :class:`CertificateError` if key and certificate disagree."""
        source = Path(directory)
        key = _load_ec_private_key((source / "ca.key").read_bytes(), passphrase)
        certificate = x509.load_pem_x509_certificate((source / "ca.pem").read_bytes())
        _check_key_matches(key, certificate)
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            raise CertificateError("ca.pem has no BasicConstraints: not a CA certificate") from None
        if not constraints.ca:
            raise CertificateError("ca.pem is not a CA certificate (BasicConstraints CA=False)")
        return cls(key=key, certificate=certificate)


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A leaf key and certificate with the chain up to (and including) the federation CA."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def cert_pem(self) -> str:
        """Leaf then chain, as PEM text: what ``ssl.SSLContext.load_cert_chain`` expects in the cert file."""
        return "".join(
            cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
            for cert in (self.certificate, *self.chain)
        )

    @property
    def key_pem(self) -> str:
        """The unencrypted PKCS#8 private key as PEM text."""
        return _private_key_pem(self.key, None).decode("ascii")

    def save(self, directory: StrPath, name: str) -> tuple[Path, Path]:
        """Write ``<name>.key`` (mode 0600) and ``<name>.pem`` (leaf + chain); return (cert, key) paths."""
        _check_file_stem(name)
        target = _ensure_directory(directory)
        # The key is left unencrypted on purpose: a node's TLS listener starts unattended.
        key_path, cert_path = target / f"{name}.key", target / f"{name}.pem"
        write_private_file(key_path, self.key_pem.encode("ascii"))
        write_public_file(cert_path, self.cert_pem.encode("ascii"))
        return cert_path, key_path

    @classmethod
    def load(cls, directory: StrPath, name: str) -> IssuedCertificate:
        """Read a certificate written by :meth:`save`; :class:`CertificateError` if key and leaf disagree."""
        _check_file_stem(name)
        source = Path(directory)
        key = _load_ec_private_key((source / f"{name}.key").read_bytes(), None)
        certificates = x509.load_pem_x509_certificates((source / f"{name}.pem").read_bytes())
        leaf, *chain = certificates
        _check_key_matches(key, leaf)
        return cls(key=key, certificate=leaf, chain=tuple(chain))


def create_ca(
    common_name: str, *, valid_days: int = 3650, now: dt.datetime | None = None
) -> CertificateAuthority:
    """Make a new federation CA: an ECDSA P-256 key and a self-signed CA certificate."""
    not_before, not_after = _validity(now, valid_days)
    key = ec.generate_private_key(ec.SECP256R1())
    subject, _ = _subject(common_name)
    if subject == x509.Name([]):
        raise ValueError(f"CA common name must be 1..{_CN_MAX} characters")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # path_len=0: the federation CA signs node certificates directly. Prefix delegation between
        # registries happens in signed handle records, not in X.509, so no intermediate CA is ever
        # needed; with 0, a certificate mistakenly issued with CA=True still cannot sign anything
        # that verifies. Adding issuing CAs later is a deliberate new root, not a silent widening.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(key=key, certificate=certificate)


def issue_server_certificate(
    ca: CertificateAuthority,
    hostnames: Sequence[str],
    *,
    valid_days: int = 397,
    now: dt.datetime | None = None,
) -> IssuedCertificate:
    """Issue a TLS server certificate for ``hostnames``: DNS names or IP literals (``127.0.0.1``, ``::1``)."""
    if isinstance(hostnames, str):
        # A bare string is a Sequence[str] of characters; that is never what the caller meant.
        raise TypeError("hostnames must be a sequence of names, not a single string")
    if not hostnames:
        raise ValueError("a server certificate needs at least one hostname")
    names = [_general_name_for_host(host) for host in hostnames]
    subject, san_critical = _subject(hostnames[0])
    return _issue(
        ca,
        subject=subject,
        san=x509.SubjectAlternativeName(names),
        san_critical=san_critical,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        valid_days=valid_days,
        now=now,
    )


def issue_client_certificate(
    ca: CertificateAuthority,
    prefix: str,
    *,
    valid_days: int = 397,
    now: dt.datetime | None = None,
) -> IssuedCertificate:
    """Issue a TLS client certificate bound to ``prefix`` (CN and SAN URI ``hdl:0.NA/<prefix>``)."""
    _check_prefix(prefix)
    subject, san_critical = _subject(prefix)
    return _issue(
        ca,
        subject=subject,
        san=x509.SubjectAlternativeName([x509.UniformResourceIdentifier(prefix_record_uri(prefix))]),
        san_critical=san_critical,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        valid_days=valid_days,
        now=now,
    )


def prefix_record_uri(prefix: str) -> str:
    """The SAN URI binding a client certificate to ``prefix``: its record handle ``hdl:0.NA/<prefix>``."""
    _check_prefix(prefix)
    return f"hdl:0.NA/{prefix}"


def prefix_from_certificate(cert: PeerCertificate) -> str:
    """Read the identifier prefix a client certificate is bound to.

    Accepts an ``x509.Certificate``, DER or PEM bytes, or the dict ``ssl.SSLSocket.getpeercert()``
    returns (so a server can pass ``transport.get_extra_info('peercert')`` directly). This reads the
    binding only; it does not verify the certificate — the TLS handshake against the federation CA
    does that. Raises :class:`CertificateError` when there is no certificate (``None`` or ``{}``, an
    anonymous peer), no ``hdl:0.NA/`` URI, more than one bound prefix, or a malformed prefix.
    """
    if cert is None or (isinstance(cert, Mapping) and not cert):
        # getpeercert() gives None for an anonymous peer, {} for a cert it did not verify.
        raise CertificateError("peer presented no verified certificate")
    if isinstance(cert, bytes):
        cert = _load_certificate_bytes(cert)
    uris = _san_uris(cert)
    prefixes = {uri[len(_PREFIX_URI_HEAD) :] for uri in uris if uri.lower().startswith(_PREFIX_URI_HEAD)}
    if not prefixes:
        raise CertificateError("certificate carries no hdl:0.NA/<prefix> URI in its subjectAltName")
    if len(prefixes) > 1:
        # One certificate speaks for one prefix; choosing among several would be a guess.
        raise CertificateError(f"certificate is bound to several prefixes: {sorted(prefixes)}")
    (prefix,) = prefixes
    if not _PREFIX_RE.fullmatch(prefix):
        raise CertificateError(f"certificate binds a malformed prefix: {prefix!r}")
    return prefix


# --- issuing ---------------------------------------------------------------------------------------


def _issue(
    ca: CertificateAuthority,
    *,
    subject: x509.Name,
    san: x509.SubjectAlternativeName,
    san_critical: bool,
    usage: x509.ObjectIdentifier,
    valid_days: int,
    now: dt.datetime | None,
) -> IssuedCertificate:
    not_before, not_after = _validity(now, valid_days)
    # A leaf cannot outlive its issuer in a meaningful way; clamp rather than mint a dangling date.
    not_after = min(not_after, ca.certificate.not_valid_after_utc)
    if not_after <= not_before:
        raise ValueError("the CA certificate expires before the requested certificate would start")
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # ECDHE key exchange: the leaf key only signs the handshake, so digitalSignature is enough.
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # One purpose per certificate: a server certificate cannot log in as a peer, and a peer's
        # client certificate cannot impersonate a node.
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(san, critical=san_critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return IssuedCertificate(key=key, certificate=certificate, chain=(ca.certificate,))


def _validity(now: dt.datetime | None, valid_days: int) -> tuple[dt.datetime, dt.datetime]:
    if valid_days < 1:
        raise ValueError(f"valid_days must be at least 1, got {valid_days}")
    if now is None:
        now = dt.datetime.now(dt.UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now - CLOCK_SKEW, now + dt.timedelta(days=valid_days)


def _subject(common_name: str) -> tuple[x509.Name, bool]:
    """The subject for ``common_name``, and whether the SAN must be critical (RFC 5280: if it is empty)."""
    if 1 <= len(common_name) <= _CN_MAX:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), False
    # The SAN is what is checked; CN is a label, so a name too long for it leaves the subject empty.
    return x509.Name([]), True


def _general_name_for_host(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host or not host.isascii():
        raise ValueError(f"hostname must be non-empty ASCII (use the IDNA A-label form), got {host!r}")
    return x509.DNSName(host)


def _check_prefix(prefix: str) -> None:
    # The same syntax handle_registry enforces, checked locally because certs imports nothing of ours.
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"not an identifier prefix (dot-separated segments of [0-9A-Za-z_-]): {prefix!r}")


# --- reading ---------------------------------------------------------------------------------------


def _load_certificate_bytes(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(_PEM_BEGIN.encode("ascii")):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as error:
        raise CertificateError(f"not a certificate: {error}") from error


def _san_uris(cert: x509.Certificate | Mapping[str, Any]) -> list[str]:
    if isinstance(cert, x509.Certificate):
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            raise CertificateError("certificate has no subjectAltName") from None
        return san.get_values_for_type(x509.UniformResourceIdentifier)
    entries = cert.get("subjectAltName")
    if not entries:
        raise CertificateError("certificate has no subjectAltName")
    return [value for kind, value in entries if kind == "URI" and isinstance(value, str)]


# --- files and contexts ----------------------------------------------------------------------------


def _private_key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _load_ec_private_key(data: bytes, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, password=passphrase)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"expected an EC private key, found {type(key).__name__}")
    return key


def _check_key_matches(key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise CertificateError("private key does not match the certificate")


def _check_file_stem(name: str) -> None:
    # A name with a separator or a leading dot would write outside the directory or hide the file.
    if not name or Path(name).name != name or name.startswith("."):
        raise ValueError(f"certificate name must be a plain file stem, got {name!r}")


def _ensure_directory(directory: StrPath) -> Path:
    target = Path(directory)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    return target
