"""What `carbonid backup` and `restore` need to know of each service, and how a restored one is verified.

A restore is only as good as what it proves, so after putting a database and keys back it checks the
history against the restored keys:

- node: the whole publication log (numbering, hash chain, every signature, against the node's DID
  document made from the restored keys), that the log head is its last entry, that every stored record
  version hashes to its recorded digest and that this digest is the one its log entry signed, and that
  every log entry has its version;
- registry: every signed prefix-record version verifies against the registry's restored key, as of when it
  was issued, and is the version of the prefix it is stored under;
- resolver: every issued certificate (a signed credential) verifies against the resolver's restored key.

These checks read the services' tables directly (read-only, through their SQLAlchemy Core definitions):
they must see every row, including rows no use-case lists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from carbonid.backup_archive import BackupRefused
from certs.data_integrity import parse_datetime, verify_proofs
from certs.errors import VerificationError
from certs.identity import ServiceIdentity
from certs.keys import signing_algorithms
from common.database import Migration
from common.settings import ServiceSettings
from metadata_templates import default_catalog

BATCH: Final = 1000
# Proofs are dated when signed and rows when stored, by the same clock; verify as of a little after.
_AFTER_ISSUE: Final = timedelta(minutes=5)

Summary = list[tuple[str, str]]
"""What a verification found, as (label, value) lines."""


class RestoredDataInvalid(BackupRefused):
    """The restored history does not verify; the message names the first entry, record or certificate."""


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service as backup and restore see it."""

    name: str
    settings_type: type[ServiceSettings]
    section: str
    migrations: Sequence[Migration]
    migration_table: str
    database_url: Callable[[Any], str]
    identity: Callable[[Any], ServiceIdentity]
    verify: Callable[[AsyncEngine, ServiceIdentity], Awaitable[Summary]]

    def key_algorithms(self, settings: Any) -> tuple[str, ...]:
        """The private keys the service signs with (each a `keys/<algorithm>.key`)."""
        return tuple(
            algorithm.value for algorithm in signing_algorithms(getattr(settings, "sign_sm2", False))
        )

    def label(self, settings: Any) -> str | None:
        """The prefix a node serves (None for other services)."""
        prefix = getattr(settings, "prefix", None) if self.name == "node" else None
        return str(prefix) if prefix else None


# --------------------------------------------------------------------------------------------------------------
# Node


async def verify_node(engine: AsyncEngine, identity: ServiceIdentity) -> Summary:
    """The node's log chain, head, and every record version against its log entry."""
    from node import schema
    from node.log import GENESIS, LogEntry, LogVerificationError, subject_for, verify_log

    e, head, rv, r = schema.log_entries, schema.log_head, schema.record_versions, schema.records
    logged: dict[tuple[str, int], tuple[int, str]] = {}
    last_seq, last_hash = 0, GENESIS
    async with engine.connect() as conn:
        while True:
            rows = (
                await conn.execute(sa.select(e).where(e.c.seq > last_seq).order_by(e.c.seq).limit(BATCH))
            ).all()
            if not rows:
                break
            entries = [
                LogEntry(x.seq, x.subject, x.version, x.digest, x.at, x.prev, x.hash, x.signature, x.key_id)
                for x in rows
            ]
            if entries[0].seq != last_seq + 1:
                raise RestoredDataInvalid(
                    f"publication log: entry {last_seq + 1} is missing (the next stored is {entries[0].seq})"
                )
            try:
                last_hash = verify_log(entries, identity.did, previous_hash=last_hash)
            except LogVerificationError as exc:
                raise RestoredDataInvalid(f"publication log: {exc}") from None
            for entry in entries:
                logged[(entry.subject, entry.version)] = (entry.seq, entry.digest)
            last_seq = entries[-1].seq
        head_seq, head_hash = (await conn.execute(sa.select(head.c.seq, head.c.hash))).one()
        if (head_seq, head_hash) != (last_seq, last_hash):
            raise RestoredDataInvalid(
                f"publication log: the head says entry {head_seq} ({head_hash}) but the log ends at entry "
                f"{last_seq} ({last_hash})"
            )
        versions = 0
        after: tuple[str, int] = ("", 0)
        while True:
            query = (
                sa.select(rv.c.handle_key, rv.c.version, rv.c.document, rv.c.digest, r.c.handle)
                .select_from(rv.outerjoin(r, r.c.handle_key == rv.c.handle_key))
                .where(sa.tuple_(rv.c.handle_key, rv.c.version) > sa.tuple_(sa.literal(after[0]), after[1]))
                .order_by(rv.c.handle_key, rv.c.version)
                .limit(BATCH)
            )
            rows = (await conn.execute(query)).all()
            if not rows:
                break
            for row in rows:
                _check_version(row.handle or row.handle_key, row.version, row.document, row.digest, logged.pop(
                    (subject_for(row.handle_key), row.version), None
                ))  # fmt: skip
            versions += len(rows)
            after = (rows[-1].handle_key, rows[-1].version)
        records = (await conn.execute(sa.select(sa.func.count()).select_from(r))).scalar_one()
    if logged:
        seq = min(seq for seq, _ in logged.values())
        raise RestoredDataInvalid(f"publication log: entry {seq} records a version that is not stored")
    return [
        ("records", str(records)),
        ("versions", str(versions)),
        ("log entries", str(last_seq)),
        ("log head", f"{last_seq} {last_hash}"),
    ]


def _check_version(
    handle: str, version: int, document: str, digest: str, entry: tuple[int, str] | None
) -> None:
    where = f"record {handle} version {version}"
    actual = hashlib.sha256(document.encode("utf-8")).hexdigest()
    if actual != digest:
        raise RestoredDataInvalid(
            f"{where}: its document hashes to {actual}, not its recorded digest {digest}"
        )
    if entry is None:
        raise RestoredDataInvalid(f"{where}: no publication log entry records it")
    seq, logged = entry
    if logged != digest:
        raise RestoredDataInvalid(f"{where}: digest {digest} differs from {logged} signed in log entry {seq}")


# --------------------------------------------------------------------------------------------------------------
# Registry


async def verify_registry(engine: AsyncEngine, identity: ServiceIdentity) -> Summary:
    """Every signed prefix-record version against the registry's key."""
    from handle_registry.service.schema import admins, prefix_events, prefix_records, prefixes

    loader = default_catalog().loader
    pr = prefix_records
    checked = 0
    after: tuple[int, int] = (0, 0)
    async with engine.connect() as conn:
        while True:
            query = (
                sa.select(pr.c.prefix_id, pr.c.version, pr.c.document, pr.c.issued_at, prefixes.c.prefix_text)
                .select_from(pr.join(prefixes, prefixes.c.id == pr.c.prefix_id))
                .where(sa.tuple_(pr.c.prefix_id, pr.c.version) > sa.tuple_(after[0], after[1]))
                .order_by(pr.c.prefix_id, pr.c.version)
                .limit(BATCH)
            )
            rows = (await conn.execute(query)).all()
            if not rows:
                break
            for row in rows:
                where = f"prefix record {row.prefix_text} version {row.version}"
                document = _json_object(row.document, where)
                named = str(document.get("prefix", ""))
                if document.get("version") != row.version or named.upper() != str(row.prefix_text).upper():
                    raise RestoredDataInvalid(f"{where}: the signed document is of another prefix or version")
                _verify_signed(document, identity, loader, row.issued_at, where)
            checked += len(rows)
            after = (rows[-1].prefix_id, rows[-1].version)
        counts = [
            (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
            for table in (prefixes, prefix_events, admins)
        ]
    return [
        ("prefixes", str(counts[0])),
        ("prefix records", f"{checked} signed versions"),
        ("events", str(counts[1])),
        ("administrators", str(counts[2])),
    ]


# --------------------------------------------------------------------------------------------------------------
# Resolver


async def verify_resolver(engine: AsyncEngine, identity: ServiceIdentity) -> Summary:
    """Every issued certificate against the resolver's key."""
    from resolver.schema import evaluations, index_rows, versions

    loader = default_catalog().loader
    checked, after = 0, 0
    async with engine.connect() as conn:
        while True:
            e = evaluations
            query = (
                sa.select(e.c.id, e.c.handle, e.c.credential, e.c.issued_at)
                .where(e.c.id > after)
                .order_by(e.c.id)
                .limit(BATCH)
            )
            rows = (await conn.execute(query)).all()
            if not rows:
                break
            for row in rows:
                where = f"certificate {row.handle}"
                _verify_signed(_json_object(row.credential, where), identity, loader, row.issued_at, where)
            checked += len(rows)
            after = rows[-1].id
        counts = [
            (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
            for table in (versions, index_rows)
        ]
    return [
        ("certificates", f"{checked} signed"),
        ("versions seen", str(counts[0])),
        ("index rows", str(counts[1])),
    ]


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise RestoredDataInvalid(f"{where}: the stored document is not JSON") from None
    if not isinstance(document, dict):
        raise RestoredDataInvalid(f"{where}: the stored document is not a JSON object")
    return document


def _verify_signed(
    document: dict[str, Any], identity: ServiceIdentity, loader: Any, issued: datetime | str, where: str
) -> None:
    moment = parse_datetime(issued) if isinstance(issued, str) else issued
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        verify_proofs(document, identity.did, loader=loader, now=moment + _AFTER_ISSUE)
    except VerificationError as exc:
        raise RestoredDataInvalid(f"{where}: {exc}") from None


# --------------------------------------------------------------------------------------------------------------
# The three services


def node_spec() -> ServiceSpec:
    """The enterprise node."""
    from node.context import load_identity
    from node.runtime import database_url
    from node.schema import MIGRATION_TABLE, MIGRATIONS
    from node.settings import SECTION, NodeSettings

    return ServiceSpec(
        "node", NodeSettings, SECTION, MIGRATIONS, MIGRATION_TABLE, database_url, load_identity, verify_node
    )


def registry_spec() -> ServiceSpec:
    """The registry."""
    from handle_registry.service.app import database_url, load_identity
    from handle_registry.service.schema import MIGRATION_TABLE, MIGRATIONS
    from handle_registry.service.settings import SECTION, RegistrySettings

    return ServiceSpec(
        "registry",
        RegistrySettings,
        SECTION,
        MIGRATIONS,
        MIGRATION_TABLE,
        database_url,
        load_identity,
        verify_registry,
    )


def resolver_spec() -> ServiceSpec:
    """The resolver."""
    from resolver.context import database_url, load_identity
    from resolver.schema import MIGRATION_TABLE, MIGRATIONS
    from resolver.settings import SECTION, ResolverSettings

    return ServiceSpec(
        "resolver",
        ResolverSettings,
        SECTION,
        MIGRATIONS,
        MIGRATION_TABLE,
        database_url,
        load_identity,
        verify_resolver,
    )


SERVICES: Final[dict[str, Callable[[], ServiceSpec]]] = {
    "node": node_spec,
    "registry": registry_spec,
    "resolver": resolver_spec,
}
"""The services that can be backed up, by name (imported when chosen: each pulls in its whole package)."""
