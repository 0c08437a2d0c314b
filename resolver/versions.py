"""No rollback: a signed record never goes below the highest version this resolver has verified.

Records (and prefix records) carry their version inside what is signed, so a node or registry serving an
old, validly signed version, or two different documents under one version, is caught here. The highest
version and its document digest are persisted (`resolver.repository`), so a restarted resolver, or another
replica on the same database, still refuses; a bounded memory in front keeps the database out of the path
when nothing changed.
"""

from __future__ import annotations

from collections import OrderedDict

from resolver.errors import RollbackRefused
from resolver.repository import ResolverStore, SeenVersion, VersionRowTaken


class VersionGuard:
    """Checks and records the versions of verified documents."""

    def __init__(self, store: ResolverStore, *, max_entries: int) -> None:
        self.store = store
        self.max_entries = max_entries
        self._known: OrderedDict[str, tuple[int, str]] = OrderedDict()

    async def check(self, key: str, handle: str, version: int, digest: str, *, at: str) -> None:
        """Accept `version` (with document `digest`) of the record `key`, or raise `RollbackRefused`.

        Call it only for a document whose proofs verified: a forged high version must never be recorded.
        """
        known = self._known.get(key)
        if known == (version, digest):
            self._known.move_to_end(key)
            return
        if known is not None:
            _refuse_if_older(handle, version, digest, SeenVersion(key, handle, *known))
        # One write transaction reads and records: a version not in memory is usually new to the database too.
        await self._record(SeenVersion(key, handle, version, digest), at=at)
        self._remember(key, version, digest)

    async def _record(self, seen: SeenVersion, *, at: str) -> None:
        for attempt in range(2):
            try:
                async with self.store.transaction(write=True) as db:
                    # Read again under the write lock: another replica may have recorded a version meanwhile.
                    stored = await db.highest(seen.key, for_update=True)
                    if stored is None:
                        await db.insert(seen, at=at)
                    else:
                        _refuse_if_older(seen.handle, seen.version, seen.digest, stored)
                        if stored.version < seen.version:
                            await db.raise_to(seen, at=at)
                return
            except VersionRowTaken:
                if attempt:
                    raise

    def _remember(self, key: str, version: int, digest: str) -> None:
        self._known[key] = (version, digest)
        self._known.move_to_end(key)
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)

    def forget(self) -> None:
        """Drop the memory (the database still remembers)."""
        self._known.clear()


def _refuse_if_older(handle: str, version: int, digest: str, stored: SeenVersion) -> None:
    if version < stored.version:
        raise RollbackRefused(
            f"rollback refused: {handle} is served at version {version}, but version {stored.version} "
            "was verified before"
        )
    if version == stored.version and digest != stored.digest:
        raise RollbackRefused(
            f"equivocation: {handle} version {version} is not the document verified before under that "
            f"version (digest {digest[:16]}… instead of {stored.digest[:16]}…)"
        )
