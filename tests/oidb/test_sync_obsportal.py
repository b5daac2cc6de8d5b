"""The level-0 import against a real ObsPortal serving its demo data, through its public
``search.votable`` only: first run, re-run, a changed exposure, ObsPortal down and the resume.

ObsPortal and OiDB share one database of their own here (each in its schema), as on the
platform; the test changes an exposure in ObsPortal's schema as its ingestion would.
"""

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import httpx
import psycopg
import pytest
from astropy.io.votable import parse_single_table
from sqlalchemy import make_url

from jmmc_devtools.pgcluster import free_port

from ..service_fixture import migrate_platform, running_service


def run(command: str, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"from {command}.cli import main; main()", *args],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=600,
    )


def query(url: str, sql: str, *parameters) -> list[tuple]:
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
    ) as connection:
        cursor = connection.execute(sql, parameters)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def platform(new_database):
    """A database with ObsPortal's demo exposures, and ObsPortal serving them."""
    url = migrate_platform(new_database("oidb_sync"), "obsportal", "oidb")
    environment = {"OBSPORTAL_DATABASE_URL": url, "OBSPORTAL_ENVIRONMENT": "test",
                   "OBSPORTAL_LOG_LEVEL": "WARNING"}  # fmt: skip
    loaded = run("obsportal", environment, "ingest", "--demo")
    assert loaded.returncode == 0, loaded.stderr
    with running_service("obsportal", environment) as server:
        yield url, server.service_url


@pytest.fixture(scope="module")
def oidb_environment_for(platform, tmp_path_factory):
    url, obsportal_url = platform
    return {
        "OIDB_DATABASE_URL": url,
        "OIDB_ENVIRONMENT": "test",
        "OIDB_FILES_DIR": str(tmp_path_factory.mktemp("sync-files")),
        "OIDB_OBSPORTAL_URL": obsportal_url,
    }


def sync(environment: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    result = run("oidb", environment, "sync-obsportal", "--json", *args)
    return result, json.loads(result.stdout.strip().splitlines()[-1])


def exposures_served(obsportal_url: str) -> list[dict]:
    answer = httpx.get(
        f"{obsportal_url}/search.votable",
        params={"all_fields": "true", "interferometer": "VLTI"},
        timeout=120,
    )
    table = parse_single_table(io.BytesIO(answer.content)).to_table()
    return [dict(zip(table.colnames, row, strict=True)) for row in table]


def test_exposures_become_level0_granules_once_and_follow_their_changes(
    platform, oidb_environment_for
):
    url, obsportal_url = platform
    served = exposures_served(obsportal_url)
    assert len(served) > 100

    first, summary = sync(oidb_environment_for)
    assert first.returncode == 0, first.stderr
    assert summary["status"] == "succeeded" and summary["read"] == len(served)
    assert summary["inserted"] == len(served) - summary["rejected"] > 0
    count = query(
        url, "SELECT count(*) FROM oidb.granules WHERE obs_collection = 'eso_vlti_import'"
        " AND calib_level = 0"
    )  # fmt: skip
    assert count == [(summary["inserted"],)]
    assert query(url, "SELECT coltype FROM oidb.collections WHERE id = 'eso_vlti_import'") == [
        ("eso",)
    ]

    # The original's mapping, on an exposure with a submode.
    exposure = next(row for row in served if row["instrument_submode"])
    [granule] = query(
        url,
        "SELECT target_name, instrument_name, instrument_mode, s_ra, t_exptime, access_url,"
        " progid, dataproduct_category, obs_publisher_did FROM oidb.granules"
        " WHERE obs_id = %s AND calib_level = 0",
        exposure["exp_id"],
    )
    assert granule[:3] == (
        exposure["target_name"],
        exposure["instrument_name"],
        f"{exposure['instrument_mode']}_{exposure['instrument_submode']}",
    )
    assert granule[3] == pytest.approx(exposure["target_ra"])
    expected_exptime = (exposure["exp_mjd_end"] - exposure["exp_mjd_start"]) * 86400
    assert granule[4] == pytest.approx(expected_exptime)
    assert granule[5].startswith("http://archive.eso.org/") and "dp_id=" in granule[5]
    assert granule[6] == exposure["obs_program"]
    assert granule[7] == {"science": "SCIENCE", "calibrator": "CALIB"}[exposure["obs_type"]]
    assert granule[8].startswith("ivo://jmmc.fr/oidb?")

    again, summary = sync(oidb_environment_for)
    assert again.returncode == 0, again.stderr
    assert (summary["inserted"], summary["updated"]) == (0, 0)

    changed = served[0]["exp_id"]
    query(
        url,
        "UPDATE obsportal.exposures SET target_name = 'Renamed target', date_updated = now()"
        " WHERE exp_id = %s",
        changed,
    )
    third, summary = sync(oidb_environment_for)
    assert third.returncode == 0, third.stderr
    assert (summary["inserted"], summary["updated"]) == (0, 1)
    assert query(
        url, "SELECT target_name FROM oidb.granules WHERE obs_id = %s AND calib_level = 0", changed
    ) == [("Renamed target",)]


def test_obsportal_down_fails_readably_and_the_next_run_resumes(platform, oidb_environment_for):
    url, _ = platform
    first, summary = sync(oidb_environment_for)
    assert first.returncode == 0, first.stderr
    resume_point = datetime.fromisoformat(summary["updated_until"])

    down = f"http://127.0.0.1:{free_port()}/obsportal"
    failed, summary = sync(oidb_environment_for, "--url", down)
    assert failed.returncode != 0
    assert summary["status"] == "failed" and "cannot be reached" in summary["error"]
    assert "cannot be reached" in failed.stderr and "Traceback" not in failed.stderr
    [(status, error)] = query(
        url, "SELECT status, error FROM oidb.obsportal_harvests WHERE id = %s", summary["run_id"]
    )
    assert status == "failed" and down in error

    # /health carries the failure (degraded: the catalogue is still served), not its text.
    with running_service("oidb", oidb_environment_for) as server:
        health = httpx.get(f"{server.service_url}/health")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert health.json()["checks"]["ingestion"]["status"] == "fail"
        assert down not in health.text

        resumed, summary = sync(oidb_environment_for)
        assert resumed.returncode == 0, resumed.stderr
        health = httpx.get(f"{server.service_url}/health")
        assert health.json()["checks"]["ingestion"]["status"] == "ok"
    [(updated_from,)] = query(
        url, "SELECT updated_from FROM oidb.obsportal_harvests WHERE id = %s", summary["run_id"]
    )
    # Where the last successful run stopped, less the overlap that catches late commits.
    assert resume_point - timedelta(hours=1) <= updated_from < resume_point
    assert (summary["inserted"], summary["updated"]) == (0, 0)
