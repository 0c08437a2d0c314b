"""Signing keys: Ed25519 (default) and SM2 (national cryptography), in PEM, Multikey and JWK forms.

A `SigningKey` signs bytes; its `PublicKey` verifies them and raises `InvalidSignatureError`
when they do not match. Public keys serialise as SPKI PEM, as Multikey (`publicKeyMultibase`,
multicodec 0xed for Ed25519 and 0x1206 for SM2 with the compressed point) and as JWK.
Private keys serialise as unencrypted PKCS#8 PEM, written with file mode 0600.
"""

from __future__ import annotations

import abc
import base64
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from certs import der, sm2
from certs.encoding import (
    ED25519_PUB,
    SM2_PUB,
    b64url_decode,
    b64url_encode,
    multibase_decode,
    multibase_encode,
    multicodec_unwrap,
    multicodec_wrap,
)
from certs.errors import InvalidSignatureError, KeyFormatError
from certs.files import write_private_file, write_public_file

OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2 = "1.2.156.10197.1.301"
_SM2_ALGORITHM = der.encode(der.SEQUENCE, der.encode_oid(OID_EC_PUBLIC_KEY) + der.encode_oid(OID_SM2))


class KeyAlgorithm(StrEnum):
    """The signature algorithms carbonid signs with."""

    ED25519 = "ed25519"
    SM2 = "sm2"


class PublicKey(abc.ABC):
    """A public key that verifies signatures and serialises to PEM, Multikey and JWK."""

    algorithm: KeyAlgorithm

    @abc.abstractmethod
    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise `InvalidSignatureError` unless `signature` is this key's signature of `message`."""

    @property
    @abc.abstractmethod
    def multicodec(self) -> bytes:
        """The multicodec-prefixed public key bytes behind the Multikey form."""

    @abc.abstractmethod
    def jwk(self) -> dict[str, str]:
        """The public key as a JWK (RFC 7517)."""

    @abc.abstractmethod
    def pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM."""

    @property
    def multibase(self) -> str:
        """`publicKeyMultibase` of a Multikey verification method."""
        return multibase_encode(self.multicodec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.multicodec == other.multicodec

    def __hash__(self) -> int:
        return hash(self.multicodec)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.multibase}>"


class SigningKey(abc.ABC):
    """A private key that signs bytes."""

    algorithm: KeyAlgorithm

    @property
    @abc.abstractmethod
    def public_key(self) -> PublicKey:
        """The matching public key."""

    @abc.abstractmethod
    def sign(self, message: bytes) -> bytes:
        """Sign `message`; Ed25519 and SM2 (r ‖ s) signatures are both 64 bytes."""

    @abc.abstractmethod
    def private_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM."""

    def __repr__(self) -> str:
        # Never print private material.
        return f"<{type(self).__name__} for {self.public_key.multibase}>"


class Ed25519PublicKey(PublicKey):
    """An Ed25519 public key (RFC 8032)."""

    algorithm = KeyAlgorithm.ED25519
    __slots__ = ("_key",)

    def __init__(self, key: ed25519.Ed25519PublicKey) -> None:
        self._key = key

    @classmethod
    def from_raw(cls, raw: bytes) -> Ed25519PublicKey:
        """From the 32 raw public key bytes."""
        if len(raw) != 32:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
        return cls(ed25519.Ed25519PublicKey.from_public_bytes(raw))

    @property
    def raw(self) -> bytes:
        """The 32 raw public key bytes."""
        return self._key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise `InvalidSignatureError` unless the signature verifies."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise InvalidSignatureError("Ed25519 signature does not verify") from None

    @property
    def multicodec(self) -> bytes:
        """0xed01 ‖ 32 key bytes."""
        return multicodec_wrap(ED25519_PUB, self.raw)

    def jwk(self) -> dict[str, str]:
        """OKP JWK (RFC 8037)."""
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(self.raw)}

    def pem(self) -> bytes:
        """SPKI PEM."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class Ed25519SigningKey(SigningKey):
    """An Ed25519 private key."""

    algorithm = KeyAlgorithm.ED25519
    __slots__ = ("_key", "_public")

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key
        self._public = Ed25519PublicKey(key.public_key())

    @classmethod
    def generate(cls) -> Ed25519SigningKey:
        """A fresh key from the operating system's randomness."""
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519SigningKey:
        """From the 32-byte private seed (as in RFC 8032 test vectors)."""
        if len(seed) != 32:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        return cls(ed25519.Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature."""
        return self._key.sign(message)

    def private_pem(self) -> bytes:
        """PKCS#8 PEM."""
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


class Sm2PublicKey(PublicKey):
    """An SM2 public key; signatures use SM3 and the user id `1234567812345678`."""

    algorithm = KeyAlgorithm.SM2
    __slots__ = ("point", "user_id")

    def __init__(self, point: sm2.Sm2Point, user_id: bytes = sm2.DEFAULT_USER_ID) -> None:
        self.point = point
        self.user_id = user_id

    def verify(self, signature: bytes, message: bytes) -> None:
        """Verify a 64-byte r ‖ s signature."""
        r, s = sm2.signature_from_raw(signature)
        sm2.verify(self.point, message, r, s, self.user_id)

    def verify_der(self, signature: bytes, message: bytes) -> None:
        """Verify a DER signature, as OpenSSL writes it."""
        r, s = sm2.signature_from_der(signature)
        sm2.verify(self.point, message, r, s, self.user_id)

    @property
    def multicodec(self) -> bytes:
        """0x1206 (varint) ‖ compressed point."""
        return multicodec_wrap(SM2_PUB, self.point.compressed)

    def jwk(self) -> dict[str, str]:
        """EC JWK with curve name `SM2` (no IANA-registered name exists; this is the common usage)."""
        return {
            "kty": "EC",
            "crv": "SM2",
            "x": b64url_encode(self.point.x.to_bytes(32, "big")),
            "y": b64url_encode(self.point.y.to_bytes(32, "big")),
        }

    def spki_der(self) -> bytes:
        """SubjectPublicKeyInfo DER (id-ecPublicKey with the SM2 curve, as OpenSSL 3 writes)."""
        return der.encode(
            der.SEQUENCE, _SM2_ALGORITHM + der.encode(der.BIT_STRING, b"\0" + self.point.uncompressed)
        )

    def pem(self) -> bytes:
        """SPKI PEM."""
        return _pem("PUBLIC KEY", self.spki_der())


class Sm2SigningKey(SigningKey):
    """An SM2 private key."""

    algorithm = KeyAlgorithm.SM2
    __slots__ = ("_d", "_public")

    def __init__(self, scalar: int, user_id: bytes = sm2.DEFAULT_USER_ID) -> None:
        sm2.check_private_scalar(scalar)
        self._d = scalar
        self._public = Sm2PublicKey(sm2.public_point(scalar), user_id)

    @classmethod
    def generate(cls) -> Sm2SigningKey:
        """A fresh key from `secrets`."""
        return cls(sm2.generate_private_scalar())

    @property
    def public_key(self) -> Sm2PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """A 64-byte r ‖ s SM2/SM3 signature (fresh secure nonce each time)."""
        r, s = sm2.sign(self._d, self._public.point, message, self._public.user_id)
        return sm2.signature_to_raw(r, s)

    def sign_der(self, message: bytes) -> bytes:
        """A DER SM2/SM3 signature, for OpenSSL and X.509 tooling."""
        r, s = sm2.sign(self._d, self._public.point, message, self._public.user_id)
        return sm2.signature_to_der(r, s)

    def private_pem(self) -> bytes:
        """PKCS#8 PEM, structured as OpenSSL 3 writes SM2 keys."""
        ec_private = der.encode(
            der.SEQUENCE,
            der.encode_integer(1)
            + der.encode(der.OCTET_STRING, self._d.to_bytes(32, "big"))
            + der.encode(der.CONTEXT_1, der.encode(der.BIT_STRING, b"\0" + self._public.point.uncompressed)),
        )
        pkcs8 = der.encode(
            der.SEQUENCE, der.encode_integer(0) + _SM2_ALGORITHM + der.encode(der.OCTET_STRING, ec_private)
        )
        return _pem("PRIVATE KEY", pkcs8)


def signing_algorithms(sign_sm2: bool) -> tuple[KeyAlgorithm, ...]:
    """The keys a service signs with: Ed25519 always (any verifier checks it), SM2 too where national
    cryptography is required (`sign_sm2`)."""
    return (KeyAlgorithm.ED25519, KeyAlgorithm.SM2) if sign_sm2 else (KeyAlgorithm.ED25519,)


def generate_signing_key(algorithm: KeyAlgorithm | str = KeyAlgorithm.ED25519) -> SigningKey:
    """A fresh signing key of the given algorithm."""
    match KeyAlgorithm(algorithm):
        case KeyAlgorithm.ED25519:
            return Ed25519SigningKey.generate()
        case KeyAlgorithm.SM2:
            return Sm2SigningKey.generate()


def load_signing_key(pem: bytes) -> SigningKey:
    """Load a PKCS#8 (or SEC1 `EC PRIVATE KEY` for SM2) private key PEM."""
    label, body = _unpem(pem)
    if label == "EC PRIVATE KEY":
        return _sm2_from_ec_private_key(body)
    if label != "PRIVATE KEY":
        raise KeyFormatError(f"expected a PRIVATE KEY PEM, found {label!r}")
    if _is_sm2_algorithm(body, private=True):
        content, _ = der.expect(body, der.SEQUENCE)
        parts = der.children(content)
        if len(parts) < 3 or parts[2][0] != der.OCTET_STRING:
            raise KeyFormatError("malformed SM2 PKCS#8 key")
        return _sm2_from_ec_private_key(parts[2][1])
    try:
        key = serialization.load_der_private_key(body, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"cannot load private key: {exc}") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519SigningKey(key)
    raise KeyFormatError(f"unsupported private key type {type(key).__name__}; use Ed25519 or SM2")


def load_public_key(pem: bytes) -> PublicKey:
    """Load a SubjectPublicKeyInfo PEM of an Ed25519 or SM2 key."""
    label, body = _unpem(pem)
    if label != "PUBLIC KEY":
        raise KeyFormatError(f"expected a PUBLIC KEY PEM, found {label!r}")
    if _is_sm2_algorithm(body, private=False):
        content, _ = der.expect(body, der.SEQUENCE)
        parts = der.children(content)
        if len(parts) != 2 or parts[1][0] != der.BIT_STRING or not parts[1][1].startswith(b"\0"):
            raise KeyFormatError("malformed SM2 SubjectPublicKeyInfo")
        return Sm2PublicKey(sm2.Sm2Point.from_bytes(parts[1][1][1:]))
    try:
        key = serialization.load_der_public_key(body)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"cannot load public key: {exc}") from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519PublicKey(key)
    raise KeyFormatError(f"unsupported public key type {type(key).__name__}; use Ed25519 or SM2")


def public_key_from_multibase(value: str) -> PublicKey:
    """Parse a Multikey `publicKeyMultibase` (Ed25519 `z6Mk…` or SM2 0x1206)."""
    try:
        codec, payload = multicodec_unwrap(multibase_decode(value))
    except ValueError as exc:
        raise KeyFormatError(f"bad publicKeyMultibase: {exc}") from None
    if codec == ED25519_PUB:
        return Ed25519PublicKey.from_raw(payload)
    if codec == SM2_PUB:
        if len(payload) != 33:
            raise KeyFormatError("SM2 Multikey must carry a 33-byte compressed point")
        return Sm2PublicKey(sm2.Sm2Point.from_bytes(payload))
    raise KeyFormatError(f"unsupported multicodec 0x{codec:x} in publicKeyMultibase")


def public_key_from_jwk(jwk: dict[str, Any]) -> PublicKey:
    """Parse an Ed25519 (OKP) or SM2 (EC, crv SM2) public JWK."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return Ed25519PublicKey.from_raw(b64url_decode(str(jwk.get("x", ""))))
    if kty == "EC" and crv == "SM2":
        x, y = b64url_decode(str(jwk.get("x", ""))), b64url_decode(str(jwk.get("y", "")))
        if len(x) != 32 or len(y) != 32:
            raise KeyFormatError("SM2 JWK coordinates must be 32 bytes each")
        return Sm2PublicKey(sm2.Sm2Point.from_bytes(x + y))
    raise KeyFormatError(f"unsupported JWK kty={kty!r} crv={crv!r}")


def save_key_pair(key: SigningKey, directory: Path, name: str = "signing") -> tuple[Path, Path]:
    """Write `<name>.key` (PKCS#8, mode 0600) and `<name>.pub.pem`; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{name}.key"
    public_path = directory / f"{name}.pub.pem"
    write_private_file(private_path, key.private_pem())
    write_public_file(public_path, key.public_key.pem())
    return private_path, public_path


def _is_sm2_algorithm(body: bytes, *, private: bool) -> bool:
    content, _ = der.expect(body, der.SEQUENCE)
    parts = der.children(content)
    index = 1 if private else 0
    if len(parts) <= index or parts[index][0] != der.SEQUENCE:
        raise KeyFormatError("malformed key: no AlgorithmIdentifier")
    oids = [body for tag, body in der.children(parts[index][1]) if tag == der.OBJECT_IDENTIFIER]
    sm2_oid = der.encode_oid(OID_SM2)[2:]
    return sm2_oid in oids


def _sm2_from_ec_private_key(body: bytes) -> Sm2SigningKey:
    content, _ = der.expect(body, der.SEQUENCE)
    parts = der.children(content)
    if len(parts) < 2 or parts[1][0] != der.OCTET_STRING:
        raise KeyFormatError("malformed SM2 ECPrivateKey")
    key = Sm2SigningKey(int.from_bytes(parts[1][1], "big"))
    for tag, value in parts[2:]:
        if tag == der.CONTEXT_1:
            bits, _ = der.expect(value, der.BIT_STRING)
            if sm2.Sm2Point.from_bytes(bits[1:]) != key.public_key.point:
                raise KeyFormatError("SM2 private key file carries a public key that does not match")
    return key


def _pem(label: str, body: bytes) -> bytes:
    text = base64.encodebytes(body).decode("ascii").replace("\n", "")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return ("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n").encode("ascii")


def _unpem(pem: bytes) -> tuple[str, bytes]:
    try:
        text = pem.decode("ascii").strip()
    except UnicodeDecodeError:
        raise KeyFormatError("key file is not ASCII PEM") from None
    lines = text.splitlines()
    if len(lines) < 3 or not lines[0].startswith("-----BEGIN ") or not lines[-1].startswith("-----END "):
        raise KeyFormatError("not a PEM document")
    label = lines[0][len("-----BEGIN ") : -len("-----")]
    if lines[-1] != f"-----END {label}-----":
        raise KeyFormatError("PEM BEGIN and END labels differ")
    body_lines = [line for line in lines[1:-1] if ":" not in line]
    if len(body_lines) != len(lines) - 2:
        raise KeyFormatError("encrypted PEM keys are not supported; protect key files with file permissions")
    try:
        return label, base64.b64decode("".join(body_lines), validate=True)
    except ValueError:
        raise KeyFormatError("PEM body is not valid base64") from None
