"""Map layers cut into Web Mercator tiles: each tile holds exactly the features that intersect
it, clipped and simplified for its zoom, and no feature is lost at any zoom."""

import json

import numpy as np
import pytest
import shapely

from geo.street_names import LABEL_ZOOM, NamedStreets, label_angle, street_names_for
from geo.tiles import (
    MAX_ZOOM,
    MIN_ZOOM,
    TILE_SIZE,
    TiledLayer,
    fit_zoom,
    properties_text,
    region_tiles,
    tile_bounds,
    tile_problem,
    tile_zoom,
)
from tests.support import make_app
from web import planner
from web.layers import hexagon_layer
from web.worker import street_layer

#: Central Nanjing, where the synthetic layers lie.
CENTRE = (118.78, 32.04)


def ids(text: str | None) -> set[int]:
    """The feature ids of a tile's GeoJSON text (none for an empty tile)."""
    return {f["id"] for f in json.loads(text)["features"]} if text else set()


def shapes(text: str) -> list:
    """The shapes of a tile's features."""
    return [shapely.from_geojson(json.dumps(f["geometry"])) for f in json.loads(text)["features"]]


def intersecting(geometries, z: int, x: int, y: int) -> set[int]:
    """The features a tile should hold: those a direct shapely test says intersect it."""
    box = shapely.box(*tile_bounds(z, x, y))
    return set(np.nonzero(shapely.intersects(geometries, box))[0].tolist())


def random_layer(seed: int, count: int = 300) -> np.ndarray:
    """Polygons and lines of every size from 0.5 m to 3 km scattered over about 10 km, a few
    of them very long."""
    rng = np.random.default_rng(seed)
    centres = np.array(CENTRE) + rng.uniform(-0.05, 0.05, (count, 2))
    sizes = 10 ** rng.uniform(-5.3, -1.5, count)  # degrees: about 0.5 m to 3 km
    polygons = shapely.buffer(shapely.points(centres[: count // 2]), sizes[: count // 2])
    ends = centres[count // 2:] + rng.normal(0, 1, (count - count // 2, 2)) * sizes[
        count // 2:, None]
    lines = shapely.linestrings(np.stack([centres[count // 2:], ends], axis=1))
    return np.concatenate([polygons, lines])


def sample_tiles(bounds, zooms) -> list[tuple[int, int, int]]:
    """A few tiles of each zoom over a box: its corners and middle."""
    chosen = []
    for z in zooms:
        tiles = region_tiles(bounds, z)
        chosen += [tiles[0], tiles[len(tiles) // 2], tiles[-1]]
    return sorted(set(chosen))


# --- tile numbers ------------------------------------------------------------------------------

def test_the_world_tile_spans_web_mercator():
    west, south, east, north = tile_bounds(0, 0, 0)
    assert (west, east) == (-180, 180)
    assert north == pytest.approx(85.0511287798) and south == pytest.approx(-85.0511287798)


def test_a_tiles_children_split_it_in_four():
    west, south, east, north = tile_bounds(10, 853, 418)
    assert tile_bounds(11, 1706, 836)[::3] == (west, north)
    assert tile_bounds(11, 1707, 837)[1:3] == (south, east)


def test_tile_numbers_outside_the_zooms_or_the_grid_name_their_parameter():
    assert tile_problem(MIN_ZOOM, 0, 0) is None and tile_problem(MAX_ZOOM, 2**18 - 1, 0) is None
    assert tile_problem(MIN_ZOOM - 1, 0, 0)[0] == "z"
    assert tile_problem(MAX_ZOOM + 1, 0, 0)[0] == "z"
    assert tile_problem(10, 1024, 0)[0] == "x"
    assert tile_problem(10, 0, 1024)[0] == "y"


def test_the_tiles_of_a_box_cover_it_and_touch_it():
    bounds = (118.756, 32.029, 118.800, 32.059)
    tiles = region_tiles(bounds, 15)
    box = shapely.box(*bounds)
    assert all(shapely.intersects(box, shapely.box(*tile_bounds(*t))) for t in tiles)
    assert shapely.union_all([shapely.box(*tile_bounds(*t)) for t in tiles]).contains(box)
    assert len(tiles) == 20  # 5 columns by 4 rows


def test_fit_zoom_is_leaflets_fit_bounds_zoom():
    # A box 1 tile wide at zoom 10 fits 256 pixels at zoom 10, 1,000 pixels at 11.96.
    bounds = tile_bounds(10, 853, 418)
    assert fit_zoom(bounds, 256, 256) == 10
    assert fit_zoom(bounds, 1000, 1000) == 11
    assert fit_zoom(bounds, 1000, 1000, snap=0.25) == 11.75
    assert fit_zoom(bounds, 1000, 300, snap=0.25) == 10.0  # the height decides
    assert fit_zoom(bounds, 511, 511) == 11  # within 1 % of a whole zoom


def test_a_map_draws_the_512_pixel_tiles_of_the_zoom_below_its_own():
    assert TILE_SIZE == 512
    assert [tile_zoom(z) for z in (10, 10.25, 10.5, 11.75)] == [9, 9, 10, 11]
    assert tile_zoom(2) == MIN_ZOOM and tile_zoom(21) == MAX_ZOOM


# --- a tile's features -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_a_tile_holds_exactly_the_features_that_intersect_it(seed):
    geometries = random_layer(seed)
    layer = TiledLayer(geometries, properties_text([{"n": i} for i in range(len(geometries))]))
    for z, x, y in sample_tiles(layer.bounds, range(MIN_ZOOM, MAX_ZOOM + 1, 2)):
        expected = intersecting(geometries, z, x, y)
        assert set(layer.features(z, x, y).tolist()) == expected
        assert ids(layer.geojson(z, x, y)) == expected, (z, x, y)


@pytest.mark.parametrize("z", range(MIN_ZOOM, MAX_ZOOM + 1))
def test_no_feature_is_lost_at_any_zoom(z):
    geometries = random_layer(3)
    layer = TiledLayer(geometries, properties_text([{}] * len(geometries)))
    found = set()
    tiles = region_tiles(layer.bounds, z)
    if len(tiles) > 400:  # the deepest zooms: the tiles of a few features' own boxes
        tiles = sorted({t for g in geometries[::25] for t in region_tiles(shapely.bounds(g), z)})
        wanted = set(range(0, len(geometries), 25))
    else:
        wanted = set(range(len(geometries)))
    for tile in tiles:
        text = layer.geojson(*tile)
        found |= ids(text)
        if text:
            assert all(not shape.is_empty for shape in shapes(text))
    assert wanted <= found


def test_a_feature_too_small_to_see_is_drawn_as_a_point_on_it():
    tiny = shapely.Point(CENTRE).buffer(1e-6)  # about 10 cm across
    short = shapely.LineString([CENTRE, (CENTRE[0] + 1e-6, CENTRE[1])])
    layer = TiledLayer(np.array([tiny, short]), properties_text([{}, {}]))
    z = 8
    tile = region_tiles(tiny.bounds, z)[0]
    drawn = shapes(layer.geojson(*tile))
    assert [shape.geom_type for shape in drawn] == ["Point", "Point"]
    pixel = (tile_bounds(*tile)[2] - tile_bounds(*tile)[0]) / TILE_SIZE
    assert all(shapely.distance(shape, tiny) < pixel for shape in drawn)
    # Zoomed in, it has its own shape again.
    tile = region_tiles(tiny.bounds, MAX_ZOOM)[0]
    assert [s.geom_type for s in shapes(layer.geojson(*tile))] == ["Polygon", "LineString"]


def test_shapes_are_clipped_to_the_tile_and_simplified_to_its_pixels():
    circle = shapely.Point(CENTRE).buffer(0.02, quad_segs=256)  # 1,025 vertices, 4 km across
    layer = TiledLayer(np.array([circle]), properties_text([{}]))
    for z in (10, 13, 16):
        for tile in region_tiles(circle.bounds, z):
            text = layer.geojson(*tile)
            if text is None:
                continue
            west, south, east, north = tile_bounds(*tile)
            pixel = (east - west) / TILE_SIZE
            (shape,) = shapes(text)
            x0, y0, x1, y1 = shape.bounds
            assert x0 >= west - pixel and x1 <= east + pixel
            assert y0 >= south - pixel and y1 <= north + pixel
            clipped = circle.intersection(shapely.box(west, south, east, north))
            assert shape.hausdorff_distance(clipped) < pixel
    (whole,) = shapes(layer.geojson(*region_tiles(circle.bounds, 9)[0]))
    assert shapely.get_num_coordinates(whole) < 60


def test_an_outlined_polygon_comes_with_its_edges_but_not_the_tiles():
    square = shapely.box(CENTRE[0] - 0.01, CENTRE[1] - 0.01, CENTRE[0] + 0.01, CENTRE[1] + 0.01)
    layer = TiledLayer(np.array([square]), properties_text([{}]), outlined=True)
    for tile in region_tiles(square.bounds, 14):
        text = layer.geojson(*tile)
        box = shapely.box(*tile_bounds(*tile))
        (shape,) = shapes(text)
        if box.within(square):  # a tile inside the polygon: a fill only
            assert shape.geom_type == "Polygon"
            continue
        fill, edge = shape.geoms
        assert fill.geom_type == "Polygon" and edge.geom_type in ("LineString", "MultiLineString")
        pixel = (box.bounds[2] - box.bounds[0]) / TILE_SIZE
        assert edge.hausdorff_distance(square.boundary.intersection(box)) < pixel
        assert edge.intersection(box.boundary.buffer(pixel / 8)).length < 2 * pixel


def test_properties_go_with_each_feature_as_json():
    square = shapely.Point(CENTRE).buffer(0.001)
    layer = TiledLayer(np.array([square]), properties_text([{"name": "驿站 <b>", "n": None}]))
    text = layer.geojson(*region_tiles(square.bounds, 15)[0])
    (feature,) = json.loads(text)["features"]
    assert feature["id"] == 0 and feature["properties"] == {"name": "驿站 <b>", "n": None}


def test_a_tile_outside_the_layer_or_of_an_empty_layer_is_none():
    layer = TiledLayer(random_layer(4))
    assert layer.geojson(12, 0, 0) is None and len(layer.features(12, 0, 0)) == 0
    empty = TiledLayer(np.array([], dtype=object), [])
    assert empty.bounds is None and empty.geojson(12, 3413, 1672) is None


def test_a_layer_without_properties_is_one_feature_of_lines_and_dots_within_a_pixel():
    geometries = random_layer(5)[150:]  # lines only, as streets
    layer = TiledLayer(geometries)
    for z, x, y in sample_tiles(layer.bounds, (8, 11, 14, 17)):
        text = layer.geojson(z, x, y)
        expected = intersecting(geometries, z, x, y)
        assert (text is None) == (not expected)
        if text is None:
            continue
        (feature,) = json.loads(text)["features"]
        assert "id" not in feature and feature["properties"] == {}
        drawn = shapely.from_geojson(json.dumps(feature["geometry"]))
        box = shapely.box(*tile_bounds(z, x, y))
        pixel = (box.bounds[2] - box.bounds[0]) / TILE_SIZE
        streets = shapely.intersection(geometries[sorted(expected)], box)
        # every street in the tile is drawn within a pixel, and nothing else is drawn
        points = shapely.points(shapely.get_coordinates(shapely.segmentize(streets, pixel / 4)))
        assert shapely.distance(points, drawn).max() < 1.5 * pixel
        assert drawn.hausdorff_distance(shapely.union_all(streets)) < 1.5 * pixel


# --- a real region -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nanjing(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("tiles"), SEED_DEMO=True)
    analysis = app.extensions["atlas"].coverage("nanjing", "street", 5)
    return app, analysis


def nanjing_layer(analysis, name: str) -> np.ndarray:
    """The geometries of one of the planner's layers, straight from the analysis."""
    attribute = planner.MAP_LAYERS[name][0]
    frame = hexagon_layer(analysis.cells) if name == "cells" else getattr(analysis, attribute)
    return frame.to_crs(4326).geometry.values


@pytest.mark.parametrize("name", list(planner.MAP_LAYERS))
def test_a_nanjing_tile_holds_exactly_the_layers_features_that_intersect_it(nanjing, name):
    app, analysis = nanjing
    geometries = nanjing_layer(analysis, name)
    client = app.test_client()
    query = "region=nanjing&group=street&threshold=5"
    bounds = tuple(shapely.total_bounds(geometries))
    for z, x, y in sample_tiles(bounds, (MIN_ZOOM, 12, 14, 15, 16, 17, MAX_ZOOM)):
        response = client.get(f"/planner/tiles/{name}/{z}/{x}/{y}.json?{query}")
        assert response.status_code in (200, 204)
        found = ids(response.data if response.status_code == 200 else None)
        assert found == intersecting(geometries, z, x, y), (name, z, x, y)


def test_nanjings_street_tiles_draw_every_street_within_a_pixel(nanjing):
    app, _analysis = nanjing
    network = app.extensions["atlas"].index("nanjing").network("walk")
    streets = street_layer(network).geometries
    client = app.test_client()
    for z, x, y in sample_tiles(tuple(shapely.total_bounds(streets)), (12, 15, 17)):
        response = client.get(f"/streets/nanjing/{z}/{x}/{y}.json")
        box = shapely.box(*tile_bounds(z, x, y))
        inside = streets[shapely.intersects(streets, box)]
        assert response.status_code == (200 if len(inside) else 204)
        if not len(inside):
            continue
        drawn = shapely.from_geojson(json.dumps(response.json["features"][0]["geometry"]))
        pixel = (box.bounds[2] - box.bounds[0]) / TILE_SIZE
        clipped = shapely.union_all(shapely.intersection(inside, box))
        assert drawn.hausdorff_distance(clipped) < 1.5 * pixel


def test_each_street_is_drawn_once_not_once_per_direction(nanjing):
    app, _analysis = nanjing
    network = app.extensions["atlas"].index("nanjing").network("walk")
    streets = shapely.to_wkb(shapely.normalize(street_layer(network).geometries))
    edges = [shapely.LineString(network.edge_shape(e)) for e in range(len(network.edge_u))]
    assert len(set(streets)) == len(streets)
    assert set(streets) == set(shapely.to_wkb(shapely.normalize(edges)))


# --- street names ------------------------------------------------------------------------------

def street_tiles(app, zooms) -> list[tuple[tuple[int, int, int], dict]]:
    """Nanjing's street tiles of some zooms that have streets, with their GeoJSON."""
    client = app.test_client()
    network = app.extensions["atlas"].index("nanjing").network("walk")
    bounds = tuple(shapely.total_bounds(street_layer(network).geometries))
    found = []
    for z in zooms:
        for tile in region_tiles(bounds, z):
            response = client.get("/streets/nanjing/{}/{}/{}.json".format(*tile))
            if response.status_code == 200:
                found.append((tile, response.json))
    return found


def labels_of(body: dict) -> list[dict]:
    return [f for f in body["features"] if "name" in f["properties"]]


def test_street_tiles_name_the_streets_only_at_street_zoom(nanjing):
    app, _analysis = nanjing
    assert all(not labels_of(body) for _tile, body in street_tiles(app, (12, 13, 14)))
    named = [labels_of(body) for _tile, body in street_tiles(app, (LABEL_ZOOM, LABEL_ZOOM + 1))]
    assert sum(map(len, named)) > 20


def test_each_name_is_written_on_its_own_street_once_a_tile_and_reads_left_to_right(nanjing):
    app, _analysis = nanjing
    names = street_names_for(app.extensions["atlas"].region("nanjing"))
    for tile, body in street_tiles(app, (LABEL_ZOOM, LABEL_ZOOM + 2)):
        pixel = (tile_bounds(*tile)[2] - tile_bounds(*tile)[0]) / TILE_SIZE
        labels = labels_of(body)
        assert len({f["properties"]["name"] for f in labels}) == len(labels)
        for label in labels:
            point = shapely.Point(label["geometry"]["coordinates"])
            assert shapely.Polygon.from_bounds(*tile_bounds(*tile)).buffer(pixel).contains(point)
            same = names.geometries[[n == label["properties"]["name"] for n in names.names]]
            assert shapely.distance(shapely.union_all(same), point) < pixel
            assert -90 <= label["properties"]["angle"] <= 90


def test_names_add_little_to_a_street_tile(nanjing):
    app, _analysis = nanjing
    for tile, body in street_tiles(app, (LABEL_ZOOM, LABEL_ZOOM + 1)):
        labels = labels_of(body)
        text = json.dumps(labels, ensure_ascii=False, separators=(",", ":")).encode()
        assert len(text) <= 2 + 160 * len(labels), tile  # each label a name, a point and an angle
        assert len(text) <= 4096, tile  # only names that fit along their street


@pytest.mark.parametrize("line, angle", [
    ([(0, 0), (1, 0)], 0), ([(1, 0), (0, 0)], 0),  # east or west: level
    ([(0, 0), (0, 1)], -90), ([(0, 1), (0, 0)], 90),  # north or south: upright
    ([(0, 0), (1, 1)], -45), ([(1, 1), (0, 0)], -45),  # north-east, read upwards to the right
])
def test_a_labels_angle_follows_its_street_and_never_reads_upside_down(line, angle):
    names = NamedStreets.of(["路"], np.array(line, dtype=float), np.array([2]))
    # at the equator, so that a degree of longitude is a degree of latitude
    assert label_angle(names.geometries[0], 0.0) == angle
