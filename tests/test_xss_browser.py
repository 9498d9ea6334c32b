"""Station data never runs as code, in headless Chromium under the app's Content-Security-Policy.

Each payload goes into every free-text field of a station (name, address, host, union, notes),
into a saved scenario's name, note and site name, and into an import file whose rows are refused.
Then every page that shows them is opened — the worker page with the station among the results
and its popup open, each station's own page (/s/<id>), the planner with its popup and tooltips
open and the gap and service-area layers on, the staff list, station page, history, edit form,
conflict page, scenarios page and the import's dry run — and none may open a dialog, log a
console error, set ``window.__xss`` or hold an injected element; the name must show as the text
it is.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from geo.scenarios import Scenario, ScenarioSite
from geo.stations import Station
from tests.browser import CHROMIUM, offline_page, serving_with_staff
from tests.support import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload="window.__xss=1">',
    "${window.__xss=1}",
    "Joe`s station",
    "</script><script>window.__xss=1</script>",
    "{{7*7}}",
    "javascript:window.__xss=1",
]
TEXT_FIELDS = ("address", "host", "union", "notes")
PLANNER = "/planner?region=nanjing&group=couriers&threshold=3&lang=en"

#: Anything a payload could have become: a flag, an element, a live link.
INJECTED = """() => {
    const found = [];
    if (window.__xss !== undefined) found.push('window.__xss');
    document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload]')
        .forEach((e) => found.push(e.outerHTML));
    document.querySelectorAll('a[href], [src], form[action]').forEach((e) => {
        const url = e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action');
        if (/^\\s*javascript:/i.test(url)) found.push(e.outerHTML);
    });
    [...document.scripts].filter((s) => s.type !== 'application/json' && !s.src)
        .forEach((s) => found.push(s.outerHTML));
    return found;
}"""


def name(index: int) -> str:
    """The station name carrying payload ``index`` (names differ so none is a duplicate)."""
    return f"{PAYLOADS[index]} {index}"


def group_sites(app) -> list[list[tuple[float, float]]]:
    """Three groups of three street nodes, a node and two of its neighbours 20–80 m away, the
    groups far from every demo station, so a worker at a group's first node finds its stations
    first."""
    index = app.extensions["atlas"].index("nanjing")
    network = index.network("walk")
    lon, lat = np.asarray(network.lon), np.asarray(network.lat)
    scale = np.array([111_320 * math.cos(math.radians(32.04)), 110_574])
    nodes = np.column_stack([lon, lat]) * scale  # metres, near enough
    stations = np.array([[s.lon, s.lat] for s in index.stations]) * scale
    far = np.min(np.linalg.norm(nodes[:, None] - stations[None], axis=2), axis=1)
    low, high = np.array(index.bounds[:2]), np.array(index.bounds[2:])
    lonlat = np.column_stack([lon, lat])
    inside = np.all((lonlat > low + 0.2 * (high - low)) & (lonlat < high - 0.2 * (high - low)),
                    axis=1)
    groups, centres = [], []
    for node in np.argsort(-np.where(inside, far, 0)):
        if len(groups) == 3:
            break
        if any(np.linalg.norm(nodes[node] - c) < 400 for c in centres):
            continue
        chosen = [node]
        streets = slice(network.indptr[node], network.indptr[node + 1])
        for n in network.edge_v[streets]:  # its neighbours
            metres = np.linalg.norm(nodes[n] - nodes[node])
            if len(chosen) < 3 and 20 < metres < 80 and all(
                    np.linalg.norm(nodes[n] - nodes[c]) > 20 for c in chosen):
                chosen.append(n)
        if len(chosen) == 3:
            centres.append(nodes[node])
            groups.append([(float(lon[n]), float(lat[n])) for n in chosen])
    assert len(groups) == 3, "no three quiet corners for the payload stations"
    return groups


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app with a station per payload and a scenario full of them, a staff account signed in
    on one offline page that may use the device position."""
    with serving_with_staff(tmp_path_factory.mktemp("xss-browser"), "wang", PASSWORD) as (
            base, app):
        store = app.extensions["atlas"].store
        places = [spot for group in group_sites(app) for spot in group]
        stations = [store.add(Station(
            name=name(i), region="nanjing", kind="courier_home", lon=places[i][0],
            lat=places[i][1], opening_hours="24/7",
            **{field: PAYLOADS[i] for field in TEXT_FIELDS}), actor="wang")
            for i in range(len(PAYLOADS))]
        scenario = app.extensions["scenarios"].save(Scenario(
            region="nanjing", name=" ".join(PAYLOADS[:4]), group="couriers", threshold_min=3,
            note=" ".join(PAYLOADS[4:]), removed=(stations[0].id,),
            added=(ScenarioSite(lon=places[0][0], lat=places[0][1] + 0.001, name=PAYLOADS[3],
                                category="fuel"),)), actor="wang")
        here = {"latitude": places[0][1], "longitude": places[0][0]}
        with offline_page(playwright_api, base, {"width": 1100, "height": 900},
                          permissions=["geolocation"], geolocation=here) as page:
            page.goto(base + "/sign-in?lang=en")
            page.fill("#username", "wang")
            page.fill("#password", PASSWORD)
            page.click("#sign-in-form button[type=submit]")
            page.wait_for_url(re.compile(r"/staff"))
            yield base, app, page, stations, places, scenario


def assert_clean(page, where: str, status: int | None = None) -> None:
    """Nothing ran and nothing was injected on the page now shown (which answered ``status``,
    when that is an error the console reports)."""
    assert page.evaluate(INJECTED) == [], where
    assert page.dialogs == [], where
    expected = f"the server responded with a status of {status} "
    assert [e for e in page.console_errors if expected not in e] == [], where
    assert page.errors == [], where
    page.console_errors.clear()


def test_the_worker_page_shows_payloads_in_results_and_popups_as_text(site):
    base, _app, page, stations, places, _scenario = site
    page.goto(base + "/?lang=en")
    for first in (0, 3, 6):
        lon, lat = places[first]
        page.context.set_geolocation({"latitude": lat, "longitude": lon})
        page.click("#locate")
        page.wait_for_function("(n) => [...document.querySelectorAll('.result .name')]"
                               ".some((e) => e.textContent === n)", arg=name(first))
        shown = page.locator(".result .name").all_inner_texts()
        group = [name(i) for i in range(first, min(first + 3, len(PAYLOADS)))]
        assert set(group) <= set(shown), shown
        for i in range(first, min(first + 3, len(PAYLOADS))):
            card = page.locator(".result").nth(shown.index(name(i)))
            assert card.locator(".address").inner_text() == PAYLOADS[i]
            assert card.locator(".host").inner_text().endswith(PAYLOADS[i])
            icon = page.evaluate_handle(
                "(n) => [...document.querySelectorAll('.leaflet-marker-icon')]"
                ".find((e) => e.title === n)", name(i))
            icon.as_element().click()
            popup = page.locator(".leaflet-popup-content strong").filter(has_text=name(i))
            assert popup.inner_text() == name(i)
        assert_clean(page, f"worker page, stations from {first}")


def test_each_stations_own_page_shows_payloads_as_text(site):
    base, _app, page, stations, _places, _scenario = site
    for i, station in enumerate(stations):
        page.goto(f"{base}/s/{station.id}?lang=en")
        assert page.locator("h1").inner_text() == name(i)
        assert page.locator(".address").inner_text() == PAYLOADS[i]
        assert page.locator(".host").inner_text().endswith(PAYLOADS[i])
        assert_clean(page, f"station page {i}")


def test_the_pages_element_builder_keeps_no_unsafe_address_or_handler(site):
    base, _app, page, _stations, _places, _scenario = site
    page.goto(base + "/?lang=en")
    kept = page.evaluate("""(addresses) => addresses.map(
        (href) => window.yizhanDom.el('a', { href }, 'x').getAttribute('href'))""",
        [PAYLOADS[-1], " JavaScript:alert(1)", "data:text/html,<b>", "tel:+8625", "/planner",
         "https://uri.amap.com/navigation"])
    assert kept == [None, None, None, "tel:+8625", "/planner", "https://uri.amap.com/navigation"]
    refused = page.evaluate("""() => ['onclick', 'style'].map((name) => {
        try { window.yizhanDom.el('a', { [name]: 'window.__xss=1' }); return false; }
        catch (error) { return true; }
    })""")
    assert refused == [True, True]
    assert_clean(page, "element builder")


def test_the_planner_shows_payloads_in_popups_tooltips_lists_and_a_scenario(site):
    base, _app, page, stations, _places, scenario = site
    page.goto(f"{base}{PLANNER}&scenario={scenario.id}")
    page.wait_for_selector("#planner-map[data-loaded~=service-areas][data-loaded~=gaps]"
                           "[data-loaded~=stations]")
    page.wait_for_function("() => Number(document.querySelector('#whatif').dataset.answers) > 0")
    for i, station in enumerate(stations):
        texts = page.evaluate("""(id) => {
            const found = {};
            yizhanPlannerMap.layer('stations').eachLayer((marker) => {
                if (marker.feature.properties.id !== id) return;
                marker.openTooltip();
                found.tooltip = marker.getTooltip().getElement().textContent;
                marker.openPopup();
                found.popup = marker.getPopup().getElement().querySelector('strong').textContent;
            });
            yizhanPlannerMap.layer('service-areas').eachLayer((area) => {
                if (area.feature.properties.name !== found.popup) return;
                area.openTooltip(area.getBounds().getCenter());
                found.area = area.getTooltip().getElement().textContent;
            });
            return found;
        }""", station.id)
        assert texts["tooltip"] == texts["popup"] == name(i)
        assert name(i) in texts["area"]
        assert page.locator(".leaflet-popup .whatif-switch").count() >= 1
        assert_clean(page, f"planner, station {i}")
    assert page.evaluate("() => yizhanPlannerMap.map.hasLayer(yizhanPlannerMap.layer('gaps'))"
                         " || document.querySelector('#whatif-summary').hidden === false")
    names = page.locator("#catchments td:first-child").all_inner_texts()
    assert all(any(n.startswith(name(i)) for n in names) for i in range(len(PAYLOADS)))
    listed = page.locator("#whatif-stations label").all_inner_texts()
    assert all(name(i) in [t.strip() for t in listed] for i in range(len(PAYLOADS)))
    line = page.locator("#whatif-scenario").inner_text()
    assert scenario.name in line and scenario.note in line and "49" not in line
    assert page.locator("#whatif-added li span").first.inner_text() == PAYLOADS[3]
    assert_clean(page, "planner with the scenario")


def test_the_staff_pages_show_payloads_as_text(site):
    base, app, page, stations, _places, _scenario = site
    store = app.extensions["atlas"].store
    page.goto(base + "/staff?region=nanjing&lang=en")
    listed = page.locator("#stations td.name a").all_inner_texts()
    assert all(name(i) in listed for i in range(len(PAYLOADS)))
    assert_clean(page, "station list")
    page.goto(base + "/staff/scenarios?lang=en")
    assert " ".join(PAYLOADS[:4]) in page.locator("#scenarios").inner_text()
    assert_clean(page, "scenarios")
    for i, station in enumerate(stations):
        page.goto(f"{base}/staff/stations/{station.id}?lang=en")
        assert page.locator("h1.station-name").inner_text() == name(i)
        assert_clean(page, f"station page {i}")
        page.goto(f"{base}/staff/stations/{station.id}/edit?lang=en")
        assert page.input_value("#f-name") == name(i)
        assert page.input_value("#f-notes") == PAYLOADS[i]
        assert_clean(page, f"edit form {i}")
        # Someone else saves in between: the conflict page shows both versions.
        stored = store.get(station.id)
        store.update(station.id, {"notes": PAYLOADS[-1 - i], "host": PAYLOADS[i] + "!"},
                     stored.version, actor="li")
        page.fill("#f-address", PAYLOADS[-1 - i])
        page.click("#save-station")
        page.wait_for_selector("#reapply")
        assert PAYLOADS[-1 - i] in page.locator("main").inner_text()
        assert_clean(page, f"conflict page {i}", status=409)
        page.goto(f"{base}/staff/stations/{station.id}/history?lang=en")
        assert PAYLOADS[-1 - i] in page.locator("main").inner_text()
        assert_clean(page, f"history {i}")


def test_an_import_dry_run_lists_payloads_as_text(site):
    base, _app, page, _stations, places, _scenario = site
    lon, lat = places[0]
    rows = "".join(f'"{p.replace(chr(34), chr(34) * 2)} {i}","{p.replace(chr(34), chr(34) * 2)}",'
                   f"{lon},{lat}\n" for i, p in enumerate(PAYLOADS))
    page.goto(base + "/staff/import?region=nanjing&lang=en")
    page.set_input_files("#import-file", files=[{
        "name": "stations.csv", "mimeType": "text/csv",
        "buffer": ("name,kind,lon,lat\n" + rows).encode()}])
    page.click("form button[type=submit].primary")
    page.wait_for_selector("#problems")
    problems = page.locator("#problems td.message").all_inner_texts()
    assert all(any(p in text for text in problems) for p in PAYLOADS), problems
    assert_clean(page, "import dry run", status=422)
