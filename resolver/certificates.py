"""The certificates a resolver has issued: reading them back, their status, revocation, operators.

`CertificateAuthority` holds what evaluations and certificate pages share: the store, the factor library,
the published benchmark table (when configured), and two small caches (the signed status list, and the
verification of each stored credential: checked once, since a stored credential never changes).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from carbon_efficiency.benchmark import PublishedBenchmarks
from carbon_efficiency.factors import FactorLibrary
from certs.data_integrity import format_datetime, parse_datetime, verify_proofs
from certs.errors import VerificationError
from common.passwords import (
    ACCOUNT_NAME,
    ACCOUNT_NAME_RULE,
    SecretChecker,
    check_secret,
    hash_secret,
    new_secret,
)
from handle_registry.identifiers import fold_ascii
from resolver.context import ResolverContext
from resolver.errors import CertificateNotFound, CertificateNotValid, OperatorAuthenticationRequired
from resolver.repository import EvaluationRow, ResolverStore
from resolver.status_list import status_list_credential

MAX_VERIFICATIONS: Final = 10_000
STATUS_LIST_MAX_AGE_SECONDS: Final = 3600
"""A status list is re-signed at least this often, well within its one-day validity."""


class InvalidOperatorName(ValueError):
    """An operator name other than 1-64 letters, digits, '.', '_', '@', '-'."""


def load_published_benchmarks(path: Path | None) -> PublishedBenchmarks | None:
    """The configured published benchmark table; ValueError (at start-up) when it cannot be read."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read benchmark_table {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"benchmark_table {path} is not JSON: {exc}") from None
    try:
        return PublishedBenchmarks.from_json(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"benchmark_table {path} is not a benchmark table: {exc}") from None


@dataclass(slots=True)
class CertificateAuthority:
    """What issuing and showing certificates needs, made once at start-up."""

    store: ResolverStore
    factors: FactorLibrary
    published: PublishedBenchmarks | None
    checker: SecretChecker = field(default_factory=SecretChecker)
    signed_status_list: tuple[tuple[int, str | None], float, dict[str, Any]] | None = None
    """(status generation, when signed, the credential): the last status list signed."""
    verifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Handle → the verification of its stored credential (a stored credential never changes)."""

    def forget_status(self) -> None:
        """Drop the cached status list (a certificate was issued, superseded or revoked)."""
        self.signed_status_list = None

    def remember_verification(self, handle: str, verification: dict[str, Any]) -> None:
        """Keep a credential's verification, forgetting the oldest beyond MAX_VERIFICATIONS."""
        self.verifications[handle] = verification
        while len(self.verifications) > MAX_VERIFICATIONS:
            del self.verifications[next(iter(self.verifications))]


@dataclass(frozen=True, slots=True)
class StoredCertificate:
    """A certificate as its page shows it: the credential, the report, its status now, its verification."""

    row: EvaluationRow
    credential: dict[str, Any]
    report: dict[str, Any]
    status: str
    """valid | revoked | superseded | expired"""
    verification: dict[str, Any]


# --------------------------------------------------------------------------------------------------------------
# Operators


async def add_operator(store: ResolverStore, name: str, *, at: datetime) -> str:
    """Create operator `name` and return its secret (shown once; only a salted hash is stored)."""
    if not ACCOUNT_NAME.fullmatch(name):
        raise InvalidOperatorName(f"operator name {name!r} must be {ACCOUNT_NAME_RULE}")
    secret = new_secret()
    hashed = await asyncio.to_thread(hash_secret, secret)
    async with store.evaluations(write=True) as db:
        await db.add_operator(name, hashed, at=format_datetime(at))
    return secret


async def ensure_operator(store: ResolverStore, name: str, secret: str, *, at: datetime) -> None:
    """Make operator `name` have `secret`: created, or its stored hash replaced when it differs."""
    async with store.evaluations(write=True) as db:
        stored = await db.operator_secret_hash(name)
        if stored is not None and await asyncio.to_thread(check_secret, secret, stored):
            return
        hashed = await asyncio.to_thread(hash_secret, secret)
        if stored is None:
            await db.add_operator(name, hashed, at=format_datetime(at))
        else:
            await db.set_operator_secret(name, hashed)


async def authenticate_operator(authority: CertificateAuthority, name: str, secret: str) -> str:
    """The operator's name if the secret is right; 401 otherwise (the same answer for unknown names)."""
    async with authority.store.evaluations() as db:
        stored = await db.operator_secret_hash(name) if ACCOUNT_NAME.fullmatch(name) else None
    if stored is None or not await asyncio.to_thread(authority.checker.check, secret, stored):
        raise OperatorAuthenticationRequired("unknown operator or wrong secret")
    return name


# --------------------------------------------------------------------------------------------------------------
# Reading certificates


async def stored_certificate(
    ctx: ResolverContext, authority: CertificateAuthority, handle: str
) -> StoredCertificate:
    """The certificate `handle` with its current status and verification; 404 when not issued here."""
    async with authority.store.evaluations() as db:
        row = await db.evaluation(fold_ascii(handle))
    if row is None:
        raise CertificateNotFound(f"no certificate {handle} was issued by this resolver")
    credential = json.loads(row.credential)
    report = json.loads(row.report)
    now = ctx.now()
    status = row.status
    if status == "valid" and parse_datetime(row.valid_until) < now:
        status = "expired"
    report["status"] = status
    if row.status_reason:
        report["statusReason"] = row.status_reason
    verification = authority.verifications.get(row.handle)
    if verification is None:
        verification = await asyncio.to_thread(_verify, ctx, credential, now)
        authority.remember_verification(row.handle, verification)
    return StoredCertificate(row, credential, report, status, verification)


def _verify(ctx: ResolverContext, credential: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Check a stored credential's proofs against the resolver's own DID document."""
    try:
        proofs = verify_proofs(credential, ctx.identity.did, loader=ctx.catalog.loader, now=now)
    except VerificationError as exc:
        return {"status": "failed", "reason": str(exc), "checkedAt": format_datetime(now)}
    return {
        "status": "verified",
        "verificationMethod": proofs[0].verification_method,
        "cryptosuites": [proof.cryptosuite for proof in proofs],
        "checkedAt": format_datetime(now),
    }


async def list_certificates(
    authority: CertificateAuthority, *, prefix: str | None, period: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Issued certificates, newest first: a summary line each."""
    async with authority.store.evaluations() as db:
        rows = await db.list_evaluations(
            prefix_key=fold_ascii(prefix) if prefix else None, period=period, limit=limit, offset=offset
        )
    return [
        {
            "handle": row.handle,
            "prefix": row.prefix,
            "period": row.period,
            "granularity": row.granularity,
            "grade": row.grade,
            "status": row.status,
            "issuedAt": row.issued_at,
            "validUntil": row.valid_until,
        }
        for row in rows
    ]


async def revoke_certificate(
    ctx: ResolverContext, authority: CertificateAuthority, handle: str, *, reason: str, operator: str
) -> None:
    """Revoke a valid certificate (its status-list bit is set); 404 unknown, 409 when not valid."""
    at = format_datetime(ctx.now())
    async with authority.store.evaluations(write=True) as db:
        row = await db.evaluation(fold_ascii(handle))
        if row is None:
            raise CertificateNotFound(f"no certificate {handle} was issued by this resolver")
        if not await db.revoke(fold_ascii(handle), reason=f"{reason} (revoked by {operator})", at=at):
            raise CertificateNotValid(f"{row.handle} is already {row.status}: {row.status_reason}")
    authority.forget_status()


async def status_list(ctx: ResolverContext, authority: CertificateAuthority) -> dict[str, Any]:
    """The signed status list credential, re-signed when a status changed or it is an hour old."""
    async with authority.store.evaluations() as db:
        generation = await db.status_generation()
        cached = authority.signed_status_list
        if (
            cached is not None
            and cached[0] == generation
            and ctx.seconds() - cached[1] < STATUS_LIST_MAX_AGE_SECONDS
        ):
            return cached[2]
        withdrawn = await db.withdrawn_indices()
    credential = await asyncio.to_thread(
        status_list_credential,
        ctx.identity,
        ctx.catalog.loader,
        base_url=ctx.settings.base_url(),
        withdrawn=withdrawn,
        now=ctx.now(),
    )
    authority.signed_status_list = (generation, ctx.seconds(), credential)
    return credential
