"""Shared pieces of the browser tests: the app on a loopback port and an offline Chromium page."""

import threading
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@contextmanager
def serving(app):
    """Run ``app`` under werkzeug's threaded server on a free loopback port, in a thread of
    this process (so a test can reach into the app); yield its base URL."""
    from werkzeug.serving import make_server

    wsgi = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=wsgi.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{wsgi.server_port}"
    finally:
        wsgi.shutdown()
        wsgi.server_close()


@contextmanager
def serving_with_staff(folder: Path, username: str, password: str):
    """The app on its own SQLite store (demo stations seeded) with one staff account, served on
    a loopback port; yield its base URL and the app."""
    from web import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db"})
    app.extensions["accounts"].add_user(username, password, "staff")
    with serving(app) as base:
        yield base, app


@contextmanager
def offline_page(playwright_api, base: str, viewport: dict, **context):
    """A Chromium page whose requests to any host but ``base`` are refused and recorded in
    ``page.outside``; script errors and Content-Security-Policy violations go to
    ``page.errors``, every console error to ``page.console_errors``, dialogs to
    ``page.dialogs``. ``context`` goes to the browser context (e.g. ``permissions``)."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport=viewport, **context).new_page()
        page.outside, page.errors, page.console_errors, page.dialogs = [], [], [], []

        def only_local(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                page.outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda message: _console(page, message))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        try:
            yield page
        finally:
            browser.close()


def _console(page, message) -> None:
    """Keep a console error; a Content-Security-Policy violation is also a page error."""
    if message.type != "error":
        return
    page.console_errors.append(message.text)
    if "Content Security Policy" in message.text:
        page.errors.append(message.text)


#: A small Android phone's screen.
PHONE = {"width": 360, "height": 640}


def tap_map(page, across: float = 0.5, down: float = 0.6) -> None:
    """Tap the part of the map the panel leaves free, at fractions of its width and height."""
    page.wait_for_selector(".leaflet-marker-icon")  # stations drawn, clustered or not
    box = page.locator("#map").bounding_box()
    sheet = page.locator("#panel").bounding_box()
    free = sheet["y"] - box["y"] if sheet["y"] > box["y"] else box["height"]
    page.mouse.click(box["x"] + box["width"] * across, box["y"] + free * down)
    page.wait_for_selector(".result")


def overflow(page) -> int:
    """How many pixels the page is wider than the screen."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
