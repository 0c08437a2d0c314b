"""The node's append-only publication log: a hash chain of signed entries, and its verification.

Every published record version appends one entry::

    {"seq": 7, "subject": "<hex sha256 of the handle's key>", "version": 2,
     "digest": "<hex sha256 of the signed document's canonical JSON>", "at": "2025-01-02T03:04:05Z",
     "prev": "<hash of entry 6>"}

- `subject` is the sha256 of the handle's normalised key (ASCII upper-case, as Handle compares), so the
  log can be published whole without revealing the handles of private records;
- `hash` = hex sha256 over the canonical JSON (sorted keys, no spaces, UTF-8) of exactly those six
  members; the first entry's `prev` is :data:`GENESIS` (64 zeros);
- `signature` = the node's Ed25519 key over the 32 raw bytes of the hash, multibase (`z` + base58btc),
  and `keyId` names the verification method in the node's DID document.

Anything else an entry carries (a public record's `handle`) is outside the hash. Rewriting any entry
breaks its own hash or signature and every later `prev`; :func:`verify_log` names the first bad entry.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certs.data_integrity import ASSERTION_METHOD, parse_datetime
from certs.did import DidDocument
from certs.encoding import multibase_decode, multibase_encode
from certs.errors import VerificationError
from certs.keys import SigningKey

GENESIS = "0" * 64
"""The `prev` of the first entry."""

HASHED_MEMBERS = ("seq", "subject", "version", "digest", "at", "prev")
"""The members an entry's hash covers."""


class LogVerificationError(VerificationError):
    """The log does not verify; `seq` is the first entry found wrong (None when the list itself is bad)."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


def canonical_json(document: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no insignificant whitespace, UTF-8 (non-ASCII unescaped)."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def subject_for(handle_key: str) -> str:
    """The log subject of a handle: hex sha256 of its normalised (ASCII upper-case) key."""
    return sha256_hex(handle_key.encode("utf-8"))


def document_digest(signed_document: Mapping[str, Any]) -> str:
    """The digest a log entry records for a document: hex sha256 of its canonical JSON."""
    return sha256_hex(canonical_json(signed_document))


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One signed entry of the publication log."""

    seq: int
    subject: str
    version: int
    digest: str
    at: str
    prev: str
    hash: str
    signature: str
    key_id: str

    def hashed_members(self) -> dict[str, Any]:
        """The six members the hash covers."""
        return {
            "seq": self.seq,
            "subject": self.subject,
            "version": self.version,
            "digest": self.digest,
            "at": self.at,
            "prev": self.prev,
        }

    def to_json(self) -> dict[str, Any]:
        """The entry as the log API serves it."""
        return {**self.hashed_members(), "hash": self.hash, "signature": self.signature, "keyId": self.key_id}


def entry_hash(seq: int, subject: str, version: int, digest: str, at: str, prev: str) -> str:
    """The hash of an entry with these members."""
    members = {"seq": seq, "subject": subject, "version": version, "digest": digest, "at": at, "prev": prev}
    return sha256_hex(canonical_json(members))


def make_entry(
    *,
    seq: int,
    subject: str,
    version: int,
    digest: str,
    at: str,
    prev: str,
    key: SigningKey,
    key_id: str,
) -> LogEntry:
    """A new entry chained to `prev` and signed with `key` (the node's Ed25519 key)."""
    digest_hex = entry_hash(seq, subject, version, digest, at, prev)
    signature = multibase_encode(key.sign(bytes.fromhex(digest_hex)))
    return LogEntry(seq, subject, version, digest, at, prev, digest_hex, signature, key_id)


def parse_entry(document: Mapping[str, Any]) -> LogEntry:
    """An entry from its JSON form; raises `LogVerificationError` when a member is missing or mistyped."""
    raw_seq = document.get("seq")
    seq = raw_seq if isinstance(raw_seq, int) and not isinstance(raw_seq, bool) else None
    where = f"log entry {seq}" if seq is not None else "log entry"
    for name in ("seq", "version"):
        value = document.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise LogVerificationError(f"{where}: {name} must be an integer", seq)
    for name in ("subject", "digest", "at", "prev", "hash", "signature", "keyId"):
        if not isinstance(document.get(name), str):
            raise LogVerificationError(f"{where}: {name} must be a string", seq)
    return LogEntry(
        seq=int(document["seq"]),
        subject=str(document["subject"]),
        version=int(document["version"]),
        digest=str(document["digest"]),
        at=str(document["at"]),
        prev=str(document["prev"]),
        hash=str(document["hash"]),
        signature=str(document["signature"]),
        key_id=str(document["keyId"]),
    )


def verify_log(
    entries: Iterable[Mapping[str, Any] | LogEntry],
    did_document: DidDocument | Mapping[str, Any],
    *,
    previous_hash: str | None = None,
) -> str:
    """Check a run of consecutive entries: numbering, chain, hashes and signatures; return the last hash.

    A run starting at seq 1 must chain to :data:`GENESIS`; a later run chains to `previous_hash` when given
    (the hash of the entry before it, e.g. a head checked earlier). Each signature must verify with the key
    `keyId` names, listed for assertion in `did_document` at the entry's time. Raises
    :class:`LogVerificationError` naming the first bad entry.
    """
    did = did_document if isinstance(did_document, DidDocument) else DidDocument.from_json(did_document)
    parsed: Sequence[LogEntry] = [
        item if isinstance(item, LogEntry) else parse_entry(item) for item in entries
    ]
    last = previous_hash
    expected_seq: int | None = None
    for entry in parsed:
        where = f"log entry {entry.seq}"
        if expected_seq is not None and entry.seq != expected_seq:
            raise LogVerificationError(
                f"{where}: expected seq {expected_seq} (entries must be consecutive)", entry.seq
            )
        if entry.seq < 1:
            raise LogVerificationError(f"{where}: seq must start at 1", entry.seq)
        if entry.seq == 1:
            last = GENESIS
        if last is not None and entry.prev != last:
            raise LogVerificationError(
                f"{where}: prev {entry.prev} is not the hash of the entry before it ({last})", entry.seq
            )
        recomputed = entry_hash(entry.seq, entry.subject, entry.version, entry.digest, entry.at, entry.prev)
        if recomputed != entry.hash:
            raise LogVerificationError(
                f"{where}: its members hash to {recomputed}, not the recorded {entry.hash}", entry.seq
            )
        _check_signature(entry, did, where)
        last = entry.hash
        expected_seq = entry.seq + 1
    if last is None:
        return previous_hash or GENESIS
    return last


def _check_signature(entry: LogEntry, did: DidDocument, where: str) -> None:
    try:
        at: datetime | None = parse_datetime(entry.at)
    except ValueError:
        raise LogVerificationError(f"{where}: at {entry.at!r} is not a date-time", entry.seq) from None
    try:
        key = did.resolve_key(entry.key_id, ASSERTION_METHOD, at)
        signature = multibase_decode(entry.signature)
        key.verify(signature, bytes.fromhex(entry.hash))
    except VerificationError as exc:
        raise LogVerificationError(f"{where}: signature does not verify: {exc}", entry.seq) from exc
    except ValueError as exc:
        raise LogVerificationError(f"{where}: signature is malformed: {exc}", entry.seq) from exc
