"""The demo federation's enterprises: four fictional companies in three provinces and four industries.

An aluminium smelter in Changxing County (Huzhou, Zhejiang) and an auto-parts supplier in Beilun (Ningbo,
Zhejiang) under the industry registry `88.186`; a steel mill in Caofeidian (Tangshan, Hebei) and a
new-energy car maker in Baohe (Hefei, Anhui) registered directly with the root. Their region and industry
codes are GB/T 2260 and GB/T 4754-2017 codes of `metadata_templates/codes`; their unified social credit
codes carry a correct check character. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from metadata_templates.codes import uscc_check_digit

PROFILE_SUFFIX: Final = "PROFILE"
PROFILE_TEMPLATE: Final = "enterprise-profile/1"
PROFILE_CONTEXT: Final = "https://carbonid.org/contexts/enterprise-profile/v1.jsonld"


@dataclass(frozen=True, slots=True)
class EnterpriseSpec:
    """One demo enterprise: who it is, where, in which industry, under which registry, what it makes."""

    name: str
    """Short name: the node's directory and its name in federation.json."""
    kind: str
    """Which generator makes its activity data: aluminium, steel, auto-parts or automaker."""
    prefix: str
    registry: str
    """`root` or `industry`: the registry it applies to."""
    legal_name: str
    name_en: str
    region: str
    industry: str
    industry_label: str
    organisation_code: str
    """Positions 9-17 of its unified social credit code (the check character is computed)."""
    address: str
    contact: str
    phone: str
    legal_representative: str
    registered_on: str
    description: str
    website: str
    activity_visibility: str = "public"
    activity_grants: tuple[str, ...] = ()
    """Prefixes granted read access to its activity data (for private data, e.g. the resolver)."""

    @property
    def uscc(self) -> str:
        """Its unified social credit code (GB 32100): enterprise (91), its region, organisation code, check."""
        first17 = f"91{self.region}{self.organisation_code}"
        return first17 + uscc_check_digit(first17)

    @property
    def profile_handle(self) -> str:
        """The handle its enterprise profile is published under."""
        return f"{self.prefix}/{PROFILE_SUFFIX}"


RESOLVER_PREFIX: Final = "88.100.9"

ENTERPRISES: Final = (
    EnterpriseSpec(
        name="smelter",
        kind="aluminium",
        prefix="88.186.1",
        registry="industry",
        legal_name="长兴示范铝业有限公司",
        name_en="Changxing Demonstration Aluminium Co., Ltd.",
        region="330522",
        industry="C3216",
        industry_label="aluminium smelting",
        organisation_code="MA2B3C4D5",
        address="浙江省湖州市长兴县经济开发区示范路 1 号",
        contact="王工",
        phone="+86 572 6000001",
        legal_representative="李某",
        registered_on="2012-05-18",
        description="电解铝，年产原铝约 12 万吨（演示企业，数据为固定种子生成的示范数据）。",
        website="https://aluminium.example.com",
    ),
    EnterpriseSpec(
        name="steel",
        kind="steel",
        prefix="88.131.1",
        registry="root",
        legal_name="唐山示范钢铁有限公司",
        name_en="Tangshan Demonstration Iron and Steel Co., Ltd.",
        region="130209",
        industry="C3120",
        industry_label="steelmaking",
        organisation_code="MA0F8G2H6",
        address="河北省唐山市曹妃甸区钢铁电力产业园示范大道 8 号",
        contact="赵工",
        phone="+86 315 8800002",
        legal_representative="张某",
        registered_on="2008-09-26",
        description="高炉-转炉长流程钢铁联合企业，年产粗钢约 360 万吨（演示企业，示范数据）。",
        website="https://steel.example.com",
    ),
    EnterpriseSpec(
        name="parts",
        kind="auto-parts",
        prefix="88.186.2",
        registry="industry",
        legal_name="宁波示范汽车零部件有限公司",
        name_en="Ningbo Demonstration Auto Parts Co., Ltd.",
        region="330206",
        industry="C3670",
        industry_label="auto parts",
        organisation_code="MA2H7K9L3",
        address="浙江省宁波市北仑区大港工业城示范路 16 号",
        contact="陈工",
        phone="+86 574 8600003",
        legal_representative="周某",
        registered_on="2015-03-12",
        description="汽车底盘与车身结构件（冲压、焊接、涂装），年产约 1200 万件（演示企业，示范数据）。",
        website="https://parts.example.com",
        # A supplier's energy data is commercially sensitive: shared with its customer and the resolver only.
        activity_visibility="private",
        activity_grants=(RESOLVER_PREFIX, "88.136.1"),
    ),
    EnterpriseSpec(
        name="automaker",
        kind="automaker",
        prefix="88.136.1",
        registry="root",
        legal_name="合肥示范新能源汽车有限公司",
        name_en="Hefei Demonstration New Energy Vehicle Co., Ltd.",
        region="340111",
        industry="C3612",
        industry_label="new-energy vehicles",
        organisation_code="MA8N4P2Q7",
        address="安徽省合肥市包河区示范大道 2025 号",
        contact="刘工",
        phone="+86 551 6500004",
        legal_representative="吴某",
        registered_on="2017-11-08",
        description="新能源乘用车整车制造，年产约 24 万辆（演示企业，示范数据）。",
        website="https://auto.example.com",
    ),
)


def profile_document(spec: EnterpriseSpec) -> dict[str, Any]:
    """The enterprise-profile/1 document of `spec` (unsigned, without its handle: the node sets it)."""
    return {
        "@context": [PROFILE_CONTEXT],
        "type": "EnterpriseProfile",
        "name": spec.legal_name,
        "nameEn": spec.name_en,
        "uscc": spec.uscc,
        "industry": spec.industry,
        "region": spec.region,
        "address": spec.address,
        "contact": {
            "name": spec.contact,
            "phone": spec.phone,
            "email": f"carbon@{spec.website.removeprefix('https://')}",
        },
        "prefix": spec.prefix,
        "legalRepresentative": spec.legal_representative,
        "registeredOn": spec.registered_on,
        "aboveDesignatedSize": True,
        "website": spec.website,
        "description": spec.description,
    }
