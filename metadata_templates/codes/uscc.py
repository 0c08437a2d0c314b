"""Unified social credit code (统一社会信用代码), GB 32100-2015.

Eighteen characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z):

====== =====================================================================================
 pos    meaning
====== =====================================================================================
 1      registration authority (登记管理部门): 1 机构编制, 5 民政, 9 工商 (market regulation), ...
 2      organisation type within that authority (机构类别): 9 then 1 企业, 2 个体工商户, ...
 3-8    GB/T 2260 code of the registering authority's region (digits)
 9-17   subject identifier (主体标识码): the GB 11714 organisation code, its own check character
        in position 17
 18     check character over positions 1-17: weights 3^i mod 31 (1, 3, 9, 27, 19, 26, ...),
        check = (31 - sum mod 31) mod 31, written in the same alphabet
====== =====================================================================================

What `validate_uscc` enforces: length, alphabet, digits in 3-8, a registration-authority and type pair
that GB 32100 (with the authority codes allocated since: 2-4, 6-8, A, N) defines, and the check character.
Two things it deliberately does not enforce, as python-stdnum (``stdnum.cn.uscc``) and the usual
validators do not either:

* the region part is not looked up in GB/T 2260: registration authorities keep codes of divisions that
  have since been merged or renamed. `USCC.region_code` is there for callers who want to look it up.
* the GB 11714 check character in position 17 is not enforced; `USCC.organization_code_check_ok` reports
  whether it holds (it does for codes issued under GB 32100, and not always for converted legacy codes).
"""

from __future__ import annotations

from dataclasses import dataclass

from metadata_templates.codes.errors import CodeError

__all__ = ["ALPHABET", "REGISTRATION_AUTHORITIES", "USCC", "uscc_check_digit", "validate_uscc"]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authority -> (its name, {organisation type -> its name}), after GB 32100-2015 table 1 and the
# authority codes allocated since (as published by the national USCC data service centre).
REGISTRATION_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地(大陆)代表机构", "9": "其他"},
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}


@dataclass(frozen=True, slots=True)
class USCC:
    """A valid unified social credit code and its parts."""

    code: str
    registration_authority: str
    organization_type: str
    region_code: str
    organization_code: str
    check_digit: str

    @property
    def registration_authority_name(self) -> str:
        """The registration authority in Chinese (工商 for 9, 民政 for 5, ...)."""
        return REGISTRATION_AUTHORITIES[self.registration_authority][0]

    @property
    def organization_type_name(self) -> str:
        """The organisation type in Chinese (企业 for 91, 个体工商户 for 92, ...)."""
        return REGISTRATION_AUTHORITIES[self.registration_authority][1][self.organization_type]

    @property
    def organization_code_check_ok(self) -> bool:
        """Whether positions 9-17 satisfy the GB 11714 check (informational, not enforced)."""
        body, check = self.organization_code[:8], self.organization_code[8]
        # GB 11714 values letters A=10 ... Z=35 over the full Latin alphabet.
        values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body]
        remainder = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS, strict=True)) % 11
        expected = {10: "X", 11: "0"}.get(remainder, str(remainder))
        return check == expected


def _compact(text: str) -> str:
    return "".join(text.split()).replace("-", "").upper()


def _check_alphabet(code: str, shown: str) -> None:
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            raise CodeError(
                shown,
                f"USCC {shown}: bad character {char!r} at position {position} "
                "(allowed: digits and capital letters except I, O, S, V, Z)",
            )
        if 3 <= position <= 8 and not char.isdigit():
            raise CodeError(
                shown,
                f"USCC {shown}: bad character {char!r} at position {position} "
                "(positions 3-8 are the GB/T 2260 region code, digits only)",
            )


def uscc_check_digit(first17: str) -> str:
    """The check character (position 18) of the first 17 characters of a USCC."""
    body = _compact(first17)
    if len(body) != 17:
        raise CodeError(first17, f"USCC prefix {first17!r}: expected 17 characters, got {len(body)}")
    _check_alphabet(body, body)
    total = sum(_VALUE[char] * weight for char, weight in zip(body, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(text: str) -> USCC:
    """Return the parts of a valid USCC, or raise `CodeError` with the exact reason.

    Spaces and hyphens are ignored and letters are upper-cased first, so positions in messages count
    characters of the compacted code.
    """
    code = _compact(text) if isinstance(text, str) else ""
    if len(code) != 18:
        raise CodeError(str(text), f"USCC {text!r}: expected 18 characters, got {len(code)}")
    _check_alphabet(code, code)
    authority, kind = code[0], code[1]
    if authority not in REGISTRATION_AUTHORITIES:
        allowed = ", ".join(REGISTRATION_AUTHORITIES)
        raise CodeError(
            code,
            f"USCC {code}: registration authority {authority!r} at position 1 is not defined by GB 32100 "
            f"(expected one of {allowed})",
        )
    name, kinds = REGISTRATION_AUTHORITIES[authority]
    if kind not in kinds:
        raise CodeError(
            code,
            f"USCC {code}: organisation type {kind!r} at position 2 is not defined for registration "
            f"authority {authority} ({name}); expected one of {', '.join(kinds)}",
        )
    expected = uscc_check_digit(code[:17])
    if code[17] != expected:
        raise CodeError(code, f"USCC {code}: check digit should be {expected}, not {code[17]}")
    return USCC(code, authority, kind, code[2:8], code[8:17], code[17])
