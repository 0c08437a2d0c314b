"""The resolver's certificate routes: evaluations, the certificate page and QR codes, the status list.

- `POST /api/evaluations` {prefix, period[, rolling]} (operator, HTTP Basic): evaluate and issue; 201.
- `GET /api/evaluations[?prefix=&period=&limit=&offset=]`: issued certificates, newest first.
- `GET /api/evaluations/{handle}`: the full report (credential, accounting lines and factors, status).
- `POST /api/evaluations/{handle}/revoke` {reason} (operator): revoke; 204.
- `GET /api/status-lists/1`: the signed Bitstring Status List credential.
- `POST /api/rollups` {handle[, depthLimit]} (operator): a product form's cradle-to-gate roll-up (`resolver.rollups`).
- `GET /c/{handle}`: the certificate page (HTML) or, for `Accept: application/ld+json`,
  `application/vc+ld+json` or `application/vc`, the signed credential; `GET /c/{handle}.png|.svg`: its QR code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

from aiohttp import web

from carbon_efficiency.qr import certificate_qr_png, certificate_qr_svg
from common.errors import BadRequest, read_json
from common.passwords import MalformedCredentials, basic_credentials
from resolver.certificate_page import render_certificate_page, render_not_found_page
from resolver.certificates import (
    CertificateAuthority,
    authenticate_operator,
    list_certificates,
    revoke_certificate,
    status_list,
    stored_certificate,
)
from resolver.errors import CertificateNotFound, OperatorAuthenticationRequired
from resolver.evaluations import evaluate_and_issue, parse_request
from resolver.keys import CERTIFICATES_KEY, RESOLVER_KEY
from resolver.rollups import parse_rollup_request, roll_up

CREDENTIAL_TYPES: Final = ("application/vc+ld+json", "application/vc", "application/ld+json")
MAX_LIST: Final = 500
MAX_OFFSET: Final = 2**31 - 1
"""Beyond this an offset overflows the databases' 64-bit integers (a 500), and no list is that long."""
_JSON: Final = "application/json"


def _json(
    body: Any, *, status: int = 200, content_type: str = _JSON, headers: dict[str, str] | None = None
) -> web.Response:
    text = json.dumps(body, ensure_ascii=False, indent=2)
    return web.Response(status=status, text=text, content_type=content_type, charset="utf-8", headers=headers)


async def _operator(request: web.Request, authority: CertificateAuthority) -> str:
    try:
        credentials = basic_credentials(request.headers.get("Authorization"))
    except MalformedCredentials as exc:
        raise OperatorAuthenticationRequired(str(exc)) from None
    if credentials is None:
        raise OperatorAuthenticationRequired(
            "evaluations and revocations need operator credentials (HTTP Basic)"
        )
    return await authenticate_operator(authority, *credentials)


async def post_evaluation(request: web.Request) -> web.Response:
    """Evaluate an enterprise and issue its certificate."""
    ctx, authority = request.app[RESOLVER_KEY], request.app[CERTIFICATES_KEY]
    await _operator(request, authority)
    prefix, period = parse_request(await read_json(request))
    issued = await evaluate_and_issue(ctx, authority, prefix, period)
    page = issued.credential["id"]
    body = {
        "handle": issued.handle,
        "certificate": page,
        "qrPng": f"{page}.png",
        "qrSvg": f"{page}.svg",
        "superseded": list(issued.superseded),
        "credential": issued.credential,
        "report": issued.report,
    }
    return _json(body, status=201, headers={"Location": page})


async def post_rollup(request: web.Request) -> web.Response:
    """Roll a product form up across the federation (operators: the tree holds granted suppliers' data)."""
    ctx, authority = request.app[RESOLVER_KEY], request.app[CERTIFICATES_KEY]
    await _operator(request, authority)
    root, depth_limit = parse_rollup_request(await read_json(request))
    return _json(await roll_up(ctx, authority, root, depth_limit=depth_limit))


async def get_evaluations(request: web.Request) -> web.Response:
    """Issued certificates, newest first."""
    query = request.query
    try:
        limit = int(query.get("limit", "100"))
        offset = int(query.get("offset", "0"))
    except ValueError:
        raise BadRequest("limit and offset must be integers") from None
    if not 1 <= limit <= MAX_LIST or not 0 <= offset <= MAX_OFFSET:
        raise BadRequest(f"limit must be 1..{MAX_LIST} and offset 0..{MAX_OFFSET}")
    rows = await list_certificates(
        request.app[CERTIFICATES_KEY],
        prefix=query.get("prefix") or None,
        period=query.get("period") or None,
        limit=limit,
        offset=offset,
    )
    return _json({"certificates": rows, "limit": limit, "offset": offset})


async def get_evaluation(request: web.Request) -> web.Response:
    """The full report behind one certificate."""
    ctx, authority = request.app[RESOLVER_KEY], request.app[CERTIFICATES_KEY]
    stored = await stored_certificate(ctx, authority, request.match_info["handle"])
    return _json({**stored.report, "verification": stored.verification})


async def post_revocation(request: web.Request) -> web.Response:
    """Revoke a certificate, with a reason."""
    ctx, authority = request.app[RESOLVER_KEY], request.app[CERTIFICATES_KEY]
    operator = await _operator(request, authority)
    body = await read_json(request)
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 300:
        raise BadRequest('the body must be {"reason": "…"} with a reason of 1-300 characters')
    await revoke_certificate(
        ctx, authority, request.match_info["handle"], reason=reason.strip(), operator=operator
    )
    return web.Response(status=204)


async def get_status_list(request: web.Request) -> web.Response:
    """The Bitstring Status List credential."""
    if request.match_info["list"] != "1":
        raise CertificateNotFound(f"no status list {request.match_info['list']}")
    credential = await status_list(request.app[RESOLVER_KEY], request.app[CERTIFICATES_KEY])
    return _json(credential, content_type="application/vc+ld+json", headers={"Cache-Control": "max-age=300"})


def _wants_credential(request: web.Request) -> str | None:
    """The credential media type the client asked for, None when it wants the page."""
    if request.query.get("format") == "json":
        return "application/ld+json"
    accept = request.headers.get("Accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in CREDENTIAL_TYPES:
            return media
    return None


async def get_certificate(request: web.Request) -> web.StreamResponse:
    """The certificate page, its signed credential, or its QR code."""
    ctx, authority = request.app[RESOLVER_KEY], request.app[CERTIFICATES_KEY]
    handle = request.match_info["handle"]
    kind = "page"
    for suffix in (".png", ".svg"):
        if handle.endswith(suffix):
            handle, kind = handle[: -len(suffix)], suffix[1:]
    media = _wants_credential(request) if kind == "page" else None
    try:
        stored = await stored_certificate(ctx, authority, handle)
    except CertificateNotFound:
        if kind == "page" and media is None:
            return web.Response(
                status=404, text=render_not_found_page(handle), content_type="text/html", charset="utf-8"
            )
        raise
    credential = stored.credential
    page_url = credential["id"]
    subject = credential["credentialSubject"]
    grade = subject.get("grade")
    label = f"{subject['enterpriseName']} · {subject['period']}"
    # The code only shows the page's address and the grade, which never change; the page and the
    # credential's status may (a revocation), so those are revalidated every time.
    images = {"Cache-Control": "public, max-age=86400"}
    fresh = {"Cache-Control": "no-cache", "Vary": "Accept"}
    if kind == "png":
        png = await asyncio.to_thread(certificate_qr_png, page_url, grade, label=label)
        return web.Response(body=png, content_type="image/png", headers=images)
    if kind == "svg":
        svg = certificate_qr_svg(page_url, grade, label=label)
        return web.Response(text=svg, content_type="image/svg+xml", charset="utf-8", headers=images)
    if media is not None:
        return _json(credential, content_type=media, headers=fresh)
    html = render_certificate_page(
        credential,
        verification=stored.verification,
        status=stored.status,
        page_url=page_url,
        qr_svg_url=f"{page_url}.svg",
        json_url=f"{page_url}?format=json",
        status_reason=stored.row.status_reason,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=fresh)


def add_routes(app: web.Application) -> None:
    """Register the certificate routes."""
    app.router.add_post("/api/evaluations", post_evaluation)
    app.router.add_get("/api/evaluations", get_evaluations)
    app.router.add_post(r"/api/evaluations/{handle:.+}/revoke", post_revocation)
    app.router.add_get(r"/api/evaluations/{handle:.+}", get_evaluation)
    app.router.add_get("/api/status-lists/{list}", get_status_list)
    app.router.add_post("/api/rollups", post_rollup)
    app.router.add_get(r"/c/{handle:.+}", get_certificate)
