// Map layers served as GeoJSON tiles (see geo/tiles.py). yizhanTiles(map, url, features,
// bounds) keeps a grid of tiles for the map's view and zoom (within bounds, [west, south, east,
// north], if given); each tile's features go into `features` (an L.geoJSON, whose options draw
// them) and leave it when the tile is dropped. `features` is the layer the map shows and
// switches: the grid follows it onto and off the map. Tiles are clipped, so polygons are drawn
// without a stroke (their edges would show the tiles' edges); a layer that has outlines sends
// them as lines. Returns {grid, ready}: the grid (it fires "features" when a tile's features
// are added) and a Promise of the first time the view's tiles are all in.
window.yizhanTiles = function (map, url, features, bounds) {
  "use strict";
  const drawn = new Map();  // tile key -> the layers of its features

  /** Polygons without a stroke, in a feature's layer and in its parts. */
  function fillOnly(layer) {
    if (layer instanceof L.Polygon) layer.setStyle({ stroke: false });
    else if (layer.eachLayer) layer.eachLayer(fillOnly);
  }

  /** A tile's features (null for none, a 204), asked again after the wait the server names
   * while it is busy (429, 503), at most `tries` times in all. */
  function fetchTile(address, tries) {
    return fetch(address, { credentials: "same-origin" }).then((response) => {
      if ((response.status === 429 || response.status === 503) && tries > 1) {
        const wait = Math.min(Number(response.headers.get("Retry-After")) || 2, 10);
        return new Promise((resolve) => setTimeout(resolve, wait * 1000))
          .then(() => fetchTile(address, tries - 1));
      }
      if (!response.ok) throw new Error(`${response.url}: ${response.status}`);
      return response.status === 204 ? null : response.json();
    });
  }

  const Grid = L.GridLayer.extend({
    createTile(coords, done) {
      const tile = document.createElement("div");
      const layers = [];
      const key = this._tileCoordsToKey(coords);
      drawn.set(key, layers);
      // 512-pixel tiles: the map's tiles at zoom z are the server's of zoom z - 1
      fetchTile(L.Util.template(url, { x: coords.x, y: coords.y, z: coords.z - 1 }), 4)
        .then((data) => {
          if (data && drawn.get(key) === layers) {
            L.geoJSON(data, features.options).eachLayer((layer) => {
              fillOnly(layer);
              features.addLayer(layer);
              layers.push(layer);
            });
            this.fire("features");
          }
          done(null, tile);
        })
        .catch((error) => done(error, tile));
      return tile;
    },
  });

  const grid = new Grid({
    bounds: bounds && L.latLngBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]]),
    tileSize: 512, minNativeZoom: 6, maxNativeZoom: 19,  // geo/tiles.py: MIN_ZOOM + 1, MAX_ZOOM + 1
    updateWhenZooming: false, keepBuffer: 1,
  });
  function unload(key) {
    (drawn.get(key) || []).forEach((layer) => features.removeLayer(layer));
    drawn.delete(key);
  }
  grid.on("tileunload", (event) => unload(grid._tileCoordsToKey(event.coords)));
  // Leaflet may keep tiles of the zoom before while it fades in the new ones; once they are
  // all in, the old zoom's tiles go, features and all (they would be drawn twice). They leave
  // the grid too, so zooming back asks for them again rather than showing them empty.
  grid.on("load", () => Object.keys(grid._tiles).forEach((key) => {
    if (grid._keyToTileCoords(key).z !== grid._tileZoom) grid._removeTile(key);
  }));
  const ready = new Promise((resolve) => grid.once("load", resolve));
  features.on("add", () => map.addLayer(grid));
  features.on("remove", () => map.removeLayer(grid));
  if (map.hasLayer(features)) map.addLayer(grid);
  return { grid, ready };
};
