"""A large station file of bad rows is checked in bounded memory: the file is read row by row,
the first problems are listed (``IMPORT_PROBLEM_LIMIT``, 200 by default) and the rest counted,
on the staff import page, by ``yizhan import`` and by :func:`geo.records.read_station_file`."""

import gc
import io
import re
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

import geo.sheets
from geo.records import IMPORT_PROBLEM_LIMIT, RowProblem, read_station_file
from geo.sheets import RecordsError
from tests.support import csrf_token, make_app, signed_in
from web.cli import main

HEADER = "name,kind,lon,lat,phone\n"

#: A row with three problems: an unknown kind, a longitude that is no number, a phone with
#: letters.
BAD_ROW = "驿站 {i},nope,east,32.04,call-me\n"


def bad_csv(rows: int) -> bytes:
    return (HEADER + "".join(BAD_ROW.format(i=i) for i in range(rows))).encode()


def test_the_first_problems_are_listed_in_line_order_and_the_rest_counted():
    everything = read_station_file(bad_csv(100), "bad.csv", "nanjing", [], problem_limit=300)
    assert everything.problem_count == 300 and everything.more_problems == 0
    capped = read_station_file(bad_csv(100), "bad.csv", "nanjing", [], problem_limit=7)
    assert capped.problems == everything.problems[:7]
    assert (capped.more_problems, capped.problem_count, capped.rows) == (293, 300, 100)
    assert capped.problems[0] == RowProblem(2, "kind", capped.problems[0].message)


def test_the_default_list_holds_200_problems():
    assert IMPORT_PROBLEM_LIMIT == 200
    plan = read_station_file(bad_csv(1000), "bad.csv", "nanjing", [])
    assert (len(plan.problems), plan.more_problems) == (200, 2800)


def test_checking_a_csv_file_holds_neither_the_file_nor_its_problems(tmp_path, monkeypatch):
    monkeypatch.setattr(geo.sheets, "_CHUNK_BYTES", 1 << 14)
    path = tmp_path / "bad.csv"
    path.write_bytes(bad_csv(3000))
    tracemalloc.start()
    try:
        with open(path, "rb") as file:
            plan = read_station_file(file, "bad.csv", "nanjing", [])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plan.problem_count == 9000
    assert peak < 2 * path.stat().st_size  # 9,000 problems alone would take ten times more


def test_a_file_is_read_the_same_from_its_bytes_and_as_an_open_file_left_open(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(bad_csv(30))
    with open(path, "rb") as file:
        assert read_station_file(file, "bad.csv", "nanjing", []) == read_station_file(
            path.read_bytes(), "bad.csv", "nanjing", [])
        gc.collect()
        assert not file.closed


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_the_encoding_is_decided_by_the_whole_file_not_its_first_chunk(monkeypatch, encoding):
    """A UTF-8 character split across chunks is still UTF-8; a GB18030 character after the
    first chunks, all ASCII, makes the whole file GB18030."""
    monkeypatch.setattr(geo.sheets, "_CHUNK_BYTES", 7)
    data = "name,kind,lon,lat\nX驿站,love_station,118.78,32.04\n".encode(encoding)
    plan = read_station_file(data, "one.csv", "nanjing", [])
    assert plan.problems == [] and plan.stations[0].name == "X驿站"


def test_a_file_of_nothing_but_a_header_is_empty():
    with pytest.raises(RecordsError, match="no station rows"):
        read_station_file(HEADER.encode(), "bad.csv", "nanjing", [])
    with pytest.raises(RecordsError, match="no station rows"):
        read_station_file(b"name\n\n", "bad.csv", "nanjing", [])


def test_the_staff_page_lists_the_first_problems_and_says_how_many_more(tmp_path):
    app = make_app(tmp_path, IMPORT_PROBLEM_LIMIT=10)
    staff = signed_in(app, "staff")
    page = staff.post("/staff/import", data={
        "csrf_token": csrf_token(staff, "/staff/import"), "step": "check", "region": "nanjing",
        "file": (io.BytesIO(bad_csv(400)), "bad.csv")}, content_type="multipart/form-data")
    assert page.status_code == 422
    assert len(re.findall(r'<td class="line">', page.text)) == 10
    assert re.search(r'id="more-problems">[^<]*1,190', page.text)
    assert re.search(r'id="row-counts">[^<]*400[^<]*0[^<]*400', page.text)
    assert len(page.data) < 40_000
    assert list((Path(app.instance_path) / "uploads").iterdir()) == []


def test_the_import_command_lists_the_first_problems_and_counts_the_rest(tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    path = tmp_path / "bad.csv"
    path.write_bytes(bad_csv(50))
    result = CliRunner().invoke(main, ["import", "--region", "nanjing", str(path),
                                       "--max-problems", "4"])
    assert result.exit_code != 0 and "nothing was imported" in result.output
    assert len(re.findall(r"^line \d+, ", result.output, re.M)) == 4
    assert "… and 146 more problems" in result.output
    assert "50 rows: 0 good, 50 with problems" in result.output
