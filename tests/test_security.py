"""Security headers on every response, and pages that a strict Content-Security-Policy lets
work: no inline script, no inline style or event handler, no script address from data."""

from html.parser import HTMLParser

import pytest

from tests.support import add, make_app, pages, signed_in
from web.security import content_security_policy, tile_origin

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
DIRECTIVES = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
              "base-uri 'self'", "frame-ancestors 'none'", "form-action 'self'",
              "img-src 'self' data:"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("security"))
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture(scope="module")
def staff(app):
    return signed_in(app, "admin", "security-admin")


@pytest.fixture(scope="module")
def station(app):
    return add(app, "安全检查驿站")


def test_every_response_carries_the_security_headers(app, staff, station):
    anonymous = app.test_client()
    responses = [staff.get(path) for path in pages(station)] + [
        anonymous.get("/api/v1/regions"),
        anonymous.get("/api/v1/nearest?lat=95&lon=118"),  # 400 JSON
        anonymous.get("/no-such-page"),
        anonymous.get("/static/planner.js"),
        anonymous.get("/vendor/leaflet/leaflet.js"),
        anonymous.get("/planner/chart.svg?region=nanjing"),
        anonymous.get("/staff"),  # sent to sign in
        anonymous.post("/sign-out"),  # no CSRF token
    ]
    assert {r.status_code for r in responses} >= {200, 302, 400, 404}
    for response in responses:
        for name, value in HEADERS.items():
            assert response.headers[name] == value, (response.request.path, name)
        policy = response.headers["Content-Security-Policy"]
        assert all(directive in policy for directive in DIRECTIVES), policy
        assert "unsafe" not in policy
        assert "geolocation=(self)" in response.headers["Permissions-Policy"]


@pytest.mark.parametrize("setting, hsts", [(None, "max-age=31536000"), ("1", "max-age=31536000"),
                                           ("0", None)])
def test_https_is_required_for_a_year_unless_secure_cookies_are_turned_off(
        tmp_path, monkeypatch, setting, hsts):
    if setting is None:
        monkeypatch.delenv("YIZHAN_SECURE_COOKIES", raising=False)
    else:
        monkeypatch.setenv("YIZHAN_SECURE_COOKIES", setting)
    client = make_app(tmp_path).test_client()
    for response in (client.get("/"), client.get("/api/v1/regions"), client.get("/nowhere")):
        assert response.headers.get("Strict-Transport-Security") == hsts


def test_the_policy_lets_images_come_from_the_configured_tile_server(tmp_path):
    app = make_app(tmp_path, TILES_URL="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    policy = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tile.example.org;" in policy
    assert "img-src 'self' data:;" in content_security_policy("")


@pytest.mark.parametrize("template, origin", [
    ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
    ("https://tiles.example.org:8443/{z}/{x}/{y}.png", "https://tiles.example.org:8443"),
    ("https://webrd0{s}.is.example.com/tile?x={x}&y={y}&z={z}", "https://*.is.example.com"),
    ("http://tiles.{s}.example.org/{z}/{x}/{y}.png", "http:"),
    ("", ""),
])
def test_a_tile_template_gives_the_origin_of_its_server(template, origin):
    assert tile_origin(template) == origin


class _Markup(HTMLParser):
    """What a page has that a strict policy refuses or that could run as code."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._inline = "src" not in values and values.get("type") != "application/json"
        if tag == "style":
            self.refused.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.refused.append(f"<{tag} {name}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.refused.append(f"<{tag} {name}={value}>")

    def handle_data(self, data: str) -> None:
        if self._inline and data.strip():
            self.refused.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline = False


def test_no_page_has_inline_script_style_or_handlers(staff, station):
    for path in pages(station):
        response = staff.get(path)
        assert response.status_code == 200, path
        markup = _Markup()
        markup.feed(response.text)
        assert markup.refused == [], path
