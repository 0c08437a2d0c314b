"""Regulators: government users with a region scope, and who may see what of the regional index.

A regulator account carries a GB/T 2260 code: `000000` (national), a province (`330000`), a city
(`330500`) or a county (`330522`). The choice made here:

- a regulator sees its region and everything below it in full: every figure, small cells included, and
  the enterprise rows (rankings of enterprises with their prefix, emissions, intensity, grade); asking
  about a region outside the scope (a city regulator asking about its province, or another city) is
  refused (403), not answered with less;
- everyone else (no credentials) sees public aggregates only, for any region: no enterprise rows, and a
  cell of fewer than `public_min_cell` enterprises shows its count but not its figures, so a public
  aggregate never discloses one enterprise's data.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from certs.data_integrity import format_datetime
from common.passwords import (
    ACCOUNT_NAME,
    ACCOUNT_NAME_RULE,
    SecretChecker,
    check_secret,
    hash_secret,
    new_secret,
)
from metadata_templates.codes import CodeError, validate_region_code
from resolver.errors import RegulatorAuthenticationRequired
from resolver.repository import ResolverStore

NATIONAL: Final = "000000"


class InvalidRegulator(ValueError):
    """A regulator name or region scope that cannot be used."""


@dataclass(frozen=True, slots=True)
class Regulator:
    """An authenticated regulator and the region it oversees."""

    name: str
    scope: str

    def covers(self, code: str) -> bool:
        """Whether region `code` is the scope or lies below it."""
        return code.startswith(significant(self.scope))


def significant(code: str) -> str:
    """The digits of a region code that name it: '' national, 2 a province, 4 a city, 6 a county."""
    if code == NATIONAL:
        return ""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def check_scope(code: str) -> str:
    """A region scope: `000000` or a GB/T 2260 code that exists; `InvalidRegulator` otherwise."""
    if code == NATIONAL:
        return code
    try:
        return validate_region_code(code).code
    except CodeError as exc:
        raise InvalidRegulator(f"region scope {code!r}: {exc}") from None


async def add_regulator(store: ResolverStore, name: str, region: str, *, at: datetime) -> str:
    """Create regulator `name` overseeing `region`; its secret (shown once; only a salted hash is stored)."""
    if not ACCOUNT_NAME.fullmatch(name):
        raise InvalidRegulator(f"regulator name {name!r} must be {ACCOUNT_NAME_RULE}")
    scope = check_scope(region)
    secret = new_secret()
    hashed = await asyncio.to_thread(hash_secret, secret)
    async with store.evaluations(write=True) as db:
        await db.add_regulator(name, hashed, scope, at=format_datetime(at))
    return secret


async def ensure_regulator(
    store: ResolverStore, name: str, secret: str, region: str, *, at: datetime
) -> None:
    """Make regulator `name` have `secret` and scope `region` (created, or updated when it differs)."""
    scope = check_scope(region)
    async with store.evaluations(write=True) as db:
        stored = await db.regulator(name)
        if (
            stored is not None
            and stored[1] == scope
            and await asyncio.to_thread(check_secret, secret, stored[0])
        ):
            return
        hashed = await asyncio.to_thread(hash_secret, secret)
        if stored is None:
            await db.add_regulator(name, hashed, scope, at=format_datetime(at))
        else:
            await db.set_regulator(name, hashed, scope)


async def authenticate_regulator(
    store: ResolverStore, checker: SecretChecker, name: str, secret: str
) -> Regulator:
    """The regulator if the secret is right; 401 otherwise (the same answer for unknown names)."""
    async with store.evaluations() as db:
        stored = await db.regulator(name) if ACCOUNT_NAME.fullmatch(name) else None
    if stored is None or not await asyncio.to_thread(checker.check, secret, stored[0]):
        raise RegulatorAuthenticationRequired("unknown regulator or wrong secret")
    return Regulator(name, stored[1])
