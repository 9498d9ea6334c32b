"""A station list as a district union keeps it, built the way real ones look: a title row
above a header of Chinese names and synonyms, rows with loose opening hours, one without
coordinates, and a few with mistakes; as a GBK CSV saved by Excel on Chinese Windows and as an
Excel workbook with a merged title and a merged two-row header.
"""

import csv
import io

from openpyxl import Workbook

#: Central Nanjing, (min_lon, min_lat, max_lon, max_lat) in WGS-84.
NANJING_BOUNDS = (118.76, 32.03, 118.80, 32.06)

TITLE = "鼓楼区总工会户外劳动者服务站点名单（2024年5月）"

#: The header of the list, as a union writes it: a running number that is not an id, and
#: other headers than Yizhan's own.
HEADER = ["序号", "驿站名称", "驿站类型", "所在单位", "详细地址", "经度", "纬度", "开放时间",
          "服务设施", "联系电话", "运行状态"]

#: The rows: (name, kind, host, address, lon, lat, hours, amenities, phone, status).
ROWS = [
    ["中山路爱心驿站", "爱心驿站", "中国电信中山路营业厅", "鼓楼区中山路 1 号", "118.7784",
     "32.0411", "周一至周五 8:30-17:30", "饮水机、微波炉、充电、空调", "025-8888 1234", "开放中"],
    ["汉中路快递小哥之家", "快递小哥之家", "顺丰汉中路营业点", "鼓楼区汉中路 8 号", "118.7700",
     "32.0450", "每天 7:00-21:00", "热水，手机充电", "", "正常"],
    ["湖南路户外劳动者驿站", "户外劳动者驿站", "", "鼓楼区湖南路 2 号", "118.7810", "32.0560",
     "24小时", "饮用水; 卫生间", "", ""],
    ["云南路驿站", "爱心驿站", "", "", "118.7750", "32.0500", "工作日 9:00—17:00，周末休息",
     "", "", "开放"],
    ["北京西路驿站", "爱心驿站", "", "", "118.7690", "32.0520", "８：３０－１７：３０", "", "",
     ""],
    ["上海路驿站", "爱心驿站", "", "", "118.7720", "32.0480", "8:00-12:00, 14:00-18:00", "",
     "", ""],
    ["宁海路驿站", "爱心驿站", "", "", "118.7740", "32.0530", "看值班情况", "", "", ""],
    ["广州路驿站", "休息点", "", "", "118.7760", "32.0470", "", "", "", ""],
    ["中国电信黄塘营业厅", "爱心驿站", "", "鼓楼区黄塘路 5 号", "", "", "", "", "", ""],
    ["珠江路驿站", "爱心驿站", "", "", "118.7800", "32.0490", "", "饮水机、桑拿", "", ""],
    ["天津路驿站", "货车司机之家", "", "", "118.7730", "32.0510", "周一至周六 8:00-18:00", "",
     "", "运营中"],
    ["莫愁路驿站", "骑手驿站", "", "", "118.7710", "32.0440", "全天开放", "", "", ""],
]

#: What each good row's hours are read as, and what each bad row is flagged for: row number
#: (from 1) -> hours, or the (column, code) of its problems.
HOURS = {1: "Mo-Fr 08:30-17:30", 2: "07:00-21:00", 3: "24/7",
         4: "Mo-Fr 09:00-17:00; Sa,Su off", 5: "08:30-17:30", 6: "8:00-12:00, 14:00-18:00",
         11: "Mo-Sa 08:00-18:00", 12: "24/7"}
FLAGGED = {7: [("opening_hours", "hours")], 8: [("kind", "term")],
           9: [("lon", "missing"), ("lat", "missing")], 10: [("amenities", "term")]}


def union_rows() -> list[list[str]]:
    """The list's rows with their running numbers."""
    return [[str(number), *row] for number, row in enumerate(ROWS, start=1)]


def gbk_csv() -> bytes:
    """The list as Excel on Chinese Windows saves "CSV (comma delimited)": GBK, CRLF, a title
    row above the header."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([TITLE] + [""] * (len(HEADER) - 1))
    writer.writerow(HEADER)
    writer.writerows(union_rows())
    return text.getvalue().encode("gbk")


def union_workbook() -> bytes:
    """The list as an Excel workbook: a cover sheet first, then the list with a merged title
    row and a two-row header (序号 and 驿站名称 merged down, 坐标 merged across 经度 and 纬度),
    coordinates as numbers."""
    book = Workbook()
    book.active.title = "封面"
    book.active.append(["驿站名单见下一页"])
    sheet = book.create_sheet("驿站名单")
    width = len(HEADER)
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    upper = HEADER[:5] + ["坐标", None] + HEADER[7:]
    lower = [None] * 5 + ["经度", "纬度"] + [None] * (width - 7)
    sheet.append(upper)
    sheet.append(lower)
    for column in [*range(1, 6), *range(8, width + 1)]:
        sheet.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
    sheet.merge_cells(start_row=2, start_column=6, end_row=2, end_column=7)
    for row in union_rows():
        sheet.append([float(cell) if index in (5, 6) and cell else cell or None
                      for index, cell in enumerate(row)])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
