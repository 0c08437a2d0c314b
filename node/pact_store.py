"""The PACT API's storage: its own tables (`node.pact_schema`) and the reads it makes of published records.

Use-cases open one unit of work per operation (`async with store.unit(write=True) as db:`), one transaction,
as with `node.repository.NodeStore`. Product forms are the records of template `product-footprint`; a PACT
client sees the public ones and, when it is bound to a peer prefix, those granted to that prefix (the same rule
as a peer reading /api/records with its certificate).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.database import transaction, translate_integrity_error
from node import pact_schema
from node import schema as node_schema

FORM_TEMPLATE: Final = "product-footprint"
PROFILE_TEMPLATE: Final = "enterprise-profile"
UNFINISHED: Final = ("pending", "resolved")


class ClientNameTaken(Exception):
    """Another PACT client already has this name."""


@dataclass(frozen=True, slots=True)
class ClientRow:
    """A PACT client (a data recipient with credentials issued by this node)."""

    client_id: str
    name: str
    secret_hash: str
    prefix: str | None
    prefix_key: str | None
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class FormRow:
    """A product-form record with its PfId, its latest version's document, and whether the caller may see it."""

    pf_id: str
    handle_key: str
    handle: str
    created_at: str
    version: int
    version_at: str
    document: str
    visible: bool


@dataclass(frozen=True, slots=True)
class RequestRow:
    """A queued ProductFootprintRequest.Created event and the state of its answer."""

    id: int
    source: str
    event_id: str
    client_id: str
    callback_base: str
    authority: str
    event: str
    status: str
    response: str | None
    attempts: int
    next_attempt_at: str
    last_error: str | None


class PactStore:
    """The PACT tables and the product forms, in the node's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit(self, *, write: bool = False) -> AsyncIterator[PactSession]:
        """One unit of work in one transaction: committed when the block ends, rolled back on error."""
        async with transaction(self.engine, write=write) as conn:
            yield PactSession(conn)


def _client(row: sa.Row[Any]) -> ClientRow:
    m = row._mapping
    return ClientRow(
        m["client_id"],
        m["name"],
        m["secret_hash"],
        m["prefix"],
        m["prefix_key"],
        m["created_at"],
        m["revoked_at"],
    )


def _request(row: sa.Row[Any]) -> RequestRow:
    m = row._mapping
    return RequestRow(
        id=m["id"],
        source=m["source"],
        event_id=m["event_id"],
        client_id=m["client_id"],
        callback_base=m["callback_base"],
        authority=m["authority"],
        event=m["event"],
        status=m["status"],
        response=m["response"],
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        last_error=m["last_error"],
    )


def _visible(prefix_key: str | None) -> sa.ColumnElement[bool]:
    """SQL condition: the record of `node_records` is public, or granted to `prefix_key` and not revoked."""
    r, g = node_schema.records, node_schema.grants
    public = r.c.visibility == "public"
    if prefix_key is None:
        return public
    granted = (
        sa.select(g.c.id)
        .where(g.c.handle_key == r.c.handle_key)
        .where(g.c.prefix_key == prefix_key)
        .where(g.c.revoked_at.is_(None))
        .exists()
    )
    return sa.or_(public, granted)


def _insert_ignoring_duplicates(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the connection's dialect (a plain insert would abort PostgreSQL's
    transaction on a duplicate)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


class PactSession:
    """The queries and writes of one unit of work."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # -- clients and tokens ----------------------------------------------------------------------------

    async def insert_client(self, client: ClientRow) -> None:
        """Record a new client; `ClientNameTaken` when its name is in use."""
        with translate_integrity_error({"unique": lambda: ClientNameTaken(client.name)}):
            await self._conn.execute(
                pact_schema.clients.insert().values(
                    client_id=client.client_id,
                    name=client.name,
                    secret_hash=client.secret_hash,
                    prefix=client.prefix,
                    prefix_key=client.prefix_key,
                    created_at=client.created_at,
                    revoked_at=client.revoked_at,
                )
            )

    async def get_client(self, client_id: str) -> ClientRow | None:
        """A client by id, revoked or not."""
        c = pact_schema.clients
        row = (await self._conn.execute(sa.select(c).where(c.c.client_id == client_id))).first()
        return None if row is None else _client(row)

    async def list_clients(self) -> list[ClientRow]:
        """Every client, oldest first."""
        c = pact_schema.clients
        rows = await self._conn.execute(sa.select(c).order_by(c.c.created_at, c.c.client_id))
        return [_client(row) for row in rows]

    async def revoke_client(self, client_id: str, at: str) -> bool:
        """Revoke a client and drop its tokens; False when there is no such active client."""
        c, t = pact_schema.clients, pact_schema.tokens
        result = await self._conn.execute(
            sa.update(c)
            .where(c.c.client_id == client_id)
            .where(c.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        await self._conn.execute(sa.delete(t).where(t.c.client_id == client_id))
        return bool(result.rowcount)

    async def insert_token(self, token_hash: str, client_id: str, *, issued_at: str, expires_at: str) -> None:
        """Record an issued token and forget those that expired before it was issued."""
        t = pact_schema.tokens
        await self._conn.execute(sa.delete(t).where(t.c.expires_at < issued_at))
        await self._conn.execute(
            t.insert().values(
                token_hash=token_hash, client_id=client_id, issued_at=issued_at, expires_at=expires_at
            )
        )

    async def token_client(self, token_hash: str) -> tuple[ClientRow, str] | None:
        """The (active) client a token was issued to, and when the token expires."""
        t, c = pact_schema.tokens, pact_schema.clients
        row = (
            await self._conn.execute(
                sa.select(c, t.c.expires_at)
                .select_from(t.join(c, c.c.client_id == t.c.client_id))
                .where(t.c.token_hash == token_hash)
                .where(c.c.revoked_at.is_(None))
            )
        ).first()
        return None if row is None else (_client(row), str(row.expires_at))

    # -- product forms ---------------------------------------------------------------------------------

    async def forms_without_id(self) -> list[str]:
        """Handle keys of product-form records that have no PfId yet."""
        r, f = node_schema.records, pact_schema.footprint_ids
        rows = await self._conn.execute(
            sa.select(r.c.handle_key)
            .select_from(r.outerjoin(f, f.c.handle_key == r.c.handle_key))
            .where(r.c.template_id == FORM_TEMPLATE)
            .where(f.c.pf_id.is_(None))
        )
        return list(rows.scalars())

    async def assign_ids(self, ids: Iterable[tuple[str, str]], at: str) -> None:
        """Record (handle key, PfId) pairs; a pair another process recorded first wins."""
        values = [{"handle_key": key, "pf_id": pf_id, "assigned_at": at} for key, pf_id in ids]
        if values:
            await self._conn.execute(
                _insert_ignoring_duplicates(self._conn, pact_schema.footprint_ids), values
            )

    def _forms(self, prefix_key: str | None) -> sa.Select[Any]:
        r, rv, f = node_schema.records, node_schema.record_versions, pact_schema.footprint_ids
        return (
            sa.select(
                f.c.pf_id,
                r.c.handle_key,
                r.c.handle,
                r.c.created_at,
                rv.c.version,
                rv.c.changed_at,
                rv.c.document,
                _visible(prefix_key).label("visible"),
            )
            .select_from(
                r.join(f, f.c.handle_key == r.c.handle_key).join(
                    rv, sa.and_(rv.c.handle_key == r.c.handle_key, rv.c.version == r.c.latest_version)
                )
            )
            .where(r.c.template_id == FORM_TEMPLATE)
        )

    @staticmethod
    def _form(row: sa.Row[Any]) -> FormRow:
        m = row._mapping
        return FormRow(
            pf_id=m["pf_id"],
            handle_key=m["handle_key"],
            handle=m["handle"],
            created_at=m["created_at"],
            version=m["version"],
            version_at=m["changed_at"],
            document=m["document"],
            visible=bool(m["visible"]),
        )

    async def visible_forms(
        self, prefix_key: str | None, *, after: tuple[str, str] | None, until: str, limit: int
    ) -> list[FormRow]:
        """Forms the scope may see, first published no later than `until`, in (created, handle key) order,
        starting after the (created, handle key) `after`."""
        r = node_schema.records
        query = self._forms(prefix_key).where(_visible(prefix_key)).where(r.c.created_at <= until)
        if after is not None:
            created, key = after
            query = query.where(
                sa.or_(r.c.created_at > created, sa.and_(r.c.created_at == created, r.c.handle_key > key))
            )
        rows = await self._conn.execute(query.order_by(r.c.created_at, r.c.handle_key).limit(limit))
        return [self._form(row) for row in rows]

    async def form_by_id(self, pf_id: str, prefix_key: str | None) -> FormRow | None:
        """The form with this PfId, with whether the scope may see it."""
        f = pact_schema.footprint_ids
        row = (await self._conn.execute(self._forms(prefix_key).where(f.c.pf_id == pf_id))).first()
        return None if row is None else self._form(row)

    async def forms_by_handle_keys(self, keys: Iterable[str], prefix_key: str | None) -> list[FormRow]:
        """The forms with these handle keys, with whether the scope may see each."""
        r = node_schema.records
        wanted = list(keys)
        if not wanted:
            return []
        rows = await self._conn.execute(
            self._forms(prefix_key).where(r.c.handle_key.in_(wanted)).order_by(r.c.created_at, r.c.handle_key)
        )
        return [self._form(row) for row in rows]

    async def public_profile(self) -> str | None:
        """The latest public enterprise profile of the node (its signed document), if any."""
        r, rv = node_schema.records, node_schema.record_versions
        row = (
            await self._conn.execute(
                sa.select(rv.c.document)
                .select_from(
                    r.join(rv, sa.and_(rv.c.handle_key == r.c.handle_key, rv.c.version == r.c.latest_version))
                )
                .where(r.c.template_id == PROFILE_TEMPLATE)
                .where(r.c.visibility == "public")
                .order_by(r.c.updated_at.desc(), r.c.handle_key)
                .limit(1)
            )
        ).first()
        return None if row is None else str(row.document)

    # -- footprint requests ----------------------------------------------------------------------------

    async def insert_request(
        self,
        *,
        source: str,
        event_id: str,
        client_id: str,
        callback_base: str,
        authority: str,
        event: str,
        at: str,
    ) -> int | None:
        """Queue a request; None when this (source, id) was queued before (a repeated event)."""
        statement = (
            _insert_ignoring_duplicates(self._conn, pact_schema.requests)
            .values(
                source=source,
                event_id=event_id,
                client_id=client_id,
                callback_base=callback_base,
                authority=authority,
                event=event,
                received_at=at,
                status="pending",
                attempts=0,
                next_attempt_at=at,
            )
            .returning(pact_schema.requests.c.id)
        )
        row = (await self._conn.execute(statement)).first()
        return None if row is None else int(row.id)

    async def get_request(self, request_id: int) -> RequestRow | None:
        """A queued request by id."""
        q = pact_schema.requests
        row = (await self._conn.execute(sa.select(q).where(q.c.id == request_id))).first()
        return None if row is None else _request(row)

    async def claim_due(self, now: str, *, lease_until: str, limit: int) -> list[RequestRow]:
        """Unfinished requests due by `now`, each claimed until `lease_until` (another process skips them)."""
        q = pact_schema.requests
        rows = await self._conn.execute(
            sa.select(q)
            .where(q.c.status.in_(UNFINISHED))
            .where(q.c.next_attempt_at <= now)
            .order_by(q.c.next_attempt_at, q.c.id)
            .limit(limit)
        )
        claimed = []
        for request in [_request(row) for row in rows]:
            result = await self._conn.execute(
                sa.update(q)
                .where(q.c.id == request.id)
                .where(q.c.next_attempt_at == request.next_attempt_at)
                .values(next_attempt_at=lease_until)
            )
            if result.rowcount:
                claimed.append(request)
        return claimed

    async def save_response(self, request_id: int, response: str) -> None:
        """Keep the answer of a request (Fulfilled or Rejected event), to deliver now and on every retry."""
        q = pact_schema.requests
        await self._conn.execute(
            sa.update(q).where(q.c.id == request_id).values(status="resolved", response=response)
        )

    async def finish(
        self, request_id: int, *, status: str, attempts: int, at: str, error: str | None
    ) -> None:
        """Mark a request delivered or failed."""
        q = pact_schema.requests
        await self._conn.execute(
            sa.update(q)
            .where(q.c.id == request_id)
            .values(status=status, attempts=attempts, finished_at=at, last_error=error)
        )

    async def retry_later(self, request_id: int, *, attempts: int, at: str, error: str) -> None:
        """Count a failed delivery and schedule the next."""
        q = pact_schema.requests
        await self._conn.execute(
            sa.update(q)
            .where(q.c.id == request_id)
            .values(attempts=attempts, next_attempt_at=at, last_error=error)
        )

    async def next_due(self) -> str | None:
        """When the earliest unfinished request is due, if any."""
        q = pact_schema.requests
        value = (
            await self._conn.execute(
                sa.select(sa.func.min(q.c.next_attempt_at)).where(q.c.status.in_(UNFINISHED))
            )
        ).scalar_one_or_none()
        return None if value is None else str(value)
