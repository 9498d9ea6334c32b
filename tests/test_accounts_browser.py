"""The accounts page in headless Chromium, offline, on a phone and on a desk: every account's
state fits the screen without sideways scrolling, and a password reset shows the temporary
password, which the account must change at its next sign-in."""

import re
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, OUTPUT, offline_page, serving_with_staff
from tests.support import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with an admin, a staff account with a token, a locked and a deactivated one."""
    with serving_with_staff(tmp_path_factory.mktemp("accounts-browser"), "wang",
                            PASSWORD) as (base, app):
        accounts = app.extensions["accounts"]
        accounts.add_user("zhao", PASSWORD, "admin")
        accounts.add_user("李强", PASSWORD, "viewer")
        accounts.add_user("qian.ming@union.example", PASSWORD, "staff")
        accounts.issue_token("wang")
        accounts.issue_token("zhao")
        accounts.issue_token("zhao")
        for _ in range(5):
            try:
                accounts.authenticate("李强", "wrong password")
            except Exception:
                pass
        accounts.deactivate("qian.ming@union.example", actor="zhao")
        yield base, app


def sign_in(page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(base + "/sign-in?lang=zh")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#sign-in-form button[type=submit]")


@pytest.mark.parametrize(("width", "height", "shot"), [(360, 740, "phone"),
                                                        (1280, 800, "desktop")])
def test_the_accounts_page_fits_the_screen_and_a_reset_shows_the_temporary_password(
        server, width, height, shot):
    base, app = server
    with offline_page(playwright_api, base, {"width": width, "height": height}) as page:
        sign_in(page, base, "zhao")
        page.wait_for_url(re.compile(r"/staff(\?|$)"))
        page.goto(base + "/staff/users?lang=zh")
        assert page.locator("#users tbody tr").count() == 4
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=f"/tmp/admin-{shot}.png", full_page=True)
        row = page.locator("#users tbody tr", has_text="wang")
        row.locator("button", has_text="重置密码").click()
        temporary = page.locator("#temporary code").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"admin-reset-{shot}.png"), full_page=True)
        assert page.errors == [] and page.outside == []
    with offline_page(playwright_api, base, {"width": width, "height": height}) as page:
        sign_in(page, base, "wang", temporary)
        page.wait_for_url(re.compile(r"/account/password"))
        page.goto(base + "/staff")
        assert page.url.endswith("/account/password")
        new = f"a password of my own {shot}"
        page.fill("#current", temporary)
        page.fill("#password", new)
        page.fill("#repeat", new)
        page.click("#password-form button[type=submit]")
        page.wait_for_url(re.compile(r"/staff(\?|$)"))
    assert app.extensions["accounts"].authenticate("wang", new).username == "wang"
