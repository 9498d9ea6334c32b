"""Place-name search: what a worker can type to say where they are, on the real Nanjing extract and
on a hand-made file whose answers can be worked out by hand."""

import os

import numpy as np
import osmium
import pytest

from geo.osm import OsmSourceError
from geo.places import CATEGORIES, Place, Places, place_index, places_for
from geo.regions import Region, get_region
from geo.settings import data_dir

NANJING = data_dir() / "osm" / "nanjing_xinjiekou" / "osm_bbox.osm.pbf"

#: The extract's bounding box (see its ATTRIBUTION.md).
XINJIEKOU_BBOX = (118.7645, 32.0346, 118.7957, 32.0519)

#: A street of two ways with vertices at 118.000 + 0.001 * (0, 1, 2, 3, 10): the median of its
#: vertices is 118.002, which is a vertex. Plus a POI, a building, a stop position, a named
#: node that is nothing one searches for, and a mall with an English name.
HAND_MADE = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
 <node id="1" lat="32.0000" lon="118.0000"/>
 <node id="2" lat="32.0000" lon="118.0010"/>
 <node id="3" lat="32.0000" lon="118.0020"/>
 <node id="4" lat="32.0000" lon="118.0030"/>
 <node id="5" lat="32.0000" lon="118.0100"/>
 <node id="10" lat="32.0010" lon="118.0010"/>
 <node id="11" lat="32.0010" lon="118.0030"/>
 <node id="12" lat="32.0030" lon="118.0030"/>
 <node id="13" lat="32.0030" lon="118.0010"/>
 <node id="20" lat="32.0020" lon="118.0050">
  <tag k="amenity" v="bank"/><tag k="name" v="测试银行"/><tag k="name:en" v="Test Bank"/>
 </node>
 <node id="21" lat="32.0020" lon="118.0060">
  <tag k="public_transport" v="stop_position"/><tag k="name" v="测试站"/>
 </node>
 <node id="22" lat="32.0020" lon="118.0070"><tag k="name" v="银杏树"/></node>
 <node id="23" lat="32.0020" lon="118.0080">
  <tag k="shop" v="mall"/><tag k="name" v="测试广场"/><tag k="name:en" v="Test Plaza"/>
  <tag k="name:zh" v="测试广场"/>
 </node>
 <way id="100">
  <nd ref="1"/><nd ref="2"/><nd ref="3"/>
  <tag k="highway" v="residential"/><tag k="name" v="测试路"/><tag k="name:en" v="Ceshi Road"/>
 </way>
 <way id="101">
  <nd ref="3"/><nd ref="4"/><nd ref="5"/>
  <tag k="highway" v="residential"/><tag k="name" v="测试路"/>
 </way>
 <way id="102">
  <nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
  <tag k="building" v="yes"/><tag k="name" v="测试大厦"/>
 </way>
</osm>
"""


@pytest.fixture(scope="module")
def nanjing() -> Places:
    return place_index(NANJING)


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory) -> Places:
    path = tmp_path_factory.mktemp("places") / "hand.osm"
    path.write_text(HAND_MADE, encoding="utf-8")
    return place_index(path)


def street_ways(name: str) -> list[list[tuple[float, float]]]:
    """The vertices of every highway way of this name in the Nanjing extract."""
    processor = osmium.FileProcessor(str(NANJING)).with_locations().with_filter(
        osmium.filter.KeyFilter("highway"))
    return [[(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
            for way in processor if way.is_way() and way.tags.get("name") == name]


def test_nanjing_has_streets_buildings_shops_amenities_and_stops(nanjing):
    categories, counts = np.unique(nanjing.category, return_counts=True)
    print("Nanjing Xinjiekou places:", dict(zip(categories.tolist(), counts.tolist())))
    assert set(categories) <= set(CATEGORIES)
    assert {"street", "building", "shop", "amenity", "transport", "tourism"} <= set(categories)
    assert len(nanjing) > 400


@pytest.mark.parametrize("street", ["中山路", "汉中路", "中山东路"])
def test_a_street_of_many_ways_is_one_place_on_the_street_near_its_middle(nanjing, street):
    ways = street_ways(street)
    assert len(ways) > 1
    found = [p for p in nanjing.search(street, limit=50) if p.name == street]
    assert len(found) == 1 and found[0].category == "street"
    vertices = np.unique(np.array([v for way in ways for v in way]), axis=0)
    assert (found[0].lon, found[0].lat) in set(map(tuple, vertices.tolist()))
    median = np.median(vertices, axis=0)
    scale = np.array([np.cos(np.radians(median[1])), 1.0])
    distances = np.hypot(*((vertices - median) * scale).T)
    chosen = np.hypot(*((np.array([found[0].lon, found[0].lat]) - median) * scale))
    assert chosen == pytest.approx(distances.min())


def test_a_mall_is_found_by_part_of_its_name_or_its_english_name(nanjing):
    for query in ("德基", "德基广场", "deji", "  DEJI PLAZA "):
        names = [p.name for p in nanjing.search(query)]
        assert "德基广场" in names, query
    mall = next(p for p in nanjing.search("德基广场") if p.name == "德基广场")
    assert mall.category == "shop"
    assert XINJIEKOU_BBOX[0] < mall.lon < XINJIEKOU_BBOX[2]
    assert XINJIEKOU_BBOX[1] < mall.lat < XINJIEKOU_BBOX[3]


def test_chinese_alt_names_are_searched_too(nanjing):
    # an element named in English whose name:zh is Chinese
    assert [p.name for p in nanjing.search("长江路小学")] == ["Changjiang Road Primary School"]


def test_exact_matches_come_first_then_prefixes_then_shorter_names(nanjing):
    found = nanjing.search("中山", limit=10)
    assert [p.name for p in found[:3]] == ["中山路", "中山东路", "中山南路"]
    assert found[-1].name == "85度 南京中山东店"  # "中山" in the middle comes last
    assert nanjing.search("中山路")[0].name == "中山路"
    # an exact match on an alternative name beats names that merely start with the query
    assert nanjing.search("starbucks")[0].name == "星巴克"


@pytest.mark.parametrize("query", ["中山", "银行", "新街口", "路", "a"])
def test_results_are_ordered_by_match_then_length_then_name(nanjing, query):
    found = nanjing.search(query, limit=50)
    assert found

    def match(place: Place) -> int:
        names = [place.name.casefold()] + [
            a.casefold() for a in nanjing.alt_names[
                np.nonzero((nanjing.name == place.name) & (nanjing.lon == place.lon))[0][0]]]
        return 0 if query in names else 1 if any(n.startswith(query) for n in names) else 2

    keys = [(match(p), len(p.name), p.name) for p in found]
    assert keys == sorted(keys)


def test_blank_or_unmatched_queries_find_nothing(nanjing):
    for query in ("", "   ", "\t\n", "不存在的地方", "zzqx"):
        assert nanjing.search(query) == []


def test_limit_caps_the_results_and_must_be_positive(nanjing):
    assert len(nanjing.search("银行", limit=3)) == 3
    assert len(nanjing.search("银行", limit=100)) > 10
    with pytest.raises(ValueError, match="limit"):
        nanjing.search("银行", limit=0)


def test_metro_stop_positions_of_whole_lines_are_not_places(nanjing):
    # the extract holds stop positions of Nanjing's metro lines far outside it (南京南站 is 7 km
    # south); only stations, entrances and stops in the area are places
    assert nanjing.search("南京南站") == []
    margin = 0.005
    assert (nanjing.lon > XINJIEKOU_BBOX[0] - margin).all()
    assert (nanjing.lon < XINJIEKOU_BBOX[2] + margin).all()
    assert (nanjing.lat > XINJIEKOU_BBOX[1] - margin).all()
    assert (nanjing.lat < XINJIEKOU_BBOX[3] + margin).all()


def test_hand_made_street_is_merged_at_the_vertex_nearest_its_median(hand_made):
    assert hand_made.search("测试路") == [Place("测试路", "street", 118.002, 32.0)]
    assert hand_made.search("ceshi road") == [Place("测试路", "street", 118.002, 32.0)]


def test_hand_made_pois_and_buildings_are_places_and_other_names_are_not(hand_made):
    assert hand_made.search("测试银行") == [Place("测试银行", "amenity", 118.005, 32.002)]
    assert hand_made.search("test bank") == [Place("测试银行", "amenity", 118.005, 32.002)]
    building = hand_made.search("测试大厦")
    assert [(p.name, p.category) for p in building] == [("测试大厦", "building")]
    assert (building[0].lon, building[0].lat) == pytest.approx((118.002, 32.002))
    assert hand_made.search("测试站") == []  # a stop position
    assert hand_made.search("银杏树") == []  # a name on nothing one looks for
    assert sorted(hand_made.name.tolist()) == sorted(["测试路", "测试银行", "测试广场", "测试大厦"])
    # name:zh equal to the name is not repeated as an alternative name
    plaza = int(np.nonzero(hand_made.name == "测试广场")[0][0])
    assert hand_made.alt_names[plaza] == ("Test Plaza",)


def test_a_road_edge_region_has_no_places():
    jinan = places_for(get_region("jinan"))
    assert len(jinan) == 0
    assert jinan.search("路") == [] and jinan.search("") == []


def test_places_for_reads_a_file_once_per_version(tmp_path):
    source = tmp_path / "copy.osm.pbf"
    source.write_bytes(NANJING.read_bytes())
    region = Region(id="copy", name="copy", source=source)
    first = places_for(region)
    assert places_for(region) is first
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = places_for(region)
    assert second is not first
    assert second.name.tolist() == first.name.tolist()


def test_the_index_is_read_only(nanjing):
    with pytest.raises(ValueError):
        nanjing.lon[0] = 0.0


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(OsmSourceError, match="nothing.osm"):
        place_index(tmp_path / "nothing.osm")


def test_an_empty_index_finds_nothing():
    assert len(Places.empty()) == 0
    assert Places.empty().search("路") == []
