"""Pages and the API documentation with no network: every file a page needs comes from the service.

The machine reaches nothing but loopback, so a page loading anything from a CDN would break
here; the requests the browser sends are recorded as well, to name the one that left.
"""

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from jmmc_core.accounts import services as accounts
from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.accounts.dependencies import SESSION_COOKIE
from jmmc_core.accounts.migrations import MIGRATIONS
from jmmc_core.database import Database
from jmmc_core.migrations import upgrade_to_head
from obsportal import __version__


@pytest.fixture
def requests_seen(page: Page) -> Iterator[list[str]]:
    """Every URL the page asks for, and a check that each failed none and stayed on the server."""
    urls: list[str] = []
    failed: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda response: response.ok or failed.append(response.url))
    yield urls
    assert not failed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_api_documentation_lists_the_operations(golden_service, page, requests_seen):
    page.goto(f"{golden_service}/obsportal/docs")
    operation = page.locator('.opblock-summary-path[data-path="/obsportal/api/exposures"]')
    expect(operation).to_be_visible()
    assert page.locator(".opblock").count() > 5
    assert {_origin(url) for url in requests_seen} == {golden_service}


def test_a_page_in_the_platform_layout(golden_service, page, requests_seen):
    page.goto(f"{golden_service}/obsportal/search?q=IRS9A")
    header = page.locator("#platform-header")
    expect(header).to_contain_text("JMMC data services")
    expect(page.locator("#platform-services a")).to_have_text(["ObsPortal", "JMDC", "OiDB", "TAP"])
    expect(page.locator("#platform-services a.current")).to_have_text("ObsPortal")
    expect(page.locator("#signin")).to_have_attribute(
        "href", "/obsportal/account/signin?next=/obsportal/search%3Fq%3DIRS9A"
    )
    expect(page.locator("#service-version")).to_have_text(f"obsportal {__version__}")
    expect(page.locator("#summary")).to_contain_text("exposures")
    # Both stylesheets apply: the platform's header and ObsPortal's search form.
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(17, 34, 51)"
    assert page.locator("form.search").evaluate("e => getComputedStyle(e).display") == "flex"
    assert {_origin(url) for url in requests_seen} == {golden_service}


def test_an_error_in_the_platform_layout(golden_service, page):
    response = page.goto(f"{golden_service}/obsportal/target/12345678")
    assert response is not None and response.status == 404
    expect(page.locator("#error-title")).to_have_text("Not Found")
    expect(page.locator("#error")).to_contain_text("12345678")
    expect(page.locator("#platform-services a")).to_have_count(4)

    response = page.goto(f"{golden_service}/obsportal/search?q=IRS9A&page=zero")
    assert response is not None and response.status == 400
    expect(page.locator("#error")).to_contain_text("page")


@pytest.fixture(scope="module")
def session_cookie(golden_database) -> str:
    """A web session of the user ``pages-reader`` on the platform's accounts."""
    settings = AccountsSettings(database_url=golden_database, environment="test")
    upgrade_to_head(settings, MIGRATIONS)
    database = Database(settings)
    with database.session() as session:
        user = accounts.create_user(session, "pages-reader", password="a long passphrase")
        session_id, _ = accounts.open_session(session, user, timedelta(hours=1))
    database.dispose()
    return session_id


def test_the_signed_in_user_in_the_header(golden_service, page, session_cookie):
    page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": session_cookie, "url": golden_service}]
    )
    for path in ("/obsportal/search", "/obsportal/target/12345678"):
        page.goto(f"{golden_service}{path}")
        expect(page.locator("#account-link")).to_have_text("pages-reader")
        expect(page.locator("#signin")).to_have_count(0)
