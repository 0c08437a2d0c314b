"""The node's PACT tables (SQLAlchemy Core, on their own metadata) and the migration that creates them.

- `pact_clients`: the data recipients allowed to call the PACT API: a generated `client_id`, a label, the salted
  hash of the secret (`common.passwords`), the peer prefix the client reads as (its grants), and a revocation.
- `pact_tokens`: bearer tokens issued by POST /auth/token, kept as their SHA-256 (the token itself is shown
  once), with their client and expiry.
- `pact_footprint_ids`: the PfId (a random UUID v4) of each product-form record, assigned on first sight and
  never changed, so a footprint keeps its id across versions and cannot be guessed from its handle.
- `pact_requests`: ProductFootprintRequest.Created events waiting for their Fulfilled or Rejected answer: the
  request, the answer once resolved (kept, so every retry sends the same event), the delivery attempts and when
  the next one is due. `status` is `pending` (not resolved yet), `resolved` (answer being delivered),
  `delivered` or `failed` (given up after the last retry).

Times are ISO-8601 UTC text, as in `node.schema`.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

metadata = sa.MetaData()

clients = sa.Table(
    "pact_clients",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=True),
    sa.Column("prefix_key", sa.Text, nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("revoked_at", sa.Text, nullable=True),
)

tokens = sa.Table(
    "pact_tokens",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, sa.ForeignKey("pact_clients.client_id"), nullable=False),
    sa.Column("issued_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=False),
    sa.Index("pact_tokens_expiry", "expires_at"),
)

footprint_ids = sa.Table(
    "pact_footprint_ids",
    metadata,
    sa.Column("handle_key", sa.Text, primary_key=True),
    sa.Column("pf_id", sa.Text, nullable=False, unique=True),
    sa.Column("assigned_at", sa.Text, nullable=False),
)

STATUSES: Final = ("pending", "resolved", "delivered", "failed")

requests = sa.Table(
    "pact_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("client_id", sa.Text, sa.ForeignKey("pact_clients.client_id"), nullable=False),
    sa.Column("callback_base", sa.Text, nullable=False),
    sa.Column("authority", sa.Text, nullable=False),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.Text, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("finished_at", sa.Text, nullable=True),
    sa.CheckConstraint(
        "status IN ('pending', 'resolved', 'delivered', 'failed')", name="pact_requests_status"
    ),
    # CloudEvents: source and id identify an event; a requester repeating one is answered once.
    sa.UniqueConstraint("source", "event_id", name="pact_requests_event"),
    sa.Index("pact_requests_due", "status", "next_attempt_at"),
)


async def create_pact_tables(conn: AsyncConnection) -> None:
    """Migration 3: create the PACT tables."""
    await conn.run_sync(metadata.create_all)
