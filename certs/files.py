"""Writing key and certificate files: atomically, and private ones never readable by others."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private_file(path: Path, data: bytes) -> None:
    """Write a secret (private key) with mode 0600."""
    # mkstemp creates the file 0600 from the start, so the key is never readable by others, not even
    # briefly; the rename means a crash leaves the old key or the new one, never half of one.
    atomic_write(path, data, mode=0o600)


def write_public_file(path: Path, data: bytes) -> None:
    """Write a public file (certificate, public key) with mode 0644."""
    atomic_write(path, data, mode=0o644)


def atomic_write(path: Path, data: bytes, *, mode: int) -> None:
    """Write through a temporary file in the same directory and rename it into place."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
