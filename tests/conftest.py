"""Fixtures shared by every test folder.

``database_url`` runs a test once on SQLite and once on PostgreSQL when ``CARBONID_TEST_POSTGRES_URL`` is set
(e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``). Each PostgreSQL test gets a fresh schema, named
in the URL as ``?search_path=``, which ``common.database.create_engine`` understands.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

POSTGRES_URL_VAR = "CARBONID_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL no other test sees: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    base = os.environ.get(POSTGRES_URL_VAR)
    if not base:
        pytest.skip(f"{POSTGRES_URL_VAR} not set")
    url = make_url(base).set(drivername="postgresql+asyncpg")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_async_engine(url, poolclass=NullPool)
    try:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield url.update_query_dict({"search_path": schema}).render_as_string(hide_password=False)
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.dispose()
