"""The layer kinds of the consumption-scene map, declared as data: adding a kind is one entry here."""

from __future__ import annotations

from .area import DISTRICT_NAMES
from .commonfields import _NAME, _NAME_EN, _SCENE_POPUP, _SOURCE, SCENE_FIELDS
from .planning.kinds import COMPLAINTS, OUTDOOR_DINING_FIELDS, SENSITIVE_SITES, proposals_kind
from .schema import Field, LayerKind, StyleRule

KINDS: tuple[LayerKind, ...] = (
    LayerKind(
        id="districts", z_order=0, zh="行政区划", en="Districts", context=True,
        description_zh="青岛市十个区（市）边界", description_en="Boundaries of Qingdao's ten districts",
        geometry_types=("Polygon", "MultiPolygon"),
        fields=(Field("adcode", "text", "行政区划代码", "Admin code", required=True),
                _NAME, _NAME_EN, _SOURCE),
        style={"color": "#5b6770", "weight": 1.5, "fillColor": "#f4f1ea", "fillOpacity": 0.15,
               "dashArray": "4 3"},
        popup=("name_en", "adcode"),
    ),
    LayerKind(
        id="commercial_districts", z_order=2, zh="商圈", en="Commercial districts",
        description_zh="城市级与区域级商圈", description_en="City and district-level shopping districts",
        geometry_types=("Polygon", "MultiPolygon"), fields=SCENE_FIELDS,
        style={"color": "#6a3d9a", "weight": 2, "fillColor": "#cab2d6", "fillOpacity": 0.35},
        popup=_SCENE_POPUP,
    ),
    LayerKind(
        id="night_economy_zones", z_order=3, zh="夜间经济集聚区", en="Night-economy zones",
        description_zh="夜间文化和旅游消费集聚区，含24小时营业区试点",
        description_en="Night-time culture and tourism consumption zones, incl. 24-hour pilots",
        geometry_types=("Polygon", "MultiPolygon"),
        fields=SCENE_FIELDS + (Field("is_24h_pilot", "boolean", "24小时营业区试点", "24-hour pilot",
                                     aliases=("24小时试点",)),),
        style={"color": "#1f2a6b", "weight": 2, "fillColor": "#5e60ce", "fillOpacity": 0.35},
        rules=(StyleRule("is_24h_pilot", True,
                         {"color": "#d00000", "weight": 4, "dashArray": "8 4", "fillColor": "#ff7b00",
                          "fillOpacity": 0.45}, "24小时营业区试点", "24-hour pilot"),),
        popup=_SCENE_POPUP + ("is_24h_pilot",),
    ),
    LayerKind(
        id="pedestrian_streets", z_order=4, zh="步行街", en="Pedestrian streets",
        description_zh="步行街与周末分时段步行街区", description_en="Pedestrian streets and weekend time-sliced blocks",
        geometry_types=("LineString", "MultiLineString"),
        fields=SCENE_FIELDS + (Field("weekend_block", "boolean", "周末分时段步行街区", "Weekend time-sliced block",
                                     aliases=("周末分时段",)),
                               Field("length_m", "number", "长度（米）", "Length (m)", minimum=0,
                                     aliases=("长度", "长度(米)", "长度/米"))),
        style={"color": "#e85d04", "weight": 6, "opacity": 0.9},
        rules=(StyleRule("weekend_block", True, {"color": "#0a9396", "weight": 6, "dashArray": "10 6"},
                         "周末分时段步行街区", "Weekend time-sliced block"),),
        popup=_SCENE_POPUP + ("weekend_block", "length_m"),
    ),
    LayerKind(
        id="outdoor_dining_pilots", z_order=5, zh="外摆试点", en="Outdoor-dining pilots",
        description_zh="酒吧、咖啡店、轻餐饮“外摆位”试点", description_en="Outdoor seating pilots for bars, cafés and light dining",
        geometry_types=("Point",),
        fields=SCENE_FIELDS + (
            Field("venue_type", "enum", "业态", "Venue type", choices=("bar", "cafe", "light_dining", "mixed"),
                  choice_labels={"bar": ("酒吧", "bar"), "cafe": ("咖啡店", "café"),
                                 "light_dining": ("轻餐饮", "light dining"), "mixed": ("综合", "mixed")},
                  aliases=("类型", "业态类型", "经营业态"),
                  synonyms={"清吧": "bar", "酒馆": "bar", "咖啡": "cafe", "咖啡馆": "cafe", "咖啡厅": "cafe",
                            "轻餐": "light_dining", "简餐": "light_dining", "小吃": "light_dining",
                            "综合业态": "mixed", "混合": "mixed"}),
            Field("capacity", "integer", "外摆座位数", "Outdoor seats", minimum=0, maximum=10000,
                  aliases=("座位数", "外摆座位", "seats")),  # the issue calls it seats
            Field("area_m2", "number", "外摆面积（平方米）", "Outdoor area (m²)", minimum=0, maximum=100000,
                  aliases=("外摆面积", "面积", "外摆面积(平方米)", "面积（平方米）", "面积(平方米)")))
        + OUTDOOR_DINING_FIELDS,  # what a permit needs: season, clear walkway, operator
        style={"radius": 7, "color": "#ffffff", "weight": 2, "fillColor": "#2d6a4f", "fillOpacity": 0.95},
        popup=_SCENE_POPUP + ("venue_type", "capacity", "area_m2"),
    ),
    LayerKind(
        id="hq_clusters", z_order=1, zh="总部经济集聚区", en="Headquarters clusters",
        description_zh="浮山湾、唐岛湾、金家岭总部经济集聚区", description_en="Fushan Bay, Tangdao Bay and Jinjialing HQ clusters",
        geometry_types=("Polygon", "MultiPolygon"), fields=SCENE_FIELDS,
        style={"color": "#023e8a", "weight": 2, "fillColor": "#48cae4", "fillOpacity": 0.3},
        popup=_SCENE_POPUP,
    ),
    SENSITIVE_SITES,  # the planning desk's context layers (layers/planning/kinds.py)
    COMPLAINTS,  # staff only
)
# sites the planning desk checked and saved as proposals: the pilots' fields, staff only until made a pilot
KINDS += (proposals_kind(next(kind for kind in KINDS if kind.id == "outdoor_dining_pilots")),)

REGISTRY: dict[str, LayerKind] = {kind.id: kind for kind in KINDS}

#: The kinds anonymous users may see (the public map, /api and /ogc): every kind but the staff-only ones.
PUBLIC_KINDS: tuple[LayerKind, ...] = tuple(kind for kind in KINDS if not kind.staff_only)


def get(kind_id: str) -> LayerKind:
    """Return the kind ``kind_id``; a KeyError names the known ids."""
    try:
        return REGISTRY[kind_id]
    except KeyError:
        raise KeyError(f"unknown layer {kind_id!r}; known layers: {', '.join(REGISTRY)}") from None


__all__ = ["KINDS", "PUBLIC_KINDS", "REGISTRY", "DISTRICT_NAMES", "get"]
