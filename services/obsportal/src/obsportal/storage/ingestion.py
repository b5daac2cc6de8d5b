"""Bulk loading of ingestion outcomes: COPY into staging tables, then set-based upserts.

One batch is one transaction: either all its exposures, exclusions, rejects and counter
updates are committed, or none. Upserts are keyed by the ESO header id and only touch rows
whose content changed, so re-ingesting the same headers changes nothing (not even
``date_updated``). New targets and observations are numbered in the order their keys are
first met, which makes an interrupted-then-resumed run number them exactly as an
uninterrupted one.
"""

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from jmmc_core.database import database_url
from jmmc_core.settings import ServiceSettings

from .ingestion_records import Accepted, Excluded, Rejected

#: Advisory lock held for a whole run: two ingestions never interleave their numbering.
INGESTION_LOCK = 0x0B5_1A6E57

EXPOSURE_COLUMNS = (
    "exp_id", "header_id", "target_name", "target_ra", "target_dec", "instrument_name",
    "instrument_mode", "instrument_submode", "interferometer_name", "interferometer_stations",
    "program_id", "mjd_start", "mjd_end", "exposure_time", "projected_baselines",
    "projected_baselines_text", "seeing", "tau0", "temperature", "em_min", "em_max",
    "em_res_power", "validation_level", "validation_log", "classification_rule", "date_release",
)  # fmt: skip
STAGING_COLUMNS = (
    ("ord", "integer"), ("exp_id", "text"), ("header_id", "text"), ("target_name", "text"),
    ("target_ra", "float8"), ("target_dec", "float8"), ("instrument_name", "text"),
    ("instrument_mode", "text"), ("instrument_submode", "text"),
    ("interferometer_name", "text"), ("interferometer_stations", "text"),
    ("program_id", "text"), ("mjd_start", "float8"), ("mjd_end", "float8"),
    ("exposure_time", "float8"), ("projected_baselines", "text"),
    ("projected_baselines_text", "text"), ("seeing", "float8"),
    ("tau0", "float8"), ("temperature", "float8"), ("em_min", "float8"), ("em_max", "float8"),
    ("em_res_power", "float8"), ("validation_level", "integer"), ("validation_log", "text"),
    ("classification_rule", "text"), ("date_release", "timestamptz"),
    ("grouping_key", "text"), ("obs_type", "text"), ("ob_id", "integer"),
    ("program_title", "text"), ("program_pi_coi", "text"),
)  # fmt: skip


class IngestionLockedError(RuntimeError):
    """Another ingestion run holds the lock."""


@dataclass(frozen=True)
class BatchResult:
    changed: int


def acquire_run_lock(connection: psycopg.Connection) -> None:
    locked = connection.execute("SELECT pg_try_advisory_lock(%s)", [INGESTION_LOCK]).fetchone()
    if not locked or not locked[0]:
        raise IngestionLockedError("another ingestion run is in progress")


def start_run(connection: psycopg.Connection, source: str) -> int:
    """Close runs left 'running' by a killed process, then open a new run."""
    with connection.transaction():
        connection.execute(
            "UPDATE ingestion_runs SET status = 'failed', finished_at = now(),"
            " error = 'interrupted: the process stopped before the run finished'"
            " WHERE status = 'running'"
        )
        row = connection.execute(
            "INSERT INTO ingestion_runs (source) VALUES (%s) RETURNING id", [source]
        ).fetchone()
    assert row is not None
    return row[0]


def finish_run(
    connection: psycopg.Connection,
    run_id: int,
    *,
    error: str | None = None,
    watermark: datetime | None = None,
) -> None:
    with connection.transaction():
        connection.execute(
            "UPDATE ingestion_runs SET finished_at = now(), status = %s, error = %s,"
            " watermark = coalesce(%s, watermark) WHERE id = %s",
            ["failed" if error else "succeeded", error, watermark, run_id],
        )


def load_batch(
    connection: psycopg.Connection,
    run_id: int,
    accepted: Sequence[Accepted],
    excluded: Sequence[Excluded],
    rejected: Sequence[Rejected],
) -> BatchResult:
    """Store one batch of outcomes and add them to the run's counts, atomically."""
    with connection.transaction():
        changed = _load_accepted(connection, run_id, accepted) if accepted else 0
        if excluded:
            _load_excluded(connection, run_id, excluded)
        if rejected:
            with connection.cursor().copy(
                "COPY rejects (run_id, header_id, source_name, reason, detail) FROM STDIN"
            ) as copy:
                for item in rejected:
                    copy.write_row((run_id, item.header_id, item.source_name, item.reason,
                                    item.detail))  # fmt: skip
        by_rule = Counter(item.classification_rule for item in excluded)
        by_reason = Counter(item.reason for item in rejected)
        connection.execute(
            f"""
            UPDATE ingestion_runs SET
                read_count = read_count + %(read)s,
                accepted_count = accepted_count + %(accepted)s,
                changed_count = changed_count + %(changed)s,
                excluded_count = excluded_count + %(excluded)s,
                rejected_count = rejected_count + %(rejected)s,
                excluded_by_rule = {_sum_counts("excluded_by_rule", "by_rule")},
                rejected_by_reason = {_sum_counts("rejected_by_reason", "by_reason")}
            WHERE id = %(run)s
            """,
            {
                "read": len(accepted) + len(excluded) + len(rejected),
                "accepted": len(accepted),
                "changed": changed,
                "excluded": len(excluded),
                "rejected": len(rejected),
                "by_rule": json.dumps(by_rule),
                "by_reason": json.dumps(by_reason),
                "run": run_id,
            },
        )
    return BatchResult(changed)


def _sum_counts(column: str, parameter: str) -> str:
    """SQL adding a ``{key: count}`` jsonb parameter to a jsonb column, key by key."""
    return (
        "(SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb) FROM ("
        " SELECT key, sum(value::bigint) AS total FROM ("
        f" SELECT * FROM jsonb_each_text({column})"
        f" UNION ALL SELECT * FROM jsonb_each_text(%({parameter})s::jsonb)"
        " ) AS parts GROUP BY key) AS sums)"
    )


def _staging_row(order: int, item: Accepted) -> tuple:
    return (
        order, item.exp_id, item.header_id, item.target_name, item.target_ra, item.target_dec,
        item.instrument_name, item.instrument_mode, item.instrument_submode,
        item.interferometer_name, item.interferometer_stations, item.program_id,
        item.mjd_start, item.mjd_end, item.exposure_time, json.dumps(item.projected_baselines),
        item.projected_baselines_text, item.seeing, item.tau0, item.temperature, item.em_min,
        item.em_max, item.em_res_power, item.validation_level, json.dumps(item.validation_log),
        item.classification_rule, item.date_release,
        item.grouping_key, item.obs_type, item.ob_id, item.program_title, item.program_pi_coi,
    )  # fmt: skip


def _load_accepted(connection: psycopg.Connection, run_id: int, items: Sequence[Accepted]) -> int:
    columns = ", ".join(f"{name} {kind}" for name, kind in STAGING_COLUMNS)
    connection.execute(f"CREATE TEMP TABLE staging_exposures ({columns}) ON COMMIT DROP")
    copy_types = [kind for _, kind in STAGING_COLUMNS]
    names = ", ".join(name for name, _ in STAGING_COLUMNS)
    with connection.cursor().copy(
        f"COPY staging_exposures ({names}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(copy_types)
        for order, item in enumerate(items):
            copy.write_row(_staging_row(order, item))
    # Fresh temp tables have no statistics; without them the joins below scan whole tables.
    connection.execute("ANALYZE staging_exposures")
    connection.execute(_UPSERT_PROGRAMS)
    connection.execute(_INSERT_TARGETS)
    connection.execute(_INSERT_OBSERVATIONS)
    connection.execute(
        "DELETE FROM excluded_headers e USING staging_exposures s WHERE e.header_id = s.header_id"
    )
    cursor = connection.execute(_UPSERT_EXPOSURES, {"run": run_id})
    return cursor.rowcount


def _load_excluded(connection: psycopg.Connection, run_id: int, items: Sequence[Excluded]) -> None:
    connection.execute(
        "CREATE TEMP TABLE staging_excluded (header_id text, instrument_name text,"
        " classification_rule text, details text) ON COMMIT DROP"
    )
    with connection.cursor().copy("COPY staging_excluded FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["text", "text", "text", "text"])
        for item in items:
            copy.write_row((item.header_id, item.instrument_name, item.classification_rule,
                            json.dumps(item.details)))  # fmt: skip
    connection.execute("ANALYZE staging_excluded")
    # A header a corrected rule now excludes leaves the published catalogue.
    connection.execute(
        "DELETE FROM exposures x USING staging_excluded s WHERE x.header_id = s.header_id"
    )
    connection.execute(
        """
        INSERT INTO excluded_headers
            (header_id, instrument_name, classification_rule, details, ingestion_run_id)
        SELECT header_id, instrument_name, classification_rule, details::jsonb, %(run)s
        FROM staging_excluded
        ON CONFLICT (header_id) DO UPDATE SET
            instrument_name = EXCLUDED.instrument_name,
            classification_rule = EXCLUDED.classification_rule,
            details = EXCLUDED.details,
            ingestion_run_id = EXCLUDED.ingestion_run_id
        WHERE (excluded_headers.instrument_name, excluded_headers.classification_rule,
               excluded_headers.details)
            IS DISTINCT FROM (EXCLUDED.instrument_name, EXCLUDED.classification_rule,
                              EXCLUDED.details)
        """,
        {"run": run_id},
    )


_UPSERT_PROGRAMS = """
INSERT INTO programs (id, title, pi_coi)
SELECT DISTINCT ON (program_id) program_id, program_title, program_pi_coi
FROM staging_exposures WHERE program_id IS NOT NULL
ORDER BY program_id, program_title IS NULL, ord
ON CONFLICT (id) DO UPDATE SET
    title = coalesce(EXCLUDED.title, programs.title),
    pi_coi = coalesce(EXCLUDED.pi_coi, programs.pi_coi)
WHERE (programs.title, programs.pi_coi)
    IS DISTINCT FROM (coalesce(EXCLUDED.title, programs.title),
                      coalesce(EXCLUDED.pi_coi, programs.pi_coi))
"""

_INSERT_TARGETS = """
INSERT INTO targets (id, name, ra, dec)
SELECT (SELECT coalesce(max(id), 0) FROM targets) + row_number() OVER (ORDER BY first_seen),
       name, ra, dec
FROM (
    SELECT DISTINCT ON (s.target_name)
        s.target_name AS name, s.target_ra AS ra, s.target_dec AS dec, s.ord AS first_seen
    FROM staging_exposures s
    WHERE NOT EXISTS (SELECT 1 FROM targets t WHERE t.name = s.target_name)
    ORDER BY s.target_name, s.ord
) AS new_targets
"""

_INSERT_OBSERVATIONS = """
INSERT INTO observations (id, grouping_key, obs_type, program_id, target_id, instrument_name,
    instrument_mode, instrument_submode, interferometer_name, interferometer_stations, ob_id)
SELECT (SELECT coalesce(max(id), 0) FROM observations)
        + row_number() OVER (ORDER BY new.ord),
       new.grouping_key, new.obs_type, new.program_id, t.id, new.instrument_name,
       new.instrument_mode, new.instrument_submode, new.interferometer_name,
       new.interferometer_stations, new.ob_id
FROM (
    SELECT DISTINCT ON (s.grouping_key) s.*
    FROM staging_exposures s
    WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.grouping_key = s.grouping_key)
    ORDER BY s.grouping_key, s.ord
) AS new
JOIN targets t ON t.name = new.target_name
"""

#: JSON travels through COPY as text (binary jsonb has its own wire format).
JSON_CASTS = {"projected_baselines": "::jsonb", "validation_log": "::jsonb"}
_STORED = (*EXPOSURE_COLUMNS, "observation_id")
_UPSERT_EXPOSURES = f"""
INSERT INTO exposures ({", ".join(_STORED)}, position, ingestion_run_id, date_updated)
SELECT {", ".join(f"s.{name}{JSON_CASTS.get(name, '')}" for name in EXPOSURE_COLUMNS)}, o.id,
       CASE WHEN s.target_ra IS NOT NULL AND s.target_dec IS NOT NULL
            THEN spoint(radians(s.target_ra), radians(s.target_dec)) END,
       %(run)s, now()
FROM staging_exposures s JOIN observations o ON o.grouping_key = s.grouping_key
ON CONFLICT (header_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _STORED)},
    position = EXCLUDED.position,
    ingestion_run_id = EXCLUDED.ingestion_run_id,
    date_updated = EXCLUDED.date_updated
WHERE ({", ".join(f"exposures.{name}" for name in _STORED)})
    IS DISTINCT FROM ({", ".join(f"EXCLUDED.{name}" for name in _STORED)})
"""


def connect(settings: ServiceSettings) -> psycopg.Connection:
    """A dedicated autocommit connection: each batch opens its own explicit transaction."""
    url = database_url(settings)
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
        options=f"-c search_path={settings.schema_name},public",
        application_name=f"{settings.service_name}-ingest",
        connect_timeout=max(1, int(settings.database_connect_timeout)),
    )


@dataclass(frozen=True)
class RunRecord:
    id: int
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    read_count: int
    accepted_count: int
    changed_count: int
    excluded_count: int
    rejected_count: int
    excluded_by_rule: dict[str, int]
    rejected_by_reason: dict[str, int]
    watermark: datetime | None
    error: str | None


_RUN_FIELDS = ", ".join(RunRecord.__dataclass_fields__)


def get_run(connection: psycopg.Connection, run_id: int) -> RunRecord:
    row = connection.execute(
        f"SELECT {_RUN_FIELDS} FROM ingestion_runs WHERE id = %s", [run_id]
    ).fetchone()
    assert row is not None
    return RunRecord(*row)


def last_finished_run(session: Session) -> RunRecord | None:
    """The newest run that is over (succeeded or failed), for health and monitoring."""
    row = session.execute(
        text(
            f"SELECT {_RUN_FIELDS} FROM ingestion_runs WHERE status <> 'running'"
            " ORDER BY finished_at DESC, id DESC LIMIT 1"
        )
    ).one_or_none()
    return RunRecord(*row) if row else None


def last_watermark(connection: psycopg.Connection, source_prefix: str) -> datetime | None:
    """Where an incremental source resumes: the newest watermark of a succeeded run."""
    row = connection.execute(
        "SELECT max(watermark) FROM ingestion_runs WHERE status = 'succeeded' AND source LIKE %s",
        [source_prefix + "%"],
    ).fetchone()
    return row[0] if row else None
