"""The node's tables (SQLAlchemy Core) and the migrations that create them.

- `handles`: every handle the node serves, by normalised key: `kind` is `plain` (an ordinary Handle
  record written through PUT, such as `<prefix>/ADMIN`) or `record` (a signed carbon record, managed only
  through /api/records). One namespace, so a suffix is never both.
- `handle_values`: the values of plain handles, each kept as its Handle JSON (`codec.encode_value`).
- `records`, `record_versions`: carbon records and their versions. A version is inserted once and never
  updated or deleted; `records` holds what the latest version says, for lookups and listings.
- `grants`: who may read a private record; a revocation stamps `revoked_at` on the grant, a new grant
  is a new row, so the history stays.
- `log_entries`, `log_head`: the hash-chained publication log and its head (one row, locked while
  appending so concurrent publications chain one after the other).

Times are stored as ISO-8601 UTC text (`2025-01-02T03:04:05Z`), identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from common.database import Migration
from node.forms_schema import create_form_tables
from node.log import GENESIS
from node.pact_schema import create_pact_tables

metadata = sa.MetaData()

handles = sa.Table(
    "node_handles",
    metadata,
    sa.Column("handle_key", sa.Text, primary_key=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.CheckConstraint("kind IN ('plain', 'record')", name="node_handles_kind"),
)

handle_values = sa.Table(
    "node_handle_values",
    metadata,
    sa.Column(
        "handle_key", sa.Text, sa.ForeignKey("node_handles.handle_key", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("value_json", sa.Text, nullable=False),
)

records = sa.Table(
    "node_records",
    metadata,
    sa.Column("handle_key", sa.Text, sa.ForeignKey("node_handles.handle_key"), primary_key=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("template_id", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=True),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.CheckConstraint("visibility IN ('public', 'private')", name="node_records_visibility"),
    sa.Index("node_records_template", "template_id", "period"),
)

record_versions = sa.Table(
    "node_record_versions",
    metadata,
    sa.Column("handle_key", sa.Text, sa.ForeignKey("node_records.handle_key"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.Column("changed_at", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
)

grants = sa.Table(
    "node_grants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handle_key", sa.Text, sa.ForeignKey("node_records.handle_key"), nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("prefix_key", sa.Text, nullable=False),
    sa.Column("part_code", sa.Text, nullable=True),
    sa.Column("granted_at", sa.Text, nullable=False),
    sa.Column("granted_by", sa.Text, nullable=False),
    sa.Column("revoked_at", sa.Text, nullable=True),
    sa.Column("revoked_by", sa.Text, nullable=True),
    sa.Index("node_grants_lookup", "handle_key", "prefix_key"),
)

log_entries = sa.Table(
    "node_log_entries",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("prev", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    # Not hashed: lets the log API show the handle of entries whose record is public.
    sa.Column("handle_key", sa.Text, nullable=False),
)

log_head = sa.Table(
    "node_log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
)

LOG_HEAD_ID: Final = 1


async def _create_tables(conn: AsyncConnection) -> None:
    await conn.run_sync(metadata.create_all)
    await conn.execute(log_head.insert().values(id=LOG_HEAD_ID, seq=0, hash=GENESIS))


# Its own migration history table, so a node may share a database with a registry.
MIGRATION_TABLE: Final = "node_schema_migrations"

MIGRATIONS: Final = (
    Migration(1, "node handles, records, versions, grants and the publication log", _create_tables),
    Migration(2, "product forms, their tags and history, reviewers, received forms", create_form_tables),
    Migration(3, "PACT clients, tokens, footprint ids and the footprint request queue", create_pact_tables),
)
