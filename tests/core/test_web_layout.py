"""The shared page layout of ``jmmc_core.web``: header, sign-in slot, footer, error pages."""

from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from jmmc_core.settings import PlatformLink, ServiceSettings
from jmmc_core.web import add_template_folder, error_page, install_web, render

LINKS = [PlatformLink(title="Diameters", url="/jmdc/"), PlatformLink(title="Tables", url="/tap/")]


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    templates = tmp_path_factory.mktemp("templates")
    (templates / "hello.html").write_text(
        '{% extends "jmmc/base.html" %}{% block content %}<p id="hello">{{ who }}</p>{% endblock %}'
    )
    add_template_folder(Path(templates))
    settings = ServiceSettings(
        service_name="jmdc", platform_name="Test platform", platform_links=LINKS
    )
    app = FastAPI(title="JMDC", docs_url=None, openapi_url="/jmdc/openapi.json")
    install_web(app, settings, "9.8.7")

    @app.get("/jmdc/hello")
    def hello(request: Request, who: str, signed_in: str | None = None):
        if signed_in:  # what the accounts' middleware leaves for the layout
            request.state.user = SimpleNamespace(username=signed_in)
        return render(request, "hello.html", who=who)

    @app.get("/jmdc/teapot")
    def teapot(request: Request):
        return error_page(request, 418, "short and <stout>")

    return TestClient(app)


def _html(response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def test_a_page_in_the_layout(client):
    page = _html(client.get("/jmdc/hello", params={"who": "<b>you</b>"}))
    assert page.select_one("#hello").text == "<b>you</b>"  # escaped, shown as typed
    assert page.select_one("#platform-header .platform-name").text == "Test platform"
    links = [(a.text, a["href"]) for a in page.select("#platform-services a")]
    assert links == [("Diameters", "/jmdc/"), ("Tables", "/tap/")]
    assert page.select_one("#platform-services a.current").text == "Diameters"
    signin = urlsplit(page.select_one("#signin")["href"])
    assert signin.path == "/jmdc/account/signin"  # and back here afterwards:
    assert parse_qs(signin.query)["next"] == ["/jmdc/hello?who=%3Cb%3Eyou%3C%2Fb%3E"]
    assert page.select_one("#service-version").text == "jmdc 9.8.7"
    stylesheet = page.select_one("link[rel=stylesheet]")["href"]
    assert client.get(stylesheet).headers["content-type"].startswith("text/css")


def test_the_signed_in_user_replaces_the_sign_in_link(client):
    page = _html(client.get("/jmdc/hello", params={"who": "x", "signed_in": "astronomer"}))
    assert page.select_one("#signin") is None
    account = page.select_one("#account-link")
    assert (account.text, account["href"]) == ("astronomer", "/jmdc/account")


def test_an_error_page(client):
    response = client.get("/jmdc/teapot")
    assert response.status_code == 418
    page = _html(response)
    assert page.select_one("#error-title").text == "I'm a Teapot"
    assert page.select_one("#error").text == "short and <stout>"
    assert page.select_one("#platform-header") is not None


def test_api_documentation_from_local_files(client):
    page = _html(client.get("/jmdc/docs"))  # Swagger UI, its files served here
    sources = [tag["src"] for tag in page.select("script[src]")]
    sources += [tag["href"] for tag in page.select("link[href]")]
    assert len(sources) == 3
    for source in sources:
        assert source.startswith("/jmdc/static/jmmc/")
        assert client.get(source).status_code == 200
    assert "url: '/jmdc/openapi.json'" in client.get("/jmdc/docs").text
