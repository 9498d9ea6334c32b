// The worker page's service worker (see web/offline.py): the last worker page, its assets and
// the last-loaded region's stations and street tiles, kept so the page still works offline.
"use strict";
const CACHE = {{ version | tojson }};

// What is kept: the worker page, fingerprinted assets, a region's stations and its street tiles.
const isPage = (url) => url.pathname === "/";
const isAsset = (url) => /^\/(static|vendor\/\w+)\/[0-9a-f]{12}\//.test(url.pathname);
const isStations = (url) => url.pathname === "/api/v1/stations";
const isStreets = (url) => url.pathname.startsWith("/streets/");
const regionOf = (url) => (isStations(url) ? url.searchParams.get("region")
  : isStreets(url) ? url.pathname.split("/")[2] : null);

// The cache fills as worker pages load (a page this worker takes over names what it loaded,
// see "message"), so installing asks nothing of the network.
self.addEventListener("install", () => self.skipWaiting());

// A new deploy's worker drops the caches of the one before.
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

// Keep an answer, with the time it was kept, unless it is an error or private (answers to a
// session are no-store); a region's answers replace another's.
async function keep(request, response) {
  const control = response.headers.get("Cache-Control") || "";
  if (![200, 204].includes(response.status) || response.redirected || /no-store|private/.test(control)) return;
  const url = new URL(request.url);
  const cache = await caches.open(CACHE);
  const region = regionOf(url);
  const drop = (await cache.keys()).filter((old) => {
    const was = new URL(old.url);
    return isPage(url) ? isPage(was) : region !== null && regionOf(was) !== null && regionOf(was) !== region;
  });
  await Promise.all(drop.map((old) => cache.delete(old)));
  const headers = new Headers(response.headers);
  headers.set("Yizhan-Kept-At", new Date().toISOString());
  await cache.put(request.url, new Response(await response.blob(),
    { status: response.status, statusText: response.statusText, headers }));
}

// Tell the page its stations are the kept ones, as of the time they were kept.
async function tellOffline(clientId, response) {
  const client = clientId && await self.clients.get(clientId);
  if (client) client.postMessage({ offline: response.headers.get("Yizhan-Kept-At") });
}

async function networkFirst(event, url) {
  try {
    const response = await fetch(event.request);
    event.waitUntil(keep(event.request, response.clone()));
    return response;
  } catch (failure) {
    const cache = await caches.open(CACHE);
    let kept = await cache.match(event.request, { ignoreVary: true });
    if (!kept && isPage(url)) {  // any worker page: the one kept
      const pages = (await cache.keys()).filter((r) => isPage(new URL(r.url)));
      kept = pages.length ? await cache.match(pages[0], { ignoreVary: true }) : undefined;
    }
    if (!kept) throw failure;
    if (isStations(url)) event.waitUntil(tellOffline(event.clientId, kept));
    return kept;
  }
}

async function cacheFirst(event) {
  const kept = await caches.match(event.request, { ignoreVary: true });
  if (kept) return kept;
  const response = await fetch(event.request);
  event.waitUntil(keep(event.request, response.clone()));
  return response;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (isAsset(url)) event.respondWith(cacheFirst(event));
  else if ((isPage(url) && event.request.mode === "navigate") || isStations(url) || isStreets(url)) {
    event.respondWith(networkFirst(event, url));
  }
});

// A page this worker took over names what it loaded: keep it, from the
// browser's own cache where it holds it (an asset is at most revalidated there).
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.keep) || [];
  event.waitUntil(Promise.all(urls.map(async (address) => {
    const url = new URL(address, self.location.origin);
    if (url.origin !== self.location.origin || !(isPage(url) || isAsset(url) || isStations(url) || isStreets(url))) return;
    try {
      await keep(new Request(url), await fetch(url, { cache: "force-cache" }));
    } catch (failure) { /* the network failed: kept on the next visit */ }
  })));
});
