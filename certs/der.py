"""The few DER structures SM2 keys need (PKCS#8, SEC1 ECPrivateKey, SubjectPublicKeyInfo).

`cryptography` does not load keys on the SM2 curve, so SM2 PEM files are encoded and parsed here.
Only definite-length DER is accepted; anything else is a `KeyFormatError`.
"""

from __future__ import annotations

from certs.errors import KeyFormatError

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OBJECT_IDENTIFIER = 0x06
CONTEXT_0 = 0xA0
CONTEXT_1 = 0xA1


def encode(tag: int, content: bytes) -> bytes:
    """One TLV with a definite length."""
    length = len(content)
    if length < 0x80:
        header = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(size)]) + size
    return bytes([tag]) + header + content


def encode_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER TLV from its dotted form."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return encode(OBJECT_IDENTIFIER, bytes(body))


def encode_integer(value: int) -> bytes:
    """A non-negative INTEGER TLV."""
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return encode(INTEGER, body)


def decode(data: bytes) -> tuple[int, bytes, bytes]:
    """Read one TLV; return (tag, content, rest)."""
    if len(data) < 2:
        raise KeyFormatError("truncated DER")
    tag, first = data[0], data[1]
    offset = 2
    if first < 0x80:
        length = first
    else:
        size = first & 0x7F
        if size == 0 or size > 4 or len(data) < 2 + size:
            raise KeyFormatError("unsupported DER length")
        length = int.from_bytes(data[2 : 2 + size], "big")
        offset += size
    if len(data) < offset + length:
        raise KeyFormatError("truncated DER")
    return tag, data[offset : offset + length], data[offset + length :]


def expect(data: bytes, tag: int) -> tuple[bytes, bytes]:
    """Read one TLV that must carry `tag`; return (content, rest)."""
    found, content, rest = decode(data)
    if found != tag:
        raise KeyFormatError(f"DER: expected tag 0x{tag:02x}, found 0x{found:02x}")
    return content, rest


def children(content: bytes) -> list[tuple[int, bytes]]:
    """All TLVs inside a constructed value, as (tag, content)."""
    items = []
    while content:
        tag, body, content = decode(content)
        items.append((tag, body))
    return items
