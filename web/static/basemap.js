// The basemap every Yizhan map shares: the configured tiles, or, with none, the region's own
// streets drawn from its network in tiles (tiles.js), so maps work offline. Resolves once the
// first view's streets are drawn. At street zoom the tiles also name the streets: a point with
// the name and its angle along the street, written there. Leaflet shows attributions as HTML,
// so the region's attribution goes in escaped.
window.yizhanBasemap = function (map, config) {
  "use strict";
  const attribution = window.yizhanDom.escape(config.attribution);
  map.attributionControl.setPrefix(false);
  if (config.tilesUrl) {
    L.tileLayer(config.tilesUrl, { maxZoom: 19, attribution }).addTo(map);
    return Promise.resolve();
  }
  map.attributionControl.addAttribution(attribution);
  // The streets have a pane of their own, under every other layer.
  map.createPane("streets").style.zIndex = 350;
  map.createPane("street-names").style.zIndex = 360;
  const style = { color: "#9aa5b1", weight: 1.5, opacity: 0.9, renderer: L.canvas({ pane: "streets" }) };
  const label = (p, latlng) => {
    const text = document.createElement("span");
    text.textContent = p.name;
    text.style.transform = `translate(-50%, -50%) rotate(${Number(p.angle) || 0}deg)`;
    return L.marker(latlng, {
      icon: L.divIcon({ className: "street-name", html: text, iconSize: null }),
      pane: "street-names", interactive: false, keyboard: false,
    });
  };
  const streets = L.geoJSON(null, {
    style, interactive: false,
    pointToLayer: (feature, latlng) => (feature.properties.name ? label(feature.properties, latlng)
      : L.circleMarker(latlng, { ...style, radius: 1, fillOpacity: 0.9, interactive: false })),
  }).addTo(map);
  return window.yizhanTiles(map, config.streetsUrl, streets, config.box).ready;
};
