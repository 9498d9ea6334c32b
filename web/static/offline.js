// The worker page as an app: registers the service worker (/sw.js, web/offline.py) and, when it
// answers with the stations it kept because the network failed, says as of when they are.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  const banner = document.getElementById("offline");
  const lang = document.documentElement.lang;
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (!event.data || !("offline" in event.data)) return;
    const time = new Date(event.data.offline).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
    banner.textContent = window.yizhanDom.fill(banner.dataset.text, { time });
    banner.hidden = false;
  });
  navigator.serviceWorker.startMessages();
  // A worker that takes over a page it did not load (the first visit, a new deploy) is told
  // what the page loaded, to keep; from then on it sees what the page asks for itself.
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    const worker = navigator.serviceWorker.controller;
    const since = performance.now();
    worker.postMessage({ keep: [location.href] });
    new PerformanceObserver((list) => {
      const before = list.getEntries().filter((e) => e.startTime < since).map((e) => e.name);
      if (before.length) worker.postMessage({ keep: before });
    }).observe({ type: "resource", buffered: true });
  });
  // Registered once the page has loaded, so installing takes nothing from the first screen.
  const loaded = new Promise((resolve) => (document.readyState === "complete" ? resolve()
    : window.addEventListener("load", resolve)));
  loaded.then(() => navigator.serviceWorker.register("/sw.js"))
    .then(() => navigator.serviceWorker.ready)
    .then(() => { document.documentElement.dataset.offlineReady = ""; });
})();
