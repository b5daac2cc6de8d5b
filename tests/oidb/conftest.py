"""Fixtures of the OiDB tests: one platform database (accounts, every service migrated, so
TAP_SCHEMA holds ``ivoa.obscore``), a real ``oidb serve`` with its own files and previews
folders, and accounts to call it as (``service_fixtures``). Tests share the database: each
makes its own collections and users.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from jmmc_core.database import Database
from oidb.config import Settings
from oidb.schema.catalogue import Collection, CollectionGroup
from oidb.services.access import Caller
from oidb.services.ingestion import IngestResult, ingest_file

from ..service_fixture import service_fixtures
from ..tap.conftest import QUERY_ROLE, ensure_query_role, running_tap
from ..tap.conftest import Server as TapServer
from .search_catalogue import SearchCatalogue
from .search_catalogue import build as build_search_catalogue

#: The real OIFITS files, when the shared data folder is beside the project (CI has it).
SHARED_OIFITS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "oifits"


oidb_database, oidb_environment, oidb_settings, oidb_server, oidb_accounts = service_fixtures(
    "oidb", Settings, folders=("files", "previews")
)


#: The platform ingesting: an admin caller (no account needed).
PLATFORM = Caller(None, admin=True)


@pytest.fixture(scope="session")
def oidb_service_database(oidb_settings) -> Iterator[Database]:
    """The OiDB database as the service's own role sees it (no row rules apply)."""
    database = Database(oidb_settings)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def oidb_collection(oidb_service_database, oidb_accounts):
    """Makes a collection: ``oidb_collection("pionier", private=True, groups=(group_id,))``
    answers its id (unique)."""

    def make(
        coltype: str = "public", *, private: bool = False, groups: tuple[int, ...] = ()
    ) -> str:
        collection_id = oidb_accounts.unique(f"test-{coltype}")
        with oidb_service_database.session() as session:
            session.add(
                Collection(id=collection_id, title=collection_id, coltype=coltype, private=private)
            )
            session.flush()
            session.add_all(
                CollectionGroup(collection_id=collection_id, group_id=group) for group in groups
            )
        return collection_id

    return make


@pytest.fixture(scope="session")
def oidb_ingest(oidb_service_database, oidb_settings):
    """Ingests bytes into a collection as the platform: ``oidb_ingest(collection, name, data)``."""

    def ingest(collection_id: str, filename: str, content: bytes) -> IngestResult:
        return ingest_file(
            oidb_service_database,
            oidb_settings,
            PLATFORM,
            collection_id=collection_id,
            filename=filename,
            content=content,
        )

    return ingest


@pytest.fixture(scope="session")
def search_catalogue(oidb_settings, oidb_accounts) -> SearchCatalogue:
    """Collections (public, embargoed, private to a group) and granules of known values, with a
    member of the group and an outsider (see ``search_catalogue.py``)."""
    return build_search_catalogue(oidb_settings, oidb_accounts)


@pytest.fixture(scope="session")
def oidb_tap(oidb_database, tmp_path_factory) -> Iterator[TapServer]:
    """A real TAP web process on the OiDB test database: ``ivoa.obscore`` as users query it,
    as the read-only query role; ``.tap_url`` is its base."""
    ensure_query_role(oidb_database)
    query_url = make_url(oidb_database).set(username=QUERY_ROLE)
    environment = {
        "TAP_DATABASE_URL": oidb_database,
        "TAP_QUERY_DATABASE_URL": query_url.render_as_string(hide_password=False),
        "TAP_ENVIRONMENT": "test",
        "TAP_LOG_LEVEL": "WARNING",
        "TAP_RESULTS_DIR": str(tmp_path_factory.mktemp("oidb-tap-results")),
    }
    with running_tap(environment) as server:
        yield server
