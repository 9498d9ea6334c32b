// The station form's map: tap it to place the station, drag the marker to move it. Typed
// WGS-84 coordinates move the marker; coordinates in GCJ-02 or BD-09 are converted by the server
// when the form is saved. Nothing here writes station text into the page.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("place-config").textContent);
  const lonInput = document.getElementById("f-lon");
  const latInput = document.getElementById("f-lat");
  const datumInput = document.getElementById("f-datum");

  const [minLon, minLat, maxLon, maxLat] = config.bounds;
  const map = L.map("place-map", { zoomControl: true, maxZoom: 19 });
  window.yizhanBasemap(map, config).then(() => { map.getContainer().dataset.streets = "drawn"; });

  let marker = null;

  // Put the marker at a point (creating it the first time).
  function place(latlng) {
    if (marker) {
      marker.setLatLng(latlng);
      return;
    }
    marker = L.marker(latlng, { draggable: true, autoPan: true }).addTo(map);
    marker.on("dragend", () => write(marker.getLatLng()));
  }

  // Write a map point into the coordinate fields, which are then WGS-84.
  function write(latlng) {
    lonInput.value = latlng.lng.toFixed(6);
    latInput.value = latlng.lat.toFixed(6);
    datumInput.value = "wgs84";
  }

  // The typed point, if it is a WGS-84 one (others only the server can convert).
  function typed() {
    const lon = parseFloat(lonInput.value);
    const lat = parseFloat(latInput.value);
    if (datumInput.value !== "wgs84" || !Number.isFinite(lon) || !Number.isFinite(lat)) return null;
    if (Math.abs(lon) > 180 || Math.abs(lat) > 90) return null;
    return L.latLng(lat, lon);
  }

  map.on("click", (e) => {
    place(e.latlng);
    write(e.latlng);
  });
  [lonInput, latInput, datumInput].forEach((input) => input.addEventListener("change", () => {
    const point = typed();
    if (point) {
      place(point);
      map.panTo(point);
    }
  }));

  const start = typed();
  if (start) {
    place(start);
    map.setView(start, 17);
  } else {
    map.fitBounds([[minLat, minLon], [maxLat, maxLon]]);
  }
})();
