"""The resolver's revocation list as a W3C Bitstring Status List (v1.0) credential.

Every certificate carries a `BitstringStatusListEntry` pointing at bit `statusListIndex` of the list
credential at `/api/status-lists/1`. The list is a bitstring of at least 131,072 bits (16 KiB, the
specification's minimum, so a set bit does not single out a certificate in a small list), bit 0 the most
significant bit of the first byte, GZIP-compressed and multibase-encoded (`u` + base64url, no padding).
A set bit means revoked (or superseded by a re-evaluation). Any VC verifier that understands the
specification can check a certificate's status without asking the resolver anything else.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from certs.canonical import OfflineDocumentLoader
from certs.data_integrity import format_datetime
from certs.identity import ServiceIdentity

LIST_ID: Final = "1"
MIN_BITS: Final = 131_072
VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
STATUS_PURPOSE: Final = "revocation"
LIST_TTL_SECONDS: Final = 300
"""How long a verifier may cache the list (its `ttl`, in milliseconds in the credential)."""


def list_url(base_url: str) -> str:
    """The URL of the status list credential."""
    return f"{base_url}/api/status-lists/{LIST_ID}"


def status_entry(base_url: str, index: int) -> dict[str, str]:
    """The `credentialStatus` of the certificate holding bit `index`."""
    url = list_url(base_url)
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def encode_bits(set_bits: Iterable[int], *, size: int = MIN_BITS) -> str:
    """The `encodedList` of a bitstring with `set_bits` set: multibase base64url of its GZIP."""
    indices = list(set_bits)
    length = max(size, (max(indices, default=-1) // 8 + 1) * 8)
    bits = bytearray((length + 7) // 8)
    for index in indices:
        if index < 0:
            raise ValueError(f"status list index {index} is negative")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list always compresses to the same bytes.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_bits(encoded: str) -> bytes:
    """The bitstring of an `encodedList` (for checking a status; the inverse of `encode_bits`)."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (prefix 'u')")
    payload = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def bit_is_set(bitstring: bytes, index: int) -> bool:
    """Whether bit `index` (0 = most significant bit of the first byte) is set."""
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    identity: ServiceIdentity,
    loader: OfflineDocumentLoader,
    *,
    base_url: str,
    withdrawn: Iterable[int],
    now: datetime,
) -> dict[str, Any]:
    """The signed `BitstringStatusListCredential` with the bits of `withdrawn` certificates set."""
    url = list_url(base_url)
    credential = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": identity.did.id,
        "validFrom": format_datetime(now),
        "validUntil": format_datetime(now + timedelta(days=1)),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encode_bits(withdrawn),
            "ttl": LIST_TTL_SECONDS * 1000,
        },
    }
    return identity.sign(credential, loader, created=now)
