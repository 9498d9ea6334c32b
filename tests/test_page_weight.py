"""Page weight on the city-scale demo region, Jinan, and on a small phone in Nanjing: the bytes a
browser transfers for the first view of the worker and planner pages, counted from the app's
answers to what the page asks for (bytes are deterministic; ``scripts/bench_pages.py`` measures
the same in Chromium).

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

#: A phone and a desktop window, as (width, height), and a small phone's.
PHONE, DESKTOP, SMALL_PHONE = (390, 844), (1440, 900), (360, 640)


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


def worker_first_visit(client, region: str, window: tuple[int, int]) -> int:
    """Bytes of a first visit of a region's worker page: the page, its assets, the stations it
    preloads, its manifest and service worker, the street tiles of its first view, and what
    the service worker keeps again once it runs (the page and the stations)."""
    size, page = page_and_assets(client, f"/?region={region}")
    for link in re.findall(r'<link rel="(?:preload|manifest)" href="([^"]+)"', page):
        size += transfer(client, link.replace("&amp;", "&"))[0]
    size += transfer(client, "/sw.js")[0]
    size += worker_repeat_visit(client, region)
    settings = config(page, "config")
    zoom = tile_zoom(fit_zoom(settings["bounds"], *window))  # the worker map snaps to whole zooms
    basemap = settings["basemap"]
    return size + tiles(client, basemap["streetsUrl"], basemap["box"], zoom)


def worker_repeat_visit(client, region: str) -> int:
    """Bytes of a repeat visit of a region's worker page under its service worker: the page
    and the stations, asked for from the network first; assets and tiles are kept."""
    size, page = transfer(client, f"/?region={region}")
    (stations,) = re.findall(r'<link rel="preload" href="([^"]+)"', page.decode("utf-8"))
    return size + transfer(client, stations.replace("&amp;", "&"))[0]


@pytest.mark.parametrize("window", [PHONE, DESKTOP])
def test_the_jinan_worker_pages_first_visit_is_at_most_300_kb(client, window):
    assert worker_first_visit(client, "jinan", window) <= 300_000


def test_a_first_visit_of_the_nanjing_worker_page_on_a_small_phone_is_at_most_150_kb(client):
    assert worker_first_visit(client, "nanjing", SMALL_PHONE) <= 150_000


def test_a_repeat_visit_of_the_nanjing_worker_page_is_at_most_10_kb(client):
    assert worker_repeat_visit(client, "nanjing") <= 10_000


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
