"""A station's own page at /s/<id>: everything about it without the map, in the page's
language, every text escaped, and a 404 page in the worker's language for an unknown id."""

from datetime import date

import pytest

from geo.stations import Station
from web import create_app

MALICIOUS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('page')}/y.db"})
    app.testing = True
    return app


@pytest.fixture(scope="module")
def station(app):
    return app.extensions["atlas"].store.add(Station(
        name="新街口爱心驿站", region="nanjing", kind="love_station", lon=118.7790, lat=32.0418,
        address="中山路 1 号", host="中国银行", phone="025-8888 6666",
        amenities=("drinking_water", "toilet"), opening_hours="Mo-Fr 09:00-17:00",
        smart_24h=True, verified_on=date(2026, 11, 3)))


def page_text(app, url: str, status: int = 200) -> str:
    response = app.test_client().get(url)
    assert response.status_code == status, url
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_the_page_tells_everything_about_the_station_in_chinese(app, station):
    html = page_text(app, f"/s/{station.id}?lang=zh")
    for shown in ("新街口爱心驿站", "户外劳动者爱心驿站", "周一至周五 09:00–17:00", "中山路 1 号",
                  "中国银行", "饮用水", "卫生间", "24 小时智慧驿站", "最近核实：2026-11-03",
                  'href="tel:02588886666"', "uri.amap.com/navigation"):
        assert shown in html, shown
    assert "leaflet" not in html  # it needs no map


def test_the_page_in_english(app, station):
    html = page_text(app, f"/s/{station.id}?lang=en")
    for shown in ("Mon–Fri 09:00–17:00", "drinking water", "toilet", "24-hour smart station",
                  "Last verified 2026-11-03", "outdoor-worker love station"):
        assert shown in html, shown


def test_every_text_of_the_station_is_escaped(app):
    evil = app.extensions["atlas"].store.add(Station(
        name=MALICIOUS, region="nanjing", kind="courier_home", lon=118.78, lat=32.04,
        address=MALICIOUS, host=MALICIOUS))
    html = page_text(app, f"/s/{evil.id}?lang=en")
    assert "<script>window" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;window.__xss=1&lt;/script&gt;") >= 3  # title, name, ...


def test_a_suspended_station_says_so_whatever_its_hours(app):
    store = app.extensions["atlas"].store
    paused = store.add(Station(name="暂停的驿站", region="nanjing", kind="love_station",
                               lon=118.78, lat=32.04, opening_hours="24/7", status="suspended"))
    html = page_text(app, f"/s/{paused.id}?lang=en")
    assert '<span class="badge is-closed">suspended</span>' in html
    assert "open 24 hours" not in html


@pytest.mark.parametrize(("url", "language", "words"), [
    ("/s/999999?lang=zh", "zh-CN", "没有这个驿站"),
    ("/s/999999?lang=en", "en", "No such station"),
    ("/s/not-a-number?lang=en", "en", "No such station"),
    ("/s/99999999999999999999999?lang=en", "en", "No such station"),  # past SQLite's integers
])
def test_an_unknown_station_is_a_404_page_in_the_workers_language(app, url, language, words):
    html = page_text(app, url, 404)
    assert f'lang="{language}"' in html and words in html


def test_a_deleted_station_is_a_404(app):
    store = app.extensions["atlas"].store
    gone = store.add(Station(name="拆除的驿站", region="nanjing", kind="love_station",
                             lon=118.78, lat=32.04))
    store.delete(gone.id, gone.version)
    assert "没有这个驿站" in page_text(app, f"/s/{gone.id}?lang=zh", 404)


def test_favicon_ico_leads_to_the_icon_on_every_page(app, station):
    client = app.test_client()
    assert client.get("/favicon.ico", follow_redirects=True).status_code == 200
    assert 'rel="icon"' in page_text(app, f"/s/{station.id}")
