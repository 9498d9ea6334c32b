"""`yizhan recommend`: the same answer as the API, as a table, as JSON or as a file, and a
message naming the option for every request that cannot be answered."""

import csv
import json

import pytest

from tests.support import run

AREA = ("--region", "nanjing", "--group", "couriers", "--threshold", "3")


def test_json_lists_sites_with_their_gain_and_the_proven_gap():
    result = run("recommend", *AREA, "--k", "2", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["gap"] == 0 and body["optimal"] is True
    assert [site["rank"] for site in body["sites"]] == [1, 2]
    assert all(site["gain"] > 0 and site["name"] for site in body["sites"])
    assert body["attribution"].startswith("©")


def test_the_table_names_each_site_its_gain_and_the_gaps_it_closes():
    result = run("recommend", *AREA, "--k", "2")
    assert result.exit_code == 0, result.output
    assert "proven optimal" in result.output
    assert "  1. " in result.output and "  2. " in result.output
    assert "closes gap" in result.output
    assert "covered share by number of new sites: 0:" in result.output


@pytest.mark.parametrize("problem", ["lscp", "pmedian", "backup"])
def test_every_problem_runs(problem):
    options = ("--target", "0.97") if problem == "lscp" else ("--k", "2")
    result = run("recommend", *AREA, "--problem", problem, *options, "--no-curve", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["problem"] == problem


def test_sites_are_written_to_csv(tmp_path):
    out = tmp_path / "sites.csv"
    result = run("recommend", *AREA, "--k", "2", "--out", str(out), "--no-curve")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").split("\n#")[0]
                               .splitlines()))
    assert [row["rank"] for row in rows] == ["1", "2"]


@pytest.mark.parametrize(("args", "message"), [
    (("--k", "0"), "--k must be"),
    (("--problem", "lscp", "--target", "1.5"), "--target must be"),
    (("--problem", "lscp", "--target", "1.0"), "beyond reach"),
    (("--k", "1", "--category", "bank", "--min-distance", "100000"), "no candidate left"),
    (("--k", "1", "--candidates", "missing.csv"), "missing.csv"),
])
def test_requests_that_cannot_be_answered_say_why(args, message):
    result = run("recommend", *AREA, *args)
    assert result.exit_code != 0
    assert message in result.output


def test_a_road_file_region_has_no_sites_but_its_nodes_are_candidates():
    result = run("recommend", "--region", "jinan", "--group", "trucks", "--k", "1")
    assert result.exit_code != 0 and "nodes" in result.output
    result = run("recommend", "--region", "jinan", "--group", "trucks", "--threshold", "10",
                 "--k", "2", "--candidates", "nodes", "--no-curve", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["sites"]) == 2
