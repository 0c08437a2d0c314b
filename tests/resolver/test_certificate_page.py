"""The certificate page: what it says, that it escapes what it shows, and that it fits a phone.

The phone checks draw the page in headless Chromium 390 CSS px wide (an iPhone 12-15): the screenshots are
kept under tests/artifacts/ for a person to look at, and the test checks them: the grade's colour is on
screen, the right-hand margin is page background from top to bottom (nothing cut off), and, measured in
the browser, no element reaches past the viewport.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from carbon_efficiency.qr import certificate_qr_svg, grade_style
from metadata_templates import default_catalog
from resolver.certificate_page import render_certificate_page, render_not_found_page
from tests.imaging import ARTIFACTS, Image, run_chromium, screenshot

PHONE_WIDTH = 390
BACKGROUND = (0xEE, 0xF2, 0xEF)  # body background of the page's CSS
VERIFIED = {
    "status": "verified",
    "verificationMethod": "did:web:resolver.example#key-1",
    "cryptosuites": ["eddsa-rdfc-2022"],
    "checkedAt": "2026-02-03T04:05:06Z",
}


def example() -> dict[str, Any]:
    """The template's example certificate with the figures this file's expectations are written for."""
    credential = default_catalog().get("carbon-efficiency-certificate", 1).example_document()
    credential["credentialSubject"].update(
        emissionsTCo2=1170000,
        netEmissionsTCo2=1165000,
        emissionsBySource={
            "combustion": 30540,
            "process": 184150,
            "otherGases": 70848,
            "purchasedElectricity": 884640,
            "purchasedHeat": 2546,
            "exported": 0,
            "zeroCarbonDeductions": 5000,
        },
        addedValue10kCny=48000,
        intensity=24.27,
        absoluteLevel="high",
        benchmark={
            "intensity": 30.5,
            "level": "city",
            "region": "330500",
            "industry": "C32",
            "population": 14,
        },
        efficiencyValue=0.796,
        grade=2,
        gradeColour="light-green",
        provisional=True,
        neutralityRate=0.0043,
        uncertainty={
            "draws": 10000,
            "seed": 20260201,
            "emissionsInterval": [1121000, 1219000],
            "efficiencyValueInterval": [0.763, 0.829],
        },
        dataQuality={"score": 1.5, "band": "excellent"},
        method={
            "methodVersion": "carbonid-efficiency/1",
            "factorSet": "GB/T 32150-2015 defaults",
            "gridFactorYear": 2023,
            "gwp": "AR6",
        },
    )
    return credential


def ungraded(credential: dict[str, Any]) -> dict[str, Any]:
    """The example as a certificate without a grade (no benchmark for its region and industry)."""
    out = copy.deepcopy(credential)
    subject = out["credentialSubject"]
    for key in ("grade", "gradeColour", "efficiencyValue", "provisional", "benchmark"):
        subject.pop(key, None)
    subject["ungradedReason"] = (
        "所在地区与行业没有可用的基准 No benchmark exists for this region and industry"
    )
    return out


def render(credential: dict[str, Any] | None = None, **overrides: Any) -> str:
    credential = example() if credential is None else credential
    arguments: dict[str, Any] = {
        "verification": VERIFIED,
        "status": "valid",
        "page_url": credential["id"],
        "qr_svg_url": credential["id"] + ".svg",
        "json_url": credential["id"] + "?format=json",
    }
    arguments.update(overrides)
    return render_certificate_page(credential, **arguments)


def text_of(html: str) -> str:
    """The visible words, tags removed and whitespace folded (good enough for "is it shown" checks)."""
    body = html.split("<body>", 1)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


# ----------------------------------------------------------------------------------------------------------
# What the page says


def test_the_example_page_shows_every_part_of_the_certificate():
    html = render()
    words = text_of(html)
    assert html.startswith("<!doctype html>")
    assert '<html lang="zh-CN">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    for shown in (
        "长兴示范铝业有限公司",
        "88.186.1",
        "91330522MA2B3C4D57",
        "330522",
        "浙江省湖州市长兴县",  # region name from GB/T 2260
        "Changxing County, Huzhou, Zhejiang",
        "C3216",
        "有色金属冶炼和压延加工业",  # C3216's division C32 (the shipped table stops at divisions)
        "Smelting and Pressing of Non-ferrous Metals",
        "2025",
        "年度",
        "Annual",
        "碳效 2 级",
        "Grade 2",
        "浅绿",
        "0.796",  # K
        "24.27",  # L
        "30.5",  # benchmark B
        "0.43%",  # neutrality rate 0.0043 × 100
        "1,170,000",  # gross emissions
        "1,165,000",  # net emissions
        "884,640",  # purchased electricity
        "75.6%",  # its share: 884,640 / 1,170,000 = 0.75610
        "高碳",
        "市级",
        "330500",
        "湖州市",
        "14",  # enterprises in the benchmark
        "0.763 – 0.829",  # K interval
        "1,121,000 – 1,219,000",
        "10,000",  # draws
        "暂定 Provisional",
        "优秀",
        "excellent",
        "2026-02-01 00:00 UTC",
        "2027-01-31 23:59 UTC",
        "有效 Valid",
        "签名已验证 Verified",
        "did:web:resolver.example",
        "did:web:resolver.example#key-1",
        "eddsa-rdfc-2022",
        "2026-02-03 04:05 UTC",
        "GB/T 32150-2015 defaults",
        "2023",
        "AR6",
        "carbonid-efficiency/1",
        "88.186.1/PROFILE",
        "88.186.1/ACT.2025",
    ):
        assert shown in words, shown
    # Labels come from the template's x-labels, Chinese with English alongside.
    for label in (
        "碳效值 95% 区间",
        "K 95 % interval",
        "电网因子年份",
        "Grid-factor year",
        "统一社会信用代码",
    ):
        assert label in words, label
    assert 'href="https://resolver.example/c/88.100.9/CERT.88.186.1.2025?format=json"' in html
    assert 'src="https://resolver.example/c/88.100.9/CERT.88.186.1.2025.svg"' in html
    assert f"background:{grade_style(2).display}" in html
    assert 'class="banner' not in html  # valid, verified, official: nothing to warn about


def test_figures_show_four_significant_digits_and_thousands_separators():
    credential = example()
    credential["credentialSubject"].update(
        emissionsTCo2=1103621.4,  # ≥ 1000: whole units, 1,103,621
        intensity=22.9382,  # 4 significant digits: 22.94
        efficiencyValue=0.752073,  # 0.7521
        neutralityRate=0.006874,  # × 100 = 0.6874 %
    )
    credential["credentialSubject"]["uncertainty"]["efficiencyValueInterval"] = [0.707833, 0.79931]
    words = text_of(render(credential))
    for shown in ("1,103,621", "22.94", "0.7521", "0.6874%", "0.7078 – 0.7993"):
        assert shown in words, shown


def test_the_page_is_self_contained_and_runs_no_script():
    html = render()
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert "url(" not in html
    assert "Content-Security-Policy" in html
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src &#x27;none&#x27;" in policy
    assert "https://resolver.example" in policy  # the QR image's origin, and nothing else
    # Every src/href is one the caller gave.
    links = set(re.findall(r'(?:src|href)="([^"]+)"', html))
    assert links == {
        "https://resolver.example/c/88.100.9/CERT.88.186.1.2025.svg",
        "https://resolver.example/c/88.100.9/CERT.88.186.1.2025?format=json",
    }
    for family in ('"Noto Sans CJK SC"', '"PingFang SC"', '"Microsoft YaHei"', "sans-serif"):
        assert family in html


def test_a_malicious_enterprise_name_is_shown_as_text():
    credential = example()
    credential["credentialSubject"]["enterpriseName"] = (
        '<script>alert("x")</script><img src=x onerror=alert(1)>'
    )
    credential["credentialSubject"]["dataQuality"]["warnings"] = ["<b>bold</b> & more"]
    html = render(credential)
    assert "<script" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    # the title too
    assert "<title>&lt;script&gt;" in html


def test_links_must_be_relative_or_http():
    with pytest.raises(ValueError, match="only relative and http"):
        render(json_url="javascript:alert(1)")
    with pytest.raises(ValueError, match="only relative and http"):
        render(qr_svg_url="data:image/svg+xml,<svg/>")
    html = render(qr_svg_url=None, json_url="/c/x?format=json")
    assert "<img" not in html
    assert 'href="/c/x?format=json"' in html


@pytest.mark.parametrize(
    ("status", "css", "words"),
    [
        ("revoked", "revoked", "已撤销 Revoked"),
        ("expired", "expired", "已过期 Expired"),
        ("superseded", "superseded", "已被取代 Superseded"),
    ],
)
def test_a_certificate_that_is_not_valid_says_so_in_a_banner(status, css, words):
    html = render(status=status, status_reason="数据有误 <wrong data> (revoked by admin)")
    assert f'<div class="banner {css}" role="alert"><strong>{words}</strong>' in html
    assert "数据有误 &lt;wrong data&gt; (revoked by admin)" in html
    # A revoked grade is greyed out ("VOID"); an expired or superseded one was true for its period.
    assert ('class="badge void"' in html) == (status == "revoked")


def test_a_failed_verification_is_a_red_banner_with_the_reason():
    html = render(
        verification={
            "status": "failed",
            "reason": "proof <x> did not verify",
            "checkedAt": "2026-02-03T04:05:06Z",
        }
    )
    assert (
        '<div class="banner failed" role="alert"><strong>签名验证失败 Signature check failed</strong>' in html
    )
    assert "proof &lt;x&gt; did not verify" in html
    assert "验证失败 Not verified" in html
    assert 'class="badge void"' in html


def test_an_ungraded_certificate_shows_why():
    html = render(ungraded(example()))
    words = text_of(html)
    assert "未评级" in words
    assert "Ungraded" in words
    assert "Why no grade" in words
    assert "所在地区与行业没有可用的基准 No benchmark exists for this region and industry" in words
    assert f"background:{grade_style(None).display}" in html
    assert "行业基准" not in words.split("核心指标")[-1].split("企业与周期")[-1]  # no benchmark section


def test_a_trend_figure_is_marked_as_not_an_official_grade():
    credential = example()
    credential["credentialSubject"].update(official=False, granularity="quarter", period="2025Q3")
    words = text_of(render(credential))
    assert "趋势参考 Trend only" in words
    assert "2025Q3" in words
    assert "季度" in words


def test_unknown_status_or_verification_is_refused():
    with pytest.raises(ValueError, match="expected one of valid, revoked, expired, superseded"):
        render(status="pending")
    with pytest.raises(ValueError, match="expected 'verified' or 'failed'"):
        render(verification={"status": "maybe"})


def test_the_not_found_page_is_bilingual_and_escapes_the_handle():
    html = render_not_found_page('88.100.9/<script>"x"</script>')
    assert '<html lang="zh-CN">' in html
    assert "未找到证书" in html
    assert "Certificate not found" in html
    assert "<script" not in html
    assert "88.100.9/&lt;script&gt;&quot;x&quot;&lt;/script&gt;" in html


# ----------------------------------------------------------------------------------------------------------
# On a phone

# The page, unchanged, in an iframe 390 px wide (a srcdoc frame shares its parent's origin, so the parent
# may look inside); the parent lists every element whose box reaches past the frame's right edge.
_MEASURE = """<!doctype html><html><body style="margin:0">
<iframe id="page" scrolling="no" style="border:0;width:%dpx;height:8000px"></iframe>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", () => {
  const doc = frame.contentDocument;
  const width = doc.documentElement.clientWidth;
  const over = [...doc.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 0.5)
    .map((e) => e.tagName.toLowerCase() + "." + e.className + " " + Math.round(e.getBoundingClientRect().right));
  document.body.setAttribute("data-measured", JSON.stringify({
    width, scrollWidth: doc.documentElement.scrollWidth, height: doc.body.scrollHeight, over}));
});
frame.srcdoc = %s;
</script></body></html>"""


def measure(html: str, folder: Path) -> dict[str, Any]:
    """Lay the page out in Chromium at phone width and return what the parent page measured."""
    probe = folder / "measure.html"
    probe.write_text(_MEASURE % (PHONE_WIDTH, json.dumps(html).replace("</", "<\\/")), "utf-8")
    dom = run_chromium(
        probe.as_uri(),
        "--dump-dom",
        "--virtual-time-budget=5000",
        width=800,
        height=600,
        profile=folder / "profile",
    )
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found is not None, "the measuring script did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def phone_screenshot(html: str, out: Path, folder: Path, height: int) -> Image:
    """Draw the page 390 px wide and `height` tall into the PNG `out` (the page file goes in `folder`)."""
    page = folder / "page.html"
    page.write_text(html, "utf-8")
    return screenshot(page, out, width=PHONE_WIDTH, height=height, profile=folder / "profile")


def assert_fits_the_phone(html: str, name: str, folder: Path) -> Image:
    measured = measure(html, folder)
    assert measured["width"] == PHONE_WIDTH
    assert measured["over"] == []
    assert measured["scrollWidth"] <= PHONE_WIDTH
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image = phone_screenshot(html, ARTIFACTS / f"{name}.png", folder, min(measured["height"], 8000))
    assert image.width == PHONE_WIDTH
    # The page keeps a 12 px margin: its right-most 8 columns are background all the way down.
    for x in range(PHONE_WIDTH - 8, PHONE_WIDTH):
        assert set(image.column(x)) == {BACKGROUND}, f"content reaches column {x}"
    return image


def count(image: Image, colour: str) -> int:
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(row.count(wanted) for row in image.rows)


def test_the_example_fits_a_phone_with_its_grade_in_colour(tmp_path):
    credential = example()
    qr = tmp_path / "qr.svg"
    qr.write_text(certificate_qr_svg(credential["id"], 2, label=credential["handle"]), "utf-8")
    html = render(credential, qr_svg_url="qr.svg", json_url="cert.json")
    image = assert_fits_the_phone(html, "certificate_page_valid", tmp_path)
    style = grade_style(2)
    # the badge (about 340 × 96 px) in the grade's display colour, and the QR image in its code colour
    assert count(image, style.display) > 20_000
    assert count(image, style.qr) > 5_000


def test_an_ungraded_revoked_certificate_with_long_words_fits_a_phone(tmp_path):
    credential = ungraded(example())
    subject = credential["credentialSubject"]
    subject["enterpriseName"] = (
        "<b>" + "长兴示范铝业有限公司" * 6 + "</b> " + "Changxing-Demonstration-Aluminium" * 3
    )
    subject["dataQuality"]["warnings"] = ["/activities/3/electricity: " + "x" * 120]
    html = render(
        credential,
        status="revoked",
        status_reason="数据有误，经复核撤销 Wrong activity data (revoked by admin@resolver.example)",
        verification={"status": "failed", "reason": "proof did not verify: " + "y" * 100},
        qr_svg_url=None,
    )
    image = assert_fits_the_phone(html, "certificate_page_revoked_ungraded", tmp_path)
    assert count(image, "#b71c1c") > 20_000  # the red banners
    assert count(image, "#9e9e9e") > 10_000  # the greyed-out (void) badge


def test_the_not_found_page_fits_a_phone(tmp_path):
    assert_fits_the_phone(
        render_not_found_page("88.100.9/" + "CERT" * 40), "certificate_page_not_found", tmp_path
    )


def test_the_phone_check_notices_content_wider_than_the_screen(tmp_path):
    # The check itself, on a page made to overflow: a black block 500 px wide in the hero card.
    html = render().replace(
        '<header class="card hero">',
        '<header class="card hero"><div style="width:500px;height:20px;background:#000"></div>',
    )
    measured = measure(html, tmp_path)
    assert measured["width"] == PHONE_WIDTH
    assert measured["scrollWidth"] > PHONE_WIDTH
    assert any(item.startswith("div.") for item in measured["over"])
    image = phone_screenshot(html, tmp_path / "probe.png", tmp_path, 600)
    assert (0, 0, 0) in image.column(PHONE_WIDTH - 1)
