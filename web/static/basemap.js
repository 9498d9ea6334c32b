// The basemap every Yizhan map shares: the configured tiles, or, with none, the region's own
// streets drawn from its network, so maps work offline. Resolves once the streets are drawn.
// Leaflet shows attributions as HTML, so the region's attribution goes in escaped.
window.yizhanBasemap = function (map, config) {
  "use strict";
  const attribution = window.yizhanDom.escape(config.attribution);
  map.attributionControl.setPrefix(false);
  if (config.tilesUrl) {
    L.tileLayer(config.tilesUrl, { maxZoom: 19, attribution }).addTo(map);
    return Promise.resolve();
  }
  map.attributionControl.addAttribution(attribution);
  return fetch(config.streetsUrl).then((r) => r.json()).then((streets) => {
    L.geoJSON(streets, { style: { color: "#9aa5b1", weight: 1.5, opacity: 0.9 }, interactive: false })
      .addTo(map).bringToBack();
  });
};
