// The planner page's tools on its map (static/planner_map.js): recommended new sites and what-if
// coverage (hypothetical stations added, existing ones switched off), saved as scenarios on
// request. Words come from the page's #planning-config (translated by the server); names from
// data are only ever put in as text.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("planning-config").textContent);
  const T = config.texts;
  const plannerMap = window.yizhanPlannerMap;
  const map = plannerMap.map;
  const serverGaps = plannerMap.layer("gaps");
  const area = { region: config.region, group: config.group, threshold: config.threshold };
  const $ = (id) => document.getElementById(id);

  // --- small helpers -------------------------------------------------------------------------

  const { fill, el } = window.yizhanDom;
  const SVG = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs, text) => {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, String(v)));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const pct = (share) => `${(share * 100).toFixed(1)}%`;
  const signed = (value, digits) => {
    const rounded = Number(value.toFixed(digits));
    const sign = rounded > 0 ? "+" : rounded < 0 ? "−" : "±";
    return sign + Math.abs(rounded).toFixed(digits);
  };
  const pp = (after, before) => fill(T.pp, { n: signed((after - before) * 100, 1) });
  const km = (metres) => (metres / 1000).toFixed(1);
  const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const siteName = (site) => site.name || T.unnamed;
  const categoryName = (category) => config.categories[category] || category || "";

  /** POST JSON; resolve to {ok, status, data} (data null when the answer is not JSON). */
  async function postJson(url, body, headers, signal) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...(headers || {}) },
      body: JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    const retryAfter = Number(response.headers.get("Retry-After")) || 0;
    return { ok: response.ok, status: response.status, data, retryAfter };
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((slot) => { slot.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  }

  /** Show a message next to the field named `name`, or at the form's foot. */
  function showError(form, name, message) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`)
      || form.querySelector('[data-error-for="general"]');
    slot.textContent = message;
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) input.setAttribute("aria-invalid", "true");
  }

  /** Show an API error answer ({error: {parameter | field, message}}) on a form. */
  function showApiError(form, data) {
    const error = data && data.error;
    showError(form, (error && (error.parameter || error.field)) || "general",
      (error && error.message) || T.error);
  }

  // --- recommended sites ---------------------------------------------------------------------

  const form = $("recommend-form");
  const problemSelect = $("recommend-problem");
  const candidatesSelect = $("recommend-candidates");
  const runButton = $("recommend-run");
  const result = $("recommend-result");
  const recommendLayer = L.layerGroup().addTo(map);
  let lastRequest = null;
  let lastSites = [];

  function showFields() {
    const lscp = problemSelect.value === "lscp";
    $("recommend-k-field").hidden = lscp;
    $("recommend-target-field").hidden = !lscp;
    $("recommend-categories").hidden = candidatesSelect.value !== "sites";
  }
  problemSelect.addEventListener("change", showFields);
  candidatesSelect.addEventListener("change", showFields);
  showFields();

  /** The request body from the form, or null after showing what is missing. */
  function recommendBody() {
    const body = {
      ...area,
      problem: problemSelect.value,
      candidates: candidatesSelect.value,
      min_distance_m: num($("recommend-min-distance")),
      time_limit_s: num($("recommend-time-limit")),
      curve: true,
    };
    if (body.problem === "lscp") {
      const target = num($("recommend-target"));
      body.target = target === null ? null : target / 100;
    } else {
      body.k = num($("recommend-k"));
    }
    if (body.candidates === "sites") {
      const boxes = [...form.querySelectorAll("input[name=categories]")];
      const checked = boxes.filter((box) => box.checked).map((box) => box.value);
      if (!checked.length) {
        showError(form, "categories", T.pick_category);
        return null;
      }
      if (checked.length < boxes.length) body.categories = checked;
    }
    return body;
  }

  function setBusy(busy) {
    runButton.disabled = busy;
    runButton.textContent = busy ? T.running : T.run;
    form.setAttribute("aria-busy", String(busy));
    result.classList.toggle("is-busy", busy);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = recommendBody();
    if (!body) return;
    setBusy(true);
    try {
      const answer = await postJson("/api/v1/recommend", body);
      if (!answer.ok) {
        showApiError(form, answer.data);
        return;
      }
      lastRequest = body;
      showRecommendation(answer.data);
    } catch (error) {
      showError(form, "general", T.error);
    } finally {
      setBusy(false);
    }
  });

  function solverStatus(data) {
    let text;
    if (data.optimal) text = T.optimal;
    else if (data.gap !== null && data.gap !== undefined) text = fill(T.best_gap, { gap: pct(data.gap) });
    else text = T.best_found;
    return data.time_limit_hit ? `${text} ${T.time_limit}` : text;
  }

  function showRecommendation(data) {
    result.hidden = false;
    $("recommend-status").textContent = solverStatus(data);
    const { before, after } = data;
    const change = $("recommend-change");
    change.textContent = fill(T.share_change, {
      before: pct(before.covered_share), after: pct(after.covered_share),
      change: pp(after.covered_share, before.covered_share),
    });
    change.dataset.before = before.covered_share;
    change.dataset.after = after.covered_share;
    const times = $("recommend-time-change");
    times.hidden = before.mean_time_min === null || after.mean_time_min === null;
    if (!times.hidden) {
      times.textContent = fill(T.time_change, {
        before: before.mean_time_min.toFixed(2), after: after.mean_time_min.toFixed(2),
      });
    }
    const notes = data.notes.slice();
    if (!data.sites.length) notes.unshift(T.no_sites);
    $("recommend-notes").replaceChildren(...notes.map((note) => el("li", {}, note)));

    const rows = data.sites.map((site) => el("tr", { "data-rank": site.rank },
      el("td", {}, site.rank),
      el("td", {}, el("span", { class: "site-name" }, siteName(site)), " ",
        el("span", { class: "site-category" }, categoryName(site.category))),
      el("td", {}, data.problem === "pmedian"
        ? fill(T.minutes_saved, { n: site.gain_share.toFixed(2) })
        : `${site.gain.toFixed(1)} (${pct(site.gain_share)})`),
      el("td", {}, `${site.newly_covered.toFixed(1)} (${pct(site.newly_covered_share)})`),
      el("td", {}, site.gaps.length ? site.gaps.map((gap) => `#${gap.gap}`).join(", ") : "–")));
    $("recommend-table").tBodies[0].replaceChildren(...rows);

    recommendLayer.clearLayers();
    data.sites.forEach((site) => {
      L.marker([site.lat, site.lon], {
        icon: L.divIcon({ className: "recommend-icon", html: el("span", {}, site.rank),
          iconSize: [24, 24], iconAnchor: [12, 12] }),
        keyboard: false,
      }).bindTooltip(el("span", {}, `${site.rank}. ${siteName(site)} · ${categoryName(site.category)}`))
        .on("click", () => {  // while adding stations, a tap on a recommended site adds it
          if (adding) addSite({ lon: site.lon, lat: site.lat, name: site.name || "", category: site.category || "" });
        })
        .addTo(recommendLayer);
    });
    lastSites = data.sites;
    $("recommend-try").disabled = !data.sites.length;
    drawCurve($("recommend-curve"), data.curve, data.k);
  }

  /** Covered share against the number of new sites, as an inline SVG, `k` marked. */
  function drawCurve(figure, curve, k) {
    figure.replaceChildren();
    if (!curve || curve.length < 2) return;
    const W = 320, H = 170, left = 42, right = 12, top = 10, bottom = 36;
    const maxX = Math.max(...curve.map((p) => p.sites), 1);
    const shares = curve.map((p) => p.covered_share * 100);
    let low = Math.max(0, Math.floor(Math.min(...shares) + 1e-9));
    let high = Math.min(100, Math.ceil(Math.max(...shares) - 1e-9));
    if (high <= low) { low = Math.max(0, low - 1); high = Math.min(100, low + 2); }
    const x = (v) => left + (v / maxX) * (W - left - right);
    const y = (v) => top + (1 - (v - low) / (high - low)) * (H - top - bottom);
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": T.curve_title });
    svg.append(svgEl("title", {}, T.curve_title));
    svg.append(svgEl("line", { x1: left, y1: y(low), x2: W - right, y2: y(low), class: "axis" }));
    svg.append(svgEl("line", { x1: left, y1: top, x2: left, y2: y(low), class: "axis" }));
    const step = Math.max(1, Math.ceil(maxX / 10));
    for (let s = 0; s <= maxX; s += step) {
      svg.append(svgEl("text", { x: x(s), y: y(low) + 14, "text-anchor": "middle", class: "tick" }, s));
    }
    [low, (low + high) / 2, high].forEach((v) => {
      svg.append(svgEl("line", { x1: left, y1: y(v), x2: W - right, y2: y(v), class: "grid" }));
      svg.append(svgEl("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end", class: "tick" },
        Number.isInteger(v) ? v : v.toFixed(1)));
    });
    svg.append(svgEl("text", { x: (left + W - right) / 2, y: H - 4, "text-anchor": "middle", class: "label" }, T.curve_x));
    svg.append(svgEl("text", { x: 11, y: (top + y(low)) / 2, "text-anchor": "middle", class: "label",
      transform: `rotate(-90 11 ${(top + y(low)) / 2})` }, T.curve_y));
    if (k !== null && k !== undefined && k <= maxX) {
      svg.append(svgEl("line", { x1: x(k), y1: top, x2: x(k), y2: y(low), class: "k-line" }));
    }
    svg.append(svgEl("polyline", {
      points: curve.map((p) => `${x(p.sites).toFixed(1)},${y(p.covered_share * 100).toFixed(1)}`).join(" "),
      class: "curve",
    }));
    curve.forEach((p) => {
      const dot = svgEl("circle", { cx: x(p.sites), cy: y(p.covered_share * 100), r: p.sites === k ? 5 : 3,
        class: p.sites === k ? "point is-k" : "point" });
      dot.append(svgEl("title", {}, `${fill(T.sites_found, { n: p.sites })}: ${pct(p.covered_share)}`));
      svg.append(dot);
    });
    figure.append(svg, el("figcaption", {}, T.curve_title));
  }

  /** Fetch the last run's sites as CSV or GeoJSON and hand them over as a download. */
  async function download(format, button) {
    if (!lastRequest) return;
    button.disabled = true;
    clearErrors(form);
    try {
      const response = await fetch(`/api/v1/recommend?format=${format}`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(lastRequest), credentials: "same-origin",
      });
      if (!response.ok) {
        let data = null;
        try { data = await response.json(); } catch (e) { data = null; }
        showApiError(form, data);
        return;
      }
      const blob = await response.blob();
      const named = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
      const link = el("a", { href: URL.createObjectURL(blob),
        download: named ? named[1] : `recommended.${format}`, hidden: "" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      showError(form, "general", T.error);
    } finally {
      button.disabled = false;
    }
  }
  $("recommend-csv").addEventListener("click", (e) => download("csv", e.currentTarget));
  $("recommend-geojson").addEventListener("click", (e) => download("geojson", e.currentTarget));
  $("recommend-try").addEventListener("click", () => {
    lastSites.forEach((site) => addSite({ lon: site.lon, lat: site.lat, name: site.name || "",
      category: site.category || "" }, false));
    changed();
    $("whatif").scrollIntoView({ behavior: "smooth", block: "start" });
  });

  // --- what-if -------------------------------------------------------------------------------

  const added = [];               // hypothetical stations: {lon, lat, name, category}
  const removed = new Set();      // ids of existing stations switched off
  const stationMarkers = new Map(); // station id -> its circle marker on the map's station layer
  const stationStyles = new Map();  // station id -> the marker's own style
  const whatifMarkers = L.layerGroup().addTo(map);
  const whatifAreas = L.geoJSON(null, {
    style: () => ({ color: "#7b2cbf", weight: 1.5, dashArray: "5 4", fillOpacity: 0.12 }),
  }).addTo(map);
  const whatifGaps = L.geoJSON(null, {
    style: () => ({ color: "#b71c1c", weight: 2, dashArray: "4 3", fillOpacity: 0.25 }),
    onEachFeature: (feature, layer) => {
      const p = feature.properties;
      layer.bindTooltip(el("span", {}, `#${p.gap} · ${Number(p.uncovered_demand).toFixed(1)}`), { sticky: true });
    },
  }).addTo(map);
  map.on("restack", () => { whatifAreas.bringToFront(); whatifGaps.bringToFront(); });
  const status = $("whatif-status");
  const addButton = $("whatif-add");
  let adding = false;
  let gapsHidden = false;
  let timer = null;
  let sequence = 0;
  let controller = null;
  let answers = 0;                // what-if answers shown so far (data-answers, for tests)
  status.textContent = T.whatif_idle;

  /** A station's popup gets a button that switches it off (or back on) in the what-if. */
  function offerSwitch(id, popup) {
    const content = popup.getContent();
    content.querySelectorAll(".whatif-switch-row").forEach((old) => old.remove());
    const button = el("button", { type: "button", class: "whatif-switch" },
      removed.has(id) ? T.switch_on : T.switch_off);
    button.addEventListener("click", () => {
      switchStation(id, !removed.has(id));
      changed();
      map.closePopup();
    });
    content.append(el("div", { class: "whatif-switch-row" }, button));
    popup.update();
  }

  // The open stations: their markers on the map, and a list with "switch off" boxes.
  const stationsReady = plannerMap.load("stations")
    .then((layer) => {
      const open = [];
      layer.eachLayer((marker) => {
        const p = marker.feature.properties;
        open.push(p);
        stationMarkers.set(p.id, marker);
        const o = marker.options;
        stationStyles.set(p.id, { color: o.color, fillColor: o.fillColor, fillOpacity: o.fillOpacity,
          dashArray: o.dashArray, opacity: o.opacity });
        // While adding stations, a tap on a station opens its popup but adds nothing.
        marker.on("click", (e) => { if (adding) L.DomEvent.stopPropagation(e); });
        marker.on("popupopen", (e) => offerSwitch(p.id, e.popup));
      });
      open.sort((a, b) => a.name.localeCompare(b.name));
      $("whatif-stations").replaceChildren(...open.map((p) => {
        const box = el("input", { type: "checkbox", value: p.id, "data-station-id": p.id });
        box.checked = removed.has(p.id);
        box.addEventListener("change", () => { switchStation(p.id, box.checked); changed(); });
        return el("li", {}, el("label", {}, box, " ", p.name));
      }));
    })
    .catch(() => { status.textContent = T.error; });

  function switchStation(id, off) {
    if (off) removed.add(id); else removed.delete(id);
    const box = document.querySelector(`#whatif-stations input[data-station-id="${id}"]`);
    if (box) box.checked = off;
    const marker = stationMarkers.get(id);
    if (marker) {
      marker.setStyle(off ? { color: "#52606d", fillColor: "#cbd2d9", fillOpacity: 0.9, dashArray: "2 2" }
        : stationStyles.get(id));
    }
  }

  function addSite(site, update = true) {
    const lon = Number(site.lon), lat = Number(site.lat);
    if (added.some((s) => Math.abs(s.lon - lon) < 1e-7 && Math.abs(s.lat - lat) < 1e-7)) return;
    added.push({ lon, lat, name: site.name || "", category: site.category || "" });
    if (update) changed();
  }

  function removeSite(index) {
    added.splice(index, 1);
    changed();
  }

  function addedName(site, index) {
    return site.name || fill(T.new_station, { n: index + 1 });
  }

  /** Redraw the hypothetical stations: markers (dashed rings) and the list. */
  function drawAdded() {
    whatifMarkers.clearLayers();
    const items = added.map((site, index) => {
      L.marker([site.lat, site.lon], {
        icon: L.divIcon({ className: "whatif-icon", html: el("span", {}, index + 1),
          iconSize: [26, 26], iconAnchor: [13, 13] }),
      }).bindTooltip(el("span", {}, `${addedName(site, index)} — ${T.remove_hint}`))
        .on("click", () => removeSite(index))
        .addTo(whatifMarkers);
      const remove = el("button", { type: "button", class: "link remove", "aria-label": T.remove_hint,
        title: T.remove_hint }, "×");
      remove.addEventListener("click", () => removeSite(index));
      return el("li", {}, el("span", {}, addedName(site, index)), " ", remove);
    });
    $("whatif-added").replaceChildren(...items);
  }

  addButton.addEventListener("click", () => {
    adding = !adding;
    addButton.setAttribute("aria-pressed", String(adding));
    addButton.classList.toggle("is-active", adding);
    map.getContainer().classList.toggle("whatif-adding", adding);
  });
  map.on("click", (event) => {
    if (adding) addSite({ lon: event.latlng.lng, lat: event.latlng.lat });
  });

  /** After every change: redraw, then ask for the what-if (at most one request per 300 ms). */
  function changed() {
    drawAdded();
    $("whatif").dataset.added = added.length;
    $("whatif").dataset.removed = removed.size;
    clearTimeout(timer);
    if (controller) controller.abort();
    sequence += 1;
    if (!added.length && !removed.size) {
      clearWhatif();
      return;
    }
    status.textContent = T.whatif_busy;
    $("whatif").setAttribute("aria-busy", "true");
    timer = setTimeout(runWhatif, 300);
  }

  async function runWhatif() {
    const mine = sequence;
    controller = new AbortController();
    try {
      const answer = await postJson("/api/v1/whatif", {
        ...area, added: added.map(plainSite), removed: [...removed],
      }, {}, controller.signal);
      if (mine !== sequence) return;
      $("whatif").removeAttribute("aria-busy");
      if (!answer.ok) {
        clearWhatif();  // no numbers rather than stale ones
        status.textContent = (answer.data && answer.data.error && answer.data.error.message) || T.error;
        if (answer.retryAfter && (answer.status === 429 || answer.status === 503)) {
          // The server is still busy with an earlier what-if: ask again when it says.
          $("whatif").setAttribute("aria-busy", "true");
          timer = setTimeout(runWhatif, answer.retryAfter * 1000);
        }
        return;
      }
      showWhatif(answer.data);
    } catch (error) {
      if (error.name !== "AbortError" && mine === sequence) {
        clearWhatif();
        status.textContent = T.error;
      }
    }
  }

  const plainSite = (s) => ({ lon: s.lon, lat: s.lat, name: s.name, category: s.category });

  function showValue(id, value, text) {
    const slot = $(id);
    slot.replaceChildren(el("span", { class: "whatif-label" }, T.whatif), " ", text);
    slot.dataset.value = value;
    slot.hidden = false;
  }

  function showWhatif(data) {
    const r = data.report, b = data.baseline;
    answers += 1;
    $("whatif").dataset.answers = answers;
    status.textContent = fill(T.whatif_changes, { added: added.length, removed: removed.size });
    showValue("whatif-covered-share", r.covered_share,
      `${pct(r.covered_share)} (${pp(r.covered_share, b.covered_share)})`);
    showValue("whatif-double-share", r.double_covered_share,
      `${pct(r.double_covered_share)} (${pp(r.double_covered_share, b.double_covered_share)})`);
    showValue("whatif-covered-street", r.covered_street_m,
      `${km(r.covered_street_m)} / ${km(r.total_street_m)} km ` +
      `(${fill(T.km, { n: signed((r.covered_street_m - b.covered_street_m) / 1000, 1) })})`);
    const times = [r.mean_time_min, r.median_time_min, r.p90_time_min]
      .map((t) => (t === null || t === undefined ? "–" : t.toFixed(1))).join(" / ");
    const meanChange = r.mean_time_min !== null && b.mean_time_min !== null
      ? ` (${fill(T.min, { n: signed(r.mean_time_min - b.mean_time_min, 1) })})` : "";
    showValue("whatif-times", r.mean_time_min, `${fill(T.min, { n: times })}${meanChange}`);
    showValue("whatif-station-count", r.stations, `${r.stations} (${signed(r.stations - b.stations, 0)})`);
    const summary = $("whatif-summary");
    summary.textContent = fill(T.share_change, {
      before: pct(b.covered_share), after: pct(r.covered_share), change: pp(r.covered_share, b.covered_share),
    });
    summary.dataset.value = r.covered_share;
    summary.dataset.baseline = b.covered_share;
    summary.hidden = false;

    if (!gapsHidden && map.hasLayer(serverGaps)) {
      map.removeLayer(serverGaps);
      gapsHidden = true;
    }
    whatifGaps.clearLayers();
    whatifGaps.addData(data.gaps);
    whatifAreas.clearLayers();
    whatifAreas.addData(data.new_service_areas);
    whatifMarkers.eachLayer((marker) => marker.setZIndexOffset(1000));
  }

  function clearWhatif() {
    $("whatif").removeAttribute("aria-busy");
    status.textContent = T.whatif_idle;
    document.querySelectorAll(".whatif-value").forEach((slot) => {
      slot.hidden = true;
      slot.replaceChildren();
      delete slot.dataset.value;
    });
    $("whatif-summary").hidden = true;
    whatifGaps.clearLayers();
    whatifAreas.clearLayers();
    if (gapsHidden) {
      serverGaps.addTo(map);
      gapsHidden = false;
    }
  }

  $("whatif-reset").addEventListener("click", () => {
    added.length = 0;
    [...removed].forEach((id) => switchStation(id, false));
    $("whatif-scenario").hidden = true;
    changed();
  });

  // --- saving a scenario ---------------------------------------------------------------------

  const scenarioForm = $("scenario-form");
  if (scenarioForm) {
    scenarioForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(scenarioForm);
      const saved = $("scenario-saved");
      saved.hidden = true;
      if (!added.length && !removed.size) {
        showError(scenarioForm, "general", T.nothing_to_save);
        return;
      }
      const name = $("scenario-name").value.trim();
      if (!name) {
        showError(scenarioForm, "name", T.name_required);
        return;
      }
      const button = $("scenario-save");
      const label = button.textContent;
      button.disabled = true;
      button.textContent = T.saving;
      try {
        const answer = await postJson("/api/v1/scenarios", {
          ...area, name, note: $("scenario-note").value,
          added: added.map(plainSite), removed: [...removed],
        }, { "X-CSRFToken": config.csrfToken || "" });
        if (answer.ok) {
          const query = new URLSearchParams({ region: config.region, group: config.group,
            threshold: String(config.threshold), scenario: String(answer.data.id) });
          saved.replaceChildren(fill(T.saved, { id: answer.data.id }), " ",
            el("a", { href: `${location.pathname}?${query}` }, T.open_saved));
          saved.dataset.scenario = answer.data.id;
          saved.hidden = false;
        } else if (answer.status === 401) {
          showError(scenarioForm, "general", T.signed_out);
        } else {
          showApiError(scenarioForm, answer.data);
        }
      } catch (error) {
        showError(scenarioForm, "general", T.error);
      } finally {
        button.disabled = false;
        button.textContent = label;
      }
    });
  }

  // --- a saved scenario named in the address --------------------------------------------------

  async function loadScenario(id) {
    const line = $("whatif-scenario");
    try {
      const response = await fetch(`/api/v1/scenarios/${encodeURIComponent(id)}`);
      if (!response.ok) throw new Error(String(response.status));
      const scenario = await response.json();
      if (scenario.region !== config.region || scenario.group !== config.group
          || Number(scenario.threshold_min) !== Number(config.threshold)) {
        const query = new URLSearchParams(location.search);
        query.set("region", scenario.region);
        query.set("group", scenario.group);
        query.set("threshold", String(scenario.threshold_min));
        query.set("scenario", String(id));
        location.replace(`${location.pathname}?${query}`);
        return;
      }
      await stationsReady;
      scenario.added.forEach((site) => addSite(site, false));
      scenario.removed.forEach((stationId) => switchStation(stationId, true));
      line.replaceChildren(fill(T.scenario_loaded, { id: scenario.id, name: scenario.name }));
      if (scenario.note) line.append(el("br"), el("span", { class: "note" }, scenario.note));
      line.dataset.scenario = scenario.id;
      line.hidden = false;
      changed();
    } catch (error) {
      line.textContent = fill(T.scenario_missing, { id });
      line.hidden = false;
    }
  }
  if (config.scenario) loadScenario(config.scenario);
})();
