"""Page weight on the city-scale demo region, Jinan: the bytes a browser transfers for the first
view of the worker and planner pages, counted from the app's answers to what the page asks for
(bytes are deterministic; ``scripts/bench_pages.py`` measures the same in Chromium).

A first view is the page, every asset it links, the images it shows, the data its scripts
fetch at once and the map tiles of its default view: the map fits the region's bounds in the
window (the map is no larger than the window, so this is the largest zoom it can open at),
and every tile of each default layer's box at that zoom is counted (the map asks only for the
tiles of its view that meet a layer's box, so this bounds what it asks for)."""

import gzip
import json
import re

import brotli
import pytest

from geo.tiles import fit_zoom, region_tiles, tile_zoom
from tests.support import ASSET_LINK, make_app

#: What Chromium sends.
BROWSER = {"Accept-Encoding": "gzip, deflate, br"}

#: A phone and a desktop window, as (width, height).
PHONE, DESKTOP = (390, 844), (1440, 900)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("weight"), SEED_DEMO=True)
    return app.test_client()


def transfer(client, url: str) -> tuple[int, bytes]:
    """The bytes a browser receives for ``url`` and the body they decode to."""
    response = client.get(url, headers=BROWSER)
    assert response.status_code in (200, 204), url
    packed = response.data
    encoding = response.headers.get("Content-Encoding")
    body = (brotli.decompress(packed) if encoding == "br" else
            gzip.decompress(packed) if encoding == "gzip" else packed)
    return len(packed), body


def config(page: str, name: str) -> dict:
    """The JSON a page hands its scripts in ``<script id=name>``."""
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found[1])


def tiles(client, template: str, box, zoom: int) -> int:
    """Bytes of the tiles of ``box`` at ``zoom`` from a tile address template."""
    return sum(transfer(client, template.format(z=z, x=x, y=y))[0]
               for z, x, y in region_tiles(box, zoom))


def page_and_assets(client, url: str) -> tuple[int, str]:
    """Bytes of a page and the assets and images it links, and the page's text."""
    size, body = transfer(client, url)
    page = body.decode("utf-8")
    for link in ASSET_LINK.findall(page) + re.findall(r'<img src="([^"]+)"', page):
        size += transfer(client, link.replace("&amp;", "&"))[0]
    return size, page


@pytest.mark.parametrize("window", [PHONE, DESKTOP])
def test_the_jinan_worker_pages_first_visit_is_at_most_300_kb(client, window):
    size, page = page_and_assets(client, "/?region=jinan")
    settings = config(page, "config")
    size += transfer(client, "/api/v1/stations?region=jinan")[0]
    zoom = tile_zoom(fit_zoom(settings["bounds"], *window))  # the worker map snaps to whole zooms
    basemap = settings["basemap"]
    size += tiles(client, basemap["streetsUrl"], basemap["box"], zoom)
    assert size <= 300_000


def test_the_jinan_planners_first_view_is_at_most_1_mb(client):
    size, page = page_and_assets(client, "/planner?region=jinan")
    settings = config(page, "map-config")
    zoom = tile_zoom(fit_zoom(settings["bounds"], *DESKTOP, snap=0.25))
    basemap = settings["basemap"]
    size += tiles(client, basemap["streetsUrl"], basemap["box"], zoom)
    for layer in settings["layers"]:
        if layer["on"] and "tiles" in layer:
            size += tiles(client, layer["tiles"], layer["box"], zoom)
        elif layer["on"]:
            size += transfer(client, layer["url"])[0]
    assert size <= 1_000_000
