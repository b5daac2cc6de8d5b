"""``obsportal ingest`` as an operator runs it, and the freshness it reports in /health."""

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from obsportal.main import create_app
from obsportal.storage.ingestion import connect

from .ingestion_support import REAL_HEADERS, fresh_settings, scalar

OBSPORTAL = str(Path(sys.executable).parent / "obsportal")


def run_cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "OBSPORTAL_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [OBSPORTAL, "ingest", *args], env=environment, capture_output=True, text=True, timeout=120
    )


def health(settings) -> tuple[int, str, dict]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    body = response.json()
    return response.status_code, body["status"], body["checks"]["ingestion"]


def test_synthetic_run_prints_progress_and_a_summary_table(new_database):
    settings = fresh_settings(new_database, "cli")
    status, overall, check = health(settings)
    assert (status, overall, check["status"], check["message"]) == (200, "ok", "ok", "no run yet")

    result = run_cli(settings, "--synthetic", "2000", "--seed", "5", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "headers/s" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ingestion run 1 (synthetic:2000@5): succeeded"
    table = {line.split()[0]: line.split()[-1] for line in lines[1:]}
    read = int(table["read"].replace(",", ""))
    parts = [int(table[name].replace(",", "")) for name in ("accepted", "excluded", "rejected")]
    assert read == sum(parts) == 2000
    assert "gravity.sky" in result.stdout and "amber.fringe_search" in result.stdout

    status, overall, check = health(settings)
    assert (status, overall) == (200, "ok")
    assert check["last_run_status"] == "succeeded" and check["read"] == 2000


def test_json_summary_is_one_line_whose_counts_add_up(new_database):
    settings = fresh_settings(new_database, "clijson")
    result = run_cli(settings, "--synthetic", "500", "--seed", "9", "--workers", "1", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    assert summary["read"] == 500
    assert summary["accepted"] + summary["excluded"] + summary["rejected"] == 500
    assert sum(summary["excluded_by_rule"].values()) == summary["excluded"]
    assert sum(summary["rejected_by_reason"].values()) == summary["rejected"]


def test_demo_is_idempotent_and_loads_the_real_headers(new_database):
    settings = fresh_settings(new_database, "demo")
    for _ in range(2):
        result = run_cli(settings, "--demo", "--workers", "1")
        assert result.returncode == 0, result.stderr
    assert f"dir:{REAL_HEADERS}" in result.stdout
    assert scalar(settings, "SELECT count(*) FROM exposures WHERE header_id LIKE 'GRAVI.2020%'")
    assert scalar(settings, "SELECT sum(changed_count) FROM ingestion_runs WHERE id > 2") == 0


def test_failed_run_exits_non_zero_and_degrades_health(new_database, tmp_path):
    settings = fresh_settings(new_database, "clifail")
    (tmp_path / "a.hdr").write_bytes((REAL_HEADERS / next(iter(
        sorted(p.name for p in REAL_HEADERS.iterdir())))).read_bytes())  # fmt: skip
    with connect(settings) as connection:
        connection.execute("ALTER TABLE exposures ADD CONSTRAINT refuse CHECK (false)")
    result = run_cli(settings, "--from-dir", str(tmp_path), "--workers", "1")
    assert result.returncode == 1
    assert "failed" in result.stdout and "refuse" in result.stdout
    # Users can still search what is there: HAProxy keeps routing, monitoring alerts.
    status, overall, check = health(settings)
    assert (status, overall, check["status"]) == (200, "degraded", "fail")
    assert check["last_run_status"] == "failed"


def test_stale_ingestion_degrades_health(new_database):
    settings = fresh_settings(new_database, "stale", ingestion_max_age_hours=1)
    with connect(settings) as connection:
        connection.execute(
            "INSERT INTO ingestion_runs (source, started_at, finished_at, status)"
            " VALUES ('dir:/old', now() - interval '3 hours', now() - interval '2 hours',"
            " 'succeeded')"
        )
    status, overall, check = health(settings)
    assert (status, overall, check["status"]) == (200, "degraded", "fail")
    assert check["message"] == "last ingestion is too old" and check["age_seconds"] >= 7200


def test_exactly_one_source_is_required(new_database):
    settings = fresh_settings(new_database, "usage")
    result = run_cli(settings)
    assert result.returncode == 2 and "exactly one of" in result.stderr
