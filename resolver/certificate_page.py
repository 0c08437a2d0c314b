"""The page a phone opens when it scans a carbon-efficiency QR code: one self-contained bilingual HTML5 document.

Phone first (readable at 390 px, nothing wider than the screen), Chinese with English alongside, and nothing
fetched from anywhere but the QR image the caller names: inline CSS, no scripts, no web fonts (the system's
CJK sans-serif), and a Content-Security-Policy that would stop a script even if one slipped in. Every value
from the credential is escaped. Field labels come from the template's own `x-labels`, so the page and the
schema never disagree; region and industry names come from `metadata_templates.codes`.

Pure functions returning ``str``; the handler sets ``Content-Type: text/html; charset=utf-8``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any, Final
from urllib.parse import urlsplit

from carbon_efficiency.qr import GradeStyle, grade_style
from metadata_templates import TemplateNotFoundError, default_catalog
from metadata_templates.codes import (
    CodeError,
    RegionLevel,
    city_of,
    division_of,
    province_of,
    region,
    validate_industry_code,
)
from resolver.page_labels import GRANULARITY, REGION_LEVEL

__all__ = ["STATUSES", "render_certificate_page", "render_not_found_page"]

TEMPLATE_ID: Final = "carbon-efficiency-certificate"
STATUSES: Final = ("valid", "revoked", "expired", "superseded")

# (zh, en) for the enumerations of carbon-efficiency-certificate/1 (the schema labels members, not values).
ABSOLUTE_LEVEL: Final = {
    "low": ("低碳", "low-carbon"),
    "medium": ("中碳", "medium"),
    "high": ("高碳", "high-carbon"),
}
BENCHMARK_LEVEL: Final = {**REGION_LEVEL, "published": ("官方公布值", "published")}
QUALITY_BAND: Final = {
    "excellent": ("优秀", "excellent"),
    "very good": ("很好", "very good"),
    "good": ("良好", "good"),
    "fair": ("一般", "fair"),
    "poor": ("较差", "poor"),
}
_BANNERS: Final = {
    "revoked": (
        "revoked",
        "已撤销 Revoked",
        "签发方已撤销本证书，其等级不可再作为依据。",
        "The issuer has revoked this certificate: its grade must not be relied on.",
    ),
    "expired": (
        "expired",
        "已过期 Expired",
        "本证书已超过有效期，请向企业索取最新证书。",
        "This certificate is past its validity; ask the enterprise for a current one.",
    ),
    "superseded": (
        "superseded",
        "已被取代 Superseded",
        "同一企业同一周期已签发新的证书，本证书仅供查阅历史。",
        "A newer certificate for the same enterprise and period replaces this one; it is kept for the record.",
    ),
}
_STATUS_CHIP: Final = {
    "valid": ("ok", "有效 Valid"),
    "revoked": ("bad", "已撤销 Revoked"),
    "expired": ("warn", "已过期 Expired"),
    "superseded": ("muted", "已被取代 Superseded"),
}


def render_certificate_page(
    credential: Mapping[str, Any],
    *,
    verification: Mapping[str, Any],
    status: str,
    page_url: str,
    qr_svg_url: str | None,
    json_url: str,
    status_reason: str | None = None,
) -> str:
    """The certificate page of a carbon-efficiency credential (`carbon-efficiency-certificate/1`).

    `verification` is ``{"status": "verified"|"failed", "verificationMethod", "cryptosuites", "checkedAt",
    "reason"?}``; `status` one of `STATUSES`, shown as a coloured banner when not ``valid`` (with
    `status_reason`, e.g. why it was revoked). `qr_svg_url` and `json_url` are links of this resolver
    (relative or http(s)); `page_url` is shown as text. ValueError for an unknown status or verification.
    """
    if status not in STATUSES:
        raise ValueError(f"certificate status {status!r}: expected one of {', '.join(STATUSES)}")
    verified = verification.get("status")
    if verified not in ("verified", "failed"):
        raise ValueError(f"verification status {verified!r}: expected 'verified' or 'failed'")
    subject = _mapping(credential.get("credentialSubject"))
    labels = _Labels(credential)
    style = _style(subject.get("grade"))
    void = status == "revoked" or verified == "failed"
    name = str(subject.get("enterpriseName") or "—")
    title = f"{name} · {style.caption_zh} — 碳效评价证书 Carbon-efficiency certificate"
    body = [
        _banners(status, status_reason, verification, subject),
        _hero(subject, style, labels, credential, status=status, verified=verified == "verified", void=void),
        _key_figures(subject, labels),
        _enterprise(subject, labels),
        _emissions(subject, labels),
        _benchmark(subject, labels),
        _uncertainty(subject, labels),
        _quality(subject, labels),
        _certificate(credential, labels, status, status_reason, verification),
        _method(subject, labels),
        _sources(subject, labels),
        _links(qr_svg_url, json_url, page_url, style),
    ]
    return _document(title, "".join(body), qr_svg_url)


def render_not_found_page(handle: str) -> str:
    """The bilingual 404 page for a certificate handle this resolver never issued."""
    body = (
        '<section class="card notfound">'
        "<h1>未找到证书<span class=en>Certificate not found</span></h1>"
        f"<p>标识 <code>{_e(handle)}</code> 没有对应的碳效评价证书。</p>"
        f"<p class=en>No carbon-efficiency certificate has the identifier <code>{_e(handle)}</code>.</p>"
        "<p>请确认二维码完整清晰、链接没有被截断；证书只能在签发它的解析服务上查看。</p>"
        "<p class=en>Check that the QR code was scanned whole and the link is not cut short; a certificate "
        "is shown only by the resolver that issued it.</p>"
        "</section>"
    )
    return _document("未找到证书 Certificate not found", body, None)


# ----------------------------------------------------------------------------------------------------------
# Sections


def _banners(
    status: str, reason: str | None, verification: Mapping[str, Any], subject: Mapping[str, Any]
) -> str:
    out = []
    if verification.get("status") == "failed":
        detail = verification.get("reason")
        out.append(
            '<div class="banner failed" role="alert"><strong>签名验证失败 Signature check failed</strong>'
            "<p>本页内容无法证明来自签发方，可能已被篡改，请勿采信。</p>"
            "<p class=en>This page cannot be shown to come from its issuer and may have been altered: "
            "do not rely on it.</p>" + (f"<p class=why>{_e(detail)}</p>" if detail else "") + "</div>"
        )
    if status in _BANNERS:
        css, heading, zh, en = _BANNERS[status]
        out.append(
            f'<div class="banner {css}" role="alert"><strong>{heading}</strong><p>{zh}</p><p class=en>{en}</p>'
            + (f"<p class=why>{_e(reason)}</p>" if reason else "")
            + "</div>"
        )
    if subject.get("official") is False:
        out.append(
            '<div class="banner trend"><strong>趋势参考 Trend only</strong>'
            "<p>本结果基于非年度数据，按比例折算基准，不是正式评级。</p>"
            "<p class=en>Based on less than a year of data against a pro-rated benchmark: not an official "
            "grade.</p></div>"
        )
    return "".join(out)


def _hero(
    subject: Mapping[str, Any],
    style: GradeStyle,
    labels: _Labels,
    credential: Mapping[str, Any],
    *,
    status: str,
    verified: bool,
    void: bool,
) -> str:
    chip_css, chip_text = _STATUS_CHIP[status]
    chips = [f'<span class="chip {chip_css}">{chip_text}</span>']
    chips.append(
        '<span class="chip ok">✓ 签名已验证 Verified</span>'
        if verified
        else '<span class="chip bad">✗ 验证失败 Not verified</span>'
    )
    if subject.get("provisional"):
        chips.append('<span class="chip warn">暂定 Provisional</span>')
    period = _period(subject)
    grade = style.grade
    if grade is None:
        number = '<span class="num none">—</span>'
        words = "<b>未评级</b><span>Ungraded</span>"
        reason = subject.get("ungradedReason")
        why = (
            f'<p class="ungraded"><span class=zh>{_e(labels.zh("ungradedReason"))}'
            f"</span> <span class=en>{_e(labels.en('ungradedReason'))}</span>：{_e(reason)}</p>"
            if reason
            else ""
        )
    else:
        number = f'<span class="num">{grade}</span>'
        words = f"<b>{_e(style.caption_zh)}</b><span>{_e(style.caption_en)} · {_e(style.name_zh)} {_e(style.name_en)}</span>"
        why = ""
    return (
        '<header class="card hero">'
        '<p class="kicker">碳效评价证书 <span class=en>Carbon-efficiency certificate</span></p>'
        f"<h1>{_e(subject.get('enterpriseName'))}</h1>"
        f'<p class="sub">{_e(subject.get("prefix"))} · {period}</p>'
        f'<div class="badge{" void" if void else ""}" style="background:{style.display};color:{style.on_display}" '
        f'aria-label="{_e(labels.zh("grade"))} {_e(labels.en("grade"))}: {_e(style.caption_zh)} {_e(style.caption_en)}">'
        f'{number}<span class="words">{words}</span></div>'
        f"{why}"
        f'<p class="chips">{"".join(chips)}</p>'
        f'<p class="validity">有效期 <span class=en>Valid</span> {_date(credential.get("validFrom"))} – '
        f"{_date(credential.get('validUntil'))}</p>"
        "</header>"
    )


def _key_figures(subject: Mapping[str, Any], labels: _Labels) -> str:
    benchmark = _mapping(subject.get("benchmark"))
    tiles = [
        ("efficiencyValue", "碳效值 K", "Efficiency value", _number(subject.get("efficiencyValue")), "L ÷ B"),
        ("intensity", "碳强度 L", "Intensity", _number(subject.get("intensity")), "tCO₂/万元"),
        ("benchmark", "行业基准 B", "Benchmark", _number(benchmark.get("intensity")), "tCO₂/万元"),
        ("neutralityRate", "碳中和率", "Neutrality rate", _percent(subject.get("neutralityRate")), ""),
    ]
    cells = "".join(
        f'<div class="tile"><span class="k">{zh}<span class=en>{en}</span></span>'
        f'<span class="v">{value}</span><span class="u">{unit}</span></div>'
        for _, zh, en, value, unit in tiles
    )
    level = subject.get("absoluteLevel")
    note = ""
    if level in ABSOLUTE_LEVEL:
        zh, en = ABSOLUTE_LEVEL[level]
        note = f'<p class="note">绝对水平：<b>{zh}</b> <span class=en>Absolute level: {en}</span></p>'
    return _section("核心指标", "Key figures", f'<div class="tiles">{cells}</div>{note}')


def _enterprise(subject: Mapping[str, Any], labels: _Labels) -> str:
    rows = [
        _row(labels, "prefix", _code(subject.get("prefix"))),
        _row(labels, "uscc", _code(subject.get("uscc"))) if subject.get("uscc") else "",
        _row(labels, "id", _code(subject.get("id"))) if subject.get("id") else "",
        _row(labels, "region", _region(subject.get("region"))),
        _row(labels, "industry", _industry(subject.get("industry"))),
        _row(labels, "period", _period(subject)),
        _row(
            labels,
            "official",
            "是 <span class=en>yes</span>"
            if subject.get("official")
            else "否 <span class=en>no (trend only)</span>",
        ),
    ]
    return _section("企业与周期", "Enterprise and period", _table(rows))


def _emissions(subject: Mapping[str, Any], labels: _Labels) -> str:
    gross = subject.get("emissionsTCo2")
    rows = [
        _row(labels, "emissionsTCo2", _number(gross), css="strong"),
        _row(labels, "netEmissionsTCo2", _number(subject.get("netEmissionsTCo2")))
        if "netEmissionsTCo2" in subject
        else "",
        _row(labels, "addedValue10kCny", _number(subject.get("addedValue10kCny"))),
    ]
    by_source = _mapping(subject.get("emissionsBySource"))
    parts = []
    for key, value in by_source.items():
        share = _share(value, gross)
        bar = (
            f'<span class="bar"><span style="width:{share:.1f}%"></span></span>'
            if share is not None and key not in ("exported", "zeroCarbonDeductions")
            else ""
        )
        shown = _number(value) + (f' <span class="share">{share:.1f}%</span>' if share is not None else "")
        parts.append(_row(labels, f"emissionsBySource.{key}", shown + bar))
    body = _table(rows)
    if parts:
        body += f"<h3>{_e(labels.zh('emissionsBySource'))}<span class=en>{_e(labels.en('emissionsBySource'))}</span></h3>"
        body += _table(parts)
    return _section("排放量", "Emissions", body)


def _benchmark(subject: Mapping[str, Any], labels: _Labels) -> str:
    benchmark = _mapping(subject.get("benchmark"))
    if not benchmark:
        return ""
    level = benchmark.get("level")
    level_text = (
        f"{BENCHMARK_LEVEL[level][0]} <span class=en>{BENCHMARK_LEVEL[level][1]}</span>"
        if level in BENCHMARK_LEVEL
        else _e(level)
    )
    rows = [
        _row(
            labels,
            "benchmark.intensity",
            _number(benchmark.get("intensity")) + ' <span class="u">tCO₂/万元</span>',
        ),
        _row(labels, "benchmark.level", level_text),
        _row(labels, "benchmark.region", _region(benchmark.get("region"))) if "region" in benchmark else "",
        _row(labels, "benchmark.industry", _industry(benchmark.get("industry")))
        if "industry" in benchmark
        else "",
        _row(labels, "benchmark.population", _number(benchmark.get("population")))
        if "population" in benchmark
        else "",
    ]
    return _section(labels.zh("benchmark"), labels.en("benchmark"), _table(rows))


def _uncertainty(subject: Mapping[str, Any], labels: _Labels) -> str:
    uncertainty = _mapping(subject.get("uncertainty"))
    rows = []
    if "efficiencyValueInterval" in uncertainty:
        rows.append(
            _row(
                labels,
                "uncertainty.efficiencyValueInterval",
                _interval(uncertainty["efficiencyValueInterval"]),
            )
        )
    if "emissionsInterval" in uncertainty:
        rows.append(
            _row(labels, "uncertainty.emissionsInterval", _interval(uncertainty["emissionsInterval"]))
        )
    if "draws" in uncertainty:
        rows.append(_row(labels, "uncertainty.draws", _number(uncertainty["draws"])))
    if "seed" in uncertainty:
        rows.append(_row(labels, "uncertainty.seed", _code(uncertainty["seed"])))
    if "provisional" in subject:
        rows.append(
            _row(
                labels,
                "provisional",
                "是 · 暂定 <span class=en>yes · provisional</span>"
                if subject["provisional"]
                else "否 <span class=en>no</span>",
            )
        )
    if not rows:
        return ""
    note = ""
    if subject.get("provisional"):
        note = (
            '<p class="note warn">暂定：碳效值 K 的 95% 区间跨越了等级分界，数据稍有变化等级就可能不同，'
            "因此该等级为暂定。<span class=en>Provisional: the 95 % interval of K crosses a grade boundary, "
            "so a small change in the data could change the grade.</span></p>"
        )
    return _section(labels.zh("uncertainty"), labels.en("uncertainty"), _table(rows) + note)


def _quality(subject: Mapping[str, Any], labels: _Labels) -> str:
    quality = _mapping(subject.get("dataQuality"))
    if not quality:
        return ""
    band = quality.get("band")
    band_text = (
        f"{QUALITY_BAND[band][0]} <span class=en>{QUALITY_BAND[band][1]}</span>"
        if band in QUALITY_BAND
        else _e(band)
    )
    rows = [
        _row(
            labels,
            "dataQuality.score",
            _number(quality.get("score")) + ' <span class="u">(1 最好 best … 5)</span>',
        )
        if "score" in quality
        else "",
        _row(labels, "dataQuality.band", band_text) if "band" in quality else "",
    ]
    warnings = [str(w) for w in quality.get("warnings") or []]
    listed = (
        "<ul class=warnings>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>"
        if warnings
        else "无 <span class=en>none</span>"
    )
    rows.append(_row(labels, "dataQuality.warnings", listed))
    return _section(labels.zh("dataQuality"), labels.en("dataQuality"), _table(rows))


def _certificate(
    credential: Mapping[str, Any],
    labels: _Labels,
    status: str,
    reason: str | None,
    verification: Mapping[str, Any],
) -> str:
    chip_css, chip_text = _STATUS_CHIP[status]
    status_text = f'<span class="chip {chip_css}">{chip_text}</span>' + (
        f'<span class="why">{_e(reason)}</span>' if reason else ""
    )
    verified = verification.get("status") == "verified"
    check = (
        '<span class="chip ok">✓ 已验证 Verified</span>'
        if verified
        else '<span class="chip bad">✗ 失败 Failed</span>'
    )
    suites = verification.get("cryptosuites") or []
    suites_text = ", ".join(str(s) for s in suites) if isinstance(suites, list | tuple) else str(suites)
    rows = [
        _row(labels, "/handle", _code(credential.get("handle"))) if credential.get("handle") else "",
        _row(labels, "/validFrom", _when(credential.get("validFrom"))),
        _row(labels, "/validUntil", _when(credential.get("validUntil"))),
        _plain_row("证书状态", "Status", status_text),
        _row(labels, "/issuer", _code(credential.get("issuer"))),
        _plain_row("签名验证", "Signature", check),
        _plain_row("验证密钥", "Verification method", _code(verification.get("verificationMethod")))
        if verification.get("verificationMethod")
        else "",
        _plain_row("密码套件", "Cryptosuites", _code(suites_text)) if suites_text else "",
        _plain_row("验证时间", "Checked at", _when(verification.get("checkedAt")))
        if verification.get("checkedAt")
        else "",
        _plain_row("失败原因", "Reason", _e(verification.get("reason")))
        if verification.get("reason")
        else "",
        _row(labels, "/id", _code(credential.get("id"))) if credential.get("id") else "",
    ]
    return _section("证书与验证", "Certificate and verification", _table(rows))


def _method(subject: Mapping[str, Any], labels: _Labels) -> str:
    method = _mapping(subject.get("method"))
    rows = [
        _row(labels, f"method.{key}", _e(method[key]))
        for key in ("factorSet", "gridFactorYear", "gwp", "methodVersion")
        if key in method
    ]
    return _section(labels.zh("method"), labels.en("method"), _table(rows)) if rows else ""


def _sources(subject: Mapping[str, Any], labels: _Labels) -> str:
    sources = subject.get("sources") or []
    items = []
    for source in sources:
        entry = _mapping(source)
        digest = entry.get("digest")
        items.append(
            f"<li><code>{_e(entry.get('handle'))}</code> "
            f'<span class="ver">{_e(labels.zh("sources.version"))} {_e(labels.en("sources.version"))} '
            f"{_e(entry.get('version'))}</span>"
            + (f'<span class="digest">SHA-256 <code>{_e(digest)}</code></span>' if digest else "")
            + "</li>"
        )
    if not items:
        return ""
    return _section(labels.zh("sources"), labels.en("sources"), f'<ul class="sources">{"".join(items)}</ul>')


def _links(qr_svg_url: str | None, json_url: str, page_url: str, style: GradeStyle) -> str:
    qr = (
        f'<img class="qr" src="{_href(qr_svg_url)}" width="240" alt="证书二维码 Certificate QR code: '
        f'{_e(style.caption_zh)} {_e(style.caption_en)}">'
        if qr_svg_url
        else ""
    )
    return _section(
        "二维码与原始数据",
        "QR code and data",
        f"{qr}"
        f'<p class="links"><a href="{_href(json_url)}">JSON-LD 可验证凭证 <span class=en>Verifiable credential '
        "(JSON-LD)</span></a></p>"
        f'<p class="url"><span class=zh>本页地址</span> <span class=en>This page</span><br><code>{_e(page_url)}</code></p>',
    )


# ----------------------------------------------------------------------------------------------------------
# Pieces


class _Labels:
    """`x-labels` of the credential's template: ``benchmark.intensity`` in the subject, ``/validFrom`` at the top."""

    def __init__(self, credential: Mapping[str, Any]) -> None:
        catalog = default_catalog()
        try:
            template = catalog.for_document(credential)
        except TemplateNotFoundError:
            template = catalog.get(TEMPLATE_ID)
        properties = template.schema["properties"]
        self._top = properties
        self._subject = properties["credentialSubject"]["properties"]

    def _member(self, path: str) -> Mapping[str, Any]:
        # "/validFrom" is a member of the credential, "benchmark.level" one of its subject.
        scope = self._top if path.startswith("/") else self._subject
        head, *rest = path.lstrip("/").split(".")
        member: Mapping[str, Any] = scope.get(head, {})
        for name in rest:
            inner = member.get("items", member) if member.get("type") == "array" else member
            member = inner.get("properties", {}).get(name, {})
        return member

    def zh(self, path: str) -> str:
        return str(self._member(path).get("x-labels", {}).get("zh", path))

    def en(self, path: str) -> str:
        return str(self._member(path).get("x-labels", {}).get("en", path))


def _document(title: str, body: str, qr_svg_url: str | None) -> str:
    images = "'self' data:"
    if qr_svg_url:
        parts = urlsplit(qr_svg_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            images += f" {parts.scheme}://{parts.netloc}"
    policy = f"default-src 'none'; style-src 'unsafe-inline'; img-src {images}; base-uri 'none'; form-action 'none'"
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">\n'
        '<meta name="referrer" content="no-referrer">\n<meta name="color-scheme" content="light">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f'<body>\n<main class="page">{body}'
        "<footer><p>carbonid · 碳效码 <span class=en>carbon-efficiency code</span></p></footer>"
        "</main>\n</body>\n</html>\n"
    )


def _section(zh: str, en: str, body: str) -> str:
    return f'<section class="card"><h2>{_e(zh)}<span class=en>{_e(en)}</span></h2>{body}</section>'


def _table(rows: Iterable[str]) -> str:
    return '<table class="facts"><tbody>' + "".join(rows) + "</tbody></table>"


def _row(labels: _Labels, path: str, value: str, *, css: str = "") -> str:
    return _plain_row(labels.zh(path), labels.en(path), value, css=css)


def _plain_row(zh: str, en: str, value: str, *, css: str = "") -> str:
    attr = f' class="{css}"' if css else ""
    return f"<tr{attr}><th scope=row>{_e(zh)}<span class=en>{_e(en)}</span></th><td>{value}</td></tr>"


def _style(grade: Any) -> GradeStyle:
    try:
        return grade_style(grade)
    except ValueError:
        return grade_style(None)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _e(value: Any) -> str:
    return "—" if value is None else escape(str(value), quote=True)


def _code(value: Any) -> str:
    return "—" if value is None else f"<code>{_e(value)}</code>"


def _href(url: str) -> str:
    """A link of this resolver: relative, or http(s); anything else (javascript:, data:) is refused."""
    scheme = urlsplit(url).scheme
    if scheme not in ("", "http", "https"):
        raise ValueError(f"link {url!r}: only relative and http(s) links are allowed")
    return _e(url)


def _number(value: Any) -> str:
    """Up to 4 significant digits after the point, thousands separated: 1,170,000 · 24.27 · 0.796."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _e(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = min(6, max(0, 3 - magnitude))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _e(value)
    return _number(value * 100) + "%"


def _share(part: Any, whole: Any) -> float | None:
    numbers = (int, float)
    if not isinstance(part, numbers) or not isinstance(whole, numbers) or isinstance(part, bool) or not whole:
        return None
    return max(0.0, min(100.0, 100.0 * part / whole))


def _interval(bounds: Any) -> str:
    if isinstance(bounds, Sequence) and not isinstance(bounds, str) and len(bounds) == 2:
        return f"{_number(bounds[0])} – {_number(bounds[1])}"
    return _e(bounds)


def _when(value: Any) -> str:
    """``2026-02-01 00:00 UTC`` (the credential's own instant, in UTC); the raw text if it is not a date."""
    if not isinstance(value, str):
        return _e(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return _e(value)
    if moment.tzinfo is None:
        return _e(value)
    return f'<time datetime="{_e(value)}">{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC</time>'


def _date(value: Any) -> str:
    """The UTC date of an instant, ``2027-01-31``; the raw text if it is not one."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return _e(value)
        if moment.tzinfo is not None:
            return f"{moment.astimezone(UTC):%Y-%m-%d}"
    return _e(value)


def _period(subject: Mapping[str, Any]) -> str:
    granularity = str(subject.get("granularity"))
    zh, en = GRANULARITY.get(granularity, (granularity, granularity))
    return f"{_e(subject.get('period'))} · {_e(zh)} <span class=en>{_e(en)}</span>"


def _region(code: Any) -> str:
    if not isinstance(code, str):
        return _e(code)
    try:
        found = region(code)
        chain = [province_of(code)]
        city = city_of(code)
        if city is not None and city.code != chain[0].code and not city.grouping:
            chain.append(city)
        if found.level is RegionLevel.COUNTY:
            chain.append(found)
    except CodeError:
        return _code(code)
    zh = "".join(r.name_zh for r in chain)
    en = ", ".join([found.name_en] + [r.short_en for r in reversed(chain[:-1])])
    return f"{_code(code)} {_e(zh)}<span class=en>{_e(en)}</span>"


def _industry(code: Any) -> str:
    if not isinstance(code, str):
        return _e(code)
    try:
        found = validate_industry_code(code)
        named = found if found.listed else division_of(code)
    except CodeError:
        return _code(code)
    within = "" if named is found else f" <span class=u>（大类 division {_e(named.code)}）</span>"
    return f"{_code(found.code)} {_e(named.name_zh)}{within}<span class=en>{_e(named.name_en)}</span>"


_CSS: Final = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#eef2ef;color:#1d2521;
font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB","Microsoft YaHei",sans-serif;
font-size:16px;line-height:1.5}
.page{max-width:640px;margin:0 auto;padding:12px 12px 24px}
.card{background:#fff;border-radius:14px;padding:16px;margin:0 0 12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:22px;line-height:1.3;margin:4px 0 2px;overflow-wrap:anywhere}
h2{font-size:17px;margin:0 0 10px;padding-bottom:6px;border-bottom:1px solid #e3e8e5}
h3{font-size:15px;margin:14px 0 6px;color:#37423c}
.en{display:block;font-size:12.5px;font-weight:normal;color:#66736b;line-height:1.35}
h2 .en,h3 .en{display:inline;margin-left:8px}
.kicker{margin:0;font-size:14px;color:#4d5a52}.kicker .en{display:inline;margin-left:6px}
.sub{margin:0 0 14px;color:#4d5a52;font-size:14px;overflow-wrap:anywhere}.sub .en{display:inline}
.badge{display:flex;align-items:center;gap:14px;border-radius:12px;padding:12px 16px;min-height:96px}
.badge .num{font-size:68px;font-weight:800;line-height:1;min-width:48px;text-align:center}
.badge .num.none{font-size:48px}
.badge .words{display:flex;flex-direction:column;min-width:0}
.badge .words b{font-size:26px;line-height:1.25}
.badge .words span{font-size:14px;opacity:.92}
.badge.void{background:#9e9e9e!important;color:#fff!important;position:relative}
.badge.void::after{content:"无效 VOID";position:absolute;right:12px;top:10px;font-size:13px;font-weight:bold;
border:2px solid #fff;border-radius:6px;padding:0 6px}
.validity{margin:10px 0 0;font-size:14px;color:#37423c;font-variant-numeric:tabular-nums}
.validity .en{display:inline;margin-right:4px}
.ungraded{margin:10px 0 0;font-size:14px;color:#37423c}.ungraded .en{display:inline}
.chips{margin:12px 0 0;display:flex;flex-wrap:wrap;gap:6px}
.chip{display:inline-block;font-size:13px;line-height:1.4;padding:3px 10px;border-radius:999px;border:1px solid}
.chip.ok{color:#1b5e20;background:#e8f5e9;border-color:#a5d6a7}
.chip.bad{color:#b71c1c;background:#ffebee;border-color:#ef9a9a}
.chip.warn{color:#8a4b00;background:#fff3e0;border-color:#ffcc80}
.chip.muted{color:#37474f;background:#eceff1;border-color:#b0bec5}
.banner{border-radius:12px;padding:12px 16px;margin:0 0 12px;color:#fff}
.banner strong{font-size:18px}.banner p{margin:4px 0 0;font-size:14px}.banner .en{color:inherit;opacity:.9}
.banner .why{font-size:13px;color:inherit;opacity:.95;overflow-wrap:anywhere}
.banner.revoked,.banner.failed{background:#b71c1c}
.banner.expired{background:#e65100}
.banner.superseded{background:#455a64}
.banner.trend{background:#fff8e1;color:#5d4300;border:1px solid #ffe082}
.tiles{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.tile{background:#f5f7f6;border-radius:10px;padding:10px 12px;min-width:0}
.tile .k{display:block;font-size:13px;color:#4d5a52}.tile .k .en{font-size:11.5px}
.tile .v{display:block;font-size:24px;font-weight:700;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.tile .u{display:block;font-size:12px;color:#66736b;min-height:1em}
.note{margin:10px 0 0;font-size:14px}.note .en{display:inline}
.note.warn{background:#fff3e0;border-radius:8px;padding:8px 10px;color:#5d3a00}.note.warn .en{display:block;color:#6d4c1f}
table.facts{width:100%;border-collapse:collapse;table-layout:fixed}
.facts th,.facts td{padding:8px 0;border-bottom:1px solid #edf1ee;vertical-align:top;text-align:left}
.facts tr:last-child th,.facts tr:last-child td{border-bottom:0}
.facts th{width:48%;font-weight:normal;font-size:14px;color:#37423c;padding-right:10px;overflow-wrap:anywhere}
.facts td{font-size:15px;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.facts tr.strong td{font-weight:700}
.facts .u,.facts .share{font-size:12.5px;color:#66736b}
.bar{display:block;height:5px;background:#edf1ee;border-radius:3px;margin-top:4px;overflow:hidden}
.bar span{display:block;height:100%;background:#6d8f7a}
.why{display:block;font-size:13px;color:#4d5a52;margin-top:4px;overflow-wrap:anywhere}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere;word-break:break-all}
.warnings{margin:0;padding-left:18px;font-size:14px}
.sources{list-style:none;margin:0;padding:0}
.sources li{padding:8px 0;border-bottom:1px solid #edf1ee;overflow-wrap:anywhere}
.sources li:last-child{border-bottom:0}
.sources .ver{display:inline-block;margin-left:6px;font-size:13px;color:#4d5a52}
.sources .digest{display:block;font-size:12px;color:#66736b}
img.qr{display:block;width:240px;max-width:100%;height:auto;margin:4px auto 12px}
.links a{color:#1b5e20;font-weight:600;text-decoration:underline}.links .en{display:inline;margin-left:4px}
.url{font-size:13px;color:#4d5a52;overflow-wrap:anywhere}.url .en{display:inline}
footer{text-align:center;font-size:12px;color:#7b877f;padding:4px 0}footer .en{display:inline}
.notfound h1 .en{font-size:15px;margin-top:2px}.notfound p{margin:10px 0 0}
"""
