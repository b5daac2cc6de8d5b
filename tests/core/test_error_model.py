"""The platform's error model, seen by clients: every route family answers in its own format,
and a database that cannot be reached is a 503 that says nothing about where it is."""

import pytest
from fastapi.testclient import TestClient

from jmmc_devtools.pgcluster import free_port
from obsportal.config import Settings
from obsportal.main import create_app


@pytest.fixture(scope="module")
def without_database():
    port = free_port()
    settings = Settings(
        database_url=f"postgresql+psycopg://secret_role@127.0.0.1:{port}/hidden_db",
        environment="test",
        database_connect_timeout=1,
    )
    with TestClient(create_app(settings)) as client:
        yield client, str(port)


def _leaks(text: str, port: str) -> list[str]:
    return [
        word for word in (port, "secret_role", "hidden_db", "psycopg", "Traceback") if word in text
    ]


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/obsportal/api/exposures", "application/json"),
        ("/obsportal/api/targets/1", "application/json"),
        ("/obsportal/search.votable?ra=10&dec=10", "application/x-votable+xml"),
        ("/obsportal/scs?RA=10&DEC=10&SR=1", "application/x-votable+xml"),
        ("/obsportal/export.csv", "application/json"),
        ("/obsportal/search?q=HD+1", "text/html"),
        ("/obsportal/detail/exposure/X", "text/html"),
    ],
)
def test_database_down_is_a_generic_503_in_the_routes_format(without_database, path, media_type):
    client, port = without_database
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(media_type)
    assert "temporarily unavailable" in response.text
    assert _leaks(response.text, port) == []


def test_health_says_the_database_is_unreachable_without_saying_where(without_database):
    client, port = without_database
    response = client.get("/obsportal/health")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "fail"
    assert _leaks(response.text, port) == []


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/obsportal/api/exposures?page=0", "application/json"),
        ("/obsportal/scs?RA=0&DEC=0&SR=100", "application/x-votable+xml"),
        ("/obsportal/search.votable?ra=%00", "application/x-votable+xml"),
        ("/obsportal/no-such-page", "application/json"),
    ],
)
def test_bad_input_is_refused_before_the_database(without_database, path, media_type):
    client, _ = without_database
    response = client.get(path)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(media_type)


def test_a_browser_gets_an_html_404(without_database):
    client, _ = without_database
    response = client.get("/obsportal/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_nul_characters_in_forms_and_json_are_a_400(without_database):
    client, _ = without_database
    form = client.post("/obsportal/search.votable", data={"target": "HD\x00"})
    assert form.status_code == 400 and b"target: must not contain NUL" in form.content
