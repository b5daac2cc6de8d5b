"""Fixtures of the OiDB tests: one platform database (accounts, every service migrated, so
TAP_SCHEMA holds ``ivoa.obscore``), a real ``oidb serve`` with its own files folders, and
accounts to call it as. Tests share the database: each makes its own collections and users.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jmmc_devtools.registry import service_names
from oidb.config import Settings

from ..service_fixture import Accounts, Server, migrate_platform, running_service
from .search_catalogue import SearchCatalogue
from .search_catalogue import build as build_search_catalogue

#: The real OIFITS files, when the shared data folder is beside the project (CI has it).
SHARED_OIFITS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "oifits"


@pytest.fixture(scope="session")
def oidb_database(new_database) -> str:
    return migrate_platform(new_database("oidb"), *service_names())


@pytest.fixture(scope="session")
def oidb_environment(oidb_database, tmp_path_factory) -> dict[str, str]:
    """The ``OIDB_*`` variables of a test deployment (its own files and previews folders)."""
    return {
        "OIDB_DATABASE_URL": oidb_database,
        "OIDB_ENVIRONMENT": "test",
        "OIDB_LOG_LEVEL": "WARNING",
        "OIDB_FILES_DIR": str(tmp_path_factory.mktemp("oidb-files")),
        "OIDB_PREVIEWS_DIR": str(tmp_path_factory.mktemp("oidb-previews")),
    }


@pytest.fixture(scope="session")
def oidb_settings(oidb_environment) -> Settings:
    return Settings(
        **{key.removeprefix("OIDB_").lower(): value for key, value in oidb_environment.items()}
    )


@pytest.fixture(scope="session")
def oidb_server(oidb_environment) -> Iterator[Server]:
    """A real OiDB web process; ``.service_url`` is its base (``.../oidb``)."""
    with running_service("oidb", oidb_environment) as server:
        yield server


@pytest.fixture(scope="session")
def oidb_accounts(oidb_database) -> Iterator[Accounts]:
    accounts = Accounts(oidb_database)
    yield accounts
    accounts.close()


@pytest.fixture(scope="session")
def search_catalogue(oidb_settings, oidb_accounts) -> SearchCatalogue:
    """Collections (public, embargoed, private to a group) and granules of known values, with a
    member of the group and an outsider (see ``search_catalogue.py``)."""
    return build_search_catalogue(oidb_settings, oidb_accounts)
