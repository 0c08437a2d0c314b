"""The tables of product carbon forms (migration 2), on their own `MetaData` so migration 1 stays as it was.

- `node_forms`: one row per form (`<prefix>/PF.<n>`): its state, its document as last saved (canonical
  JSON text) and the members lists filter on, copied out of the document so SQL can filter and sort them.
  `computation` holds the footprint computed from the inventory (or why it could not be), as JSON.
- `node_form_tags`: the node's classification tags of a form, one row each (a filter joins them).
- `node_form_history`: every transition of every form; rows are inserted, never updated or deleted.
- `node_reviewers`: reviewer accounts (salted secret hashes, as for the administrator).
- `node_received_forms`: supplier forms this node's administrator says were sent to it, with the part
  code (甲方编码) the supplier granted them under.

No foreign keys to migration 1's tables: they live on another `MetaData`, and the form use-cases keep the
handle claimed in `node_handles` themselves.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

forms_metadata = sa.MetaData()

STATES = ("draft", "submitted", "approved", "rejected", "published")

forms = sa.Table(
    "node_forms",
    forms_metadata,
    sa.Column("handle_key", sa.Text, primary_key=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("number", sa.Integer, nullable=False, unique=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=True),
    sa.Column("product_type", sa.Text, nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("functional_unit", sa.Text, nullable=False),
    sa.Column("period_start", sa.Text, nullable=False),
    sa.Column("period_end", sa.Text, nullable=False),
    sa.Column("valid_until", sa.Text, nullable=True),
    sa.Column("emission_factor", sa.Float, nullable=True),
    sa.Column("emission_factor_unit", sa.Text, nullable=True),
    sa.Column("computation", sa.Text, nullable=False),
    sa.Column("published_version", sa.Integer, nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.CheckConstraint(f"state IN ({', '.join(repr(s) for s in STATES)})", name="node_forms_state"),
    sa.Index("node_forms_updated", "updated_at"),
)

form_tags = sa.Table(
    "node_form_tags",
    forms_metadata,
    sa.Column("handle_key", sa.Text, primary_key=True),
    sa.Column("tag", sa.Text, primary_key=True),
)

form_history = sa.Table(
    "node_form_history",
    forms_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handle_key", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("from_state", sa.Text, nullable=True),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Index("node_form_history_form", "handle_key", "id"),
)

reviewers = sa.Table(
    "node_reviewers",
    forms_metadata,
    sa.Column("name_key", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
)

received_forms = sa.Table(
    "node_received_forms",
    forms_metadata,
    sa.Column("handle_key", sa.Text, primary_key=True),
    sa.Column("handle", sa.Text, nullable=False),
    sa.Column("supplier", sa.Text, nullable=False),
    sa.Column("part_code", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("received_by", sa.Text, nullable=False),
)


async def create_form_tables(conn: AsyncConnection) -> None:
    """Migration 2: the form, tag, history, reviewer and received-form tables."""
    await conn.run_sync(forms_metadata.create_all)
