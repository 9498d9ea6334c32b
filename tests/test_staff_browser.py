"""Staff in headless Chromium, offline: sign in, add a station by tapping the map, and find it
on the worker page, its script-like name shown as text."""

import math
import re
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, OUTPUT, offline_page, serving_with_staff
from tests.support import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)


#: The new station's name: it would run as a script if any page put it in as HTML.
NAME = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app (demo stations, one staff account) on a free loopback port."""
    with serving_with_staff(tmp_path_factory.mktemp("staff-browser"), "wang", PASSWORD) as both:
        yield both


@pytest.fixture
def page(server):
    """A desk-sized offline page (see :func:`tests.browser.offline_page`)."""
    with offline_page(playwright_api, server[0], {"width": 1100, "height": 900}) as page:
        yield page


def street_spot_near(page, x: float, y: float) -> tuple[float, float]:
    """The point nearest (x, y), on rings of growing radius, where a tap reaches the map rather
    than a station marker (the new station's own marker sits at (x, y))."""
    for radius in range(12, 120, 6):
        for step in range(16):
            angle = 2 * math.pi * step / 16
            spot = (x + radius * math.cos(angle), y + radius * math.sin(angle))
            if page.evaluate("([x, y]) => !document.elementFromPoint(x, y)"
                             ".closest('.leaflet-marker-icon, .leaflet-control')", list(spot)):
                return spot
    raise AssertionError("markers cover the whole middle of the map")


def test_staff_add_a_station_by_tapping_the_map_and_workers_find_it(server, page):
    base, app = server
    page.goto(base + "/staff?lang=en")
    assert "/sign-in" in page.url
    page.fill("#username", "wang")
    page.fill("#password", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_url(re.compile(r"/staff(\?|$)"))

    page.click("#add-station")
    page.wait_for_selector("#place-map[data-streets=drawn]")
    box = page.locator("#place-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#place-map .leaflet-marker-icon")
    # Leaflet finds its marker image beside its stylesheet, under the same fingerprint.
    icon = page.locator("#place-map img.leaflet-marker-icon")
    page.wait_for_function("() => document.querySelector('#place-map img.leaflet-marker-icon')"
                           ".complete")
    assert icon.evaluate("img => img.naturalWidth") > 0
    assert re.search(r"/vendor/leaflet/\w{12}/images/marker-icon", icon.get_attribute("src"))
    lon, lat = float(page.input_value("#f-lon")), float(page.input_value("#f-lat"))
    assert page.input_value("#f-datum") == "wgs84"
    page.fill("#f-name", NAME)
    page.select_option("#f-kind", "love_station")
    page.check("input[name=amenities][value=toilet]")
    page.fill("#f-opening_hours", "24/7")  # open now, as the worker page asks by default
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "staff-form.png"), full_page=True)
    page.click("#save-station")
    page.wait_for_url(re.compile(r"/staff/stations/\d+$"))
    assert page.locator("h1.station-name").inner_text() == NAME
    station_id = int(page.url.rsplit("/", 1)[1])
    stored = app.extensions["atlas"].store.get(station_id)
    assert (stored.lon, stored.lat, stored.amenities) == (lon, lat, ("toilet",))
    assert [(e.action, e.actor) for e in app.extensions["atlas"].store.history(station_id)] == [
        ("create", "wang")]

    page.goto(base + "/?lang=en")
    page.wait_for_selector(".leaflet-marker-icon")
    box = page.locator("#map").bounding_box()  # its centre is the region's, as on the form
    page.mouse.click(*street_spot_near(page, box["x"] + box["width"] / 2,
                                       box["y"] + box["height"] / 2))
    page.wait_for_selector(".result")
    names = page.locator(".result .name").all_inner_texts()
    assert NAME in names
    page.screenshot(path=str(OUTPUT / "worker-finds-new-station.png"), full_page=True)
    assert page.dialogs == [] and page.errors == []
    assert page.outside == [], f"requests left localhost: {page.outside}"
