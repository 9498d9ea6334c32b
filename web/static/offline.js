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
  const loadedBefore = !navigator.serviceWorker.controller;
  // Registered once the page has loaded, so installing takes nothing from the first screen.
  const loaded = new Promise((resolve) => (document.readyState === "complete" ? resolve()
    : window.addEventListener("load", resolve)));
  loaded.then(() => navigator.serviceWorker.register("/sw.js")).then(() => navigator.serviceWorker.ready).then((registration) => {
    document.documentElement.dataset.offlineReady = "";
    if (!loadedBefore) return;
    // This visit was loaded before the worker ran: name what it loaded (and loads) to keep.
    const keep = (urls) => registration.active.postMessage({ keep: urls });
    keep([location.href]);
    // Once the worker controls the page it sees what the page asks for itself.
    new PerformanceObserver((list, observer) => {
      keep(list.getEntries().map((e) => e.name));
      if (navigator.serviceWorker.controller) observer.disconnect();
    }).observe({ type: "resource", buffered: true });
  });
})();
