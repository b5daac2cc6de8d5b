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

from jmmc_core.settings import DEVELOPMENT_SECRET, Environment, ServiceSettings

from .conftest import SERVICES, Run

WORKLOADS = {"Deployment", "StatefulSet", "Job", "CronJob"}


def pod_spec(document: dict) -> dict:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


@pytest.fixture(scope="module", params=["default", "production"])
def manifests(request, run: Run) -> list[dict]:
    result = run(["ci/helm.sh", "render", "platform", request.param])
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def settings_class(service: str) -> type[ServiceSettings]:
    return importlib.import_module(f"{service}.config").Settings


def env_prefix(service: str) -> str:
    return settings_class(service).model_config["env_prefix"]


def service_containers(manifests: list[dict], service: str) -> Iterator[dict]:
    for document in manifests:
        labels = document["metadata"]["labels"]
        if document["kind"] in WORKLOADS and labels["app.kubernetes.io/name"] == service:
            yield from pod_spec(document)["containers"]


def container_environment(manifests: list[dict], container: dict) -> dict[str, str]:
    """Every variable the container gets; Secret references stand for a production secret."""
    config_maps = {d["metadata"]["name"]: d["data"] for d in manifests if d["kind"] == "ConfigMap"}
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment.update(config_maps[source["configMapRef"]["name"]])
    for variable in container.get("env", []):
        secret = "value" not in variable
        environment[variable["name"]] = "a-real-production-secret" if secret else variable["value"]
    return environment


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_real_setting_and_every_required_one_is_set(
    manifests: list[dict], service: str
):
    fields, prefix = settings_class(service).model_fields, env_prefix(service)
    known = {f"{prefix}{name.upper()}" for name in fields}
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
    assert (url.host, url.port, url.database) == ("postgres", 5432, "jmmc")
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
        (password,) = [v for v in container["env"] if v["name"] == f"{prefix}DATABASE_PASSWORD"]
        reference = password["valueFrom"]["secretKeyRef"]
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
        (password,) = [v for v in container["env"] if v["name"] == "TAP_QUERY_DATABASE_PASSWORD"]
        assert password["valueFrom"] == query_password["valueFrom"]


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
