"""Fixtures every test tier shares: one private PostgreSQL cluster per session, fresh databases."""

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .pgcluster import PostgresCluster, free_port

DATABASE_OWNER = "jmmc"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL 15 + pg_sphere server of our own, on a free port, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="jmmc-test-pg-"))
    cluster = PostgresCluster(directory, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def new_database(pg_cluster: PostgresCluster) -> Callable[[str], str]:
    """Make an empty database and return its SQLAlchemy URL (owner ``jmmc``, no password)."""
    counter = itertools.count(1)

    def create(label: str) -> str:
        name = f"test_{label}_{next(counter)}"
        pg_cluster.ensure_database(name, DATABASE_OWNER)
        return pg_cluster.url(name, DATABASE_OWNER)

    return create
