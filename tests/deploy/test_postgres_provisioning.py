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
from sqlalchemy import create_engine

from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.accounts.migrations import MIGRATIONS, SERVICES_ROLE
from jmmc_core.accounts.schema import SCHEMA
from jmmc_core.migrations import is_at_head, upgrade_to_head
from jmmc_core.tap_publishing import (
    CONE_FUNCTIONS,
    PublishedColumn,
    PublishedSchema,
    PublishedTable,
    publish,
)
from jmmc_devtools.pgcluster import PostgresCluster

from .conftest import REPO, Run

DATABASE = "deploytest_platform"
READER = "deploytest_reader"
PUBLISHERS_GROUP = "deploytest_publishers"
PUBLISHER = "deploytest_catalogue"
SECOND_PUBLISHER = "deploytest_archive"
TAP = "deploytest_tap"
QUERY = "deploytest_query"
ACCOUNTS_GROUP = "deploytest_accounts"
PUBLISHER_READER = "deploytest_catalogue_reader"
EXTRA_SCHEMA = "deploytest_ivoa"


@pytest.fixture(scope="module")
def provision(run: Run, pg_cluster: PostgresCluster):
    values = [
        "--set", f"database={DATABASE}", "--set", f"tapReaderRole={READER}",
        "--set", f"tapPublisherRole={PUBLISHERS_GROUP}", "--set", f"accountsRole={ACCOUNTS_GROUP}",
        "--set", f"roles[0].name={PUBLISHER}", "--set", "roles[0].tapReadable=true",
        "--set", f"roles[0].readerRoles[0]={PUBLISHER_READER}",
        "--set", f"roles[0].schemas[0]={EXTRA_SCHEMA}", "--set", f"roles[0].schemas[1]={SCHEMA}",
        "--set", f"roles[1].name={TAP}", "--set", f"roles[1].memberOf[0]={READER}",
        "--set", f"roles[2].name={SECOND_PUBLISHER}", "--set", "roles[2].tapReadable=true",
        "--set", f"queryRoles[0].name={QUERY}", "--set", "queryRoles[0].passwordSecret.name=q",
        "--set", "queryRoles[0].passwordSecret.key=password",
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
        f"ROLE_PASSWORD_{SECOND_PUBLISHER.upper()}": "archive-secret",
        f"ROLE_PASSWORD_{QUERY.upper()}": "query-secret",
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
                [[READER, PUBLISHERS_GROUP, PUBLISHER, TAP, QUERY]],
            ).fetchall()
        )
        assert roles == {
            READER: False, PUBLISHERS_GROUP: False, PUBLISHER: True, TAP: True, QUERY: True
        }  # fmt: skip
        owners = dict(
            connection.execute(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                " WHERE nspname = ANY(%s)",
                [[PUBLISHER, TAP, QUERY, "tap_schema", EXTRA_SCHEMA]],
            ).fetchall()
        )
        assert owners == {
            PUBLISHER: PUBLISHER, TAP: TAP, "tap_schema": PUBLISHERS_GROUP,
            EXTRA_SCHEMA: PUBLISHER,
        }  # fmt: skip
        # A service's request reader exists and its login role may SET ROLE to it.
        assert connection.execute(
            "SELECT rolcanlogin, pg_has_role(%s, rolname, 'MEMBER') FROM pg_roles"
            " WHERE rolname = %s",
            [PUBLISHER, PUBLISHER_READER],
        ).fetchone() == (False, True)
        # Cones under row rules reach the position indexes.
        leakproof = connection.execute(
            "SELECT bool_and(proleakproof) FROM pg_proc WHERE oid = ANY(%s::regprocedure[])",
            [list(CONE_FUNCTIONS)],
        ).fetchone()
        assert leakproof == (True,)
        # Every service checks sign-ins: each login role reads the accounts through the group.
        members = connection.execute(
            "SELECT pg_get_userbyid(member) FROM pg_auth_members"
            " WHERE roleid = (SELECT oid FROM pg_roles WHERE rolname = %s) ORDER BY 1",
            [ACCOUNTS_GROUP],
        ).fetchall()
        assert members == [(SECOND_PUBLISHER,), (PUBLISHER,), (TAP,)]
        # The query role is a member of the reader role and of nothing else.
        groups = connection.execute(
            "SELECT pg_get_userbyid(roleid) FROM pg_auth_members"
            " WHERE member = (SELECT oid FROM pg_roles WHERE rolname = %s)",
            [QUERY],
        ).fetchall()
        assert groups == [(READER,)]


def stars_of(publisher: str) -> PublishedTable:
    return PublishedTable(
        schema=PublishedSchema(publisher, f"stars of {publisher}"),
        name="star",
        description="bright stars",
        columns=(
            PublishedColumn("name", "star name", "char", "*", column_index=1),
            PublishedColumn("position", "ICRS position", "double", "2", "point", column_index=2),
        ),
    )


def publish_as(pg_cluster: PostgresCluster, publisher: str, tables: list[PublishedTable]) -> None:
    """What ``<service> migrate`` does, logged in as the service's own role."""
    engine = create_engine(
        f"postgresql+psycopg://{publisher}@127.0.0.1:{pg_cluster.port}/{DATABASE}"
    )
    with engine.begin() as connection:
        publish(connection, tables, schemas=[publisher], reader=READER)
    engine.dispose()


def test_every_publisher_writes_tap_schema_and_tap_reads_only_published_tables(
    provision, pg_cluster: PostgresCluster
):
    assert provision().returncode == 0
    publish_as(pg_cluster, TAP, [])  # the TAP service publishes nothing, before or after others
    for publisher in (PUBLISHER, SECOND_PUBLISHER):
        with connect(pg_cluster, publisher) as connection:
            connection.execute(f"DROP TABLE IF EXISTS {publisher}.star, {publisher}.private")
            connection.execute(f"CREATE TABLE {publisher}.star (name text, position spoint)")
            connection.execute(f"CREATE TABLE {publisher}.private (secret text)")
            connection.execute(
                f"INSERT INTO {publisher}.star"
                " VALUES ('Vega', spoint(radians(279.23), radians(38.78)))"
            )
        with connect(pg_cluster, TAP) as tap, pytest.raises(psycopg.errors.InsufficientPrivilege):
            tap.execute(f"SELECT name FROM {publisher}.star")  # not published yet
        for _ in (1, 2):
            publish_as(pg_cluster, publisher, [stars_of(publisher)])
    publish_as(pg_cluster, TAP, [])
    assert provision().returncode == 0, "provisioning again takes no published right away"
    with connect(pg_cluster, QUERY) as query:
        for publisher in (PUBLISHER, SECOND_PUBLISHER):
            assert query.execute(f"SELECT name FROM {publisher}.star").fetchall() == [("Vega",)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                query.execute(f"SELECT secret FROM {publisher}.private")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            query.execute("DELETE FROM tap_schema.columns")
        # Uploads: a temporary table of its own connection.
        query.execute("CREATE TEMPORARY TABLE upload (id int)")
    with connect(pg_cluster, TAP) as tap:
        for publisher in (PUBLISHER, SECOND_PUBLISHER):
            assert tap.execute(f"SELECT name FROM {publisher}.star").fetchall() == [("Vega",)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                tap.execute(f"SELECT secret FROM {publisher}.private")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                tap.execute(f"INSERT INTO {publisher}.star (name) VALUES ('Altair')")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                tap.execute(f"CREATE TABLE {publisher}.intruder (id int)")
        published = tap.execute(
            "SELECT table_name FROM tap_schema.tables WHERE schema_name <> 'TAP_SCHEMA'"
        ).fetchall()
        assert sorted(published) == [(f"{SECOND_PUBLISHER}.star",), (f"{PUBLISHER}.star",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tap.execute("DELETE FROM tap_schema.columns")


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


def test_the_chart_declares_the_cone_functions_the_platform_needs_leakproof():
    values = yaml.safe_load((REPO / "charts" / "postgres" / "values.yaml").read_text())
    assert tuple(values["leakproofFunctions"]) == CONE_FUNCTIONS


def test_a_provisioned_role_migrates_the_accounts_schema_it_owns_without_creating_schemas(
    provision, pg_cluster: PostgresCluster
):
    """What the chart's accounts migration Job does: as the login role owning the schema,
    which (as in production) may not create schemas in the database."""
    assert provision().returncode == 0
    # The group role the migration grants to is the chart's default accountsRole, which this
    # module's provisioning renames: create it as the default provisioning would.
    chart_values = yaml.safe_load((REPO / "charts" / "postgres" / "values.yaml").read_text())
    assert chart_values["accountsRole"] == SERVICES_ROLE
    with connect(pg_cluster, "postgres") as connection:
        connection.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SERVICES_ROLE}')"
            f" THEN CREATE ROLE {SERVICES_ROLE} NOLOGIN; END IF; END $$"
        )
        may_create = connection.execute(
            "SELECT has_database_privilege(%s, %s, 'CREATE')", [PUBLISHER, DATABASE]
        ).fetchone()[0]
    assert may_create is False
    settings = AccountsSettings(
        database_url=f"postgresql+psycopg://{PUBLISHER}@127.0.0.1:{pg_cluster.port}/{DATABASE}"
    )
    upgrade_to_head(settings, MIGRATIONS)
    upgrade_to_head(settings, MIGRATIONS)
    assert is_at_head(settings, MIGRATIONS)
    with connect(pg_cluster, PUBLISHER) as connection:
        owners = connection.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = %s", [SCHEMA]
        ).fetchall()
    assert owners == [(PUBLISHER,)]
