"""The worker page as an app in headless Chromium on a 360 × 640 phone: it links its manifest
and registers its service worker, and once loaded it reloads offline from what the worker kept,
showing the region's stations and streets and a banner saying as of when."""

from pathlib import Path

import pytest

from tests.browser import ARGS, CHROMIUM, serving

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)

PHONE = {"width": 360, "height": 640}

#: The page is usable: streets drawn, stations on the map, the search box enabled.
USABLE = "#map[data-streets=drawn] .leaflet-marker-icon"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from web import create_app

    folder = tmp_path_factory.mktemp("offline")
    with serving(create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db",
                             "SESSION_COOKIE_SECURE": False})) as base:
        yield base


@pytest.fixture
def context():
    """A fresh browser context (its own caches and service workers) on a phone screen; its
    script errors and console errors go to ``context.errors``."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport=PHONE)
        context.errors = []
        context.on("weberror", lambda error: context.errors.append(str(error.error)))
        context.on("console", lambda message: message.type == "error"
                   and context.errors.append(message.text))
        try:
            yield context
        finally:
            browser.close()


def load(context, url: str):
    """Open ``url`` and wait until the page is usable and its service worker is ready."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(USABLE)
    page.wait_for_selector("html[data-offline-ready]", state="attached")
    return page


def test_the_worker_page_links_its_manifest_and_registers_its_service_worker(server, context):
    page = load(context, f"{server}/?region=nanjing")
    manifest = page.evaluate("""async () => {
        const link = document.querySelector("link[rel=manifest]");
        return (await fetch(link.href)).json();
    }""")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    scopes = page.evaluate("""async () => (await navigator.serviceWorker.getRegistrations())
        .map((r) => [r.scope, r.active && r.active.scriptURL])""")
    assert scopes == [[f"{server}/", f"{server}/sw.js"]]
    assert context.errors == []


@pytest.mark.parametrize("lang, words", [("zh", "离线"), ("en", "Offline")])
def test_offline_the_page_reloads_with_the_last_regions_stations_and_a_banner(
        server, context, lang, words):
    online = load(context, f"{server}/?region=nanjing&lang={lang}")
    stations = online.locator(".leaflet-marker-icon").count()
    assert online.locator("#offline").is_hidden()
    online.wait_for_function("""async () => {
        const cache = await caches.open((await caches.keys())[0]);
        const kept = (await cache.keys()).map((r) => r.url);
        return kept.some((u) => u.includes("/api/v1/stations"))
            && kept.some((u) => u.includes("/streets/nanjing/"));
    }""")
    context.set_offline(True)
    online.reload()
    online.wait_for_selector(USABLE)
    assert online.locator(".leaflet-marker-icon").count() == stations
    banner = online.locator("#offline")
    banner.wait_for()
    assert words in banner.inner_text()
    assert online.locator("#map canvas").count() >= 1  # the streets, from the kept tiles


def test_a_page_loaded_with_a_session_is_not_kept(server, context):
    context.new_page().goto(f"{server}/sign-in")  # its form's token starts a session
    assert any(cookie["name"] == "session" for cookie in context.cookies())
    page = load(context, f"{server}/?region=nanjing")
    page.reload()  # now under the service worker
    page.wait_for_selector(USABLE)
    kept = page.evaluate("""async () => {
        const cache = await caches.open((await caches.keys())[0]);
        return (await cache.keys()).map((r) => new URL(r.url).pathname);
    }""")
    assert kept and "/" not in kept and "/api/v1/stations" not in kept
