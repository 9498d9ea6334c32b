// The basemap every Yizhan map shares: the configured tiles, or, with none, the region's own
// streets drawn from its network, so maps work offline. Resolves once the streets are drawn.
window.yizhanBasemap = function (map, config) {
  "use strict";
  map.attributionControl.setPrefix(false);
  if (config.tilesUrl) {
    L.tileLayer(config.tilesUrl, { maxZoom: 19, attribution: config.attribution }).addTo(map);
    return Promise.resolve();
  }
  map.attributionControl.addAttribution(config.attribution);
  return fetch(config.streetsUrl).then((r) => r.json()).then((streets) => {
    L.geoJSON(streets, { style: { color: "#9aa5b1", weight: 1.5, opacity: 0.9 }, interactive: false })
      .addTo(map).bringToBack();
  });
};
