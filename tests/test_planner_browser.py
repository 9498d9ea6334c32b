"""The planner's tools in headless Chromium, offline: recommended sites on the map and in a
table, what-if coverage from stations tapped onto the map or switched off, a what-if saved as a
scenario and opened again, and a bad request explained next to its field.

Nanjing couriers at 3 minutes leave gaps (at the default 10 minutes they have none)."""

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, OUTPUT, offline_page, serving_with_staff
from tests.support import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)

AREA = {"region": "nanjing", "group": "couriers", "threshold": 3}
PLANNER = "/planner?region=nanjing&group=couriers&threshold=3&lang=en"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app (demo stations, one staff account) on a free loopback port; every
    request comes from one address, so its rate of heavy requests is raised."""
    with serving_with_staff(tmp_path_factory.mktemp("planner-browser"), "zhao",
                            PASSWORD) as (base, app):
        app.config["HEAVY_RATE_ANONYMOUS"] = "1000 per minute"
        yield base


@pytest.fixture
def page(server):
    """A desk-sized offline page (see :func:`tests.browser.offline_page`)."""
    with offline_page(playwright_api, server, {"width": 1280, "height": 900}) as page:
        yield page


def get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path) as response:
        return json.load(response)


def post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def open_planner(page, url: str) -> None:
    """Open a planner page and wait until its stations list is filled."""
    page.goto(url)
    page.wait_for_selector("#whatif-stations input")


def answers(page) -> int:
    """How many what-if answers the page has shown."""
    return int(page.get_attribute("#whatif", "data-answers") or 0)


def wait_for_answer(page, after: int) -> float:
    """Wait for the what-if answer after the ``after``-th; return its covered share."""
    page.wait_for_function(
        "(after) => Number(document.querySelector('#whatif').dataset.answers || 0) > after"
        " && !document.querySelector('#whatif').hasAttribute('aria-busy')", arg=after)
    return float(page.get_attribute("#whatif-covered-share", "data-value"))


def tap_a_gap(page, base: str) -> dict:
    """Tap the map at the centre of the largest gap whose centre is in view and free of controls
    and markers; return that gap's properties."""
    gaps = get(base, "/api/v1/gaps?region=nanjing&group=couriers&threshold=3")["features"]
    for gap in gaps:
        p = gap["properties"]
        spot = page.evaluate("""([lon, lat]) => {
            const map = window.yizhanPlannerMap.map;
            const point = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            const x = box.left + point.x, y = box.top + point.y;
            if (x < box.left + 10 || x > box.right - 10 || y < box.top + 10 || y > box.bottom - 10)
                return null;
            const hit = document.elementFromPoint(x, y);
            if (!hit || hit.closest('.leaflet-control, .leaflet-marker-icon, .legend')) return null;
            return [x, y];
        }""", [p["centre_lon"], p["centre_lat"]])
        if spot:
            page.mouse.click(*spot)
            return p
    raise AssertionError("no gap centre is free to tap")


def station_that_matters(base: str) -> int:
    """The open station whose switching off loses the most covered demand."""
    features = get(base, "/api/v1/stations?region=nanjing")["features"]
    drops = {}
    for f in features:
        if f["properties"]["status"] != "open":
            continue
        body = post(base, "/api/v1/whatif", {**AREA, "removed": [f["properties"]["id"]]})
        drops[f["properties"]["id"]] = (body["baseline"]["covered_share"]
                                        - body["report"]["covered_share"])
    best = max(drops, key=drops.get)
    assert drops[best] > 0
    return best


def test_mclp_recommends_two_sites_in_a_table_on_the_map_and_in_a_whatif(server, page):
    open_planner(page, server + PLANNER)
    page.select_option("#recommend-problem", "mclp")
    page.fill("#recommend-k", "2")
    page.click("#recommend-run")
    page.wait_for_selector("#recommend-result:not([hidden])")
    page.wait_for_function("() => !document.querySelector('#recommend-run').disabled")

    api = post(server, "/api/v1/recommend", {**AREA, "problem": "mclp", "k": 2,
                                             "candidates": "sites", "min_distance_m": 50,
                                             "time_limit_s": 10, "curve": True})
    rows = page.locator("#recommend-table tbody tr")
    assert rows.count() == 2
    assert page.locator(".recommend-icon").count() == 2
    first = api["sites"][0]
    assert rows.first.locator(".site-name").inner_text() == first["name"]
    assert rows.first.locator("td").last.inner_text() == ", ".join(
        f"#{g['gap']}" for g in first["gaps"])
    change = page.locator("#recommend-change")
    assert float(change.get_attribute("data-after")) == pytest.approx(
        api["after"]["covered_share"])
    assert f"{api['after']['covered_share'] * 100:.1f}%" in change.inner_text()
    assert page.locator("#recommend-status").inner_text() == "Proven optimal."
    assert page.locator("#recommend-curve svg circle").count() == len(api["curve"])
    assert page.locator("#recommend-curve svg circle.is-k").count() == 1

    with page.expect_download() as csv_download:
        page.click("#recommend-csv")
    assert csv_download.value.suggested_filename.endswith(".csv")
    with page.expect_download() as geojson_download:
        page.click("#recommend-geojson")
    layer = json.loads(Path(geojson_download.value.path()).read_text(encoding="utf-8"))
    assert len(layer["features"]) == 2

    before = answers(page)
    page.click("#recommend-try")
    share = wait_for_answer(page, before)
    assert page.locator(".whatif-icon").count() == 2
    assert share == pytest.approx(api["after"]["covered_share"])

    page.click("#recommend-run")  # a second run replaces the markers
    page.wait_for_function("() => !document.querySelector('#recommend-run').disabled")
    assert page.locator(".recommend-icon").count() == 2
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "planner-recommend.png"), full_page=True)
    assert page.outside == [], f"requests left localhost: {page.outside}"
    assert page.errors == [] and page.dialogs == []


def test_a_station_tapped_into_a_gap_raises_coverage_and_switching_one_off_lowers_it(server,
                                                                                      page):
    open_planner(page, server + PLANNER)
    real = float(page.get_attribute("#covered-share", "data-value"))
    assert page.locator("#whatif-covered-share").is_hidden()

    page.click("#whatif-add")
    assert page.get_attribute("#whatif-add", "aria-pressed") == "true"
    tap_a_gap(page, server)
    with_new = wait_for_answer(page, 0)
    assert page.locator(".whatif-icon").count() == 1
    assert with_new > real
    assert page.locator("#whatif-covered-share").is_visible()
    assert "pp" in page.locator("#whatif-covered-share").inner_text()
    assert page.evaluate("""() => !yizhanPlannerMap.map.hasLayer(yizhanPlannerMap.layer('gaps'))"""
                         ), "the server's gap layer stays hidden while a what-if is shown"

    station = station_that_matters(server)
    box = page.locator(f"#whatif-stations input[data-station-id='{station}']")
    before = answers(page)
    box.check()
    without = wait_for_answer(page, before)
    assert without < with_new
    assert int(page.get_attribute("#whatif-station-count", "data-value")) == int(
        page.locator("#station-count").inner_text())  # one added, one switched off
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "planner-whatif.png"), full_page=True)

    # Switched back on from the station's popup on the map.
    page.evaluate("""(id) => {
        yizhanPlannerMap.layer('stations').eachLayer((marker) => {
            if (marker.feature.properties.id === id) marker.openPopup();
        });
    }""", station)
    before = answers(page)
    page.click(".leaflet-popup .whatif-switch")
    assert wait_for_answer(page, before) == pytest.approx(with_new)
    assert not box.is_checked()

    page.click(".whatif-icon")  # a tap on a new station takes it away again
    page.wait_for_function("() => !document.querySelector('#whatif-covered-share').dataset.value")
    assert page.locator(".whatif-icon").count() == 0
    assert page.evaluate("() => yizhanPlannerMap.map.hasLayer(yizhanPlannerMap.layer('gaps'))")
    assert page.outside == [] and page.errors == []


def test_a_signed_in_planner_saves_a_whatif_and_opens_it_again(server, page):
    open_planner(page, server + PLANNER)
    page.click("#scenario-sign-in a")
    page.wait_for_url(re.compile(r"/sign-in"))
    page.fill("#username", "zhao")
    page.fill("#password", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_url(re.compile(r"/planner\?"))
    page.wait_for_selector("#whatif-stations input")

    page.click("#whatif-add")
    tap_a_gap(page, server)
    wait_for_answer(page, 0)
    station = station_that_matters(server)
    before = answers(page)
    page.check(f"#whatif-stations input[data-station-id='{station}']")
    shown = wait_for_answer(page, before)

    page.fill("#scenario-name", "缺口补站 <b>一</b>")
    page.fill("#scenario-note", "试算")
    page.click("#scenario-save")
    page.wait_for_selector("#scenario-saved:not([hidden])")
    assert "Saved" in page.locator("#scenario-saved").inner_text()
    scenario_id = int(page.get_attribute("#scenario-saved", "data-scenario"))
    listed = get(server, "/api/v1/scenarios?region=nanjing")["scenarios"]
    assert "created_by" not in next(s for s in listed if s["id"] == scenario_id)
    saved = page.evaluate("id => fetch(`/api/v1/scenarios/${id}`).then(r => r.json())",
                          scenario_id)  # as the signed-in planner sees it
    assert saved["name"] == "缺口补站 <b>一</b>" and saved["created_by"] == "zhao"
    assert len(saved["added"]) == 1 and saved["removed"] == [station]
    assert (saved["group"], saved["threshold_min"]) == ("couriers", 3)

    page.click("#scenario-save")  # the same name again is refused, next to the name
    page.wait_for_function(
        "() => document.querySelector('[data-error-for=name]').textContent.length > 0")

    page.goto(f"{server}{PLANNER}&scenario={scenario_id}")
    loaded = wait_for_answer(page, 0)
    assert page.locator(".whatif-icon").count() == 1
    assert page.is_checked(f"#whatif-stations input[data-station-id='{station}']")
    assert "缺口补站 <b>一</b>" in page.locator("#whatif-scenario").inner_text()
    expected = post(server, "/api/v1/whatif", {**AREA, "added": saved["added"],
                                               "removed": saved["removed"]})
    assert loaded == pytest.approx(expected["report"]["covered_share"]) == pytest.approx(shown)
    assert int(page.get_attribute("#whatif-station-count", "data-value")) == (
        expected["report"]["stations"])
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "planner-scenario.png"), full_page=True)

    # A link naming only the scenario goes to its region, group and threshold.
    page.goto(f"{server}/planner?region=nanjing&scenario={scenario_id}&lang=en")
    page.wait_for_url(re.compile(r"group=couriers"))
    assert wait_for_answer(page, 0) == pytest.approx(loaded)
    assert page.outside == [] and page.errors == [] and page.dialogs == []


def test_a_bad_number_of_sites_is_explained_next_to_its_field(server, page):
    open_planner(page, server + PLANNER)
    assert page.locator("#recommend-target").is_hidden()
    page.select_option("#recommend-problem", "lscp")
    assert page.locator("#recommend-k").is_hidden()
    assert page.locator("#recommend-target").is_visible()
    page.select_option("#recommend-problem", "mclp")
    page.fill("#recommend-k", "0")
    page.click("#recommend-run")
    error = page.locator("#recommend-form [data-error-for=k]")
    page.wait_for_function(
        "() => document.querySelector('#recommend-form [data-error-for=k]').textContent.length > 0")
    assert "between 1 and 100" in error.inner_text()
    assert error.is_visible()
    assert page.get_attribute("#recommend-k", "aria-invalid") == "true"
    assert page.locator("#recommend-result").is_hidden()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "planner-recommend-error.png"), full_page=False)

    page.fill("#recommend-k", "1")
    page.click("#recommend-run")
    page.wait_for_selector("#recommend-result:not([hidden])")
    assert error.inner_text() == ""
    assert page.outside == [] and page.errors == []


def test_tiled_layers_follow_the_zoom_and_keep_each_piece_once(page, server):
    page.goto(server + PLANNER)
    page.wait_for_selector("#planner-map[data-streets=drawn][data-loaded~=cells]"
                           "[data-loaded~=service-areas][data-loaded~=gaps]")
    count = """() => ['cells', 'service-areas', 'gaps'].map(
        (id) => window.yizhanPlannerMap.layer(id).getLayers().length)"""
    first = page.evaluate(count)
    assert all(first)
    zoom = page.evaluate("() => window.yizhanPlannerMap.map.getZoom()")
    for button in (".leaflet-control-zoom-in",) * 2 + (".leaflet-control-zoom-out",) * 2:
        page.click(button)
        page.wait_for_timeout(300)
    page.wait_for_function(f"() => window.yizhanPlannerMap.map.getZoom() === {zoom}")
    page.wait_for_load_state("networkidle")
    # once the tiles of the first zoom are back, those of the deeper zooms are gone
    page.wait_for_function(f"(first) => ({count})().every((n, i) => n === first[i])", arg=first)
    assert page.outside == [] and page.errors == []
