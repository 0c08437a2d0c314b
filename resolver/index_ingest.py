"""Indexing one record: the regional index keeps a row per verified activity-data record of any enterprise.

`index_record(ctx, store, handle)` resolves the handle as the resolver's own prefix (so records granted to it
are read), requires a verified `activity-data/1` document with a signed version, reads the enterprise's
verified profile (`<prefix>/PROFILE`) for its region (and its industry, unless the activity data names
one), accounts the document (`carbon_efficiency.accounting`, expired factors flagged, not refused) and
stores the row: inserted, or replacing the row of the same handle unless that holds a higher version.
Nothing is written for a record that cannot be indexed; the outcome says why.

Notifications and `carbonid resolver sync` both come through here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from carbon_efficiency.accounting import account
from carbon_efficiency.factors import FactorLibrary, UnknownFactor
from carbon_efficiency.model import CARRIERS, AccountingError
from carbon_efficiency.periods import InvalidPeriod, parse_period
from certs.data_integrity import format_datetime
from handle_registry.identifiers import Handle, InvalidHandle, fold_ascii
from metadata_templates import TemplateValidationError, validate
from metadata_templates.codes import CodeError, division_of, validate_region_code
from resolver.answers import Found
from resolver.context import ResolverContext
from resolver.evaluations import ACTIVITY_TEMPLATE, PROFILE_SUFFIX, PROFILE_TEMPLATE
from resolver.repository import IndexRowTaken, ResolverStore
from resolver.resolution import HANDLE_KEY, PEER_KEY
from resolver.sources import (
    NOT_VERIFIED,
    UNVERSIONED,
    SignedSource,
    SourceRefused,
    SourceUnavailable,
    verified_source,
)

IndexStatus = Literal[
    "inserted",
    "replaced",
    "unchanged",
    "older",
    "not-found",
    "not-verified",
    "not-activity-data",
    "refused",
    "unavailable",
]
"""inserted, replaced, unchanged: the row is in the index. older: a higher version is indexed already.
not-found: no such record (or not readable by the resolver). not-verified: it does not verify back to the
trust anchor, or carries no signed version. not-activity-data: another kind of record. refused: verified
activity data that cannot be indexed (no profile, not accountable, ...). unavailable: a registry or node
did not answer (try again later)."""

INDEXED: Final = frozenset({"inserted", "replaced", "unchanged"})


@dataclass(frozen=True, slots=True)
class IndexOutcome:
    """What indexing one record did."""

    handle: str
    status: IndexStatus
    version: int | None = None
    """The version indexed (or found), when a verified record was read."""
    reason: str | None = None
    template: str | None = None
    """The record's template when it is not activity data (e.g. enterprise-profile/1)."""

    @property
    def indexed(self) -> bool:
        """True when the index holds the record's row."""
        return self.status in INDEXED

    def to_json(self) -> dict[str, Any]:
        """`{"handle", "status"[, "version"][, "reason"]}`."""
        body: dict[str, Any] = {"handle": self.handle, "status": self.status}
        if self.version is not None:
            body["version"] = self.version
        if self.reason is not None:
            body["reason"] = self.reason
        return body


class Unindexable(Exception):
    """A verified activity-data record that cannot be indexed (the reason is the message)."""


async def index_record(
    ctx: ResolverContext, store: ResolverStore, handle_text: str, *, at_least: int | None = None
) -> IndexOutcome:
    """Index the record `handle_text` (see the module docstring).

    `at_least` is a version its node announced: an answer cached from before, below it, is read again.
    Raises only what the database raises (`DatabaseUnavailable`).
    """
    try:
        handle = Handle(handle_text)
    except InvalidHandle as exc:
        return IndexOutcome(handle_text, "refused", reason=f"{handle_text!r} is not a handle: {exc}")
    if handle.is_prefix_record:
        return IndexOutcome(handle_text, "not-activity-data", reason=f"{handle_text} is a prefix record")
    if at_least is not None:
        forget_older(ctx, handle, at_least)
    try:
        source = await verified_source(ctx, handle, ACTIVITY_TEMPLATE)
    except SourceUnavailable as exc:
        return IndexOutcome(handle.text, "unavailable", reason=str(exc))
    except SourceRefused as exc:
        if exc.kind in (NOT_VERIFIED, UNVERSIONED):
            return IndexOutcome(handle.text, "not-verified", reason=str(exc))
        return IndexOutcome(handle.text, "not-activity-data", reason=str(exc), template=exc.template)
    if source is None:
        return IndexOutcome(
            handle.text, "not-found", reason=f"{handle.text} does not exist (or is not readable)"
        )
    try:
        profile = await _profile(ctx, handle)
        values = row_values(handle, source, profile, ctx)
    except SourceUnavailable as exc:
        return IndexOutcome(source.handle, "unavailable", source.version, str(exc))
    except Unindexable as exc:
        return IndexOutcome(source.handle, "refused", source.version, str(exc))
    try:
        async with store.index(write=True) as db:
            result = await db.upsert_row(values)
    except IndexRowTaken:
        # Indexed by another request meanwhile: now a replacement (or nothing) instead of an insert.
        async with store.index(write=True) as db:
            result = await db.upsert_row(values)
    return IndexOutcome(source.handle, result, source.version)


def forget_older(ctx: ResolverContext, handle: Handle, version: int) -> None:
    """Drop the cached answers for `handle` (public and peer) that say it does not exist or hold an older
    version than `version`: its node announced that version, so they are known to be out of date."""
    for key in (PEER_KEY + handle.key, HANDLE_KEY + handle.key):
        entry = ctx.answers.get(key)
        if entry is None:
            continue
        answer = entry.value
        if not isinstance(answer, Found) or (answer.verification.version or 0) < version:
            ctx.answers.drop(key)


async def _profile(ctx: ResolverContext, handle: Handle) -> SignedSource:
    """The enterprise's verified profile; `Unindexable` without one (its region is unknown)."""
    profile_handle = Handle(f"{handle.prefix.text}/{PROFILE_SUFFIX}")
    try:
        profile = await verified_source(ctx, profile_handle, PROFILE_TEMPLATE)
    except SourceRefused as exc:
        raise Unindexable(f"the enterprise profile cannot be used: {exc}") from None
    if profile is None:
        raise Unindexable(
            f"{handle.prefix.text} publishes no enterprise profile ({profile_handle.text}): its region is unknown"
        )
    return profile


def row_values(
    handle: Handle, source: SignedSource, profile: SignedSource, ctx: ResolverContext
) -> dict[str, Any]:
    """The index row of a verified activity-data document; `Unindexable` when it cannot be accounted for."""
    document = source.document
    try:
        # Signed is not valid: what a node signs is only checked against its template here.
        validate(ctx.catalog.resolve(ACTIVITY_TEMPLATE), {k: v for k, v in document.items() if k != "proof"})
    except TemplateValidationError as exc:
        raise Unindexable(f"{source.handle} is not valid {ACTIVITY_TEMPLATE}: {exc}") from None
    if fold_ascii(str(document.get("prefix", ""))) != handle.prefix.key:
        raise Unindexable(
            f"{source.handle} is the activity data of {document.get('prefix')}, not {handle.prefix}"
        )
    try:
        period = parse_period(str(document.get("period")))
    except InvalidPeriod as exc:
        raise Unindexable(f"{source.handle}: {exc}") from None
    # The codes are checked as the regional index checks them, so one row never keeps it from building.
    region = profile.document.get("region")
    if not isinstance(region, str):
        raise Unindexable(f"{profile.handle} names no region")
    try:
        validate_region_code(region)
    except CodeError as exc:
        raise Unindexable(f"{profile.handle}: region {region!r}: {exc}") from None
    industry = _industry(document, profile.document)
    try:
        division_of(industry)
    except CodeError as exc:
        raise Unindexable(f"{source.handle}: industry {industry!r}: {exc}") from None
    try:
        accounting = account(
            document,
            region=region,
            library=FactorLibrary.default(),
            gwp=ctx.settings.gwp,
            as_of=ctx.now().date(),
            on_expired="flag",
        )
    except AccountingError as exc:
        raise Unindexable(f"{source.handle} cannot be accounted for: {exc}") from None
    except UnknownFactor as exc:
        raise Unindexable(f"{source.handle}: {exc}") from None
    year, month = period.first_month.split("-")
    values: dict[str, Any] = {
        # As its node names it (the signed document says; it folds to the key), however it was asked for.
        "handle": str(document.get("handle") or source.handle),
        "handle_key": handle.key,
        "prefix": handle.prefix.text,
        "prefix_key": handle.prefix.key,
        "region": region,
        "industry": industry,
        "period": period.text,
        "granularity": period.granularity,
        "month_start": int(year) * 12 + int(month) - 1,
        "months": len(period.months),
        "net_emissions_t": accounting.net_emissions,
        "gross_emissions_t": accounting.gross_emissions,
        "added_value_10k_cny": accounting.added_value,
        "neutrality_offsets_t": accounting.neutrality_offsets,
        "version": source.version,
        "digest": source.digest,
        "indexed_at": format_datetime(ctx.now()),
    }
    for carrier in CARRIERS:
        values[f"energy_{carrier}_gj"] = float(accounting.energy_gj.get(carrier, 0.0))
    figures = [
        name for name, value in values.items() if isinstance(value, float) and not math.isfinite(value)
    ]
    if figures:
        raise Unindexable(f"{source.handle}: {figures[0]} is {values[figures[0]]}, not a finite number")
    return values


def _industry(activity: Mapping[str, Any], profile: Mapping[str, Any]) -> str:
    """The industry the row counts in: the activity data's own, else the profile's."""
    industry = activity.get("industry")
    return industry if isinstance(industry, str) else str(profile.get("industry", ""))
