"""A service's keys on disk, and the crash-safe steps that rotate them.

Layout of a key directory (`<data_dir>/keys/`)::

    ed25519.key, ed25519.pub.pem            the key the service signs with (PKCS#8 0600, SPKI 0644)
    sm2.key, sm2.pub.pem                    the same for SM2, when the service signs with SM2 too
    ed25519.next.key, ed25519.next.pub.pem  a successor prepared by a rotation that has not switched yet
    history.json                            former keys: public key, supersededAt, retiredAt, revokedAt, reason

A former key keeps only its public part. Nothing signs with it again; verifiers need the public key alone,
and a retired private key left on disk is exactly what a thief would want: with it, proofs can be dated
before the retirement and would verify. So the old `<alg>.key` is overwritten by its successor.

A rotation goes: `prepare` (write `<alg>.next.key`), have the change accepted by whoever lists the keys
(the registry), then `switch`: first `history.json` gains the outgoing key (atomic rename), then
`<alg>.next.key` is renamed over `<alg>.key`. A crash between the two leaves a current key that
`history.json` already calls former, beside its prepared successor: reading takes the successor (and the
next change finishes the rename), so there is never a state without a usable key. `set_times` records
when the registry retired or revoked a key. Every change holds an exclusive lock on `.lock`.
Pure: files only, no network.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from certs.data_integrity import format_datetime, parse_datetime
from certs.did import RELATIONSHIPS, DidDocument, VerificationMethod
from certs.errors import CertsError
from certs.files import write_public_file
from certs.keys import (
    KeyAlgorithm,
    PublicKey,
    SigningKey,
    generate_signing_key,
    load_signing_key,
    public_key_from_multibase,
    save_key_pair,
)

HISTORY_FILE: Final = "history.json"
LOCK_FILE: Final = ".lock"
NEXT: Final = ".next"

Fingerprint = tuple[tuple[int, int, int, int] | None, ...]


class KeyDirectoryError(CertsError):
    """The key directory cannot be read, is inconsistent, or cannot make the change asked for."""


@dataclass(frozen=True, slots=True)
class FormerKey:
    """A key the service no longer signs with: its public part and the times that bound what it verifies.

    Without `retired_at`/`revoked_at` it is only superseded: the service stopped signing with it, but
    whoever lists the service's keys (its registry) has not retired it yet, so it still counts as active.
    """

    public_key: PublicKey
    superseded_at: datetime | None = None
    retired_at: datetime | None = None
    revoked_at: datetime | None = None
    reason: str | None = None

    @property
    def state(self) -> str:
        """revoked, retired or superseded."""
        if self.revoked_at is not None:
            return "revoked"
        return "retired" if self.retired_at is not None else "superseded"

    def to_json(self) -> dict[str, Any]:
        """The entry in history.json."""
        entry: dict[str, Any] = {"publicKeyMultibase": self.public_key.multibase}
        for name, moment in (
            ("supersededAt", self.superseded_at),
            ("retiredAt", self.retired_at),
            ("revokedAt", self.revoked_at),
        ):
            if moment is not None:
                entry[name] = format_datetime(moment)
        if self.reason:
            entry["reason"] = self.reason
        return entry

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> FormerKey:
        """Parse an entry of history.json (ValueError when it is malformed)."""

        def moment(name: str) -> datetime | None:
            value = entry.get(name)
            return None if value is None else parse_datetime(str(value))

        reason = entry.get("reason")
        return cls(
            public_key=public_key_from_multibase(str(entry["publicKeyMultibase"])),
            superseded_at=moment("supersededAt"),
            retired_at=moment("retiredAt"),
            revoked_at=moment("revokedAt"),
            reason=str(reason) if reason else None,
        )


@dataclass(frozen=True, slots=True)
class KeySet:
    """What a key directory holds: current keys (in algorithm order), prepared successors, former keys."""

    current: tuple[SigningKey, ...]
    prepared: tuple[SigningKey, ...] = ()
    former: tuple[FormerKey, ...] = ()

    def did_document(self, did: str) -> DidDocument:
        """The DID document: former keys (with `expires` = retiredAt, `revoked` = revokedAt), then current ones."""
        methods = [
            VerificationMethod(
                f"{did}#{key.public_key.multibase}", did, key.public_key, key.retired_at, key.revoked_at
            )
            for key in self.former
        ]
        methods += [
            VerificationMethod(f"{did}#{key.public_key.multibase}", did, key.public_key)
            for key in self.current
        ]
        ids = tuple(method.id for method in methods)
        return DidDocument(id=did, methods=tuple(methods), relationships=dict.fromkeys(RELATIONSHIPS, ids))


class KeyDirectory:
    """The key files of one service, for `algorithms` (Ed25519 first: it signs requests and logs)."""

    def __init__(self, path: Path, algorithms: Iterable[KeyAlgorithm | str]) -> None:
        self.path = path
        self.algorithms = tuple(KeyAlgorithm(algorithm) for algorithm in algorithms)

    def _key_path(self, algorithm: KeyAlgorithm, suffix: str = "") -> Path:
        return self.path / f"{algorithm.value}{suffix}.key"

    def fingerprint(self) -> Fingerprint:
        """What changes whenever a key file or the history is replaced (inode, times, size): cheap to poll."""
        names = [HISTORY_FILE]
        for algorithm in self.algorithms:
            names += [f"{algorithm.value}.key", f"{algorithm.value}{NEXT}.key"]
        marks: list[tuple[int, int, int, int] | None] = []
        for name in names:
            try:
                status = os.stat(self.path / name)
            except FileNotFoundError:
                marks.append(None)
            else:
                marks.append((status.st_ino, status.st_mtime_ns, status.st_ctime_ns, status.st_size))
        return tuple(marks)

    def read(self, *, create: bool = False) -> KeySet:
        """The keys on disk; with `create`, a missing current key is generated (mode 0600).

        Raises `KeyDirectoryError` (or `OSError`) when the files cannot be read or do not fit together.
        """
        former = self._read_history()
        former_keys = {key.public_key for key in former}
        current: list[SigningKey] = []
        prepared: list[SigningKey] = []
        for algorithm in self.algorithms:
            path, next_path = self._key_path(algorithm), self._key_path(algorithm, NEXT)
            successor = _load(next_path) if next_path.exists() else None
            if path.exists():
                key = _load(path)
            elif create:
                key = generate_signing_key(algorithm)
                save_key_pair(key, self.path, algorithm.value)
            else:
                raise KeyDirectoryError(f"{path} is missing")
            if key.public_key in former_keys:
                # A switch was interrupted after the history was written: the successor is the key now.
                if successor is None:
                    raise KeyDirectoryError(
                        f"{path} holds a former key and no successor ({next_path.name}) is there"
                    )
                key, successor = successor, None
            current.append(key)
            if successor is not None:
                prepared.append(successor)
        return KeySet(tuple(current), tuple(prepared), former)

    def _read_history(self) -> tuple[FormerKey, ...]:
        path = self.path / HISTORY_FILE
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return ()
        except (UnicodeDecodeError, ValueError) as exc:
            raise KeyDirectoryError(f"{path} is not JSON: {exc}") from None
        try:
            return tuple(FormerKey.from_json(entry) for entry in data["formerKeys"])
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyDirectoryError(f"{path} is not a key history: {exc}") from None

    def _write_history(self, former: Iterable[FormerKey]) -> None:
        document = {"formerKeys": [key.to_json() for key in former]}
        write_public_file(self.path / HISTORY_FILE, (json.dumps(document, indent=2) + "\n").encode("utf-8"))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[KeySet]:
        """An exclusive lock for one change, with the keys as they are (an interrupted switch finished)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK_FILE, "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                self._finish_switch()
                yield self.read()
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _finish_switch(self) -> None:
        former_keys = {key.public_key for key in self._read_history()}
        for algorithm in self.algorithms:
            path, next_path = self._key_path(algorithm), self._key_path(algorithm, NEXT)
            if path.exists() and next_path.exists() and _load(path).public_key in former_keys:
                self._promote(algorithm)

    def _promote(self, algorithm: KeyAlgorithm) -> None:
        os.replace(self._key_path(algorithm, NEXT), self._key_path(algorithm))
        public = self.path / f"{algorithm.value}{NEXT}.pub.pem"
        if public.exists():
            os.replace(public, self.path / f"{algorithm.value}.pub.pem")
        _sync_directory(self.path)

    def prepare(self, algorithms: Iterable[KeyAlgorithm | str] | None = None) -> tuple[SigningKey, ...]:
        """A successor for the current key of each of `algorithms` (default: all), written as `<alg>.next.key`;
        a successor prepared before (by a rotation that did not finish) is kept and returned again."""
        wanted = self.algorithms if algorithms is None else tuple(KeyAlgorithm(a) for a in algorithms)
        with self._locked():
            successors = []
            for algorithm in self.algorithms:
                if algorithm not in wanted:
                    continue
                path = self._key_path(algorithm, NEXT)
                if path.exists():
                    successors.append(_load(path))
                else:
                    key = generate_signing_key(algorithm)
                    save_key_pair(key, self.path, f"{algorithm.value}{NEXT}")
                    successors.append(key)
            _sync_directory(self.path)
            return tuple(successors)

    def abandon(self) -> None:
        """Delete prepared successors (the change was refused): the directory is as before `prepare`."""
        with self._locked():
            for algorithm in self.algorithms:
                self._key_path(algorithm, NEXT).unlink(missing_ok=True)
                (self.path / f"{algorithm.value}{NEXT}.pub.pem").unlink(missing_ok=True)

    def switch(self, *, at: datetime, reason: str | None = None) -> KeySet:
        """Make every prepared successor the current key; the outgoing keys become former keys, superseded at
        `at` (public part only: the private key file is replaced). Raises `KeyDirectoryError` when nothing
        is prepared."""
        with self._locked() as keys:
            if not keys.prepared:
                raise KeyDirectoryError(f"no successor key is prepared in {self.path}")
            replaced = {key.algorithm for key in keys.prepared}
            known = {key.public_key for key in keys.former}
            outgoing = [
                FormerKey(key.public_key, superseded_at=at, reason=reason)
                for key in keys.current
                if key.algorithm in replaced and key.public_key not in known
            ]
            # History first: from here on, reading takes the successor even before the renames below.
            self._write_history((*keys.former, *outgoing))
            for algorithm in self.algorithms:
                if algorithm in replaced:
                    self._promote(algorithm)
            return self.read()

    def set_times(self, methods: Iterable[VerificationMethod], *, reason: str | None = None) -> KeySet:
        """Record the retiredAt / revokedAt of an authoritative key list (the registry's record of the
        service's keys) on the former keys; a listed key this directory neither signs with nor has prepared
        is added as former.
        `reason` is noted on keys whose state changes."""
        with self._locked() as keys:
            held = {key.public_key for key in (*keys.current, *keys.prepared)}
            former = {key.public_key: key for key in keys.former}
            for method in methods:
                if method.public_key in held:
                    continue
                before = former.get(method.public_key, FormerKey(method.public_key))
                after = replace(before, retired_at=method.expires, revoked_at=method.revoked)
                if after != before:
                    after = replace(after, reason=reason or before.reason)
                former[method.public_key] = after
            updated = tuple(former.values())
            if updated != keys.former:
                self._write_history(updated)
            return self.read()

    def rotate(self, *, at: datetime, reason: str | None = None) -> KeySet:
        """Rotate every key with no one else to ask (a resolver's certificate keys): prepare, switch, and
        retire the outgoing keys at the next whole second after `at`.

        Proof times are whole seconds, so a proof the outgoing key made up to `at` is dated before the
        retirement, and a proof dated at or after it cannot come from that key.
        """
        self.prepare()
        self.switch(at=at, reason=reason)
        retired_at = at.replace(microsecond=0) + timedelta(seconds=1)
        with self._locked() as keys:
            self._write_history(
                replace(key, retired_at=retired_at) if key.state == "superseded" else key
                for key in keys.former
            )
        return self.read()


def _load(path: Path) -> SigningKey:
    try:
        return load_signing_key(path.read_bytes())
    except ValueError as exc:
        raise KeyDirectoryError(f"{path}: {exc}") from None


def _sync_directory(path: Path) -> None:
    """fsync the directory so that renames in it survive a crash."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
