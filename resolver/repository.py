"""The resolver's storage: one store class over `resolver.schema`; nothing else touches SQLAlchemy.

A use-case opens one transaction (`async with store.transaction(write=True) as db:`) and calls the methods
of the `StoreSession` it gets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.database import transaction, translate_integrity_error
from resolver.schema import evaluations, operators, versions


class VersionRowTaken(Exception):
    """Another resolver sharing the database recorded the same record first (a race; read again)."""


@dataclass(frozen=True, slots=True)
class SeenVersion:
    """The highest version of a record verified so far, and the digest of its signed document."""

    key: str
    handle: str
    version: int
    digest: str


class ResolverStore:
    """The resolver's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[StoreSession]:
        """One transaction: committed when the block ends, rolled back on error."""
        async with transaction(self.engine, write=write) as conn:
            yield StoreSession(conn)

    @asynccontextmanager
    async def evaluations(self, *, write: bool = False) -> AsyncIterator[EvaluationStore]:
        """One transaction over the evaluations and operators."""
        async with transaction(self.engine, write=write) as conn:
            yield EvaluationStore(conn)


class StoreSession:
    """The queries of one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def highest(self, key: str, *, for_update: bool = False) -> SeenVersion | None:
        """The highest version verified for the record with normalised key `key`, if any."""
        query = sa.select(versions.c.handle, versions.c.version, versions.c.digest).where(
            versions.c.handle_key == key
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        return SeenVersion(key, row.handle, row.version, row.digest)

    async def insert(self, seen: SeenVersion, *, at: str) -> None:
        """Record the first verified version of a record; `VersionRowTaken` when another resolver just did."""
        with translate_integrity_error({"unique": lambda: VersionRowTaken(seen.key)}):
            await self.conn.execute(
                versions.insert().values(
                    handle_key=seen.key,
                    handle=seen.handle,
                    version=seen.version,
                    digest=seen.digest,
                    first_seen_at=at,
                    seen_at=at,
                )
            )

    async def raise_to(self, seen: SeenVersion, *, at: str) -> None:
        """Record a higher verified version (only ever upwards, even if a replica raced ahead meanwhile)."""
        await self.conn.execute(
            versions.update()
            .where(versions.c.handle_key == seen.key, versions.c.version < seen.version)
            .values(version=seen.version, digest=seen.digest, seen_at=at)
        )


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    """One issued certificate as stored."""

    id: int
    handle: str
    prefix: str
    period: str
    granularity: str
    region: str
    industry: str
    net_emissions_t: float
    added_value_10k_cny: float
    grade: int | None
    status_index: int
    status: str
    status_reason: str | None
    status_changed_at: str | None
    issued_at: str
    valid_until: str
    credential: str
    report: str


@dataclass(frozen=True, slots=True)
class PopulationRow:
    """What a population benchmark needs of one current evaluation."""

    prefix_key: str
    region: str
    industry: str
    net_emissions_t: float
    added_value_10k_cny: float


class EvaluationStore:
    """The queries about evaluations and operators, on one transaction's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add_operator(self, name: str, secret_hash: str, *, at: str) -> None:
        """Create an operator; `OperatorTaken` when the name exists."""
        with translate_integrity_error({"unique": lambda: OperatorTaken(name)}):
            await self.conn.execute(
                operators.insert().values(name=name, secret_hash=secret_hash, created_at=at)
            )

    async def set_operator_secret(self, name: str, secret_hash: str) -> None:
        """Replace an operator's secret hash (the operator exists)."""
        await self.conn.execute(
            operators.update().where(operators.c.name == name).values(secret_hash=secret_hash)
        )

    async def operator_secret_hash(self, name: str) -> str | None:
        """The stored hash of an operator's secret, None for an unknown name."""
        query = sa.select(operators.c.secret_hash).where(operators.c.name == name)
        return (await self.conn.execute(query)).scalar_one_or_none()

    async def next_status_index(self) -> int:
        """The next free bit of the status list (unique: a racing insert fails and is retried)."""
        highest = (await self.conn.execute(sa.select(sa.func.max(evaluations.c.status_index)))).scalar()
        return 0 if highest is None else int(highest) + 1

    async def issued_count(self, prefix_key: str, period: str, granularity: str) -> int:
        """How many certificates were ever issued for the prefix and period (any status)."""
        query = sa.select(sa.func.count()).where(
            evaluations.c.prefix_key == prefix_key,
            evaluations.c.period == period,
            evaluations.c.granularity == granularity,
        )
        return int((await self.conn.execute(query)).scalar_one())

    async def insert_evaluation(self, values: dict[str, object]) -> None:
        """Store a newly issued certificate; `EvaluationRowTaken` when its handle or status bit is taken."""
        with translate_integrity_error({"unique": lambda: EvaluationRowTaken(str(values["handle"]))}):
            await self.conn.execute(evaluations.insert().values(**values))

    async def supersede(
        self, prefix_key: str, period: str, granularity: str, *, by: str, at: str
    ) -> list[str]:
        """Mark the valid certificates of the prefix and period superseded by `by`; their handles."""
        where = (
            evaluations.c.prefix_key == prefix_key,
            evaluations.c.period == period,
            evaluations.c.granularity == granularity,
            evaluations.c.status == "valid",
        )
        handles = list((await self.conn.execute(sa.select(evaluations.c.handle).where(*where))).scalars())
        if handles:
            await self.conn.execute(
                evaluations.update()
                .where(*where)
                .values(status="superseded", status_reason=f"superseded by {by}", status_changed_at=at)
            )
        return handles

    async def evaluation(self, handle_key: str) -> EvaluationRow | None:
        """The certificate with normalised handle `handle_key`, if issued here."""
        row = (
            await self.conn.execute(sa.select(*_ROW).where(evaluations.c.handle_key == handle_key))
        ).first()
        return None if row is None else EvaluationRow(*row)

    async def list_evaluations(
        self, *, prefix_key: str | None, period: str | None, limit: int, offset: int
    ) -> list[EvaluationRow]:
        """Certificates, newest first, optionally of one prefix and/or period."""
        query = sa.select(*_ROW).order_by(evaluations.c.id.desc()).limit(limit).offset(offset)
        if prefix_key is not None:
            query = query.where(evaluations.c.prefix_key == prefix_key)
        if period is not None:
            query = query.where(evaluations.c.period == period)
        return [EvaluationRow(*row) for row in await self.conn.execute(query)]

    async def revoke(self, handle_key: str, *, reason: str, at: str) -> bool:
        """Revoke a valid certificate; False when it is not valid (already revoked or superseded)."""
        result = await self.conn.execute(
            evaluations.update()
            .where(evaluations.c.handle_key == handle_key, evaluations.c.status == "valid")
            .values(status="revoked", status_reason=reason, status_changed_at=at)
        )
        return bool(result.rowcount)

    async def population(self, period: str, granularity: str, *, excluding: str) -> list[PopulationRow]:
        """The current (valid) evaluations of a period, but the prefix `excluding` (being re-evaluated)."""
        query = sa.select(
            evaluations.c.prefix_key,
            evaluations.c.region,
            evaluations.c.industry,
            evaluations.c.net_emissions_t,
            evaluations.c.added_value_10k_cny,
        ).where(
            evaluations.c.period == period,
            evaluations.c.granularity == granularity,
            evaluations.c.status == "valid",
            evaluations.c.prefix_key != excluding,
        )
        return [PopulationRow(*row) for row in await self.conn.execute(query)]

    async def withdrawn_indices(self) -> list[int]:
        """The status-list bits of every certificate no longer valid (revoked or superseded)."""
        query = sa.select(evaluations.c.status_index).where(evaluations.c.status != "valid")
        return [int(index) for index in (await self.conn.execute(query)).scalars()]

    async def status_generation(self) -> tuple[int, str | None]:
        """(count of withdrawn certificates, the latest status change): changes whenever the list must."""
        query = sa.select(sa.func.count(), sa.func.max(evaluations.c.status_changed_at)).where(
            evaluations.c.status != "valid"
        )
        count, latest = (await self.conn.execute(query)).one()
        return int(count), latest


class OperatorTaken(Exception):
    """An operator with this name exists."""


class EvaluationRowTaken(Exception):
    """Another evaluation took the handle or the status bit first (a race; try again)."""


_ROW: Final = (
    evaluations.c.id,
    evaluations.c.handle,
    evaluations.c.prefix,
    evaluations.c.period,
    evaluations.c.granularity,
    evaluations.c.region,
    evaluations.c.industry,
    evaluations.c.net_emissions_t,
    evaluations.c.added_value_10k_cny,
    evaluations.c.grade,
    evaluations.c.status_index,
    evaluations.c.status,
    evaluations.c.status_reason,
    evaluations.c.status_changed_at,
    evaluations.c.issued_at,
    evaluations.c.valid_until,
    evaluations.c.credential,
    evaluations.c.report,
)
