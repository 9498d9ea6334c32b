"""A region's life: added from a larger file by boundary, box or polygon, with some modes,
removed, and added again from a newer file with its stations."""

import json
import shutil
import stat

import osmium
import pytest
import shapely
from click.testing import CliRunner
from osmium.osm.mutable import Way

from geo.atlas import Atlas
from geo.build import product_collectors
from geo.clip import find_boundary
from geo.database import Database
from geo.extract import product_cache_path
from geo.osm import OsmSourceError
from geo.regions import (
    RegionError,
    add_region,
    get_region,
    list_regions,
    network_cache_path,
    remove_region,
)
from geo.stations import Station
from geo.store import StationStore, default_store_url
from tests.support import EAST, contents, triangle
from tests.two_districts import lonlat, write_campus, write_two_districts
from web.cli import main

needs_osmium_tool = pytest.mark.skipif(
    shutil.which("osmium") is None,
    reason="clipping runs osmium-tool's `osmium extract` (apt install osmium-tool)")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def districts(tmp_path):
    return write_two_districts(tmp_path / "districts.osm.pbf")


def added_folders(instance):
    """The folders under the instance's user regions, staging folders included."""
    regions = instance / "regions"
    return sorted(p.name for p in regions.iterdir()) if regions.exists() else []


@needs_osmium_tool
def test_a_region_from_a_boundary_keeps_only_its_clipped_extract_and_the_boundary(
        fresh_instance, districts):
    east = find_boundary(districts, "东区").geometry
    region = add_region("east", districts, modes=("walk",), area=east)
    folder = fresh_instance / "regions" / "east"
    assert sorted(p.name for p in folder.iterdir()) == ["boundary.geojson", "region.json",
                                                         "source.osm.pbf"]
    assert json.loads((folder / "region.json").read_text())["boundary"] == "boundary.geojson"
    assert contents(region.source) == EAST
    assert get_region("east").boundary.equals(east)
    assert "source: source.osm.pbf, clipped to boundary.geojson" in run("region", "list").output
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    assert network_cache_path(region, "walk").is_file()


@needs_osmium_tool
def test_a_region_is_added_from_a_bbox_or_a_polygon_file(fresh_instance, districts, tmp_path):
    polygon = tmp_path / "triangle.geojson"
    polygon.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": triangle()}]}))
    result = run("region", "add", "triangle", "--osm", str(districts), "--polygon", str(polygon),
                 "--modes", "walk")
    assert result.exit_code == 0, result.output
    assert get_region("triangle").boundary.equals(shapely.geometry.shape(triangle()))
    assert contents(get_region("triangle").source)[1] == {1, 2, 5, 903}
    result = run("region", "add", "box", "--osm", str(districts), "--bbox",
                 "117.999,31.999,118.011,32.006", "--modes", "walk")
    assert result.exit_code == 0, result.output
    assert get_region("box").boundary.bounds == (117.999, 31.999, 118.011, 32.006)
    assert contents(get_region("box").source)[1] == {1, 2, 5, 901}


def test_a_region_from_a_whole_file_has_no_boundary(fresh_instance, tmp_path):
    region = add_region("campus", write_campus(tmp_path / "campus.osm.pbf"), modes=("walk",))
    assert region.boundary is None


def test_a_footway_only_campus_is_added_with_walking_only(fresh_instance, tmp_path):
    campus = write_campus(tmp_path / "campus.osm.pbf")
    with pytest.raises(OsmSourceError, match="ebike"):
        add_region("campus", campus)
    result = run("region", "add", "campus", "--osm", str(campus), "--modes", "walk")
    assert result.exit_code == 0, result.output
    assert get_region("campus").modes == ("walk",)


def test_modes_must_be_known_modes(fresh_instance, tmp_path):
    result = run("region", "add", "campus", "--osm", str(tmp_path / "x.osm"), "--modes",
                 "walk,bus")
    assert result.exit_code == 2 and "'walk,bus': give one or more of walk, ebike, truck" in \
        result.output


def test_a_file_too_large_to_build_whole_says_how_to_pick_an_area(
        fresh_instance, districts, monkeypatch):
    monkeypatch.setenv("YIZHAN_MAX_BUILD_NODES", "10")
    result = run("region", "add", "province", "--osm", str(districts))
    assert result.exit_code == 1
    message = result.output.strip()
    assert message.startswith(f"Error: {districts}: about ") and "\n" not in message
    assert f"`yizhan region boundaries {districts}`" in message
    assert "--boundary" in message and "--bbox" in message and "--polygon" in message
    assert added_folders(fresh_instance) == []


@pytest.mark.parametrize("option, value, message", [
    ("--boundary", "北区", "no boundary named '北区' is an administrative boundary"),
    ("--boundary", "新村", "2 boundaries are named '新村': relation 103 (新村, admin_level 8); "
                          "relation 104 (新村, admin_level 8); give one by its relation id"),
    ("--boundary", "107", "relation 107 is not an administrative boundary"),
    ("--boundary", "断环", "relation 105 (断环, admin_level 8) cannot be used: its outer ring "
                          "is not closed"),
    ("--boundary", "缺边", "cannot be used: these member ways are not in the file: 999"),
    ("--boundary", "缺点", "cannot be used: these nodes of way 906 are not in the file: 1053"),
    ("--bbox", "118,32,118.01", "--bbox '118,32,118.01': give four numbers"),
    ("--bbox", "118.01,32,118,32.01", "--bbox '118.01,32,118,32.01': the box is empty"),
    ("--polygon", "missing.geojson", "missing.geojson: cannot read a GeoJSON file"),
])
def test_an_area_that_cannot_be_used_is_a_one_line_error_and_adds_nothing(
        fresh_instance, districts, option, value, message):
    result = run("region", "add", "east", "--osm", str(districts), option, value)
    assert result.exit_code == 1 and "Traceback" not in result.output
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: ") and message in error
    assert added_folders(fresh_instance) == []
    assert "east" not in [r.id for r in list_regions()]


@needs_osmium_tool
def test_an_area_holding_no_data_is_an_error_and_adds_nothing(fresh_instance, districts):
    result = run("region", "add", "sea", "--osm", str(districts), "--bbox", "120,30,121,31")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith(
        f"Error: {districts}: no node lies inside the area")
    assert added_folders(fresh_instance) == []


def test_only_one_area_option_is_taken(fresh_instance, districts):
    result = run("region", "add", "east", "--osm", str(districts), "--boundary", "东区",
                 "--bbox", "118,32,118.01,32.01")
    assert result.exit_code == 2 and "at most one of --boundary, --bbox and --polygon" in \
        result.output


def test_boundaries_lists_the_relations_of_a_file(districts):
    result = run("region", "boundaries", str(districts))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["101", "6", "1.05", "东区", "/", "东区", "/", "East", "District"]
    assert "105" in lines[3] and "(cannot be used: its outer ring is not closed" in lines[3]
    assert len(lines) == 8
    level = run("region", "boundaries", str(districts), "--level", "8").output.splitlines()
    assert [line.split()[0] for line in level[1:]] == ["105", "103", "104", "108", "106"]
    assert "no administrative boundary of admin_level 4" in run(
        "region", "boundaries", str(districts), "--level", "4").output


def test_boundaries_of_a_missing_file_is_an_error_naming_it(tmp_path):
    result = run("region", "boundaries", str(tmp_path / "nowhere.osm.pbf"))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: no such file: {tmp_path / 'nowhere.osm.pbf'}"


def test_a_demo_region_cannot_be_removed(fresh_instance):
    with pytest.raises(RegionError, match="'nanjing' ships with Yizhan and cannot be removed"):
        remove_region("nanjing")
    result = run("region", "remove", "atlantis")
    assert result.exit_code == 1 and "unknown region 'atlantis'" in result.output


@needs_osmium_tool
def test_a_removed_region_keeps_its_stations_for_the_region_added_again(
        fresh_instance, districts, tmp_path):
    added = run("region", "add", "east", "--osm", str(districts), "--boundary", "东区",
                "--modes", "walk")
    assert added.exit_code == 0, added.output
    store = StationStore(Database(default_store_url()))
    inside = store.add(Station(name="东区驿站", region="east", kind="love_station",
                               lon=lonlat(5, 5)[0], lat=lonlat(5, 5)[1]))
    outside = store.add(Station(name="西区驿站", region="east", kind="love_station",
                                lon=lonlat(25, 5)[0], lat=lonlat(25, 5)[1]))
    cache = network_cache_path(get_region("east"), "walk").parent

    removed = run("region", "remove", "east")
    assert removed.exit_code == 0, removed.output
    assert "removed region east; its 2 stations stay stored" in removed.output
    assert added_folders(fresh_instance) == [] and not cache.exists()
    assert "east" not in [r.id for r in list_regions()]
    assert [s.id for s in store.list(region="east")] == [inside.id, outside.id]

    newer = tmp_path / "newer.osm.pbf"
    with osmium.SimpleWriter(str(newer)) as writer:
        for obj in osmium.FileProcessor(str(districts)):
            writer.add(obj)
            if obj.is_way() and obj.id == 5:
                writer.add_way(Way(id=6, nodes=[8, 9], tags={"highway": "footway"}))
    again = run("region", "add", "east", "--osm", str(newer), "--boundary", "101",
                "--modes", "walk")
    assert again.exit_code == 0, again.output
    assert "2 stored stations of east belong to it again" in again.output
    assert "1 of them lie outside its area" in again.output
    assert f"  {outside.id}  西区驿站  " in again.output and "东区驿站" not in again.output
    assert 6 in contents(get_region("east").source)[1]
    nearest = run("nearest", "--region", "east", "--lat", str(lonlat(5, 5)[1]), "--lon",
                  str(lonlat(5, 5)[0]), "--mode", "walk", "-k", "1")
    assert nearest.exit_code == 0, nearest.output
    assert "东区驿站" in nearest.output


@needs_osmium_tool
def test_a_removed_region_leaves_no_cached_products_behind(fresh_instance, districts):
    region = add_region("east", districts, modes=("walk",),
                        area=find_boundary(districts, "东区").geometry)
    products = [product_cache_path(region.source, c.product)
                for c in product_collectors(region.source)]
    assert all(p.is_file() for p in products)
    remove_region("east")
    assert not any(p.exists() for p in products)


@needs_osmium_tool
def test_a_server_sees_a_region_removed_and_added_again_from_another_area(
        fresh_instance, districts):
    add_region("twin", districts, modes=("walk",), area=find_boundary(districts, "东区").geometry)
    atlas = Atlas(StationStore(Database(default_store_url())))
    before, revision = atlas.index("twin").network("walk"), atlas.revision()
    remove_region("twin")
    add_region("twin", districts, modes=("walk",), area=find_boundary(districts, "西区").geometry)
    after = atlas.index("twin").network("walk")
    assert set(after.node_ids.tolist()) != set(before.node_ids.tolist())
    assert atlas.revision() != revision


def test_a_folder_in_the_way_of_a_new_region_is_named_and_nothing_is_added(fresh_instance,
                                                                          districts):
    ghost = fresh_instance / "regions" / "ghost"
    ghost.mkdir(parents=True)
    (ghost / "source.osm.pbf").touch()
    result = run("region", "add", "ghost", "--osm", str(districts), "--modes", "walk")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{ghost} is in the way of region 'ghost'" in result.output
    assert added_folders(fresh_instance) == ["ghost"]


def test_a_bad_build_limit_setting_is_an_error_naming_it(fresh_instance, districts, monkeypatch):
    monkeypatch.setenv("YIZHAN_MAX_BUILD_NODES", "abc")
    result = run("region", "add", "east", "--osm", str(districts))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "YIZHAN_MAX_BUILD_NODES must be a whole number of OSM nodes, not 'abc'" in \
        result.output


@needs_osmium_tool
def test_an_area_without_streets_names_the_users_file_not_a_staging_one(fresh_instance,
                                                                        districts):
    lon, lat = lonlat(5, 5)
    result = run("region", "add", "tiny", "--osm", str(districts), "--bbox",
                 f"{lon - 1e-6},{lat - 1e-6},{lon + 1e-6},{lat + 1e-6}")
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert message.startswith(f"Error: {districts}: ") and ".tiny-" not in message


def test_clipping_without_osmium_tool_says_how_to_install_it_and_adds_nothing(
        fresh_instance, districts, monkeypatch):
    monkeypatch.setattr("geo.clip.shutil.which", lambda name: None)
    result = run("region", "add", "east", "--osm", str(districts), "--boundary", "东区")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith(
        "Error: clipping a region out of a larger file needs osmium-tool (Debian/Ubuntu: apt "
        "install osmium-tool")
    assert added_folders(fresh_instance) == []
