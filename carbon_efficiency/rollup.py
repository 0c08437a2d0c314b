"""Cradle-to-gate roll-up of product forms across nodes: own inventory + Σ quantity × supplier factor, recursively.

The caller (a node or the resolver) fetches and verifies the forms through the federation, breadth first
with `supplier_handles`, and hands them over as `FetchedForm` or `MissingForm`; this module only computes.

* A supplier link is used when its form was fetched, verified and is valid on `as_of` (`validUntil` not
  before it) within `depth_limit` links of the root. Otherwise it is unavailable (not found, expired, not
  granted, failed verification, beyond the depth limit, not fetched) and the line falls back, flagged, to
  the default factor of its material name (`default_material_factors()`, shipped with sources), else to
  the line's own factor with its source; with neither the roll-up fails naming the line and what is
  missing. Every form whose figure rests on a fallback has its DQR worsened (see `carbon_efficiency.footprint`).
* A form reached again on its own path is a cycle: refused, naming the path. Cycles are looked for among
  all usable forms reachable from the root, before and regardless of the depth limit, so that the answer
  does not depend on the order links are visited.
* A supplier form that cannot be computed (a line without a factor…) fails the roll-up: a published form
  should compute, and hiding it behind a default would hide the error. Every error of the tree is listed.
* A form used by several parents is computed once per depth (its subtree is then shared in the result).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Literal

from carbon_efficiency.factors import FactorLibrary
from carbon_efficiency.footprint import (
    DefaultFactor,
    FootprintError,
    FootprintLine,
    FootprintQuality,
    FormFootprint,
    SupplierFactor,
    UnavailableSupplier,
    form_footprint,
    parse_factor_unit,
    supplier_handles,
)
from carbon_efficiency.model import Issue

__all__ = [
    "DEFAULT_DEPTH_LIMIT",
    "Access",
    "FetchedForm",
    "MissingForm",
    "MissingReason",
    "RollupError",
    "RollupLink",
    "RollupNode",
    "RollupTree",
    "default_material_factors",
    "rollup",
    "supplier_handles",
]

DEFAULT_DEPTH_LIMIT: Final = 8
Access = Literal["own", "public", "granted"]
MissingReason = Literal[
    "not-found", "expired", "not-granted", "failed-verification", "depth-limit", "not-fetched"
]
_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "not-found": "was not found",
        "expired": "has expired",
        "not-granted": "is not granted to this node",
        "failed-verification": "failed verification",
        "depth-limit": "is beyond the depth limit",
        "not-fetched": "was not fetched",
    }
)


class RollupError(FootprintError):
    """The roll-up cannot be computed: every error of the tree, each naming `handle#pointer`."""


@dataclass(frozen=True, slots=True)
class FetchedForm:
    """A form the caller resolved and verified, with how it was read."""

    handle: str
    version: int
    document: Mapping[str, Any]
    region: str
    """GB/T 2260 code of the publishing enterprise (its grid factor)."""
    verified: bool = True
    access: Access = "public"
    granted_to: str | None = None
    """For a private form read under a grant: the prefix the owner granted it to (the reader's)."""


@dataclass(frozen=True, slots=True)
class MissingForm:
    """A supplier form the caller could not use, and why."""

    handle: str
    reason: MissingReason
    detail: str | None = None

    def describe(self) -> str:
        """`was not found`, `has expired (valid until …)`, …"""
        text = _REASONS[self.reason]
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True, slots=True)
class RollupLink:
    """A material line that references a supplier form: what it took, and the supplier's subtree if used."""

    line: FootprintLine
    supplier: RollupNode | None
    missing: MissingForm | None

    def to_json(self) -> dict[str, Any]:
        """The link for an API answer: `resolved` with the supplier's node, or `fallback` with the reason."""
        body: dict[str, Any] = {
            "status": "fallback" if self.line.fallback else "resolved",
            **self.line.to_json(),
        }
        if self.missing is not None:
            body["missing"] = {"reason": self.missing.reason, "detail": self.missing.detail}
        if self.supplier is not None:
            body["supplier"] = self.supplier.to_json()
        return body


@dataclass(frozen=True, slots=True)
class RollupNode:
    """One form of the tree: its footprint and its supplier links."""

    handle: str
    version: int
    access: Access
    granted_to: str | None
    region: str
    footprint: FormFootprint
    links: tuple[RollupLink, ...]

    @property
    def own_kg_co2e(self) -> float:
        """kgCO₂e per functional unit from the lines that reference no supplier."""
        return sum(line.emissions_kg_co2e for line in self.footprint.lines if line.supplier_handle is None)

    @property
    def suppliers_kg_co2e(self) -> float:
        """kgCO₂e per functional unit from the supplier lines (resolved or fallen back)."""
        return sum(link.line.emissions_kg_co2e for link in self.links)

    def to_json(self) -> dict[str, Any]:
        """The node and its subtree for an API answer."""
        footprint = self.footprint
        return {
            "handle": self.handle,
            "version": self.version,
            "access": self.access,
            "grantedTo": self.granted_to,
            "region": self.region,
            "functionalUnit": footprint.functional_unit,
            "emissionFactor": {"value": footprint.factor, "unit": footprint.factor_unit},
            "totalKgCo2e": footprint.total_kg_co2e,
            "ownKgCo2e": self.own_kg_co2e,
            "suppliersKgCo2e": self.suppliers_kg_co2e,
            "bySection": footprint.by_section,
            "dataQuality": footprint.quality.to_json(),
            "fallbacks": footprint.fallbacks,
            "own": [line.to_json() for line in footprint.lines if line.supplier_handle is None],
            "suppliers": [link.to_json() for link in self.links],
        }


@dataclass(frozen=True, slots=True)
class RollupTree:
    """The roll-up of a root form: the tree, its totals, every fallback taken and every warning."""

    root: RollupNode
    as_of: date
    depth_limit: int
    fallbacks: tuple[tuple[tuple[str, ...], FootprintLine], ...]
    """(handles from the root to the form, the line that fell back), depth first."""
    issues: tuple[Issue, ...] = field(default=())

    @property
    def total_kg_co2e(self) -> float:
        """Cradle-to-gate kgCO₂e per functional unit of the root."""
        return self.root.footprint.total_kg_co2e

    @property
    def quality(self) -> FootprintQuality:
        """The root's DQR (penalised if anything beneath it fell back)."""
        return self.root.footprint.quality

    def to_json(self) -> dict[str, Any]:
        """The tree for an API answer."""
        footprint = self.root.footprint
        return {
            "root": self.root.handle,
            "asOf": self.as_of.isoformat(),
            "depthLimit": self.depth_limit,
            "totalKgCo2e": self.total_kg_co2e,
            "emissionFactor": {"value": footprint.factor, "unit": footprint.factor_unit},
            "dataQuality": self.quality.to_json(),
            "gwp": footprint.gwp,
            "factorSet": footprint.factor_set,
            "fallbacks": [
                {
                    "path": list(path),
                    "pointer": line.pointer,
                    "supplierHandle": line.supplier_handle,
                    "fallback": line.fallback,
                }
                for path, line in self.fallbacks
            ],
            "issues": [issue.to_json() for issue in self.issues],
            "tree": self.root.to_json(),
        }


def rollup(
    root: str,
    forms: Mapping[str, FetchedForm | MissingForm],
    *,
    as_of: date,
    library: FactorLibrary | None = None,
    default_factors: Mapping[str, DefaultFactor] | None = None,
    year: int | None = None,
    gwp: str = "AR6",
    depth_limit: int = DEFAULT_DEPTH_LIMIT,
) -> RollupTree:
    """The cradle-to-gate footprint of form `root` from the forms the caller fetched (keyed by handle).

    `default_factors` (case-folded material name → factor) default to `default_material_factors()`;
    pass `{}` for none. `year` overrides each form's grid-factor year (default: its collection year).
    Raises `RollupError` for a missing root, a cycle, or any line without a factor.
    """
    if depth_limit < 0:
        raise ValueError(f"depth_limit {depth_limit}: expected 0 or more")
    walk = _Walk(
        forms={key.casefold(): value for key, value in forms.items()},
        as_of=as_of,
        library=library or FactorLibrary.default(),
        defaults=default_material_factors() if default_factors is None else default_factors,
        year=year,
        gwp=gwp,
        depth_limit=depth_limit,
    )
    entry = walk.forms.get(root.casefold())
    if not isinstance(entry, FetchedForm):
        why = entry.describe() if entry is not None else _REASONS["not-fetched"]
        raise RollupError([Issue("error", root, f"the root form {why}")])
    if not entry.verified:
        raise RollupError([Issue("error", root, "the root form failed verification")])
    walk.find_cycles(entry)
    if walk.errors:
        raise RollupError(walk.errors)
    valid_until = date.fromisoformat(entry.document["validUntil"])
    if valid_until < as_of:
        walk.issues.append(Issue("warning", root, f"the root form expired on {valid_until} (before {as_of})"))
    node = walk.node(entry, 0)
    if node is None or walk.errors:
        raise RollupError(walk.errors)
    return RollupTree(
        root=node,
        as_of=as_of,
        depth_limit=depth_limit,
        fallbacks=tuple(_fallbacks(node, (node.handle,))),
        issues=tuple(dict.fromkeys(walk.issues)),
    )


def default_material_factors() -> Mapping[str, DefaultFactor]:
    """The shipped default material factors (`data/default-material-factors.json`), by case-folded key and name."""
    return _defaults()


@dataclass(slots=True)
class _Walk:
    forms: Mapping[str, FetchedForm | MissingForm]
    as_of: date
    library: FactorLibrary
    defaults: Mapping[str, DefaultFactor]
    year: int | None
    gwp: str
    depth_limit: int
    errors: list[Issue] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    done: dict[tuple[str, int], RollupNode | None] = field(default_factory=dict)

    def usable(self, handle: str, depth: int) -> FetchedForm | MissingForm:
        """The form of a supplier link at `depth`, or why it cannot be used."""
        if depth > self.depth_limit:
            return MissingForm(handle, "depth-limit", f"limit {self.depth_limit}")
        entry = self.forms.get(handle.casefold())
        if entry is None:
            return MissingForm(handle, "not-fetched")
        if isinstance(entry, MissingForm):
            return entry
        if not entry.verified:
            return MissingForm(handle, "failed-verification")
        valid_until = date.fromisoformat(entry.document["validUntil"])
        if valid_until < self.as_of:
            return MissingForm(handle, "expired", f"valid until {valid_until}, before {self.as_of}")
        return entry

    def find_cycles(self, root: FetchedForm) -> None:
        """Depth-first over usable links (ignoring the depth limit): an error per link closing a cycle."""
        path: list[FetchedForm] = [root]
        on_path = {root.handle.casefold()}
        finished: set[str] = set()
        pending: list[Iterator[str]] = [iter(supplier_handles(root.document))]
        while pending:
            handle = next(pending[-1], None)
            if handle is None:
                done = path.pop()
                on_path.discard(done.handle.casefold())
                finished.add(done.handle.casefold())
                pending.pop()
                continue
            key = handle.casefold()
            if key in on_path:
                start = next(i for i, form in enumerate(path) if form.handle.casefold() == key)
                cycle = " → ".join([form.handle for form in path[start:]] + [handle])
                pointer = _pointer_of(path[-1], handle)
                self.errors.append(
                    Issue("error", pointer, f"supplier cycle {cycle}: a form cannot contain itself")
                )
                continue
            entry = self.usable(handle, 0)
            if key in finished or not isinstance(entry, FetchedForm):
                continue
            path.append(entry)
            on_path.add(key)
            pending.append(iter(supplier_handles(entry.document)))

    def node(self, entry: FetchedForm, depth: int) -> RollupNode | None:
        """The footprint of a form and its subtree; None (with the errors recorded) when it cannot be computed."""
        memo = (entry.handle.casefold(), depth)
        if memo not in self.done:
            self.done[memo] = self._compute(entry, depth)
        return self.done[memo]

    def _compute(self, entry: FetchedForm, depth: int) -> RollupNode | None:
        inputs: dict[str, SupplierFactor | UnavailableSupplier] = {}
        children: dict[str, RollupNode | MissingForm] = {}
        failed = False
        for handle in supplier_handles(entry.document):
            found = self.usable(handle, depth + 1)
            if isinstance(found, MissingForm):
                inputs[handle] = UnavailableSupplier(handle, found.describe())
                children[handle.casefold()] = found
                continue
            child = self.node(found, depth + 1)
            if child is None:
                failed = True
                continue
            inputs[handle] = SupplierFactor(
                handle=child.handle,
                value=child.footprint.factor,
                unit=child.footprint.factor_unit,
                source=f"supplier form {child.handle} v{child.version} ({child.access})",
                version=child.version,
                fallbacks=child.footprint.fallbacks,
            )
            children[handle.casefold()] = child
        if failed:
            return None
        try:
            footprint = form_footprint(
                entry.document,
                region=entry.region,
                as_of=self.as_of,
                library=self.library,
                year=self.year,
                gwp=self.gwp,
                supplier_factors=inputs,
                default_factors=self.defaults,
            )
        except FootprintError as error:
            self.errors.extend(_prefixed(entry.handle, issue) for issue in error.issues)
            return None
        self.issues.extend(_prefixed(entry.handle, issue) for issue in footprint.issues)
        links = []
        for line in footprint.lines:
            if line.supplier_handle is not None:
                child_or_missing = children[line.supplier_handle.casefold()]
                supplier = child_or_missing if isinstance(child_or_missing, RollupNode) else None
                missing = child_or_missing if isinstance(child_or_missing, MissingForm) else None
                links.append(RollupLink(line, supplier, missing))
        return RollupNode(
            handle=entry.handle,
            version=entry.version,
            access=entry.access,
            granted_to=entry.granted_to,
            region=entry.region,
            footprint=footprint,
            links=tuple(links),
        )


def _prefixed(handle: str, issue: Issue) -> Issue:
    return Issue(issue.severity, f"{handle}#{issue.pointer}", issue.message)


def _pointer_of(form: FetchedForm, supplier: str) -> str:
    for index, line in enumerate(form.document["inventory"]["materials"]):
        if str(line.get("supplierHandle", "")).casefold() == supplier.casefold():
            return f"{form.handle}#/inventory/materials/{index}/supplierHandle"
    return form.handle


def _fallbacks(node: RollupNode, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], FootprintLine]]:
    for line in node.footprint.lines:
        if line.fallback:
            yield path, line
    for link in node.links:
        if link.supplier is not None:
            yield from _fallbacks(link.supplier, (*path, link.supplier.handle))


@cache
def _defaults() -> Mapping[str, DefaultFactor]:
    document = json.loads(
        resources.files("carbon_efficiency.data").joinpath("default-material-factors.json").read_text("utf-8")
    )
    table: dict[str, DefaultFactor] = {}
    for row in document["rows"]:
        factor = DefaultFactor(
            key=row["key"],
            names=tuple(row["names"]),
            value=float(row["value"]),
            unit=row["unit"],
            source=row["source"],
            note=row.get("note"),
        )
        if parse_factor_unit(factor.unit) is None:
            raise ValueError(
                f"data/default-material-factors.json {factor.key}: unit {factor.unit!r} is not kgCO2e per unit"
            )
        for name in (factor.key, *factor.names):
            if table.setdefault(name.casefold(), factor) is not factor:
                raise ValueError(f"data/default-material-factors.json: {name!r} names two materials")
    return MappingProxyType(table)
