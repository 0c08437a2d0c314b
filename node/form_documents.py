"""The document side of a product carbon form: draft checks, the computed factor, the published document.

- A draft is checked against `product-footprint/1` apart from what the node writes: `handle` (assigned),
  `version` (set when published), `emissionFactor` (computed from the inventory) and `validUntil`
  (two years after publication unless the form says otherwise). So a draft may omit those four.
- The factor is computed by `compute_form_factor`, the one place the node calls the carbon accounting
  (`carbon_efficiency.footprint`): site data from the inventory, literature forms from the cited figure.
  Supplier lines use their own factor or the shipped default material factors, flagged as fallbacks;
  resolving supplier forms through the federation is the roll-up's business, not the form's.
- The figure published is the one computed when the form was submitted, so what the reviewer approved is
  what is signed: the inventory cannot change between submission and publication.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from carbon_efficiency.factors import UnknownFactor
from carbon_efficiency.footprint import FootprintError, FormFootprint, form_footprint
from carbon_efficiency.rollup import default_material_factors
from common.errors import UnprocessableContent
from handle_registry.identifiers import Handle, InvalidHandle
from metadata_templates import Template, TemplateValidationError, validate
from metadata_templates.codes.errors import CodeError

TEMPLATE: Final = "product-footprint/1"
WRITTEN_BY_NODE: Final = ("handle", "version", "emissionFactor", "validUntil")
VALIDITY_YEARS: Final = 2
MAX_SOURCE: Final = 300
NO_PROFILE: Final = (
    "the node has published no enterprise profile: its region (GB/T 2260) picks the grid electricity "
    "factor; publish the enterprise-profile record first"
)
# Stand-ins for the members the node writes, so a draft is checked against the schema without them.
_PLACEHOLDERS: Final[Mapping[str, Any]] = {
    "emissionFactor": {"value": 0, "unit": "kgCO2e/kg"},
    "validUntil": "2000-01-01",
}


class InvalidForm(UnprocessableContent):
    """The request or the form's document is not acceptable; `issues` lists [pointer, message]."""

    type = "invalid-form"
    title = "Invalid Form"

    def __init__(self, issues: Sequence[tuple[str, str]]) -> None:
        pointer, message = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(
            f"{pointer or '/'}: {message}{more}",
            issues=[{"pointer": p, "message": m} for p, m in issues],
        )


def draft_document(template: Template, body: Mapping[str, Any], handle: Handle | None) -> dict[str, Any]:
    """The document of a POST or PUT body `{"document": {...}}`, checked as a draft and given its handle.

    `handle` is the form's (None while the node has not assigned one: the document then may not name one).
    Raises `InvalidForm` naming every member at fault.
    """
    unknown = sorted(set(body) - {"document"})
    if unknown:
        raise InvalidForm([(f"/{_escape(unknown[0])}", 'unknown member; the body is {"document": {...}}')])
    document = body.get("document")
    if not isinstance(document, dict):
        raise InvalidForm([("/document", "required: the form's document, a JSON object")])
    issues: list[tuple[str, str]] = []
    if "proof" in document:
        issues.append(("/document/proof", "send the document unsigned: the node signs it when it publishes"))
    named = document.get("handle")
    if named is not None and (handle is None or _handle(named) != handle):
        issues.append(("/document/handle", f"the node assigns form handles; this one is {handle or 'new'}"))
    draft = {key: value for key, value in document.items() if key not in ("handle", "version")}
    candidate = {**_PLACEHOLDERS, **draft, "handle": handle.text if handle else "0.0/PF.0"}
    try:
        validate(template, candidate)
    except TemplateValidationError as exc:
        issues.extend((f"/document{issue.pointer}", issue.message) for issue in exc.issues)
    if issues:
        raise InvalidForm(issues)
    return draft


def _handle(text: object) -> Handle | None:
    try:
        return Handle(text) if isinstance(text, str) else None
    except InvalidHandle:
        return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def compute_form_factor(document: Mapping[str, Any], region: str, *, as_of: date) -> FormFootprint:
    """The footprint and factor of a form from its inventory, for an enterprise in `region` (GB/T 2260).

    Raises `carbon_efficiency.footprint.FootprintError` naming every line at fault, `UnknownFactor` or
    `CodeError` for a region or factor the library does not know.
    """
    return form_footprint(document, region=region, as_of=as_of, default_factors=default_material_factors())


@dataclass(frozen=True, slots=True)
class Computation:
    """What computing a form gave: the footprint (as JSON) and the factor member to publish, or the errors."""

    footprint: dict[str, Any] | None
    factor: dict[str, Any] | None
    errors: tuple[tuple[str, str], ...]
    region: str | None

    def to_json(self) -> dict[str, Any]:
        """As stored with the form."""
        if self.footprint is None:
            return {"errors": [{"pointer": p, "message": m} for p, m in self.errors], "region": self.region}
        return {"footprint": self.footprint, "factor": self.factor, "region": self.region}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Computation:
        """Read a stored computation back."""
        errors = tuple((item["pointer"], item["message"]) for item in data.get("errors", ()))
        return cls(data.get("footprint"), data.get("factor"), errors, data.get("region"))


def compute(document: Mapping[str, Any], region: str | None, *, as_of: date) -> Computation:
    """`compute_form_factor`, with failures kept as errors (pointers into the request body) instead of raised."""
    if region is None:
        return Computation(None, None, (("", NO_PROFILE),), None)
    try:
        footprint = compute_form_factor(document, region, as_of=as_of)
    except FootprintError as exc:
        return Computation(
            None, None, tuple((f"/document{i.pointer}", i.message) for i in exc.issues), region
        )
    except (UnknownFactor, CodeError) as exc:
        return Computation(None, None, (("", f"region {region}: {exc}"),), region)
    if footprint.factor_source == "literature":
        source = f"literature: {footprint.literature}"
    else:
        source = (
            f"computed from the inventory: {footprint.factor_set}; grid electricity {footprint.year}; "
            f"GWP {footprint.gwp}; region {region}"
        )
    factor = {"value": footprint.factor, "unit": footprint.factor_unit, "source": source[:MAX_SOURCE]}
    return Computation(footprint.to_json(), factor, (), region)


def two_years_after(day: date) -> date:
    """The default end of validity: the same day two years on (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + VALIDITY_YEARS)
    except ValueError:
        return day.replace(year=day.year + VALIDITY_YEARS, day=28)


def publication_document(document: Mapping[str, Any], factor: Mapping[str, Any], day: date) -> dict[str, Any]:
    """The document to sign: the computed factor written in, `validUntil` defaulted from the publication day."""
    published = dict(document)
    published["emissionFactor"] = dict(factor)
    published.setdefault("validUntil", two_years_after(day).isoformat())
    return published


@dataclass(frozen=True, slots=True)
class Summary:
    """The members of a document a listing filters on."""

    name: str
    model: str | None
    product_type: str
    public: bool
    functional_unit: str
    period_start: str
    period_end: str
    valid_until: str | None
    tags: tuple[str, ...] | None
    """None when the document has no `tags` member (the form's tags are then left as they are)."""


def summary(document: Mapping[str, Any]) -> Summary:
    """What a listing shows of a (draft-checked) document."""
    period = document["collectionPeriod"]
    tags = document.get("tags")
    return Summary(
        name=document["name"],
        model=document.get("model"),
        product_type=document["productType"],
        public=bool(document["public"]),
        functional_unit=document["functionalUnit"],
        period_start=period["start"],
        period_end=period["end"],
        valid_until=document.get("validUntil"),
        tags=tuple(tags) if isinstance(tags, list) else None,
    )


def dumps(value: Any) -> str:
    """Compact JSON text, as forms keep documents and computations."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
