"""The restore drill on a real PostgreSQL: WAL archiving, a base backup, a mistake, and a
point-in-time recovery into a new data folder that finds every table as it was.

This is the mechanism the production database (charts/database: CloudNativePG with the
barman-cloud plugin) relies on, run here with PostgreSQL's own archive and restore commands.
"""

import pytest
from psycopg import sql

from jmmc_devtools.platform import DATABASE_NAME
from jmmc_devtools.registry import service_names
from jmmc_devtools.restore_drill import DrillReport, RestoreDrill, table_snapshot


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    drill = RestoreDrill(tmp_path_factory.mktemp("restore-drill"), progress=lambda _: None)
    try:
        yield drill, drill.run()
    finally:
        drill.stop()


def test_the_restored_database_is_the_database_at_the_target_time(drill):
    restored, report = drill
    assert isinstance(report, DrillReport)
    snapshot = table_snapshot(restored.restored, DATABASE_NAME)
    schemas = {table.split(".", 1)[0] for table in snapshot}
    # Every service's schema and the shared accounts came back, with the data loaded after
    # the base backup (it existed only in the archived WAL).
    assert {"accounts", *service_names()} <= schemas
    assert snapshot["obsportal.observations"][0] > 0
    assert report.tables == len(snapshot)
    assert report.rows == sum(count for count, _ in snapshot.values())


def test_the_mistake_made_after_the_target_time_is_absent(drill):
    restored, report = drill
    dropped = report.mistake.split()[2]
    schema, table = dropped.split(".")
    with restored.restored.connect(DATABASE_NAME) as connection:
        (rows,) = connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        ).fetchone()
        in_recovery, wal_file = connection.execute(
            "SELECT pg_is_in_recovery(), pg_walfile_name(pg_current_wal_lsn())"
        ).fetchone()
    assert rows > 0 and f"({rows} rows)" in report.mistake
    assert in_recovery is False, "the restored server is promoted and takes writes"
    assert wal_file.startswith("00000002"), "recovery ended on a timeline of its own"
    assert report.archived_segments >= 2
