"""Every service migrates its own schema, and its migrations match its models."""

import importlib
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from jmmc_core.migrations import schema_differences
from jmmc_devtools.registry import service_names

SERVICES = service_names()


def cli(service: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    prefix = service.upper()
    return subprocess.run(
        [sys.executable, "-c", f"from {service}.cli import main; main()", *args],
        env={f"{prefix}_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def migrated(new_database):
    """One database holding every service's schema, migrated by the real CLI (twice)."""
    url = new_database("migrations")
    for service in SERVICES:
        for _ in range(2):  # the second run must be a no-op
            result = cli(service, url, "migrate")
            assert result.returncode == 0, result.stderr
            assert f"schema {service} is at head" in result.stdout
    return url


@pytest.mark.parametrize("service", SERVICES)
def test_models_match_migrations(migrated, service):
    settings = importlib.import_module(f"{service}.config").Settings(database_url=migrated)
    migrations = importlib.import_module(f"{service}.cli").MIGRATIONS
    differences = schema_differences(settings, migrations)
    assert differences == [], f"{service}: models and migrations disagree: {differences}"


@pytest.mark.parametrize("service", SERVICES)
def test_schema_is_readable_by_tap_reader(migrated, service):
    engine = create_engine(migrated)
    with engine.connect() as connection:
        version_table = connection.execute(
            text("SELECT to_regclass(:name)"), {"name": f"{service}.alembic_version"}
        ).scalar()
        usage = connection.execute(
            text("SELECT has_schema_privilege('tap_reader', :schema, 'USAGE')"),
            {"schema": service},
        ).scalar()
        sphere = connection.execute(
            text(
                "SELECT spoint(radians(10.0), radians(20.0))"
                " <@ scircle(spoint(radians(10.5), radians(20.0)), radians(1.0))"
            )
        ).scalar()
    engine.dispose()
    assert version_table == f"{service}.alembic_version"
    assert usage is True
    assert sphere is True


@pytest.mark.parametrize(
    "service, command",
    [("jmdc", ("migrate",)), ("obsportal", ("ingest", "--synthetic", "10", "--workers", "1"))],
)
def test_unreachable_database_gives_one_line_error(service, command):
    """A job that streams through psycopg itself (obsportal's bulk load) fails as cleanly."""
    result = cli(service, "postgresql+psycopg://nobody@127.0.0.1:1/none", *command)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_non_postgres_url_is_refused():
    result = cli("jmdc", "sqlite:///tmp/x.db", "migrate")
    assert result.returncode == 1
    assert "only PostgreSQL is supported" in result.stderr
