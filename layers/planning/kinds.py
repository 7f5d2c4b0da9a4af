"""The planning desk's context layers and the outdoor-dining permit fields, declared as data.

Registered in :data:`layers.registry.KINDS` (which imports this module, so this one builds on
:mod:`layers.commonfields`, not on the registry): ``sensitive_sites`` is a public context layer, ``complaints``
is staff only (``staff_only``: never in the public map, /api or /ogc), and the ``outdoor_dining_pilots`` entry
carries :data:`OUTDOOR_DINING_FIELDS`.
"""

from __future__ import annotations

from dataclasses import replace

from .. import commonfields
from ..schema import Field, LayerKind, StyleRule

#: Kinds of protected (noise-sensitive) place, with zh/en labels; rules name these.
CATEGORIES: dict[str, tuple[str, str]] = {
    "residential": ("居民小区", "residential"),
    "school": ("学校", "school"),
    "kindergarten": ("幼儿园", "kindergarten"),
    "hospital": ("医院", "hospital"),
    "elderly_care": ("养老机构", "elderly care"),
    "office_unit": ("机关单位", "office / unit"),
    "other": ("其他", "other"),
}

#: Kinds of complaint (12345 hotline), with zh/en labels.
COMPLAINT_CATEGORIES: dict[str, tuple[str, str]] = {
    "noise": ("噪声扰民", "noise"),
    "litter": ("垃圾油污", "litter"),
    "obstruction": ("占道通行", "obstruction"),
    "odour": ("油烟异味", "odour"),
    "other": ("其他", "other"),
}

# the registry's own fields, so names, districts and sources read and check alike in every layer
_SOURCE = commonfields._SOURCE
_NAME = commonfields._NAME
_DISTRICT = replace(commonfields._DISTRICT, required=False)

CATEGORY = Field("category", "enum", "类别", "Category", required=True, choices=tuple(CATEGORIES),
                 choice_labels=CATEGORIES, aliases=("敏感点类别", "类型"),
                 synonyms={"住宅": "residential", "小区": "residential", "居住区": "residential", "住宅小区": "residential",
                           "中学": "school", "小学": "school", "中小学": "school", "托儿所": "kindergarten",
                           "卫生院": "hospital", "诊所": "hospital", "社区卫生服务中心": "hospital",
                           "养老院": "elderly_care", "敬老院": "elderly_care", "护理院": "elderly_care",
                           "单位": "office_unit", "机关": "office_unit", "党政机关": "office_unit"})

SENSITIVE_SITES = LayerKind(
    id="sensitive_sites", z_order=1, zh="敏感点", en="Sensitive sites", context=True, shown=False,
    description_zh="需要保护的居民小区、学校、幼儿园、医院、养老机构和单位",
    description_en="Places to protect: homes, schools, kindergartens, hospitals, elderly care and offices",
    geometry_types=("Point", "Polygon", "MultiPolygon"),
    fields=(_NAME, CATEGORY, _DISTRICT, _SOURCE),
    style={"color": "#9d0208", "weight": 1, "fillColor": "#f48c06", "fillOpacity": 0.25, "radius": 5},
    rules=(StyleRule("category", "residential", {"fillColor": "#e9c46a"}, "居民小区", "residential"),
           StyleRule("category", "school", {"fillColor": "#2a9d8f"}, "学校", "school"),
           StyleRule("category", "kindergarten", {"fillColor": "#2a9d8f"}, "幼儿园", "kindergarten"),
           StyleRule("category", "hospital", {"fillColor": "#e63946"}, "医院", "hospital"),
           StyleRule("category", "elderly_care", {"fillColor": "#e63946"}, "养老机构", "elderly care")),
    popup=("category", "district", "source"),
)

COMPLAINTS = LayerKind(
    id="complaints", z_order=6, zh="投诉", en="Complaints", context=True, shown=False, staff_only=True,
    description_zh="12345 热线投诉记录（仅工作人员可见）", description_en="12345 hotline complaints (staff only)",
    geometry_types=("Point",),
    fields=(Field("received", "date", "受理日期", "Received", required=True,
                  aliases=("日期", "受理时间", "来电时间", "投诉日期", "登记时间")),
            Field("category", "enum", "投诉类别", "Category", required=True, choices=tuple(COMPLAINT_CATEGORIES),
                  choice_labels=COMPLAINT_CATEGORIES, aliases=("类别", "诉求类型", "问题类型"),
                  synonyms={"噪声": "noise", "噪音": "noise", "噪音扰民": "noise", "扰民": "noise",
                            "垃圾": "litter", "油污": "litter", "环境卫生": "litter",
                            "占道": "obstruction", "占道经营": "obstruction", "堵塞通道": "obstruction",
                            "油烟": "odour", "异味": "odour"}),
            Field("site_id", "text", "涉及外摆点编号", "Outdoor-dining site id", aliases=("外摆点编号", "点位编号")),
            Field("text", "text", "诉求内容", "Text", aliases=("内容", "投诉内容", "诉求", "描述")),
            _DISTRICT, _SOURCE),
    style={"radius": 4, "color": "#6a040f", "weight": 1, "fillColor": "#d00000", "fillOpacity": 0.8},
    popup=("received", "category", "site_id"),
)

#: What an outdoor-dining permit needs beyond the pilot layer's fields: the pilot layer already has
#: ``area_m2`` (外摆面积), ``capacity`` (外摆座位数: the seats) and ``opening_hours`` (the seating's hours).
OUTDOOR_DINING_FIELDS: tuple[Field, ...] = (
    Field("season", "opening_hours", "外摆季节", "Season", aliases=("经营季节", "季节", "外摆期")),
    Field("clear_walkway_m", "number", "人行道净宽（米）", "Clear walkway (m)", minimum=0, maximum=100,
          aliases=("通行宽度", "人行道净宽", "通行净宽", "净宽")),
    Field("operator", "text", "经营者", "Operator", aliases=("经营主体", "经营单位", "商户")),
)


def outdoor_dining_kind() -> LayerKind:
    """The outdoor-dining pilot kind with the permit fields (the registry entry, which declares them)."""
    from .. import registry  # the registry imports this module

    return registry.get("outdoor_dining_pilots")


def proposals_kind(pilots: LayerKind) -> LayerKind:
    """Sites a planner checked on the planning desk and saved as proposals (拟设外摆点): the pilots' fields and
    style, **staff only** — a proposal, passing or not, is not on the public map; once approved it is added
    to the pilot layer through the normal import or editor."""
    return replace(pilots, id="outdoor_dining_proposals", z_order=pilots.z_order, zh="拟设外摆点",
                   en="Outdoor-dining proposals", description_zh="规划工作台检查后保存的拟设外摆点（仅工作人员可见）",
                   description_en="Sites checked on the planning desk and saved as proposals (staff only)",
                   staff_only=True, shown=False,
                   style={**pilots.style, "fillColor": "#9b5de5"})


PLANNING_KINDS: tuple[LayerKind, ...] = (SENSITIVE_SITES, COMPLAINTS)
