"""Clipping a region out of a larger OSM file: boundaries, clip areas and the kept objects."""

import json
import shutil

import pytest
import shapely

from geo.clip import (
    Boundary,
    ClipError,
    clip_file,
    find_boundary,
    parse_bbox,
    read_boundaries,
    read_polygon_file,
)
from tests.support import EAST, contents, triangle
from tests.two_districts import lonlat, write_two_districts

needs_osmium_tool = pytest.mark.skipif(
    shutil.which("osmium") is None,
    reason="clipping runs osmium-tool's `osmium extract` (apt install osmium-tool)")

@pytest.fixture
def districts(tmp_path):
    return write_two_districts(tmp_path / "districts.osm.pbf")


def test_boundaries_are_listed_by_level_then_name_with_names_and_area(districts):
    found = read_boundaries(districts)
    assert [b.id for b in found] == [101, 102, 105, 103, 104, 108, 106]
    west = found[1]
    assert (west.name, west.name_zh, west.name_en, west.admin_level) == (
        "西区", "西区街道", "West District", 6)
    # 0.01° of longitude by 0.01° of latitude at 32° N
    assert west.area_km2 == pytest.approx(0.944 * 1.109, rel=0.01)
    assert [b.id for b in read_boundaries(districts, level=6)] == [101, 102]


def test_a_malformed_boundary_is_listed_with_what_is_wrong(districts):
    found = {b.id: b for b in read_boundaries(districts)}
    assert found[105].geometry is None and "outer ring is not closed" in found[105].problem
    assert found[106].geometry is None and "member ways are not in the file: 999" in \
        found[106].problem
    assert found[108].geometry is None and "nodes of way 906 are not in the file: 1053" in \
        found[108].problem


@pytest.mark.parametrize("key", ["东区", "East District", "east district", "101", " 101 "])
def test_a_boundary_is_found_by_name_english_name_or_relation_id(districts, key):
    found = find_boundary(districts, key)
    assert found.id == 101
    assert found.geometry.equals(shapely.box(*lonlat(0, 0), *lonlat(10, 10)))


def test_a_boundary_is_found_by_its_chinese_name_tag(districts):
    assert find_boundary(districts, "西区街道").id == 102


@pytest.mark.parametrize("key, message", [
    ("新村", r"2 boundaries are named '新村': relation 103 .*; relation 104 .*give one by its "
            "relation id"),
    ("北区", "no boundary named '北区' is an administrative boundary"),
    ("107", "relation 107 is not an administrative boundary"),
    ("555", "relation 555 is not an administrative boundary"),
    ("断环", "relation 105 .* cannot be used: its outer ring is not closed"),
    ("缺边", "relation 106 .* cannot be used: these member ways are not in the file: 999"),
    ("缺点", "relation 108 .* cannot be used: these nodes of way 906 are not in the file: 1053"),
])
def test_a_boundary_that_is_not_one_usable_relation_is_an_error_naming_the_file(
        districts, key, message):
    with pytest.raises(ClipError, match=message) as error:
        find_boundary(districts, key)
    assert str(error.value).startswith(str(districts))


def test_an_unreadable_or_missing_file_is_an_error_naming_it(tmp_path):
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><relation id='1'")
    with pytest.raises(ClipError, match="broken.osm: cannot read OSM file"):
        read_boundaries(broken)
    with pytest.raises(ClipError, match="no such file: .*missing.osm.pbf"):
        find_boundary(tmp_path / "missing.osm.pbf", "东区")


def test_a_bbox_is_west_south_east_north():
    assert parse_bbox("118.0, 32.0,118.01,32.02").bounds == (118.0, 32.0, 118.01, 32.02)


@pytest.mark.parametrize("text, message", [
    ("118,32,119", "give four numbers W,S,E,N"),
    ("118,32,east,33", "give four numbers W,S,E,N"),
    ("118,32,nan,33", "must be finite"),
    ("118,32,119,95", r"latitudes in \[-90, 90\]"),
    ("119,32,118,33", "the box is empty"),
    ("118,32,118,33", "the box is empty"),
])
def test_a_malformed_or_empty_bbox_is_an_error_naming_it(text, message):
    with pytest.raises(ClipError, match=message) as error:
        parse_bbox(text)
    assert repr(text) in str(error.value)


@pytest.mark.parametrize("wrap", [
    lambda g: g,
    lambda g: {"type": "Feature", "properties": {}, "geometry": g},
    lambda g: {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": g}]},
])
def test_a_polygon_file_is_a_geometry_a_feature_or_a_feature_collection(tmp_path, wrap):
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps(wrap(triangle())))
    assert read_polygon_file(path).equals(shapely.geometry.shape(triangle()))


def test_a_polygon_with_heights_is_read_flat(tmp_path):
    path = tmp_path / "heights.geojson"
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [[
        [118.76, 32.03, 5], [118.78, 32.03, 5], [118.78, 32.05, 5], [118.76, 32.03, 5]]]}))
    area = read_polygon_file(path)
    assert not area.has_z and area.equals(shapely.Polygon(
        [(118.76, 32.03), (118.78, 32.03), (118.78, 32.05)]))


@pytest.mark.parametrize("content, message", [
    ("{", "cannot read a GeoJSON file"),
    (json.dumps({"type": "Point", "coordinates": [118, 32]}), "must be a Polygon or Multi"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "holds no polygon"),
    (json.dumps({"type": "Polygon", "coordinates": [[[118, 32], [118.1, 32.1], [118.1, 32],
                                                     [118, 32.1], [118, 32]]]}),
     "not valid .*Self-intersection"),
    (json.dumps({"type": "Polygon", "coordinates": [[[118, 32], [118.1]]]}),
     "malformed coordinates"),
    (json.dumps({"type": "Polygon", "coordinates": [[[400000, 3500000], [400100, 3500000],
                                                     [400100, 3500100], [400000, 3500000]]]}),
     "must be WGS-84"),
])
def test_an_invalid_polygon_file_is_an_error_naming_it(tmp_path, content, message):
    path = tmp_path / "area.geojson"
    path.write_text(content)
    with pytest.raises(ClipError, match=message) as error:
        read_polygon_file(path)
    assert str(error.value).startswith(str(path))


@needs_osmium_tool
@pytest.mark.parametrize("key", ["东区", "101"])
def test_a_clip_to_a_boundary_keeps_crossing_ways_and_multipolygons_whole(
        districts, tmp_path, key):
    target = tmp_path / "east.osm.pbf"
    counts = clip_file(districts, find_boundary(districts, key).geometry, target)
    assert contents(target) == EAST
    assert (counts.nodes, counts.ways, counts.relations) == tuple(map(len, EAST))


@needs_osmium_tool
def test_a_clip_to_a_bbox_keeps_what_reaches_into_the_box(districts, tmp_path):
    target = tmp_path / "south.osm.pbf"
    clip_file(districts, parse_bbox("117.999,31.999,118.011,32.004"), target)
    # footway 5 and the district's ring reach in; street 1 (at 32.005) does not
    assert contents(target) == ({1, 8, 9, 1001, 1002, 1003, 1004}, {5, 901}, {101})


@needs_osmium_tool
def test_a_clip_to_a_polygon_keeps_what_reaches_into_the_polygon(districts, tmp_path):
    target = tmp_path / "triangle.osm.pbf"
    clip_file(districts, shapely.geometry.shape(triangle()), target)
    assert contents(target) == ({1, 2, 3, 4, 8, 1021, 1022, 1023, 1024}, {1, 2, 5, 903},
                                {103, 107})


@needs_osmium_tool
def test_an_area_with_no_node_inside_is_an_error_and_writes_nothing(districts, tmp_path):
    target = tmp_path / "sea.osm.pbf"
    with pytest.raises(ClipError, match="no node lies inside the area"):
        clip_file(districts, parse_bbox("120,30,121,31"), target)
    assert not target.exists()


def test_the_area_of_a_boundary_leaves_its_holes_out():
    outer = shapely.box(*lonlat(0, 0), *lonlat(10, 10))
    hole = shapely.box(*lonlat(2, 2), *lonlat(4, 4))
    with_hole = Boundary(1, {}, geometry=outer.difference(hole))
    assert with_hole.area_km2 == pytest.approx(
        Boundary(2, {}, geometry=outer).area_km2 * 0.96, rel=1e-3)


@needs_osmium_tool
def test_a_file_osmium_cannot_clip_is_an_error_naming_it_with_osmiums_reason(tmp_path):
    unsorted = tmp_path / "unsorted.osm"
    unsorted.write_text(
        "<?xml version='1.0'?><osm version='0.6'>"
        "<node id='2' lat='32.001' lon='118.001'/><node id='1' lat='32.002' lon='118.002'/>"
        "<way id='1'><nd ref='1'/><nd ref='2'/><tag k='highway' v='residential'/></way></osm>")
    with pytest.raises(ClipError, match="unsorted.osm: osmium extract failed: Node IDs out of "
                                        "order: 1 .*then relations in order of ID"):
        clip_file(unsorted, parse_bbox("118,32,118.01,32.01"), tmp_path / "out.osm.pbf")
