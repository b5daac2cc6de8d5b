"""Fixtures of the TAP tests.

One database per session holding every service's schema, migrated by the real CLIs (so
TAP_SCHEMA holds what the services publish), with obsportal's demo exposures; the read-only
login role ``tap_query`` that runs ADQL; a real ``tap serve`` and ``tap worker`` on it.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from jmmc_devtools.pgcluster import free_port
from jmmc_devtools.processes import serving
from jmmc_devtools.registry import service_names
from tap.config import Settings

from ..core.test_migrations import cli

#: The login role user queries run as: a member of tap_reader and of nothing else.
QUERY_ROLE = "tap_query"
BIN = Path(sys.executable).parent


def connect(url: str, **kwargs) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database,
        **kwargs,
    )  # fmt: skip


def ensure_query_role(url: str) -> None:
    with connect(url, autocommit=True) as connection:
        connection.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{QUERY_ROLE}')"
            f" THEN CREATE ROLE {QUERY_ROLE} LOGIN; END IF; END $$"
        )
        connection.execute(f"GRANT tap_reader TO {QUERY_ROLE}")
        database = make_url(url).database
        connection.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {QUERY_ROLE}')


@pytest.fixture(scope="session")
def tap_database(new_database) -> str:
    """Every service migrated (TAP_SCHEMA filled), obsportal's demo exposures ingested."""
    url = new_database("tap")
    for service in service_names():
        result = cli(service, url, "migrate")
        assert result.returncode == 0, result.stderr
    result = cli("obsportal", url, "ingest", "--demo")
    assert result.returncode == 0, result.stderr
    ensure_query_role(url)
    return url


@pytest.fixture(scope="session")
def tap_environment(tap_database, tmp_path_factory) -> dict[str, str]:
    """The ``TAP_*`` variables of a test deployment."""
    query_url = make_url(tap_database).set(username=QUERY_ROLE)
    return {
        "TAP_DATABASE_URL": tap_database,
        "TAP_QUERY_DATABASE_URL": query_url.render_as_string(hide_password=False),
        "TAP_ENVIRONMENT": "test",
        "TAP_LOG_LEVEL": "WARNING",
        "TAP_RESULTS_DIR": str(tmp_path_factory.mktemp("tap-results")),
        "TAP_UPLOAD_ALLOW_PRIVATE_URLS": "true",
    }


@pytest.fixture(scope="session")
def tap_settings(tap_environment) -> Settings:
    return Settings(
        **{key.removeprefix("TAP_").lower(): value for key, value in tap_environment.items()}
    )


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    @property
    def tap_url(self) -> str:
        return f"{self.url}/tap"


@contextmanager
def running_tap(environment: dict[str, str]) -> Iterator[Server]:
    """``tap serve`` on a free port, yielded once /health answers."""
    port = free_port()
    command = [str(BIN / "tap"), "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with serving(
        command, env={**os.environ, **environment}, health_url=f"{base}/health"
    ) as process:
        yield Server(base, process.pid)


@pytest.fixture(scope="session")
def tap_server(tap_environment) -> Iterator[Server]:
    """A real TAP web process (sync queries, VOSI, pages); async jobs need ``tap_service``."""
    with running_tap(tap_environment) as server:
        yield server


@pytest.fixture(scope="session")
def strict_tap_server(tap_environment) -> Iterator[Server]:
    """A TAP web process with tight limits: sync queries may run one second, and answer 10
    rows unless MAXREC says otherwise."""
    limits = {"TAP_SYNC_TIMEOUT_SECONDS": "1", "TAP_DEFAULT_MAXREC": "10"}
    with running_tap({**tap_environment, **limits}) as server:
        yield server


@pytest.fixture(scope="session")
def tap_service(tap_environment, tap_server) -> Iterator[Server]:
    """The web process plus one ``tap worker`` running async jobs."""
    with serving([str(BIN / "tap"), "worker"], env={**os.environ, **tap_environment}):
        yield tap_server
