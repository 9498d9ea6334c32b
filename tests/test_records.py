"""Station records in bulk: staff import the station lists they keep in Excel, CSV or GeoJSON,
learn exactly which rows are wrong and why, and export stations to files that open in Excel with
Chinese intact and read back as the same stations.

The fixture files are in ``tests/data/records``; Excel workbooks are built here with openpyxl.
"""

import csv
import io
import json
import sqlite3
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import geopandas as gpd
import pytest
from openpyxl import Workbook, load_workbook

from geo.coords import from_wgs84, to_wgs84
from geo.database import Database
from geo.records import ImportPlan, RowProblem, read_station_file
from geo.rules import clean_text, name_key
from geo.sheets import CHINESE_HEADERS, COLUMNS, RecordsError
from geo.station_export import ATTRIBUTION_COLUMN, export_stations
from geo.stations import AMENITIES, KINDS, LEVELS, STATUSES, Station
from geo.store import StationStore

DATA = Path(__file__).parent / "data" / "records"

#: Central Nanjing, (min_lon, min_lat, max_lon, max_lat) in WGS-84.
NANJING_BOUNDS = (118.76, 32.03, 118.80, 32.06)

ATTRIBUTION = "© OpenStreetMap contributors, ODbL; 演示数据"

STORED_AT = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def existing_stations() -> list[Station]:
    """Three stations already in the store for Nanjing."""
    common = {"region": "nanjing", "created_at": STORED_AT, "updated_at": STORED_AT,
              "version": 3}
    return [
        Station(id=1, name="新街口爱心驿站", kind="love_station", lon=118.7784, lat=32.0411,
                amenities=("drinking_water", "microwave"), phone="(025) 8888-1234", **common),
        Station(id=2, name="中山路快递员之家", kind="courier_home", lon=118.7800, lat=32.0450,
                status="building", level="municipal", amenities=("toilet",), capacity=6,
                notes="旧备注", **common),
        Station(id=3, name="鼓楼货车司机之家", kind="truck_driver_home", lon=118.7700,
                lat=32.0500, amenities=("truck_parking", "shower"), **common),
    ]


def read(data: bytes, filename: str, **options) -> ImportPlan:
    """Read a file for Nanjing against the existing stations."""
    options.setdefault("existing", existing_stations())
    return read_station_file(data, filename, "nanjing", **options)


def csv_bytes(rows: list[list[object]]) -> bytes:
    """A UTF-8 CSV file of rows (the first is the header)."""
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


def located(plan: ImportPlan) -> list[tuple[int, str]]:
    """The (line, field) of every problem of a plan."""
    return [(problem.line, problem.field) for problem in plan.problems]


def message(plan: ImportPlan, line: int, field: str) -> str:
    """The message of the problem at a line and field."""
    (found,) = [p.message for p in plan.problems if (p.line, p.field) == (line, field)]
    return found


# --- a good file with Chinese headers, Chinese names and GCJ-02 coordinates -----------------

def test_a_file_with_chinese_headers_and_names_in_gcj02_reads_as_wgs84_stations():
    plan = read((DATA / "good_chinese_gcj02.csv").read_bytes(), "驿站清单.csv",
                default_datum="gcj02", region_bounds=NANJING_BOUNDS)

    assert plan.problems == []
    assert plan.rows == 3
    zhujiang, hanzhong, daxinggong = plan.stations
    assert zhujiang == Station(
        name="珠江路爱心驿站", region="nanjing", kind="love_station", status="open",
        lon=to_wgs84(118.790201, 32.045943, "gcj02")[0],
        lat=to_wgs84(118.790201, 32.045943, "gcj02")[1],
        address="南京市玄武区珠江路 88 号", host="中国电信珠江路营业厅", union="玄武区总工会",
        level="district", amenities=("drinking_water", "microwave", "phone_charging"),
        opening_hours="Mo-Su 08:00-20:00", phone="(025) 8333-1234", capacity=8, smart_24h=True,
        verified_on=date(2024, 3, 5), notes="夏季提供防暑药品", demo=False,
    )
    assert (hanzhong.kind, hanzhong.status, hanzhong.level) == (
        "courier_home", "building", "municipal")
    assert hanzhong.amenities == ("hot_water", "toilet", "wifi")
    assert hanzhong.opening_hours == "Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00"
    assert (hanzhong.capacity, hanzhong.smart_24h, hanzhong.verified_on) == (None, False, None)
    assert (daxinggong.kind, daxinggong.amenities) == (
        "platform_worker_station", ("drinking_water", "ebike_charging"))
    assert daxinggong.smart_24h is True and daxinggong.verified_on == date(2023, 11, 20)


def test_gcj02_coordinates_are_converted_with_the_coords_module_whatever_the_datum_is_called():
    plan = read((DATA / "good_chinese_gcj02.csv").read_bytes(), "stations.csv",
                default_datum="gcj02")

    gcj02 = [(118.790201, 32.045943), (118.781211, 32.041954), (118.795193, 32.035939)]
    assert [(s.lon, s.lat) for s in plan.stations] == [to_wgs84(*p, "gcj02") for p in gcj02]
    # The file's points were taken from Amap at these WGS-84 places, to 6 decimals (< 0.2 m).
    wgs84 = [(118.7850, 32.0480), (118.7760, 32.0440), (118.7900, 32.0380)]
    for station, (lon, lat) in zip(plan.stations, wgs84, strict=True):
        assert station.lon == pytest.approx(lon, abs=2e-6)
        assert station.lat == pytest.approx(lat, abs=2e-6)


def test_every_station_of_a_plan_is_new_in_the_region_and_not_demo_data():
    plan = read((DATA / "good_chinese_gcj02.csv").read_bytes(), "stations.csv",
                default_datum="gcj02")

    assert {(s.id, s.region, s.demo, s.version) for s in plan.stations} == {
        (None, "nanjing", False, 0)}


def test_the_same_file_saved_by_excel_in_gb18030_reads_the_same():
    utf8 = (DATA / "good_chinese_gcj02.csv").read_bytes()
    gb18030 = utf8.decode("utf-8").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        gb18030.decode("utf-8")

    assert read(gb18030, "stations.csv", default_datum="gcj02") == read(
        utf8, "stations.csv", default_datum="gcj02")


def test_a_utf8_file_with_a_byte_order_mark_reads_the_same():
    utf8 = (DATA / "good_chinese_gcj02.csv").read_bytes()

    assert read(b"\xef\xbb\xbf" + utf8, "stations.csv", default_datum="gcj02") == read(
        utf8, "stations.csv", default_datum="gcj02")


@pytest.mark.parametrize("column, vocabulary", [
    ("kind", KINDS), ("status", STATUSES), ("level", LEVELS),
])
def test_a_vocabulary_value_may_be_its_id_its_chinese_or_its_english_name(column, vocabulary):
    header = ["name", "lon", "lat", *dict.fromkeys(["kind", column])]
    rows, expected = [header], []
    for term, (chinese, english) in vocabulary.items():
        for written in (term, chinese, english, english.upper()):
            cells = {"kind": "love_station", column: written}
            rows.append([f"驿站{len(rows)}", 118.77 + len(rows) / 1000, 32.04, *cells.values()])
            expected.append(term)

    plan = read(csv_bytes(rows), "terms.csv")

    assert plan.problems == []
    assert [getattr(s, column) for s in plan.stations] == expected


def test_amenities_may_be_ids_or_names_separated_by_any_common_separator():
    chinese = [names[0] for names in AMENITIES.values()]
    english = [names[1] for names in AMENITIES.values()]
    ids = list(AMENITIES)
    separators = [",", "，", ";", "、", "|"]
    written = [
        "、".join(chinese),
        ", ".join(english),
        "".join(f"{term}{separators[i % 5]}" for i, term in enumerate(ids)),
    ]
    rows = [["name", "kind", "lon", "lat", "amenities"]] + [
        [f"驿站{i}", "love_station", 118.77 + i / 1000, 32.04, text]
        for i, text in enumerate(written)
    ]

    plan = read(csv_bytes(rows), "amenities.csv")

    assert plan.problems == []
    assert [s.amenities for s in plan.stations] == [tuple(ids)] * 3


@pytest.mark.parametrize("written, datum", [
    ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("GPS", "wgs84"),
    ("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("高德", "gcj02"),
    ("bd09", "bd09"), ("BD-09", "bd09"), ("百度", "bd09"),
])
def test_a_datum_may_be_named_in_the_ways_staff_know_it(written, datum):
    rows = [["name", "kind", "lon", "lat", "datum"],
            ["新街口爱心驿站", "love_station", 118.7836, 32.0391, written]]

    (station,) = read(csv_bytes(rows), "datum.csv", existing=[]).stations

    assert (station.lon, station.lat) == to_wgs84(118.7836, 32.0391, datum)


def test_the_default_datum_applies_to_rows_without_one_and_accepts_the_same_names():
    rows = [["name", "kind", "lon", "lat", "datum"],
            ["百度驿站", "love_station", 118.7836, 32.0391, ""],
            ["GPS驿站", "love_station", 118.7736, 32.0391, "WGS-84"]]

    baidu, gps = read(csv_bytes(rows), "datum.csv", default_datum="百度").stations

    assert (baidu.lon, baidu.lat) == to_wgs84(118.7836, 32.0391, "bd09")
    assert (gps.lon, gps.lat) == (118.7736, 32.0391)


def test_an_unknown_default_datum_is_a_mistake_of_the_caller():
    with pytest.raises(ValueError, match="火星"):
        read(csv_bytes([["name", "lon", "lat"], ["a", 1, 2]]), "a.csv", default_datum="火星")


@pytest.mark.parametrize("written, value", [
    ("true", True), ("false", False), ("Yes", True), ("no", False), ("1", True), ("0", False),
    ("是", True), ("否", False), ("", False),
])
def test_yes_no_columns_accept_english_chinese_and_digits(written, value):
    rows = [["name", "kind", "lon", "lat", "smart_24h", "演示数据"],
            ["新街口爱心驿站", "love_station", 118.7836, 32.0391, written, written]]

    (station,) = read(csv_bytes(rows), "flags.csv", existing=[]).stations

    assert (station.smart_24h, station.demo) == (value, value)


def test_unknown_columns_are_ignored():
    rows = [["name", "kind", "lon", "lat", "负责人", "remarks"],
            ["新街口爱心驿站", "love_station", 118.7836, 32.0391, "王芳", "anything"]]

    plan = read(csv_bytes(rows), "extra.csv", existing=[])

    assert plan.problems == [] and len(plan.stations) == 1


def test_english_headers_may_differ_in_case_spaces_and_hyphens():
    rows = [["Name", "KIND", "Lon", "Lat", "Opening Hours", "smart-24h"],
            ["新街口爱心驿站", "love_station", 118.7836, 32.0391, "24/7", "yes"]]

    (station,) = read(csv_bytes(rows), "headers.csv", existing=[]).stations

    assert (station.opening_hours, station.smart_24h) == ("24/7", True)


def test_every_canonical_column_has_a_chinese_header():
    assert set(CHINESE_HEADERS.values()) == set(COLUMNS)


# --- a file with bad rows -------------------------------------------------------------------

def bad_rows_plan() -> ImportPlan:
    """The fixture with bad rows, read for Nanjing with the region bounds."""
    return read((DATA / "bad_rows.csv").read_bytes(), "bad_rows.csv",
                region_bounds=NANJING_BOUNDS)


def test_every_bad_row_is_reported_at_its_file_line_and_field():
    plan = bad_rows_plan()

    # Line 9 holds a note over two lines, so the row after it is line 11.
    assert located(plan) == [
        (3, "lon"),             # coordinates as text
        (4, "lat"),             # latitude out of range
        (5, "amenities"),       # unknown amenity
        (6, "name"),            # missing name
        (7, "datum"),           # unknown datum
        (8, "name"),            # duplicate of an existing station
        (11, "name"),           # duplicate of line 9
        (12, "lon"),            # outside the region
        (13, "opening_hours"),  # not OSM opening_hours syntax
        (14, "kind"),           # unknown kind
        (15, "capacity"),       # not a number
        (15, "smart_24h"),      # not yes or no
        (15, "verified_on"),    # no such day
    ]


def test_the_good_rows_of_a_file_with_bad_rows_are_still_read():
    plan = bad_rows_plan()

    assert plan.rows == 14
    assert [s.name for s in plan.stations] == ["珠江路爱心驿站", "汉中路驿站", "上海路驿站"]
    assert plan.stations[1].notes == "备注第一行\n备注第二行"
    assert plan.stations[2].capacity == 4 and plan.stations[2].verified_on == date(2024, 1, 10)


def test_each_problem_names_the_bad_value():
    plan = bad_rows_plan()

    assert "东经118度" in message(plan, 3, "lon")
    assert "95" in message(plan, 4, "lat") and "[-90, 90]" in message(plan, 4, "lat")
    assert "'桑拿'" in message(plan, 5, "amenities")
    assert message(plan, 6, "name") == "name is missing"
    assert "'火星'" in message(plan, 7, "datum")
    assert "'快递站'" in message(plan, 14, "kind")
    assert "'十个'" in message(plan, 15, "capacity")
    assert "'maybe'" in message(plan, 15, "smart_24h")
    assert "2024-02-30" in message(plan, 15, "verified_on")
    assert "opening_hours" in message(plan, 13, "opening_hours")


def test_a_duplicate_is_the_same_name_within_50_m_of_a_station_or_an_earlier_row():
    plan = bad_rows_plan()

    existing = message(plan, 8, "name")
    assert existing.startswith("duplicate") and "station 1" in existing
    earlier = message(plan, 11, "name")
    assert earlier.startswith("duplicate") and "line 9" in earlier


def test_the_same_name_further_than_50_m_away_is_no_duplicate():
    rows = [["name", "kind", "lon", "lat"],
            ["新街口爱心驿站", "love_station", 118.7784, 32.0416]]   # 55 m north of station 1

    plan = read(csv_bytes(rows), "far.csv")

    assert plan.problems == [] and len(plan.stations) == 1


def test_a_row_outside_the_region_says_how_far_outside_it_is():
    assert "km outside the region" in message(bad_rows_plan(), 12, "lon")


def test_a_row_just_inside_the_2_km_margin_around_the_region_is_accepted():
    rows = [["name", "kind", "lon", "lat"],
            ["边界驿站", "love_station", 118.815, 32.045],     # 1.4 km east of the bounds
            ["远处驿站", "love_station", 118.825, 32.045]]     # 2.4 km east

    plan = read(csv_bytes(rows), "margin.csv", region_bounds=NANJING_BOUNDS)

    assert [s.name for s in plan.stations] == ["边界驿站"]
    assert located(plan) == [(3, "lon")]


def test_the_region_is_checked_after_datum_conversion():
    # 1.8 km east of the bounds in WGS-84; GCJ-02 shifts it another 0.5 km east.
    amap_lon, amap_lat = from_wgs84(118.8190, 32.0450, "gcj02")
    rows = [["name", "kind", "lon", "lat", "datum"],
            ["东边驿站", "love_station", amap_lon, amap_lat, "gcj02"],
            ["东边驿站（未转换）", "love_station", amap_lon, amap_lat, "wgs84"]]

    plan = read(csv_bytes(rows), "east.csv", region_bounds=NANJING_BOUNDS)

    assert [s.name for s in plan.stations] == ["东边驿站"]
    assert located(plan) == [(3, "lon")]


def test_swapped_coordinates_are_pointed_out():
    rows = [["name", "kind", "lon", "lat"], ["颠倒驿站", "love_station", 32.04, 118.78]]

    plan = read(csv_bytes(rows), "swapped.csv")

    assert located(plan) == [(2, "lat")]
    assert "swapped" in message(plan, 2, "lat")


def test_missing_coordinates_and_a_missing_kind_are_reported():
    rows = [["name", "kind", "lon", "lat"], ["无坐标驿站", "", "", "32.04"]]

    plan = read(csv_bytes(rows), "missing.csv")

    assert located(plan) == [(2, "lon"), (2, "kind")]
    assert message(plan, 2, "lon") == "longitude is missing"


def test_a_bad_phone_and_a_negative_capacity_are_reported_by_station_validation():
    rows = [["name", "kind", "lon", "lat", "phone", "capacity"],
            ["新街口爱心驿站", "love_station", 118.7836, 32.0391, "call 025", "-3"]]

    plan = read(csv_bytes(rows), "checks.csv", existing=[])

    assert located(plan) == [(2, "capacity"), (2, "phone")]


def test_a_missing_required_column_is_one_problem_on_line_1():
    rows = [["名称", "类型", "经度"]] + [[f"驿站{i}", "love_station", 118.78] for i in range(5)]

    plan = read(csv_bytes(rows), "no_latitude.csv")

    assert plan == ImportPlan(stations=[], rows=5, problems=[
        RowProblem(1, "lat", "missing column 'lat' (header 'lat' or '纬度')")])


def test_two_headers_for_one_column_are_reported_and_the_first_is_read():
    rows = [["name", "名称", "kind", "lon", "lat"],
            ["新街口爱心驿站", "别的名字", "love_station", 118.7836, 32.0391]]

    plan = read(csv_bytes(rows), "twice.csv", existing=[])

    assert located(plan) == [(1, "name")]
    assert [s.name for s in plan.stations] == ["新街口爱心驿站"]


# --- updates by id --------------------------------------------------------------------------

def test_a_row_with_an_id_updates_that_station_and_keeps_the_columns_the_file_lacks():
    rows = [["id", "name", "status", "lon", "lat", "phone"],
            [2, "中山路快递员之家", "暂停", 118.7801, 32.0450, "025-86660000"]]

    (station,) = read(csv_bytes(rows), "updates.csv").stations

    stored = existing_stations()[1]
    assert station == Station(
        **{**vars(stored), "status": "suspended", "lon": 118.7801, "phone": "025-86660000"})
    assert (station.id, station.version, station.created_at) == (2, 3, STORED_AT)


def test_a_blank_vocabulary_cell_keeps_an_updated_stations_value_and_defaults_a_new_one():
    rows = [["id", "name", "kind", "status", "level", "lon", "lat", "notes"],
            [2, "中山路快递员之家", "", "", "", 118.7800, 32.0450, ""],
            ["", "新驿站", "courier_home", "", "", 118.7750, 32.0420, ""]]

    updated, new = read(csv_bytes(rows), "blanks.csv").stations

    assert (updated.kind, updated.status, updated.level) == (
        "courier_home", "building", "municipal")
    assert updated.notes == ""   # a blank text cell is an empty value
    assert (new.status, new.level) == ("open", "district")


def test_an_unknown_id_and_an_id_updated_twice_are_reported():
    rows = [["id", "name", "lon", "lat"],
            [1, "新街口爱心驿站", 118.7785, 32.0411],  # station 1 moved 10 m: not its own duplicate
            [99, "不存在的驿站", 118.7790, 32.0420],
            [1, "新街口爱心驿站", 118.7784, 32.0411],
            ["x1", "编号错误驿站", 118.7790, 32.0430]]

    plan = read(csv_bytes(rows), "ids.csv")

    assert located(plan) == [(3, "id"), (4, "id"), (5, "id")]
    assert message(plan, 3, "id") == "unknown id 99: no such station"
    assert "line 2" in message(plan, 4, "id")
    assert [(s.id, s.lon) for s in plan.stations] == [(1, 118.7785)]


def test_an_update_is_a_duplicate_when_it_moves_next_to_another_station_of_the_same_name():
    stations = existing_stations()
    twin = Station(id=4, name="新街口爱心驿站", region="nanjing", kind="love_station",
                   lon=118.7900, lat=32.0411)
    rows = [["id", "name", "lon", "lat"], [4, "新街口爱心驿站", 118.7785, 32.0411]]

    plan = read(csv_bytes(rows), "twin.csv", existing=[*stations, twin])

    assert located(plan) == [(2, "name")]
    assert "station 1" in message(plan, 2, "name")


# --- Excel and GeoJSON files ----------------------------------------------------------------

def test_an_excel_sheet_with_typed_cells_reads_with_sheet_row_numbers():
    book = Workbook()
    sheet = book.active
    sheet.append(["名称", "类型", "经度", "纬度", "坐标系", "电话", "容纳人数",
                  "24小时智能驿站", "核实日期", "设施"])
    sheet.append(["珠江路爱心驿站", "户外劳动者爱心驿站", 118.790201, 32.045943, "高德",
                  2583331234, 8.0, True, datetime(2024, 3, 5), "饮用水、微波炉"])
    sheet.append([])
    sheet.append(["汉中路快递员之家", "快递员之家", 118.781211, 32.041954, "GCJ-02",
                  None, None, False, "2024-02-30", None])
    buffer = io.BytesIO()
    book.save(buffer)

    plan = read(buffer.getvalue(), "驿站.xlsx")

    assert plan.rows == 2
    assert located(plan) == [(4, "verified_on")]
    (station,) = plan.stations
    assert (station.lon, station.lat) == to_wgs84(118.790201, 32.045943, "gcj02")
    assert (station.phone, station.capacity, station.smart_24h, station.verified_on) == (
        "2583331234", 8, True, date(2024, 3, 5))


def test_a_geojson_file_takes_coordinates_from_point_geometries_and_numbers_features_from_1():
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.7836, 32.0391]},
         "properties": {"名称": "百度驿站", "类型": "love_station", "datum": "bd09",
                        "设施": ["饮用水", "toilet"]}},
        {"type": "Feature",
         "geometry": {"type": "LineString", "coordinates": [[118.78, 32.04], [118.79, 32.04]]},
         "properties": {"名称": "线状驿站", "类型": "love_station"}},
        {"type": "Feature", "geometry": None,
         "properties": {"名称": "无位置驿站", "类型": "love_station"}},
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False).encode()

    plan = read(data, "stations.geojson")

    assert located(plan) == [(2, "geometry"), (3, "geometry")]
    assert "LineString" in message(plan, 2, "geometry")
    (station,) = plan.stations
    assert (station.lon, station.lat) == to_wgs84(118.7836, 32.0391, "bd09")
    assert station.amenities == ("drinking_water", "toilet")


# --- files that cannot be read --------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \n", b",,,\n,,\n"])
def test_an_empty_csv_file_is_refused_naming_the_file(data):
    with pytest.raises(RecordsError, match="名单.csv is empty"):
        read(data, "名单.csv")


def test_a_file_with_a_header_and_no_rows_is_refused_as_empty():
    with pytest.raises(RecordsError, match="header.csv is empty: it has no station rows"):
        read(b"name,kind,lon,lat\n", "header.csv")


@pytest.mark.parametrize("filename, data, reason", [
    ("garbage.csv", bytes(range(256)) * 4, "not a CSV text file"),
    ("garbage.xlsx", b"this is not a workbook", "not a readable Excel"),
    ("garbage.geojson", b"{\"type\": \"FeatureCollection\", \"features\": [", "not valid JSON"),
    ("garbage.json", b"[1, 2, 3]", "not a GeoJSON FeatureCollection"),
    ("deep.geojson", b"[" * 100_000 + b"]" * 100_000, "nests arrays and objects too deeply"),
    ("listed.geojson", b'{"type": "Feature", "properties": [[1]], "geometry": null}',
     "feature 1's properties are not an object"),
    ("stations.xls", b"\xd0\xcf\x11\xe0 old Excel", "save Excel 97-2003 .xls files as .xlsx"),
])
def test_a_file_that_cannot_be_parsed_is_refused_naming_the_file(filename, data, reason):
    with pytest.raises(RecordsError, match=reason) as refused:
        read(data, filename)

    assert str(refused.value).startswith(filename)
    assert isinstance(refused.value, ValueError)


# --- exports --------------------------------------------------------------------------------

def export_sample() -> list[Station]:
    """Stored stations that exercise every field: Chinese text with commas, quotes and line
    breaks, full-precision converted coordinates, missing and present optional values, demo
    and real stations."""
    lon, lat = to_wgs84(118.790201, 32.045943, "gcj02")
    first, second, third = existing_stations()
    return [
        first,
        Station(**{**vars(second), "lon": lon, "lat": lat, "status": "suspended",
                   "notes": '第一行，"引号"\n第二行', "verified_on": date(2024, 3, 5),
                   "smart_24h": True, "address": "南京市鼓楼区中山路 1 号, 2 楼",
                   "opening_hours": "Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00",
                   "phone": "+86 138 0000 0000"}),
        Station(**{**vars(third), "demo": True, "capacity": 0, "host": "=中国石化加油站",
                   "union": "示范区总工会（演示）", "level": "provincial"}),
    ]


def test_a_csv_export_starts_with_the_utf8_byte_order_mark_so_excel_shows_chinese():
    data = export_stations(export_sample(), "csv", ATTRIBUTION)

    assert data.startswith(b"\xef\xbb\xbf")
    assert "新街口爱心驿站".encode() in data


def test_a_csv_export_has_the_canonical_columns_and_the_attribution_and_demo_flag_per_row():
    data = export_stations(export_sample(), "csv", ATTRIBUTION)

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == [*COLUMNS, ATTRIBUTION_COLUMN]
    assert [row[ATTRIBUTION_COLUMN] for row in rows] == [ATTRIBUTION] * 3
    assert [row["demo"] for row in rows] == ["false", "false", "true"]
    assert rows[0]["amenities"] == "drinking_water;microwave"
    assert {row["datum"] for row in rows} == {"wgs84"}



@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+86 138 0000 0000", "-1+1",
                                  "@SUM(A1)", "\tindented", "\rcarriage"])
def test_a_csv_export_puts_a_quote_before_text_a_spreadsheet_would_run_as_a_formula(text):
    station = Station(**{**vars(existing_stations()[0]), "notes": text, "lon": -0.5})

    (row,) = csv.DictReader(io.StringIO(
        export_stations([station], "csv", ATTRIBUTION).decode("utf-8-sig"), newline=""))

    assert row["notes"] == "'" + text
    assert row["lon"] == "-0.5" and row["name"] == station.name   # numbers stay numbers


def test_a_csv_import_drops_exactly_the_quote_an_export_added():
    rows = [["name", "kind", "lon", "lat", "notes", "host", "address"],
            ["'=公式驿站", "love_station", "118.7784", "32.0470", "'+86", "'plain", "'中山路"]]

    (station,) = read(csv_bytes(rows), "quoted.csv").stations

    assert (station.name, station.notes) == ("=公式驿站", "+86")
    assert (station.host, station.address) == ("'plain", "'中山路")


def test_station_text_is_normalised_and_names_equal_after_it_are_duplicates():
    rows = [["name", "kind", "lon", "lat", "address"],
            ["新街口\u200b爱心驿站", "love_station", 118.7784, 32.0411, "中山路\u202e１号"],
            ["ＡＢＣ驿站", "love_station", 118.7700, 32.0450, "\ufeff"],
            ["ABC\u2066驿站", "love_station", 118.7700, 32.0451, ""]]

    plan = read(csv_bytes(rows), "invisible.csv")

    assert located(plan) == [(2, "name"), (4, "name")]
    assert "station 1" in message(plan, 2, "name") and "line 3" in message(plan, 4, "name")
    (abc,) = plan.stations
    assert (abc.name, abc.address) == ("ＡＢＣ驿站", "")


#: Characters that show nothing: format characters (bidi marks and controls, the soft hyphen,
#: the Mongolian vowel separator, invisible operators, tags), the combining grapheme joiner,
#: variation selectors and the Hangul fillers.
INVISIBLE = ["\u061c", "\u00ad", "\u180e", "\u2061", "\u206a", "\ufe0f", "\U000e0041",
             "\u034f", "\u3164", "\u115f", "\u1160", "\uffa0", "\ufe00", "\U000e0100",
             "\U000e01ef", "\u200b", "\u202e", "\ufeff", "\u2066"]


@pytest.mark.parametrize("character", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_characters_are_removed_from_text_and_names(character):
    assert clean_text(f"新街口{character}驿站") == "新街口驿站"
    assert name_key(f"新街口{character}驿站") == name_key("新街口驿站")


def test_cleaning_keeps_text_composed_and_full_width_punctuation_as_written():
    assert clean_text("Cafe\u0301（演示）") == "Caf\u00e9（演示）"
    assert clean_text("e\u0301\u034f\u0323") == unicodedata.normalize("NFC", "e\u0301\u0323")


def test_control_characters_in_text_are_refused_naming_the_field():
    rows = [["name", "kind", "lon", "lat", "notes", "phone"],
            ["驿站\x01", "love_station", 118.7784, 32.0470, "a\x7fb", "110\x1b"],
            ["驿站二", "love_station", 118.7700, 32.0450, "第一行\n\t第二行", ""]]

    plan = read(csv_bytes(rows), "control.csv")

    assert sorted(located(plan)) == [(2, "name"), (2, "notes"), (2, "phone")]
    assert "U+0001" in message(plan, 2, "name") and "U+007F" in message(plan, 2, "notes")
    assert [s.notes for s in plan.stations] == ["第一行\n\t第二行"]

def test_an_excel_export_has_a_bold_header_the_stations_and_an_about_sheet():
    data = export_stations(export_sample(), "xlsx", ATTRIBUTION)

    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["stations", "about"]
    sheet = book["stations"]
    header = [cell.value for cell in sheet[1]]
    assert header == [*COLUMNS, ATTRIBUTION_COLUMN]
    assert all(cell.font.bold for cell in sheet[1])
    rows = [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [row["demo"] for row in rows] == [False, False, True]
    assert [row[ATTRIBUTION_COLUMN] for row in rows] == [ATTRIBUTION] * 3
    assert rows[2]["host"] == "=中国石化加油站"   # text, not a formula
    about = [row for row in book["about"].iter_rows(values_only=True)]
    assert ("attribution", ATTRIBUTION) == about[0][:2]
    assert ("kind", "courier_home", "快递员之家", "courier home") in about
    assert ("amenities", "wifi", "无线网络", "Wi-Fi") in about


def test_a_geojson_export_is_a_feature_collection_with_the_attribution_and_chinese_unescaped():
    data = export_stations(export_sample(), "geojson", ATTRIBUTION)

    assert "新街口爱心驿站".encode() in data
    body = json.loads(data)
    assert body["type"] == "FeatureCollection" and body["attribution"] == ATTRIBUTION
    feature = body["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [118.7784, 32.0411]}
    assert feature["properties"]["amenities"] == ["drinking_water", "microwave"]
    assert [f["properties"]["demo"] for f in body["features"]] == [False, False, True]


def test_a_geopackage_export_reads_in_geopandas_with_the_attribution(tmp_path):
    path = tmp_path / "stations.gpkg"
    path.write_bytes(export_stations(export_sample(), "gpkg", ATTRIBUTION))

    layer = gpd.read_file(path, layer="stations")
    assert layer.crs.to_epsg() == 4326
    assert list(layer["name"]) == [s.name for s in export_sample()]
    assert list(layer["demo"]) == [False, False, True]
    assert list(layer.geometry.x) == [s.lon for s in export_sample()]
    with sqlite3.connect(path) as db:
        (description,) = db.execute(
            "select description from gpkg_contents where table_name = 'stations'").fetchone()
    assert description == ATTRIBUTION


def test_an_unknown_export_format_is_refused():
    with pytest.raises(ValueError, match="'shp'"):
        export_stations(export_sample(), "shp", ATTRIBUTION)


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_csv_and_geojson_exports_read_back_as_exactly_the_same_stations(fmt):
    stations = export_sample()

    plan = read(export_stations(stations, fmt, ATTRIBUTION), f"stations.{fmt}",
                existing=stations, default_datum="gcj02")

    assert plan.problems == []
    assert plan.stations == stations


def test_an_excel_export_reads_back_as_the_same_stations_with_coordinates_to_16_digits():
    stations = export_sample()

    plan = read(export_stations(stations, "xlsx", ATTRIBUTION), "stations.xlsx",
                existing=stations)

    # openpyxl writes numbers with 16 significant digits (10 nm here); everything else is exact.
    assert plan.problems == []
    assert plan.stations == [
        Station(**{**vars(s), "lon": float(f"{s.lon:.16g}"), "lat": float(f"{s.lat:.16g}")})
        for s in stations
    ]
    assert plan.stations[0] == stations[0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_stations_not_yet_stored_read_back_as_new_stations(fmt):
    stations = [Station(**{**vars(s), "id": None, "created_at": None, "updated_at": None,
                           "version": 0}) for s in existing_stations()]

    plan = read(export_stations(stations, fmt, ATTRIBUTION), f"new.{fmt}", existing=[])

    assert plan.problems == [] and plan.stations == stations


def test_a_plan_is_stored_by_the_caller_and_nothing_before(tmp_path):
    store = StationStore(Database(f"sqlite:///{tmp_path / 'yizhan.db'}"))
    data = (DATA / "good_chinese_gcj02.csv").read_bytes()

    plan = read_station_file(data, "stations.csv", "nanjing", store.list(region="nanjing"),
                             default_datum="gcj02")
    assert store.count() == 0
    stored = store.add_many(plan.stations, actor="staff")

    assert [s.name for s in store.list(region="nanjing")] == [s.name for s in plan.stations]
    again = read_station_file(data, "stations.csv", "nanjing", stored, default_datum="gcj02")
    assert [p.message.split(":")[0] for p in again.problems] == ["duplicate"] * 3
    store.close()
