"""The registry's storage: one store class, SQLAlchemy Core behind it, nothing above it sees SQL.

A use-case opens one transaction (`RegistryStore.transaction`) and calls the methods of the
`RegistryTransaction` it gets; constraint violations come out as the registry's own errors
(`PrefixTaken`, `RecordVersionTaken`, a replayed request, `AdminExists`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.database import transaction, translate_integrity_error
from handle_registry.identifiers import Prefix
from handle_registry.service.errors import (
    AdminExists,
    PrefixTaken,
    RecordVersionTaken,
    SignatureRejected,
)
from handle_registry.service.schema import (
    admins,
    applications,
    json_column_value,
    prefix_events,
    prefix_records,
    prefixes,
    request_nonces,
)


@dataclass(frozen=True, slots=True)
class PrefixFields:
    """What an application or a delegation says about a prefix."""

    kind: str
    did: str
    service_url: str
    application: dict[str, Any]
    enterprise_name: str | None = None
    uscc: str | None = None
    region: str | None = None
    industry: str | None = None


@dataclass(frozen=True, slots=True)
class PrefixEntry:
    """A stored prefix: who holds it, its status, and which record version is current (0 = none yet)."""

    id: int
    prefix: Prefix
    kind: str
    status: str
    did: str
    service_url: str
    enterprise_name: str | None
    uscc: str | None
    region: str | None
    industry: str | None
    application: dict[str, Any]
    version: int
    status_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One signed prefix-record version."""

    version: int
    document: dict[str, Any]
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class PrefixEvent:
    """One entry of a prefix's history."""

    at: datetime
    action: str
    actor: str
    reason: str | None
    version: int | None


@dataclass(frozen=True, slots=True)
class PrefixQuery:
    """A listing: which statuses, optional kind, region code prefix, industry code prefix, and the page."""

    statuses: tuple[str, ...]
    offset: int
    limit: int
    kind: str | None = None
    region_prefix: str | None = None
    industry_prefix: str | None = None


def _entry(row: RowMapping) -> PrefixEntry:
    return PrefixEntry(
        id=row["id"],
        prefix=Prefix(row["prefix_text"]),
        kind=row["kind"],
        status=row["status"],
        did=row["did"],
        service_url=row["service_url"],
        enterprise_name=row["enterprise_name"],
        uscc=row["uscc"],
        region=row["region"],
        industry=row["industry"],
        application=json.loads(row["application"]),
        version=row["current_version"],
        status_reason=row["status_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _record(row: RowMapping) -> StoredRecord | None:
    if row["document"] is None:
        return None
    return StoredRecord(
        version=row["version"], document=json.loads(row["document"]), issued_at=row["issued_at"]
    )


_CURRENT_RECORD = sa.and_(
    prefix_records.c.prefix_id == prefixes.c.id, prefix_records.c.version == prefixes.c.current_version
)


def _with_current_record() -> sa.Select[Any]:
    joined = prefixes.outerjoin(prefix_records, _CURRENT_RECORD)
    return sa.select(
        prefixes, prefix_records.c.version, prefix_records.c.document, prefix_records.c.issued_at
    ).select_from(joined)


class RegistryTransaction:
    """The store's operations inside one transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    # --- prefixes ------------------------------------------------------------------------------

    async def prefix(self, prefix: Prefix, *, for_update: bool = False) -> PrefixEntry | None:
        """The stored prefix, or None; `for_update` locks the row until the transaction ends (PostgreSQL)."""
        query = sa.select(prefixes).where(prefixes.c.prefix_key == prefix.key)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else _entry(row)

    async def prefix_with_record(self, prefix: Prefix) -> tuple[PrefixEntry, StoredRecord | None] | None:
        """The stored prefix and its current signed record (None before approval), or None."""
        query = _with_current_record().where(prefixes.c.prefix_key == prefix.key)
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else (_entry(row), _record(row))

    async def lineage(self, prefix: Prefix) -> list[tuple[PrefixEntry, StoredRecord | None]]:
        """The stored rows of `prefix` and of every prefix above it, longest first, with current records."""
        keys = [p.key for p in prefix.ancestors(include_self=True)]
        query = _with_current_record().where(prefixes.c.prefix_key.in_(keys))
        rows = (await self._conn.execute(query)).mappings().all()
        found = [(_entry(row), _record(row)) for row in rows]
        return sorted(found, key=lambda pair: -len(pair[0].prefix.segments))

    async def prefixes_below(self, prefix: Prefix, *, statuses: Sequence[str], limit: int = 5) -> list[str]:
        """Up to `limit` prefixes strictly below `prefix` whose status is one of `statuses`."""
        query = (
            sa.select(prefixes.c.prefix_text)
            .where(prefixes.c.prefix_key.startswith(prefix.key + ".", autoescape=True))
            .where(prefixes.c.status.in_(list(statuses)))
            .order_by(prefixes.c.prefix_key)
            .limit(limit)
        )
        return list((await self._conn.execute(query)).scalars())

    async def insert_prefix(self, prefix: Prefix, fields: PrefixFields, *, status: str, at: datetime) -> int:
        """Store a new prefix; `PrefixTaken` if its key is already stored."""
        values = {
            "prefix_key": prefix.key,
            "prefix_text": prefix.text,
            "status": status,
            "current_version": 0,
            "status_reason": None,
            "created_at": at,
            "updated_at": at,
            **self._field_values(fields),
        }
        with translate_integrity_error(
            {"unique": lambda: PrefixTaken(f"prefix {prefix} is already registered")}
        ):
            result = await self._conn.execute(prefixes.insert().values(**values).returning(prefixes.c.id))
        return int(result.scalar_one())

    async def replace_application(
        self, entry_id: int, prefix: Prefix, fields: PrefixFields, *, at: datetime
    ) -> None:
        """A new application for a rejected prefix: the row becomes pending with the new contents."""
        await self._conn.execute(
            prefixes.update()
            .where(prefixes.c.id == entry_id)
            .values(
                prefix_text=prefix.text,
                status="pending",
                status_reason=None,
                updated_at=at,
                **self._field_values(fields),
            )
        )

    async def set_status(
        self, entry_id: int, *, status: str, version: int, reason: str | None, at: datetime
    ) -> None:
        """Change a prefix's status and current record version."""
        await self._conn.execute(
            prefixes.update()
            .where(prefixes.c.id == entry_id)
            .values(status=status, current_version=version, status_reason=reason, updated_at=at)
        )

    @staticmethod
    def _field_values(fields: PrefixFields) -> dict[str, Any]:
        return {
            "kind": fields.kind,
            "did": fields.did,
            "service_url": fields.service_url,
            "enterprise_name": fields.enterprise_name,
            "uscc": fields.uscc,
            "region": fields.region,
            "industry": fields.industry,
            "application": json_column_value(fields.application),
        }

    async def list_prefixes(self, query: PrefixQuery) -> tuple[list[PrefixEntry], int]:
        """One page of prefixes matching `query`, in prefix order, and how many match in all."""
        conditions: list[sa.ColumnElement[bool]] = [prefixes.c.status.in_(list(query.statuses))]
        if query.kind is not None:
            conditions.append(prefixes.c.kind == query.kind)
        if query.region_prefix is not None:
            conditions.append(prefixes.c.region.startswith(query.region_prefix, autoescape=True))
        if query.industry_prefix is not None:
            conditions.append(prefixes.c.industry.startswith(query.industry_prefix, autoescape=True))
        where = sa.and_(*conditions)
        total = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(prefixes).where(where))
        ).scalar_one()
        rows = (
            await self._conn.execute(
                sa.select(prefixes)
                .where(where)
                .order_by(prefixes.c.prefix_key)
                .offset(query.offset)
                .limit(query.limit)
            )
        ).mappings()
        return [_entry(row) for row in rows], int(total)

    async def list_prefix_texts(
        self, *, statuses: Sequence[str], offset: int, limit: int | None
    ) -> tuple[list[str], int]:
        """Prefix texts with one of `statuses`, in prefix order (`limit` None: all), and the total."""
        where = prefixes.c.status.in_(list(statuses))
        total = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(prefixes).where(where))
        ).scalar_one()
        query = sa.select(prefixes.c.prefix_text).where(where).order_by(prefixes.c.prefix_key).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return list((await self._conn.execute(query)).scalars()), int(total)

    # --- records and history ------------------------------------------------------------------

    async def add_record(
        self, entry_id: int, version: int, document: dict[str, Any], *, issued_at: datetime
    ) -> None:
        """Append a signed record version; `RecordVersionTaken` if that version exists (a concurrent update)."""
        with translate_integrity_error(
            {
                "unique": lambda: RecordVersionTaken(
                    f"record version {version} was issued by a concurrent request"
                )
            }
        ):
            await self._conn.execute(
                prefix_records.insert().values(
                    prefix_id=entry_id,
                    version=version,
                    document=json_column_value(document),
                    issued_at=issued_at,
                )
            )

    async def records(self, entry_id: int) -> list[StoredRecord]:
        """Every record version of a prefix, oldest first."""
        rows = (
            await self._conn.execute(
                sa.select(prefix_records.c.version, prefix_records.c.document, prefix_records.c.issued_at)
                .where(prefix_records.c.prefix_id == entry_id)
                .order_by(prefix_records.c.version)
            )
        ).mappings()
        return [record for row in rows if (record := _record(row)) is not None]

    async def keep_application(
        self, entry_id: int, document: Mapping[str, Any], *, at: datetime, actor: str
    ) -> None:
        """Keep a signed application for good (the prefix row holds only the latest)."""
        await self._conn.execute(
            applications.insert().values(
                prefix_id=entry_id, at=at, actor=actor, document=json_column_value(document)
            )
        )

    async def applications(self, entry_id: int) -> list[dict[str, Any]]:
        """Every application the prefix received, oldest first."""
        rows = await self._conn.execute(
            sa.select(applications.c.document)
            .where(applications.c.prefix_id == entry_id)
            .order_by(applications.c.id)
        )
        return [json.loads(row.document) for row in rows]

    async def append_event(
        self,
        entry_id: int,
        *,
        at: datetime,
        action: str,
        actor: str,
        reason: str | None = None,
        version: int | None = None,
    ) -> None:
        """Append one history event (history is never rewritten)."""
        await self._conn.execute(
            prefix_events.insert().values(
                prefix_id=entry_id, at=at, action=action, actor=actor, reason=reason, record_version=version
            )
        )

    async def events(self, entry_id: int) -> list[PrefixEvent]:
        """A prefix's history, oldest first."""
        rows = (
            await self._conn.execute(
                sa.select(prefix_events)
                .where(prefix_events.c.prefix_id == entry_id)
                .order_by(prefix_events.c.id)
            )
        ).mappings()
        return [
            PrefixEvent(
                at=row["at"],
                action=row["action"],
                actor=row["actor"],
                reason=row["reason"],
                version=row["record_version"],
            )
            for row in rows
        ]

    # --- signed requests ----------------------------------------------------------------------

    async def remember_nonce(
        self, verification_method: str, nonce: str, *, expires_at: datetime, now: datetime
    ) -> None:
        """Record a request's nonce; a pair seen before raises `SignatureRejected` (signature-replayed)."""
        # Expired pairs can no longer be replayed (the request would be stale): forget them as we go.
        await self._conn.execute(request_nonces.delete().where(request_nonces.c.expires_at < now))
        replayed = SignatureRejected(
            "signature-replayed",
            f"this request (nonce {nonce!r} of {verification_method}) was already received",
        )
        with translate_integrity_error({"unique": lambda: replayed}):
            await self._conn.execute(
                request_nonces.insert().values(
                    verification_method=verification_method, nonce=nonce, expires_at=expires_at
                )
            )

    # --- administrators -----------------------------------------------------------------------

    async def admin_secret_hash(self, name: str) -> str | None:
        """The stored secret hash of an administrator, or None."""
        query = sa.select(admins.c.secret_hash).where(admins.c.name == name)
        return (await self._conn.execute(query)).scalar_one_or_none()

    async def add_admin(self, name: str, secret_hash: str, *, at: datetime) -> None:
        """Create an administrator; `AdminExists` if the name is taken."""
        with translate_integrity_error({"unique": lambda: AdminExists(f"administrator {name!r} exists")}):
            await self._conn.execute(
                admins.insert().values(name=name, secret_hash=secret_hash, created_at=at)
            )


class RegistryStore:
    """The registry's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[RegistryTransaction]:
        """One use-case's transaction: committed when the block ends, rolled back on any error."""
        async with transaction(self._engine, write=write) as connection:
            yield RegistryTransaction(connection)
