"""The yizhan command: regions, builds and nearest-station answers as text and GeoJSON."""

import json

from click.testing import CliRunner

from tests.support import SMALL, run
from web.cli import main


def test_region_list_shows_the_demo_regions():
    result = run("region", "list")
    assert result.exit_code == 0
    assert "nanjing" in result.output and "(default)" in result.output and "jinan" in result.output


def test_region_add_builds_and_lists_the_new_region(fresh_instance):
    result = run("region", "add", "town", "--osm", str(SMALL), "--title", "小镇")
    assert result.exit_code == 0, result.output
    assert "added region town" in result.output
    assert "town" in run("region", "list").output


def test_region_add_names_the_problem_with_a_bad_file(fresh_instance, tmp_path):
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><way id='1'")
    result = run("region", "add", "broken", "--osm", str(bad))
    assert result.exit_code != 0
    assert "broken.osm" in result.output
    assert "broken" not in run("region", "list").output


def test_build_reports_sizes_and_dropped_nodes():
    result = run("build", "--region", "nanjing")
    assert result.exit_code == 0
    for mode in ("walk", "ebike", "truck"):
        assert mode in result.output
    assert "dropped" in result.output


def test_nearest_prints_stations_by_travel_time_with_the_demo_label():
    result = run("nearest", "--region", "nanjing", "--lat", "32.0418", "--lon", "118.7790",
                 "--mode", "walk", "-k", "2")
    assert result.exit_code == 0, result.output
    assert "1. " in result.output and "2. " in result.output and "min" in result.output
    assert "[demo data]" in result.output and "OpenStreetMap" in result.output


def test_nearest_json_is_geojson_with_points_and_route_lines():
    result = run("nearest", "--region", "nanjing", "--lat", "32.0418", "--lon", "118.7790",
                 "--mode", "ebike", "--json")
    body = json.loads(result.output)
    assert body["type"] == "FeatureCollection" and "OpenStreetMap" in body["attribution"]
    kinds = [f["geometry"]["type"] for f in body["features"]]
    assert kinds == ["Point", "LineString"] * (len(kinds) // 2) and kinds
    station = body["features"][0]["properties"]
    assert station["rank"] == 1 and station["time_s"] >= 0 and station["distance_m"] >= 0
    assert station["demo"] is True


def test_nearest_refuses_bad_input_with_a_clear_message():
    result = run("nearest", "--region", "atlantis", "--lat", "32", "--lon", "118")
    assert result.exit_code != 0 and "unknown region 'atlantis'" in result.output
    result = run("nearest", "--region", "nanjing", "--lat", "132", "--lon", "118")
    assert result.exit_code != 0 and "lat" in result.output


def test_nearest_refuses_a_point_outside_the_region_as_the_api_does(tmp_path):
    from tests.support import make_app

    far = {"lat": "49.0", "lon": "118.7790"}  # about 1,900 km north of Nanjing
    result = run("nearest", "--region", "nanjing", "--lat", far["lat"], "--lon", far["lon"])
    answer = make_app(tmp_path).test_client().get("/api/v1/nearest", query_string=far)
    message = answer.get_json()["error"]["message"]
    assert answer.status_code == 400 and message == "the point (118.77900, 49.00000) is " \
                                                    "outside region 'nanjing'"
    assert result.exit_code != 0 and result.output == f"Error: {message}\n"


def test_region_add_names_the_file_of_a_bad_coordinate_without_a_traceback(fresh_instance,
                                                                           tmp_path):
    bad = tmp_path / "bad-coordinate.osm"
    bad.write_text(SMALL.read_text(encoding="utf-8").replace('lat="', 'lat="x', 1),
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["region", "add", "broken", "--osm", str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines()[-1] == (
        f"Error: cannot read OSM file {bad}: wrong format for coordinate: 'x32.0400'")
    assert "broken" not in run("region", "list").output


def test_region_add_names_a_truncated_pbf_file(fresh_instance, tmp_path):
    import osmium

    whole = tmp_path / "whole.osm.pbf"
    with osmium.SimpleWriter(str(whole)) as writer:
        for obj in osmium.FileProcessor(str(SMALL)):
            writer.add(obj)
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = CliRunner().invoke(main, ["region", "add", "cut", "--osm", str(cut)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines()[-1].startswith(f"Error: cannot read OSM file {cut}: ")
    assert "cut" not in run("region", "list").output


DEAD_END_TRUNK = """<?xml version="1.0"?>
<osm version="0.6">
 <bounds minlat="32.0400" minlon="118.7800" maxlat="32.0500" maxlon="118.7900"/>
 <node id="1" lat="32.0410" lon="118.7810"/>
 <node id="2" lat="32.0410" lon="118.7850"/>
 <node id="3" lat="32.0450" lon="118.7850"/>
 <node id="4" lat="32.0470" lon="118.7850"/>
 <node id="5" lat="32.0430" lon="118.7870"/>
 <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/>
  <tag k="highway" v="residential"/></way>
 <way id="2"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/></way>
 <way id="3"><nd ref="2"/><nd ref="5"/><tag k="highway" v="trunk"/><tag k="oneway" v="yes"/></way>
</osm>
"""


def test_region_add_shows_progress_and_what_each_network_dropped(fresh_instance, tmp_path):
    source = tmp_path / "dead_end.osm"
    source.write_text(DEAD_END_TRUNK, encoding="utf-8")
    result = CliRunner().invoke(main, ["region", "add", "dead", "--osm", str(source)])
    assert result.exit_code == 0, result.output
    assert "reading dead_end.osm" in result.stderr and "building networks" in result.stderr
    truck = next(line for line in result.stdout.splitlines() if line.startswith("truck"))
    assert "outside the largest strongly connected part" in truck and "trunk 0.2" in truck
    walk = next(line for line in result.stdout.splitlines() if line.startswith("walk"))
    assert "nothing dropped" in walk
