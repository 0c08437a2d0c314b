"""Byte encodings used by keys and proofs: base58btc, multibase, multicodec varints, base64url."""

from __future__ import annotations

import base64

from certs.errors import KeyFormatError

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}

# Multicodec table entries (https://github.com/multiformats/multicodec/blob/master/table.csv).
ED25519_PUB = 0xED
ED25519_PRIV = 0x1300
SM2_PUB = 0x1206


def b58encode(data: bytes) -> str:
    """Encode bytes as base58btc (Bitcoin alphabet); leading zero bytes become leading '1's."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Decode base58btc text; raise `ValueError` on a character outside the alphabet."""
    n = 0
    for position, char in enumerate(text):
        try:
            n = n * 58 + _B58_INDEX[char]
        except KeyError:
            raise ValueError(f"invalid base58btc character {char!r} at position {position}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def multibase_encode(data: bytes) -> str:
    """Multibase base58btc: 'z' followed by base58btc."""
    return "z" + b58encode(data)


def multibase_decode(text: str) -> bytes:
    """Decode a multibase base58btc string ('z' prefix); other bases are refused."""
    if not text.startswith("z"):
        raise ValueError("multibase value must use base58btc (prefix 'z')")
    return b58decode(text[1:])


def varint(n: int) -> bytes:
    """Unsigned LEB128 varint, as multicodec prefixes use."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes) -> tuple[int, int]:
    """Read a varint from the start of `data`; return (value, bytes consumed)."""
    value = 0
    for i, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, i + 1
    raise ValueError("truncated or over-long varint")


def multicodec_wrap(codec: int, payload: bytes) -> bytes:
    """Prefix `payload` with the varint of its multicodec code."""
    return varint(codec) + payload


def multicodec_unwrap(data: bytes) -> tuple[int, bytes]:
    """Split a multicodec-prefixed value into (codec, payload)."""
    try:
        codec, used = read_varint(data)
    except ValueError as exc:
        raise KeyFormatError(f"bad multicodec prefix: {exc}") from None
    return codec, data[used:]


def b64url_encode(data: bytes) -> str:
    """base64url without padding (JWK, RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"bad base64url value: {exc}") from None
