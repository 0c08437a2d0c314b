"""The registry's tables (SQLAlchemy Core) and the migrations that create them.

- `prefixes`: one row per prefix ever applied for or delegated: its normalised key (ASCII upper case,
  unique), the text as written, kind, status, the application, and the current record version.
- `prefix_events`: the history, appended and never rewritten.
- `applications` (migration 2): every signed application a prefix received, appended, so a new application
  after a rejection does not erase what was applied for before (the prefix row only holds the latest).
- `prefix_records`: every signed prefix-record version, appended; (prefix, version) is unique, so two
  approvals racing cannot both issue version 1.
- `admins`: administrator accounts with salted secret hashes.
- `request_nonces`: (verification method, nonce) of recent signed requests, unique, to refuse replays.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from common.database import Migration


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores no zone; it comes back as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; naive datetimes are refused, since their zone would be a guess."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares the stored text: keep it one zone-free format so ordering holds.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata: Final = sa.MetaData()

prefixes: Final = sa.Table(
    "registry_prefixes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prefix_key", sa.String(255), nullable=False, unique=True),
    sa.Column("prefix_text", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("did", sa.Text, nullable=False),
    sa.Column("service_url", sa.Text, nullable=False),
    sa.Column("enterprise_name", sa.Text, nullable=True),
    sa.Column("uscc", sa.String(18), nullable=True),
    sa.Column("region", sa.String(6), nullable=True),
    sa.Column("industry", sa.String(8), nullable=True),
    # The signed application (enterprise) or the delegation request (registry), as JSON text.
    sa.Column("application", sa.Text, nullable=False),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("status_reason", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('enterprise', 'registry')", name="ck_registry_prefixes_kind"),
    sa.CheckConstraint(
        "status IN ('pending', 'approved', 'rejected', 'suspended')", name="ck_registry_prefixes_status"
    ),
    sa.CheckConstraint("current_version >= 0", name="ck_registry_prefixes_version"),
)
sa.Index("ix_registry_prefixes_status_key", prefixes.c.status, prefixes.c.prefix_key)

prefix_events: Final = sa.Table(
    "registry_prefix_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prefix_id", sa.Integer, sa.ForeignKey("registry_prefixes.id"), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("record_version", sa.Integer, nullable=True),
)
sa.Index("ix_registry_prefix_events_prefix", prefix_events.c.prefix_id, prefix_events.c.id)

prefix_records: Final = sa.Table(
    "registry_prefix_records",
    metadata,
    sa.Column("prefix_id", sa.Integer, sa.ForeignKey("registry_prefixes.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("issued_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("version >= 1", name="ck_registry_prefix_records_version"),
)

admins: Final = sa.Table(
    "registry_admins",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

request_nonces: Final = sa.Table(
    "registry_request_nonces",
    metadata,
    sa.Column("verification_method", sa.Text, primary_key=True),
    sa.Column("nonce", sa.String(255), primary_key=True),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)
sa.Index("ix_registry_request_nonces_expires", request_nonces.c.expires_at)


applications: Final = sa.Table(
    "registry_applications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prefix_id", sa.Integer, sa.ForeignKey("registry_prefixes.id"), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
)
sa.Index("ix_registry_applications_prefix", applications.c.prefix_id, applications.c.id)

_VERSION_1_TABLES: Final = (prefixes, prefix_events, prefix_records, admins, request_nonces)


async def _create_tables(conn: AsyncConnection) -> None:
    # Version 1 of the schema is exactly these tables; later changes get their own migrations,
    # so these definitions must not be edited once released (add a migration instead).
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=list(_VERSION_1_TABLES)))


async def _create_applications(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[applications]))
    # Each prefix's application so far (the one its row holds), dated and signed as its latest 'applied'
    # event says, so that a later application cannot overwrite it.
    latest = (
        sa.select(prefix_events.c.prefix_id, sa.func.max(prefix_events.c.id).label("event_id"))
        .where(prefix_events.c.action == "applied")
        .group_by(prefix_events.c.prefix_id)
        .subquery()
    )
    held = (
        sa.select(prefixes.c.id, prefix_events.c.at, prefix_events.c.actor, prefixes.c.application)
        .join(latest, latest.c.prefix_id == prefixes.c.id)
        .join(prefix_events, prefix_events.c.id == latest.c.event_id)
        .order_by(prefixes.c.id)
    )
    await conn.execute(applications.insert().from_select(["prefix_id", "at", "actor", "document"], held))


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "registry: prefixes, events, records, admins, request nonces", _create_tables),
    Migration(2, "registry: every application a prefix received, kept", _create_applications),
)
"""Every schema migration of the registry, in version order."""

MIGRATION_TABLE: Final = "registry_schema_migrations"
"""The registry keeps its own migration history, so it can share a database with other services."""


def json_column_value(document: Any) -> str:
    """The JSON text stored for a document (UTF-8, compact)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
