"""Station lists as unions really keep them: a GBK CSV saved by Excel on Chinese Windows and an
Excel workbook with a title row and merged two-row headers, Chinese headers and values with
their everyday synonyms, and opening hours written as people write them. Every row is imported
or flagged with a reason naming its line and column; exports in Chinese and the template read
back as the same stations.
"""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from geo.cells import fold
from geo.hours import hours_error, read_hours
from geo.records import HoursRead, read_station_file
from geo.sheets import HEADER_COLUMNS, RecordsError
from geo.station_export import TEMPLATE_COLUMNS, export_stations, station_template
from geo.stations import Station
from geo.vocabulary import HEADERS, SYNONYMS, VOCABULARIES
from tests.union_list import FLAGGED, HOURS, NANJING_BOUNDS, ROWS, gbk_csv, union_workbook


def read(data: bytes, filename: str, **options):
    """Read a file for Nanjing, with no stations stored yet."""
    return read_station_file(data, filename, "nanjing", [], region_bounds=NANJING_BOUNDS,
                             **options)


def check_union_list(plan, first_line: int) -> None:
    """Every row of the union list is imported with its hours read, or flagged for the
    expected columns; ``first_line`` is the line of the first row."""
    assert plan.rows == len(ROWS)
    flagged = {}
    for problem in plan.problems:
        flagged.setdefault(problem.line - first_line + 1, []).append(
            (problem.field, problem.code))
    assert {row: sorted(found) for row, found in flagged.items()} == {
        row: sorted(expected) for row, expected in FLAGGED.items()}
    assert [s.name for s in plan.stations] == [
        ROWS[row - 1][0] for row in range(1, len(ROWS) + 1) if row not in FLAGGED]
    assert [s.opening_hours for s in plan.stations] == list(HOURS.values())
    first = plan.stations[0]
    assert (first.kind, first.status, first.host) == (
        "love_station", "open", "中国电信中山路营业厅")
    assert first.amenities == ("drinking_water", "microwave", "phone_charging",
                               "air_conditioning")
    assert plan.stations[1].kind == "courier_home"
    assert plan.stations[1].amenities == ("hot_water", "phone_charging")
    assert [s.kind for s in plan.stations[-2:]] == ["truck_driver_home",
                                                    "platform_worker_station"]
    assert all(s.id is None for s in plan.stations)   # 序号 is not a station id


def test_a_gbk_csv_with_a_title_row_imports_every_good_row_and_flags_the_others():
    plan = read(gbk_csv(), "鼓楼区驿站名单.csv")

    check_union_list(plan, first_line=3)
    assert HoursRead(3, "周一至周五 8:30-17:30", "Mo-Fr 08:30-17:30") in plan.hours_read
    assert HoursRead(7, "８：３０－１７：３０", "08:30-17:30") in plan.hours_read
    assert [read.line for read in plan.hours_read] == [3, 4, 5, 6, 7, 13, 14]  # OSM kept as is


def test_an_excel_list_with_a_merged_title_and_a_two_row_header_is_read_from_a_chosen_sheet():
    plan = read(union_workbook(), "鼓楼区驿站名单.xlsx", sheet="驿站名单")

    check_union_list(plan, first_line=4)


def test_the_first_sheet_is_read_unless_another_is_chosen_and_an_unknown_sheet_is_named():
    with pytest.raises(RecordsError, match="no station rows") as raised:
        read(union_workbook(), "名单.xlsx")   # the cover sheet
    assert raised.value.code == "no_rows"

    with pytest.raises(RecordsError, match="'汇总'.*封面, 驿站名单") as raised:
        read(union_workbook(), "名单.xlsx", sheet="汇总")
    assert raised.value.code == "sheet" and raised.value.params["sheets"] == "封面, 驿站名单"


def test_every_problem_names_its_line_its_column_and_the_value_as_written():
    plan = read(gbk_csv(), "名单.csv")

    hours = next(p for p in plan.problems if p.field == "opening_hours")
    assert (hours.line, hours.code, hours.params) == (9, "hours", {"value": "看值班情况"})
    assert "expected" not in hours.message and "看值班情况" in hours.message
    kind = next(p for p in plan.problems if p.field == "kind")
    assert (kind.line, kind.params["value"]) == (10, "休息点")
    amenity = next(p for p in plan.problems if p.field == "amenities")
    assert (amenity.line, amenity.params["value"]) == (12, "桑拿")


@pytest.mark.parametrize(("written", "hours"), [
    ("周一至周五 8:30-17:30", "Mo-Fr 08:30-17:30"),
    ("每天 7:00-21:00", "07:00-21:00"),
    ("工作日 9:00—17:00", "Mo-Fr 09:00-17:00"),
    ("24小时", "24/7"),
    ("7×24小时", "24/7"),
    ("全天开放", "24/7"),
    ("周末休息", "Sa,Su off"),
    ("８：３０－１７：３０", "08:30-17:30"),
    ("周一至周六 8:00-18:00", "Mo-Sa 08:00-18:00"),
    ("星期一到星期五 上午8:00-下午5:30", "Mo-Fr 08:00-17:30"),
    ("下午2点-5点", "14:00-17:00"),
    ("晚上8点-11点", "20:00-23:00"),
    ("晚上8点-2点", "20:00-02:00"),
    ("周一至周五 上午8:30-11:30 下午2:30-5:30", "Mo-Fr 08:30-11:30,14:30-17:30"),
    ("周一至周五：8:00-12:00、14:00-18:00；周六 9:00-12:00",
     "Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00"),
    ("周一至周五 8:30-17:30，周末及法定节假日休息", "Mo-Fr 08:30-17:30; Sa,Su,PH off"),
    ("开放时间：9点-17点", "09:00-17:00"),
    ("周一、周三 9:00-17:00", "Mo,We 09:00-17:00"),
    ("Mo-Fr 08:00-18:00; PH off", "Mo-Fr 08:00-18:00; PH off"),
    ("", ""),
])
def test_hours_as_people_write_them_read_as_valid_osm_opening_hours(written, hours):
    assert read_hours(written) == hours
    assert hours_error(hours) is None


@pytest.mark.parametrize("written", ["看值班情况", "周八 9:00-17:00", "9:00到下班",
                                     "周一至周五", "8:61-17:00"])
def test_hours_that_cannot_be_understood_are_refused(written):
    with pytest.raises(ValueError, match=written):
        read_hours(written)


def sample_stations() -> list[Station]:
    """New stations with every vocabulary and kind of value."""
    return [
        Station(name="中山路爱心驿站", region="nanjing", kind="love_station", lon=118.7784,
                lat=32.0411, amenities=("drinking_water", "microwave", "wifi"),
                opening_hours="Mo-Fr 08:30-17:30; PH off", phone="025-8888 1234",
                capacity=8, verified_on=date(2024, 5, 1), level="municipal"),
        Station(name="汉中路快递员之家", region="nanjing", kind="courier_home", lon=118.77,
                lat=32.045, status="suspended", smart_24h=True, demo=True, notes="第一行\n第二行"),
    ]


def test_a_chinese_csv_export_has_chinese_headers_and_values():
    rows = list(csv.reader(io.StringIO(
        export_stations(sample_stations(), "csv", "© OSM", "zh").decode("utf-8-sig"))))

    assert rows[0][:5] == ["编号", "名称", "类型", "状态", "经度"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["类型"], record["状态"], record["级别"]) == (
        "户外劳动者爱心驿站", "开放", "市级")
    assert record["设施"] == "饮用水、微波炉、无线网络"
    assert (record["24小时智能驿站"], record["演示数据"]) == ("否", "否")
    assert record["数据来源"] == "© OSM"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_chinese_export_reads_back_as_the_same_new_stations(fmt):
    stations = sample_stations()

    plan = read(export_stations(stations, fmt, "© OSM", "zh"), f"驿站.{fmt}")

    assert plan.problems == [] and plan.hours_read == []
    assert plan.stations == stations


def test_a_chinese_excel_export_names_its_sheets_in_chinese():
    book = load_workbook(io.BytesIO(export_stations(sample_stations(), "xlsx", "© OSM", "zh")))

    assert book.sheetnames == ["驿站", "说明"]
    assert [cell.value for cell in book["驿站"][1]][:3] == ["编号", "名称", "类型"]


def test_the_template_has_an_example_row_and_a_sheet_explaining_every_column():
    book = load_workbook(io.BytesIO(station_template("zh")))

    stations, notes = book.worksheets
    assert [cell.value for cell in stations[1]] == [HEADERS[c][0] for c in TEMPLATE_COLUMNS]
    assert stations.max_row == 2
    explained = {row[1]: row for row in notes.iter_rows(min_row=2, values_only=True)}
    assert set(explained) == set(HEADERS)
    assert "快递小哥之家" in explained["kind"][3] and "手机充电" in explained["amenities"][3]
    assert "24小时" in explained["opening_hours"][2]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_template_imports_its_example_row_as_one_new_station(lang):
    plan = read(station_template(lang), "模板.xlsx")

    assert plan.problems == []
    (station,) = plan.stations
    assert (station.kind, station.opening_hours) == ("love_station", "Mo-Fr 08:30-17:30")
    assert plan.hours_read == [HoursRead(2, "周一至周五 8:30-17:30", "Mo-Fr 08:30-17:30")]


def test_every_header_and_every_term_name_means_one_thing():
    headers = [h for column, (zh, en, more) in HEADERS.items()
               for h in {fold(name) for name in (column, zh, en, *more)}]
    assert len(headers) == len(set(headers)) == len(HEADER_COLUMNS)
    assert "序号" not in HEADER_COLUMNS
    for column, vocabulary in VOCABULARIES.items():
        names = [name for term, (zh, en) in vocabulary.items()
                 for name in {fold(n) for n in (term, zh, en, *SYNONYMS[column].get(term, ()))}]
        assert len(names) == len(set(names)), column
