"""The backup archive: a gzipped tar whose first member, `manifest.json`, lists every other member's size and
SHA-256, written atomically and read back only after every member is checked.

Layout::

    manifest.json                  format, service, DID, prefix, carbonid version, time, database, members
    database/<service>.db          SQLite: a consistent copy made with the online backup API
    database/<service>.pgdump      PostgreSQL: pg_dump --format=custom of the service's tables
    keys/...                       the service's signing keys (private keys included)

Why a manifest with checksums when gzip has a CRC: the CRC only says the bytes came through as written; the
manifest says which members belong to the backup, so a member swapped, added or left out is refused too, and
`restore` can say which one. An archive is written to a temporary file beside its target (mode 0600: it holds
private keys) and renamed into place, so a half-written archive never carries the final name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final

FORMAT: Final = "carbonid-backup/1"
"""The manifest's `format`: what this code writes and reads."""

MANIFEST: Final = "manifest.json"
MAX_MANIFEST_BYTES: Final = 1024 * 1024
_CHUNK: Final = 1024 * 1024
_MEMBER_NAME: Final = re.compile(r"(database|keys)(/[A-Za-z0-9._@+-]+)+")


class BackupError(Exception):
    """A backup or restore cannot run: unreadable settings or files, a missing tool, a database not there."""


class BackupRefused(Exception):
    """Refused: the archive is damaged or does not fit the configuration, or the target already holds data."""


class ArchiveInvalid(BackupRefused):
    """The archive is not a complete, unaltered carbonid backup."""


@dataclass(frozen=True, slots=True)
class Member:
    """A file to put in the archive under `name`."""

    name: str
    path: Path


def file_digest(path: Path) -> tuple[str, int]:
    """Hex SHA-256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def write_archive(out: Path, manifest: Mapping[str, Any], members: Sequence[Member]) -> dict[str, Any]:
    """Write the archive to `out` (0600) through a temporary file renamed into place; return the manifest.

    The manifest's `members` is filled in here. The files must not change meanwhile: callers archive copies
    in a staging directory of their own.
    """
    listed: dict[str, dict[str, Any]] = {}
    for member in members:
        if not _MEMBER_NAME.fullmatch(member.name):
            raise ValueError(f"archive member name {member.name!r} is not allowed")
        sha256, size = file_digest(member.path)
        listed[member.name] = {"sha256": sha256, "size": size}
    complete = {**manifest, "members": listed}
    text = (json.dumps(complete, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(text), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(text))
                for member in members:
                    info = tar.gettarinfo(str(member.path), arcname=member.name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    with member.path.open("rb") as handle:
                        tar.addfile(info, handle)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(out.parent)
    return complete


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_archive(archive: Path, staging: Path) -> dict[str, Any]:
    """Check `archive` member by member against its manifest, unpacking into `staging`; return the manifest.

    Raises :class:`ArchiveInvalid` (one line) when the archive is not gzip, is truncated, has a member the
    manifest does not list or lacks one it lists, or a member's size or SHA-256 differs. Nothing is written
    outside `staging`; members are written by this function (never `tar.extract`), so no path, link or device
    in the archive can reach anything else.
    """
    if not archive.is_file():
        raise BackupError(f"cannot read {archive}: no such file")
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            manifest = _read_manifest(tar, str(archive))
            expected: dict[str, dict[str, Any]] = manifest["members"]
            seen: set[str] = set()
            for position, info in enumerate(tar):
                if position == 0:
                    continue  # the manifest, read above
                name = info.name
                if name not in expected:
                    raise ArchiveInvalid(f"{archive}: member {name} is not listed in the manifest")
                if name in seen or not info.isfile():
                    raise ArchiveInvalid(f"{archive}: member {name} is not a single regular file")
                seen.add(name)
                source = tar.extractfile(info)
                if source is None:
                    raise ArchiveInvalid(f"{archive}: member {name} cannot be read")
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                sha256, size = _copy_hashing(source, target)
                os.chmod(target, info.mode & 0o755)
                want = expected[name]
                if size != want["size"] or sha256 != want["sha256"]:
                    raise ArchiveInvalid(
                        f"{archive}: member {name} does not match the manifest "
                        f"(size {size}, sha256 {sha256[:16]}…; listed {want['size']}, {str(want['sha256'])[:16]}…)"
                    )
    except ArchiveInvalid:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArchiveInvalid(f"{archive} is damaged or truncated: {reason}") from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise ArchiveInvalid(f"{archive}: the manifest lists {missing[0]}, which the archive does not hold")
    return manifest


def _read_manifest(tar: tarfile.TarFile, where: str) -> dict[str, Any]:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile() or first.size > MAX_MANIFEST_BYTES:
        raise ArchiveInvalid(f"{where}: not a carbonid backup (it does not start with {MANIFEST})")
    handle = tar.extractfile(first)
    if handle is None:
        raise ArchiveInvalid(f"{where}: {MANIFEST} cannot be read")
    try:
        manifest = json.loads(handle.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchiveInvalid(f"{where}: {MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ArchiveInvalid(f"{where}: manifest format {found!r} is not {FORMAT}")
    members = manifest.get("members")
    if not isinstance(members, dict) or not all(_listed_member(k, v) for k, v in members.items()):
        raise ArchiveInvalid(f"{where}: the manifest's member list is malformed")
    return manifest


def _listed_member(name: object, entry: object) -> bool:
    if not isinstance(name, str) or not _MEMBER_NAME.fullmatch(name):
        return False
    if any(part in (".", "..") for part in PurePosixPath(name).parts):
        return False
    if not isinstance(entry, dict):
        return False
    sha256, size = entry.get("sha256"), entry.get("size")
    return (
        isinstance(sha256, str)
        and re.fullmatch(r"[0-9a-f]{64}", sha256) is not None
        and isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
    )


def _copy_hashing(source: IO[bytes], target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def copy_tree(source: Path, target: Path) -> None:
    """Copy a staged directory of small files (the keys), keeping modes; `target` must not exist."""
    shutil.copytree(source, target, copy_function=shutil.copy2)
