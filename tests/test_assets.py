"""Light pages: compressed answers, assets at fingerprinted URLs kept for a year, a favicon."""

import gzip
import json
import re
from urllib.parse import urljoin

import brotli
import pytest

from tests.support import IMMUTABLE, add, asset_links, fingerprinted, make_app, pages, signed_in
from web.static import BUNDLES, bundle_fingerprint, content_hash


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("assets"), SEED_DEMO=True)


@pytest.fixture(scope="module")
def staff(app):
    return signed_in(app, "admin", "assets-admin")


@pytest.fixture
def client(app):
    return app.test_client()


# --- compression -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/?region=nanjing", "/api/v1/stations?region=nanjing",
                                  "/vendor/leaflet/leaflet.js"])
def test_pages_data_and_scripts_come_gzipped_to_a_client_that_asks_and_plain_otherwise(
        client, path):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    for response in (plain, packed):
        assert "Accept-Encoding" in response.headers["Vary"]


def test_a_client_that_takes_brotli_gets_brotli(client):
    plain = client.get("/vendor/leaflet/leaflet.js")
    packed = client.get("/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data


@pytest.mark.parametrize("encoding, most_bytes", [("gzip", 43_000), ("br", 41_000)])
def test_leaflet_travels_in_under_a_third_of_its_size(client, encoding, most_bytes):
    plain = client.get("/vendor/leaflet/leaflet.js")
    packed = client.get("/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": encoding})
    assert len(plain.data) == 146_715
    assert len(packed.data) < most_bytes


@pytest.mark.parametrize("path, mimetype", [
    ("/api/v1/gaps?region=nanjing", "application/geo+json"),
    ("/api/v1/cells.csv?region=nanjing", "text/csv"),
    ("/planner/chart.svg?region=nanjing", "image/svg+xml"),
    ("/static/yizhan.css", "text/css"),
])
def test_geojson_csv_svg_and_styles_are_compressed(client, path, mimetype):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert packed.status_code == 200 and packed.mimetype == mimetype
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data)[:100] == plain.data[:100]  # the chart names its time


def test_a_staff_export_is_compressed_as_text_or_sent_as_it_is(staff):
    csv = staff.get("/staff/export?region=nanjing&format=csv", headers={"Accept-Encoding": "gzip"})
    sheet = staff.get("/staff/export?region=nanjing&format=xlsx",
                      headers={"Accept-Encoding": "gzip"})
    assert csv.status_code == sheet.status_code == 200
    assert csv.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(csv.data).decode("utf-8-sig").startswith("编号,")
    assert sheet.data.startswith(b"PK") and "Content-Encoding" not in sheet.headers


@pytest.mark.parametrize("path, magic", [
    ("/planner/chart.png?region=nanjing", b"\x89PNG"),
    ("/api/v1/gaps?region=nanjing&format=gpkg", b"SQLite format 3"),
    ("/vendor/leaflet/images/layers-2x.png", b"\x89PNG"),
])
def test_already_compressed_downloads_are_sent_as_they_are(client, path, magic):
    response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.data.startswith(magic)
    assert "Content-Encoding" not in response.headers


def test_a_map_tile_keeps_its_own_gzip_and_is_not_compressed_twice(client):
    packed = client.get("/planner/tiles/cells/15/27195/13301.json?region=nanjing",
                        headers={"Accept-Encoding": "gzip, br"})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.data))["type"] == "FeatureCollection"


def test_small_answers_are_not_compressed(client):
    response = client.get("/static/favicon.svg", headers={"Accept-Encoding": "gzip"})
    assert response.mimetype == "image/svg+xml" and len(response.data) < 500
    assert "Content-Encoding" not in response.headers


# --- fingerprinted assets ----------------------------------------------------------------------

def test_every_asset_a_page_links_is_fingerprinted_and_kept_for_a_year(app, staff):
    station = add(app, "指纹检查驿站")
    links = {url for path in pages(station) for url in asset_links(staff, path)}
    assert len(links) >= 12  # stylesheets, scripts and the icon of all pages
    assert [url for url in links if not fingerprinted(url)] == []
    for url in links:
        response = staff.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url


def test_leaflets_stylesheet_images_resolve_under_the_same_fingerprint(client):
    (css,) = [url for url in asset_links(client, "/planner?region=nanjing")
              if url.endswith("leaflet.css")]
    images = re.findall(r"url\(([^)]+\.png)\)", client.get(css).text)
    assert {"images/layers.png", "images/marker-icon.png"} <= set(images)
    for image in images:
        response = client.get(urljoin(css, image))
        assert response.status_code == 200, image
        assert response.mimetype == "image/png"
        assert response.headers["Cache-Control"] == IMMUTABLE


@pytest.mark.parametrize("url", ["/static/yizhan.css", "/static/000000000000/yizhan.css",
                                 "/vendor/leaflet/leaflet.js",
                                 "/vendor/leaflet/ffffffffffff/leaflet.js"])
def test_an_asset_without_its_current_fingerprint_still_answers_but_briefly_cached(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("encoding", ["", "gzip", "br"])
def test_a_briefly_cached_asset_is_revalidated_without_sending_it_again(client, encoding):
    first = client.get("/static/yizhan.css", headers={"Accept-Encoding": encoding})
    again = client.get("/static/yizhan.css", headers={"Accept-Encoding": encoding,
                                                      "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("url", ["/vendor/nothing/x.js", "/vendor/static/yizhan.css",
                                 "/static/no-such.css", "/static/../__init__.py"])
def test_unknown_assets_are_not_found(client, url):
    assert client.get(url).status_code == 404


def test_changing_a_files_content_changes_its_fingerprint(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "app.js").write_text("console.log(1);")
    (tmp_path / "images" / "icon.svg").write_text("<svg/>")
    first = content_hash(tmp_path)
    assert content_hash(tmp_path) == first
    (tmp_path / "images" / "icon.svg").write_text("<svg></svg>")
    second = content_hash(tmp_path)
    (tmp_path / "app.js").write_text("console.log(2);")
    third = content_hash(tmp_path)
    assert len({first, second, third}) == 3
    assert all(re.fullmatch(r"[0-9a-f]{12}", value) for value in (first, second, third))


def test_each_bundle_has_its_own_fingerprint():
    assert len({bundle_fingerprint(bundle) for bundle in BUNDLES}) == len(BUNDLES)


# --- favicon -----------------------------------------------------------------------------------

def test_the_favicon_is_a_fingerprinted_svg_that_favicon_ico_leads_to(client):
    (icon,) = [url for url in asset_links(client, "/") if url.endswith("favicon.svg")]
    assert fingerprinted(icon)
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 302 and redirect.headers["Location"] == icon
    response = client.get("/favicon.ico", follow_redirects=True)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg") and len(response.data) < 500
