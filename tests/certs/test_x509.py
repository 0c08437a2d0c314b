"""The federation CA and TLS contexts, exercised with real TLS on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
import ssl
import stat
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.tls import client_ssl_context, server_ssl_context
from certs.x509 import (
    CLOCK_SKEW,
    CaSource,
    CertificateAuthority,
    CertificateError,
    IssuedCertificate,
    create_ca,
    issue_client_certificate,
    issue_server_certificate,
    prefix_from_certificate,
)

PREFIX = "88.186.1"
ANONYMOUS = b"anonymous"
# OpenSSL verify codes (x509_vfy.h)
SELF_SIGNED_CERT_IN_CHAIN = 19  # a foreign chain ends in a root we do not trust
CERT_HAS_EXPIRED = 10
HOSTNAME_MISMATCH = 62

TLS_VERSIONS = [
    pytest.param(ssl.TLSVersion.TLSv1_2, id="tls1.2"),
    pytest.param(ssl.TLSVersion.TLSv1_3, id="tls1.3"),
]


@dataclass
class Federation:
    """A CA with a server certificate and a client certificate for PREFIX, saved under one directory."""

    directory: Path
    ca: CertificateAuthority
    server: IssuedCertificate
    client: IssuedCertificate

    def path(self, name: str) -> Path:
        return self.directory / name


@pytest.fixture
def federation(tmp_path: Path) -> Federation:
    ca = create_ca("carbonid test federation")
    server = issue_server_certificate(ca, ["localhost", "127.0.0.1", "::1"])
    client = issue_client_certificate(ca, PREFIX)
    ca.save(tmp_path)
    server.save(tmp_path, "server")
    client.save(tmp_path, "client")
    return Federation(tmp_path, ca, server, client)


@dataclass
class LoopbackServer:
    """What a test's TLS server saw: the verified peers it served and the handshakes it refused."""

    port: int
    peer_certs: list[Any] = field(default_factory=list)
    refusals: asyncio.Queue[BaseException] = field(default_factory=asyncio.Queue)

    async def refusal(self) -> BaseException:
        # Bounded wait for an event, not a sleep: the server reports the refusal as it happens.
        return await asyncio.wait_for(self.refusals.get(), timeout=5)


@contextlib.asynccontextmanager
async def tls_server(context: ssl.SSLContext) -> AsyncIterator[LoopbackServer]:
    """An asyncio TLS server on a loopback port that answers each peer with its bound prefix."""
    loop = asyncio.get_running_loop()
    served: list[Any] = []
    refusals: asyncio.Queue[BaseException] = asyncio.Queue()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_cert = writer.get_extra_info("peercert")
        served.append(peer_cert)
        try:
            reply = prefix_from_certificate(peer_cert).encode()
        except CertificateError:
            reply = ANONYMOUS
        writer.write(reply + b"\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    def on_error(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), ssl.SSLError):
            refusals.put_nowait(context["exception"])

    # In debug mode asyncio hands a failed incoming handshake to the exception handler, which is how
    # the test learns *why* the server refused (a TLS 1.3 client only sees the connection close).
    was_debug, old_handler = loop.get_debug(), loop.get_exception_handler()
    loop.set_debug(True)
    loop.set_exception_handler(on_error)
    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield LoopbackServer(server.sockets[0].getsockname()[1], served, refusals)
    finally:
        server.close()
        await server.wait_closed()
        loop.set_exception_handler(old_handler)
        loop.set_debug(was_debug)


async def exchange(
    port: int, context: ssl.SSLContext, *, server_hostname: str = "localhost", host: str = "127.0.0.1"
) -> bytes:
    """Connect, read the server's one-line answer; b"" when the server closed without answering."""
    reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=server_hostname)
    try:
        return (await reader.readline()).rstrip(b"\n")
    except ConnectionError:
        return b""
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()


async def refused_exchange(port: int, context: ssl.SSLContext) -> None:
    """Assert the server dropped the connection during the handshake without answering."""
    # TLS 1.2 fails the client's handshake itself; TLS 1.3 completes the client's side first and the
    # server's refusal of its certificate arrives as a closed connection.
    try:
        reply = await exchange(port, context)
    except ConnectionError:
        return
    assert reply == b""


def client_context(federation: Federation, name: str | None, version: ssl.TLSVersion) -> ssl.SSLContext:
    cert = federation.path(f"{name}.pem") if name else None
    key = federation.path(f"{name}.key") if name else None
    context = client_ssl_context(federation.path("ca.pem"), cert_file=cert, key_file=key)
    context.maximum_version = version
    return context


def server_context(federation: Federation, *, require: bool) -> ssl.SSLContext:
    return server_ssl_context(
        federation.path("server.pem"),
        federation.path("server.key"),
        federation.path("ca.pem"),
        require_client_certificate=require,
    )


# --- TLS on loopback -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", TLS_VERSIONS)
@pytest.mark.parametrize("require", [True, False], ids=["required", "optional"])
async def test_client_certificate_identifies_peer_prefix(
    federation: Federation, version: ssl.TLSVersion, require: bool
) -> None:
    async with tls_server(server_context(federation, require=require)) as server:
        reply = await exchange(server.port, client_context(federation, "client", version))
    assert reply == PREFIX.encode()
    assert server.refusals.empty()


@pytest.mark.parametrize("version", TLS_VERSIONS)
async def test_client_without_certificate_is_refused_when_required(
    federation: Federation, version: ssl.TLSVersion
) -> None:
    async with tls_server(server_context(federation, require=True)) as server:
        await refused_exchange(server.port, client_context(federation, None, version))
        refusal = await server.refusal()
    assert isinstance(refusal, ssl.SSLError)
    assert refusal.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert server.peer_certs == []


@pytest.mark.parametrize("version", TLS_VERSIONS)
async def test_client_without_certificate_is_anonymous_when_optional(
    federation: Federation, version: ssl.TLSVersion
) -> None:
    async with tls_server(server_context(federation, require=False)) as server:
        reply = await exchange(server.port, client_context(federation, None, version))
    assert reply == ANONYMOUS
    assert server.peer_certs == [None]


@pytest.mark.parametrize("version", TLS_VERSIONS)
@pytest.mark.parametrize("require", [True, False], ids=["required", "optional"])
async def test_client_certificate_from_another_ca_is_refused(
    federation: Federation, version: ssl.TLSVersion, require: bool
) -> None:
    # Same prefix, same shape, wrong issuer: CERT_OPTIONAL must not turn this into "anonymous".
    issue_client_certificate(create_ca("someone else"), PREFIX).save(federation.directory, "impostor")
    async with tls_server(server_context(federation, require=require)) as server:
        await refused_exchange(server.port, client_context(federation, "impostor", version))
        refusal = await server.refusal()
    assert isinstance(refusal, ssl.SSLCertVerificationError)
    assert refusal.verify_code == SELF_SIGNED_CERT_IN_CHAIN
    assert server.peer_certs == []


async def test_expired_client_certificate_is_refused(federation: Federation) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    issue_client_certificate(federation.ca, PREFIX, valid_days=1, now=past).save(
        federation.directory, "expired"
    )
    async with tls_server(server_context(federation, require=True)) as server:
        await refused_exchange(server.port, client_context(federation, "expired", ssl.TLSVersion.TLSv1_3))
        refusal = await server.refusal()
    assert isinstance(refusal, ssl.SSLCertVerificationError)
    assert refusal.verify_code == CERT_HAS_EXPIRED
    assert server.peer_certs == []


async def test_server_certificate_for_another_hostname_is_refused(federation: Federation) -> None:
    issue_server_certificate(federation.ca, ["node.example"]).save(federation.directory, "elsewhere")
    context = server_ssl_context(
        federation.path("elsewhere.pem"), federation.path("elsewhere.key"), federation.path("ca.pem")
    )
    async with tls_server(context) as server:
        with pytest.raises(ssl.SSLCertVerificationError) as refused:
            await exchange(server.port, client_context(federation, "client", ssl.TLSVersion.TLSv1_3))
    assert refused.value.verify_code == HOSTNAME_MISMATCH
    assert server.peer_certs == []


async def test_server_certificate_from_another_ca_is_refused(federation: Federation) -> None:
    issue_server_certificate(create_ca("someone else"), ["localhost"]).save(federation.directory, "rogue")
    context = server_ssl_context(
        federation.path("rogue.pem"), federation.path("rogue.key"), federation.path("ca.pem")
    )
    async with tls_server(context) as server:
        with pytest.raises(ssl.SSLCertVerificationError) as refused:
            await exchange(server.port, client_context(federation, "client", ssl.TLSVersion.TLSv1_3))
    assert refused.value.verify_code == SELF_SIGNED_CERT_IN_CHAIN


async def test_server_is_verified_by_ip_address_san(federation: Federation) -> None:
    async with tls_server(server_context(federation, require=True)) as server:
        context = client_context(federation, "client", ssl.TLSVersion.TLSv1_3)
        reply = await exchange(server.port, context, server_hostname="127.0.0.1")
    assert reply == PREFIX.encode()


@pytest.mark.parametrize("form", ["path", "pem-str", "pem-bytes", "der-bytes", "certificate"])
async def test_ca_may_be_given_as_path_pem_or_certificate(federation: Federation, form: str) -> None:
    ca_cert = federation.ca.certificate
    sources: dict[str, CaSource] = {
        "path": str(federation.path("ca.pem")),
        "pem-str": federation.ca.cert_pem,
        "pem-bytes": federation.ca.cert_pem.encode(),
        "der-bytes": ca_cert.public_bytes(serialization.Encoding.DER),
        "certificate": ca_cert,
    }
    source = sources[form]
    server = server_ssl_context(federation.path("server.pem"), federation.path("server.key"), source)
    client = client_ssl_context(
        source, cert_file=federation.path("client.pem"), key_file=federation.path("client.key")
    )
    async with tls_server(server) as running:
        assert await exchange(running.port, client) == PREFIX.encode()


def test_contexts_refuse_anything_older_than_tls_1_2(federation: Federation) -> None:
    server = server_context(federation, require=False)
    client = client_ssl_context(federation.ca.cert_pem)
    assert server.minimum_version == client.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server.verify_mode == ssl.CERT_OPTIONAL
    assert server_context(federation, require=True).verify_mode == ssl.CERT_REQUIRED
    assert client.verify_mode == ssl.CERT_REQUIRED
    assert client.check_hostname


def test_client_context_needs_a_certificate_for_its_key(federation: Federation) -> None:
    with pytest.raises(ValueError, match="key_file"):
        client_ssl_context(federation.ca.cert_pem, key_file=federation.path("client.key"))


# --- the prefix binding ----------------------------------------------------------------------------


def test_client_certificate_binds_prefix_in_cn_and_san(federation: Federation) -> None:
    cert = federation.client.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == PREFIX
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"hdl:0.NA/{PREFIX}"]
    assert prefix_from_certificate(cert) == PREFIX


def test_prefix_from_certificate_reads_der_and_pem_bytes(federation: Federation) -> None:
    cert = federation.client.certificate
    assert prefix_from_certificate(cert.public_bytes(serialization.Encoding.DER)) == PREFIX
    assert prefix_from_certificate(cert.public_bytes(serialization.Encoding.PEM)) == PREFIX


def test_prefix_from_certificate_reads_getpeercert_dict() -> None:
    peer_cert = {
        "subject": ((("commonName", PREFIX),),),
        "subjectAltName": (("DNS", "node.example"), ("URI", "HDL:0.na/88.186.1")),
    }
    assert prefix_from_certificate(peer_cert) == PREFIX


def _certificate_without_san(ca: CertificateAuthority) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, PREFIX)]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca.key, hashes.SHA256())
    )


def test_prefix_from_certificate_without_san_raises(federation: Federation) -> None:
    # A CN alone is not a binding: anyone can write a CN, the SAN URI is what the CA vouches for.
    with pytest.raises(CertificateError, match="no subjectAltName"):
        prefix_from_certificate(_certificate_without_san(federation.ca))


def test_prefix_from_server_certificate_raises(federation: Federation) -> None:
    with pytest.raises(CertificateError, match=r"hdl:0\.NA"):
        prefix_from_certificate(federation.server.certificate)


@pytest.mark.parametrize(
    ("peer_cert", "message"),
    [
        pytest.param(None, "no verified certificate", id="anonymous"),
        pytest.param({}, "no verified certificate", id="unverified"),
        pytest.param({"subject": ((("commonName", PREFIX),),)}, "no subjectAltName", id="no-san"),
        pytest.param({"subjectAltName": (("DNS", "localhost"),)}, r"hdl:0\.NA", id="no-uri"),
        pytest.param({"subjectAltName": (("URI", "hdl:0.NA/88..1"),)}, "malformed", id="malformed"),
        pytest.param({"subjectAltName": (("URI", "hdl:0.NA/"),)}, "malformed", id="empty"),
        pytest.param(
            {"subjectAltName": (("URI", "hdl:0.NA/88.1"), ("URI", "hdl:0.NA/88.2"))},
            "several prefixes",
            id="two-prefixes",
        ),
        pytest.param(b"not a certificate", "not a certificate", id="garbage-bytes"),
    ],
)
def test_prefix_from_certificate_rejects(peer_cert: Any, message: str) -> None:
    with pytest.raises(CertificateError, match=message):
        prefix_from_certificate(peer_cert)


def test_certificate_error_is_a_value_error() -> None:
    assert issubclass(CertificateError, ValueError)


@pytest.mark.parametrize("prefix", ["", "88.", ".88", "88..1", "88/1", "88 1", "88.1\n", "0.NA/88", "八八"])
def test_client_certificate_requires_a_well_formed_prefix(federation: Federation, prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        issue_client_certificate(federation.ca, prefix)


# --- certificate shape -----------------------------------------------------------------------------


def test_ca_certificate_shape(federation: Federation) -> None:
    cert = federation.ca.certificate
    extensions = cert.extensions
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    ski = extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(federation.ca.key.public_key())
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp256r1"
    assert cert.issuer == cert.subject
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=3650) + CLOCK_SKEW


def test_server_certificate_shape(federation: Federation) -> None:
    cert = federation.server.certificate
    extensions = cert.extensions
    san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert list(extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = federation.ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert cert.issuer == federation.ca.certificate.subject
    assert cert.serial_number != federation.client.certificate.serial_number
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=397) + CLOCK_SKEW


def test_client_certificate_is_for_client_auth_only(federation: Federation) -> None:
    eku = federation.client.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_leaf_validity_is_clamped_to_the_ca() -> None:
    short_ca = create_ca("short-lived", valid_days=30)
    cert = issue_client_certificate(short_ca, PREFIX, valid_days=397).certificate
    assert cert.not_valid_after_utc == short_ca.certificate.not_valid_after_utc


def test_issuing_checks_its_arguments(federation: Federation) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        create_ca("naive", now=dt.datetime(2025, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="valid_days"):
        issue_client_certificate(federation.ca, PREFIX, valid_days=0)
    with pytest.raises(TypeError, match="sequence"):
        issue_server_certificate(federation.ca, "localhost")
    with pytest.raises(ValueError, match="at least one hostname"):
        issue_server_certificate(federation.ca, [])
    with pytest.raises(ValueError, match="ASCII"):
        issue_server_certificate(federation.ca, ["bücher.example"])


# --- files -----------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_save_load_round_trip(federation: Federation) -> None:
    assert _mode(federation.path("ca.key")) == 0o600
    loaded = CertificateAuthority.load(federation.directory)
    assert loaded.certificate == federation.ca.certificate
    assert loaded.cert_pem == federation.ca.cert_pem
    # The loaded key is the CA's key: what it issues verifies against the original certificate.
    issued = issue_client_certificate(loaded, PREFIX).certificate
    issued.verify_directly_issued_by(federation.ca.certificate)


def test_ca_save_with_passphrase(tmp_path: Path, federation: Federation) -> None:
    federation.ca.save(tmp_path / "sealed", passphrase=b"correct horse")
    assert b"ENCRYPTED" in (tmp_path / "sealed" / "ca.key").read_bytes()
    assert _mode(tmp_path / "sealed" / "ca.key") == 0o600
    with pytest.raises(TypeError):
        CertificateAuthority.load(tmp_path / "sealed")
    loaded = CertificateAuthority.load(tmp_path / "sealed", passphrase=b"correct horse")
    assert loaded.certificate == federation.ca.certificate


def test_issued_certificate_save_load_round_trip(federation: Federation) -> None:
    assert _mode(federation.path("client.key")) == 0o600
    pem = federation.path("client.pem").read_bytes()
    assert x509.load_pem_x509_certificates(pem) == [federation.client.certificate, federation.ca.certificate]
    loaded = IssuedCertificate.load(federation.directory, "client")
    assert loaded.certificate == federation.client.certificate
    assert loaded.chain == (federation.ca.certificate,)
    assert loaded.key_pem == federation.client.key_pem


def test_save_tightens_an_existing_key_file(federation: Federation) -> None:
    federation.path("client.key").chmod(0o644)
    federation.client.save(federation.directory, "client")
    assert _mode(federation.path("client.key")) == 0o600


def test_load_refuses_a_key_from_another_certificate(federation: Federation) -> None:
    federation.path("server.key").replace(federation.path("client.key"))
    with pytest.raises(CertificateError, match="does not match"):
        IssuedCertificate.load(federation.directory, "client")


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden"])
def test_save_refuses_names_that_are_not_plain_stems(federation: Federation, name: str) -> None:
    with pytest.raises(ValueError, match="file stem"):
        federation.client.save(federation.directory, name)


# --- OpenSSL, an independent verifier --------------------------------------------------------------


def _openssl_verify(directory: Path, purpose: str, leaf: str) -> subprocess.CompletedProcess[str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command line is not installed; cannot cross-check with OpenSSL")
    return subprocess.run(
        [openssl, "verify", "-x509_strict", "-purpose", purpose, "-CAfile", "ca.pem", leaf],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.interop
@pytest.mark.parametrize(("leaf", "purpose"), [("server.pem", "sslserver"), ("client.pem", "sslclient")])
def test_openssl_verifies_issued_certificates(federation: Federation, leaf: str, purpose: str) -> None:
    result = _openssl_verify(federation.directory, purpose, leaf)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{leaf}: OK"


@pytest.mark.interop
@pytest.mark.parametrize(("leaf", "purpose"), [("server.pem", "sslclient"), ("client.pem", "sslserver")])
def test_openssl_refuses_certificates_for_the_other_purpose(
    federation: Federation, leaf: str, purpose: str
) -> None:
    result = _openssl_verify(federation.directory, purpose, leaf)
    assert result.returncode != 0
    assert "error 26 " in result.stderr  # X509_V_ERR_INVALID_PURPOSE
