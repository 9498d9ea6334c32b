// The planner page's map: the basemap, then switchable layers (demand hexagons, service areas,
// gaps, uncovered streets) that load in tiles for the view while they are on (tiles.js), and
// the stations, loaded whole the first time they are turned on. Everything comes from the
// page's #map-config (translated by the server); tooltips and popups are built from text
// nodes, so names from data never become markup.
//
// Other scripts reach the map through window.yizhanPlannerMap:
//   map        the Leaflet map
//   layer(id)  the layer of that id ("cells", "service-areas", "gaps", "uncovered-streets",
//              "stations"), holding what is loaded (a tiled layer: the pieces of its features
//              in the tiles of the view)
//   load(id)   a Promise of that layer once its data is in (loading it if it is not yet; a
//              tiled layer: the first view's tiles)
// The map fires "restack" after it has put its layers back in order, drawn over anything else.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const { el } = window.yizhanDom;

  const [minLon, minLat, maxLon, maxLat] = config.bounds;
  const map = L.map("planner-map", { preferCanvas: true, maxZoom: 19, zoomSnap: 0.25 });
  map.fitBounds([[minLat, minLon], [maxLat, maxLon]]);
  L.control.scale().addTo(map);
  window.yizhanBasemap(map, config.basemap).then(() => { map.getContainer().dataset.streets = "drawn"; });

  const STYLES = {
    cells: (f) => ({ color: f.properties.colour, weight: 1, fillOpacity: 0.55, fillColor: f.properties.colour }),
    "service-areas": () => ({ color: "#2e86ab", weight: 1, fillOpacity: 0.12 }),
    gaps: () => ({ color: "#b71c1c", weight: 2, fillOpacity: 0.25 }),
    "uncovered-streets": () => ({ color: "#b71c1c", weight: 2 }),
  };

  const shown = (value) => (value === null || value === undefined ? "–" : String(value));

  /** A tooltip: one row per [property, label] of the layer. */
  const table = (properties, fields) => el("table", { class: "map-tooltip" },
    fields.map(([key, label]) => el("tr", {}, el("th", {}, label), el("td", {}, shown(properties[key])))));

  /** A station's popup: name, kind and whether it is demo data. */
  function stationPopup(p) {
    const kind = config.kinds[p.kind];
    return el("div", { class: "station-popup", "data-station-id": p.id },
      el("strong", {}, p.name), el("br"), kind ? kind.label : p.kind,
      p.demo ? [el("br"), config.demo] : []);
  }

  function stationMarker(feature, latlng) {
    const kind = config.kinds[feature.properties.kind];
    return L.circleMarker(latlng, {
      radius: 6, color: "#ffffff", weight: 2, fillColor: kind ? kind.colour : "#555555", fillOpacity: 1,
    });
  }

  function layerOptions(spec) {
    if (spec.id === "stations") {
      return {
        pointToLayer: stationMarker,
        onEachFeature: (feature, marker) => {
          marker.bindPopup(stationPopup(feature.properties), { maxWidth: 260 });
          marker.bindTooltip(el("span", {}, feature.properties.name));
        },
      };
    }
    return {
      style: STYLES[spec.id],
      // a feature too small to see at the zoom comes as a point
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, { radius: 2 }),
      onEachFeature: spec.tooltip.length
        ? (feature, layer) => layer.bindTooltip(() => table(feature.properties, spec.tooltip), { sticky: true })
        : undefined,
    };
  }

  const layers = new Map();    // id -> {spec, layer, loading}
  config.layers.forEach((spec) => layers.set(spec.id, { spec, layer: L.geoJSON(null, layerOptions(spec)), loading: null }));

  /** Keep the layers on the map in the switcher's order, stations on top; then let other
   * scripts bring their own layers above (the map fires "restack"). */
  function restack() {
    layers.forEach(({ layer }) => { if (map.hasLayer(layer)) layer.bringToFront(); });
    map.fire("restack");
  }

  /** Restack once the tiles that came in at the same time are all drawn. */
  let restacking = null;
  function restackSoon() {
    if (!restacking) restacking = L.Util.requestAnimFrame(() => { restacking = null; restack(); });
  }

  /** Mark a layer loaded: the map's data-loaded lists the loaded layers. */
  function loaded(id, layer) {
    restack();
    const container = map.getContainer();
    container.dataset.loaded = `${container.dataset.loaded || ""} ${id}`.trim();
    return layer;
  }

  function load(id) {
    const entry = layers.get(id);
    if (!entry.loading && entry.spec.tiles) {
      const { grid, ready } = window.yizhanTiles(map, entry.spec.tiles, entry.layer, entry.spec.box);
      grid.on("features", restackSoon);  // a new tile's pieces go back under the layers above
      entry.loading = ready.then(() => loaded(id, entry.layer));
    } else if (!entry.loading) {
      entry.loading = fetch(entry.spec.url, { credentials: "same-origin" })
        .then((response) => {
          if (!response.ok) throw new Error(`${entry.spec.url}: ${response.status}`);
          return response.json();
        })
        .then((data) => loaded(id, entry.layer.addData(data)))
        .catch((error) => {
          entry.loading = null;  // tried again when next turned on
          throw error;
        });
    }
    return entry.loading;
  }

  const overlays = {};
  layers.forEach(({ spec, layer }) => {
    overlays[spec.name] = layer;
    if (spec.on) {
      layer.addTo(map);
      load(spec.id).catch(() => {});
    }
  });
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);
  map.on("overlayadd", (event) => {
    const found = [...layers.values()].find(({ layer }) => layer === event.layer);
    if (found) load(found.spec.id).catch(() => {});
    restack();
  });

  window.yizhanPlannerMap = { map, layer: (id) => layers.get(id).layer, load };
})();
