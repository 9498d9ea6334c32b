"""The worker pages for everyone, in headless Chromium on a phone, in both languages: axe-core
finds no serious or critical violation on the worker page (before and after an answer, and with
the reach areas drawn) or on a station page; pinch-zoom is never blocked; text at 200 % does not
make the page wider than the screen; answers are announced to screen readers; and the place
search is used with the keyboard alone."""

import base64
import hashlib
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, PHONE, offline_page, overflow, serving, tap_map

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)

#: axe-core, vendored (see tests/data/axe-core/README.md), and its published integrity.
AXE = Path(__file__).resolve().parent / "data" / "axe-core" / "axe.min.js"
AXE_SHA256 = "KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="

#: The impacts a page must not have.
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free loopback port, for the whole module."""
    from web import create_app

    folder = tmp_path_factory.mktemp("a11y")
    with serving(create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db"})) as base:
        yield base


@pytest.fixture
def phone(server):
    """An offline page on a 360 × 640 screen."""
    with offline_page(playwright_api, server, PHONE) as page:
        yield page


def violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page (WCAG 2 A and AA and best
    practice), each as ``rule: target …``."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""() => axe.run(document, {
        runOnly: {type: 'tag',
                  values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    }).then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact,
        targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)})))""")
    return [f"{v['id']} ({v['impact']}): {' | '.join(v['targets'])}"
            for v in found if v["impact"] in BLOCKING]


def station_id(page) -> int:
    return page.evaluate("fetch('/api/v1/stations').then((r) => r.json())"
                         ".then((b) => b.features[0].properties.id)")


def test_the_vendored_axe_core_is_the_published_file():
    digest = base64.b64encode(hashlib.sha256(AXE.read_bytes()).digest()).decode()
    assert digest == AXE_SHA256


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_axe_finds_no_serious_violation_on_the_worker_page(server, phone, lang):
    phone.goto(f"{server}/?lang={lang}")
    phone.wait_for_selector(".leaflet-marker-icon")
    assert violations(phone) == []
    tap_map(phone)
    assert violations(phone) == []
    phone.click("#reach")
    phone.wait_for_selector(".reach-band")
    assert violations(phone) == []
    assert phone.errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_axe_finds_no_serious_violation_on_a_station_page(server, phone, lang):
    phone.goto(f"{server}/?lang={lang}")
    phone.goto(f"{server}/s/{station_id(phone)}?lang={lang}")
    assert violations(phone) == []


def test_pinch_zoom_is_never_blocked(server, phone):
    for path in ("/", "/s/1", "/planner"):
        phone.goto(server + path)
        viewport = phone.locator("meta[name=viewport]").get_attribute("content").replace(" ", "")
        assert "user-scalable=no" not in viewport and "user-scalable=0" not in viewport
        assert "maximum-scale" not in viewport


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_text_at_200_percent_does_not_overflow(server, phone, lang):
    phone.goto(f"{server}/?lang={lang}")
    phone.evaluate("document.documentElement.style.fontSize = '200%'")
    tap_map(phone)
    assert overflow(phone) <= 0
    phone.goto(f"{server}/s/{station_id(phone)}?lang={lang}")
    phone.evaluate("document.documentElement.style.fontSize = '200%'")
    assert overflow(phone) <= 0


def test_the_answer_is_announced_to_screen_readers(server, phone):
    phone.goto(f"{server}/?lang=en")
    assert phone.locator("#results").get_attribute("aria-live") == "polite"
    assert phone.locator("#status").get_attribute("role") == "status"
    tap_map(phone)
    assert phone.locator("#results[aria-live=polite] .result").count() == 3


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_place_search_works_with_the_keyboard(server, phone, lang):
    phone.goto(f"{server}/?lang={lang}")
    search = phone.locator("#place")
    assert search.get_attribute("role") == "combobox"
    search.focus()
    phone.keyboard.type("中山")
    phone.wait_for_selector("#place-results [role=option]")
    assert search.get_attribute("aria-expanded") == "true"
    phone.keyboard.press("ArrowDown")
    phone.keyboard.press("ArrowDown")
    second = phone.locator("#place-results [role=option]").nth(1)
    assert search.get_attribute("aria-activedescendant") == second.get_attribute("id")
    assert second.get_attribute("aria-selected") == "true"
    phone.keyboard.press("ArrowUp")
    first = phone.locator("#place-results [role=option]").first
    name = first.inner_text()
    phone.keyboard.press("Enter")
    phone.wait_for_selector(".result")
    assert search.input_value() == name
    assert search.get_attribute("aria-expanded") == "false"
    assert phone.evaluate("document.activeElement.id") == "place"
