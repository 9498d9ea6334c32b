"""Candidate sites for new stations: where they come from, and the rules that keep them out."""

import json

import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from geo.candidates import (
    CANDIDATE_CATEGORIES,
    CandidateError,
    CandidateRules,
    candidate_sites,
    parse_excluded_area,
)
from geo.network import Network
from geo.placement import MAX_SNAP_M
from geo.regions import get_region, load_networks
from geo.sites import CATEGORIES, candidate_category, host_sites

COLUMNS = ["name", "category", "lon", "lat", "node", "snap_m", "source_id", "geometry"]

# Four nodes in a row in Nanjing, about 94 m apart, joined both ways:
#
#   0 ==== 1 ==== 2 ==== 3
LON = 118.78 + 0.001 * np.arange(4)
LAT = np.full(4, 32.04)


@pytest.fixture(scope="module")
def row():
    """The network drawn above."""
    u, v = np.array([0, 1, 2, 1, 2, 3]), np.array([1, 2, 3, 0, 1, 2])
    return Network.from_edges("walk", np.arange(4) + 100, LON, LAT, u, v, np.full(6, 94.0),
                              np.full(6, 80.0))


@pytest.fixture(scope="module")
def nanjing():
    """The Nanjing Xinjiekou region and its walk network."""
    region = get_region("nanjing")
    return region, load_networks(region, ("walk",))["walk"]


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (broadcasting)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


def write_csv(tmp_path, text, name="candidates.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write_geojson(tmp_path, features, name="candidates.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path


def feature(geometry, **properties):
    return {"type": "Feature", "geometry": geometry, "properties": properties}


# -- categories -------------------------------------------------------------------------------

def test_convenience_stores_are_candidates_but_not_demo_station_hosts(nanjing):
    region, _ = nanjing
    assert CANDIDATE_CATEGORIES == {**CATEGORIES, "convenience": "便利店"}
    assert "convenience" not in CATEGORIES
    assert "convenience" not in set(host_sites(region.source)["category"])


@pytest.mark.parametrize("tags, category", [
    ({"shop": "convenience", "name": "便利蜂"}, "convenience"),
    ({"shop": "supermarket"}, "convenience"),
    ({"amenity": "bank", "name": "中国银行"}, "bank"),
    ({"shop": "supermarket", "name": "中国移动"}, "telecom"),  # host categories come first
    ({"shop": "bakery"}, None),
    ({"highway": "residential", "name": "工会路"}, None),
])
def test_candidate_category_is_the_host_category_else_convenience(tags, category):
    assert candidate_category(tags) == category


# -- the "sites" source -----------------------------------------------------------------------

def test_sites_are_named_host_sites_and_convenience_stores_snapped_to_the_network(nanjing):
    region, network = nanjing
    sites = candidate_sites(network, "sites", region_source=region.source)
    assert list(sites.columns) == COLUMNS and sites.crs.to_epsg() == 4326
    counts = sites["category"].value_counts().to_dict()
    assert counts["bank"] >= 10 and counts["convenience"] >= 3 and counts["post_office"] >= 1
    assert {"新街口邮局", "苏果社区店"} <= set(sites["name"])
    assert sites["source_id"].str.match(r"^(node|way|relation)/\d+$").all()
    assert sites["node"].dtype == np.int64 and sites["node"].is_unique
    assert (sites["snap_m"] <= MAX_SNAP_M).all()
    # snap_m is the distance from the site's own point to its node
    nodes = sites["node"].to_numpy()
    distance = haversine_m(sites["lon"], sites["lat"], network.lon[nodes], network.lat[nodes])
    np.testing.assert_allclose(sites["snap_m"], distance, rtol=0.01)


def test_the_categories_rule_keeps_one_site_per_node_of_the_allowed_categories(nanjing):
    region, network = nanjing
    allowed = frozenset({"bank", "convenience"})
    sites = candidate_sites(network, "sites", region_source=region.source,
                            rules=CandidateRules(categories=allowed))
    assert set(sites["category"]) == allowed
    everything = host_sites(region.source, classify=candidate_category)
    wanted = everything[everything["category"].isin(allowed)]
    snap_m, node = cKDTree(network.node_xy).query(
        np.column_stack(network.to_utm(wanted["lon"], wanted["lat"])))
    assert set(sites["node"]) == set(node[snap_m <= MAX_SNAP_M])


def test_sites_need_an_osm_file_so_a_road_file_region_has_none(row):
    jinan = get_region("jinan")
    with pytest.raises(CandidateError, match="edges.shp is not an OSM file.*'nodes'"):
        candidate_sites(row, "sites", region_source=jinan.source)
    with pytest.raises(CandidateError, match="no OSM file, so no host-like sites; use the 'nodes'"):
        candidate_sites(row, "sites")


def test_an_unknown_source_or_category_is_refused(nanjing):
    region, network = nanjing
    with pytest.raises(CandidateError, match="unknown candidate source 'shops'"):
        candidate_sites(network, "shops")
    with pytest.raises(CandidateError, match="unknown category 'toilet'; known: bank"):
        candidate_sites(network, "sites", region_source=region.source,
                        rules=CandidateRules(categories=frozenset({"toilet"})))


# -- the "nodes" source -----------------------------------------------------------------------

def test_nodes_give_one_candidate_on_each_node_whatever_the_categories(row):
    nodes = candidate_sites(row, "nodes",
                            rules=CandidateRules(categories=frozenset({"convenience"})))
    assert list(nodes.columns) == COLUMNS
    assert list(nodes["node"]) == [0, 1, 2, 3]
    assert list(nodes["source_id"]) == ["node:0", "node:1", "node:2", "node:3"]
    assert set(nodes["category"]) == {"node"} and set(nodes["name"]) == {""}
    assert (nodes["snap_m"] == 0).all()
    np.testing.assert_array_equal(nodes["lon"], LON)


# -- the distance rule ------------------------------------------------------------------------

def test_min_distance_drops_exactly_the_candidates_closer_than_it_to_a_station(nanjing):
    region, network = nanjing
    stations = np.array([[118.7785, 32.0451], [118.7900, 32.0400], [118.7700, 32.0500]])
    rules = CandidateRules(min_distance_m=500.0)
    kept = candidate_sites(network, "nodes", stations_lonlat=stations, rules=rules)
    nearest = haversine_m(network.lon[:, None], network.lat[:, None],
                          stations[:, 0], stations[:, 1]).min(axis=1)
    clear = np.abs(nearest - 500.0) > 2.0  # UTM and the sphere differ by well under 2 m here
    assert clear.sum() > 0.95 * network.n_nodes
    expected = set(np.nonzero(nearest >= 500.0)[0])
    assert set(kept["node"]) & set(np.nonzero(clear)[0]) == expected & set(np.nonzero(clear)[0])
    assert 0 < len(kept) < network.n_nodes


def test_min_distance_without_stations_drops_nothing(row):
    rules = CandidateRules(min_distance_m=500.0)
    assert len(candidate_sites(row, "nodes", rules=rules)) == 4
    assert len(candidate_sites(row, "nodes", stations_lonlat=np.zeros((0, 2)), rules=rules)) == 4


def test_a_negative_distance_is_refused(row):
    with pytest.raises(CandidateError, match="min_distance_m -1"):
        candidate_sites(row, "nodes", rules=CandidateRules(min_distance_m=-1))


# -- the excluded area ------------------------------------------------------------------------

def test_candidates_inside_the_excluded_area_are_dropped(nanjing):
    region, network = nanjing
    box = shapely.box(118.775, 32.040, 118.785, 32.048)
    kept = candidate_sites(network, "nodes", rules=CandidateRules(excluded=box))
    inside = ((network.lon >= 118.775) & (network.lon <= 118.785)
              & (network.lat >= 32.040) & (network.lat <= 32.048))
    assert inside.any()
    assert set(kept["node"]) == set(np.nonzero(~inside)[0])


def test_an_excluded_area_is_read_from_geojson_text_dicts_features_and_files(tmp_path):
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    other = {"type": "Polygon", "coordinates": [[[2, 0], [3, 0], [3, 1], [2, 0]]]}
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps(feature(square)), encoding="utf-8")
    for given in (square, json.dumps(square), feature(square), path, str(path)):
        assert parse_excluded_area(given).equals(shapely.box(0, 0, 1, 1))
    both = parse_excluded_area({"type": "FeatureCollection",
                                "features": [feature(square), feature(other)]})
    assert both.geom_type == "MultiPolygon" and both.area == pytest.approx(1.5)


@pytest.mark.parametrize("given, message", [
    ({"type": "Point", "coordinates": [0, 0]}, "a Point is not an area"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
     "not a valid polygon .Self-intersection"),
    ({"type": "FeatureCollection", "features": []}, "no polygon given"),
    ("{not json", "not GeoJSON"),
    ("no/such/area.geojson", "cannot read area.geojson"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [500, 0], [500, 1], [0, 0]]]},
     "outside the lon/lat range"),
])
def test_an_excluded_area_that_is_not_a_valid_polygon_is_refused(given, message):
    with pytest.raises(CandidateError, match=message):
        parse_excluded_area(given)


def test_an_excluded_geometry_that_is_not_an_area_is_refused(row):
    with pytest.raises(CandidateError, match="a LineString is not an area"):
        candidate_sites(row, "nodes",
                        rules=CandidateRules(excluded=shapely.LineString([(0, 0), (1, 1)])))


# -- when nothing is left ---------------------------------------------------------------------

def test_when_the_rules_remove_every_candidate_the_message_says_which(row):
    everywhere = shapely.box(118, 32, 119, 33)
    with pytest.raises(CandidateError, match="^no candidate left: 4 read, 4 inside the excluded "
                                             "area$"):
        candidate_sites(row, "nodes", rules=CandidateRules(excluded=everywhere))
    with pytest.raises(CandidateError, match="^no candidate left: 4 read, 4 within 500 m of an "
                                             "existing station$"):
        candidate_sites(row, "nodes", stations_lonlat=np.array([[LON[1], LAT[1]]]),
                        rules=CandidateRules(min_distance_m=500))


def test_the_message_counts_each_step_that_removed_some(row, tmp_path):
    path = write_csv(tmp_path, "lon,lat\n118.7810,32.0400\n118.9,32.04\n")
    with pytest.raises(CandidateError, match="^no candidate left: 2 read, 1 farther than 300 m "
                                             "from the network, 1 within 500 m of an existing "
                                             "station$"):
        candidate_sites(row, path, stations_lonlat=np.array([[LON[0], LAT[0]]]),
                        rules=CandidateRules(min_distance_m=500))


# -- user files -------------------------------------------------------------------------------

def test_a_csv_gives_its_points_with_names_categories_and_line_numbers(row, tmp_path):
    path = write_csv(tmp_path, "name,category,lon,lat\n"
                               "东站,bank,118.7801,32.0401\n"
                               "\n"
                               " 西站 ,kiosk,118.7829,32.0399\n"
                               "远处,bank,118.9000,32.0400\n")
    sites = candidate_sites(row, path)
    assert list(sites.columns) == COLUMNS
    assert list(sites["name"]) == ["东站", "西站"]
    assert list(sites["category"]) == ["bank", "kiosk"]
    assert list(sites["node"]) == [0, 3]
    assert list(sites["source_id"]) == ["row:2", "row:4"]  # the far point is dropped
    assert sites["snap_m"].between(0, 20).all()
    kiosks = candidate_sites(row, path, rules=CandidateRules(categories=frozenset({"kiosk"})))
    assert list(kiosks["name"]) == ["西站"]


def test_a_csv_needs_only_lon_and_lat(row, tmp_path):
    sites = candidate_sites(row, write_csv(tmp_path, "lat,lon\n32.04,118.781\n"))
    assert list(sites["name"]) == [""] and list(sites["category"]) == [""]
    assert list(sites["node"]) == [1]


def test_candidates_on_one_node_are_one_site_the_first_in_the_file(row, tmp_path):
    path = write_csv(tmp_path, "name,lon,lat\nA,118.7820,32.0400\nB,118.7801,32.0401\n"
                               "C,118.7820,32.0401\nD,118.7799,32.0400\n")
    sites = candidate_sites(row, path)
    assert list(sites["name"]) == ["A", "B"]
    assert list(sites["node"]) == [2, 0]


@pytest.mark.parametrize("text, message", [
    ("name,lon\nA,118.78\n", "candidates.csv: no 'lat' column"),
    ("lon,lat\n118.78,32.04\n118.78,abc\n", "candidates.csv, line 3: lat 'abc' is not a number"),
    ("lon,lat\n118.78,32.04\n200,32.04\n", "candidates.csv, line 3: lon '200' is outside"),
    ("", "candidates.csv: the file is empty"),
    ("lon,lat\n\n", "candidates.csv: the file has no rows"),
])
def test_a_bad_csv_is_refused_naming_the_file_and_line(row, tmp_path, text, message):
    with pytest.raises(CandidateError, match=message):
        candidate_sites(row, write_csv(tmp_path, text))


def test_a_missing_or_unsupported_file_is_refused(row, tmp_path):
    with pytest.raises(CandidateError, match="nothing.csv: no such file"):
        candidate_sites(row, tmp_path / "nothing.csv")
    with pytest.raises(CandidateError, match="unknown candidate source"):
        candidate_sites(row, write_csv(tmp_path, "lon,lat\n", name="candidates.txt"))


def test_a_geojson_gives_points_and_a_point_on_each_polygon(row, tmp_path):
    path = write_geojson(tmp_path, [
        feature({"type": "Point", "coordinates": [118.7801, 32.0401]}, name="便利蜂",
                category="convenience"),
        feature({"type": "Polygon", "coordinates": [[[118.7815, 32.0398], [118.7825, 32.0398],
                                                     [118.7825, 32.0402], [118.7815, 32.0402],
                                                     [118.7815, 32.0398]]]}, name="大楼"),
        feature({"type": "MultiPoint", "coordinates": [[118.7811, 32.0400],
                                                       [118.7829, 32.0400]]}),
    ])
    sites = candidate_sites(row, path)
    assert list(sites.columns) == COLUMNS
    assert list(sites["name"]) == ["便利蜂", "大楼", "", ""]
    assert list(sites["category"]) == ["convenience", "", "", ""]
    # each point of a multipoint is a candidate of its own
    assert list(sites["source_id"]) == ["feature:1", "feature:2", "feature:3", "feature:3"]
    assert list(sites["node"]) == [0, 2, 1, 3]
    assert len(candidate_sites(row, path, rules=CandidateRules(
        categories=frozenset({"convenience"})))) == 1


@pytest.mark.parametrize("features, message", [
    ([feature({"type": "LineString", "coordinates": [[118.78, 32.04], [118.781, 32.04]]})],
     "candidates.geojson, feature 1: unsupported geometry LineString"),
    ([], "candidates.geojson: the file has no features"),
    ([feature({"type": "Point", "coordinates": [118.78, 32.04]}),
      feature({"type": "Point", "coordinates": [500000, 3500000]})],
     "candidates.geojson, feature 2: point .* outside the lon/lat range"),
])
def test_a_bad_geojson_is_refused_naming_the_feature(row, tmp_path, features, message):
    with pytest.raises(CandidateError, match=message):
        candidate_sites(row, write_geojson(tmp_path, features))
