"""The worker page as an installable app: its manifest and icons, its service worker served
from the site's root and named for the assets, and nothing of a session kept by it."""

import io
import json
import re

import brotli
import pytest
from PIL import Image

from tests.support import IMMUTABLE, add, asset_links, fingerprinted, make_app, pages, signed_in
from web import offline
from web.static import bundle_fingerprint


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("offline"), SEED_DEMO=True)


@pytest.fixture
def client(app):
    return app.test_client()


def manifest_of(client, page: str) -> dict:
    """The manifest a page links."""
    (href,) = re.findall(r'<link rel="manifest" href="([^"]+)"', client.get(page).text)
    response = client.get(href.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    return response.get_json(force=True)


@pytest.mark.parametrize("lang, name", [("zh", "驿站"), ("en", "Yizhan")])
def test_the_worker_page_links_a_manifest_in_its_language(client, lang, name):
    manifest = manifest_of(client, f"/?region=nanjing&lang={lang}")
    assert manifest["short_name"] == name
    assert manifest["name"].startswith(name)
    assert manifest["lang"] == ("zh-CN" if lang == "zh" else "en")
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == offline.THEME_COLOUR


def test_the_manifests_icons_are_fingerprinted_pngs_of_their_sizes_and_the_svg(client):
    icons = manifest_of(client, "/?region=nanjing")["icons"]
    assert {icon["sizes"] for icon in icons} == {"192x192", "512x512", "any"}
    for icon in icons:
        response = client.get(icon["src"])
        assert fingerprinted(icon["src"]) and response.status_code == 200
        assert response.mimetype == icon["type"]
        assert response.headers["Cache-Control"] == IMMUTABLE
        if icon["type"] == "image/png":
            image = Image.open(io.BytesIO(response.data))
            assert f"{image.width}x{image.height}" == icon["sizes"]


def test_the_manifest_is_compressed_and_asked_for_again_each_time(client):
    plain = client.get("/manifest.webmanifest")
    packed = client.get("/manifest.webmanifest", headers={"Accept-Encoding": "br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(packed.data)) == plain.get_json(force=True)
    assert plain.headers["Cache-Control"] == "no-cache"
    again = client.get("/manifest.webmanifest", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


def test_the_service_worker_is_served_from_the_root_named_for_the_assets(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    version = offline.cache_version()
    assert f'const CACHE = "{version}";' in response.text
    assert version == "yizhan-" + "-".join(
        bundle_fingerprint(b) for b in ("static", "leaflet", "markercluster"))


def test_a_new_deploy_serves_a_new_service_worker_with_a_new_cache(client, monkeypatch):
    before = client.get("/sw.js").text
    monkeypatch.setattr(offline, "bundle_fingerprint", lambda bundle: "0123456789ab")
    after = client.get("/sw.js").text
    assert before != after
    assert 'const CACHE = "yizhan-0123456789ab-0123456789ab-0123456789ab";' in after


def test_the_service_worker_and_its_registration_satisfy_the_content_security_policy(client):
    page = client.get("/?region=nanjing").text
    assert "<script>" not in page and "serviceWorker" not in page  # no inline script
    (script,) = [url for url in asset_links(client, "/?region=nanjing")
                 if url.endswith("/offline.js")]
    assert "register(\"/sw.js\")" in client.get(script).text  # same origin: script-src 'self'
    assert "importScripts" not in client.get("/sw.js").text


def test_the_stations_are_preloaded_at_the_address_the_page_asks(client):
    page = client.get("/?region=nanjing&lang=en").text
    assert ('<link rel="preload" href="/api/v1/stations?region=nanjing&amp;lang=en" as="fetch" '
            'crossorigin>') in page
    (script,) = [url for url in asset_links(client, "/") if url.endswith("/worker.js")]
    asked = "/api/v1/stations?region=${encodeURIComponent(config.region)}&lang=${config.lang}"
    assert asked in client.get(script).text


def test_answers_to_a_session_are_private_and_never_stored(app):
    staff = signed_in(app, "staff", "offline-staff")
    station = add(app, "离线检查驿站")
    for path in [*pages(station), "/api/v1/stations?region=nanjing"]:
        response = staff.get(path)
        assert response.headers["Cache-Control"] == "private, no-store", path


def test_answers_without_a_session_are_not_marked_private(client):
    for path in ["/?region=nanjing", "/api/v1/stations?region=nanjing"]:
        response = client.get(path)
        assert "Set-Cookie" not in response.headers or "session" not in response.headers[
            "Set-Cookie"]
        assert "no-store" not in response.headers.get("Cache-Control", ""), path

