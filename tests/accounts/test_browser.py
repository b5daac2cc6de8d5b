"""One sign-in for the whole platform: a headless Chromium signs in on jmdc through HAProxy
and is then signed in on oidb, with the demo account ``make up`` creates."""

import re

from playwright.sync_api import expect

from jmmc_devtools.platform import DEMO_ACCOUNTS
from tests.platform_fixture import local_platform  # noqa: F401  (shared session fixture)

ASTRONOMER = next(account for account in DEMO_ACCOUNTS if account.username == "astronomer")


def test_sign_in_on_jmdc_is_a_sign_in_on_oidb(local_platform, page):  # noqa: F811
    base = local_platform.public_url
    page.goto(f"{base}/oidb/account")  # not signed in: sent to oidb's sign-in page
    expect(page).to_have_url(re.compile(r"/oidb/account/signin\?next=%2Foidb%2Faccount$"))

    page.goto(f"{base}/jmdc/account/signin")
    page.fill("#username", ASTRONOMER.username)
    page.fill("#password", ASTRONOMER.password)
    page.click("#signin-form button[type=submit]")
    expect(page).to_have_url(f"{base}/jmdc/account")
    expect(page.locator("#account-username")).to_have_text("astronomer")

    page.goto(f"{base}/oidb/account")
    expect(page.locator("#account-username")).to_have_text("astronomer")
    expect(page.locator("#account-roles")).to_have_text("submitter")
    expect(page.locator("#account-groups")).to_have_text("demo-group")

    session = next(c for c in page.context.cookies() if c["name"] == "jmmc_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/"
    assert "jmmc_session" not in page.evaluate("document.cookie")  # out of scripts' reach

    # A token made on oidb's page works on jmdc's API: one account everywhere.
    page.fill("#token-name", "browser-test")
    page.click("#new-token-form button[type=submit]")
    token = page.locator("#new-token").inner_text()
    me = page.request.get(f"{base}/jmdc/api/account", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200 and me.json()["username"] == "astronomer"

    # Signing out on oidb signs out everywhere.
    page.goto(f"{base}/oidb/account")
    page.click("#signout-form button[type=submit]")
    page.goto(f"{base}/jmdc/account")
    expect(page).to_have_url(re.compile(r"/jmdc/account/signin\?next=%2Fjmdc%2Faccount$"))
