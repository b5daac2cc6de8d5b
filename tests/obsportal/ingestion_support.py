"""Helpers of the ingestion tests: settings for a fresh database, snapshots, shared data."""

import os
from pathlib import Path

import psycopg

from jmmc_core.migrations import upgrade_to_head
from obsportal.cli import MIGRATIONS
from obsportal.config import Settings
from obsportal.storage.ingestion import connect

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("JMMC_SHARED_DIR", REPOSITORY.parent / "shared"))
REAL_HEADERS = SHARED / "data" / "eso_headers"

#: Provenance columns differ between runs by design; everything else must be identical.
SNAPSHOT_QUERIES = {
    "programs": "SELECT * FROM programs ORDER BY id",
    "targets": "SELECT * FROM targets ORDER BY id",
    "observations": "SELECT * FROM observations ORDER BY id",
    "exposures": (
        "SELECT exp_id, header_id, observation_id, target_name, target_ra, target_dec,"
        " position::text, instrument_name, instrument_mode, instrument_submode,"
        " interferometer_name, interferometer_stations, program_id, mjd_start, mjd_end,"
        " exposure_time, projected_baselines, seeing, tau0, temperature, em_min, em_max,"
        " em_res_power, validation_level, validation_log, classification_rule, date_release"
        " FROM exposures ORDER BY exp_id"
    ),
    "excluded_headers": (
        "SELECT header_id, instrument_name, classification_rule, details"
        " FROM excluded_headers ORDER BY header_id"
    ),
}


def fresh_settings(new_database, label: str, **overrides) -> Settings:
    settings = Settings(database_url=new_database(label), environment="test", **overrides)
    upgrade_to_head(settings, MIGRATIONS)
    return settings


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings) as connection:
        return {
            table: connection.execute(query).fetchall() for table, query in SNAPSHOT_QUERIES.items()
        }


def query(settings: Settings, sql: str, *params) -> list[tuple]:
    with connect(settings) as connection:
        return connection.execute(sql, params or None).fetchall()


def scalar(settings: Settings, sql: str, *params):
    return query(settings, sql, *params)[0][0]


def counts_add_up(connection: psycopg.Connection) -> bool:
    rows = connection.execute(
        "SELECT read_count = accepted_count + excluded_count + rejected_count"
        " FROM ingestion_runs WHERE status <> 'running'"
    ).fetchall()
    return all(row[0] for row in rows)
