"""``/health`` of a real service against a real, then stopped, then restarted PostgreSQL."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jmmc_core.app import create_service_app
from jmmc_core.database import Database
from jmmc_core.health import CheckResult
from jmmc_devtools.pgcluster import PostgresCluster, free_port
from oidb.config import Settings
from oidb.main import create_app


@pytest.fixture
def own_cluster():
    directory = Path(tempfile.mkdtemp(prefix="jmmc-test-health-"))
    cluster = PostgresCluster(directory, free_port())
    yield cluster
    cluster.stop()
    shutil.rmtree(directory, ignore_errors=True)


def client_for(url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, database_connect_timeout=1)))


def test_health_reports_database_latency(new_database):
    with client_for(new_database("health")) as client:
        for path in ("/health", "/oidb/health"):
            response = client.get(path)
            assert response.status_code == 200
            body = response.json()
            assert body["status"] == "ok"
            assert body["service"] == "oidb"
            assert body["version"] == "0.1.0"
            assert body["checks"]["database"]["status"] == "ok"
            assert body["checks"]["database"]["latency_ms"] >= 0


def test_service_starts_without_database_and_recovers(own_cluster):
    """Unreachable database: the service still starts, answers 503, then heals by itself."""
    with client_for(own_cluster.url()) as client:
        down = client.get("/health")
        assert down.status_code == 503
        assert down.json()["status"] == "fail"
        assert "error" in down.json()["checks"]["database"]

        own_cluster.start()
        assert client.get("/health").status_code == 200

        own_cluster.stop()
        assert client.get("/health").status_code == 503

        own_cluster.start()
        assert client.get("/health").status_code == 200


def test_request_id_is_returned_and_logged_as_json(new_database, capfd):
    with client_for(new_database("jsonlog")) as client:
        sent = client.get("/oidb/", headers={"X-Request-ID": "req-json-1"})
        fresh = client.get("/oidb/")
    assert sent.headers["x-request-id"] == "req-json-1"
    assert len(fresh.headers["x-request-id"]) == 32
    lines = [line for line in capfd.readouterr().err.splitlines() if "req-json-1" in line]
    event = json.loads(lines[-1])
    assert event["event"] == "request"
    assert event["request_id"] == "req-json-1"
    assert event["service"] == "oidb"
    assert event["status"] == 200
    assert event["path"] == "/oidb/"


@pytest.mark.parametrize(
    ("critical", "http_status", "status"), [(True, 503, "fail"), (False, 200, "degraded")]
)
def test_only_critical_checks_take_the_service_out(new_database, critical, http_status, status):
    """HAProxy routes on the HTTP status: a stale side job must not hide a working service."""
    settings = Settings(database_url=new_database("degraded"))
    failing = CheckResult(False, {"message": "behind"}, critical=critical)
    app = create_service_app(
        settings=settings,
        version="9.9",
        title="probe",
        database=Database(settings),
        checks={"side_job": lambda: failing},
    )
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == http_status
    assert response.json()["status"] == status
    assert response.json()["checks"]["side_job"] == {"status": "fail", "message": "behind"}
    assert response.json()["checks"]["database"]["status"] == "ok"
