"""Cradle-to-gate roll-up of a product carbon form across the federation (`POST /api/rollups`).

Starting from a `product-footprint/1` record, every material line's `supplierHandle` is resolved through the
federation as the resolver's own prefix (so forms a supplier granted to it are read), breadth first, each
form verified back to the trust anchor, up to the depth limit; each form's region comes from its
enterprise's verified profile. `carbon_efficiency.rollup` then computes the tree: own inventory + Σ quantity
× supplier factor, recursively, with cycles refused and a flagged default factor (and a penalised data
quality) where a supplier form is missing, expired, not granted or does not verify.

The result holds what suppliers granted to this resolver's prefix: only operators may ask for it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from carbon_efficiency.footprint import FootprintError, supplier_handles
from carbon_efficiency.rollup import FetchedForm, MissingForm, RollupError, rollup
from handle_registry.identifiers import Handle, InvalidHandle, fold_ascii
from resolver.answers import Found
from resolver.certificates import CertificateAuthority
from resolver.context import ResolverContext
from resolver.errors import EvaluationRefused, EvaluationSourceUnavailable, UpstreamError
from resolver.resolution import resolve_record
from resolver.sources import SignedSource, SourceRefused, SourceUnavailable, verified_source

FORM_TEMPLATE: Final = "product-footprint/1"
PROFILE_TEMPLATE: Final = "enterprise-profile/1"
DEFAULT_DEPTH_LIMIT: Final = 8
MAX_DEPTH_LIMIT: Final = 16
MAX_FORMS: Final = 500
"""A roll-up reads at most this many forms (a runaway supplier graph is refused, not followed)."""


def parse_rollup_request(body: Any) -> tuple[Handle, int]:
    """The root handle and depth limit of a `POST /api/rollups` body; 422 when unusable."""
    if not isinstance(body, dict):
        raise EvaluationRefused("the body must be a JSON object {handle[, depthLimit]}")
    unknown = sorted(set(body) - {"handle", "depthLimit"})
    if unknown:
        raise EvaluationRefused(f"unknown member(s) {', '.join(unknown)}: expected handle, depthLimit")
    text, depth = body.get("handle"), body.get("depthLimit", DEFAULT_DEPTH_LIMIT)
    if not isinstance(text, str):
        raise EvaluationRefused("handle is required: the product form to roll up, e.g. 88.136.1/PF.1")
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= MAX_DEPTH_LIMIT:
        raise EvaluationRefused(f"depthLimit must be an integer 0..{MAX_DEPTH_LIMIT}")
    try:
        handle = Handle(text)
    except InvalidHandle as exc:
        raise EvaluationRefused(f"{text!r} is not a handle: {exc}") from None
    if handle.is_prefix_record:
        raise EvaluationRefused(f"{text} is a prefix record, not a product form")
    return handle, depth


async def roll_up(
    ctx: ResolverContext, authority: CertificateAuthority, root: Handle, *, depth_limit: int
) -> dict[str, Any]:
    """The roll-up tree of `root` as JSON (see the module docstring)."""
    now = ctx.now()
    forms = await _fetch_graph(ctx, root, depth_limit)
    if isinstance(forms[root.text], MissingForm):
        missing = forms[root.text]
        raise EvaluationRefused(f"{root.text} cannot be rolled up: {missing.reason} ({missing.detail})")
    try:
        tree = await asyncio.to_thread(
            rollup, root.text, forms, as_of=now.date(), library=authority.factors, depth_limit=depth_limit
        )
    except (RollupError, FootprintError) as exc:
        raise EvaluationRefused(str(exc), issues=[issue.to_json() for issue in exc.issues]) from None
    return {"asOf": now.date().isoformat(), **tree.to_json(), "readAs": ctx.settings.prefix}


async def _fetch_graph(
    ctx: ResolverContext, root: Handle, depth_limit: int
) -> dict[str, FetchedForm | MissingForm]:
    """Every form reachable from `root` within the depth limit, breadth first, keyed by handle text."""
    forms: dict[str, FetchedForm | MissingForm] = {}
    regions: dict[str, str | None] = {}
    seen = {fold_ascii(root.text)}
    level = [root]
    for depth in range(depth_limit + 2):
        if not level:
            break
        fetched = await asyncio.gather(*(_form(ctx, handle, regions) for handle in level))
        following: list[Handle] = []
        for handle, form in zip(level, fetched, strict=True):
            forms[handle.text] = form
            if isinstance(form, MissingForm) or depth > depth_limit:
                continue
            for text in supplier_handles(form.document):
                key = fold_ascii(text)
                if key in seen:
                    continue  # a cycle or a shared supplier: fetched once; the engine finds cycles
                seen.add(key)
                try:
                    following.append(Handle(text))
                except InvalidHandle:
                    forms[text] = MissingForm(text, "not-found", "not a handle")
        if len(seen) > MAX_FORMS:
            raise EvaluationRefused(f"the supplier graph of {root.text} has more than {MAX_FORMS} forms")
        level = following
    return forms


async def _form(
    ctx: ResolverContext, handle: Handle, regions: dict[str, str | None]
) -> FetchedForm | MissingForm:
    try:
        source = await verified_source(ctx, handle, FORM_TEMPLATE)
    except SourceRefused as exc:
        return MissingForm(handle.text, "failed-verification", str(exc))
    except SourceUnavailable as exc:
        raise EvaluationSourceUnavailable(str(exc)) from None
    if source is None:
        return MissingForm(
            handle.text,
            "not-found",
            f"{handle.text} does not exist or is not granted to {ctx.settings.prefix}",
        )
    region = await _region(ctx, handle, regions)
    if region is None:
        return MissingForm(
            handle.text, "failed-verification", f"{handle.prefix.text} has no verified profile"
        )
    public = await _is_public(ctx, handle)
    return FetchedForm(
        handle.text,
        source.version,
        source.document,
        region,
        access="public" if public else "granted",
        granted_to=None if public else ctx.settings.prefix,
    )


async def _region(ctx: ResolverContext, handle: Handle, regions: dict[str, str | None]) -> str | None:
    """The region of the form's enterprise, from its verified profile (once per prefix)."""
    key = handle.prefix.key
    if key not in regions:
        try:
            profile: SignedSource | None = await verified_source(
                ctx, Handle(f"{handle.prefix.text}/PROFILE"), PROFILE_TEMPLATE
            )
        except SourceRefused:
            profile = None
        except SourceUnavailable as exc:
            raise EvaluationSourceUnavailable(str(exc)) from None
        regions[key] = None if profile is None else str(profile.document.get("region"))
    return regions[key]


async def _is_public(ctx: ResolverContext, handle: Handle) -> bool:
    """Whether anyone may read the form (else it was read through a grant to the resolver's prefix)."""
    try:
        served = await resolve_record(ctx, handle)
    except UpstreamError:  # only labels the link; the form itself was read and verified
        return False
    return isinstance(served.answer, Found)
