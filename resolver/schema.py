"""The resolver's tables (SQLAlchemy Core) and the migrations that create them.

- `resolver_versions`: for every signed record (and prefix record, keyed `0.NA/<PREFIX>`) the resolver has
  verified, the highest version seen and the digest of that version's signed document, by the handle's
  normalised key (ASCII upper case). A record served below that version is a rollback, the same version
  with another digest an equivocation: both are refused, across restarts and across resolver replicas
  sharing the database.

- `resolver_evaluations`: every carbon-efficiency certificate issued, with the figures the population
  benchmarks are computed from, the signed credential and the accounting report; `status` goes from
  `valid` to `revoked` (or `superseded` by a re-evaluation of the same prefix and period), never back.
  `status_index` is the certificate's bit in the resolver's revocation status list.
- `resolver_operators`: who may ask for evaluations and revoke certificates (HTTP Basic, salted hashes).
- `resolver_index_rows`: the regional index, one row per verified activity-data record (the latest verified
  version of each handle): where and what the enterprise is, the period it covers (`month_start` =
  year × 12 + month − 1, `months` 1, 3, 6 or 12) and the accounted figures; the handle, version and digest
  it came from. Regional queries run on these rows loaded into numpy (`carbon_efficiency.regional`).
- `resolver_regulators`: government users with a region scope (a GB/T 2260 code: they see that region and
  below, enterprise rows included).

Times are ISO-8601 UTC text (`2025-01-02T03:04:05Z`), identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from common.database import Migration

metadata: Final = sa.MetaData()

versions: Final = sa.Table(
    "resolver_versions",
    metadata,
    sa.Column("handle_key", sa.Text, primary_key=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("first_seen_at", sa.Text, nullable=False),
    sa.Column("seen_at", sa.Text, nullable=False),
)


evaluations: Final = sa.Table(
    "resolver_evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("handle_key", sa.Text, nullable=False, unique=True),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("prefix_key", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("granularity", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("industry", sa.Text, nullable=False),
    sa.Column("net_emissions_t", sa.Float, nullable=False),
    sa.Column("added_value_10k_cny", sa.Float, nullable=False),
    sa.Column("grade", sa.Integer, nullable=True),
    sa.Column("status_index", sa.Integer, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("status_reason", sa.Text, nullable=True),
    sa.Column("status_changed_at", sa.Text, nullable=True),
    sa.Column("issued_at", sa.Text, nullable=False),
    sa.Column("valid_until", sa.Text, nullable=False),
    sa.Column("credential", sa.Text, nullable=False),
    sa.Column("report", sa.Text, nullable=False),
    sa.Index("resolver_evaluations_by_period", "period", "granularity", "status"),
    sa.Index("resolver_evaluations_by_prefix", "prefix_key", "period", "granularity"),
)

operators: Final = sa.Table(
    "resolver_operators",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
)


index_rows: Final = sa.Table(
    "resolver_index_rows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("handle_key", sa.Text, nullable=False, unique=True),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("prefix_key", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("industry", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("granularity", sa.Text, nullable=False),
    sa.Column("month_start", sa.Integer, nullable=False),
    sa.Column("months", sa.Integer, nullable=False),
    sa.Column("net_emissions_t", sa.Float, nullable=False),
    sa.Column("gross_emissions_t", sa.Float, nullable=False),
    sa.Column("added_value_10k_cny", sa.Float, nullable=False),
    sa.Column("energy_coal_gj", sa.Float, nullable=False),
    sa.Column("energy_oil_gj", sa.Float, nullable=False),
    sa.Column("energy_gas_gj", sa.Float, nullable=False),
    sa.Column("energy_electricity_gj", sa.Float, nullable=False),
    sa.Column("energy_heat_gj", sa.Float, nullable=False),
    sa.Column("energy_other_gj", sa.Float, nullable=False),
    sa.Column("neutrality_offsets_t", sa.Float, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("indexed_at", sa.Text, nullable=False),
    sa.Index("resolver_index_rows_by_region", "region", "month_start"),
    sa.Index("resolver_index_rows_by_prefix", "prefix_key", "month_start"),
)

regulators: Final = sa.Table(
    "resolver_regulators",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
)


async def _create_versions(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[versions]))


async def _create_evaluations(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[evaluations, operators]))


async def _create_index(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[index_rows, regulators]))


MIGRATION_TABLE: Final = "resolver_schema_migrations"
"""The resolver keeps its own migration history, so it can share a database with a registry or a node."""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "resolver: highest verified version per record", _create_versions),
    Migration(2, "resolver: carbon-efficiency evaluations and operators", _create_evaluations),
    Migration(3, "resolver: regional index and regulators", _create_index),
)
"""Every schema migration of the resolver, in version order."""
