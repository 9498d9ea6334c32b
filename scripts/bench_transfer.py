"""Bytes a browser transfers to show the worker and planner pages, first visit and return visit.

Serves the app (its own SQLite store in a temporary folder, demo stations seeded) on loopback,
opens each page in headless Chromium until the network is idle, and sums the response bodies as
transferred (compressed where the server compressed them). The return visit reloads the page in
the same browser: assets the browser may keep without asking cost nothing.

    python scripts/bench_transfer.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import ARGS, CHROMIUM, serving  # noqa: E402
from web import create_app  # noqa: E402

PAGES = [("worker", "/?region={region}"), ("planner", "/planner?region={region}")]
REGIONS = ["nanjing", "jinan"]


def transferred(page, url: str) -> tuple[int, int]:
    """Load ``url`` in ``page``; return the bytes of response bodies transferred and the count
    of requests that went to the server (a revalidation answered 304 counts, an answer the
    browser kept does not)."""
    requests = []

    def keep(request) -> None:
        requests.append(request)

    page.on("requestfinished", keep)
    page.goto(url, wait_until="networkidle")
    page.remove_listener("requestfinished", keep)
    sizes = [request.sizes()["responseBodySize"] for request in requests]
    # Chromium reports an answer taken from its cache with a negative body size.
    return sum(max(size, 0) for size in sizes), sum(1 for size in sizes if size >= 0)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db",
                          "SECRET_KEY": "bench"})
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            print(f"{'page':<18} {'first visit':>22} {'return visit':>22}")
            for name, path in PAGES:
                for region in REGIONS:
                    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                    url = base + path.format(region=region)
                    first = transferred(page, url)
                    again = transferred(page, url)
                    print(f"{name + ' ' + region:<18} {_shown(*first):>22} {_shown(*again):>22}")
                    page.context.close()
            browser.close()


def _shown(size: int, count: int) -> str:
    """A transfer as ``1234.5 kB, 12 requests``."""
    return f"{size / 1000:.1f} kB, {count} requests"


if __name__ == "__main__":
    main()
