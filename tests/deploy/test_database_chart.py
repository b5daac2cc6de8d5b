"""charts/database (CloudNativePG) rendered with helm and checked by rule, and its provisioning
SQL run for real against a private PostgreSQL.

No Kubernetes cluster runs here: what the operator does with these resources is its own
(tested upstream); what is ours is that they ask for the right thing.
"""

import os
import subprocess

import pytest
import yaml

from jmmc_core.tap_publishing import CONE_FUNCTIONS
from jmmc_devtools.pgcluster import PostgresCluster
from jmmc_devtools.registry import service_names

from .conftest import REPO, Run

CHART = REPO / "charts" / "database"
OBJECT_STORE = ["--set", "backup.destinationPath=s3://jmmc-backups/db",
                "--set", "backup.endpointURL=http://objects.example:9000"]  # fmt: skip
#: Clients that keep state across transactions (TAP's uploads are temporary tables read by
#: the next transaction; ObsPortal's ingestion holds a session advisory lock).
SESSION_CLIENTS = {"obsportal", "tap"}


def render(run: Run, *arguments: str) -> subprocess.CompletedProcess[str]:
    return run(["helm", "template", "database", CHART, "--namespace", "jmmc", *arguments])


def documents(run: Run, *arguments: str) -> list[dict]:
    result = render(run, *arguments)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def only(manifests: list[dict], kind: str) -> dict:
    (found,) = [document for document in manifests if document["kind"] == kind]
    return found


@pytest.fixture(scope="module")
def manifests(run: Run) -> list[dict]:
    return documents(run, *OBJECT_STORE)


@pytest.fixture(scope="module")
def cluster(manifests) -> dict:
    return only(manifests, "Cluster")


def test_three_instances_on_separate_nodes_with_the_pg_sphere_image(cluster, run: Run):
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["affinity"] == {
        "enablePodAntiAffinity": True,
        "podAntiAffinityType": "required",
        "topologyKey": "kubernetes.io/hostname",
    }
    assert spec["imageName"] == "jmmc/postgres-cnpg:15-pgsphere"
    assert spec["walStorage"]["size"] and spec["storage"]["size"]
    # Helm never deletes a database, not even the old Cluster after a recovery.
    assert cluster["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    digest = "sha256:" + "a" * 64
    pinned = only(documents(run, *OBJECT_STORE, "--set", f"image.digest={digest}"), "Cluster")
    assert pinned["spec"]["imageName"] == f"jmmc/postgres-cnpg@{digest}"
    result = render(run, *OBJECT_STORE, "--set", "cluster.instances=1")
    assert result.returncode != 0 and "instances" in result.stderr


def test_the_image_adds_pg_sphere_to_the_operators_postgresql_image():
    containerfile = (REPO / "charts/postgres/image/Containerfile.cnpg").read_text()
    assert "postgresql-15-pgsphere" in containerfile
    # The operator runs PostgreSQL as its image's postgres user, uid 26.
    assert containerfile.rstrip().splitlines()[-1] == "USER 26"


def test_wal_is_archived_continuously_and_base_backups_are_scheduled_and_pruned(manifests, cluster):
    (plugin,) = cluster["spec"]["plugins"]
    assert plugin["name"] == "barman-cloud.cloudnative-pg.io" and plugin["isWALArchiver"]
    store = only(manifests, "ObjectStore")
    assert plugin["parameters"] == {
        "barmanObjectName": store["metadata"]["name"],
        "serverName": cluster["metadata"]["name"],
    }
    configuration = store["spec"]["configuration"]
    assert configuration["destinationPath"] == "s3://jmmc-backups/db"
    assert configuration["endpointURL"] == "http://objects.example:9000"
    credentials = configuration["s3Credentials"]
    assert {ref["name"] for ref in credentials.values()} == {"backup-object-store"}
    assert store["spec"]["retentionPolicy"] == "30d"
    scheduled = only(manifests, "ScheduledBackup")["spec"]
    assert scheduled["cluster"]["name"] == cluster["metadata"]["name"]
    assert scheduled["method"] == "plugin"
    assert scheduled["pluginConfiguration"]["name"] == plugin["name"]
    assert len(scheduled["schedule"].split()) == 6  # the operator's cron has seconds first


def test_the_chart_lints_strictly_with_its_production_values(run: Run):
    result = run(["helm", "lint", "--strict", CHART, "-f", CHART / "values-production.yaml"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_an_object_store_nothing_renders(run: Run):
    result = render(run)
    assert result.returncode != 0 and "backup.destinationPath is required" in result.stderr


def test_managed_roles_give_every_service_its_login_and_groups(cluster):
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    for service in service_names():
        role = roles[service]
        assert role["login"] and role["passwordSecret"]["name"] == f"{service}-database"
        assert "accounts_user" in role["inRoles"]
    for group in ("tap_reader", "tap_publisher", "accounts_user", "oidb_reader"):
        assert roles[group]["login"] is False
    assert roles["tap_query"]["inRoles"] == ["tap_reader"]
    assert roles["tap_query"]["passwordSecret"]["name"] == "tap-query-database"
    assert set(roles["oidb"]["inRoles"]) == {"accounts_user", "tap_publisher", "oidb_reader"}


def test_poolers_keep_prepared_statements_and_the_services_search_path(manifests, cluster):
    poolers = {
        pooler["metadata"]["name"]: pooler for pooler in manifests if pooler["kind"] == "Pooler"
    }
    assert {name: pooler["spec"]["pgbouncer"]["poolMode"] for name, pooler in poolers.items()} == {
        "postgres-pooler": "transaction",
        "postgres-pooler-session": "session",
    }
    for pooler in poolers.values():
        spec = pooler["spec"]
        assert spec["cluster"]["name"] == cluster["metadata"]["name"] and spec["type"] == "rw"
        assert spec["instances"] >= 2
        parameters = spec["pgbouncer"]["parameters"]
        assert int(parameters["max_prepared_statements"]) > 0  # psycopg 3 prepares statements
        assert "search_path" in parameters["track_extra_parameters"]


def test_production_points_every_service_at_a_pooler_that_suits_it(manifests):
    production = yaml.safe_load((REPO / "charts/platform/values-production.yaml").read_text())
    modes = {
        pooler["metadata"]["name"]: pooler["spec"]["pgbouncer"]["poolMode"]
        for pooler in manifests
        if pooler["kind"] == "Pooler"
    }
    for service in service_names():
        host = production[service]["service"]["database"]["host"]
        expected = "session" if service in SESSION_CLIENTS else "transaction"
        assert modes.get(host) == expected, f"{service} connects to {host}"


def test_nothing_is_exposed(manifests):
    assert not [document for document in manifests if document["kind"] == "Service"]
    for pooler in (document for document in manifests if document["kind"] == "Pooler"):
        assert pooler["spec"]["serviceTemplate"]["spec"]["type"] == "ClusterIP"
    policies = {
        document["metadata"]["name"]: document["spec"]
        for document in manifests
        if document["kind"] == "NetworkPolicy"
    }
    instances = policies["jmmc-db-instances"]
    assert instances["podSelector"]["matchLabels"]["cnpg.io/cluster"] == "jmmc-db"
    admitted = [peer for rule in instances["ingress"] for peer in rule["from"]]
    # Services reach PostgreSQL through the poolers only.
    assert not [peer for peer in admitted if "jmmc.io/database-client" in str(peer)]
    assert all(port["port"] != 9187 for rule in instances["ingress"] for port in rule["ports"])
    (pooler_rule,) = policies["jmmc-db-poolers"]["ingress"]
    assert pooler_rule["from"] == [
        {"podSelector": {"matchLabels": {"jmmc.io/database-client": "true"}}}
    ]


def test_recovery_bootstraps_a_new_cluster_from_the_archive_to_a_target_time(run: Run):
    target = "2026-12-03T18:59:00Z"
    manifests = documents(
        run, *OBJECT_STORE, "--set", "cluster.name=jmmc-db-restored",
        "--set", "recovery.enabled=true", "--set", "recovery.sourceServerName=jmmc-db",
        "--set", f"recovery.targetTime={target}",
    )  # fmt: skip
    spec = only(manifests, "Cluster")["spec"]
    assert spec["bootstrap"] == {
        "recovery": {
            "source": "origin",
            "database": "jmmc",
            "owner": "jmmc",
            "recoveryTarget": {"targetTime": target},
        }
    }
    (origin,) = spec["externalClusters"]
    assert origin["plugin"]["parameters"]["serverName"] == "jmmc-db"
    # The new cluster archives under its own name: the archive restored from stays intact.
    assert spec["plugins"][0]["parameters"]["serverName"] == "jmmc-db-restored"
    for pooler in (document for document in manifests if document["kind"] == "Pooler"):
        assert pooler["spec"]["cluster"]["name"] == "jmmc-db-restored"
    same_name = render(
        run, *OBJECT_STORE, "--set", "recovery.enabled=true",
        "--set", "recovery.sourceServerName=jmmc-db",
    )  # fmt: skip
    assert same_name.returncode != 0
    assert "cluster.name must differ from recovery.sourceServerName" in same_name.stderr
    bad_time = render(run, *OBJECT_STORE, "--set", "recovery.targetTime=yesterday")
    assert bad_time.returncode != 0 and "targetTime" in bad_time.stderr


# -- The provisioning Job's SQL, for real -----------------------------------------------------

DATABASE = "dbchart_platform"
PREFIX = "dbchart_"


@pytest.fixture(scope="module")
def provisioning(run: Run, pg_cluster: PostgresCluster):
    """The Job's command as rendered (role names prefixed: roles are cluster-wide), after the
    roles the Cluster's `managed.roles` asks the operator for were created as it would."""
    values = [
        "--set", f"cluster.database={DATABASE}", "--set", f"tapReaderRole={PREFIX}reader",
        "--set", f"tapPublisherRole={PREFIX}publisher", "--set", f"accountsRole={PREFIX}accounts",
        "--set", f"roles[0].name={PREFIX}catalogue", "--set", "roles[0].tapReadable=true",
        "--set", f"roles[0].readerRoles[0]={PREFIX}catalogue_reader",
        "--set", f"roles[0].schemas[0]={PREFIX}ivoa",
        "--set", f"roles[1].name={PREFIX}tap", "--set", f"roles[1].memberOf[0]={PREFIX}reader",
        "--set", f"queryRoles[0].name={PREFIX}query",
    ]  # fmt: skip
    manifests = documents(run, *OBJECT_STORE, *values)
    job = only(manifests, "Job")["spec"]["template"]["spec"]
    (container,) = job["containers"]
    pg_cluster.ensure_database(DATABASE, "jmmc")

    def provision() -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(pg_cluster.port),
                       "PGUSER": "postgres", "PGDATABASE": DATABASE}  # fmt: skip
        return subprocess.run(
            [*container["command"], *container["args"]],
            env=environment, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def create_managed_roles() -> None:
        with pg_cluster.connect(DATABASE) as connection:
            for role in only(manifests, "Cluster")["spec"]["managed"]["roles"]:
                login = "LOGIN" if role["login"] else "NOLOGIN"
                connection.execute(
                    f'DO $$ BEGIN CREATE ROLE "{role["name"]}" {login};'
                    " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                )
            for role in only(manifests, "Cluster")["spec"]["managed"]["roles"]:
                for group in role.get("inRoles", []):
                    connection.execute(f'GRANT "{group}" TO "{role["name"]}"')

    return provision, create_managed_roles


def test_provisioning_waits_for_the_operators_roles_then_creates_schemas_idempotently(
    provisioning, pg_cluster: PostgresCluster
):
    provision, create_managed_roles = provisioning
    early = provision()
    assert early.returncode != 0 and "roles not created by the operator yet" in early.stderr
    create_managed_roles()
    for attempt in (1, 2):
        result = provision()
        assert result.returncode == 0, f"run {attempt}: {result.stderr}"
    with pg_cluster.connect(DATABASE) as connection:
        extensions = connection.execute(
            "SELECT extname FROM pg_extension WHERE extname IN ('pg_sphere', 'pg_trgm')"
        ).fetchall()
        assert sorted(extensions) == [("pg_sphere",), ("pg_trgm",)]
        owners = dict(
            connection.execute(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                " WHERE nspname = ANY(%s)",
                [[f"{PREFIX}catalogue", f"{PREFIX}ivoa", f"{PREFIX}tap", "tap_schema"]],
            ).fetchall()
        )
        assert owners == {
            f"{PREFIX}catalogue": f"{PREFIX}catalogue", f"{PREFIX}ivoa": f"{PREFIX}catalogue",
            f"{PREFIX}tap": f"{PREFIX}tap", "tap_schema": f"{PREFIX}publisher",
        }  # fmt: skip
        assert connection.execute(
            "SELECT has_schema_privilege(%s, %s, 'USAGE'), has_database_privilege(%s, %s,"
            " 'TEMPORARY')",
            [f"{PREFIX}reader", f"{PREFIX}catalogue", f"{PREFIX}query", DATABASE],
        ).fetchone() == (True, True)
        leakproof = connection.execute(
            "SELECT bool_and(proleakproof) FROM pg_proc WHERE oid = ANY(%s::regprocedure[])",
            [list(CONE_FUNCTIONS)],
        ).fetchone()
        assert leakproof == (True,)


def test_the_chart_declares_what_the_development_chart_declares():
    database = yaml.safe_load((CHART / "values.yaml").read_text())
    development = yaml.safe_load((REPO / "charts/postgres/values.yaml").read_text())
    assert tuple(database["leakproofFunctions"]) == CONE_FUNCTIONS
    for key in ("tapReaderRole", "tapPublisherRole", "accountsRole"):
        assert database[key] == development[key]
    # The same service roles, schemas and memberships (passwords come from other Secrets).
    assert database["roles"] == [
        {key: value for key, value in role.items() if key != "passwordSecret"}
        for role in development["roles"]
    ]
    assert {role["name"] for role in database["roles"]} == set(service_names())


# -- ci/backup.sh: the backup a production deploy takes before its migrations -----------------

FAKE_KUBECTL = """#!/bin/bash
# Answers as the Kubernetes API would for the calls ci/backup.sh makes.
echo "$*" >>"$FAKE_DIR/calls"
case "$1 $2" in
  "get clusters.postgresql.cnpg.io")
    [ -f "$FAKE_DIR/unreachable" ] && { echo "connection refused" >&2; exit 1; }
    [ -f "$FAKE_DIR/cluster" ] && echo "cluster.postgresql.cnpg.io/$3"; exit 0 ;;
  "apply --namespace") cat >"$FAKE_DIR/applied.yaml" ;;
  "get backups.postgresql.cnpg.io")
    if [[ "$*" == *status.error* ]]; then echo "upload refused by the object store"; exit 0; fi
    head -n 1 "$FAKE_DIR/phases"; sed -i 1d "$FAKE_DIR/phases" ;;
esac
"""


@pytest.fixture
def kubectl(tmp_path):
    """A stand-in for the cluster's API server (outside this machine)."""
    (tmp_path / "kubectl").write_text(FAKE_KUBECTL)
    (tmp_path / "kubectl").chmod(0o755)

    def backup(*, cluster: bool = True, phases: tuple[str, ...] = (), reachable: bool = True):
        for flag, wanted in (("cluster", cluster), ("unreachable", not reachable)):
            if wanted:
                (tmp_path / flag).touch()
        (tmp_path / "phases").write_text("".join(f"{phase}\n" for phase in phases))
        environment = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}",
                       "FAKE_DIR": str(tmp_path), "BACKUP_POLL_SECONDS": "0"}  # fmt: skip
        result = subprocess.run(
            [REPO / "ci" / "backup.sh", "production"],
            env=environment, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        applied = tmp_path / "applied.yaml"
        return result, yaml.safe_load(applied.read_text()) if applied.exists() else None

    return backup


def test_backup_before_deploy_waits_for_the_operator_to_complete_it(kubectl, manifests):
    result, backup = kubectl(phases=("", "running", "running", "completed"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backup["metadata"]["name"]
    scheduled = only(manifests, "ScheduledBackup")["spec"]
    assert backup["kind"] == "Backup"
    assert backup["spec"] == {
        "cluster": scheduled["cluster"],
        "method": "plugin",
        "pluginConfiguration": scheduled["pluginConfiguration"],
    }


def test_the_backup_before_deploy_is_valid_for_the_operator(kubectl, run: Run, tmp_path):
    result, backup = kubectl(phases=("completed",))
    assert result.returncode == 0, result.stderr
    manifest = tmp_path / "backup.yaml"
    manifest.write_text(yaml.safe_dump(backup))
    result = run(["ci/helm.sh", "validate", manifest])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 custom resources checked: backup Backup/jmmc-db-before-deploy-" in result.stdout


def test_a_failed_backup_stops_the_deploy(kubectl):
    failed, _ = kubectl(phases=("running", "failed"))
    assert failed.returncode == 1 and "upload refused by the object store" in failed.stderr


def test_an_unreachable_cluster_stops_the_deploy(kubectl):
    unreachable, applied = kubectl(reachable=False)
    assert unreachable.returncode == 1
    assert "cannot read the Cluster jmmc-db from the cluster: nothing deployed" in (
        unreachable.stderr
    )
    assert applied is None


def test_a_first_install_has_nothing_to_back_up(kubectl):
    result, applied = kubectl(cluster=False)
    assert result.returncode == 0 and "nothing to back up" in result.stderr
    assert applied is None


def test_the_exporter_is_reachable_only_from_the_monitoring_named(run: Run):
    zabbix = {"ipBlock": {"cidr": "10.0.0.5/32"}}
    manifests = documents(run, *OBJECT_STORE, "--set", "metricsFrom[0].ipBlock.cidr=10.0.0.5/32")
    (instances,) = [
        document["spec"]
        for document in manifests
        if document["metadata"]["name"] == "jmmc-db-instances"
    ]
    metrics = [
        rule for rule in instances["ingress"] if {"port": 9187, "protocol": "TCP"} in rule["ports"]
    ]
    assert metrics == [{"from": [zabbix], "ports": [{"port": 9187, "protocol": "TCP"}]}]
