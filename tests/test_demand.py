"""Demand layers: what each worker group's stations cover, as weights on network nodes."""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo import demand
from geo.demand import demand_layer, osm_demand, user_demand
from geo.demand_files import DemandError
from geo.groups import GROUPS
from geo.network import Network
from geo.regions import get_region, load_networks

# Four nodes in a row in Nanjing, about 94 m apart:
#
#   0 ==== 1 ==== 2 ---> 3
#
# 0 - 1 (100 m) and 1 - 2 (200 m) are two-way streets, 2 -> 3 (50 m) is one-way.
LON = 118.78 + 0.001 * np.arange(4)
LAT = np.full(4, 32.04)
TWO_WAY = [(0, 1, 100.0), (1, 2, 200.0)]
ONE_WAY = [(2, 3, 50.0)]


def row_network() -> Network:
    """The network drawn above."""
    edges = TWO_WAY + [(v, u, m) for u, v, m in TWO_WAY] + ONE_WAY
    u, v, m = (np.array(c) for c in zip(*edges))
    return Network.from_edges("walk", np.arange(4) + 100, LON, LAT, u, v, m, m / 1.2)


def undirected_length(network: Network) -> float:
    """Street length with each two-way street once: one-way edges, and of each pair the one
    from the lower node."""
    reverse = network.edge_ids(network.edge_v, network.edge_u)
    once = (reverse < 0) | (network.edge_u < network.edge_v)
    return float(network.length_m[once].sum())


# -- street workers: length of street ---------------------------------------------------------

def test_street_demand_is_the_undirected_street_length():
    layer = osm_demand(get_region("nanjing"), "street", row_network())
    assert layer.total == 100 + 200 + 50
    assert layer.parts == {"streets": 350.0}
    assert layer.unit == "m of street" and layer.unplaced == 0


def test_each_node_gets_half_of_every_street_it_ends():
    layer = osm_demand(get_region("nanjing"), "street", row_network())
    # 0: half of 0-1; 1: halves of 0-1 and 1-2; 2: half of 1-2 and of 2->3; 3: half of 2->3
    np.testing.assert_allclose(layer.weights, [50, 50 + 100, 100 + 25, 25])


def test_a_one_way_street_counts_once_like_a_two_way_one():
    one_way = Network.from_edges("walk", [1, 2], LON[:2], LAT[:2], [0], [1], [80.0], [60.0])
    two_way = Network.from_edges("walk", [1, 2], LON[:2], LAT[:2], [0, 1], [1, 0], [80.0, 80.0],
                                 [60.0, 60.0])
    region = get_region("nanjing")
    assert osm_demand(region, "street", one_way).total == 80
    assert osm_demand(region, "street", two_way).total == 80


# -- the demo regions -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nanjing():
    """The Nanjing region and its networks."""
    region = get_region("nanjing")
    return region, load_networks(region)


@pytest.fixture(scope="module")
def jinan():
    """The Jinan region (a road file) and its networks."""
    region = get_region("jinan")
    return region, load_networks(region)


def layer_of(region_networks, group):
    """The OSM demand layer of a group on its own mode's network."""
    region, networks = region_networks
    return osm_demand(region, group, networks[GROUPS[group].mode])


@pytest.mark.slow
def test_nanjing_couriers_count_food_pois_shops_and_residential_floor_area(nanjing):
    layer = layer_of(nanjing, "couriers")
    # food POIs: 89 nodes (36 restaurants, 28 cafes, 18 fast food, 5 bars, 2 pubs) and two
    # restaurants mapped as buildings; shops: every shop=* element, 66 nodes, 11 ways and one
    # multipolygon (bakeries, convenience stores and supermarkets included)
    assert layer.parts["food POIs"] == 91
    assert layer.parts["shops"] == 78
    # 88 residential buildings, 36,500 m² of footprint, 107,000 m² of floor area with levels
    assert layer.parts["residential buildings"] == pytest.approx(107.0, rel=0.01)
    assert layer.unit == "demand points"


@pytest.mark.slow
def test_placed_demand_is_every_part_less_what_was_too_far_to_place(nanjing):
    for group in ("street", "couriers", "trucks"):
        layer = layer_of(nanjing, group)
        network = nanjing[1][GROUPS[group].mode]
        assert layer.weights.shape == (network.n_nodes,) and layer.weights.dtype == np.float64
        assert (layer.weights >= 0).all()
        assert layer.total == pytest.approx(sum(layer.parts.values()) - layer.unplaced)
        assert layer.group == group and layer.description


@pytest.mark.slow
def test_nanjing_trucks_have_a_fuel_station_and_major_roads(nanjing):
    layer = layer_of(nanjing, "trucks")
    assert layer.parts["fuel stations"] == 2  # one station, weight 2
    assert layer.parts["industrial and logistics land"] == 0  # the city centre has none
    # 中山路, 汉中路, 中山南路, 中山东路 cross the extract; the inner-ring trunk road is not on
    # the truck network (cut off at the edge of the extract), so it does not count
    assert 5 < layer.parts["major roads"] < 10
    assert layer.total > 7


@pytest.mark.slow
def test_nanjing_street_demand_is_the_walk_networks_street_length(nanjing):
    walk = nanjing[1]["walk"]
    assert layer_of(nanjing, "street").total == pytest.approx(undirected_length(walk), rel=1e-9)


@pytest.mark.slow
def test_the_groups_take_the_osm_sources_cached_when_the_networks_were_built(nanjing,
                                                                             monkeypatch):
    import geo.extract

    calls = []
    monkeypatch.setattr(geo.extract, "read_osm", lambda path, collectors: calls.append(path))
    demand._cached_osm_features.cache_clear()
    assert layer_of(nanjing, "couriers").total > 0
    assert layer_of(nanjing, "trucks").total > 0
    assert calls == []


def test_without_a_cache_the_groups_share_one_read_of_the_osm_file(fresh_instance,
                                                                  monkeypatch):
    import geo.extract

    calls = []
    read = geo.extract.read_osm
    monkeypatch.setattr(geo.extract, "read_osm",
                        lambda path, collectors: calls.append(path) or read(path, collectors))
    demand._cached_osm_features.cache_clear()
    region = get_region("nanjing")
    osm_demand(region, "couriers", row_network())
    osm_demand(region, "trucks", row_network())
    demand._cached_osm_features.cache_clear()
    osm_demand(region, "trucks", row_network())
    assert len(calls) == 1


@pytest.mark.slow
def test_jinan_road_file_gives_every_group_demand(jinan):
    for group in ("street", "couriers", "trucks"):
        assert layer_of(jinan, group).total > 0


@pytest.mark.slow
def test_jinan_couriers_fall_back_to_local_street_length(jinan):
    layer = layer_of(jinan, "couriers")
    assert "fell back" in layer.description
    assert layer.unit == "km of local street"
    assert list(layer.parts) == ["local streets"]
    # local streets are a part of the e-bike network's streets
    ebike_km = undirected_length(jinan[1]["ebike"]) / 1000
    assert 0.3 * ebike_km < layer.total < ebike_km


@pytest.mark.slow
def test_jinan_trucks_count_major_roads_per_km(jinan):
    layer = layer_of(jinan, "trucks")
    assert layer.unit == "km of major road" and list(layer.parts) == ["major roads"]
    assert 500 < layer.total < undirected_length(jinan[1]["truck"]) / 1000


# -- user layers ------------------------------------------------------------------------------

def test_csv_points_go_to_their_nearest_node_and_far_ones_are_unplaced(tmp_path):
    path = tmp_path / "需求.csv"
    path.write_text(
        "name,lon,lat,weight\n"
        f"外卖站,{LON[0] + 0.0001},{LAT[0]},2\n"
        "\n"
        f"快递点,{LON[3]},{LAT[3] - 0.0002},1.5\n"
        f"远处,{LON[0]},{LAT[0] + 0.01},4\n",  # 1.1 km north: farther than 300 m
        encoding="utf-8-sig",
    )
    layer = user_demand(path, row_network())
    np.testing.assert_allclose(layer.weights, [2, 0, 0, 1.5])
    assert layer.unplaced == 4
    assert layer.parts == {"points": 7.5}


def test_polygons_spread_over_the_nodes_inside_and_lines_over_their_vertices(tmp_path):
    around_0_and_1 = shapely.box(LON[0] - 0.0002, LAT[0] - 0.0002, LON[1] + 0.0002, LAT[1] + 0.0002)
    near_3_no_node = shapely.box(LON[3] + 0.0003, LAT[3] - 0.0001, LON[3] + 0.0005, LAT[3] + 0.0001)
    from_1_to_2 = shapely.LineString([(LON[1], LAT[1]), (LON[2], LAT[2])])
    path = tmp_path / "areas.geojson"
    gpd.GeoDataFrame({"weight": [10.0, 3.0, 4.0]},
                     geometry=[around_0_and_1, near_3_no_node, from_1_to_2],
                     crs=4326).to_file(path, driver="GeoJSON")
    layer = user_demand(path, row_network())
    # 10 split over nodes 0 and 1; the small box holds no node, so goes to the nearest (3);
    # the line's 4 is split over its two vertices
    np.testing.assert_allclose(layer.weights, [5, 5 + 2, 2, 3])
    assert layer.parts == {"lines": 4.0, "polygons": 13.0}


def test_a_geopackage_in_utm_is_reprojected_to_wgs84(tmp_path):
    to_utm = Transformer.from_crs(4326, 32650, always_xy=True)
    x, y = to_utm.transform(LON[2], LAT[2])
    path = tmp_path / "utm.gpkg"
    gpd.GeoDataFrame({"demand": [6.0]}, geometry=[shapely.Point(x + 5, y)],
                     crs=32650).to_file(path, driver="GPKG")
    layer = user_demand(path, row_network(), weight_column="demand")
    np.testing.assert_allclose(layer.weights, [0, 0, 6, 0])
    assert layer.unplaced == 0 and layer.unit == "demand"


@pytest.mark.slow
def test_demand_layer_takes_the_users_file_over_osm(tmp_path, nanjing):
    region, networks = nanjing
    path = tmp_path / "points.csv"
    path.write_text("lon,lat,weight\n118.7790,32.0418,3\n", encoding="utf-8")
    layer = demand_layer(region, "couriers", networks["ebike"], user_path=path)
    assert layer.group == "couriers" and layer.total == 3
    assert demand_layer(region, "couriers", networks["ebike"]).parts["shops"] == 78


@pytest.mark.parametrize("content, message", [
    ("lon,lat,count\n118.78,32.04,1\n", "no 'weight' column"),
    ("lon,lat,weight\n118.78,32.04,1\n118.78,32.04,abc\n", "line 3: weight 'abc' is not a number"),
    ("lon,lat,weight\n118.78,32.04,1\n118.78,32.04,-2\n", "line 3: weight '-2' is negative"),
    ("lon,lat,weight\n190,32.04,1\n", "line 2: lon '190' is outside -180..180"),
    ("lon,lat,weight\n118.78,,1\n", "line 2: lat '' is not a number"),
    ("", "the file is empty"),
    ("lon,lat,weight\n", "the file has no rows"),
])
def test_bad_csv_files_are_refused_naming_the_file_and_the_row(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DemandError, match="bad.csv") as error:
        user_demand(path, row_network())
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


def test_a_bad_weight_in_geojson_names_the_feature(tmp_path):
    path = tmp_path / "bad.geojson"
    features = [{"type": "Feature", "properties": {"weight": w},
                 "geometry": {"type": "Point", "coordinates": [LON[0], LAT[0]]}}
                for w in (1, "many")]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(DemandError, match="bad.geojson, feature 2: weight 'many' is not a number"):
        user_demand(path, row_network())


def test_a_geojson_without_the_weight_column_is_refused(tmp_path):
    path = tmp_path / "unweighted.geojson"
    gpd.GeoDataFrame({"people": [1]}, geometry=[shapely.Point(LON[0], LAT[0])],
                     crs=4326).to_file(path, driver="GeoJSON")
    with pytest.raises(DemandError, match="unweighted.geojson: no 'weight' column"):
        user_demand(path, row_network())
