"""Station files on the staff pages and in the command, in the clerk's language: the import's
problems and the hours it read from words are said in the page's language, the template and
exports come in it, and a chosen Excel sheet is read.
"""

import csv
import io
import re

from click.testing import CliRunner
from openpyxl import load_workbook

from geo.database import Database
from geo.store import StationStore
from tests.support import add, csrf_token, post, signed_in, station_form, store
from tests.union_list import gbk_csv, union_workbook
from web.cli import main


def dry_run(client, data: bytes, filename: str, lang: str = "zh", **fields):
    """Send a station file to the import's dry run, on the page in a language."""
    return client.post(f"/staff/import?lang={lang}", data={
        "csrf_token": csrf_token(client), "step": "check", "region": "nanjing",
        "datum": "wgs84", "file": (io.BytesIO(data), filename), **fields,
    }, content_type="multipart/form-data")


def problem_rows(response) -> list[tuple[str, str, str]]:
    """(line, field, message) of every problem the page lists."""
    return re.findall(r'<td class="line">(\d+)</td><td class="field">([^<]*)</td>'
                      r'<td class="message">([^<]*)</td>', response.text)


def test_a_union_list_dry_run_says_each_problem_in_chinese_naming_line_and_column(app):
    staff = signed_in(app, "staff")

    response = dry_run(staff, gbk_csv(), "鼓楼区驿站名单.csv")

    assert response.status_code == 422
    problems = problem_rows(response)
    assert ("9", "开放时间", "无法识别开放时间“看值班情况”；请写成“周一至周五 8:30-17:30”“每天 "
                            "7:00-21:00”“24小时”或“Mo-Fr 08:30-17:30”。") in problems
    assert any(line == "10" and field == "类型" and "休息点" in message and "快递员之家" in message
               for line, field, message in problems)
    assert ("11", "经度", "此处为空，但必须填写。") in problems
    assert "expected" not in response.text and "unknown" not in response.text
    assert store(app).count() == 0


def test_the_dry_run_shows_hours_read_from_words_next_to_how_they_are_stored(app):
    staff = signed_in(app, "staff")

    response = dry_run(staff, gbk_csv(), "名单.csv")

    table = re.search(r'id="hours-read".*?</table>', response.text, re.S).group(0)
    assert re.search(r'<td class="line">3</td><td class="written">周一至周五 8:30-17:30</td>'
                     r'<td class="hours"><code>Mo-Fr 08:30-17:30</code></td>'
                     r'<td>周一至周五 08:30–17:30</td>', table)
    assert "工作日 9:00—17:00，周末休息" in table and "Mo-Fr 09:00-17:00; Sa,Su off" in table


def test_the_english_page_says_the_same_problems_in_english(app):
    staff = signed_in(app, "staff")

    response = dry_run(staff, gbk_csv(), "名单.csv", lang="en")

    assert ("11", "Longitude", "This cell is empty; it is required.") in problem_rows(response)
    assert "Opening hours read from words" in response.text


def test_a_chosen_sheet_is_read_and_carried_to_the_import(app):
    staff = signed_in(app, "staff")
    wrong = dry_run(staff, union_workbook(), "名单.xlsx", sheet="汇总")
    assert wrong.status_code == 422
    assert "名单.xlsx 中没有名为“汇总”的工作表；它的工作表有：封面, 驿站名单。" in wrong.text

    response = dry_run(staff, union_workbook(), "名单.xlsx", sheet="驿站名单")

    assert "共 12 行：8 行无误，4 行有问题。" in response.text
    assert len(problem_rows(response)) == 5


def test_the_template_downloads_in_the_page_language_and_imports_its_example(app):
    staff = signed_in(app, "staff", "wang")
    page = staff.get("/staff/import")
    assert 'href="/staff/import/template"' in page.text

    template = staff.get("/staff/import/template")

    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(template.data))
    assert book.sheetnames == ["驿站", "填写说明"]
    checked = dry_run(staff, template.data, "模板.xlsx")
    assert checked.status_code == 200 and problem_rows(checked) == []
    form = re.search(r'<form[^>]*id="import-form".*?</form>', checked.text, re.S).group(0)
    assert 'name="sheet" value=""' in form
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    assert staff.post("/staff/import", data=fields).status_code == 302
    (station,) = store(app).list(region="nanjing")
    assert (station.name, station.opening_hours) == ("新街口爱心驿站（示例）", "Mo-Fr 08:30-17:30")
    assert signed_in(app, "viewer").get("/staff/import/template").status_code == 403


def test_export_is_in_chinese_on_the_chinese_page_and_reads_back(app):
    add(app, amenities=("drinking_water", "phone_charging"))
    staff = signed_in(app, "staff")

    chinese = staff.get("/staff/export?region=nanjing&format=csv").data.decode("utf-8-sig")
    english = staff.get("/staff/export?region=nanjing&format=csv&lang=en").data.decode(
        "utf-8-sig")

    (row,) = csv.DictReader(io.StringIO(chinese))
    assert (row["类型"], row["设施"]) == ("户外劳动者爱心驿站", "饮用水、手机充电")
    (row,) = csv.DictReader(io.StringIO(english))
    assert (row["kind"], row["amenities"]) == ("love_station", "drinking_water;phone_charging")


def test_the_station_form_reads_hours_in_words_and_explains_hours_it_cannot_read(app):
    staff = signed_in(app, "staff")
    added = post(staff, "/staff/stations/new", station_form(opening_hours="周一至周五 8:30-17:30"))
    assert added.status_code == 302
    assert store(app).list(region="nanjing")[0].opening_hours == "Mo-Fr 08:30-17:30"

    refused = post(staff, "/staff/stations/new",
                   station_form(name="另一个驿站", opening_hours="看值班情况"))

    message = re.search(r'id="error-opening_hours"[^>]*>([^<]+)<', refused.text).group(1)
    assert "无法识别开放时间“看值班情况”" in message and "expected" not in message


def test_the_commands_write_the_template_export_in_a_language_and_read_a_chosen_sheet(
        tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    template = tmp_path / "模板.xlsx"
    written = runner.invoke(main, ["import", "--template", str(template)])
    assert written.exit_code == 0 and load_workbook(template).sheetnames == ["驿站", "填写说明"]
    book = tmp_path / "名单.xlsx"
    book.write_bytes(union_workbook())
    listed = runner.invoke(main, ["import", "--region", "nanjing", "--sheet", "驿站名单",
                                  "--dry-run", str(book)])
    assert listed.exit_code == 1
    assert "line 10, opening_hours: cannot read opening hours '看值班情况'" in listed.output
    assert ("line 4, opening_hours: '周一至周五 8:30-17:30' read as 'Mo-Fr 08:30-17:30'"
            in listed.output)
    assert runner.invoke(main, ["import", "--region", "nanjing", str(template)]).exit_code == 0
    chinese, english = tmp_path / "zh.csv", tmp_path / "en.csv"
    for path, options in ((chinese, []), (english, ["--lang", "en"])):
        result = runner.invoke(main, ["export", "--region", "nanjing", "-o", str(path),
                                      *options])
        assert result.exit_code == 0
    assert chinese.read_text(encoding="utf-8-sig").startswith("编号,名称,类型")
    assert english.read_text(encoding="utf-8-sig").startswith("id,name,kind")
    assert StationStore(Database(url)).count() == 1
