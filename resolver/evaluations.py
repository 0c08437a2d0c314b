"""Evaluating an enterprise and issuing its carbon-efficiency certificate (`POST /api/evaluations`).

1. Resolve the enterprise's profile (`<prefix>/PROFILE`) and its activity data for the period through the
   federation, as the resolver's own prefix (so data the enterprise granted to the resolver is read),
   and require every record to verify back to the trust anchor. Activity data is found by the federation's
   naming convention: `<prefix>/ACT.<period>` for a document covering the whole period (`ACT.2025`), else
   one document per month (`ACT.2025-01` … `ACT.2025-12`); every month must be there.
2. Account each document with the factor library (`carbon_efficiency.accounting`), combine the months, and
   flag a month far outside the enterprise's own history.
3. Benchmark: the configured published table, else the population this resolver has evaluated for the same
   period (Σ emissions ÷ Σ added value per industry division, county → city → province → national).
4. Grade, Monte Carlo uncertainty (seeded from the certificate's handle: the same evaluation always gives
   the same interval), data quality; then a W3C Verifiable Credential (`carbon-efficiency-certificate/1`)
   signed by the resolver, with a revocable Bitstring Status List entry, stored in one transaction that
   also marks the previous certificate of the same prefix and period superseded.

No made-up grade: an enterprise without added value, without a benchmark, or evaluated over a period
shorter than a year gets a certificate that says why it is ungraded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np

from carbon_efficiency.accounting import account, combine
from carbon_efficiency.benchmark import Benchmark, population_benchmarks
from carbon_efficiency.checks import check_history
from carbon_efficiency.evaluation import Evaluation, evaluate
from carbon_efficiency.factors import FactorLibrary, UnknownFactor
from carbon_efficiency.model import Accounting, AccountingError
from carbon_efficiency.periods import InvalidPeriod, Period, parse_period
from certs.data_integrity import format_datetime
from handle_registry.identifiers import Handle, InvalidHandle, InvalidPrefix, Prefix, fold_ascii
from metadata_templates import TemplateValidationError, validate
from resolver.certificates import CertificateAuthority
from resolver.context import ResolverContext
from resolver.errors import (
    EvaluationRefused,
    EvaluationSourceUnavailable,
    NoResolverPrefix,
)
from resolver.repository import EvaluationRowTaken, PopulationRow
from resolver.sources import SignedSource, SourceRefused, SourceUnavailable, verified_source
from resolver.status_list import status_entry

PROFILE_SUFFIX: Final = "PROFILE"
ACTIVITY_PREFIX: Final = "ACT."
PROFILE_TEMPLATE: Final = "enterprise-profile/1"
ACTIVITY_TEMPLATE: Final = "activity-data/1"
CERTIFICATE_TEMPLATE: Final = "carbon-efficiency-certificate/1"
CERTIFICATE_CONTEXT: Final = "https://carbonid.org/contexts/carbon-efficiency-certificate/v1.jsonld"
VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
CERTIFICATE_NAME: Final = "企业碳效评价证书 Carbon-efficiency certificate"


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """What an evaluation issued: the certificate's handle, the signed credential and the full report."""

    handle: str
    credential: dict[str, Any]
    report: dict[str, Any]
    superseded: tuple[str, ...]


def parse_request(body: Any) -> tuple[Prefix, Period]:
    """The prefix and period of a `POST /api/evaluations` body; `EvaluationRefused` (422) when unusable."""
    if not isinstance(body, dict):
        raise EvaluationRefused("the body must be a JSON object {prefix, period[, rolling]}")
    unknown = sorted(set(body) - {"prefix", "period", "rolling"})
    if unknown:
        raise EvaluationRefused(f"unknown member(s) {', '.join(unknown)}: expected prefix, period, rolling")
    prefix_text, period_text, rolling = body.get("prefix"), body.get("period"), body.get("rolling", False)
    if not isinstance(prefix_text, str) or not isinstance(period_text, str):
        raise EvaluationRefused(
            "prefix and period are required strings, e.g. {'prefix': '88.186.1', 'period': '2025'}"
        )
    if not isinstance(rolling, bool):
        raise EvaluationRefused("rolling must be true or false")
    try:
        prefix = Prefix(prefix_text)
    except InvalidPrefix as exc:
        raise EvaluationRefused(f"prefix {prefix_text!r} is not a prefix: {exc}") from None
    try:
        period = parse_period(period_text, rolling=rolling)
    except InvalidPeriod as exc:
        raise EvaluationRefused(str(exc)) from None
    return prefix, period


async def evaluate_and_issue(
    ctx: ResolverContext, authority: CertificateAuthority, prefix: Prefix, period: Period
) -> IssuedCertificate:
    """Evaluate `prefix` over `period` and issue its certificate (see the module docstring)."""
    settings = ctx.settings
    if settings.prefix is None:
        raise NoResolverPrefix("set the resolver's `prefix`: certificates are issued under it")
    profile = await _verified_source(ctx, _handle(prefix, PROFILE_SUFFIX), PROFILE_TEMPLATE)
    if profile is None:
        raise EvaluationRefused(
            f"{prefix.text} publishes no enterprise profile ({prefix.text}/{PROFILE_SUFFIX})"
        )
    region = str(profile.document.get("region", ""))
    activities = await _activity_sources(ctx, prefix, period)
    now = ctx.now()
    accounting = _account(
        authority.factors,
        activities,
        period,
        region=region,
        gwp=settings.gwp,
        now=now,
        on_expired=settings.expired_factors,
    )
    industry = _industry(profile.document, activities)
    issued_count, population = await _population(authority, prefix, period)
    suffix = f"CERT.{prefix.text}.{period.text}{'R12' if period.granularity == 'rolling-12-months' else ''}"
    if issued_count:
        suffix += f".{issued_count + 1}"
    handle = f"{settings.prefix}/{suffix}"
    benchmark = _benchmark(
        authority, population, region, industry, accounting, period, settings.benchmark_min_population
    )
    evaluation = evaluate(
        accounting,
        period=period,
        benchmark=benchmark,
        draws=settings.monte_carlo_draws,
        seed=_seed(handle),
    )
    sources = (profile, *activities)
    base_url = settings.base_url()
    async with authority.store.evaluations(write=True) as db:
        index = await db.next_status_index()
    credential = _credential(
        ctx,
        handle,
        profile.document,
        evaluation,
        sources,
        base_url=base_url,
        status_index=index,
        now=now,
        validity=timedelta(days=settings.certificate_validity_days),
        industry=industry,
    )
    try:
        validate(ctx.catalog.resolve(CERTIFICATE_TEMPLATE), credential)
    except TemplateValidationError as exc:  # a bug here, never the enterprise's fault
        raise RuntimeError(f"the certificate does not satisfy its template: {exc}") from exc
    signed = await asyncio.to_thread(ctx.identity.sign, credential, ctx.catalog.loader, created=now)
    report = _report(handle, signed, accounting, evaluation, sources, benchmark)
    superseded = await _store(
        authority,
        prefix,
        period,
        handle,
        signed,
        report,
        evaluation,
        region,
        industry,
        accounting,
        index,
        now,
    )
    authority.forget_status()
    return IssuedCertificate(handle, signed, report, tuple(superseded))


# --------------------------------------------------------------------------------------------------------------
# Reading the enterprise's records


def _handle(prefix: Prefix, suffix: str) -> Handle:
    try:
        return Handle(f"{prefix.text}/{suffix}")
    except InvalidHandle as exc:  # pragma: no cover - prefix and suffix are both checked already
        raise EvaluationRefused(str(exc)) from None


async def _verified_source(ctx: ResolverContext, handle: Handle, template_ref: str) -> SignedSource | None:
    """The verified signed document of `handle` (read as the resolver's prefix); None when not found."""
    try:
        return await verified_source(ctx, handle, template_ref)
    except SourceUnavailable as exc:
        raise EvaluationSourceUnavailable(str(exc)) from None
    except SourceRefused as exc:
        raise EvaluationRefused(str(exc)) from None


async def _activity_sources(ctx: ResolverContext, prefix: Prefix, period: Period) -> list[SignedSource]:
    """The activity documents covering `period`: one for the whole period, or one per month."""
    if period.granularity != "rolling-12-months":
        whole = await _verified_source(ctx, _handle(prefix, ACTIVITY_PREFIX + period.text), ACTIVITY_TEMPLATE)
        if whole is not None:
            _check_covers(whole, prefix, period.text)
            return [whole]
    handles = [_handle(prefix, ACTIVITY_PREFIX + month) for month in period.months]
    found = await asyncio.gather(*(_verified_source(ctx, h, ACTIVITY_TEMPLATE) for h in handles))
    missing = [month for month, source in zip(period.months, found, strict=True) if source is None]
    if len(missing) == len(period.months):
        raise EvaluationRefused(
            f"{prefix.text} has no activity data for {period.text}: neither "
            f"{prefix.text}/{ACTIVITY_PREFIX}{period.text} nor monthly records {prefix.text}/{ACTIVITY_PREFIX}YYYY-MM"
        )
    if missing:
        raise EvaluationRefused(
            f"{prefix.text} has no activity data for {', '.join(missing)} "
            f"({len(period.months) - len(missing)} of {len(period.months)} months of {period.text} found)"
        )
    sources = [source for source in found if source is not None]
    for source, month in zip(sources, period.months, strict=True):
        _check_covers(source, prefix, month)
    return sources


def _check_covers(source: SignedSource, prefix: Prefix, period: str) -> None:
    document = source.document
    if fold_ascii(str(document.get("prefix", ""))) != prefix.key:
        raise EvaluationRefused(
            f"{source.handle} is the activity data of {document.get('prefix')}, not {prefix.text}"
        )
    if document.get("period") != period:
        raise EvaluationRefused(f"{source.handle} covers period {document.get('period')}, not {period}")


def _industry(profile: dict[str, Any], activities: Sequence[SignedSource]) -> str:
    """The industry the enterprise is graded in: the activity data's own, else the profile's."""
    for source in activities:
        industry = source.document.get("industry")
        if isinstance(industry, str):
            return industry
    return str(profile.get("industry", ""))


# --------------------------------------------------------------------------------------------------------------
# Accounting, benchmark, credential


def _account(
    library: FactorLibrary,
    activities: Sequence[SignedSource],
    period: Period,
    *,
    region: str,
    gwp: str,
    now: datetime,
    on_expired: str,
) -> Accounting:
    accountings = []
    for source in activities:
        try:
            accountings.append(
                account(
                    source.document,
                    region=region,
                    library=library,
                    gwp=gwp,
                    as_of=now.date(),
                    on_expired=on_expired,
                )
            )
        except AccountingError as exc:
            raise EvaluationRefused(
                f"{source.handle} cannot be accounted for: {exc}", issues=[i.to_json() for i in exc.issues]
            ) from None
        except UnknownFactor as exc:
            raise EvaluationRefused(f"{source.handle}: {exc}") from None
    accounting = accountings[0] if len(accountings) == 1 else combine(accountings)
    if len(accountings) > 1:
        history = check_history({a.periods[0]: a.net_emissions for a in accountings})
        accounting = replace(accounting, issues=accounting.issues + tuple(history))
    return accounting


async def _population(
    authority: CertificateAuthority, prefix: Prefix, period: Period
) -> tuple[int, list[Any]]:
    async with authority.store.evaluations() as db:
        issued = await db.issued_count(prefix.key, period.text, period.granularity)
        population = await db.population(period.text, period.granularity, excluding=prefix.key)
    return issued, population


def _benchmark(
    authority: CertificateAuthority,
    population: Sequence[PopulationRow],
    region: str,
    industry: str,
    accounting: Accounting,
    period: Period,
    min_population: int,
) -> Benchmark | None:
    if authority.published is not None:
        return authority.published.lookup(region, industry, year=period.year)
    regions = [row.region for row in population] + [region]
    industries = [row.industry for row in population] + [industry]
    emissions = np.array(
        [row.net_emissions_t for row in population] + [accounting.net_emissions], dtype=float
    )
    added = np.array([row.added_value_10k_cny for row in population] + [accounting.added_value], dtype=float)
    table = population_benchmarks(regions, industries, emissions, added, min_population=min_population)
    return table.lookup(region, industry)


def _seed(handle: str) -> int:
    """The Monte Carlo seed of a certificate: from its handle, so the evaluation is reproducible."""
    return int.from_bytes(hashlib.sha256(handle.encode("utf-8")).digest()[:4], "big")


def _credential(
    ctx: ResolverContext,
    handle: str,
    profile: dict[str, Any],
    evaluation: Evaluation,
    sources: Sequence[SignedSource],
    *,
    base_url: str,
    status_index: int,
    now: datetime,
    validity: timedelta,
    industry: str,
) -> dict[str, Any]:
    subject: dict[str, Any] = {
        "prefix": profile["prefix"],
        "enterpriseName": profile["name"],
    }
    if "uscc" in profile:
        subject["uscc"] = profile["uscc"]
    subject["region"] = profile["region"]
    subject["industry"] = industry
    subject.update(evaluation.subject_fields())
    subject["sources"] = [source.to_json() for source in sources]
    return {
        "@context": [VC_CONTEXT, CERTIFICATE_CONTEXT],
        "id": f"{base_url}/c/{handle}",
        "type": ["VerifiableCredential", "CarbonEfficiencyCertificate"],
        "handle": handle,
        "name": CERTIFICATE_NAME,
        "issuer": ctx.identity.did.id,
        "validFrom": format_datetime(now),
        "validUntil": format_datetime(now + validity),
        "credentialStatus": status_entry(base_url, status_index),
        "credentialSubject": subject,
    }


def _report(
    handle: str,
    credential: dict[str, Any],
    accounting: Accounting,
    evaluation: Evaluation,
    sources: Sequence[SignedSource],
    benchmark: Benchmark | None,
) -> dict[str, Any]:
    """Everything behind the certificate: each line's emissions and the factor it used."""
    return {
        "handle": handle,
        "status": "valid",
        "credential": credential,
        "accounting": {
            "periods": list(accounting.periods),
            "lines": [line.to_json() for line in accounting.lines],
            "bySource": accounting.by_source,
            "grossEmissionsTCo2": accounting.gross_emissions,
            "netEmissionsTCo2": accounting.net_emissions,
            "addedValue10kCny": accounting.added_value,
            "energyGj": accounting.energy_gj,
            "neutralityOffsetsTCo2": accounting.neutrality_offsets,
            "issues": [issue.to_json() for issue in accounting.issues],
        },
        "benchmark": None if benchmark is None else benchmark.to_json(),
        "sources": [source.to_json() for source in sources],
    }


async def _store(
    authority: CertificateAuthority,
    prefix: Prefix,
    period: Period,
    handle: str,
    credential: dict[str, Any],
    report: dict[str, Any],
    evaluation: Evaluation,
    region: str,
    industry: str,
    accounting: Accounting,
    index: int,
    now: datetime,
) -> list[str]:
    at = format_datetime(now)
    try:
        async with authority.store.evaluations(write=True) as db:
            superseded = await db.supersede(prefix.key, period.text, period.granularity, by=handle, at=at)
            await db.insert_evaluation(
                {
                    "handle": handle,
                    "handle_key": fold_ascii(handle),
                    "prefix": prefix.text,
                    "prefix_key": prefix.key,
                    "period": period.text,
                    "granularity": period.granularity,
                    "region": region,
                    "industry": industry,
                    "net_emissions_t": accounting.net_emissions,
                    "added_value_10k_cny": accounting.added_value,
                    "grade": evaluation.grade,
                    "status_index": index,
                    "status": "valid",
                    "issued_at": at,
                    "valid_until": credential["validUntil"],
                    "credential": json.dumps(credential, ensure_ascii=False, sort_keys=True),
                    "report": json.dumps(report, ensure_ascii=False, sort_keys=True),
                }
            )
    except EvaluationRowTaken:
        raise EvaluationRefused(
            f"another evaluation of {prefix.text} for {period.text} was issued at the same moment; ask again"
        ) from None
    return superseded
