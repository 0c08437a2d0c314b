"""The node's storage: one store class over the tables of `node.schema`; nothing else touches SQLAlchemy.

Use-cases open one unit of work per operation (`async with store.unit(write=True) as db:`), which is one
database transaction, and call the methods of :class:`StoreSession` inside it. Rows come back as frozen
dataclasses; times are ISO-8601 UTC strings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.database import transaction, translate_integrity_error
from node import schema
from node.log import LogEntry

PLAIN = "plain"
RECORD = "record"


class HandleTaken(Exception):
    """A handle with that key already exists (a concurrent creation won the race)."""


@dataclass(frozen=True, slots=True)
class ReadScope:
    """Whose reads a query answers: the admin sees everything; a peer also sees records granted to it."""

    admin: bool = False
    peer_prefix_key: str | None = None


@dataclass(frozen=True, slots=True)
class StoredHandle:
    """A row of `node_handles`."""

    key: str
    handle: str
    kind: str
    created_at: str


@dataclass(frozen=True, slots=True)
class StoredValue:
    """A value of a plain handle, as its Handle JSON text."""

    index: int
    type: str
    value_json: str


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A carbon record: what its latest version says."""

    key: str
    handle: str
    template: str
    template_id: str
    period: str | None
    visibility: str
    latest_version: int
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One version of a record: the signed document (canonical JSON text) and who changed it, when, why."""

    key: str
    version: int
    template: str
    visibility: str
    document: str
    digest: str
    changed_by: str
    changed_at: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class GrantRow:
    """A grant of read access to one peer prefix, with its revocation if any."""

    id: int
    key: str
    prefix: str
    prefix_key: str
    part_code: str | None
    granted_at: str
    granted_by: str
    revoked_at: str | None
    revoked_by: str | None


class NodeStore:
    """The node's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit(self, *, write: bool = False) -> AsyncIterator[StoreSession]:
        """One unit of work in one transaction: committed when the block ends, rolled back on error."""
        async with transaction(self.engine, write=write) as conn:
            yield StoreSession(conn)


def _record(row: sa.Row[tuple[object, ...]]) -> RecordRow:
    m = row._mapping
    return RecordRow(
        key=m["handle_key"],
        handle=m["handle"],
        template=m["template"],
        template_id=m["template_id"],
        period=m["period"],
        visibility=m["visibility"],
        latest_version=m["latest_version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _version(row: sa.Row[tuple[object, ...]]) -> VersionRow:
    m = row._mapping
    return VersionRow(
        key=m["handle_key"],
        version=m["version"],
        template=m["template"],
        visibility=m["visibility"],
        document=m["document"],
        digest=m["digest"],
        changed_by=m["changed_by"],
        changed_at=m["changed_at"],
        reason=m["reason"],
    )


def _grant(row: sa.Row[tuple[object, ...]]) -> GrantRow:
    m = row._mapping
    return GrantRow(
        id=m["id"],
        key=m["handle_key"],
        prefix=m["prefix"],
        prefix_key=m["prefix_key"],
        part_code=m["part_code"],
        granted_at=m["granted_at"],
        granted_by=m["granted_by"],
        revoked_at=m["revoked_at"],
        revoked_by=m["revoked_by"],
    )


def _record_visible(scope: ReadScope) -> sa.ColumnElement[bool]:
    """SQL condition: the record row of `node_records` may be shown to `scope`."""
    r, g = schema.records, schema.grants
    if scope.admin:
        return sa.true()
    public = r.c.visibility == "public"
    if scope.peer_prefix_key is None:
        return public
    granted = (
        sa.select(g.c.id)
        .where(g.c.handle_key == r.c.handle_key)
        .where(g.c.prefix_key == scope.peer_prefix_key)
        .where(g.c.revoked_at.is_(None))
        .exists()
    )
    return sa.or_(public, granted)


class StoreSession:
    """The queries and writes of one unit of work."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # -- handles ---------------------------------------------------------------------------------------

    async def get_handle(self, key: str) -> StoredHandle | None:
        """The handle with this normalised key, plain or record."""
        h = schema.handles
        row = (await self._conn.execute(sa.select(h).where(h.c.handle_key == key))).first()
        if row is None:
            return None
        return StoredHandle(row.handle_key, row.handle, row.kind, row.created_at)

    async def insert_handle(self, key: str, handle: str, kind: str, at: str) -> None:
        """Claim a handle; raises `HandleTaken` when it exists."""
        with translate_integrity_error({"unique": lambda: HandleTaken(handle)}):
            await self._conn.execute(
                schema.handles.insert().values(handle_key=key, handle=handle, kind=kind, created_at=at)
            )

    async def delete_handle(self, key: str) -> None:
        """Delete a plain handle and its values."""
        await self._conn.execute(
            sa.delete(schema.handle_values).where(schema.handle_values.c.handle_key == key)
        )
        await self._conn.execute(
            sa.delete(schema.handles)
            .where(schema.handles.c.handle_key == key)
            .where(schema.handles.c.kind == PLAIN)
        )

    async def get_values(self, key: str) -> list[StoredValue]:
        """The values of a plain handle, in index order."""
        v = schema.handle_values
        rows = await self._conn.execute(
            sa.select(v.c.idx, v.c.type, v.c.value_json).where(v.c.handle_key == key).order_by(v.c.idx)
        )
        return [StoredValue(row.idx, row.type, row.value_json) for row in rows]

    async def put_values(self, key: str, values: Iterable[StoredValue], *, replace_all: bool) -> None:
        """Write values of a plain handle: all of them (`replace_all`) or just those indexes."""
        v = schema.handle_values
        values = list(values)
        if replace_all:
            await self._conn.execute(sa.delete(v).where(v.c.handle_key == key))
        else:
            indexes = [value.index for value in values]
            if indexes:
                await self._conn.execute(
                    sa.delete(v).where(v.c.handle_key == key).where(v.c.idx.in_(indexes))
                )
        if values:
            await self._conn.execute(
                v.insert(),
                [
                    {
                        "handle_key": key,
                        "idx": value.index,
                        "type": value.type,
                        "value_json": value.value_json,
                    }
                    for value in values
                ],
            )

    async def delete_values(self, key: str, indexes: Iterable[int]) -> None:
        """Remove values of a plain handle by index."""
        v = schema.handle_values
        await self._conn.execute(sa.delete(v).where(v.c.handle_key == key).where(v.c.idx.in_(list(indexes))))

    async def list_handles(
        self, scope: ReadScope, *, offset: int | None, limit: int | None
    ) -> tuple[int, list[str]]:
        """Every handle `scope` may see (plain handles and readable records), by key; the total and a page."""
        h, r = schema.handles, schema.records
        visible = sa.or_(h.c.kind == PLAIN, _record_visible(scope))
        base = (
            sa.select(h.c.handle).select_from(h.outerjoin(r, r.c.handle_key == h.c.handle_key)).where(visible)
        )
        total = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(base.subquery()))
        ).scalar_one()
        query = base.order_by(h.c.handle_key)
        if offset is not None:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return int(total), list((await self._conn.execute(query)).scalars())

    # -- records ---------------------------------------------------------------------------------------

    async def get_record(self, key: str) -> RecordRow | None:
        """A record by handle key, whoever asks (visibility is the caller's business)."""
        r = schema.records
        row = (await self._conn.execute(sa.select(r).where(r.c.handle_key == key))).first()
        return None if row is None else _record(row)

    async def insert_record(self, record: RecordRow) -> None:
        """A new record's row (its handle must have been claimed with kind `record`)."""
        await self._conn.execute(
            schema.records.insert().values(
                handle_key=record.key,
                handle=record.handle,
                template=record.template,
                template_id=record.template_id,
                period=record.period,
                visibility=record.visibility,
                latest_version=record.latest_version,
                created_at=record.created_at,
                updated_at=record.updated_at,
            )
        )

    async def update_record(self, record: RecordRow) -> None:
        """Point a record at its new latest version."""
        r = schema.records
        await self._conn.execute(
            sa.update(r)
            .where(r.c.handle_key == record.key)
            .values(
                template=record.template,
                template_id=record.template_id,
                period=record.period,
                visibility=record.visibility,
                latest_version=record.latest_version,
                updated_at=record.updated_at,
            )
        )

    async def insert_version(self, version: VersionRow) -> None:
        """Append a version; versions are never updated."""
        await self._conn.execute(
            schema.record_versions.insert().values(
                handle_key=version.key,
                version=version.version,
                template=version.template,
                visibility=version.visibility,
                document=version.document,
                digest=version.digest,
                changed_by=version.changed_by,
                changed_at=version.changed_at,
                reason=version.reason,
            )
        )

    async def get_version(self, key: str, version: int) -> VersionRow | None:
        """One version of a record."""
        rv = schema.record_versions
        row = (
            await self._conn.execute(
                sa.select(rv).where(rv.c.handle_key == key).where(rv.c.version == version)
            )
        ).first()
        return None if row is None else _version(row)

    async def list_versions(self, key: str) -> list[VersionRow]:
        """Every version of a record, oldest first."""
        rv = schema.record_versions
        rows = await self._conn.execute(sa.select(rv).where(rv.c.handle_key == key).order_by(rv.c.version))
        return [_version(row) for row in rows]

    async def list_records(
        self,
        scope: ReadScope,
        *,
        template: str | None,
        period: str | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[tuple[RecordRow, VersionRow]]]:
        """Records `scope` may see, newest change first, with their latest version; the total and a page."""
        r, rv = schema.records, schema.record_versions
        conditions: list[sa.ColumnElement[bool]] = [_record_visible(scope)]
        if template is not None:
            conditions.append(sa.or_(r.c.template_id == template, r.c.template == template))
        if period is not None:
            conditions.append(r.c.period == period)
        where = sa.and_(*conditions)
        total = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(r).where(where))
        ).scalar_one()
        query = (
            sa.select(
                r, rv.c.version, rv.c.document, rv.c.digest, rv.c.changed_by, rv.c.changed_at, rv.c.reason
            )
            .add_columns(rv.c.template.label("version_template"), rv.c.visibility.label("version_visibility"))
            .select_from(
                r.join(rv, sa.and_(rv.c.handle_key == r.c.handle_key, rv.c.version == r.c.latest_version))
            )
            .where(where)
            .order_by(r.c.updated_at.desc(), r.c.handle_key)
            .offset(offset)
            .limit(limit)
        )
        page = []
        for row in await self._conn.execute(query):
            m = row._mapping
            version = VersionRow(
                key=m["handle_key"],
                version=m["version"],
                template=m["version_template"],
                visibility=m["version_visibility"],
                document=m["document"],
                digest=m["digest"],
                changed_by=m["changed_by"],
                changed_at=m["changed_at"],
                reason=m["reason"],
            )
            page.append((_record(row), version))
        return int(total), page

    # -- grants ----------------------------------------------------------------------------------------

    async def active_grant(self, key: str, prefix_key: str) -> GrantRow | None:
        """The unrevoked grant of a record to a peer prefix, if any."""
        g = schema.grants
        row = (
            await self._conn.execute(
                sa.select(g)
                .where(g.c.handle_key == key)
                .where(g.c.prefix_key == prefix_key)
                .where(g.c.revoked_at.is_(None))
                .order_by(g.c.id.desc())
            )
        ).first()
        return None if row is None else _grant(row)

    async def list_grants(self, key: str) -> list[GrantRow]:
        """Every grant of a record, revoked ones included, oldest first."""
        g = schema.grants
        rows = await self._conn.execute(sa.select(g).where(g.c.handle_key == key).order_by(g.c.id))
        return [_grant(row) for row in rows]

    async def insert_grant(
        self, *, key: str, prefix: str, prefix_key: str, part_code: str | None, at: str, by: str
    ) -> GrantRow:
        """Record a new grant and return it."""
        g = schema.grants
        result = await self._conn.execute(
            g.insert()
            .values(
                handle_key=key,
                prefix=prefix,
                prefix_key=prefix_key,
                part_code=part_code,
                granted_at=at,
                granted_by=by,
            )
            .returning(g.c.id)
        )
        grant_id = int(result.scalar_one())
        return GrantRow(grant_id, key, prefix, prefix_key, part_code, at, by, None, None)

    async def revoke_grant(self, grant: GrantRow, *, at: str, by: str) -> GrantRow:
        """Stamp the revocation on an active grant (once: a revoked grant stays revoked)."""
        g = schema.grants
        await self._conn.execute(
            sa.update(g)
            .where(g.c.id == grant.id)
            .where(g.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        )
        return GrantRow(
            grant.id, grant.key, grant.prefix, grant.prefix_key, grant.part_code, grant.granted_at,
            grant.granted_by, at, by,
        )  # fmt: skip

    # -- log -------------------------------------------------------------------------------------------

    async def lock_log_head(self) -> tuple[int, str]:
        """The head (last seq and hash), locked until the unit ends so appends chain one at a time."""
        head = schema.log_head
        row = (
            await self._conn.execute(
                sa.select(head.c.seq, head.c.hash).where(head.c.id == schema.LOG_HEAD_ID).with_for_update()
            )
        ).one()
        return int(row.seq), str(row.hash)

    async def append_log(self, entry: LogEntry, *, handle_key: str) -> None:
        """Append an entry and move the head to it."""
        await self._conn.execute(
            schema.log_entries.insert().values(
                seq=entry.seq,
                subject=entry.subject,
                version=entry.version,
                digest=entry.digest,
                at=entry.at,
                prev=entry.prev,
                hash=entry.hash,
                signature=entry.signature,
                key_id=entry.key_id,
                handle_key=handle_key,
            )
        )
        head = schema.log_head
        await self._conn.execute(
            sa.update(head).where(head.c.id == schema.LOG_HEAD_ID).values(seq=entry.seq, hash=entry.hash)
        )

    async def log_head(self) -> tuple[int, str]:
        """The last seq and hash (0 and the genesis hash for an empty log)."""
        head = schema.log_head
        row = (
            await self._conn.execute(
                sa.select(head.c.seq, head.c.hash).where(head.c.id == schema.LOG_HEAD_ID)
            )
        ).one()
        return int(row.seq), str(row.hash)

    async def log_entries(self, *, after: int, limit: int) -> list[tuple[LogEntry, str | None]]:
        """Entries with seq > `after`, in order, each with its handle when its record is public now."""
        e, r = schema.log_entries, schema.records
        rows = await self._conn.execute(
            sa.select(e, r.c.handle, r.c.visibility)
            .select_from(e.outerjoin(r, r.c.handle_key == e.c.handle_key))
            .where(e.c.seq > after)
            .order_by(e.c.seq)
            .limit(limit)
        )
        out: list[tuple[LogEntry, str | None]] = []
        for row in rows:
            entry = LogEntry(
                row.seq,
                row.subject,
                row.version,
                row.digest,
                row.at,
                row.prev,
                row.hash,
                row.signature,
                row.key_id,
            )
            out.append((entry, row.handle if row.visibility == "public" else None))
        return out


def keys_of(values: Sequence[StoredValue]) -> set[int]:
    """The indexes of stored values."""
    return {value.index for value in values}
