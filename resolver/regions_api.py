"""Regional carbon-efficiency monitoring: `GET /api/regions/{code}/efficiency` (JSON or CSV) and the
`GET /regions/{code}` dashboard.

Both answer the same report (`carbon_efficiency.regional`): the region and its child regions (emissions,
added value, intensity, benchmark, grade counts, energy structure, neutrality rate, enterprise count),
rankings of child regions, industries and (for a regulator of the region) enterprises, and a trend series.
Query: `period` (2025, 2025H1, 2025Q1, 2025-03; default the latest year indexed), `level` (province, city or
county: the level of the breakdown, default the next one down), `industry` (a GB/T 4754 division such as
C32), `trend` (month, quarter or year), `format=csv` on the API, `signin=1` (answer 401 with a Basic challenge to
an anonymous caller, so a browser asks for regulator credentials). Who sees what: `resolver.regulators`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web

from carbon_efficiency.periods import InvalidPeriod, Period, parse_period
from common.errors import BadRequest, ProblemError
from common.passwords import MalformedCredentials, basic_credentials
from metadata_templates.codes import CodeError, validate_region_code
from resolver.errors import OutsideScope, RegionNotFound, RegulatorAuthenticationRequired
from resolver.keys import CERTIFICATES_KEY, REGIONAL_KEY, RESOLVER_KEY
from resolver.region_csv import report_csv
from resolver.region_page import render_region_dashboard, render_region_error_page
from resolver.regulators import NATIONAL, Regulator, authenticate_regulator

QUERY_PARAMETERS: Final = ("period", "level", "industry", "trend")


async def _regulator(request: web.Request) -> Regulator | None:
    """The authenticated regulator, None for an anonymous caller; 401 for wrong credentials."""
    try:
        credentials = basic_credentials(request.headers.get("Authorization"))
    except MalformedCredentials as exc:
        raise RegulatorAuthenticationRequired(str(exc)) from None
    if credentials is None:
        return None
    authority = request.app[CERTIFICATES_KEY]
    return await authenticate_regulator(authority.store, authority.checker, *credentials)


def _region_code(code: str) -> str:
    if code == NATIONAL:
        return code
    try:
        return validate_region_code(code).code
    except CodeError as exc:
        raise RegionNotFound(str(exc)) from None


def _period(text: str | None, years: tuple[int, ...]) -> Period:
    if text is None or text == "":
        if not years:
            raise BadRequest("nothing is indexed yet: give a period, e.g. period=2025")
        text = str(max(years))
    try:
        return parse_period(text)
    except InvalidPeriod as exc:
        raise BadRequest(str(exc)) from None


async def region_report(request: web.Request) -> tuple[dict[str, Any], Regulator | None]:
    """The report a request asks for, as the caller may see it; problem errors for what is wrong."""
    code = _region_code(request.match_info["code"])
    regulator = await _regulator(request)
    if regulator is None and request.query.get("signin"):
        # The dashboard's sign-in link: a Basic challenge makes the browser ask for the credentials.
        raise RegulatorAuthenticationRequired("sign in with your regulator account")
    if regulator is not None and not regulator.covers(code):
        raise OutsideScope(
            f"regulator {regulator.name} oversees {regulator.scope}; region {code} is outside that scope"
        )
    ctx = request.app[RESOLVER_KEY]
    state = request.app[REGIONAL_KEY]
    index = await state.current(request.app[CERTIFICATES_KEY].store)
    query = request.query
    period = _period(query.get("period"), index.years)
    try:
        report = await asyncio.to_thread(
            index.query,
            code,
            period=period,
            level=query.get("level") or None,
            industry=query.get("industry") or None,
            trend=query.get("trend") or None,
            disclose_enterprises=regulator is not None,
            min_cell=ctx.settings.public_min_cell,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return report, regulator


def _kept_query(request: web.Request) -> dict[str, str]:
    return {name: request.query[name] for name in QUERY_PARAMETERS if request.query.get(name)}


async def get_region_efficiency(request: web.Request) -> web.Response:
    """The regional report as JSON, or CSV with `format=csv`."""
    report, _ = await region_report(request)
    private = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}
    if request.query.get("format") == "csv":
        name = f"carbon-efficiency-{report['region']['code']}-{report['period']['text']}.csv"
        return web.Response(
            # A byte-order mark, so spreadsheet programs read the Chinese names as UTF-8.
            text="\ufeff" + report_csv(report),
            content_type="text/csv",
            charset="utf-8",
            headers={**private, "Content-Disposition": f'attachment; filename="{name}"'},
        )
    if request.query.get("format") not in (None, "", "json"):
        raise BadRequest("format must be json or csv")
    return web.json_response(report, headers=private)


async def get_region_dashboard(request: web.Request) -> web.Response:
    """The regional dashboard (HTML): the report with charts, drill-down links and exports."""
    try:
        report, _ = await region_report(request)
    except ProblemError as problem:
        zh = {400: "请求有误", 401: "需要登录", 403: "超出监管范围", 404: "未找到该地区", 503: "数据加载中"}
        page = render_region_error_page(
            problem.status, zh.get(problem.status, "出错了"), problem.title or "Error", problem.detail or ""
        )
        return web.Response(
            status=problem.status,
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers=problem.headers,
        )
    code = report["region"]["code"]
    kept = _kept_query(request)
    suffix = f"?{urlencode(kept)}" if kept else ""
    api = f"/api/regions/{code}/efficiency"
    html = render_region_dashboard(
        report,
        base_path="/regions",
        query=kept,
        csv_url=f"{api}?{urlencode({**kept, 'format': 'csv'})}",
        json_url=f"{api}{suffix}",
    )
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "private, no-cache", "Vary": "Authorization"},
    )


def add_routes(app: web.Application) -> None:
    """Register the regional routes."""
    app.router.add_get("/api/regions/{code}/efficiency", get_region_efficiency)
    app.router.add_get("/regions/{code}", get_region_dashboard)
