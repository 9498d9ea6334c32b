// The worker page: pick a place, see the nearest matching stations and their routes.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("config").textContent);
  const T = config.texts;
  const KIND_COLOURS = {
    love_station: "#d7263d", courier_home: "#1b998b",
    truck_driver_home: "#2e86ab", platform_worker_station: "#f49d37",
  };
  const ROUTE_COLOURS = ["#d7263d", "#2e86ab", "#7b2cbf"];

  const { el } = window.yizhanDom;
  const fill = (text, n) => window.yizhanDom.fill(text, { n });
  const formatTime = (s) => fill(T.minutes, Math.max(1, Math.round(s / 60)));
  const formatDistance = (m) => (m >= 1000 ? fill(T.km, (m / 1000).toFixed(1)) : fill(T.metres, Math.round(m)));

  // The map: configured tiles, or the region's own streets when there is no basemap.
  const [minLon, minLat, maxLon, maxLat] = config.bounds;
  const map = L.map("map", { preferCanvas: true, zoomControl: true, maxZoom: 19 });
  map.fitBounds([[minLat, minLon], [maxLat, maxLon]]);
  window.yizhanBasemap(map, config.basemap).then(() => { map.getContainer().dataset.streets = "drawn"; });

  // Stations, clustered; coloured by kind, grey when not open or not open now.
  const stationLayer = L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false });
  map.addLayer(stationLayer);
  const stationIcon = (p) => {
    const grey = p.status !== "open" || p.open_state === "closed";
    const dot = el("span");
    dot.style.background = grey ? "#9e9e9e" : KIND_COLOURS[p.kind] || "#555";
    return L.divIcon({
      className: "station-icon" + (grey ? " is-grey" : ""), html: dot,
      iconSize: [18, 18], iconAnchor: [9, 9],
    });
  };
  const popupFor = (p) => el("div", { class: "popup" },
    el("strong", {}, p.name), p.demo ? el("span", { class: "demo" }, " · ", T.demo) : "",
    el("div", {}, config.kinds[p.kind] || p.kind),
    el("div", {}, p.opening_hours ? `${T.hours}: ${p.opening_hours}` : T.unknown));
  fetch(`/api/v1/stations?region=${encodeURIComponent(config.region)}`)
    .then((r) => r.json())
    .then((data) => {
      data.features.forEach((f) => {
        const [lon, lat] = f.geometry.coordinates;
        L.marker([lat, lon], { icon: stationIcon(f.properties), title: f.properties.name })
          .bindPopup(() => popupFor(f.properties))
          .addTo(stationLayer);
      });
    });

  // The answer.
  const answerLayer = L.layerGroup().addTo(map);
  const statusLine = document.getElementById("status");
  const results = document.getElementById("results");
  let here = null;

  const selected = () => ({
    mode: document.querySelector("input[name=mode]:checked").value,
    amenity: [...document.querySelectorAll("input[name=amenity]:checked")].map((i) => i.value).join(","),
    kind: document.getElementById("kind").value,
    openNow: document.getElementById("open-now").checked,
  });

  function openBadge(state) {
    const label = { open: T.open, closed: T.closed, unknown: T.unknown }[state] || T.unknown;
    return el("span", { class: `badge is-${state || "unknown"}` }, label);
  }

  function card(station, rank) {
    const p = station.properties;
    const amenities = el("ul", { class: "amenities" },
      (p.amenities || []).map((a) => el("li", { class: `amenity a-${a}`, title: config.amenities[a] || a }, config.amenities[a] || a)));
    const nav = p.navigation || {};
    const links = el("div", { class: "navigate" }, el("span", {}, `${T.navigate}: `),
      ["amap", "baidu", "osm"].filter((k) => nav[k]).map((k) =>
        el("a", { href: nav[k], target: "_blank", rel: "noopener", class: `nav-${k}` }, T[k])));
    const item = el("li", { class: "result", "data-rank": rank },
      el("div", { class: "result-head" },
        el("strong", { class: "name" }, p.name),
        el("span", { class: "time" }, formatTime(p.time_s)),
        el("span", { class: "distance" }, formatDistance(p.distance_m))),
      el("div", { class: "meta" }, config.kinds[p.kind] || p.kind, " · ", openBadge(p.open_state),
        p.demo ? el("span", { class: "demo" }, ` · ${T.demo}`) : ""),
      p.address ? el("div", { class: "address" }, p.address) : "",
      p.host ? el("div", { class: "host" }, `${T.host}: ${p.host}`) : "",
      el("div", { class: "hours" }, `${T.hours}: ${p.opening_hours || T.unknown}`),
      amenities,
      p.phone ? el("a", { class: "phone", href: `tel:${p.phone.replace(/[^0-9+]/g, "")}` }, `${T.call} ${p.phone}`) : "",
      links);
    item.style.borderColor = ROUTE_COLOURS[rank - 1] || "#444";
    return item;
  }

  function show(answer) {
    answerLayer.clearLayers();
    results.replaceChildren();
    L.circleMarker([here.lat, here.lon], { radius: 7, color: "#111", fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(T.you).addTo(answerLayer);
    const stations = answer.features.filter((f) => f.properties.feature_type === "station");
    const routes = answer.features.filter((f) => f.properties.feature_type === "route");
    if (routes.length) {
      const [lon, lat] = routes[0].geometry.coordinates[0];
      L.polyline([[here.lat, here.lon], [lat, lon]], { color: "#111", weight: 2, dashArray: "4 6" })
        .addTo(answerLayer);
    }
    routes.forEach((route) => {
      const colour = ROUTE_COLOURS[route.properties.rank - 1] || "#444";
      L.geoJSON(route, { style: { color: colour, weight: route.properties.rank === 1 ? 6 : 4, opacity: 0.85 } })
        .addTo(answerLayer);
    });
    stations.forEach((s, i) => results.append(card(s, i + 1)));
    results.dataset.routes = routes.length;
    const snapped = answer.snap && answer.snap.distance_m > 30 ? ` ${fill(T.snapped, Math.round(answer.snap.distance_m))}` : "";
    statusLine.textContent = stations.length ? snapped.trim() : T.no_hits;
    const drawn = L.featureGroup(answerLayer.getLayers());
    if (drawn.getLayers().length) map.fitBounds(drawn.getBounds().pad(0.2));
  }

  async function ask() {
    if (!here) return;
    const s = selected();
    const query = new URLSearchParams({
      region: config.region, lat: here.lat, lon: here.lon, mode: s.mode, limit: 3,
    });
    if (s.amenity) query.set("amenity", s.amenity);
    if (s.kind) query.set("kind", s.kind);
    if (s.openNow) query.set("open_now", "true");
    statusLine.textContent = T.searching;
    try {
      const response = await fetch(`/api/v1/nearest?${query}`);
      const body = await response.json();
      if (!response.ok) {
        answerLayer.clearLayers();
        results.replaceChildren();
        const where = body.error && ["lat", "lon"].includes(body.error.parameter);
        statusLine.textContent = where ? T.outside : T.error;
        return;
      }
      show(body);
    } catch (error) {
      statusLine.textContent = T.error;
    }
  }

  function setHere(lat, lon) {
    here = { lat, lon };
    ask();
  }

  map.on("click", (e) => setHere(e.latlng.lat, e.latlng.lng));
  const regionPick = document.getElementById("region");
  regionPick.addEventListener("change", () => regionPick.form.submit());
  document.querySelectorAll("input[name=mode], input[name=amenity], #kind, #open-now")
    .forEach((input) => input.addEventListener("change", ask));
  document.getElementById("locate").addEventListener("click", () => {
    if (!navigator.geolocation) { statusLine.textContent = T.geo_denied; return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => setHere(pos.coords.latitude, pos.coords.longitude),
      () => { statusLine.textContent = T.geo_denied; },
      { enableHighAccuracy: true, timeout: 10000 });
  });

  // Place search over the region's own OSM names.
  const placeInput = document.getElementById("place");
  const placeList = document.getElementById("place-results");
  let typing = null;
  placeInput.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(async () => {
      const q = placeInput.value.trim();
      placeList.replaceChildren();
      if (!q) { placeList.hidden = true; return; }
      const response = await fetch(`/api/v1/places?${new URLSearchParams({ region: config.region, q, limit: 8 })}`);
      const body = await response.json();
      const places = body.places || [];
      if (!places.length) placeList.append(el("li", { class: "empty" }, T.no_places));
      places.forEach((p) => {
        const item = el("li", { tabindex: "0", role: "button" }, p.name);
        const choose = () => {
          placeInput.value = p.name;
          placeList.hidden = true;
          setHere(p.lat, p.lon);
        };
        item.addEventListener("click", choose);
        item.addEventListener("keydown", (e) => { if (e.key === "Enter") choose(); });
        placeList.append(item);
      });
      placeList.hidden = false;
    }, 200);
  });
})();
