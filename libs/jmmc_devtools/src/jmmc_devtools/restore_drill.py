"""Point-in-time restore drill: `jmmc-restore-drill` (`python -m jmmc_devtools.restore_drill`).

What CloudNativePG does with the object store, done with PostgreSQL's own tools on a private
server, so that the mechanism the production database relies on is exercised for real:

1. a server with continuous WAL archiving (``archive_command`` into an archive folder),
   the accounts schema and every service's schema migrated by the services' own CLIs;
2. a base backup (``pg_basebackup``, WAL left to the archive, as barman-cloud does);
3. data loaded afterwards by the services' own commands, so it exists only in the archived WAL;
4. a recorded time, every table's row count and checksum at that time, then the mistake
   (the largest table dropped);
5. the base backup unpacked into a new data folder, recovered with ``restore_command``,
   ``recovery_target_time`` and ``recovery_target_action = promote``;
6. every table of every schema compared with what was recorded: the drill fails unless the
   restored server holds exactly the data of the target time, the dropped table included.
"""

import argparse
import os
import pwd
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from psycopg import sql

from .pgcluster import BINDIR, SERVER_USER, ClusterError, PostgresCluster, free_port
from .platform import (
    DATABASE_NAME,
    DATABASE_OWNER,
    Layout,
    PlatformError,
    declare_cone_functions_leakproof,
    ensure_tap_query_role,
    run_accounts,
    run_job,
)

#: Schemas of PostgreSQL itself, left out of the comparison.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
ARCHIVE_TIMEOUT_SECONDS = 60
RECOVERY_TIMEOUT_SECONDS = 120
#: Data loaded after the base backup by the services' own commands: generated, so the drill
#: needs no shared data, and small enough to keep the drill well under a minute.
DATA_COMMANDS: dict[str, tuple[str, ...]] = {
    "obsportal": ("ingest", "--synthetic", "400", "--workers", "1"),
    "jmdc": ("import", "--generate", "300"),
}

#: Every table of the database with its row count and an order-independent checksum of its
#: rows (each row's text form hashed, the hashes sorted and hashed again).
Snapshot = dict[str, tuple[int, str]]


class DrillFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class DrillReport:
    target_time: datetime
    mistake: str
    tables: int
    rows: int
    archived_segments: int
    seconds: float

    def describe(self) -> str:
        return (
            f"restored to {self.target_time.isoformat()}: {self.tables} tables, {self.rows} rows"
            f" identical (count and checksum per table); mistake undone: {self.mistake};"
            f" {self.archived_segments} WAL segments archived; {self.seconds:.1f} s"
        )


def table_snapshot(cluster: PostgresCluster, database: str) -> Snapshot:
    snapshot: Snapshot = {}
    with cluster.connect(database) as connection:
        tables = connection.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname <> ALL(%s) ORDER BY 1, 2",
            [list(SYSTEM_SCHEMAS)],
        ).fetchall()
        for schema, table in tables:
            count, checksum = connection.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(md5(t::text), ''"
                    " ORDER BY md5(t::text)), '')) FROM {} AS t"
                ).format(sql.Identifier(schema, table))
            ).fetchone()
            snapshot[f"{schema}.{table}"] = (count, checksum)
    return snapshot


def differences(expected: Snapshot, found: Snapshot) -> list[str]:
    """What a person would read to see how the restored database differs, table by table."""
    lines = []
    for table in sorted(expected.keys() | found.keys()):
        if table not in found:
            lines.append(f"{table}: missing after the restore")
        elif table not in expected:
            lines.append(f"{table}: not there at the target time")
        elif expected[table] != found[table]:
            lines.append(f"{table}: {expected[table][0]} rows expected, {found[table][0]} found")
    return lines


class RestoreDrill:
    """One drill in ``directory``: the source server, its archive, its backup, the restore."""

    def __init__(self, directory: Path, progress: Callable[[str], None] = print) -> None:
        self.started = time.monotonic()
        self.directory = directory
        self.archive = directory / "wal-archive"
        self.backup = directory / "base-backup"
        self.progress = progress
        self.layout = Layout(
            run_dir=directory,
            haproxy_port=0,
            stats_port=0,
            pg_port=free_port(),
            port_base=0,
            external_database=None,
            bin_dir=Path(sys.executable).parent,
        )
        self.source = self.layout.cluster
        self.restored = PostgresCluster(directory / "restored", free_port())

    def as_server_user(self, *command: str | Path) -> None:
        self.source._run(*command)

    def prepare_folders(self) -> None:
        """The drill's folders belong to the server user, who archives and restores WAL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            shutil.chown(self.directory, user.pw_uid, user.pw_gid)
        # Also lets the server user through the parents of the drill's folder.
        self.source._hand_to_server_user()
        self.as_server_user("mkdir", "-p", self.archive, self.backup)

    def start_archiving_source(self) -> None:
        self.source.initialise()
        archive = f"test ! -f {self.archive}/%f && cp %p {self.archive}/%f"
        with (self.source.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"archive_mode = on\narchive_command = '{archive}'\n")
        self.source.start()
        self.source.ensure_database(DATABASE_NAME, DATABASE_OWNER)

    def migrate(self) -> None:
        run_accounts(self.layout, "migrate")
        for service in self.layout.services:
            run_job(self.layout, service, "migrate")
        declare_cone_functions_leakproof(self.source, DATABASE_NAME)
        ensure_tap_query_role(self.source, DATABASE_NAME)

    def take_base_backup(self) -> None:
        self.as_server_user(
            BINDIR / "pg_basebackup",
            "--host=127.0.0.1",
            f"--port={self.source.port}",
            "--username=postgres",
            "--format=tar",
            "--wal-method=none",
            "--checkpoint=fast",
            "--pgdata",
            self.backup,
        )

    def load_data(self) -> None:
        for service in self.layout.services:
            if service.name in DATA_COMMANDS:
                run_job(self.layout, service, *DATA_COMMANDS[service.name])

    def make_the_mistake(self, snapshot: Snapshot) -> str:
        largest = max(snapshot, key=lambda table: snapshot[table][0])
        schema, table = largest.split(".", 1)
        with self.source.connect(DATABASE_NAME) as connection:
            connection.execute(
                sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(schema, table))
            )
        return f"DROP TABLE {largest} CASCADE ({snapshot[largest][0]} rows)"

    def wait_for_archive(self) -> int:
        """Close the current WAL segment and wait until the archiver has copied it."""
        with self.source.connect() as connection:
            (segment,) = connection.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
            deadline = time.monotonic() + ARCHIVE_TIMEOUT_SECONDS
            # The archiver retries a failed copy by itself; only a deadline ends the wait.
            while True:
                archived, failed = connection.execute(
                    "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
                ).fetchone()
                # A backup history file (<segment>.<offset>.backup) does not count as its segment.
                if archived is not None and (archived == segment or archived[:24] > segment):
                    break
                if time.monotonic() > deadline:
                    raise DrillFailed(
                        f"WAL segment {segment} was not archived (last failure: {failed})"
                    )
                time.sleep(0.05)
        return sum(1 for path in self.archive.iterdir() if len(path.name) == 24)

    def restore_to(self, target_time: datetime) -> None:
        """The base backup into a new data folder, replayed from the archive to the target."""
        self.restored.directory.mkdir(parents=True, exist_ok=True)
        self.restored._hand_to_server_user()
        self.as_server_user("mkdir", "-m", "0700", self.restored.data)
        self.as_server_user("tar", "-xf", self.backup / "base.tar", "-C", self.restored.data)
        settings = {
            "port": str(self.restored.port),
            "unix_socket_directories": f"'{self.restored.socket_dir}'",
            # The restored server must not write into the archive it restores from.
            "archive_mode": "off",
            "restore_command": f"'cp {self.archive}/%f %p'",
            "recovery_target_time": f"'{target_time.isoformat()}'",
            "recovery_target_action": "'promote'",
        }
        with (self.restored.data / "postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self.as_server_user("touch", self.restored.data / "recovery.signal")
        self.restored.start()
        self.wait_until_promoted()

    def wait_until_promoted(self) -> None:
        """pg_ctl returns once the server reads; recovery then goes on to the target."""
        deadline = time.monotonic() + RECOVERY_TIMEOUT_SECONDS
        with self.restored.connect() as connection:
            while connection.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                if time.monotonic() > deadline:
                    raise DrillFailed("the restored server did not reach the target time")
                time.sleep(0.05)

    def run(self) -> DrillReport:
        self.prepare_folders()
        self.start_archiving_source()
        self.step("source archiving WAL; migrating every service")
        self.migrate()
        self.take_base_backup()
        self.step("base backup taken; loading data (WAL only)")
        self.load_data()
        expected = table_snapshot(self.source, DATABASE_NAME)
        with self.source.connect() as connection:
            (target_time,) = connection.execute("SELECT clock_timestamp()").fetchone()
        mistake = self.make_the_mistake(expected)
        self.step(f"mistake after {target_time.isoformat()}: {mistake}")
        segments = self.wait_for_archive()
        self.source.stop()
        self.restore_to(target_time)
        self.step("restored to the target time and promoted; comparing every table")
        found = table_snapshot(self.restored, DATABASE_NAME)
        problems = differences(expected, found)
        if problems:
            raise DrillFailed("restored data differs: " + "; ".join(problems))
        return DrillReport(
            target_time=target_time,
            mistake=mistake,
            tables=len(expected),
            rows=sum(count for count, _ in expected.values()),
            archived_segments=segments,
            seconds=time.monotonic() - self.started,
        )

    def step(self, what: str) -> None:
        self.progress(f"{time.monotonic() - self.started:5.1f} s  {what}")

    def stop(self) -> None:
        for cluster in (self.restored, self.source):
            cluster.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="jmmc-restore-drill", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", type=Path, help="run in this folder and keep it (default: a temporary one)"
    )
    arguments = parser.parse_args(argv)
    directory = arguments.keep or Path(tempfile.mkdtemp(prefix="jmmc-restore-drill-"))
    drill = RestoreDrill(directory)
    try:
        print(drill.run().describe())
    except (DrillFailed, PlatformError, ClusterError) as exc:
        print(f"jmmc-restore-drill: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        drill.stop()
        if arguments.keep is None:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
