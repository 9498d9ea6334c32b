"""Bytes transferred and time to interactive of the worker and planner pages in headless
Chromium, with map layers in tiles (the app) and, as the peer, loaded whole (each planner
layer as one GeoJSON file, the street basemap as one MultiLineString; served by this script).

Serves the app (its own SQLite store in a temporary folder, demo stations seeded) on loopback.
A browser context asking for the peer carries a ``peer`` cookie: this script then rewrites the
page's map config to the whole-layer addresses and serves the whole-layer basemap script. Each
page is opened once to warm the server's caches (coverage analyses, layers), then measured in
a fresh context, :data:`RUNS` times: bytes are the response bodies as transferred (compressed
where the server compressed them) until the network is idle; time to interactive is from
navigation until the map shows the first view's layers (planner: its default layers and the
streets; worker: the streets and the stations), the median of the runs.

    python scripts/bench_pages.py
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.export import geojson_text  # noqa: E402
from tests.browser import ARGS, CHROMIUM, serving  # noqa: E402
from web import create_app, planner  # noqa: E402
from web.api.coverage import coverage_request  # noqa: E402
from web.layers import display_tolerance, for_display, hexagon_layer  # noqa: E402

REGIONS = ["nanjing", "jinan"]

#: Measured visits of each page and approach; times are their median.
RUNS = 3

#: Page, address, window size, and what the map shows once the first view is ready.
PAGES = [
    ("worker", "/?region={region}", {"width": 390, "height": 844},
     "#map[data-streets=drawn] .station-icon, #map[data-streets=drawn] .marker-cluster"),
    ("planner", "/planner?region={region}", {"width": 1440, "height": 900},
     "#planner-map[data-streets=drawn][data-loaded~=cells][data-loaded~=service-areas]"
     "[data-loaded~=gaps][data-loaded~=stations]"),
]

#: The peer's basemap script: the region's streets fetched whole and drawn at once.
PEER_BASEMAP_JS = """
window.yizhanBasemap = function (map, config) {
  "use strict";
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(window.yizhanDom.escape(config.attribution));
  return fetch(config.streetsUrl).then((r) => r.json()).then((streets) => {
    L.geoJSON(streets, { style: { color: "#9aa5b1", weight: 1.5, opacity: 0.9 },
                         interactive: false })
      .addTo(map).bringToBack();
  });
};
"""

peer = Blueprint("peer", __name__, url_prefix="/peer")
_whole: dict[tuple, bytes] = {}


@peer.get("/layers/<name>.geojson")
def whole_layer(name: str):
    """A planner layer whole, simplified for the region as one tolerance, gzipped once."""
    region, group, threshold = coverage_request(request.args)
    key = (name, region.id, group.id, threshold)
    if key not in _whole:
        atlas = current_app.extensions["atlas"]
        analysis = atlas.coverage(region.id, group.id, threshold)
        attribute, shown, _outlined = planner.MAP_LAYERS[name]
        if attribute == "cells":
            frame = hexagon_layer(analysis.cells)
            frame["covered_pct"] = frame["covered_share"] * 100
            frame["colour"] = frame["covered_share"].map(planner.share_colour)
        else:
            frame = getattr(analysis, attribute)
        simple = for_display(frame[[*shown, "geometry"]],
                             display_tolerance(atlas.index(region.id).bounds))
        text = geojson_text(simple.round(1), region.attribution).encode("utf-8")
        _whole[key] = gzip.compress(text, compresslevel=5)
    response = Response(_whole[key], mimetype="application/geo+json")
    response.content_encoding = "gzip"
    return response


@peer.get("/streets/<region_id>.json")
def whole_streets(region_id: str):
    """A region's streets as one MultiLineString, each street once, to about a metre."""
    atlas = current_app.extensions["atlas"]
    region = atlas.region(region_id)
    network = atlas.index(region.id).network("walk" if "walk" in region.modes
                                             else region.modes[0])
    u, v = network.edge_u, network.edge_v
    once = np.nonzero((u < v) | (network.edge_ids(v, u) < 0))[0]
    lines = [network.edge_shape(e).round(5).tolist() for e in once]
    return jsonify({"type": "Feature", "properties": {"attribution": region.attribution},
                    "geometry": {"type": "MultiLineString", "coordinates": lines}})


def _as_peer(response: Response) -> Response:
    """For a client with the ``peer`` cookie: a page's map config pointing at whole layers,
    and the whole-layer basemap script."""
    if not request.cookies.get("peer") or response.direct_passthrough and \
            not request.path.endswith("/basemap.js"):
        return response
    if request.path.endswith("/basemap.js"):
        response.direct_passthrough = False
        response.set_data(PEER_BASEMAP_JS)
        return response
    if response.mimetype != "text/html":
        return response
    region = request.args.get("region", "")
    query = re.sub(r"&?rev=\d+", "", request.query_string.decode())

    def rewrite(match: re.Match) -> str:
        config = json.loads(match[2])
        basemap = config.get("basemap", config)
        basemap["streetsUrl"] = f"/peer/streets/{region}.json"
        for layer in config.get("layers", []):
            if "tiles" in layer:
                layer["url"] = f"/peer/layers/{layer.pop('tiles').split('/')[3]}.geojson?{query}"
                layer.pop("box")
        text = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
        return f"{match[1]}{text}</script>"

    page = re.sub(r'(<script id="(?:map-)?config" type="application/json">)(.*?)</script>',
                  rewrite, response.get_data(as_text=True), flags=re.S)
    response.set_data(page)
    return response


def measure(browser, base: str, path: str, viewport: dict, ready: str,
            as_peer: bool) -> tuple[int, int, float]:
    """Open a page in a fresh context; return the bytes transferred, the requests sent and
    the seconds until ``ready`` shows."""
    context = browser.new_context(viewport=viewport)
    if as_peer:
        context.add_cookies([{"name": "peer", "value": "1", "url": base}])
    page = context.new_page()
    requests = []
    page.on("requestfinished", lambda finished: requests.append(finished))
    page.goto(base + path)
    page.wait_for_selector(ready, state="attached", timeout=300_000)
    seconds = page.evaluate("() => performance.now()") / 1000
    page.wait_for_load_state("networkidle")
    sizes = [r.sizes()["responseBodySize"] for r in requests]
    context.close()
    return sum(max(size, 0) for size in sizes), len(sizes), seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db",
                          "SECRET_KEY": "bench"})
        app.register_blueprint(peer)
        app.after_request(_as_peer)
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            rows = []
            for name, path, viewport, ready in PAGES:
                for region in REGIONS:
                    url = path.format(region=region)
                    for as_peer in (False, True):  # warm the server's caches
                        measure(browser, base, url, viewport, ready, as_peer)
                    tiles = _median([measure(browser, base, url, viewport, ready, False)
                                     for _ in range(RUNS)])
                    whole = _median([measure(browser, base, url, viewport, ready, True)
                                     for _ in range(RUNS)])
                    rows.append((f"{name} {region}", tiles, whole))
            browser.close()
    print(f"{'page':<16} {'tiles kB':>9} {'req':>4} {'TTI s':>6}   {'whole kB':>9} {'req':>4} "
          f"{'TTI s':>6}   {'bytes ratio':>11} {'TTI ratio':>9}")
    for label, (size, count, seconds), (peer_size, peer_count, peer_seconds) in rows:
        print(f"{label:<16} {size / 1000:>9.1f} {count:>4} {seconds:>6.2f}   "
              f"{peer_size / 1000:>9.1f} {peer_count:>4} {peer_seconds:>6.2f}   "
              f"{size / peer_size:>11.2f} {seconds / peer_seconds:>9.2f}")
    print("ratio = tiles / whole layers (below 1: tiles are lighter or faster)")


def _median(runs: list[tuple[int, int, float]]) -> tuple[int, int, float]:
    """The run with the median time to interactive."""
    return sorted(runs, key=lambda run: run[2])[len(runs) // 2]


if __name__ == "__main__":
    main()
