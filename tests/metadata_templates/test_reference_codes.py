"""Reference codes: GB/T 2260 regions, GB/T 4754-2017 industries, GB 32100 unified social credit codes."""

import json
import re
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_templates import codes
from metadata_templates.codes import (
    USCC,
    CodeError,
    IndustryLevel,
    RegionLevel,
    children,
    city_of,
    division_of,
    divisions,
    industry,
    level_of,
    normalize_industry_code,
    parent,
    province_of,
    provinces,
    region,
    region_source,
    section_of,
    sections,
    uscc_check_digit,
    validate_industry_code,
    validate_region_code,
    validate_uscc,
)
from metadata_templates.codes import industries as industries_module
from metadata_templates.codes.uscc import ALPHABET, REGISTRATION_AUTHORITIES

# Real codes as published: CATL (300750.SZ) and AVIC Heavy Machinery (600765.SH) in company-registry
# fixtures of public repositories, PetroChina (601857.SH) as the `registeredAs` of its GLEIF LEI record,
# Huawei Technologies in several public registry fixtures, 91110000600037341L from python-stdnum's doctest,
# and an individual business (92, letters in the subject identifier) from a published ICP filing example.
LISTED_COMPANIES = {
    "91350900587527783P": ("350900", "宁德时代新能源科技股份有限公司"),
    "91110000710925462X": ("110000", "中国石油天然气股份有限公司"),
    "91520000214434146R": ("520000", "中航重机股份有限公司"),
}
KNOWN_GOOD = [*LISTED_COMPANIES, "914403001922038216", "91110000600037341L", "92500105MAC817EJ5D"]


def _data(name: str) -> dict[str, object]:
    text = resources.files("metadata_templates.codes").joinpath("data", name).read_text("utf-8")
    result: dict[str, object] = json.loads(text)
    return result


# --- unified social credit code -------------------------------------------------------------------


@pytest.mark.parametrize("code", KNOWN_GOOD)
def test_known_good_codes_validate(code: str) -> None:
    result = validate_uscc(code)
    assert result.code == code
    assert result.check_digit == code[-1] == uscc_check_digit(code[:17])
    # Codes issued under GB 32100 also carry a valid GB 11714 check character in position 17.
    assert result.organization_code_check_ok


@pytest.mark.parametrize(("code", "expected"), LISTED_COMPANIES.items())
def test_parts_of_listed_company_codes(code: str, expected: tuple[str, str]) -> None:
    result = validate_uscc(code)
    assert result.region_code == expected[0]
    assert (result.registration_authority, result.organization_type) == ("9", "1")
    assert (result.registration_authority_name, result.organization_type_name) == ("工商", "企业")
    assert result.organization_code == code[8:17]
    assert region(result.region_code).code == expected[0]


def test_individual_business_parts() -> None:
    result = validate_uscc("92500105MAC817EJ5D")
    assert result.organization_type_name == "个体工商户"
    assert result.organization_code == "MAC817EJ5"


def test_mutated_check_digit_is_rejected_with_the_right_one() -> None:
    with pytest.raises(CodeError, match=r"^USCC 91350900587527783Q: check digit should be P, not Q$"):
        validate_uscc("91350900587527783Q")


def test_separators_and_case_are_forgiven() -> None:
    assert validate_uscc(" 9135 0900-5875 2778 3p ").code == "91350900587527783P"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9135090058752778", r"expected 18 characters, got 16"),
        ("I1350900587527783P", r"bad character 'I' at position 1 "),
        ("913509005875277O3P", r"bad character 'O' at position 16 "),
        (
            "913509A0587527783P",
            r"bad character 'A' at position 7 \(positions 3-8 are the GB/T 2260 region code",
        ),
        ("B1350900587527783P", r"registration authority 'B' at position 1 is not defined"),
        (
            "94350900587527783P",
            r"organisation type '4' at position 2 is not defined for registration authority 9",
        ),
        (
            "Y2350900587527783P",
            r"organisation type '2' at position 2 .* authority Y \(其他\); expected one of 1$",
        ),
    ],
)
def test_malformed_codes_say_why(text: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        validate_uscc(text)


def test_region_part_is_not_looked_up() -> None:
    # 350681 龙海市 became 龙海区 350604 in 2021; codes registered there before keep the old region part.
    first17 = "91350681" + "MA31ABCD" + "0"
    code = first17 + uscc_check_digit(first17)
    result = validate_uscc(code)
    assert result.region_code == "350681"
    with pytest.raises(CodeError):
        region(result.region_code)


def test_organization_code_check_is_reported_not_enforced() -> None:
    first17 = "91110000" + "60003734" + "2"  # stdnum's example with position 17 changed from 1 to 2
    result = validate_uscc(first17 + uscc_check_digit(first17))
    assert not result.organization_code_check_ok


def test_check_digit_of_a_bad_prefix_is_refused() -> None:
    with pytest.raises(CodeError, match="expected 17 characters"):
        uscc_check_digit("9135")
    with pytest.raises(CodeError, match="bad character 'Z' at position 17"):
        uscc_check_digit("9135090058752778Z")


@pytest.mark.parametrize("code", KNOWN_GOOD)
def test_every_substitution_within_the_alphabet_is_detected(code: str) -> None:
    for position in range(18):
        for char in ALPHABET:
            if char != code[position]:
                with pytest.raises(CodeError):
                    validate_uscc(code[:position] + char + code[position + 1 :])


@given(
    code=st.sampled_from(KNOWN_GOOD),
    position=st.integers(min_value=0, max_value=17),
    char=st.characters(codec="ascii", categories=["L", "N", "P"]),
)
def test_single_character_substitution_is_detected(code: str, position: int, char: str) -> None:
    mutated = code[:position] + char + code[position + 1 :]
    if mutated.upper().replace("-", "") == code:
        return  # the same code written in lower case, not a substitution
    with pytest.raises(CodeError):
        validate_uscc(mutated)


_AUTHORITY_AND_TYPE = [a + t for a, (_, kinds) in REGISTRATION_AUTHORITIES.items() for t in kinds]


@given(
    head=st.sampled_from(_AUTHORITY_AND_TYPE),
    region_code=st.text(alphabet="0123456789", min_size=6, max_size=6),
    subject=st.text(alphabet=ALPHABET, min_size=9, max_size=9),
)
def test_check_digit_round_trip(head: str, region_code: str, subject: str) -> None:
    first17 = head + region_code + subject
    result = validate_uscc(first17 + uscc_check_digit(first17))
    assert isinstance(result, USCC)
    assert (result.registration_authority + result.organization_type, result.region_code) == (
        head,
        region_code,
    )


# --- GB/T 2260 regions ----------------------------------------------------------------------------


def test_zhejiang_huzhou_changxing() -> None:
    zhejiang, huzhou, changxing = region("330000"), region("330500"), region("330522")
    assert (zhejiang.name_zh, zhejiang.name_en, zhejiang.short_en) == (
        "浙江省",
        "Zhejiang Province",
        "Zhejiang",
    )
    assert zhejiang.level is RegionLevel.PROVINCE
    assert (huzhou.name_zh, huzhou.name_en, huzhou.short_en) == ("湖州市", "Huzhou City", "Huzhou")
    assert huzhou.level is RegionLevel.CITY
    assert (changxing.name_zh, changxing.name_en) == ("长兴县", "Changxing County")
    assert changxing.level is RegionLevel.COUNTY
    assert parent("330522") == huzhou
    assert parent("330500") == zhejiang
    assert parent("330000") is None
    assert province_of("330522") == zhejiang
    assert city_of("330522") == huzhou
    assert city_of("330500") == huzhou
    assert city_of("330000") is None
    assert changxing in children("330500")
    assert huzhou in children("330000")
    assert children("330522") == ()


def test_municipal_district_sits_under_its_grouping() -> None:
    dongcheng = region("110101")
    assert (dongcheng.name_zh, dongcheng.name_en, dongcheng.level) == (
        "东城区",
        "Dongcheng District",
        RegionLevel.COUNTY,
    )
    grouping = parent("110101")
    assert grouping is not None
    assert (grouping.code, grouping.name_zh, grouping.grouping, grouping.level) == (
        "110100",
        "市辖区",
        True,
        "city",
    )
    assert city_of("110101") == grouping
    assert province_of("110101").name_en == "Beijing Municipality"
    assert [r.code for r in children("110000")] == ["110100"]
    assert [r.code for r in children("500000")] == ["500100", "500200"]  # 重庆: 市辖区 and 县


def test_province_administered_county_level_city() -> None:
    xiantao = region("429004")
    assert (xiantao.name_zh, xiantao.name_en, xiantao.level) == ("仙桃市", "Xiantao City", RegionLevel.COUNTY)
    grouping = parent("429004")
    assert grouping is not None
    assert (grouping.code, grouping.name_zh, grouping.grouping) == ("429000", "省直辖县级行政区划", True)
    assert province_of("429004").name_en == "Hubei Province"
    assert xiantao in children("429000")
    assert region("659001").name_zh == "石河子市"
    assert parent("659001") == region("659000")


@pytest.mark.parametrize(
    ("code", "name_en"),
    [
        ("140000", "Shanxi Province"),
        ("610000", "Shaanxi Province"),
        ("150000", "Inner Mongolia Autonomous Region"),
        ("540000", "Xizang (Tibet) Autonomous Region"),
        ("450000", "Guangxi Zhuang Autonomous Region"),
        ("640000", "Ningxia Hui Autonomous Region"),
        ("650000", "Xinjiang Uygur Autonomous Region"),
        ("810000", "Hong Kong Special Administrative Region"),
        ("820000", "Macao Special Administrative Region"),
        ("710000", "Taiwan Province"),
        ("140400", "Changzhi City"),  # 长 read chang, not zhang
        ("341500", "Lu'an City"),
        ("440113", "Panyu District"),
        ("150100", "Hohhot City"),
        ("222400", "Yanbian Korean Autonomous Prefecture"),
        ("433100", "Xiangxi Tujia and Miao Autonomous Prefecture"),
        ("152500", "Xilingol League"),
        ("652900", "Aksu Prefecture"),
        ("500233", "Zhongxian County"),
    ],
)
def test_english_names(code: str, name_en: str) -> None:
    assert region(code).name_en == name_en


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("339999", "region code 339999: no such county in GB/T 2260 (city 3399 does not exist)"),
        ("330599", "region code 330599: no such county in GB/T 2260 (city 330500 is 湖州市)"),
        ("339900", "region code 339900: no such city in GB/T 2260 (province 330000 is 浙江省)"),
        ("990000", "region code 990000: no such province in GB/T 2260"),
        ("999999", "region code 999999: no such county in GB/T 2260 (province 99 does not exist)"),
        ("3305", "region code '3305': expected 6 digits, as in 330522"),
        ("33052x", "region code '33052x': expected 6 digits, as in 330522"),
        ("３３０５２２", "region code '３３０５２２': expected 6 digits, as in 330522"),
    ],
)
def test_unknown_or_malformed_region_codes_say_why(code: str, message: str) -> None:
    with pytest.raises(CodeError) as caught:
        validate_region_code(code)
    assert str(caught.value) == message
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


def test_level_of_reads_the_shape_only() -> None:
    assert level_of("330000") is RegionLevel.PROVINCE
    assert level_of("339900") is RegionLevel.CITY  # no such city, but the shape says city
    assert level_of("330522") is RegionLevel.COUNTY
    with pytest.raises(CodeError):
        level_of("000000")


def test_region_table_integrity() -> None:
    document = _data("gbt2260.json")
    assert {"source", "license"} <= document.keys()
    assert region_source()["source"] == document["source"]
    rows = document["regions"]
    assert isinstance(rows, list)
    codes_seen = [row[0] for row in rows]
    assert len(codes_seen) == len(set(codes_seen)), "duplicate codes"
    for code, name_zh, name_en, short_en, level, grouping in rows:
        assert re.fullmatch(r"[1-9][0-9]{5}", code)
        assert name_zh, code
        assert name_en, code
        assert short_en, code
        assert re.fullmatch(r"[\u4e00-\u9fff]+", name_zh), code
        assert name_en.isascii() or "ü" in name_en, code
        assert level == level_of(code), code
        if grouping:
            assert level == "city", code
            assert code[:2] in {"11", "12", "31", "50"} or code[2:4] == "90", code
        found = region(code)
        if level != "province":
            assert found.parent_code in codes_seen, f"{code} has no parent"
            assert province_of(code).level is RegionLevel.PROVINCE
    every = [region(c) for c in codes_seen]
    assert len(provinces()) == 34
    assert sum(1 for r in every if r.level is RegionLevel.CITY and not r.grouping) == 333
    assert sum(1 for r in every if r.level is RegionLevel.COUNTY) == 2847


# --- GB/T 4754-2017 industries --------------------------------------------------------------------


@pytest.mark.parametrize("written", ["3216", "C3216", "c3216", " C3216 "])
def test_letter_and_digit_forms_normalise(written: str) -> None:
    assert normalize_industry_code(written) == "C3216"
    found = industry(written)
    assert (found.code, found.section, found.division, found.digits) == ("C3216", "C", "32", "3216")
    assert found.level is IndustryLevel.CLASS


def test_division_and_section_of_a_class() -> None:
    division = division_of("3216")
    assert (division.code, division.name_zh) == ("C32", "有色金属冶炼和压延加工业")
    assert division.name_en == "Smelting and Pressing of Non-ferrous Metals"
    assert division.level is IndustryLevel.DIVISION
    section = section_of("3216")
    assert (section.code, section.name_zh, section.name_en) == ("C", "制造业", "Manufacturing")
    assert industry("44").code == "D44"
    assert industry("C").level is IndustryLevel.SECTION
    with pytest.raises(CodeError, match="a section has no division"):
        division_of("C")


def test_group_and_class_codes_are_checked_at_division_level_only() -> None:
    found = validate_industry_code("C321")
    assert (found.level, found.listed, found.name_zh, found.name_en) == (
        IndustryLevel.GROUP,
        False,
        None,
        None,
    )
    assert industry("C32").listed


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("B3216", "industry code B3216: division 32 (有色金属冶炼和压延加工业) is in section C, not B"),
        ("9912", "industry code 9912: no such division in GB/T 4754-2017 (division 99 does not exist)"),
        ("00", "industry code 00: no such division in GB/T 4754-2017 (division 00 does not exist)"),
        ("U", "industry code U: no such section in GB/T 4754-2017 (sections run A-T)"),
        ("C3", "industry code 'C3': expected a section letter A-T and/or 2-4 digits, as in C3216 or 3216"),
        (
            "C32161",
            "industry code 'C32161': expected a section letter A-T and/or 2-4 digits, as in C3216 or 3216",
        ),
        ("", "industry code '': expected a section letter A-T and/or 2-4 digits, as in C3216 or 3216"),
    ],
)
def test_unknown_or_malformed_industry_codes_say_why(code: str, message: str) -> None:
    with pytest.raises(CodeError) as caught:
        validate_industry_code(code)
    assert str(caught.value) == message


def test_missing_class_is_rejected_once_classes_are_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    real = industries_module._table()
    deeper = industries_module._Table(
        by_code={
            **real.by_code,
            "C3216": industries_module.Industry("C3216", "C", IndustryLevel.CLASS, "铝冶炼", "Aluminium"),
        },
        section_of_division=real.section_of_division,
        depth=IndustryLevel.CLASS,
        source=real.source,
    )
    monkeypatch.setattr(industries_module, "_table", lambda: deeper)
    assert industry("3216").name_zh == "铝冶炼"
    with pytest.raises(CodeError) as caught:
        industry("C3299")
    assert str(caught.value) == (
        "industry code C3299: no such class in GB/T 4754-2017 (division 32 is 有色金属冶炼和压延加工业)"
    )


def test_sections_and_divisions() -> None:
    assert [s.code for s in sections()] == list("ABCDEFGHIJKLMNOPQRST")
    assert [d.division for d in divisions()] == [f"{n:02d}" for n in range(1, 98)]
    expected_ranges = {
        "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60),
        "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79),
        "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
    }  # fmt: skip
    for letter, (first, last) in expected_ranges.items():
        assert [d.division for d in divisions(letter)] == [f"{n:02d}" for n in range(first, last + 1)]


def test_industry_table_integrity() -> None:
    document = _data("gbt4754_2017.json")
    assert {"source", "license"} <= document.keys()
    entries = document["entries"]
    assert isinstance(entries, list)
    seen = [entry[0] for entry in entries]
    assert len(seen) == len(set(seen)), "duplicate codes"
    for code, name_zh, name_en in entries:
        assert re.fullmatch(r"[A-T]([0-9]{2}([0-9]{1,2})?)?", code), code
        assert name_zh, code
        assert name_en, code
        if len(code) > 1:
            assert code[:1] in seen, f"{code}: section missing"
            assert code[:3] in seen, f"{code}: division missing"
        if len(code) == 5:
            assert code[:4] in seen, f"{code}: group missing"
        assert industry(code).code == code


def test_package_exports() -> None:
    assert set(codes.__all__) <= set(dir(codes))
    assert issubclass(CodeError, ValueError)
