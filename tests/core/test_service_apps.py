"""Every registered service has the platform's shape: the same error model, the same layout,
API documentation served without a network, whatever routes it has of its own."""

import importlib

import pytest
from fastapi.testclient import TestClient

from jmmc_devtools.pgcluster import free_port
from jmmc_devtools.registry import registered_services

SERVICES = registered_services()


@pytest.fixture(scope="module", params=SERVICES, ids=[service.name for service in SERVICES])
def service(request):
    """The service's app on a database that is not there: nothing here needs one."""
    registered = request.param
    package = importlib.import_module(f"{registered.name}.main")
    settings_class = importlib.import_module(f"{registered.name}.config").Settings
    settings = settings_class(
        database_url=f"postgresql+psycopg://jmmc@127.0.0.1:{free_port()}/none",
        environment="test",
        database_connect_timeout=1,
    )
    with TestClient(package.create_app(settings)) as client:
        yield registered.path, client


def test_home_page_for_browsers_and_json_for_scripts(service):
    path, client = service
    page = client.get(f"{path}/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'href="{path}/docs"' in page.text
    facts = client.get(f"{path}/").json()
    assert facts["docs"] == f"{path}/docs"


def test_api_documentation_is_served_by_the_service(service):
    path, client = service
    page = client.get(f"{path}/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert client.get(f"{path}/static/jmmc/swagger-ui-bundle.js").status_code == 200


def test_unknown_paths_answer_in_the_clients_format(service):
    path, client = service
    api = client.get(f"{path}/no/such/thing")
    assert api.status_code == 404 and "detail" in api.json()
    page = client.get(f"{path}/no/such/thing", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


def test_nul_characters_are_refused(service):
    path, client = service
    response = client.get(f"{path}/", params={"q": "\x00"})
    assert response.status_code == 400 and response.json()["parameter"] == "q"
