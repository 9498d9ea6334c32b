"""The worker page in headless Chromium, offline: a location gives results and routes, and no
request leaves this machine; on a 360 × 640 phone the first answer is on screen, "open now" is
on by default, nothing overflows sideways and a language switch keeps the page's state."""

from pathlib import Path

import pytest

from tests.browser import ARGS, CHROMIUM, OUTPUT, PHONE, offline_page, overflow, serving, tap_map

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


@pytest.fixture
def phone(server):
    """An offline page on a 360 × 640 screen."""
    with offline_page(playwright_api, server, PHONE) as page:
        yield page


#: The contrast ratio (WCAG 2) of each visible text of the header with the header's background.
HEADER_CONTRASTS = """() => {
    const luminance = (colour) => {
        const [r, g, b] = colour.match(/[\\d.]+/g).slice(0, 3).map((v) => {
            const c = Number(v) / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const back = luminance(getComputedStyle(document.querySelector('.topbar')).backgroundColor);
    return [...document.querySelectorAll('.topbar a, .topbar strong, .topbar button')]
        .filter((e) => e.offsetParent !== null)
        .map((e) => {
            const fore = luminance(getComputedStyle(e).color);
            return (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
        });
}"""




def test_tapping_the_map_shows_three_stations_and_their_routes_offline(server, page):
    page.goto(server + "/")
    tap_map(page)
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
    page.wait_for_selector("#place-results li[role=option]")
    page.locator("#place-results li[role=option]").first.click()
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
    sheet = page.locator("#panel").bounding_box()
    page.mouse.click(box["x"] + 8, min(box["y"] + box["height"], sheet["y"]) - 30)
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


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_on_a_small_phone_the_first_answer_is_on_screen_after_a_tap(server, phone, lang):
    phone.goto(f"{server}/?lang={lang}")
    tap_map(phone)
    first = phone.locator(".result").first.bounding_box()
    assert first["y"] >= 0 and first["y"] + first["height"] <= PHONE["height"], first
    assert first["x"] >= 0 and first["x"] + first["width"] <= PHONE["width"], first
    assert overflow(phone) <= 0
    OUTPUT.mkdir(exist_ok=True)
    phone.screenshot(path=str(OUTPUT / f"worker-phone-answer-{lang}.png"))
    assert phone.errors == [] and phone.outside == []


def test_tapping_a_cluster_of_stations_chooses_the_location(server, phone):
    phone.goto(server + "/?lang=en#all=1")  # every station drawn, so some are clustered
    phone.wait_for_selector(".marker-cluster")
    zoom = phone.evaluate("location.hash")
    phone.locator(".marker-cluster").first.click()
    phone.wait_for_selector(".result")
    assert "lat=" in phone.evaluate("location.hash") != zoom
    assert phone.errors == []


def test_open_now_is_on_by_default_and_closed_stations_come_only_when_asked_and_grey(
        server, phone):
    phone.goto(server + "/?lang=en")
    assert phone.locator("#open-now").is_checked()
    with phone.expect_request(lambda r: "/api/v1/nearest?" in r.url) as asked:
        tap_map(phone)
    assert "open_now=true" in asked.value.url
    assert phone.locator(".result.is-grey").count() == 0
    with phone.expect_request(lambda r: "/api/v1/nearest?" in r.url) as asked:
        phone.locator("#open-now").uncheck()
    assert "open_now" not in asked.value.url
    phone.wait_for_function("document.querySelectorAll('.result').length === 3")
    grey = [phone.locator(".result").nth(i).evaluate("(e) => e.classList.contains('is-grey')")
            for i in range(3)]
    assert grey == sorted(grey)  # an open station is never ranked below a closed one


def test_switching_language_keeps_mode_needs_location_and_results(server, phone):
    phone.goto(server + "/?lang=zh")
    phone.check("input[name=mode][value=ebike]")
    phone.check("input[name=amenity][value=toilet]")
    tap_map(phone)
    phone.wait_for_function("!document.getElementById('status').textContent.includes('…')")
    names = phone.locator(".result .name").all_inner_texts()
    place = phone.evaluate("location.hash")
    phone.click("a[data-lang=en]")
    phone.wait_for_selector(".result")
    phone.wait_for_function("(n) => document.querySelectorAll('.result').length === n",
                            arg=len(names))
    assert phone.locator("#locate").inner_text() == "Use my position"
    assert phone.locator("input[name=mode][value=ebike]").is_checked()
    assert phone.locator("input[name=amenity][value=toilet]").is_checked()
    assert phone.evaluate("location.hash") == place
    assert phone.locator(".result .name").all_inner_texts() == names


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_nothing_overflows_a_360_pixel_screen_and_the_header_fits(server, phone, lang):
    phone.goto(f"{server}/?lang={lang}")
    phone.wait_for_selector(".leaflet-marker-icon")
    assert overflow(phone) <= 0
    header = phone.locator(".topbar").bounding_box()
    other = "en" if lang == "zh" else "zh"
    for needed in ("#sign-in", f"a[data-lang={other}]", ".brand"):
        box = phone.locator(needed).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], needed
        assert header["y"] <= box["y"]
        assert box["y"] + box["height"] <= header["y"] + header["height"]
    contrasts = phone.evaluate(HEADER_CONTRASTS)
    assert contrasts and min(contrasts) >= 4.5, contrasts
    OUTPUT.mkdir(exist_ok=True)
    phone.screenshot(path=str(OUTPUT / f"worker-phone-{lang}.png"))
    station = phone.evaluate("fetch('/api/v1/stations').then((r) => r.json())"
                             ".then((b) => b.features[0].properties.id)")
    phone.goto(f"{server}/s/{station}?lang={lang}")
    assert overflow(phone) <= 0



@pytest.mark.parametrize("lang", ["zh", "en"])
def test_what_can_i_reach_draws_three_areas_and_lists_the_stations_inside(server, phone, lang):
    phone.goto(f"{server}/?lang={lang}")
    assert phone.locator("#reach").is_hidden()
    tap_map(phone)
    with phone.expect_response(lambda r: "/api/v1/reach?" in r.url) as answered:
        phone.click("#reach")
    body = answered.value.json()
    phone.wait_for_selector(".reach-band")
    bands = phone.locator(".reach-band h3").all_inner_texts()
    assert len(bands) == 3 and ("分钟内" in bands[0] if lang == "zh" else "Within" in bands[0])
    inside = [f for f in body["features"] if f["properties"]["feature_type"] == "station"]
    assert phone.locator(".reach-band li").count() == len(inside)
    assert phone.locator(".leaflet-overlay-pane path.leaflet-interactive, "
                         ".leaflet-overlay-pane path").count() >= 3 or \
        phone.evaluate("document.querySelector('#map canvas') !== null")
    phone.check("input[name=mode][value=ebike]")  # a new question clears the old reach
    phone.wait_for_function("document.querySelectorAll('.reach-band').length === 0")
    assert phone.errors == [] and phone.outside == []


def test_the_answers_navigation_links_start_from_the_chosen_point(server, page):
    page.goto(server + "/?lang=en")
    tap_map(page)
    here = page.evaluate("Object.fromEntries(new URLSearchParams(location.hash.slice(1)))")
    osm = page.locator(".result .navigate a.nav-osm").first.get_attribute("href")
    start = osm.split("route=")[1].split(";")[0].split(",")
    assert float(start[0]) == pytest.approx(float(here["lat"]), abs=1e-5)
    assert float(start[1]) == pytest.approx(float(here["lon"]), abs=1e-5)
    assert "from=" in page.locator(".result .navigate a.nav-amap").first.get_attribute("href")
