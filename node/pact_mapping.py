"""A published CICES product form as a PACT Technical Specifications v2.3 `ProductFootprint`: the pure mapping.

Everything here is a function of the form's signed document and a few facts about its record (PfId, version,
times) and its owner (name, prefix, country); nothing reads the database or the clock, so the same form version
always maps to the same footprint.

The mapping, field by field (PACT names on the left):

- `id`: the record's PfId (a random UUID v4 the node assigns on first sight and keeps; see `node.pact_store`),
  `specVersion` "2.3.0", `version` the record version, `created` the record's first publication, `updated` the
  latest version's publication when it is later (never on version 1: the spec forbids `updated` before an update),
  `status` "Active" (a new form version is a new footprint version; nothing is deprecated behind the owner's back).
- `companyName`: the owner's enterprise profile name (else its prefix); `companyIds`:
  `urn:pact:company:customcode:vendor-assigned:<prefix>`, the identifier prefix every peer knows the owner by.
- `productIds`: `urn:pact:carbonid.org:supplier-id:<handle>` (the handle, percent-encoded where RFC 8141
  requires): globally unique, assigned by the owner's node, resolvable through the federation.
- `productNameCompany` the form's name, `productDescription` its description (else name and model),
  `productCategoryCpc` a `CPC:<code>` tag of the form, else the node's default (`pact_product_category_cpc`);
  a tagged code is also given as `productClassifications` `urn:cpc:<code>`.
- `pcf.declaredUnit` and `unitaryProductAmount` from the form's quantification through `data/pact-units.json`
  (kg, t, g → kilogram; L, m³ → liter, cubic meter; m² → square meter; kWh, MWh → kilowatt hour; MJ, GJ →
  megajoule; t·km → ton kilometer). A form counted in pieces has no v2.3 declared unit: `UnmappableForm`.
- `pcf.pCfExcludingBiogenic` = `fossilGhgEmissions` = `pCfIncludingBiogenic`: the form's emission factor
  converted to kgCO2e per declared unit (the CICES inventory holds fossil fuel, electricity, process and
  transport emissions only, no biogenic flows). Decimals are JSON strings, never exponent notation.
- `fossilCarbonContent`, `biogenicCarbonContent` "0": the form does not assess carbon content (said in `comment`).
  From reference periods reaching into 2025 the spec requires the biogenic and land-use properties: `dLuc…`,
  `landManagement…`, `otherBiogenic…` and `biogenicCarbonWithdrawal` are "0" (no such flows in the form) and
  `biogenicAccountingMethodology` "ISO" (ISO 14067, the standard the form follows).
- `characterizationFactors` / `ipccCharacterizationFactorsSources`: the IPCC reports named by the form's factor
  source ("… GWP AR6 …" when the node computed it) and its inventory's (`AR5`, `IPCC AR6`…), else AR6, the
  project's default GWP set; `crossSectoralStandardsUsed`
  ["ISO Standard 14067"], `crossSectoralStandards` ["ISO14067"].
- `referencePeriodStart` / `End`: the collection period (dates taken at 00:00 UTC; the end date is inclusive in
  the form, exclusive in PACT, so it moves one day on). `validityPeriodStart` / `End`: from the end of the
  reference period to the day after the form's `validUntil`, capped at three years as the spec requires, and
  left out when the form expired before its reference period ended.
- `geographyCountry` "CN" when the owner's profile names a GB/T 2260 region; `boundaryProcessesDescription` the
  system boundary and process description; `exemptedEmissionsPercent` 0; `packagingEmissionsIncluded` false.
- `dqi`: TiR → temporalDQR, TeR → technologicalDQR, GeR → geographicalDQR, SoR → reliabilityDQR, and the form's
  DQR (mean of the four) → completenessDQR, each moved linearly from CICES 1 (best) … 5 (worst) onto PACT
  1 … 3: `1 + (score − 1) / 2`; `coveragePercent` 100 (the rating covers the whole form).
- `primaryDataShare`: 0 for a literature factor; otherwise the share of the inventory's emissions coming from
  the owner's own activity data (energy, direct emissions, transport) and from supplier forms, against
  generic factors for the other materials (lines whose factor unit does not fit their quantity are left out;
  100 when no line can be weighed).
- `secondaryEmissionFactorSources`: the distinct factor sources of lines not taken from a supplier form (direct
  emission lines excluded: their factor is a GWP), with the year they name as version ("unspecified" without).
- `assurance`: when the form is third-party certified (body, certificate number).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote

from node.pact_inventory import (
    UnmappableForm,
    decimal_text,
    declared_unit,
    dqr_to_pact,
    ipcc_reports,
    pcf_per_declared_unit,
    primary_data_share,
    secondary_sources,
)

SPEC_VERSION: Final = "2.3.0"
PRODUCT_ID_PREFIX: Final = "urn:pact:carbonid.org:supplier-id:"
COMPANY_ID_PREFIX: Final = "urn:pact:company:customcode:vendor-assigned:"
CPC_TAG: Final = re.compile(r"^\s*cpc\s*[:：]\s*(\d{1,5})\s*$", re.IGNORECASE)

_URN_SAFE: Final = "/:@!$&'()*+,;=-._~"


@dataclass(frozen=True, slots=True)
class Company:
    """The data owner as PACT names it."""

    name: str
    prefix: str
    country: str | None = None
    """ISO 3166-1 alpha-2 country of the owner's production, when its profile says."""


@dataclass(frozen=True, slots=True)
class FormVersion:
    """The latest version of a published product form, with what its record says about it."""

    pf_id: str
    handle: str
    version: int
    created: str
    """When version 1 was published (ISO-8601 UTC)."""
    updated: str
    """When this version was published."""
    document: Mapping[str, Any]


# --------------------------------------------------------------------------------------------------------------
# Identifiers


def product_id(handle: str) -> str:
    """The productId URN of a form: `urn:pact:carbonid.org:supplier-id:<handle>`."""
    return PRODUCT_ID_PREFIX + quote(handle, safe=_URN_SAFE)


def handle_of_product_id(urn: str) -> str | None:
    """The handle a productId of `product_id` names (`urn:` and its namespace compared case-insensitively)."""
    if urn[: len(PRODUCT_ID_PREFIX)].casefold() != PRODUCT_ID_PREFIX.casefold():
        return None
    handle = unquote(urn[len(PRODUCT_ID_PREFIX) :])
    return handle if "/" in handle else None


def company_ids(prefix: str) -> list[str]:
    """The companyIds of the owner of `prefix`."""
    return [COMPANY_ID_PREFIX + quote(prefix, safe=_URN_SAFE)]


def cpc_of(document: Mapping[str, Any]) -> str | None:
    """The CPC code a `CPC:<code>` tag of the form gives, if any."""
    tags = document.get("tags")
    for tag in tags if isinstance(tags, list) else ():
        match = CPC_TAG.match(tag) if isinstance(tag, str) else None
        if match:
            return match.group(1)
    return None


# --------------------------------------------------------------------------------------------------------------
# Periods


def _date(pointer: str, value: object) -> dt.date:
    try:
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise UnmappableForm(f"{pointer}: {value!r} is not a date (YYYY-MM-DD)")


def _midnight(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


FIRST_DAY_OF_2025: Final = dt.date(2025, 1, 1)


# --------------------------------------------------------------------------------------------------------------
# The footprint


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    return value.strip() if isinstance(value, str) else ""


def _comment(form: FormVersion, factor: Mapping[str, Any]) -> str:
    document = form.document
    source = document.get("emissionFactorSource")
    kind = source.get("kind") if isinstance(source, Mapping) else None
    origin = (
        f"literature ({source.get('literature')})"
        if kind == "literature" and isinstance(source, Mapping)
        else "site data (computed from the form's inventory)"
    )
    parts = [
        f"CICES product carbon form {form.handle}, version {form.version}.",
        f"Functional unit: {_text(document, 'functionalUnit')}.",
        f"Emission factor {factor.get('value')} {factor.get('unit')} from {origin}.",
        "The form does not assess the product's carbon content (reported as 0) and records no biogenic, "
        "land-use or packaging flows.",
    ]
    reduction = _text(document, "reductionMeasures")
    if reduction:
        parts.append(f"Reduction measures: {reduction}")
    return " ".join(parts)


def _assurance(document: Mapping[str, Any]) -> dict[str, Any] | None:
    certification = document.get("thirdPartyCertification")
    if not isinstance(certification, Mapping) or certification.get("certified") is not True:
        return None
    body = certification.get("body")
    if not isinstance(body, str) or not body.strip():
        return None
    assurance: dict[str, Any] = {"assurance": True, "providerName": body.strip(), "coverage": "product level"}
    number = certification.get("certificateNumber")
    if isinstance(number, str) and number.strip():
        assurance["comments"] = f"Certificate {number.strip()}"
    return assurance


def _dqi(document: Mapping[str, Any]) -> dict[str, Any]:
    quality = document.get("dataQuality")
    if not isinstance(quality, Mapping):
        raise UnmappableForm("/dataQuality: the TiR, TeR, GeR and SoR ratings are required")
    scores: dict[str, int] = {}
    for name in ("TiR", "TeR", "GeR", "SoR"):
        score = quality.get(name)
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise UnmappableForm(f"/dataQuality/{name}: must be an integer from 1 to 5, got {score!r}")
        scores[name] = score
    overall = sum(scores.values()) / len(scores)
    return {
        "coveragePercent": 100,
        "technologicalDQR": dqr_to_pact(scores["TeR"]),
        "temporalDQR": dqr_to_pact(scores["TiR"]),
        "geographicalDQR": dqr_to_pact(scores["GeR"]),
        "completenessDQR": dqr_to_pact(overall),
        "reliabilityDQR": dqr_to_pact(scores["SoR"]),
    }


def _boundary(document: Mapping[str, Any]) -> str:
    parts = [_text(document, "systemBoundary"), _text(document, "processDescription")]
    return "\n".join(part for part in parts if part)


def _description(document: Mapping[str, Any]) -> str:
    description = _text(document, "description")
    if description:
        return description
    return " ".join(part for part in (_text(document, "name"), _text(document, "model")) if part)


def carbon_footprint(document: Mapping[str, Any], company: Company) -> dict[str, Any]:
    """The `pcf` member of a form's footprint."""
    quantification = document.get("quantification")
    factor = document.get("emissionFactor")
    if not isinstance(quantification, Mapping):
        raise UnmappableForm("/quantification: required")
    if not isinstance(factor, Mapping):
        raise UnmappableForm("/emissionFactor: the published form carries no emission factor")
    unit, amount = declared_unit(quantification)
    pcf_value = decimal_text(pcf_per_declared_unit(factor, unit))
    period = document.get("collectionPeriod")
    if not isinstance(period, Mapping):
        raise UnmappableForm("/collectionPeriod: required")
    start = _date("/collectionPeriod/start", period.get("start"))
    last = _date("/collectionPeriod/end", period.get("end"))
    if last < start:
        raise UnmappableForm("/collectionPeriod: ends before it starts")
    end = last + dt.timedelta(days=1)
    reports = ipcc_reports(document)
    pcf: dict[str, Any] = {
        "declaredUnit": unit.declared,
        "unitaryProductAmount": decimal_text(amount),
        "pCfExcludingBiogenic": pcf_value,
        "pCfIncludingBiogenic": pcf_value,
        "fossilGhgEmissions": pcf_value,
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        # The deprecated enum knows AR5 and AR6 only: the earliest report used, at least AR5.
        "characterizationFactors": "AR5" if reports[0] <= 5 else "AR6",
        "ipccCharacterizationFactorsSources": [f"AR{report}" for report in reports],
        "crossSectoralStandardsUsed": ["ISO Standard 14067"],
        "crossSectoralStandards": ["ISO14067"],
        "boundaryProcessesDescription": _boundary(document),
        "referencePeriodStart": _midnight(start),
        "referencePeriodEnd": _midnight(end),
        "exemptedEmissionsPercent": 0,
        "exemptedEmissionsDescription": "",
        "packagingEmissionsIncluded": False,
        "primaryDataShare": primary_data_share(document),
        "dqi": _dqi(document),
    }
    if end > FIRST_DAY_OF_2025:
        pcf.update(
            {
                "dLucGhgEmissions": "0",
                "landManagementGhgEmissions": "0",
                "otherBiogenicGhgEmissions": "0",
                "biogenicCarbonWithdrawal": "0",
                "biogenicAccountingMethodology": "ISO",
            }
        )
    if company.country is not None:
        pcf["geographyCountry"] = company.country
    sources = secondary_sources(document)
    if sources:
        pcf["secondaryEmissionFactorSources"] = sources
    assurance = _assurance(document)
    if assurance is not None:
        pcf["assurance"] = assurance
    return pcf


def _validity(document: Mapping[str, Any], reference_end: str) -> dict[str, str]:
    until = document.get("validUntil")
    if not isinstance(until, str):
        return {}
    start = dt.date.fromisoformat(reference_end[:10])
    end = min(_date("/validUntil", until) + dt.timedelta(days=1), _plus_years(start, 3))
    if end <= start:
        return {}
    return {"validityPeriodStart": _midnight(start), "validityPeriodEnd": _midnight(end)}


def footprint(form: FormVersion, company: Company, *, default_cpc: str) -> dict[str, Any]:
    """The ProductFootprint of a form version; `UnmappableForm` when v2.3 cannot express it."""
    document = form.document
    name = _text(document, "name")
    if not name:
        raise UnmappableForm("/name: required")
    pcf = carbon_footprint(document, company)
    factor = document["emissionFactor"]
    tagged_cpc = cpc_of(document)
    result: dict[str, Any] = {
        "id": form.pf_id,
        "specVersion": SPEC_VERSION,
        "version": form.version,
        "created": form.created,
        "status": "Active",
        **_validity(document, pcf["referencePeriodEnd"]),
        "companyName": company.name,
        "companyIds": company_ids(company.prefix),
        "productDescription": _description(document),
        "productIds": [product_id(form.handle)],
        "productCategoryCpc": tagged_cpc or default_cpc,
        "productNameCompany": name,
        "comment": _comment(form, factor),
        "pcf": pcf,
    }
    if form.updated > form.created:
        result["updated"] = form.updated
    if tagged_cpc is not None:
        result["productClassifications"] = [f"urn:cpc:{tagged_cpc}"]
    return result


def matching_handles(fragment: Mapping[str, Any]) -> list[str]:
    """The handles a request's ProductFootprint fragment names through its productIds (ours only)."""
    ids = fragment.get("productIds")
    if not isinstance(ids, list):
        return []
    handles = (handle_of_product_id(item) for item in ids if isinstance(item, str))
    return list(dict.fromkeys(handle for handle in handles if handle is not None))


def company_from_profile(profile: Mapping[str, Any] | None, prefix: str) -> Company:
    """The owner as its enterprise profile describes it (name; China when it names a GB/T 2260 region)."""
    if profile is None:
        return Company(prefix, prefix)
    name = profile.get("name")
    region = profile.get("region")
    country = "CN" if isinstance(region, str) and re.fullmatch(r"\d{6}", region) else None
    return Company(name.strip() if isinstance(name, str) and name.strip() else prefix, prefix, country)
