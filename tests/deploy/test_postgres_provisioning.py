"""The postgres chart's provisioning script, run for real against a private PostgreSQL.

Roles are cluster-wide and the cluster is shared by the session, so the chart is rendered
with its own role names: consumers are data, which is what this also shows.
"""

import os
import subprocess
import time

import psycopg
import pytest
import yaml

from jmmc_devtools.pgcluster import PostgresCluster

from .conftest import Run

DATABASE = "deploytest_platform"
READER = "deploytest_reader"
PUBLISHER = "deploytest_catalogue"
TAP = "deploytest_tap"


@pytest.fixture(scope="module")
def provision(run: Run, pg_cluster: PostgresCluster):
    values = [
        "--set", f"database={DATABASE}", "--set", f"tapReaderRole={READER}",
        "--set", f"roles[0].name={PUBLISHER}", "--set", "roles[0].tapReadable=true",
        "--set", f"roles[1].name={TAP}", "--set", f"roles[1].memberOf[0]={READER}",
        "--show-only", "templates/configmap-init.yaml",
    ]  # fmt: skip
    result = run(["ci/helm.sh", "render", "postgres", "default", *values])
    assert result.returncode == 0, result.stderr
    script = yaml.safe_load(result.stdout)["data"]["provision-roles.sh"]
    pg_cluster.ensure_database(DATABASE, "jmmc")
    environment = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(pg_cluster.port),
        "POSTGRES_USER": "postgres",
        f"ROLE_PASSWORD_{PUBLISHER.upper()}": "publisher-secret",
        f"ROLE_PASSWORD_{TAP.upper()}": "tap-secret",
    }

    def provision_once() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script], env=environment, capture_output=True, text=True, timeout=60
        )

    return provision_once


def connect(pg_cluster: PostgresCluster, user: str) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1", port=pg_cluster.port, user=user, dbname=DATABASE, autocommit=True
    )


def test_provisioning_creates_extension_roles_and_schemas_and_is_idempotent(
    provision, pg_cluster: PostgresCluster
):
    for attempt in (1, 2):
        result = provision()
        assert result.returncode == 0, f"run {attempt}: {result.stderr}"
    with pg_cluster.connect(DATABASE) as connection:
        assert connection.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_sphere'"
        ).fetchone() == ("public",)
        roles = dict(
            connection.execute(
                "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)",
                [[READER, PUBLISHER, TAP]],
            ).fetchall()
        )
        assert roles == {READER: False, PUBLISHER: True, TAP: True}
        owners = dict(
            connection.execute(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                " WHERE nspname = ANY(%s)",
                [[PUBLISHER, TAP]],
            ).fetchall()
        )
        assert owners == {PUBLISHER: PUBLISHER, TAP: TAP}


def test_tap_role_reads_published_tables_created_later_and_cannot_write(
    provision, pg_cluster: PostgresCluster
):
    assert provision().returncode == 0
    with connect(pg_cluster, PUBLISHER) as publisher:
        publisher.execute(f"CREATE TABLE {PUBLISHER}.star (name text, position spoint)")
        publisher.execute(
            f"INSERT INTO {PUBLISHER}.star VALUES ('Vega', spoint(radians(279.23), radians(38.78)))"
        )
    with connect(pg_cluster, TAP) as tap:
        assert tap.execute(f"SELECT name FROM {PUBLISHER}.star").fetchall() == [("Vega",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tap.execute(f"INSERT INTO {PUBLISHER}.star (name) VALUES ('Altair')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tap.execute(f"CREATE TABLE {PUBLISHER}.intruder (id int)")


def test_backup_job_dumps_the_database_and_prunes_only_expired_dumps(
    run: Run, pg_cluster: PostgresCluster, tmp_path
):
    values = ["--set", f"database={DATABASE}", "--set", "backup.retentionDays=14",
              "--show-only", "templates/cronjob-backup.yaml"]  # fmt: skip
    result = run(["ci/helm.sh", "render", "postgres", "default", *values])
    assert result.returncode == 0, result.stderr
    job = yaml.safe_load(result.stdout)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = job["containers"]
    assert container["volumeMounts"] == [{"name": "backups", "mountPath": "/backups"}]
    # The script as rendered, with the backup volume's mount point moved to a scratch folder.
    script = container["args"][0].replace("/backups", str(tmp_path))
    pg_cluster.ensure_database(DATABASE, "jmmc")
    with pg_cluster.connect(DATABASE) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS public.backup_marker (id int)")
    expired, recent = tmp_path / "old-expired.dump", tmp_path / "old-recent.dump"
    for dump, age_days in ((expired, 20), (recent, 3)):
        dump.write_bytes(b"previous dump")
        stamp = time.time() - age_days * 86400
        os.utime(dump, (stamp, stamp))
    environment = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(pg_cluster.port),
                   "PGUSER": "postgres"}  # fmt: skip
    result = subprocess.run(
        [*container["command"], script], env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    (new_dump,) = tmp_path.glob(f"{DATABASE}-*.dump")
    listing = subprocess.run(["pg_restore", "--list", new_dump], capture_output=True, text=True)
    assert listing.returncode == 0 and "backup_marker" in listing.stdout
    assert not expired.exists() and recent.exists()
    assert not list(tmp_path.glob("*.partial"))
