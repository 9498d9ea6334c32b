"""The words of station files: the headers clerks give each column and the names they use for
kinds, statuses, levels and amenities, in Chinese and English, with their common synonyms.

This is the one table the importer reads headers and terms with (:mod:`geo.sheets`,
:mod:`geo.cells`) and the exporter and the template write them with
(:mod:`geo.station_export`). Each term's first names are those of :mod:`geo.stations`; the
synonyms here are the other ways union lists write them. A synonym names one term only.
"""

from __future__ import annotations

from geo.stations import AMENITIES, KINDS, LEVELS, STATUSES

#: Vocabulary columns: column -> (id -> (Chinese name, English name)).
VOCABULARIES: dict[str, dict[str, tuple[str, str]]] = {
    "kind": KINDS, "status": STATUSES, "level": LEVELS, "amenities": AMENITIES,
}

#: Column -> (Chinese header, English header, other headers clerks write). The Chinese header
#: is what Chinese exports and the template write; English exports write the column id.
#: ``序号`` (a row's running number) is deliberately not the station ``id``.
HEADERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "id": ("编号", "id", ("驿站编号", "站点编号")),
    "name": ("名称", "name", ("驿站名称", "站点名称", "阵地名称", "服务站点名称")),
    "kind": ("类型", "kind", ("驿站类型", "站点类型", "类别")),
    "status": ("状态", "status", ("运行状态", "开放状态")),
    "lon": ("经度", "longitude", ("lng", "x")),
    "lat": ("纬度", "latitude", ("y",)),
    "datum": ("坐标系", "datum", ()),
    "address": ("地址", "address", ("详细地址", "驿站地址", "所在地址", "具体位置")),
    "host": ("所在单位", "host", ("依托单位", "建设单位", "承建单位", "所在单位名称")),
    "union": ("工会", "union", ("所属工会", "主管工会")),
    "level": ("级别", "level", ("工会级别", "建设级别")),
    "amenities": ("设施", "amenities", ("服务设施", "配套设施", "服务功能", "功能设施")),
    "opening_hours": ("开放时间", "opening hours", ("营业时间", "服务时间", "开放时段")),
    "phone": ("电话", "phone", ("联系电话", "联系方式", "服务电话")),
    "capacity": ("容纳人数", "capacity", ("可容纳人数",)),
    "smart_24h": ("24小时智能驿站", "smart 24h", ("智能驿站",)),
    "verified_on": ("核实日期", "verified on", ("核实时间",)),
    "notes": ("备注", "notes", ("说明",)),
    "demo": ("演示数据", "demo", ()),
}

#: Column -> id -> other names clerks write for the term (besides its Chinese and English
#: names in :data:`VOCABULARIES`).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "kind": {
        "love_station": ("爱心驿站", "户外劳动者驿站", "户外劳动者服务站点", "工会爱心驿站",
                         "爱心服务站"),
        "courier_home": ("快递小哥之家", "快递员驿站", "快递小哥驿站"),
        "truck_driver_home": ("货车司机驿站", "司机之家"),
        "platform_worker_station": ("新业态劳动者驿站", "新就业形态驿站", "骑手驿站",
                                    "外卖骑手驿站", "新业态驿站"),
    },
    "status": {
        "planned": ("规划", "计划建设"),
        "building": ("在建", "建设"),
        "open": ("开放中", "已开放", "正常", "正常开放", "运营", "运营中", "运行中", "在用"),
        "suspended": ("暂停开放", "暂停服务", "暂停使用"),
        "closed": ("关闭", "停用", "撤销", "已撤销"),
    },
    "level": {
        "provincial": ("省", "省总工会", "省级工会"),
        "municipal": ("市", "市总工会", "市级工会"),
        "district": ("区", "县", "区级", "县级", "区县", "区总工会", "县总工会"),
    },
    "amenities": {
        "drinking_water": ("饮水", "饮水机", "纯净水", "饮用水机"),
        "hot_water": ("开水", "热水器"),
        "microwave": ("微波炉加热", "加热饭菜"),
        "air_conditioning": ("冷气",),
        "heating": ("暖气", "供暖"),
        "phone_charging": ("充电", "充电宝", "手机充电器"),
        "ebike_charging": ("电瓶车充电", "电动车充电桩"),
        "toilet": ("厕所", "洗手间", "公厕"),
        "first_aid": ("医药箱", "药箱", "急救箱", "常用药品"),
        "wifi": ("无线上网", "免费wifi", "网络"),
        "seating": ("桌椅", "休息座椅", "休息区"),
        "rest_beds": ("床", "休息床位"),
        "reading": ("书报", "图书", "阅读"),
        "refrigerator": ("冷藏",),
        "umbrella": ("雨伞", "爱心雨伞"),
        "repair_kit": ("工具箱", "打气筒"),
        "truck_parking": ("停车", "货车停车场"),
        "shower": ("洗澡",),
        "laundry": ("洗衣机",),
    },
}


def term_name(column: str, term: str, lang: str) -> str:
    """A term's name in a language, as exports and the template write it.

    Args:
        column: a column of :data:`VOCABULARIES`.
        term: the term's id.
        lang: ``zh`` (the Chinese name) or ``en`` (the id, so English files stay exact).

    Returns:
        The name.
    """
    return VOCABULARIES[column][term][0] if lang == "zh" else term


def header_name(column: str, lang: str) -> str:
    """A column's header in a language: the Chinese header, or the column id for English."""
    return HEADERS[column][0] if lang == "zh" else column
