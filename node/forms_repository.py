"""Storage of product carbon forms, reviewers and received forms (the tables of `node.forms_schema`).

One unit of work is one transaction (`async with forms_unit(store, write=True) as db:`); `db.node` is the
node's own `StoreSession` on the same connection, so a form and the handle it claims are written
together. List filters (`node.form_filters`) are compiled here into SQLAlchemy expressions over a fixed
map of fields to columns: values are bound parameters, LIKE patterns are escaped, and nothing a client
sends becomes SQL text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from common.database import transaction, translate_integrity_error
from node import schema
from node.form_filters import Condition, Group, Kind, Node
from node.forms_schema import form_history, form_tags, forms, received_forms, reviewers
from node.repository import NodeStore, StoreSession


class AlreadyStored(Exception):
    """A row with that key exists (a concurrent writer won, or the name is taken)."""


@dataclass(frozen=True, slots=True)
class FormRow:
    """A form as stored; `document` and `computation` are JSON text."""

    handle_key: str
    handle: str
    number: int
    state: str
    document: str
    name: str
    model: str | None
    product_type: str
    public: bool
    functional_unit: str
    period_start: str
    period_end: str
    valid_until: str | None
    emission_factor: float | None
    emission_factor_unit: str | None
    computation: str
    published_version: int | None
    created_at: str
    created_by: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ListedForm:
    """A form with what a listing shows beside it: its tags, and the part codes and customers granted."""

    form: FormRow
    tags: tuple[str, ...]
    part_codes: tuple[str, ...]
    customers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One transition of a form."""

    at: str
    actor: str
    role: str
    from_state: str | None
    to_state: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    """A reviewer account."""

    name_key: str
    name: str
    secret_hash: str
    created_at: str


@dataclass(frozen=True, slots=True)
class ReceivedRow:
    """A supplier form recorded as received."""

    handle_key: str
    handle: str
    supplier: str
    part_code: str | None
    note: str | None
    received_at: str
    received_by: str


@asynccontextmanager
async def forms_unit(store: NodeStore, *, write: bool = False) -> AsyncIterator[FormSession]:
    """One transaction over the form tables and the node's own."""
    async with transaction(store.engine, write=write) as conn:
        yield FormSession(conn)


def _row(cls: type[Any], row: sa.Row[Any]) -> Any:
    mapping = row._mapping
    return cls(**{field.name: mapping[field.name] for field in fields(cls)})


def _values(row: Any) -> dict[str, Any]:
    return {field.name: getattr(row, field.name) for field in fields(row)}


# --------------------------------------------------------------------------------------------------------------
# Filters → SQL


@dataclass(frozen=True, slots=True)
class _Many:
    """A list field: the rows of `table` matching `base` for the current form, their `column` the values."""

    table: sa.Table
    column: sa.ColumnElement[Any]
    base: sa.ColumnElement[bool]


def _active_grants(*extra: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    g = schema.grants
    return sa.and_(g.c.handle_key == forms.c.handle_key, g.c.revoked_at.is_(None), *extra)


_FORM_FIELDS: Mapping[str, sa.ColumnElement[Any] | _Many] = {
    "handle": forms.c.handle,
    "state": forms.c.state,
    "name": forms.c.name,
    "model": forms.c.model,
    "productType": forms.c.product_type,
    "public": forms.c.public,
    "tags": _Many(form_tags, form_tags.c.tag, form_tags.c.handle_key == forms.c.handle_key),
    "periodStart": forms.c.period_start,
    "periodEnd": forms.c.period_end,
    "functionalUnit": forms.c.functional_unit,
    "emissionFactor": forms.c.emission_factor,
    "emissionFactorUnit": forms.c.emission_factor_unit,
    "validUntil": forms.c.valid_until,
    "partCodes": _Many(
        schema.grants,
        schema.grants.c.part_code,
        _active_grants(schema.grants.c.part_code.is_not(None), schema.grants.c.part_code != ""),
    ),
    "customers": _Many(schema.grants, schema.grants.c.prefix, _active_grants()),
    "publishedVersion": forms.c.published_version,
    "createdAt": forms.c.created_at,
    "updatedAt": forms.c.updated_at,
}

_RECEIVED_FIELDS: Mapping[str, sa.ColumnElement[Any] | _Many] = {
    "handle": received_forms.c.handle,
    "supplier": received_forms.c.supplier,
    "partCode": received_forms.c.part_code,
    "note": received_forms.c.note,
    "receivedAt": received_forms.c.received_at,
    "receivedBy": received_forms.c.received_by,
}


def _scalar(column: sa.ColumnElement[Any], condition: Condition) -> sa.ColumnElement[bool]:
    """The positive operator on one column; never NULL, so that NOT of it is its exact complement."""
    op, value = condition.positive, condition.value
    if op == "null":
        return column.is_(None)
    if op == "empty":
        return sa.or_(column.is_(None), column == "") if condition.kind is Kind.TEXT else column.is_(None)
    tests: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
        "equals": lambda: column == value,
        "in": lambda: column.in_(value if isinstance(value, tuple) else (value,)),
        "starts_with": lambda: column.istartswith(value, autoescape=True),
        "contains": lambda: column.icontains(value, autoescape=True),
        "ends_with": lambda: column.iendswith(value, autoescape=True),
        "lt": lambda: column < value,
        "lte": lambda: column <= value,
        "gt": lambda: column > value,
        "gte": lambda: column >= value,
    }
    return sa.and_(column.is_not(None), tests[op]())


def _positive(target: sa.ColumnElement[Any] | _Many, condition: Condition) -> sa.ColumnElement[bool]:
    if not isinstance(target, _Many):
        return _scalar(target, condition)
    rows = sa.select(sa.literal(1)).select_from(target.table).where(target.base)
    if condition.positive in ("null", "empty"):
        return ~rows.exists()
    return rows.where(_scalar(target.column, condition)).exists()


def compile_filter(
    node: Node, columns: Mapping[str, sa.ColumnElement[Any] | _Many]
) -> sa.ColumnElement[bool]:
    """The SQL condition of a filter tree over `columns` (fields the parser accepted are all mapped)."""
    if isinstance(node, Group):
        items = [compile_filter(item, columns) for item in node.items]
        if node.kind == "and":
            return sa.and_(sa.true(), *items)
        return sa.or_(sa.false(), *items)
    positive = _positive(columns[node.field], node)
    return sa.not_(positive) if node.negated else positive


# --------------------------------------------------------------------------------------------------------------
# The unit of work


class FormSession:
    """The queries and writes of one unit of work over forms, reviewers and received forms."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.node = StoreSession(conn)

    # -- forms -----------------------------------------------------------------------------------------

    async def last_number(self) -> int:
        """The highest form number given so far (0 before the first)."""
        value = (await self._conn.execute(sa.select(sa.func.max(forms.c.number)))).scalar_one()
        return int(value or 0)

    async def get_form(self, key: str, *, lock: bool = False) -> FormRow | None:
        """A form by handle key; `lock` holds its row until the unit ends (PostgreSQL; SQLite locks anyway)."""
        query = sa.select(forms).where(forms.c.handle_key == key)
        row = (await self._conn.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else _row(FormRow, row)

    async def insert_form(self, form: FormRow) -> None:
        """A new form; `AlreadyStored` when its key or number is taken."""
        with translate_integrity_error({"unique": lambda: AlreadyStored(form.handle)}):
            await self._conn.execute(forms.insert().values(**_values(form)))

    async def update_form(self, form: FormRow) -> None:
        """Everything a form's row says, as given."""
        values = _values(form)
        for fixed in ("handle_key", "handle", "number", "created_at", "created_by"):
            values.pop(fixed)
        await self._conn.execute(
            sa.update(forms).where(forms.c.handle_key == form.handle_key).values(**values)
        )

    async def tags(self, key: str) -> tuple[str, ...]:
        """A form's classification tags, sorted."""
        rows = await self._conn.execute(
            sa.select(form_tags.c.tag).where(form_tags.c.handle_key == key).order_by(form_tags.c.tag)
        )
        return tuple(rows.scalars())

    async def set_tags(self, key: str, tags: Iterable[str]) -> None:
        """Replace a form's tags."""
        await self._conn.execute(sa.delete(form_tags).where(form_tags.c.handle_key == key))
        rows = [{"handle_key": key, "tag": tag} for tag in dict.fromkeys(tags)]
        if rows:
            await self._conn.execute(form_tags.insert(), rows)

    async def append_history(self, key: str, entry: HistoryRow) -> None:
        """Keep one transition; history rows are never changed."""
        await self._conn.execute(form_history.insert().values(handle_key=key, **_values(entry)))

    async def history(self, key: str) -> list[HistoryRow]:
        """A form's transitions, oldest first."""
        h = form_history
        rows = await self._conn.execute(sa.select(h).where(h.c.handle_key == key).order_by(h.c.id))
        return [_row(HistoryRow, row) for row in rows]

    async def list_forms(self, node: Node, *, offset: int, limit: int | None) -> tuple[int, list[ListedForm]]:
        """Forms matching `node`, most recently changed first: the total and a page (all when `limit` is None)."""
        where = compile_filter(node, _FORM_FIELDS)
        total = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(forms).where(where))
        ).scalar_one()
        query = sa.select(forms).where(where).order_by(forms.c.updated_at.desc(), forms.c.handle_key)
        rows = [_row(FormRow, row) for row in await self._conn.execute(query.offset(offset).limit(limit))]
        keys = [row.handle_key for row in rows]
        tags: dict[str, list[str]] = {}
        for key, tag in await self._conn.execute(
            sa.select(form_tags.c.handle_key, form_tags.c.tag)
            .where(form_tags.c.handle_key.in_(keys))
            .order_by(form_tags.c.tag)
        ):
            tags.setdefault(key, []).append(tag)
        g = schema.grants
        codes: dict[str, list[str]] = {}
        customers: dict[str, list[str]] = {}
        for key, prefix, code in await self._conn.execute(
            sa.select(g.c.handle_key, g.c.prefix, g.c.part_code)
            .where(g.c.handle_key.in_(keys), g.c.revoked_at.is_(None))
            .order_by(g.c.id)
        ):
            customers.setdefault(key, []).append(prefix)
            if code:
                codes.setdefault(key, []).append(code)
        return int(total), [
            ListedForm(
                row,
                tuple(tags.get(row.handle_key, ())),
                tuple(codes.get(row.handle_key, ())),
                tuple(customers.get(row.handle_key, ())),
            )
            for row in rows
        ]

    # -- reviewers -------------------------------------------------------------------------------------

    async def get_reviewer(self, name_key: str) -> ReviewerRow | None:
        """A reviewer by case-folded name."""
        row = (await self._conn.execute(sa.select(reviewers).where(reviewers.c.name_key == name_key))).first()
        return None if row is None else _row(ReviewerRow, row)

    async def insert_reviewer(self, reviewer: ReviewerRow) -> None:
        """A new reviewer; `AlreadyStored` when the name is taken."""
        with translate_integrity_error({"unique": lambda: AlreadyStored(reviewer.name)}):
            await self._conn.execute(reviewers.insert().values(**_values(reviewer)))

    async def delete_reviewer(self, name_key: str) -> bool:
        """Remove a reviewer account; whether there was one."""
        result = await self._conn.execute(sa.delete(reviewers).where(reviewers.c.name_key == name_key))
        return bool(result.rowcount)

    # -- received forms --------------------------------------------------------------------------------

    async def insert_received(self, received: ReceivedRow) -> None:
        """Record a received supplier form; `AlreadyStored` when it is recorded already."""
        with translate_integrity_error({"unique": lambda: AlreadyStored(received.handle)}):
            await self._conn.execute(received_forms.insert().values(**_values(received)))

    async def delete_received(self, key: str) -> bool:
        """Forget a received form; whether it was recorded."""
        r = received_forms
        return bool((await self._conn.execute(sa.delete(r).where(r.c.handle_key == key))).rowcount)

    async def list_received(
        self, node: Node, *, offset: int, limit: int | None
    ) -> tuple[int, list[ReceivedRow]]:
        """Received forms matching `node`, most recent first: the total and a page."""
        r = received_forms
        where = compile_filter(node, _RECEIVED_FIELDS)
        total = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(r).where(where))
        ).scalar_one()
        query = sa.select(r).where(where).order_by(r.c.received_at.desc(), r.c.handle_key)
        rows = await self._conn.execute(query.offset(offset).limit(limit))
        return int(total), [_row(ReceivedRow, row) for row in rows]
