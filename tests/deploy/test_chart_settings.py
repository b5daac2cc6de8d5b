"""What the platform chart hands each container is what the service's code reads.

The settings classes are introspected, so a setting added to a service's config.py (or a
chart value renamed) is checked without touching this file.
"""

import importlib
from collections.abc import Iterator

import click
import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy import make_url

from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.settings import (
    DEVELOPMENT_SECRET,
    SECRETS_DIR_VARIABLE,
    Environment,
    ServiceSettings,
)
from jmmc_core.zabbix import ZabbixSettings

from .conftest import REPO, SERVICES, Run

WORKLOADS = {"Deployment", "StatefulSet", "Job", "CronJob"}
#: The shared accounts schema's migration, run in a service's image with its own settings.
ACCOUNTS_COMMAND = ["jmmc-accounts"]


def pod_spec(document: dict) -> dict:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


@pytest.fixture(scope="module", params=["default", "production"])
def manifests(request, run: Run) -> list[dict]:
    """The platform and the database release beside it (its roles Job)."""
    documents = []
    for chart in ("platform", "postgres"):
        result = run(["ci/helm.sh", "render", chart, request.param])
        assert result.returncode == 0, result.stderr
        documents += [document for document in yaml.safe_load_all(result.stdout) if document]
    return documents


def database_hosts(manifests: list[dict]) -> set[str]:
    """Services the database release offers: the development chart's own (rendered beside),
    and in production charts/database's PgBouncer poolers, each a Service of its name."""
    rendered = {d["metadata"]["name"] for d in manifests if d["kind"] == "Service"}
    poolers = yaml.safe_load((REPO / "charts" / "database" / "values.yaml").read_text())["poolers"]
    return rendered | {pooler["name"] for pooler in poolers}


def settings_class(service: str) -> type[ServiceSettings]:
    return importlib.import_module(f"{service}.config").Settings


def env_prefix(service: str) -> str:
    return settings_class(service).model_config["env_prefix"]


def service_containers(manifests: list[dict], service: str) -> Iterator[dict]:
    """Each container running the service, with the Secret files its pod mounts for it."""
    for document in manifests:
        labels = document["metadata"]["labels"]
        if document["kind"] in WORKLOADS and labels["app.kubernetes.io/name"] == service:
            spec = pod_spec(document)
            volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
            for container in spec["containers"]:
                if container.get("command") != ACCOUNTS_COMMAND:
                    yield {**container, "secret_files": secret_files(container, volumes)}


def secret_files(container: dict, volumes: dict[str, dict]) -> dict[str, dict]:
    """Variable name -> {name, key} of the Secret, for files under JMMC_SECRETS_DIR."""
    directory = next(
        (v["value"] for v in container.get("env", []) if v["name"] == SECRETS_DIR_VARIABLE), None
    )
    files = {}
    for mount in container.get("volumeMounts", []):
        secret = volumes[mount["name"]].get("secret")
        if secret and mount["mountPath"] == directory:
            for item in secret["items"]:
                files[item["path"]] = {"name": secret["secretName"], "key": item["key"]}
    return files


def container_environment(manifests: list[dict], container: dict) -> dict[str, str]:
    """Every setting the container gets (variables and secret files, which stand for a
    production secret); the secrets folder itself is jmmc_core's, not a setting."""
    environment = {
        variable["name"]: variable["value"]
        for variable in container.get("env", [])
        if variable["name"] != SECRETS_DIR_VARIABLE
    }
    for name in container.get("secret_files", {}):
        environment[name] = "a-real-production-secret"
    return environment


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_real_setting_and_every_required_one_is_set(
    manifests: list[dict], service: str
):
    fields, prefix = settings_class(service).model_fields, env_prefix(service)
    # Besides the service's own settings, jmmc_core's shared ones (Zabbix reports of jobs).
    shared_prefix = ZabbixSettings.model_config["env_prefix"]
    known = {f"{prefix}{name.upper()}" for name in fields} | {
        f"{shared_prefix}{name.upper()}" for name in ZabbixSettings.model_fields
    }
    required = {f"{prefix}{name.upper()}" for name, field in fields.items() if field.is_required()}
    containers = list(service_containers(manifests, service))
    assert containers, f"no workload runs {service}"
    for container in containers:
        environment = set(container_environment(manifests, container))
        assert environment - known == set(), f"{container['name']}: not settings of {service}"
        assert required - environment == set(), f"{container['name']}: required settings unset"


@pytest.mark.parametrize("service", SERVICES)
def test_the_rendered_environment_is_accepted_by_the_service(
    manifests: list[dict], service: str, monkeypatch: pytest.MonkeyPatch
):
    """Production refuses development secrets: the chart must feed real ones, by reference."""
    (deployment_container, *_) = service_containers(manifests, service)
    for name, value in container_environment(manifests, deployment_container).items():
        monkeypatch.setenv(name, value)
    settings = settings_class(service)()
    assert settings.environment is Environment.production
    assert settings.secret_key != SecretStr(DEVELOPMENT_SECRET)
    assert settings.database_password is not None
    url = make_url(settings.database_url)
    assert (url.port, url.database) == (5432, "jmmc")
    assert url.host in database_hosts(manifests), "a Service of the database release"
    assert url.password is None, "the password travels in its own Secret-backed setting"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_logs_in_with_a_role_the_postgres_chart_creates(
    manifests: list[dict], service: str
):
    (provisioner,) = [d for d in manifests if d["metadata"]["name"] == "postgres-roles"]
    provisioning = provisioner["spec"]["template"]["spec"]["containers"][0]
    role_passwords = {
        (v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
        for v in provisioning["env"]
        if v["name"].startswith("ROLE_PASSWORD_")
    }
    prefix = env_prefix(service)
    for container in service_containers(manifests, service):
        environment = container_environment(manifests, container)
        user = make_url(environment[f"{prefix}DATABASE_URL"]).username
        assert f'run_psql -v role="{user}"' in provisioning["args"][0]
        reference = container["secret_files"][f"{prefix}DATABASE_PASSWORD"]
        assert (reference["name"], reference["key"]) in role_passwords


def test_tap_reads_through_the_read_only_group_role(manifests: list[dict]):
    (provisioner,) = [d for d in manifests if d["metadata"]["name"] == "postgres-roles"]
    script = provisioner["spec"]["template"]["spec"]["containers"][0]["args"][0]
    tap_block = script.split('run_psql -v role="tap"')[1].split("\nSQL")[0]
    assert 'GRANT "tap_reader" TO :"role";' in tap_block
    assert "GRANT USAGE" not in tap_block, "nobody reads the TAP service's own schema"


@pytest.mark.parametrize("service", SERVICES)
def test_every_container_command_parses_with_the_service_cli(manifests: list[dict], service: str):
    """serve, migrate and the CronJobs' jobs: options the CLI really has, values it accepts."""
    cli = importlib.import_module(f"{service}.cli").main
    for container in service_containers(manifests, service):
        name, *arguments = container["args"]
        command = cli.commands.get(name)
        assert command is not None, f"{service} has no command {name!r}"
        try:
            command.make_context(name, list(arguments))
        except click.UsageError as error:
            pytest.fail(f"{service} {' '.join(container['args'])}: {error.format_message()}")


def roles_job(manifests: list[dict]) -> dict:
    (provisioner,) = [d for d in manifests if d["metadata"]["name"] == "postgres-roles"]
    return provisioner["spec"]["template"]["spec"]["containers"][0]


def test_tap_runs_adql_as_the_query_role_the_postgres_chart_creates(manifests: list[dict]):
    provisioning = roles_job(manifests)
    (query_password,) = [v for v in provisioning["env"] if v["name"] == "ROLE_PASSWORD_TAP_QUERY"]
    script = provisioning["args"][0]
    query_block = script.split('run_psql -v role="tap_query"')[1].split("\nSQL")[0]
    assert 'GRANT :"reader" TO :"role";' in query_block
    assert "SCHEMA" not in query_block and "accounts" not in query_block, "a reader, nothing more"
    for container in service_containers(manifests, "tap"):
        environment = container_environment(manifests, container)
        assert make_url(environment["TAP_QUERY_DATABASE_URL"]).username == "tap_query"
        password = container["secret_files"]["TAP_QUERY_DATABASE_PASSWORD"]
        assert password == query_password["valueFrom"]["secretKeyRef"]


def test_tap_workers_and_cleanup_share_the_results_volume_and_take_no_web_traffic(
    manifests: list[dict],
):
    by_kind_and_name = {(d["kind"], d["metadata"]["name"]): d for d in manifests}
    claim = by_kind_and_name[("PersistentVolumeClaim", "tap-shared")]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    web_selector = by_kind_and_name[("Service", "tap")]["spec"]["selector"]
    for kind, name, args in (
        ("Deployment", "tap", None),
        ("Deployment", "tap-worker", ["worker"]),
        ("CronJob", "tap-cleanup", ["cleanup"]),
    ):
        document = by_kind_and_name[(kind, name)]
        spec = pod_spec(document)
        (container,) = spec["containers"]
        assert args is None or container["args"] == args
        results = container_environment(manifests, container)["TAP_RESULTS_DIR"]
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == results]
        assert volumes[mount["name"]]["persistentVolumeClaim"]["claimName"] == "tap-shared"
        template = document["spec"]
        if kind == "CronJob":
            template = template["jobTemplate"]["spec"]
        pod_labels = template["template"]["metadata"]["labels"]
        in_service = web_selector.items() <= pod_labels.items()
        assert in_service == (name == "tap"), f"{name}: only web pods are behind the Service"
    worker = by_kind_and_name[("Deployment", "tap-worker")]
    assert worker["spec"]["replicas"] >= 1


def test_the_accounts_migration_gets_settings_the_accounts_command_accepts(
    manifests: list[dict], monkeypatch: pytest.MonkeyPatch
):
    (job,) = [d for d in manifests if d["kind"] == "Job" and "accounts" in d["metadata"]["name"]]
    spec = pod_spec(job)
    (container,) = spec["containers"]
    assert container["command"] == ACCOUNTS_COMMAND and container["args"] == ["migrate"]
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    container = {**container, "secret_files": secret_files(container, volumes)}
    for name, value in container_environment(manifests, container).items():
        assert name.startswith("ACCOUNTS_"), name
        monkeypatch.setenv(name, value)
    settings = AccountsSettings()
    assert settings.environment is Environment.production
    assert settings.database_password is not None and settings.schema_name == "accounts"
    # It logs in as the role owning the accounts schema in the database chart.
    user = make_url(settings.database_url).username
    script = roles_job(manifests)["args"][0]
    assert (
        'CREATE SCHEMA IF NOT EXISTS "accounts" AUTHORIZATION :"role";'
        in script.split(f'run_psql -v role="{user}"')[1].split("\nSQL")[0]
    )
