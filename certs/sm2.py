"""SM2 signatures with SM3 (GB/T 32918, GM/T 0003), built on `gmssl` with its hazards handled.

`gmssl` does the curve arithmetic. Three of its defaults are unsafe, so this module never uses them:

1. Its signing nonce comes from `random` (predictable); a nonce that leaks reveals the private key.
   Every nonce here comes from `secrets`.
2. `CryptSM2.__init__` runs `public_key.lstrip("04")`, which strips *every* leading '0' and '4'
   character, not the one-byte point prefix; a key whose x coordinate starts with hex 0 or 4 is
   silently corrupted. We set the 128-hex x‖y on the object after construction.
3. Its `verify` does not check that r and s lie in [1, n−1] and can crash on crafted input
   (a point at infinity). We check the range first and treat any arithmetic failure as an
   invalid signature.

The signed digest is e = SM3(Z ‖ M) with Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) and the
default user id `1234567812345678`, as GB/T 32918.2 and OpenSSL (`-pkeyopt distid:…`) define it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from gmssl import sm2 as _gmssl_sm2
from gmssl import sm3 as _gmssl_sm3

from certs.errors import InvalidSignatureError, KeyFormatError

DEFAULT_USER_ID = b"1234567812345678"

# The recommended curve parameters of GB/T 32918.5.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_G_HEX = f"{GX:064x}{GY:064x}"


@dataclass(frozen=True, slots=True)
class Sm2Point:
    """An affine point of the SM2 curve, checked to lie on it."""

    x: int
    y: int

    def __post_init__(self) -> None:
        if not (0 <= self.x < P and 0 <= self.y < P) or (self.y * self.y - (self.x**3 + A * self.x + B)) % P:
            raise KeyFormatError("point is not on the SM2 curve")

    @property
    def uncompressed(self) -> bytes:
        """SEC1 uncompressed encoding 04 ‖ x ‖ y (65 bytes)."""
        return b"\x04" + self.xy

    @property
    def xy(self) -> bytes:
        """x ‖ y, 64 bytes, as Z and gmssl use it."""
        return self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    @property
    def compressed(self) -> bytes:
        """SEC1 compressed encoding 02|03 ‖ x (33 bytes)."""
        return bytes([2 + (self.y & 1)]) + self.x.to_bytes(32, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Sm2Point:
        """Parse a SEC1 point: compressed (33 bytes), uncompressed (65 bytes) or bare x ‖ y (64 bytes)."""
        if len(data) == 65 and data[0] == 4:
            data = data[1:]
        if len(data) == 64:
            return cls(int.from_bytes(data[:32], "big"), int.from_bytes(data[32:], "big"))
        if len(data) == 33 and data[0] in (2, 3):
            x = int.from_bytes(data[1:], "big")
            if x >= P:
                raise KeyFormatError("compressed SM2 point has x ≥ p")
            rhs = (x**3 + A * x + B) % P
            # p ≡ 3 (mod 4), so a square root is rhs^((p+1)/4) when one exists.
            y = pow(rhs, (P + 1) // 4, P)
            if y * y % P != rhs:
                raise KeyFormatError("compressed SM2 point is not on the curve")
            if (y & 1) != (data[0] & 1):
                y = P - y
            return cls(x, y)
        raise KeyFormatError(f"SM2 point must be 33, 64 or 65 bytes, got {len(data)}")


def sm3(data: bytes) -> bytes:
    """SM3 hash (GB/T 32905); OpenSSL's through hashlib when present, else gmssl's pure-Python one."""
    try:
        return hashlib.new("sm3", data).digest()
    except ValueError:
        return bytes.fromhex(_gmssl_sm3.sm3_hash(list(data)))


def z_value(public: Sm2Point, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), binding the signer's identity to the digest."""
    if len(user_id) * 8 > 0xFFFF:
        raise ValueError("SM2 user id is longer than 8191 bytes")
    entl = (len(user_id) * 8).to_bytes(2, "big")
    curve = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3(entl + user_id + curve + public.xy)


def message_digest(public: Sm2Point, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """e = SM3(Z_A ‖ M), the value SM2 signs."""
    return sm3(z_value(public, user_id) + message)


def _gmssl(private_scalar: int | None, public: Sm2Point | None) -> _gmssl_sm2.CryptSM2:
    engine = _gmssl_sm2.CryptSM2(private_key=f"{private_scalar or 0:064x}", public_key="")
    if public is not None:
        # Hazard 2: assign after construction so gmssl's lstrip("04") never sees the key.
        engine.public_key = public.xy.hex()
    return engine


def public_point(private_scalar: int) -> Sm2Point:
    """Compute the public point d·G."""
    check_private_scalar(private_scalar)
    xy = _gmssl(private_scalar, None)._kg(private_scalar, _G_HEX)
    return Sm2Point(int(xy[:64], 16), int(xy[64:], 16))


def check_private_scalar(d: int) -> None:
    """SM2 private keys lie in [1, n−2]: signing inverts 1 + d, so d = n − 1 is unusable."""
    if not 1 <= d <= N - 2:
        raise KeyFormatError("SM2 private key is out of range [1, n-2]")


def generate_private_scalar() -> int:
    """A uniformly random private key from `secrets`."""
    return secrets.randbelow(N - 2) + 1


def sign_digest(private_scalar: int, digest: bytes, *, nonce: int | None = None) -> tuple[int, int]:
    """Sign a 32-byte digest e; returns (r, s). `nonce` exists only for known-answer tests."""
    check_private_scalar(private_scalar)
    engine = _gmssl(private_scalar, None)
    while True:
        # Hazard 1: the nonce always comes from `secrets`, never gmssl's `random`.
        k = nonce if nonce is not None else secrets.randbelow(N - 1) + 1
        signature = engine.sign(digest, f"{k:064x}")
        if signature is not None:
            return int(signature[:64], 16), int(signature[64:], 16)
        if nonce is not None:
            raise ValueError("the given nonce yields r = 0, r + k = n or s = 0")


def verify_digest(public: Sm2Point, digest: bytes, r: int, s: int) -> None:
    """Verify (r, s) over a digest; raise `InvalidSignatureError` when it does not hold."""
    # Hazard 3: gmssl does not range-check r and s.
    if not (1 <= r < N and 1 <= s < N):
        raise InvalidSignatureError("SM2 signature r or s is outside [1, n-1]")
    if (r + s) % N == 0:
        raise InvalidSignatureError("SM2 signature has r + s ≡ 0 (mod n)")
    try:
        valid = _gmssl(None, public).verify(f"{r:064x}{s:064x}", digest)
    except (TypeError, ValueError, ZeroDivisionError):
        # gmssl raises on a sum at infinity; such a signature is simply invalid.
        valid = False
    if not valid:
        raise InvalidSignatureError("SM2 signature does not verify")


def sign(
    private_scalar: int, public: Sm2Point, message: bytes, user_id: bytes = DEFAULT_USER_ID
) -> tuple[int, int]:
    """Sign a message with SM2/SM3 and the given user id; returns (r, s)."""
    return sign_digest(private_scalar, message_digest(public, message, user_id))


def verify(public: Sm2Point, message: bytes, r: int, s: int, user_id: bytes = DEFAULT_USER_ID) -> None:
    """Verify an SM2/SM3 signature over a message; raise `InvalidSignatureError` when invalid."""
    verify_digest(public, message_digest(public, message, user_id), r, s)


def signature_to_raw(r: int, s: int) -> bytes:
    """r ‖ s as two 32-byte big-endian integers (64 bytes)."""
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signature_from_raw(raw: bytes) -> tuple[int, int]:
    """Split a 64-byte r ‖ s signature."""
    if len(raw) != 64:
        raise InvalidSignatureError(f"SM2 signature must be 64 bytes r‖s, got {len(raw)}")
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")


def signature_to_der(r: int, s: int) -> bytes:
    """DER SEQUENCE { r INTEGER, s INTEGER }, the form OpenSSL reads and writes."""
    return encode_dss_signature(r, s)


def signature_from_der(der: bytes) -> tuple[int, int]:
    """Parse a DER signature into (r, s)."""
    try:
        return decode_dss_signature(der)
    except ValueError as exc:
        raise InvalidSignatureError(f"malformed DER SM2 signature: {exc}") from None
