"""The worker page on a cheap phone over a weak connection, in headless Chromium: time to the
first usable screen and bytes transferred on a first and a repeat visit, Nanjing.

The phone: a 360 × 640 screen, the CPU slowed 4 × (CDP ``Emulation.setCPUThrottlingRate``) and
the network of Lighthouse's and WebPageTest's "Fast 3G" (CDP
``Network.emulateNetworkConditions``): :data:`DOWN_BPS` down, :data:`UP_BPS` up and
:data:`LATENCY_MS` of latency added to each request. DevTools' own "Fast 3G" preset scales the
same profile to 1.44 Mbps, 675 kbps and 562.5 ms; ``--devtools`` measures with that one. The
peer is the same page unthrottled and, with ``--peer DIR``, the page of another checkout (the
main branch before a change) measured the same way.

"Usable" is the page-side mark this script adds to the page: station markers drawn on the map
and the place search box enabled, in milliseconds from the start of navigation. Bytes are
counted by the server (each answer's body as sent, compressed where it is, and its status line
and headers), so they include what the service worker asks for; a first visit is a fresh
browser profile, counted until the network is idle and the service worker has kept the page,
and a repeat visit is the page opened again in the same profile. Each visit is measured
:data:`RUNS` times; times are the median, bytes the largest.

    python scripts/bench_phone.py [--peer /path/to/other/checkout] [--devtools]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

#: The emulated network, "Fast 3G": bits per second down and up, and latency per request.
DOWN_BPS, UP_BPS, LATENCY_MS = 1_600_000, 750_000, 150

#: DevTools' "Fast 3G" preset (the same profile scaled as DevTools does).
DEVTOOLS = (1_440_000, 675_000, 562.5)

#: How many times slower the phone's CPU is than this machine's.
CPU_SLOWDOWN = 4

PHONE = {"width": 360, "height": 640}
PATH = "/?region=nanjing"
RUNS = 3

#: Budgets of the first usable screen (ms), a first visit's and a repeat visit's bytes.
BUDGETS = {"usable_ms": 2000, "first_bytes": 150_000, "repeat_bytes": 10_000}

#: Page-side mark: the first moment station markers are drawn and the search box is enabled.
USABLE_MARK = """
new MutationObserver((changes, observer) => {
  const place = document.getElementById("place");
  if (document.querySelector("#map .leaflet-marker-icon") && place && !place.disabled) {
    performance.mark("usable");
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true, attributes: true });
"""


class ByteCounter:
    """WSGI middleware that counts the bytes of every answer: status line, headers and body."""

    def __init__(self, app):
        self.app, self.bytes, self._lock = app, 0, threading.Lock()

    def __call__(self, environ, start_response):
        def counting_start(status, headers, exc_info=None):
            head = sum(len(f"{k}: {v}\r\n") for k, v in headers)
            self._add(len(f"HTTP/1.1 {status}\r\n") + head + 2)
            return start_response(status, headers, exc_info)

        for chunk in self.app(environ, counting_start):
            self._add(len(chunk))
            yield chunk

    def _add(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def take(self) -> int:
        """The bytes counted since the last take."""
        with self._lock:
            n, self.bytes = self.bytes, 0
        return n


def visit(context, counter: ByteCounter, base: str, network: tuple | None) -> tuple[float, int]:
    """Open the page in ``context`` (throttled as ``network`` and the CPU, or not at all);
    return the time to the usable mark and the bytes the server sent."""
    page = context.new_page()
    page.add_init_script(USABLE_MARK)
    if network:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        down, up, latency = network
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": latency,
            "downloadThroughput": down / 8, "uploadThroughput": up / 8})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    counter.take()
    page.goto(base + PATH)
    page.wait_for_function("() => performance.getEntriesByName('usable').length > 0",
                           timeout=120_000)
    usable = page.evaluate("() => performance.getEntriesByName('usable')[0].startTime")
    page.wait_for_load_state("networkidle")
    if page.evaluate("() => !!document.querySelector('link[rel=manifest]')"):
        page.wait_for_selector("html[data-offline-ready]", state="attached")
    page.wait_for_timeout(1500)  # what the service worker keeps after the page is idle
    sent = counter.take()
    page.close()
    return usable, sent


def measure(network: tuple | None) -> dict:
    """First and repeat visits of this checkout's worker page, :data:`RUNS` times each."""
    from playwright.sync_api import sync_playwright

    from tests.browser import ARGS, CHROMIUM, serving
    from web import create_app

    runs = []
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db",
                          "SESSION_COOKIE_SECURE": False})
        counter = ByteCounter(app.wsgi_app)
        app.wsgi_app = counter
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            warm = browser.new_context(viewport=PHONE)  # the server's caches, not measured
            visit(warm, counter, base, None)
            warm.close()
            for _ in range(RUNS):
                context = browser.new_context(viewport=PHONE)
                first = visit(context, counter, base, network)
                repeat = visit(context, counter, base, network)
                runs.append((first, repeat))
                context.close()
            browser.close()
    return {"usable_ms": statistics.median(first[0] for first, _ in runs),
            "repeat_usable_ms": statistics.median(repeat[0] for _, repeat in runs),
            "first_bytes": max(first[1] for first, _ in runs),
            "repeat_bytes": max(repeat[1] for _, repeat in runs)}


def _run_in(root: str, network: tuple | None) -> dict:
    """:func:`measure` in a checkout at ``root``, in a process of its own."""
    script = Path(__file__).resolve()
    env = {**os.environ, "PYTHONPATH": root}
    argv = [sys.executable, str(script), "--measure", json.dumps(network)]
    out = subprocess.run(argv, env=env, cwd=root, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", help="another checkout to measure as the peer")
    parser.add_argument("--devtools", action="store_true", help="DevTools' Fast 3G preset")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:  # a child process: measure this checkout
        sys.path.insert(0, os.getcwd())
        print(json.dumps(measure(json.loads(args.measure) or None)))
        return
    network = list(DEVTOOLS if args.devtools else (DOWN_BPS, UP_BPS, LATENCY_MS))
    here = str(Path(__file__).resolve().parent.parent)
    rows = {"this, throttled": _run_in(here, network), "this, unthrottled": _run_in(here, None)}
    if args.peer:
        rows["peer, throttled"] = _run_in(args.peer, network)
    down, up, latency = network
    print(f"Nanjing worker page, {PHONE['width']}×{PHONE['height']}, network {down / 1e6:g} Mbps "
          f"down / {up / 1e3:g} kbps up / {latency:g} ms latency, CPU {CPU_SLOWDOWN}× slower; "
          f"median of {RUNS} (bytes: largest)")
    peer = rows.get("peer, throttled") or rows["this, unthrottled"]
    print(f"{'run':<20}{'usable ms':>10}{'repeat ms':>10}{'first B':>9}{'repeat B':>9}"
          f"{'× usable':>9}{'× first':>8}{'× repeat':>9}")
    for name, row in rows.items():
        print(f"{name:<20}{row['usable_ms']:>10.0f}{row['repeat_usable_ms']:>10.0f}"
              f"{row['first_bytes']:>9}{row['repeat_bytes']:>9}"
              f"{row['usable_ms'] / peer['usable_ms']:>9.2f}"
              f"{row['first_bytes'] / peer['first_bytes']:>8.2f}"
              f"{row['repeat_bytes'] / peer['repeat_bytes']:>9.2f}")
    mine = rows["this, throttled"]
    print("budgets: " + ", ".join(f"{k} {mine[k]:.0f} ≤ {v} {'ok' if mine[k] <= v else 'MISSED'}"
                                  for k, v in BUDGETS.items()))


if __name__ == "__main__":
    main()
