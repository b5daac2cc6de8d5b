"""Fixtures of the JMDC tests: one platform database (accounts, every service migrated, so
TAP_SCHEMA holds JMDC's tables), a real ``jmdc serve``, and accounts with the submitter,
moderator and curator roles. Tests share the database: each makes its own users and rows.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jmdc.config import Settings
from jmmc_devtools.registry import service_names

from ..service_fixture import Server, migrate_platform, running_service, service_fixtures
from ..sesame_replay import SIMBAD_RECORDINGS

#: The 2017 catalogue and the VizieR ReadMe, when the shared data folder is beside the project.
SHARED_JMDC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "jmdc_jsdc"


jmdc_database, jmdc_environment, jmdc_settings, jmdc_server, jmdc_accounts = service_fixtures(
    "jmdc", Settings
)


#: Recorded SIMBAD (Sesame) answers the name resolver replays offline.
RESOLVER_RECORDINGS = SIMBAD_RECORDINGS


@pytest.fixture(scope="session")
def jmdc_submission_server(jmdc_environment) -> Iterator[Server]:
    """A JMDC web process whose name resolver replays the recorded SIMBAD answers (offline)."""
    environment = {**jmdc_environment, "JMDC_RESOLVER_RECORDINGS": str(RESOLVER_RECORDINGS)}
    with running_service("jmdc", environment) as server:
        yield server


#: The 2017 catalogue as the FITS file JMMC produced it (1239 measurements).
CATALOGUE_2017 = SHARED_JMDC / "JMDC_final_lddUpdated.fits"


@pytest.fixture(scope="session")
def catalogue_database(new_database) -> str:
    """A database of its own (every service migrated) holding the 2017 catalogue, imported by
    the real CLI: the catalogue tests count exactly, whatever the other JMDC tests add."""
    from ..core.test_migrations import cli

    url = migrate_platform(new_database("jmdc_catalogue"), *service_names())
    result = cli("jmdc", url, "import", str(CATALOGUE_2017))
    assert result.returncode == 0, result.stderr
    return url


@pytest.fixture(scope="session")
def catalogue_server(catalogue_database) -> Iterator[Server]:
    """A real JMDC web process serving the 2017 catalogue."""
    environment = {
        "JMDC_DATABASE_URL": catalogue_database,
        "JMDC_ENVIRONMENT": "test",
        "JMDC_LOG_LEVEL": "WARNING",
    }
    with running_service("jmdc", environment) as server:
        yield server
