"""One pass over an OSM file feeds every product read from it; the products are cached on disk."""

import os
import stat
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pytest
import shapely

from geo import demand, extract, places
from geo.demand_sources import FeatureCollector, OsmFeatures, read_osm_features
from geo.extract import OSM_SUFFIXES, OsmSourceError, cached_product, product_cache_path, read_osm
from geo.highways import HighwayCollector, read_highway_ways
from geo.places import PlaceCollector, place_index
from geo.regions import add_region, get_region, load_networks
from geo.settings import data_dir
from geo.sites import SiteCollector, cached_sites, candidate_category, host_sites, site_category
from tests.support import CLIPPED
from web import create_app

SMALL = Path(__file__).parent / "data" / "small.osm"
NANJING = data_dir() / "osm" / "nanjing_xinjiekou" / "osm_bbox.osm.pbf"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXTRACTS = sorted(
    p for root in (data_dir(), SHARED_DATA) for p in (root / "osm").glob("*/*")
    if p.name.lower().endswith(OSM_SUFFIXES)
) + [SMALL]


def same_features(one: OsmFeatures, other: OsmFeatures) -> None:
    """Assert two sets of demand sources are equal, geometries byte for byte."""
    for name in ("part", "road_class"):
        assert getattr(one, name).tolist() == getattr(other, name).tolist()
    for name in ("lon", "lat", "levels"):
        np.testing.assert_array_equal(getattr(one, name), getattr(other, name))
    for name in ("outline", "roads"):
        assert shapely.to_wkb(getattr(one, name)).tolist() == \
            shapely.to_wkb(getattr(other, name)).tolist()


def same_places(one: places.Places, other: places.Places) -> None:
    """Assert two place indexes are equal."""
    for name in ("name", "alt_names", "category"):
        assert getattr(one, name).tolist() == getattr(other, name).tolist()
    np.testing.assert_array_equal(one.lon, other.lon)
    np.testing.assert_array_equal(one.lat, other.lat)


@pytest.mark.parametrize("path", EXTRACTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_pass_gives_every_product_as_its_own_reader_does(path):
    collectors = [HighwayCollector(path), FeatureCollector(), PlaceCollector(), SiteCollector(),
                  SiteCollector(site_category)]
    read_osm(path, collectors)
    ways, features, index, candidates, hosts = (c.result() for c in collectors)
    alone = read_highway_ways(path)
    for name in ("way_ids", "offsets", "node_refs", "lon", "lat"):
        np.testing.assert_array_equal(getattr(ways, name), getattr(alone, name))
    assert ways.tags == alone.tags
    same_features(features, read_osm_features(path))
    same_places(index, place_index(path))
    pd.testing.assert_frame_equal(hosts, host_sites(path))
    pd.testing.assert_frame_equal(candidates, host_sites(path, classify=candidate_category))


@pytest.mark.parametrize("path", EXTRACTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cached_products_read_back_as_they_were_read(path, fresh_instance):
    same_features(cached_product(path, FeatureCollector), read_osm_features(path))
    same_features(cached_product(path, FeatureCollector), read_osm_features(path))
    same_places(cached_product(path, PlaceCollector), place_index(path))
    same_places(cached_product(path, PlaceCollector), place_index(path))
    for _ in range(2):
        pd.testing.assert_frame_equal(cached_sites(path),
                                      host_sites(path, classify=candidate_category))
        pd.testing.assert_frame_equal(cached_sites(path, hosts_only=True), host_sites(path))


class Recorder:
    """A collector that keeps the id, kind and tag keys of everything it is offered."""

    product = "recorded"
    keys = ("amenity",)
    kinds = osmium.osm.NODE | osmium.osm.AREA

    def __init__(self):
        self.offered = []

    def node(self, node):
        self.offered.append(("node", node.id, {tag.k for tag in node.tags}))

    def way(self, way):
        self.offered.append(("way", way.id, {tag.k for tag in way.tags}))

    def area(self, area):
        self.offered.append(("area", area.id, {tag.k for tag in area.tags}))

    def result(self):
        return self.offered


def test_a_collector_is_offered_only_the_kinds_and_keys_it_asks_for():
    recorder = Recorder()
    read_osm(NANJING, [recorder])
    assert recorder.offered
    assert {kind for kind, _, _ in recorder.offered} <= {"node", "area"}
    assert all("amenity" in keys for _, _, keys in recorder.offered)


def test_collectors_with_other_keys_are_offered_the_objects_of_both():
    recorder, highways = Recorder(), HighwayCollector(NANJING)
    read_osm(NANJING, [recorder, highways])
    offered = {kind for kind, _, keys in recorder.offered if "amenity" not in keys}
    assert offered == {"node", "area"}  # a bus stop, a pedestrian square
    assert all({"amenity", "highway"} & keys for _, _, keys in recorder.offered)
    assert highways.result().n_pieces == read_highway_ways(NANJING).n_pieces


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(OsmSourceError, match="nothing.osm does not exist"):
        read_osm(tmp_path / "nothing.osm", [PlaceCollector()])
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(OsmSourceError, match="cannot read OSM file .*broken.osm"):
        read_osm(broken, [PlaceCollector(), FeatureCollector()])


def test_a_file_out_of_id_order_is_refused_with_how_to_sort_it(tmp_path):
    path = tmp_path / "unsorted.osm"
    path.write_text('''<?xml version="1.0"?>
<osm version="0.6">
 <node id="1" lat="32.04" lon="118.78"/>
 <node id="2" lat="32.05" lon="118.79"/>
 <way id="2"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
 <way id="1"><nd ref="2"/><nd ref="1"/><tag k="landuse" v="industrial"/></way>
</osm>
''', encoding="utf-8")
    with pytest.raises(OsmSourceError, match=r"unsorted.osm: .*out of order.*osmium sort"):
        read_osm(path, [HighwayCollector(path), FeatureCollector()])


def test_a_cached_product_is_private_and_renamed_when_the_file_changes(tmp_path,
                                                                       fresh_instance):
    source = tmp_path / "town.osm"
    source.write_bytes(SMALL.read_bytes())
    cached_product(source, PlaceCollector)
    first = product_cache_path(source, "places")
    assert first.is_file() and stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700
    status = source.stat()
    os.utime(source, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    assert product_cache_path(source, "places") != first


def count_reads(monkeypatch) -> list[int]:
    """Record how many collectors each read of a region's source feeds."""
    calls = []
    real = extract.read_osm
    monkeypatch.setattr("geo.build.read_osm",
                        lambda path, collectors, progress=None: calls.append(len(collectors))
                        or real(path, collectors, progress))
    return calls


def test_building_a_regions_networks_caches_its_products_from_the_same_read(fresh_instance,
                                                                           monkeypatch):
    region = get_region("nanjing")
    calls = count_reads(monkeypatch)
    load_networks(region, ("walk",))
    assert calls == [4]  # the highways and the three cached products
    assert all(product_cache_path(region.source, p).is_file()
               for p in ("demand", "places", "sites"))
    load_networks(region, ("walk",))
    assert calls == [4]


def test_adding_a_region_caches_the_products_of_its_copy_of_the_file(fresh_instance,
                                                                   monkeypatch):
    calls = count_reads(monkeypatch)
    region = add_region("town", SMALL)
    assert calls == [4]
    assert all(product_cache_path(region.source, p).is_file()
               for p in ("demand", "places", "sites"))
    assert [p.name for p in places.places_for(region).search("南街")] == ["南街"]


def test_cached_networks_without_products_read_only_the_products(fresh_instance, monkeypatch):
    region = get_region("nanjing")
    load_networks(region, ("walk",))
    for product in ("demand", "places", "sites"):
        product_cache_path(region.source, product).unlink()
    calls = count_reads(monkeypatch)
    load_networks(region, ("walk",))
    assert calls == [3]
    assert product_cache_path(region.source, "sites").is_file()


@pytest.mark.slow
def test_a_server_start_on_built_regions_parses_no_osm_file(tmp_path, monkeypatch):
    for region in ("nanjing", "jinan"):
        load_networks(get_region(region))
    for product in (FeatureCollector, PlaceCollector, SiteCollector):
        cached_product(get_region("nanjing").source, product)

    def no_reading(*args, **kwargs):
        raise AssertionError("an OSM file was parsed")

    monkeypatch.setattr(osmium, "FileProcessor", no_reading)
    demand._cached_osm_features.cache_clear()
    places._cached_place_index.cache_clear()
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/y.db"})
    client = app.test_client()
    assert client.get("/api/v1/places?region=nanjing&q=德基").get_json()["places"]
    atlas = app.extensions["atlas"]
    assert atlas.index("nanjing").stations
    for group in ("street", "couriers", "trucks"):
        assert atlas.demand("nanjing", group).total > 0
        assert atlas.demand("jinan", group).total > 0
    assert len(atlas.candidates("nanjing", "walk")) > 0


def test_a_road_the_extract_cuts_is_a_line_per_run_of_present_nodes(tmp_path):
    footway = ' <way id="2"><nd ref="5"/><nd ref="10"/><tag k="highway" v="footway"/></way>\n'
    path = tmp_path / "clipped.osm"  # with its ways in id order, as areas need
    path.write_text(CLIPPED.replace(footway, "").replace("</osm>", footway + "</osm>"),
                    encoding="utf-8")
    features = read_osm_features(path)
    assert features.road_class.tolist() == ["residential"]  # the footway is no road class
    (cut,) = features.roads
    assert cut.geom_type == "MultiLineString"
    assert [len(part.coords) for part in cut.geoms] == [2, 3]  # nodes 1-2 and 4-5-6; 8 alone
    same_features(features, FeatureCollector.from_arrays(FeatureCollector.to_arrays(features)))


def test_roads_with_fewer_than_two_present_nodes_have_no_line(tmp_path):
    path = tmp_path / "gone.osm"
    path.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
 <node id="1" lat="32.040" lon="118.780"/>
 <way id="10"><nd ref="8"/><nd ref="9"/><tag k="highway" v="primary"/></way>
 <way id="11"><nd ref="1"/><nd ref="9"/><tag k="highway" v="primary"/></way>
</osm>
""", encoding="utf-8")
    features = read_osm_features(path)
    assert features.road_class.tolist() == [] and len(features.roads) == 0
