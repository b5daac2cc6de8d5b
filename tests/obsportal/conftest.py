"""Fixtures of the ObsPortal tests.

Search side: a database holding the rows of the original ObsPortal answers (the golden
files), and a real ``obsportal serve`` (uvicorn) on a free port in front of it.
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

from jmmc_core.migrations import upgrade_to_head
from jmmc_devtools.pgcluster import free_port
from jmmc_devtools.processes import serving
from obsportal.cli import MIGRATIONS
from obsportal.config import Settings

from . import catalogue_factory

GOLDEN_FILES = (
    "search.votable.xml",
    "obsportal-output-10.votable.xml",
    "obsportal-dev-spica.votable.xml",
)


def migrated_database(new_database, label: str) -> str:
    url = new_database(label)
    upgrade_to_head(Settings(database_url=url, environment="test"), MIGRATIONS)
    return url


def connect(url: str) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
    )


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@contextmanager
def running_service(database_url: str, workers: int = 1) -> Iterator[Server]:
    """``obsportal serve`` on a free port, yielded once /health answers."""
    port = free_port()
    environment = {
        **os.environ,
        "OBSPORTAL_DATABASE_URL": database_url,
        "OBSPORTAL_ENVIRONMENT": "test",
        "OBSPORTAL_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).parent / "obsportal"), "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    with serving(command, env=environment, health_url=f"{base}/health") as process:
        yield Server(base, process.pid)


@pytest.fixture(scope="session")
def golden_database(new_database) -> str:
    """The exposures of the original answers: IRS9A (GRAVITY), BKH2005…, SPICA targets."""
    url = migrated_database(new_database, "search_golden")
    rows = {}
    for name in GOLDEN_FILES:
        for row in catalogue_factory.golden_rows(catalogue_factory.GOLDEN / name):
            rows.setdefault(row["exp_id"], row)
    with connect(url) as connection:
        catalogue_factory.load(connection, rows.values())
        connection.execute(
            "UPDATE obsportal.ingestion_runs SET read_count = 45, accepted_count = 42,"
            " changed_count = 42, excluded_count = 1, rejected_count = 2,"
            """ excluded_by_rule = '{"gravity-sky": 1}',"""
            """ rejected_by_reason = '{"truncated": 1, "no-position": 1}'"""
        )
        connection.execute(
            "INSERT INTO obsportal.rejects (run_id, header_id, source_name, reason, detail)"
            " VALUES (1, 'GRAVI.2019-02-16T05:00:00.000', 'headers.tar', 'truncated',"
            " 'header ends inside a card'), (1, NULL, 'broken.hdr', 'no-position', 'RA=DEC=0')"
        )
        connection.commit()
    return url


@pytest.fixture(scope="session")
def golden_service(golden_database) -> Iterator[str]:
    """Base URL of a real ObsPortal server on the golden database."""
    with running_service(golden_database) as server:
        yield server.url
