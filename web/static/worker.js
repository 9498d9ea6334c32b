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
  const fillKey = (text, key, value) => window.yizhanDom.fill(text, { [key]: value });
  const formatTime = (s) => fill(T.minutes, Math.max(1, Math.round(s / 60)));
  const formatDistance = (m) => (m >= 1000 ? fill(T.km, (m / 1000).toFixed(1)) : fill(T.metres, Math.round(m)));

  // The map: configured tiles, or the region's own streets when there is no basemap.
  const [minLon, minLat, maxLon, maxLat] = config.bounds;
  const map = L.map("map", { preferCanvas: true, zoomControl: true, maxZoom: 19 });
  // On a phone the panel is a sheet over the map's lower part (yizhan.css): fit views above it.
  const sheetCover = () => (window.matchMedia("(min-width: 800px)").matches ? 0
    : document.getElementById("panel").offsetHeight);
  map.fitBounds([[minLat, minLon], [maxLat, maxLon]], { paddingBottomRight: [0, sheetCover()] });
  window.yizhanBasemap(map, config.basemap).then(() => { map.getContainer().dataset.streets = "drawn"; });

  // Stations, clustered; coloured by kind. Closed and hours-unknown stations are shown only
  // when "open now only" is off, and then grey.
  const stationLayer = L.markerClusterGroup({
    maxClusterRadius: 40, showCoverageOnHover: false, zoomToBoundsOnClick: false,
  });
  map.addLayer(stationLayer);
  const isOpen = (p) => p.status === "open" && p.open_state === "open";
  const stationIcon = (p, rank) => {
    const grey = !isOpen(p);
    const dot = el("span", {}, rank ? String(rank) : "");
    dot.style.background = grey ? "#9e9e9e" : KIND_COLOURS[p.kind] || "#555";
    const size = rank ? 26 : 18;
    return L.divIcon({
      className: "station-icon" + (grey ? " is-grey" : "") + (rank ? " is-ranked" : ""), html: dot,
      iconSize: [size, size], iconAnchor: [size / 2, size / 2],
    });
  };
  const answered = new Map(); // station id -> its properties in the current answer
  const navLinks = (nav) => el("div", { class: "navigate" }, el("span", {}, `${T.navigate}: `),
    ["amap", "baidu", "osm"].filter((k) => nav[k]).map((k) =>
      el("a", { href: nav[k], target: "_blank", rel: "noopener", class: `nav-${k}` }, T[k])));
  const POPUP = { autoPanPaddingTopLeft: [50, 50], maxWidth: 240 };
  const popupFor = (p) => {
    const hit = answered.get(p.id);
    return el("div", { class: "popup" },
      el("strong", {}, p.name), p.demo ? el("span", { class: "demo" }, " · ", T.demo) : "",
      el("div", {}, config.kinds[p.kind] || p.kind, " · ", openBadge(p)),
      hit ? el("div", { class: "popup-time" }, el("strong", {}, formatTime(hit.time_s)), " · ",
        formatDistance(hit.distance_m)) : "",
      el("div", {}, `${T.hours}: ${p.hours_text || T.unknown}`),
      hit ? navLinks(hit.navigation || {}) : "",
      p.id ? el("a", { href: `/s/${p.id}`, class: "details" }, T.details) : "");
  };
  let stationMarkers = [];
  // The answer's stations are drawn once, numbered (see show), not also among the others.
  const drawStations = () => {
    const all = !document.getElementById("open-now").checked;
    stationLayer.clearLayers();
    stationLayer.addLayers(stationMarkers.filter(
      (m) => (all || isOpen(m.station)) && !answered.has(m.station.id)));
  };
  fetch(`/api/v1/stations?region=${encodeURIComponent(config.region)}&lang=${config.lang}`)
    .then((r) => r.json())
    .then((data) => {
      stationMarkers = data.features.map((f) => {
        const [lon, lat] = f.geometry.coordinates;
        const marker = L.marker([lat, lon], { icon: stationIcon(f.properties), title: f.properties.name })
          .bindPopup(() => popupFor(f.properties), POPUP);
        marker.station = f.properties;
        return marker;
      });
      drawStations();
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

  function openBadge(p) {
    // A station that is not open as a station (planned, suspended, ...) says so, whatever its hours.
    if (p.status !== "open") return el("span", { class: "badge is-closed" }, config.statuses[p.status] || T.closed);
    const state = p.open_state || "unknown";
    const label = p.open_text || { open: T.open, closed: T.closed }[state] || T.unknown;
    return el("span", { class: `badge is-${state}` }, label);
  }

  function card(station, rank) {
    const p = station.properties;
    const amenities = el("ul", { class: "amenities" },
      (p.amenities || []).map((a) => el("li", { class: `amenity a-${a}` },
        el("span", { "aria-hidden": "true" }, config.icons[a] || "•"), " ", config.amenities[a] || a)));
    const item = el("li", { class: "result" + (isOpen(p) ? "" : " is-grey"), "data-rank": rank },
      el("div", { class: "result-head" },
        el("strong", { class: "name" }, p.name),
        el("span", { class: "time" }, formatTime(p.time_s)),
        el("span", { class: "distance" }, formatDistance(p.distance_m)),
        p.smart_24h ? el("span", { class: "badge is-smart", title: T.smart_24h }, T.smart_badge) : ""),
      el("div", { class: "meta" }, config.kinds[p.kind] || p.kind, " · ", openBadge(p),
        p.demo ? el("span", { class: "demo" }, ` · ${T.demo}`) : ""),
      el("div", { class: "hours" }, `${T.hours}: ${p.hours_text || T.unknown}`),
      p.address ? el("div", { class: "address" }, p.address) : "",
      p.host ? el("div", { class: "host" }, `${T.host}: ${p.host}`) : "",
      amenities,
      p.phone ? el("a", { class: "phone", href: `tel:${p.phone.replace(/[^0-9+]/g, "")}` }, `${T.call} ${p.phone}`) : "",
      navLinks(p.navigation || {}),
      el("div", { class: "card-foot" },
        p.verified_on ? el("span", { class: "verified" }, fillKey(T.verified, "date", p.verified_on)) : "",
        p.id ? el("a", { href: `/s/${p.id}`, class: "details" }, T.details) : ""));
    item.style.borderColor = ROUTE_COLOURS[rank - 1] || "#444";
    return item;
  }

  // The worker's position: a blue dot that stays until another place is chosen.
  const hereMarker = L.circleMarker([0, 0], {
    radius: 8, weight: 3, color: "#fff", fillColor: "#1a73e8", fillOpacity: 1,
  }).bindTooltip(T.you);
  const panel = document.getElementById("panel");
  const page = document.querySelector(".worker");
  // While a popup is open the sheet lowers, and a popup behind it moves up into the map.
  map.on("popupopen", (e) => {
    if (!sheetCover()) return;
    page.classList.add("is-peeking");
    const below = e.popup.getElement().getBoundingClientRect().bottom - panel.getBoundingClientRect().top + 12;
    if (below > 0) map.panBy([0, below]);
  });
  map.on("popupclose", () => page.classList.remove("is-peeking"));

  function show(answer) {
    answerLayer.clearLayers();
    answered.clear();
    results.replaceChildren();
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
    stations.forEach((s, i) => {
      const p = s.properties;
      answered.set(p.id, p);
      const [lon, lat] = s.geometry.coordinates;
      L.marker([lat, lon], { icon: stationIcon(p, i + 1), title: p.name, zIndexOffset: 10000 - 1000 * i })
        .bindPopup(() => popupFor(p), POPUP).addTo(answerLayer);
      results.append(card(s, i + 1));
    });
    drawStations();
    results.dataset.routes = routes.length;
    const snapped = answer.snap && answer.snap.distance_m > 30 ? ` ${fill(T.snapped, Math.round(answer.snap.distance_m))}` : "";
    statusLine.textContent = stations.length ? snapped.trim() : T.no_hits;
    // The answer first: the sheet opens over the map with the first card at its top, and the
    // map fits the routes into the part the sheet leaves free.
    page.classList.add("has-answer");
    panel.scrollTop = 0;
    const drawn = L.featureGroup([...answerLayer.getLayers(), hereMarker]);
    map.fitBounds(drawn.getBounds(), { paddingTopLeft: [30, 30], paddingBottomRight: [30, sheetCover() + 30] });
  }

  async function ask() {
    if (!here) return;
    clearReach();
    const s = selected();
    remember();
    const query = new URLSearchParams({
      region: config.region, lat: here.lat, lon: here.lon, mode: s.mode, limit: 3, lang: config.lang,
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
        answered.clear();
        drawStations();
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

  // What can I reach: the streets within 5, 10 and 15 minutes, drawn as nested areas, and the
  // open stations inside each, listed under its time.
  const REACH_COLOURS = ["#1a73e8", "#5e97f6", "#a4c2f4"];
  const reachLayer = L.layerGroup().addTo(map);
  const reachBox = document.getElementById("reach-box");
  const reachList = document.getElementById("reach-list");
  const clearReach = () => { reachLayer.clearLayers(); reachList.replaceChildren(); };
  document.getElementById("reach").addEventListener("click", async () => {
    if (!here) return;
    clearReach();
    reachList.textContent = T.reaching;
    const query = new URLSearchParams({
      region: config.region, lat: here.lat, lon: here.lon, mode: selected().mode, lang: config.lang,
    });
    try {
      const response = await fetch(`/api/v1/reach?${query}`);
      const body = await response.json();
      if (!response.ok) { reachList.textContent = T.error; return; }
      const areas = body.features.filter((f) => f.properties.feature_type === "area");
      const stations = body.features.filter((f) => f.properties.feature_type === "station");
      areas.slice().reverse().forEach((area) => {
        const colour = REACH_COLOURS[areas.indexOf(area)] || REACH_COLOURS[2];
        L.geoJSON(area, { interactive: false, style: { color: colour, weight: 1, fillOpacity: 0.15 } })
          .addTo(reachLayer);
      });
      reachList.replaceChildren(...areas.map((area) => {
        const minutes = area.properties.minutes;
        const inside = stations.filter((s) => s.properties.minutes === minutes);
        return el("section", { class: "reach-band" },
          el("h3", {}, fill(T.reach_within, minutes)),
          inside.length ? el("ul", {}, inside.map((s) => el("li", {},
            el("a", { href: `/s/${s.properties.id}` }, s.properties.name), " · ",
            formatTime(s.properties.time_s))))
            : el("p", { class: "none" }, fill(T.reach_none, minutes)));
      }));
      if (areas.length) {
        const outer = L.geoJSON(areas[areas.length - 1]);
        map.fitBounds(outer.getBounds(), { paddingTopLeft: [20, 20], paddingBottomRight: [20, sheetCover() + 20] });
      }
    } catch (error) {
      reachList.textContent = T.error;
    }
  });

  function setHere(lat, lon) {
    here = { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) };
    hereMarker.setLatLng([here.lat, here.lon]).addTo(map);
    reachBox.hidden = false;
    ask();
  }

  // The page's state lives in its address (#lat=…&lon=…&mode=…&need=…&kind=…&all=1), so a
  // language switch or a reload keeps the location, the choices and so the answer.
  function remember() {
    const s = selected();
    const state = new URLSearchParams({ mode: s.mode });
    if (here) { state.set("lat", here.lat); state.set("lon", here.lon); }
    if (s.amenity) state.set("need", s.amenity);
    if (s.kind) state.set("kind", s.kind);
    if (!s.openNow) state.set("all", "1");
    history.replaceState(null, "", `#${state}`);
    document.querySelectorAll("a[data-lang]").forEach((a) => { a.hash = String(state); });
  }

  function restore() {
    const state = new URLSearchParams(location.hash.slice(1));
    const mode = document.querySelector(`input[name=mode][value="${CSS.escape(state.get("mode") || "")}"]`);
    if (mode) mode.checked = true;
    const needs = (state.get("need") || "").split(",");
    document.querySelectorAll("input[name=amenity]").forEach((i) => { i.checked = needs.includes(i.value); });
    const kind = document.getElementById("kind");
    if ([...kind.options].some((o) => o.value === state.get("kind"))) kind.value = state.get("kind");
    document.getElementById("open-now").checked = state.get("all") !== "1";
    const lat = parseFloat(state.get("lat"));
    const lon = parseFloat(state.get("lon"));
    if (Number.isFinite(lat) && Number.isFinite(lon)) setHere(lat, lon);
    else remember();
  }

  // Any tap on the map chooses the location, a tap on a cluster of stations too.
  map.on("click", (e) => setHere(e.latlng.lat, e.latlng.lng));
  stationLayer.on("clusterclick", (e) => setHere(e.latlng.lat, e.latlng.lng));
  const regionPick = document.getElementById("region");
  regionPick.addEventListener("change", () => regionPick.form.submit());
  document.querySelectorAll("input[name=mode], input[name=amenity], #kind, #open-now")
    .forEach((input) => input.addEventListener("change", () => { if (here) ask(); else remember(); }));
  document.getElementById("open-now").addEventListener("change", drawStations);
  document.getElementById("locate").addEventListener("click", () => {
    if (!navigator.geolocation) { statusLine.textContent = T.geo_denied; return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => setHere(pos.coords.latitude, pos.coords.longitude),
      () => { statusLine.textContent = T.geo_denied; },
      { enableHighAccuracy: true, timeout: 10000 });
  });

  // A legend of what the map shows, folded until asked for.
  const Legend = L.Control.extend({
    onAdd() {
      const swatch = (colour, label, shape) => {
        const mark = el("span", { class: `swatch ${shape || "dot"}` });
        mark.style.background = colour;
        return el("li", {}, mark, label);
      };
      const box = el("details", { class: "map-legend" }, el("summary", {}, T.legend),
        el("ul", {},
          Object.entries(KIND_COLOURS).map(([kind, colour]) => swatch(colour, config.kinds[kind] || kind)),
          swatch("#9e9e9e", T.grey),
          swatch("#1a73e8", T.you, "here"),
          swatch(ROUTE_COLOURS[0], T.route, "line")));
      L.DomEvent.disableClickPropagation(box);
      return box;
    },
  });
  new Legend({ position: "topright" }).addTo(map);

  // Place search over the region's own OSM names: a combobox, its suggestions chosen by tap or
  // by the arrow keys and Enter (Escape closes them).
  const placeInput = document.getElementById("place");
  const placeList = document.getElementById("place-results");
  let typing = null;
  let places = [];
  let active = -1;
  const options = () => [...placeList.querySelectorAll("[role=option]")];
  const openList = (open) => {
    placeList.hidden = !open;
    placeInput.setAttribute("aria-expanded", String(open));
    if (!open) { active = -1; placeInput.removeAttribute("aria-activedescendant"); }
  };
  const highlight = (i) => {
    const all = options();
    if (!all.length) return;
    active = (i + all.length) % all.length;
    all.forEach((o, j) => o.setAttribute("aria-selected", String(j === active)));
    placeInput.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({ block: "nearest" });
  };
  const choosePlace = (p) => {
    placeInput.value = p.name;
    openList(false);
    setHere(p.lat, p.lon);
  };
  placeInput.addEventListener("keydown", (e) => {
    if (placeList.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      highlight(active < 0 && e.key === "ArrowUp" ? -1 : active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      choosePlace(places[active]);
    } else if (e.key === "Escape") {
      openList(false);
    }
  });
  placeInput.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(async () => {
      const q = placeInput.value.trim();
      placeList.replaceChildren();
      places = [];
      if (!q) { openList(false); return; }
      const response = await fetch(`/api/v1/places?${new URLSearchParams({ region: config.region, q, limit: 8 })}`);
      const body = await response.json();
      places = body.places || [];
      if (!places.length) placeList.append(el("li", { class: "empty", role: "presentation" }, T.no_places));
      places.forEach((p, i) => {
        const item = el("li", { id: `place-${i}`, role: "option", "aria-selected": "false" }, p.name);
        item.addEventListener("click", () => choosePlace(p));
        placeList.append(item);
      });
      openList(true);
      active = -1;
    }, 200);
  });
  restore();
})();
