"""The worker page in headless Chromium, offline: a location gives results and routes, and no
request leaves this machine."""

from pathlib import Path

import pytest

from tests.browser import ARGS, CHROMIUM, OUTPUT, offline_page, serving

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free loopback port, for the whole module."""
    from web import create_app

    folder = tmp_path_factory.mktemp("browser")
    with serving(create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db"})) as base:
        yield base


@pytest.fixture
def page(server):
    """A phone-sized offline page (see :func:`tests.browser.offline_page`)."""
    with offline_page(playwright_api, server, {"width": 412, "height": 915}) as page:
        yield page


def test_tapping_the_map_shows_three_stations_and_their_routes_offline(server, page):
    page.goto(server + "/")
    page.wait_for_selector(".leaflet-marker-icon")  # stations drawn, clustered or not
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.75)
    page.wait_for_selector(".result")
    assert page.locator(".result").count() == 3
    assert page.locator("#results").get_attribute("data-routes") == "3"
    first = page.locator(".result").first
    assert "分钟" in first.locator(".time").inner_text()
    assert first.locator(".navigate a").count() == 3
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "worker-results.png"), full_page=True)
    assert page.outside == [], f"requests left localhost: {page.outside}"
    assert page.errors == []


def test_the_page_switches_to_english_and_remembers_it(server, page):
    page.goto(server + "/?lang=en")
    assert page.locator("#locate").inner_text() == "Use my position"
    page.goto(server + "/")
    assert page.locator("#locate").inner_text() == "Use my position"
    page.click("a[data-lang=zh]")
    assert page.locator("#locate").inner_text() == "使用我的位置"
    assert page.outside == []


def test_a_place_typed_by_name_becomes_the_location(server, page):
    page.goto(server + "/")
    page.fill("#place", "汉中路")
    page.wait_for_selector("#place-results li[role=button]")
    page.locator("#place-results li[role=button]").first.click()
    page.wait_for_selector(".result")
    assert page.locator(".result").count() == 3
    assert page.outside == []


def test_the_device_position_becomes_the_location(server):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(geolocation={"latitude": 32.0418, "longitude": 118.7790},
                                      permissions=["geolocation"])
        page = context.new_page()
        page.goto(server + "/?lang=en")
        page.click("#locate")
        page.wait_for_selector(".result")
        assert "min" in page.locator(".result .time").first.inner_text()
        browser.close()


def test_a_point_outside_the_region_is_explained_not_answered(server, page):
    page.goto(server + "/?lang=en")
    box = page.locator("#map").bounding_box()
    for _ in range(4):  # zoom far out, then tap far from Nanjing
        page.click(".leaflet-control-zoom-out")
        page.wait_for_timeout(300)
    page.mouse.click(box["x"] + 8, box["y"] + box["height"] - 30)
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('outside')")
    assert page.locator(".result").count() == 0


def test_the_planner_switches_layers_and_groups_and_shows_the_apis_numbers(server, page):
    import json
    import urllib.request

    def api(query: str) -> dict:
        with urllib.request.urlopen(f"{server}/api/v1/coverage?{query}") as response:
            return json.load(response)

    page.goto(server + "/planner?region=nanjing&group=street&threshold=5&lang=en")
    page.wait_for_selector(".leaflet-control-layers")
    shown = page.locator("#covered-share").inner_text()
    assert shown == f"{api('region=nanjing&group=street&threshold=5')['covered_share'] * 100:.1f}%"

    toggles = page.locator(".leaflet-control-layers-overlays label")
    names = [t.strip() for t in toggles.all_inner_texts()]
    assert names == ["Demand hexagons", "Service areas", "Gaps", "Uncovered streets", "Stations"]
    service_areas = toggles.nth(1).locator("input")
    assert service_areas.is_checked()
    service_areas.click()
    assert not service_areas.is_checked()
    uncovered = toggles.nth(3).locator("input")
    uncovered.click()
    assert uncovered.is_checked()

    page.select_option("#planner-group", "couriers")
    page.fill("#planner-threshold", "2")
    page.click(".planner-form button[type=submit]")
    page.wait_for_selector(".leaflet-control-layers")
    couriers = api("region=nanjing&group=couriers&threshold=2")
    assert page.locator("#covered-share").inner_text() == f"{couriers['covered_share'] * 100:.1f}%"
    assert page.locator("#double-share").inner_text() == (
        f"{couriers['double_covered_share'] * 100:.1f}%")
    assert page.locator("#station-count").inner_text() == str(couriers["stations"])
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "planner.png"), full_page=False)
    assert page.outside == [], f"requests left localhost: {page.outside}"
    assert page.errors == []
